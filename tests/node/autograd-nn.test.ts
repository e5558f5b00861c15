import { describe, expect, it } from 'vitest';
import { gelu } from '../../src/autograd/fn/activation';
import { attention } from '../../src/autograd/fn/attention';
import { crossEntropy } from '../../src/autograd/fn/loss';
import { layerNorm } from '../../src/autograd/fn/norm';
import { softmax } from '../../src/autograd/fn/softmax';
import { gradcheck } from '../../src/autograd/gradcheck';
import { Tape } from '../../src/autograd/tape';
import { param } from '../../src/autograd/tensor';
import { CpuEngine } from '../../src/backend/cpu';
import { layerNorm as layerNormOp } from '../../src/ops/norm';
import { crossEntropy as crossEntropyOp, crossEntropyBackward } from '../../src/ops/loss';
import { softmax as softmaxOp } from '../../src/ops/softmax';
import { randint, randn, testSeed } from '../helpers/random';

describe('autograd: nn ops (finite differences, f64 CPU)', () => {
  const s = testSeed();
  const TOL = 1e-6;

  it('layerNorm: dx, dgamma, dbeta', async () => {
    const x = { data: randn(15, s, 2), shape: [3, 5] };
    const gamma = { data: randn(5, s + 1), shape: [5] };
    const beta = { data: randn(5, s + 2), shape: [5] };
    const r = await gradcheck((t, [a, g, b]) => layerNorm(t, a, g, b, 1e-5), [x, gamma, beta]);
    expect(r.worst, `seed ${s}`).toBeLessThan(TOL);
  });

  it('layerNorm over rank 3 with a single column edge', async () => {
    const r = await gradcheck(
      (t, [a, g, b]) => layerNorm(t, a, g, b, 1e-3),
      [
        { data: randn(4, s + 3), shape: [2, 2, 1] },
        { data: randn(1, s + 4), shape: [1] },
        { data: randn(1, s + 5), shape: [1] },
      ],
    );
    expect(r.worst, `seed ${s}`).toBeLessThan(TOL);
  });

  it('gelu', async () => {
    const r = await gradcheck((t, [a]) => gelu(t, a), [{ data: randn(11, s + 6, 2), shape: [11] }]);
    expect(r.worst, `seed ${s}`).toBeLessThan(TOL);
  });

  it('softmax over the last dim', async () => {
    const r = await gradcheck((t, [a]) => softmax(t, a), [{ data: randn(14, s + 7, 2), shape: [2, 7] }]);
    expect(r.worst, `seed ${s}`).toBeLessThan(TOL);
  });

  it.each([
    [1, false],
    [2, false],
    [3, true],
    [1, true],
  ] as const)('attention heads=%i causal=%s', async (heads, causal) => {
    const B = 2,
      T = 3,
      C = 6;
    const r = await gradcheck((t, [q]) => attention(t, q, { heads, causal }), [{ data: randn(B * T * 3 * C, s + 8 + heads), shape: [B, T, 3 * C] }]);
    expect(r.worst, `seed ${s}`).toBeLessThan(TOL);
  });

  it('attention with T = 1', async () => {
    const r = await gradcheck((t, [q]) => attention(t, q, { heads: 2, causal: true }), [{ data: randn(12, s + 12), shape: [1, 1, 12] }]);
    expect(r.worst, `seed ${s}`).toBeLessThan(TOL);
  });

  it('crossEntropy (targets: u32, no gradient)', async () => {
    const N = 4,
      V = 5;
    const r = await gradcheck(
      (t, [x, y]) => crossEntropy(t, x, y),
      [
        { data: randn(N * V, s + 13, 2), shape: [N, V] },
        { data: randint(N, s + 14, V), shape: [N], dtype: 'u32' },
      ],
    );
    expect(r.errors[1]).toBeNull();
    expect(r.worst, `seed ${s}`).toBeLessThan(TOL);
  });

  it('a composed chain: layerNorm → gelu → softmax → crossEntropy', async () => {
    const r = await gradcheck(
      (t, [x, g, b, y]) => crossEntropy(t, softmax(t, gelu(t, layerNorm(t, x, g, b, 1e-5))), y),
      [
        { data: randn(12, s + 15), shape: [3, 4] },
        { data: randn(4, s + 16), shape: [4] },
        { data: randn(4, s + 17), shape: [4] },
        { data: randint(3, s + 18, 4), shape: [3], dtype: 'u32' },
      ],
    );
    expect(r.worst, `seed ${s}`).toBeLessThan(TOL);
  });

  it('the tape frees saved tensors (mean/rstd, probs, lse) on dispose', () => {
    const e = new CpuEngine();
    const x = param(e.upload(randn(2 * 3 * 6, s + 19), [2, 3, 6]));
    const gamma = param(e.fill([6], 1)),
      beta = param(e.zeros([6]));
    const tape = new Tape(e);
    const ln = layerNorm(tape, x, gamma, beta, 1e-5);
    const a = attention(tape, ln, { heads: 2, causal: true }); // [2, 3, 2]
    const tg = tape.constant(e.upload([0, 1, 1, 0, 1, 0], [6], 'u32'));
    const loss = crossEntropy(tape, gelu(tape, a), tg);
    tape.backward(loss);
    expect(x.grad!.shape).toEqual([2, 3, 6]);
    expect(gamma.grad!.shape).toEqual([6]);
    tape.dispose();
    expect(e.liveTensors).toBe(6); // x, gamma, beta and their three grads
  });

  it('bad input gets a specific message', () => {
    const e = new CpuEngine();
    const x = e.zeros([2, 3]);
    expect(() => layerNormOp(e, x, e.zeros([4]), e.zeros([3]), 1e-5)).toThrow('layerNorm gamma: expected shape [3], got [4]');
    expect(() => layerNormOp(e, x, e.zeros([3]), e.zeros([3]), -1)).toThrow(/eps must be a finite number/);
    expect(() => softmaxOp(e, e.zeros([2, 0]))).toThrow(/last dim of x \[2, 0\] is 0/);
    const logits = e.zeros([2, 3]);
    expect(() => crossEntropyOp(e, logits, e.upload([0, 3], [2], 'u32'))).toThrow('crossEntropy: target 3 at row 1 is out of range [0, 3)');
    expect(() => crossEntropyOp(e, logits, e.upload([0, 1], [2], 'i32'))).toThrow('crossEntropy: targets must be u32, got i32');
    expect(() => crossEntropyOp(e, logits, e.upload([0], [1], 'u32'))).toThrow('crossEntropy: 1 targets for 2 rows of logits');
    expect(() => crossEntropyBackward(e, e.zeros([1]), logits, e.upload([5, 0], [2], 'u32'), e.zeros([2]))).toThrow(
      'crossEntropyBackward: target 5 at row 0 is out of range [0, 3)',
    );
    const tape = new Tape(e);
    expect(() => crossEntropy(tape, param(logits), param(e.upload([0, 1], [2], 'u32')))).toThrow(/cannot require a gradient/);
  });
});
