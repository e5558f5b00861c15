import { describe, expect, it } from 'vitest';
import { lmHeadLoss } from '../../src/autograd/fn/lm-head';
import { gradcheck } from '../../src/autograd/gradcheck';
import { Tape } from '../../src/autograd/tape';
import { constant, param } from '../../src/autograd/tensor';
import { CpuEngine } from '../../src/backend/cpu';
import type { RawTensor } from '../../src/backend/tensor';
import * as ops from '../../src/ops/lm-head';
import { crossEntropy, crossEntropyBackward } from '../../src/ops/loss';
import { matmul } from '../../src/ops/matmul';
import { relError } from '../helpers/close';
import { randint, randn, testSeed } from '../helpers/random';

const e = new CpuEngine(true); // f64: the fused and the unfused path must agree to rounding
const f64 = (t: RawTensor) => Float64Array.from(t.f32);

/** Integer in [lo, hi] drawn from a seed. */
const draw = (seed: number, lo: number, hi: number) => lo + randint(1, seed, hi - lo + 1)[0];

/** The unfused reference: crossEntropy(x · Wᵀ) and its gradients through the [N, V] logits. */
function unfused(x: RawTensor, W: RawTensor, t: RawTensor, dl: number) {
  const logits = matmul(e, x, W, { transB: true });
  const { loss, lse } = crossEntropy(e, logits, t);
  const dz = crossEntropyBackward(e, e.upload([dl], [1]), logits, t, lse);
  return { loss: loss.f32[0], lse: f64(lse), dx: f64(matmul(e, dz, W)), dW: f64(matmul(e, dz, x, { transA: true })) };
}

function fused(x: RawTensor, W: RawTensor, t: RawTensor, dl: number, chunk?: number) {
  const { loss, lse } = ops.lmHeadLoss(e, x, W, t, { chunk });
  const g = ops.lmHeadBackward(e, e.upload([dl], [1]), x, W, t, lse, { dx: true, dW: true }, { chunk });
  return { loss: loss.f32[0], lse: f64(lse), dx: f64(g.dx!), dW: f64(g.dW!) };
}

function expectSame(got: ReturnType<typeof fused>, want: ReturnType<typeof unfused>, what: string, tol = 1e-12) {
  expect(Math.abs(got.loss - want.loss) / Math.max(1, Math.abs(want.loss)), `loss ${what}`).toBeLessThan(tol);
  for (const key of ['lse', 'dx', 'dW'] as const) expect(relError(got[key], want[key]), `${key} ${what}`).toBeLessThan(tol);
}

