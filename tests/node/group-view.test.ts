// The group view's sampler (src/sparsity/group-view.ts) is the learner's: for any group of a site,
// sampleGroup on that group's logits and noise gives the same probabilities and soft mask as the
// engine's sampleSoftMask (f64 CPU engine) over the whole site, at the group's weights.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import { gumbelNoiseCpu, sampleSoftMask } from '../../src/sparsity/gumbel';
import { groupNoise, sampleGroup } from '../../src/sparsity/group-view';
import { elementIndex, groupLayout } from '../../src/sparsity/layout';
import { nmPattern } from '../../src/sparsity/patterns';
import { randint, randn, testSeed } from '../helpers/random';

const seed = testSeed();
const argmaxOf = (v: number[]) => v.indexOf(Math.max(...v));

describe('group view sampler', () => {
  for (const [n, m] of [
    [2, 4],
    [1, 4],
    [4, 8],
  ])
    for (const layout of ['in_out', 'out_in'] as const)
      it(`${n}:${m}, ${layout}: every group equals the site's sample (probabilities, soft mask)`, async () => {
        const p = nmPattern(n, m);
        const C = p.candidates.length;
        const rows = 3;
        const perRow = 5;
        const shape = layout === 'out_in' ? [rows, perRow * m] : [perRow * m, rows];
        const g = groupLayout(shape, layout, m);
        const logits = randn(g.groups * C, seed, 2);
        const kappa = 0.5 + (randint(1, seed + 1, 50)[0] as number);
        const tau = 0.05 + ((seed % 97) / 97) * 3;
        const rng = { seed, stream: 3, offset: 11 };
        const e = new CpuEngine(true);
        const lt = e.upload(logits, [g.groups, C]);
        const { y, mask } = sampleSoftMask(e, lt, g, p, { kappa, tau, rng });
        const noise = gumbelNoiseCpu(rng, g.groups * C);
        for (let grp = 0; grp < g.groups; grp++) {
          const row = Array.from(logits.subarray(grp * C, grp * C + C));
          const s = sampleGroup(row, p, kappa, tau, Array.from(noise.subarray(grp * C, grp * C + C)));
          for (let c = 0; c < C; c++) expect(s.y[c]).toBeCloseTo(y.f32[grp * C + c], 12);
          for (let k = 0; k < m; k++) expect(s.mask[k]).toBeCloseTo(mask.f32[elementIndex(g, grp, k)], 12);
          expect(s.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
          expect(s.mask.reduce((a, b) => a + b, 0)).toBeCloseTo(n, 12);
          expect(s.y[s.hard]).toBe(Math.max(...s.y));
          expect(row[s.choice]).toBe(Math.max(...row));
        }
        lt.dispose();
        y.dispose();
        mask.dispose();
      });

  it('κ large: softmax(κπ) is one-hot on the choice; τ large: the sample is near uniform whatever the noise', () => {
    const p = nmPattern(2, 4);
    fc.assert(
      fc.property(fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 6, maxLength: 6 }), fc.nat(1000), (logits, draw) => {
        // a unique maximum (by construction), so the one-hot limit is defined
        const pi = logits.map((v, i) => v + i * 1e-3);
        expect(sampleGroup(pi, p, 1e6, 1, groupNoise(p, draw)).probs[argmaxOf(pi)]).toBeCloseTo(1, 9);
        // |κπ + g| / τ ≤ (3 + 20) / 1e7 for κ = 1: the soft sample is uniform to ~1e-6
        const s = sampleGroup(pi, p, 1, 1e7, groupNoise(p, draw));
        for (const v of s.y) expect(Math.abs(v - 1 / 6)).toBeLessThan(1e-5);
        for (const v of s.mask) expect(Math.abs(v - 0.5)).toBeLessThan(1e-5);
      }),
      { seed, numRuns: 50 },
    );
  });

  it('κ = 0: every candidate equally likely, and the hard choice follows the noise alone', () => {
    const p = nmPattern(2, 4);
    const logits = Array.from(randn(6, seed, 3));
    for (let draw = 0; draw < 20; draw++) {
      const noise = groupNoise(p, draw);
      const s = sampleGroup(logits, p, 0, 0.5, noise);
      for (const v of s.probs) expect(v).toBeCloseTo(1 / 6, 12);
      expect(s.hard).toBe(noise.indexOf(Math.max(...noise)));
    }
  });

  it('the view’s noise: the same draw gives the same noise, another draw another; bad input is refused', () => {
    const p = nmPattern(2, 4);
    expect(groupNoise(p, 3)).toEqual(groupNoise(p, 3));
    expect(groupNoise(p, 3)).not.toEqual(groupNoise(p, 4));
    expect(groupNoise(p, 3).every(Number.isFinite)).toBe(true);
    expect(() => sampleGroup([1, 2, 3], p, 1, 1, groupNoise(p, 0))).toThrow(/6 candidates, got 3 logits/);
    expect(() => sampleGroup([0, 0, 0, 0, 0, 0], p, 1, 0, groupNoise(p, 0))).toThrow(/τ > 0/);
    expect(() => sampleGroup([0, 0, 0, 0, 0, 0], p, Number.NaN, 1, groupNoise(p, 0))).toThrow(/finite κ/);
  });
});
