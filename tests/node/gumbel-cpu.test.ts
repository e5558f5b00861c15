import { describe, expect, it } from 'vitest';
import { gradcheck } from '../../src/autograd/gradcheck';
import { CpuEngine } from '../../src/backend/cpu';
import { rngUniformCpu } from '../../src/ops/rng';
import {
  applyMask,
  backwardCpu,
  gumbelNoiseCpu,
  hardMask,
  nextSamplePosition,
  sampleSoftMask,
  softMaskBackward,
  softMaskFromNoise,
} from '../../src/sparsity/gumbel';
import { elementIndex, groupLayout, type GroupLayout, type WeightLayout } from '../../src/sparsity/layout';
import { nmPattern, type Pattern } from '../../src/sparsity/patterns';
import { randn, testSeed } from '../helpers/random';

const seed = testSeed();

function setup(n: number, m: number, layout: WeightLayout, rows: number, groupsPerRow: number) {
  const p = nmPattern(n, m);
  const shape = layout === 'out_in' ? [rows, groupsPerRow * m] : [groupsPerRow * m, rows];
  const g = groupLayout(shape, layout, m);
  return { p, g, shape, C: p.candidates.length };
}

/** L(π) = Σ gradW ⊙ w ⊙ m(π) − λ Σ (w ⊙ m(π))², in f64 with the noise held fixed. */
function lossF64(
  pi: ArrayLike<number>,
  noise: Float64Array,
  gradW: Float32Array,
  w: Float32Array,
  g: GroupLayout,
  p: Pattern,
  kappa: number,
  tau: number,
  lambda: number,
): number {
  const { mask } = softMaskFromNoise(pi, noise, g, p, kappa, tau);
  let L = 0;
  for (let i = 0; i < mask.length; i++) L += gradW[i] * w[i] * mask[i] - lambda * (w[i] * mask[i]) ** 2;
  return L;
}