describe('lmHeadLoss CPU twin vs crossEntropy(x · Wᵀ) (f64)', () => {
  const s = testSeed();
  const N = draw(s, 1, 7),
    C = draw(s + 1, 1, 9),
    V = draw(s + 2, 3, 40);
  // a chunk that does not divide V, by construction (V − 1 never divides V ≥ 3)
  const odd = [...Array(V - 2).keys()].map((i) => i + 2).filter((c) => V % c !== 0);
  const chunks: [string, number | undefined][] = [
    ['not dividing V', odd[draw(s + 3, 0, odd.length - 1)]],
    ['1', 1],
    ['= V', V],
    ['> V', V + draw(s + 4, 1, 5)],
    ['default', undefined],
  ];
  const what = `N=${N} C=${C} V=${V} seed=${s}`;
  const x = e.upload(randn(N * C, s + 5), [N, C]),
    W = e.upload(randn(V * C, s + 6), [V, C]),
    t = e.upload(randint(N, s + 7, V), [N], 'u32');
  const dl = randn(1, s + 8)[0];

  it.each(chunks)('chunk %s', (_name, chunk) => {
    expectSame(fused(x, W, t, dl, chunk), unfused(x, W, t, dl), `chunk=${chunk} ${what}`);
  });

  it('large-magnitude logits (max |logit| = 1e4, maxima growing chunk by chunk) stay finite and exact', () => {
    // W's rows grow with the class index, so most chunks raise the running max and rescale the sum
    const Wg = randn(V * C, s + 9).map((w, i) => w * (1 + Math.floor(i / C)));
    const logits = matmul(e, x, e.upload(Wg, [V, C]), { transB: true }).f32;
    const gain = 1e4 / logits.reduce((m, z) => Math.max(m, Math.abs(z)), 0);
    const xs = e.upload(
      x.f32.map((v) => v * gain),
      [N, C],
    );
    const Ws = e.upload(Wg, [V, C]);
    const want = unfused(xs, Ws, t, dl);
    for (const chunk of [1, chunks[0][1]!, V]) {
      const got = fused(xs, Ws, t, dl, chunk);
      expect(Number.isFinite(got.loss), `loss ${got.loss} chunk=${chunk} ${what}`).toBe(true);
      expectSame(got, want, `chunk=${chunk} gain=${gain} ${what}`, 1e-10);
    }
  });

  it.each([
    ['x only (W frozen)', false, 2],
    ['x and W', true, 2],
    ['x and W, chunk = 1', true, 1],
    ['x and W, one chunk', true, undefined],
  ] as const)('finite differences: %s', async (_name, trainW, chunk) => {
    const n = 3,
      c = 4,
      v = 5;
    const r = await gradcheck(
      (tape, [a, w, y]) => lmHeadLoss(tape, a, w, y, { chunk }),
      [
        { data: randn(n * c, s + 10), shape: [n, c] },
        { data: randn(v * c, s + 11), shape: [v, c], grad: trainW },
        { data: randint(n, s + 12, v), shape: [n], dtype: 'u32' },
      ],
    );
    expect(r.errors[1] === null).toBe(!trainW);
    expect(r.errors[2]).toBeNull();
    expect(r.worst, `seed ${s}`).toBeLessThan(1e-6);
  });

  it('autograd: x of rank 3, frozen W gets no gradient, the tape frees everything', () => {
    const B = 2,
      T = draw(s + 13, 1, 4);
    const live = e.liveTensors;
    const xr = param(e.upload(randn(B * T * C, s + 14), [B, T, C]));
    const w = constant(W);
    const tape = new Tape(e);
    const loss = lmHeadLoss(tape, xr, w, tape.constant(e.upload(randint(B * T, s + 15, V), [B * T], 'u32')), { chunk: chunks[0][1] });
    tape.backward(loss);
    expect(xr.grad!.shape).toEqual([B, T, C]);
    expect(w.grad).toBeNull();
    tape.dispose();
    xr.zeroGrad();
    xr.raw.dispose();
    expect(e.liveTensors).toBe(live);
  });

  it('rejects bad targets, shapes and chunks', () => {
    const bad = e.upload(
      Uint32Array.from({ length: N }, (_, i) => (i === N - 1 ? V : 0)),
      [N],
      'u32',
    );
    expect(() => ops.lmHeadLoss(e, x, W, bad)).toThrow(`lmHeadLoss: target ${V} at row ${N - 1} is out of range [0, ${V})`);
    expect(() => ops.lmHeadLoss(e, x, W, t, { chunk: 0 })).toThrow('chunk must be an integer ≥ 1');
    expect(() => ops.lmHeadLoss(e, x, e.upload(randn(V * (C + 1), s), [V, C + 1]), t)).toThrow('differ in C');
    expect(() => lmHeadLoss(new Tape(e), constant(x), constant(W), param(t))).toThrow('cannot require a gradient');
  });
});

describe('lmHeadChunk', () => {
  it('defaults to the largest power of two with [N, chunk] ≤ 2²³ elements, within [64, 8192] and ≤ V', () => {
    expect(ops.lmHeadChunk(1024, 50257)).toBe(8192);
    expect(ops.lmHeadChunk(8192, 50257)).toBe(1024);
    expect(ops.lmHeadChunk(3000, 50257)).toBe(2048);
    expect(ops.lmHeadChunk(1, 50257)).toBe(8192);
    expect(ops.lmHeadChunk(1 << 20, 50257)).toBe(64);
    expect(ops.lmHeadChunk(16, 100)).toBe(100);
    expect(ops.lmHeadChunk(16, 100, 7)).toBe(7);
    expect(ops.lmHeadChunk(16, 100, 1000)).toBe(100);
  });
});

describe('matmul into a given out tensor (used by the chunk loop)', () => {
  const s = testSeed();
  it('writes the same values as a fresh output and rejects a wrong size or an aliased operand', () => {
    const a = e.upload(randn(12, s + 20), [3, 4]),
      b = e.upload(randn(20, s + 21), [5, 4]);
    const out = e.empty([3, 5]);
    expect(matmul(e, a, b, { transB: true, out })).toBe(out);
    expect(Array.from(out.f32)).toEqual(Array.from(matmul(e, a, b, { transB: true }).f32));
    expect(() => matmul(e, a, b, { transB: true, out: e.empty([3, 4]) })).toThrow('out must be f32 with 15 elements');
    const sq = e.upload(randn(9, s + 22), [3, 3]);
    expect(() => matmul(e, sq, e.upload(randn(9, s + 23), [3, 3]), { out: sq.view([3, 3]) })).toThrow('out must not share storage with an operand');
  });
});
