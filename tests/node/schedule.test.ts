import { describe, expect, it } from 'vitest';
import { PRESETS, scheduleAt } from '../../src/sparsity/schedule';

describe('MaskLLM schedules', () => {
  const h = PRESETS.paperLLM;
  it('paper LLM preset has the values of MASKLLM.md', () => {
    expect(h.kappa).toEqual([100, 500]);
    expect(h.tau).toEqual([4, 0.05]);
    expect([h.sigma0, h.priorStrength, h.lambda, h.lr, h.lrMin, h.weightDecay, h.clip]).toEqual([0.01, 3, 1e-5, 5e-4, 5e-5, 0.1, 1]);
    expect(h.betas).toEqual([0.9, 0.95]);
    expect(h.lambdaDecay).toBe(true);
    const v = PRESETS.paperViT;
    expect([v.kappa, v.tau, v.sigma0, v.lr, v.weightDecay, v.clip]).toEqual([[10, 100], [4, 0.05], 0.2, 1e-3, 0.01, 2]);
    const s = PRESETS.tunedSmall;
    expect([s.lr, s.lrMin]).toEqual([2e-3, 2e-4]);
    expect({ ...s, lr: 0, lrMin: 0, steps: 0 }).toEqual({ ...h, lr: 0, lrMin: 0, steps: 0 });
  });

  it('t = 0: start values, full λ and lr', () => {
    expect(scheduleAt(h, 0)).toEqual({ kappa: 100, tau: 4, lambda: 1e-5, lr: 5e-4 });
  });

  it('t = 1/2: midpoints, λ/2, lr halfway (cosine)', () => {
    const s = scheduleAt(h, h.steps / 2);
    expect(s.kappa).toBeCloseTo(300, 10);
    expect(s.tau).toBeCloseTo(2.025, 10);
    expect(s.lambda).toBeCloseTo(5e-6, 15);
    expect(s.lr).toBeCloseTo((5e-4 + 5e-5) / 2, 15);
  });

  it('t = 1/4: cosine, not linear, lr', () => {
    const s = scheduleAt(h, h.steps / 4);
    expect(s.lr).toBeCloseTo(5e-5 + (4.5e-4 * (1 + Math.SQRT1_2)) / 2, 15);
    expect(s.kappa).toBeCloseTo(200, 10);
  });

  it('t = 1 (and beyond): end values, λ 0 with decay', () => {
    for (const step of [h.steps, h.steps + 10]) {
      const s = scheduleAt(h, step);
      expect(s.kappa).toBeCloseTo(500, 10);
      expect(s.tau).toBeCloseTo(0.05, 12);
      expect(s.lambda).toBe(0);
      expect(s.lr).toBeCloseTo(5e-5, 15);
    }
    expect(scheduleAt(PRESETS.paperViT, PRESETS.paperViT.steps).lambda).toBe(1e-5); // no decay
  });

  it('rejects bad steps', () => {
    expect(() => scheduleAt({ ...h, steps: 0 }, 0)).toThrow(/steps must be a positive integer/);
    expect(() => scheduleAt(h, -1)).toThrow(/step must be/);
  });
});
