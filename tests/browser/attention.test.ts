import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import { attention, attentionBackward, type AttentionOpts } from '../../src/ops/attention';
import { expectClose } from '../helpers/close';
import { getEngine } from '../helpers/gpu';
import { randn, testSeed } from '../helpers/random';

describe('attention.wgsl (fused multi-head attention) vs CPU twin', async () => {
  const g = await getEngine();
  const c = new CpuEngine();
  const seed = testSeed();
  // [B, T, C, heads]: T = 1, T past the workgroup size (64) and not a multiple of it, heads 1 and 3,
  // head dim D = 1, odd D, D past the workgroup size (70 > 64), T = 257 (> 256)
  const cases: [number, number, number, number][] = [
    [1, 1, 3, 3],
    [2, 5, 9, 3],
    [1, 67, 6, 1],
    [2, 3, 70, 1],
    [1, 130, 15, 3],
    [1, 257, 6, 3],
  ];

  for (const [causal, variant] of [
    [false, 'row'],
    [true, 'row'],
    [false, 'workgroup'],
    [true, 'workgroup'],
  ] as const) {
    it.runIf(g)(`forward and backward, causal=${causal}, ${variant} kernels`, async () => {
      for (const [B, T, C, heads] of cases) {
        const opts: AttentionOpts = { heads, causal, variant };
        const shape = [B, T, 3 * C];
        const qkv = randn(B * T * 3 * C, seed + T, 1.5),
          dout = randn(B * T * C, seed + T + 1);
        const fc = attention(c, c.upload(qkv, shape), opts);
        const qg = g!.upload(qkv, shape);
        const fg = attention(g!, qg, opts);
        const what = `B=${B} T=${T} C=${C} heads=${heads} causal=${causal} ${variant} seed=${seed}`;
        expect(fg.out.shape).toEqual([B, T, C]);
        expect(fg.probs.shape).toEqual([B, heads, T, T]);
        expectClose(await g!.read(fg.out), fc.out.f32, 1e-5, `out ${what}`);
        expectClose(await g!.read(fg.probs), fc.probs.f32, 1e-5, `probs ${what}`);
        const want = attentionBackward(c, c.upload(dout, [B, T, C]), c.upload(qkv, shape), fc.probs, opts);
        const got = attentionBackward(g!, g!.upload(dout, [B, T, C]), qg, fg.probs, opts);
        expectClose(await g!.read(got), want.f32, 1e-5, `dqkv ${what}`);
      }
      expect(g!.takeErrors()).toEqual([]);
    });
  }

  it.runIf(g)('causal rows only see the past: probs above the diagonal are 0, rows sum to 1', async () => {
    const B = 1,
      T = 9,
      C = 4;
    const { probs } = attention(g!, g!.upload(randn(B * T * 3 * C, seed + 99), [B, T, 3 * C]), { heads: 2, causal: true });
    const p = await g!.read(probs);
    for (let h = 0; h < 2; h++)
      for (let i = 0; i < T; i++) {
        let s = 0;
        for (let j = 0; j < T; j++) {
          const v = p[(h * T + i) * T + j];
          if (j > i) expect(v).toBe(0);
          s += v;
        }
        expect(s).toBeCloseTo(1, 5);
      }
  });

  it('rejects a head count that does not divide C and a qkv that is not [B, T, 3C]', () => {
    expect(() => attention(c, c.zeros([1, 2, 12]), { heads: 3, causal: false })).toThrow(/heads \(3\) must be a positive integer dividing C = 4/);
    expect(() => attention(c, c.zeros([1, 2, 13]), { heads: 1, causal: false })).toThrow(/must be 3·C/);
    expect(() => attention(c, c.zeros([2, 12]), { heads: 1, causal: false })).toThrow(/must be \[B, T, 3C\]/);
  });
});