describe('Gumbel soft mask (CPU twin)', () => {
  it('noise comes from element group·C + c of the counter stream', () => {
    const pos = { seed, stream: 4, offset: 10 };
    const u = rngUniformCpu(pos, 30);
    const g = gumbelNoiseCpu(pos, 30);
    for (let i = 0; i < 30; i++) expect(g[i]).toBeCloseTo(-Math.log(-Math.log(u[i])), 12);
  });

  it('each group sums to N, entries in [0, 1], y rows are distributions, both layouts', () => {
    for (const layout of ['out_in', 'in_out'] as const) {
      for (const [n, m] of [
        [2, 4],
        [1, 4],
        [2, 8],
        [4, 8],
      ]) {
        const { p, g, C } = setup(n, m, layout, 3, 5);
        const e = new CpuEngine();
        const logits = e.upload(randn(g.groups * C, seed, 0.5), [g.groups, C]);
        const { mask, y } = sampleSoftMask(e, logits, g, p, { kappa: 2, tau: 0.8, rng: { seed, stream: 1, offset: 0 } });
        for (let grp = 0; grp < g.groups; grp++) {
          let sm = 0,
            sy = 0;
          for (let k = 0; k < m; k++) {
            const v = mask.f32[elementIndex(g, grp, k)];
            expect(v).toBeGreaterThanOrEqual(0);
            expect(v).toBeLessThanOrEqual(1 + 1e-6);
            sm += v;
          }
          for (let c = 0; c < C; c++) sy += y.f32[grp * C + c];
          expect(Math.abs(sm - n), `${layout} ${n}:${m} group ${grp}`).toBeLessThan(1e-5);
          expect(Math.abs(sy - 1)).toBeLessThan(1e-6);
        }
      }
    }
  });

  it('a fresh RNG offset gives a different sample; the same offset the same one', () => {
    const { p, g, C } = setup(2, 4, 'out_in', 2, 3);
    const e = new CpuEngine();
    const logits = e.upload(randn(g.groups * C, seed), [g.groups, C]);
    const pos = { seed, stream: 2, offset: 0 };
    const a = sampleSoftMask(e, logits, g, p, { kappa: 1, tau: 1, rng: pos }).mask.f32;
    const b = sampleSoftMask(e, logits, g, p, { kappa: 1, tau: 1, rng: pos }).mask.f32;
    const c = sampleSoftMask(e, logits, g, p, { kappa: 1, tau: 1, rng: nextSamplePosition(pos, g, p) }).mask.f32;
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Array.from(c)).not.toEqual(Array.from(a));
    expect(nextSamplePosition(pos, g, p).offset).toBe(Math.ceil((g.groups * C) / 2));
  });

  it('large κ/τ makes the soft mask (nearly) the argmax-of-noisy-logits candidate', () => {
    const { p, g, C } = setup(2, 4, 'in_out', 4, 2);
    const e = new CpuEngine();
    const L = randn(g.groups * C, seed);
    const pos = { seed, stream: 9, offset: 3 };
    const noise = gumbelNoiseCpu(pos, g.groups * C);
    // τ well below the smallest gap between a group's best and second-best noisy logit, so that the
    // soft sample is one-hot within 1e-3 for every draw (a fixed τ fails when two nearly tie)
    const best: number[] = [];
    let gap = Infinity;
    for (let grp = 0; grp < g.groups; grp++) {
      const s = Array.from({ length: C }, (_, c) => L[grp * C + c] + noise[grp * C + c]);
      const order = s.map((_, c) => c).sort((a, b) => s[b] - s[a]);
      best.push(order[0]);
      gap = Math.min(gap, s[order[0]] - s[order[1]]);
    }
    expect(gap).toBeGreaterThan(0);
    const tau = Math.min(1e-4, gap / 30);
    const { mask } = sampleSoftMask(e, e.upload(L, [g.groups, C]), g, p, { kappa: 1, tau, rng: pos });
    for (let grp = 0; grp < g.groups; grp++) {
      for (let k = 0; k < 4; k++) expect(mask.f32[elementIndex(g, grp, k)]).toBeCloseTo(p.candidates[best[grp]][k], 3);
    }
  });

  it('backward matches finite differences of L(π) = Σ G⊙w⊙m − λΣ(w⊙m)² (noise fixed, f64), both layouts', () => {
    for (const layout of ['out_in', 'in_out'] as const) {
      for (const [n, m, kappa, tau] of [
        [2, 4, 3, 0.7],
        [2, 8, 2, 1.3],
        [1, 4, 100, 4],
      ]) {
        const { p, g, shape, C } = setup(n, m, layout, 3, 2);
        const scale = kappa === 100 ? 0.01 : 1;
        const pi = Float64Array.from(randn(g.groups * C, seed + n + m, scale));
        const gradW = randn(g.rows * g.cols, seed + 1),
          w = randn(g.rows * g.cols, seed + 2);
        const lambda = 0.3;
        const noise = gumbelNoiseCpu({ seed, stream: 5, offset: 0 }, g.groups * C);
        const { y, mask } = softMaskFromNoise(pi, noise, g, p, kappa, tau);
        const analytic = new Float64Array(g.groups * C);
        backwardCpu(gradW, w, mask, y, analytic, g, p, { kappa, tau, lambda }, false);
        const eps = 1e-6 * (kappa === 100 ? 0.01 : 1);
        let worst = 0,
          norm = 0;
        for (let j = 0; j < pi.length; j++) {
          const plus = Float64Array.from(pi),
            minus = Float64Array.from(pi);
          plus[j] += eps;
          minus[j] -= eps;
          const num = (lossF64(plus, noise, gradW, w, g, p, kappa, tau, lambda) - lossF64(minus, noise, gradW, w, g, p, kappa, tau, lambda)) / (2 * eps);
          worst = Math.max(worst, Math.abs(num - analytic[j]));
          norm = Math.max(norm, Math.abs(num));
        }
        expect(norm, 'the gradient is not trivially zero').toBeGreaterThan(1e-3);
        expect(worst / norm, `${layout} ${n}:${m} κ=${kappa} τ=${tau} seed=${seed}`).toBeLessThan(1e-6);
        // the engine entry point gives the same as the twin (f64 engine)
        const e = new CpuEngine(true);
        const out = softMaskBackward(e, e.upload(gradW, shape), e.upload(w, shape), e.upload(mask, shape), e.upload(y, [g.groups, C]), g, p, {
          kappa,
          tau,
          lambda,
        });
        for (let j = 0; j < pi.length; j++) expect(out.f32[j]).toBeCloseTo(analytic[j], 12);
      }
    }
  });

  it('gradcheck.ts: the soft mask as a differentiable op of the logits (λ = 0)', async () => {
    for (const layout of ['out_in', 'in_out'] as const) {
      const { p, g, shape, C } = setup(2, 4, layout, 2, 2);
      const a = { kappa: 2.5, tau: 0.9, rng: { seed, stream: 6, offset: 0 } };
      const r = await gradcheck(
        (tape, [pi]) => {
          const e = tape.engine;
          const { mask, y } = sampleSoftMask(e, pi.raw, g, p, a);
          tape.own(y);
          // output m itself: ∂L/∂m = gradOut, i.e. gradW = gradOut with w = 1, λ = 0
          return tape.record('softMask', mask, [pi], (gOut) => {
            const ones = tape.own(e.fill(shape, 1));
            return [softMaskBackward(e, gOut, ones, mask, y, g, p, { ...a, lambda: 0 })];
          });
        },
        [{ data: randn(g.groups * C, seed + 3), shape: [g.groups, C] }],
      );
      expect(r.worst, `${layout} seed=${seed}`).toBeLessThan(1e-6);
    }
  });

  it('a wrong backward is caught (the finite-difference check can fail)', () => {
    const { p, g, C } = setup(2, 4, 'out_in', 2, 1);
    const pi = Float64Array.from(randn(g.groups * C, seed));
    const gradW = randn(8, seed + 1),
      w = randn(8, seed + 2);
    const noise = gumbelNoiseCpu({ seed, stream: 5, offset: 0 }, g.groups * C);
    const { y, mask } = softMaskFromNoise(pi, noise, g, p, 1, 1);
    const wrong = new Float64Array(g.groups * C);
    backwardCpu(gradW, w, mask, y, wrong, g, p, { kappa: 1, tau: 2, lambda: 0 }, false); // τ off by 2×
    const eps = 1e-6;
    const plus = Float64Array.from(pi);
    plus[0] += eps;
    const minus = Float64Array.from(pi);
    minus[0] -= eps;
    const num = (lossF64(plus, noise, gradW, w, g, p, 1, 1, 0) - lossF64(minus, noise, gradW, w, g, p, 1, 1, 0)) / (2 * eps);
    expect(Math.abs(num - wrong[0])).toBeGreaterThan(1e-4 * Math.abs(num));
  });

  it('accumulate adds into an existing gradient', () => {
    const { p, g, shape, C } = setup(2, 4, 'out_in', 2, 2);
    const e = new CpuEngine();
    const logits = e.upload(randn(g.groups * C, seed), [g.groups, C]);
    const { mask, y } = sampleSoftMask(e, logits, g, p, { kappa: 1, tau: 1, rng: { seed, stream: 0, offset: 0 } });
    const gw = e.upload(randn(16, seed + 1), shape),
      w = e.upload(randn(16, seed + 2), shape);
    const a = { kappa: 1, tau: 1, lambda: 0.1 };
    const once = softMaskBackward(e, gw, w, mask, y, g, p, a);
    const acc = e.upload(randn(g.groups * C, seed + 4), [g.groups, C]);
    const before = Float32Array.from(acc.f32);
    const ret = softMaskBackward(e, gw, w, mask, y, g, p, a, acc);
    expect(ret).toBe(acc);
    for (let i = 0; i < acc.size; i++) expect(acc.f32[i]).toBeCloseTo(before[i] + once.f32[i], 6);
  });
});

