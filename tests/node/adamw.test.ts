import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import { adamwStep, type AdamWHyper } from '../../src/ops/adamw';
import { clipScale, globalSumSquares } from '../../src/ops/reduce';
import { expectClose } from '../helpers/close';
import { randn, testSeed } from '../helpers/random';

/**
 * Independent reference, written from torch.optim.AdamW (_single_tensor_adamw) in f64:
 * param.mul_(1 − lr·wd); exp_avg.lerp_(g, 1 − β1); exp_avg_sq.mul_(β2).addcmul_(g, g, 1 − β2);
 * denom = exp_avg_sq.sqrt() / √bc2 + eps; param.addcdiv_(exp_avg, denom, −lr / bc1).
 */
function torchAdamW(p0: ArrayLike<number>, grads: ArrayLike<number>[], scales: number[], h: Omit<AdamWHyper, 'step'>) {
  const p = Float64Array.from(p0);
  const m = new Float64Array(p.length);
  const v = new Float64Array(p.length);
  grads.forEach((gr, k) => {
    const t = k + 1;
    const bc1 = 1 - Math.pow(h.beta1, t);
    const bc2 = 1 - Math.pow(h.beta2, t);
    for (let i = 0; i < p.length; i++) {
      const g = gr[i] * scales[k];
      p[i] *= 1 - h.lr * h.weightDecay;
      m[i] += (g - m[i]) * (1 - h.beta1);
      v[i] = v[i] * h.beta2 + (1 - h.beta2) * g * g;
      const denom = Math.sqrt(v[i]) / Math.sqrt(bc2) + h.eps;
      p[i] -= (h.lr / bc1) * (m[i] / denom);
    }
  });
  return { p, m, v };
}

describe('AdamW CPU twin', () => {
  const seed = testSeed();
  const hyper = { lr: 0.05, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
  const n = 37;

  it('3 steps match the torch.optim.AdamW reference (weight decay, gradScale)', () => {
    const e = new CpuEngine();
    const p0 = randn(n, seed);
    const grads = [randn(n, seed + 1), randn(n, seed + 2, 0.1), randn(n, seed + 3, 3)];
    const scales = [1, 0.25, 0.5];
    const p = e.upload(p0, [n]),
      m = e.zeros([n]),
      v = e.zeros([n]);
    grads.forEach((g, k) => {
      const s = k === 0 ? undefined : e.upload([scales[k]], [1]); // step 1 without a gradScale
      adamwStep(e, p, e.upload(g, [n]), m, v, { ...hyper, step: k + 1 }, s);
    });
    const ref = torchAdamW(p0, grads, scales, hyper);
    expectClose(p.f32, ref.p, 1e-6, `param seed=${seed}`);
    expectClose(m.f32, ref.m, 1e-6, `m seed=${seed}`);
    expectClose(v.f32, ref.v, 1e-6, `v seed=${seed}`);
    // the update itself (not just p ≈ p0) matches
    const dGot = Array.from(p.f32, (x, i) => x - p0[i]);
    const dRef = Array.from(ref.p, (x, i) => x - p0[i]);
    expectClose(dGot, dRef, 1e-5, 'update');
  });

  it('first step without decay moves each weight by lr·g/(|g| + eps)', () => {
    const e = new CpuEngine(true);
    const p = e.upload([1, 1, 1], [3]);
    adamwStep(e, p, e.upload([2, -0.5, 0], [3]), e.zeros([3]), e.zeros([3]), { ...hyper, weightDecay: 0, eps: 1e-3, step: 1 });
    expectClose(p.f32, [1 - 0.05 * (2 / 2.001), 1 + 0.05 * (0.5 / 0.501), 1], 1e-12);
  });

  it('weight decay alone: zero gradient shrinks p by (1 − lr·wd)', () => {
    const e = new CpuEngine(true);
    const p = e.upload([2, -4], [2]);
    adamwStep(e, p, e.zeros([2]), e.zeros([2]), e.zeros([2]), { ...hyper, step: 1 });
    expectClose(p.f32, [2 * (1 - 0.005), -4 * (1 - 0.005)], 1e-12);
  });

  it('global-norm clipping through gradScale matches clipping the gradients by hand', () => {
    const e = new CpuEngine(true);
    const ga = randn(20, seed + 4, 2),
      gb = randn(7, seed + 5, 2);
    let sq = 0;
    for (const g of [ga, gb]) for (const x of g) sq += x * x;
    const want = Math.min(1, 1 / (Math.sqrt(sq) + 1e-6));
    const scale = clipScale(e, globalSumSquares(e, [e.upload(ga, [20]), e.upload(gb, [7])]), 1);
    expect(scale.f32[0]).toBeCloseTo(want, 12);
    const p = e.zeros([20]),
      m = e.zeros([20]),
      v = e.zeros([20]);
    adamwStep(e, p, e.upload(ga, [20]), m, v, { ...hyper, step: 1 }, scale);
    expectClose(
      m.f32,
      Array.from(ga, (x) => 0.1 * x * want),
      1e-12,
    );
  });

  it('rejects bad input with a specific message', () => {
    const e = new CpuEngine();
    const t = () => e.zeros([4]);
    const h = { ...hyper, step: 1 };
    expect(() => adamwStep(e, t(), e.zeros([3]), t(), t(), h)).toThrow(/grad has 3 elements, param 4/);
    expect(() => adamwStep(e, t(), t(), t(), t(), { ...h, step: 0 })).toThrow(/step must be an integer ≥ 1/);
    expect(() => adamwStep(e, t(), t(), t(), t(), { ...h, beta2: 1 })).toThrow(/beta2 must be in \[0, 1\)/);
    expect(() => adamwStep(e, t(), t(), t(), t(), { ...h, lr: NaN })).toThrow(/lr must be a finite number/);
    expect(() => adamwStep(e, t(), t(), t(), t(), h, e.zeros([2]))).toThrow(/gradScale must be an f32 \[1\] tensor/);
    const m = t();
    expect(() => adamwStep(e, t(), t(), m, m, h)).toThrow(/m and v must be different/);
  });
});
