// The 'matmul' attention variant (src/ops/attention-matmul.ts, shaders/attention_matmul.wgsl): the
// products on the blocked matmul kernels, the row-wise parts in their own kernels. Against the CPU
// twin in src/ops/attention.ts (f64; its gradients are checked against finite differences in
// tests/node/autograd-nn.test.ts) and the row kernels, on fresh seeded inputs. Every GPU allocation
// starts as NaN (tests/helpers/gpu.ts), so an element a kernel forgets fails the comparison.
import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import type { GpuEngine } from '../../src/backend/gpu';
import { attention, attentionBackward } from '../../src/ops/attention';
import { attentionGradThroughTape, isNaNMask, runAttention as run } from '../helpers/attention';
import { expectClose } from '../helpers/close';
import { getEngine } from '../helpers/gpu';
import { randn, testSeed } from '../helpers/random';

describe("attention as matmuls (the 'matmul' variant) vs the CPU twin and the row kernels", async () => {
  const g = (await getEngine()) as GpuEngine | null;
  const c = new CpuEngine();
  const seed = testSeed();
  // [B, T, heads, D]: T = 1 and T not a multiple of the matmul blocks (16 rows × 8 columns, 8×8
  // invocations) or of the 64-wide row kernels; D = 1, odd D, D past a block; B·H past one workgroup
  const cases: [number, number, number, number][] = [
    [1, 1, 3, 1],
    [2, 5, 3, 3],
    [1, 67, 1, 6],
    [2, 3, 1, 70],
    [1, 130, 3, 5],
    [3, 17, 7, 16],
  ];

  for (const causal of [false, true]) {
    it.runIf(g)(`forward and backward, causal=${causal}: twin, and the row kernels, within 1e-5`, async () => {
      expect(g!.poisonAllocations).toBe(true); // outputs start as NaN
      for (const [B, T, heads, D] of cases) {
        const C = heads * D;
        const shape = [B, T, 3 * C];
        const qkv = randn(B * T * 3 * C, seed + T + D, 1.5),
          dout = randn(B * T * C, seed + T + D + 1);
        const what = `B=${B} T=${T} heads=${heads} D=${D} causal=${causal} seed=${seed}`;
        const twin = await run(c, qkv, dout, shape, { heads, causal });
        const mm = await run(g!, qkv, dout, shape, { heads, causal, variant: 'matmul' });
        const rows = await run(g!, qkv, dout, shape, { heads, causal, variant: 'row' });
        expect(mm.savedShape, what).toEqual([B, heads, T, T]);
        expectClose(mm.out, twin.out, 1e-5, `out ${what}`);
        expectClose(mm.saved, twin.saved, 1e-5, `probs ${what}`);
        expectClose(mm.dqkv, twin.dqkv, 1e-5, `dqkv ${what}`);
        expectClose(mm.out, rows.out, 1e-5, `out vs rows ${what}`);
        expectClose(mm.dqkv, rows.dqkv, 1e-5, `dqkv vs rows ${what}`);
      }
      expect(g!.takeErrors()).toEqual([]);
    });
  }

  it.runIf(g)("either variant's backward takes the other's forward (both save the probabilities)", async () => {
    const [B, T, heads, D] = [2, 33, 2, 8];
    const C = heads * D;
    const shape = [B, T, 3 * C];
    const qkv = g!.upload(randn(B * T * 3 * C, seed + 3, 1.5), shape),
      dout = g!.upload(randn(B * T * C, seed + 4), [B, T, C]);
    for (const causal of [true, false]) {
      const a = attention(g!, qkv, { heads, causal, variant: 'row' });
      const b = attention(g!, qkv, { heads, causal, variant: 'matmul' });
      const crossed = attentionBackward(g!, dout, qkv, a.probs, { heads, causal, variant: 'matmul' });
      const own = attentionBackward(g!, dout, qkv, b.probs, { heads, causal, variant: 'row' });
      expectClose(await g!.read(crossed), await g!.read(own), 1e-5, `causal=${causal} seed=${seed}`);
    }
  });

  it.runIf(g)('through the autograd wrapper, GPT causal and ViT not', async () => {
    const [B, T, heads, D] = [2, 19, 2, 16];
    const C = heads * D;
    const qkv = randn(B * T * 3 * C, seed + 5, 1.5),
      r = randn(B * T * C, seed + 6);
    for (const causal of [true, false]) {
      const grads = [
        await attentionGradThroughTape(c, qkv, r, [B, T, 3 * C], { heads, causal }),
        await attentionGradThroughTape(g!, qkv, r, [B, T, 3 * C], { heads, causal, variant: 'matmul' }),
      ];
      expectClose(grads[1], grads[0], 1e-5, `dqkv through the tape causal=${causal} seed=${seed}`);
    }
  });

  // WGSL leaves NaN inside max() and exp() to the adapter (SwiftShader's softmax of a row with one
  // NaN score keeps the other probabilities finite, the f64 twin makes the whole row NaN), so the
  // backward is checked for what holds on any adapter: no NaN is hidden, none crosses a head.
  it.runIf(g)('NaN in q, k or dout: the forward has exactly the twin’s NaNs; the backward keeps one in every poisoned head and none elsewhere', async () => {
    const [B, T, heads, D] = [2, 9, 2, 4];
    const C = heads * D;
    const shape = [B, T, 3 * C];
    const qkv = randn(B * T * 3 * C, seed + 7),
      dout = randn(B * T * C, seed + 8);
    qkv[2 * 3 * C + 1] = NaN; // q of batch 0, position 2, head 0
    qkv[5 * 3 * C + C + D + 2] = NaN; // k of batch 0, position 5, head 1: causal rows before 5 never see it
    dout[(T + 3) * C + 1] = NaN; // dout of batch 1, position 3, head 0
    const poisonedHeads = ['0,0', '0,1', '1,0']; // (batch, head) with a NaN input
    for (const causal of [true, false]) {
      const twin = await run(c, qkv, dout, shape, { heads, causal });
      const mm = await run(g!, qkv, dout, shape, { heads, causal, variant: 'matmul' });
      const nanOut = isNaNMask(twin.out);
      expect(nanOut.some(Boolean) && !nanOut.every(Boolean)).toBe(true); // the check can tell
      expect(isNaNMask(mm.out), `out causal=${causal}`).toEqual(nanOut);
      const got = isNaNMask(mm.dqkv);
      const headsWithNaN = new Set<string>();
      got.forEach((isNaN, i) => {
        if (isNaN) headsWithNaN.add(`${Math.floor(i / (3 * C * T))},${Math.floor((i % C) / D)}`);
      });
      expect([...headsWithNaN].sort(), `heads with a NaN in dqkv, causal=${causal}`).toEqual(poisonedHeads);
    }
  });

  it.runIf(g)('NaN in v: every output the twin makes NaN is NaN, and nothing outside that head', async () => {
    const [B, T, heads, D] = [1, 7, 2, 4];
    const C = heads * D;
    const shape = [B, T, 3 * C];
    const qkv = randn(B * T * 3 * C, seed + 9),
      dout = randn(B * T * C, seed + 10);
    qkv[4 * 3 * C + 2 * C + D + 1] = NaN; // v of position 4, head 1
    const twin = await run(c, qkv, dout, shape, { heads, causal: true });
    const mm = await run(g!, qkv, dout, shape, { heads, causal: true, variant: 'matmul' });
    const want = isNaNMask(twin.out),
      got = isNaNMask(mm.out);
    expect(want.some(Boolean)).toBe(true);
    for (let i = 0; i < want.length; i++) {
      if (want[i]) expect(got[i], `out[${i}]`).toBe(true);
      if (got[i]) expect(Math.floor((i % C) / D), `out[${i}] outside head 1`).toBe(1);
    }
  });
});