describe('hard mask and applyMask (CPU)', () => {
  it('argmax per group, lowest index on ties, both layouts', () => {
    const p = nmPattern(2, 4);
    for (const layout of ['out_in', 'in_out'] as const) {
      const g = groupLayout(layout === 'out_in' ? [1, 12] : [12, 1], layout, 4);
      const e = new CpuEngine();
      const L = [
        0,
        1,
        5,
        5,
        2,
        5, // tie between 2, 3, 5 → 2 (1001)
        9,
        9,
        9,
        9,
        9,
        9, // all tied → 0 (1100)
        -3,
        -2,
        -1,
        -4,
        -5,
        0, // → 5 (0011)
      ];
      const { mask, choice } = hardMask(e, e.upload(L, [3, 6]), g, p);
      expect(Array.from(choice.data)).toEqual([2, 0, 5]);
      expect(Array.from(mask.f32)).toEqual([1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1]); // 12 × 1 or 1 × 12: same flat order
    }
  });

  it('applyMask = W ⊙ m; shape mismatch is an error', () => {
    const e = new CpuEngine();
    const w = e.upload([1, 2, 3, 4], [1, 4]),
      m = e.upload([0, 1, 1, 0], [1, 4]);
    expect(Array.from(applyMask(e, w, m).f32)).toEqual([0, 2, 3, 0]);
    expect(() => applyMask(e, w, e.upload([0, 1, 1, 0], [4, 1]))).toThrow(/applyMask: mask: expected shape \[1, 4\]/);
  });

  it('bad inputs name what is wrong', () => {
    const e = new CpuEngine();
    const p = nmPattern(2, 4),
      g = groupLayout([2, 8], 'out_in', 4);
    expect(() => sampleSoftMask(e, e.zeros([4, 5]), g, p, { kappa: 1, tau: 1, rng: { seed: 0, stream: 0, offset: 0 } })).toThrow(
      /logits: expected shape \[4, 6\]/,
    );
    expect(() => sampleSoftMask(e, e.zeros([4, 6]), g, p, { kappa: 1, tau: 0, rng: { seed: 0, stream: 0, offset: 0 } })).toThrow(/tau must be a positive/);
    expect(() => hardMask(e, e.zeros([4, 28]), groupLayout([2, 8], 'out_in', 8), p)).toThrow(/pattern is 2:4 but the group layout has m=8/);
    const handMade = { ...p, candidates: p.candidates.slice(1) };
    expect(() => hardMask(e, e.zeros([4, 5]), g, handMade)).toThrow(/must have 6 candidates \(use nmPattern\), got 5/);
    const y = e.zeros([4, 6]);
    expect(() => softMaskBackward(e, e.zeros([8, 2]), e.zeros([2, 8]), e.zeros([2, 8]), y, g, p, { kappa: 1, tau: 1, lambda: 0 })).toThrow(
      /gradW: expected shape \[2, 8\]/,
    );
  });
});
