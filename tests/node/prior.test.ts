import { describe, expect, it } from 'vitest';
import { elementIndex, groupLayout } from '../../src/sparsity/layout';
import { nmPattern } from '../../src/sparsity/patterns';
import { applyPrior, choiceFromMask, initLogits, maskFromChoice } from '../../src/sparsity/prior';
import { randint, testSeed } from '../helpers/random';

const seed = testSeed();
const std = (a: ArrayLike<number>) => {
  const n = a.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i];
  const mean = s / n;
  let q = 0;
  for (let i = 0; i < n; i++) q += (a[i] - mean) ** 2;
  return { mean, std: Math.sqrt(q / n) };
};

describe('logit initialisation', () => {
  it('Normal(0, σ0²): mean ≈ 0, std ≈ σ0, deterministic in (seed, stream), streams differ', () => {
    const p = nmPattern(2, 4);
    const a = initLogits(3001, p, 0.2, seed, 1); // odd count: the last Box–Muller pair is half used
    expect(a.length).toBe(3001 * 6);
    const s = std(a);
    expect(Math.abs(s.mean)).toBeLessThan(0.01);
    expect(Math.abs(s.std - 0.2)).toBeLessThan(0.005);
    expect(a.every((x) => Number.isFinite(x))).toBe(true);
    expect(Array.from(initLogits(3001, p, 0.2, seed, 1))).toEqual(Array.from(a));
    expect(initLogits(3001, p, 0.2, seed, 2)[0]).not.toBe(a[0]);
    const odd = initLogits(1, nmPattern(1, 3), 1, seed, 0); // 3 values: the last pair is half used
    expect(odd.length).toBe(3);
    expect(odd.every((x) => Number.isFinite(x) && x !== 0)).toBe(true);
  });
});

describe('choice ↔ mask', () => {
  it('round-trips for both layouts and all candidates', () => {
    for (const [n, m] of [
      [2, 4],
      [2, 8],
      [4, 8],
    ]) {
      const p = nmPattern(n, m);
      for (const layout of ['out_in', 'in_out'] as const) {
        const g = groupLayout(layout === 'out_in' ? [5, 3 * m] : [3 * m, 5], layout, m);
        const choice = randint(g.groups, seed, p.candidates.length);
        const mask = maskFromChoice(choice, g, p);
        for (let grp = 0; grp < g.groups; grp++) {
          for (let k = 0; k < m; k++) expect(mask[elementIndex(g, grp, k)]).toBe(p.candidates[choice[grp]][k]);
        }
        expect(Array.from(choiceFromMask(mask, g, p))).toEqual(Array.from(choice));
        expect(Array.from(choiceFromMask(Float32Array.from(mask), g, p))).toEqual(Array.from(choice));
      }
    }
  });

  it('rejects masks that are not N:M, values other than 0/1, wrong sizes, bad choices', () => {
    const p = nmPattern(2, 4),
      g = groupLayout([2, 8], 'out_in', 4);
    const ok = maskFromChoice([0, 1, 2, 3], g, p);
    const three = Uint8Array.from(ok);
    three[elementIndex(g, 2, 1)] = 1; // group 2 = 1001 → 1101
    expect(() => choiceFromMask(three, g, p)).toThrow(/group 2 keeps \[1101\], not exactly 2 of 4/);
    const half = Float32Array.from(ok);
    half[5] = 0.5;
    expect(() => choiceFromMask(half, g, p)).toThrow(/mask value 0.5 at element 5 \(group 1\) is not 0 or 1/);
    expect(() => choiceFromMask(ok.subarray(1), g, p)).toThrow(/mask has 15 elements, the weight 16/);
    expect(() => maskFromChoice([0, 1, 6, 0], g, p)).toThrow(/choice 6 of group 2 is not a candidate index \(0..5\)/);
    expect(() => maskFromChoice([0, 1], g, p)).toThrow(/2 choices for 4 groups/);
  });
});

describe('applyPrior', () => {
  it('2:4: own candidate +α·σ, complement −α·σ, the 4 neighbours 0 (σ taken before the add)', () => {
    const p = nmPattern(2, 4);
    for (const layout of ['out_in', 'in_out'] as const) {
      const g = groupLayout(layout === 'out_in' ? [3, 8] : [8, 3], layout, 4);
      const logits = initLogits(g.groups, p, 0.01, seed, 3);
      const before = Float32Array.from(logits);
      const sigma = std(before).std;
      const choice = Uint32Array.from({ length: g.groups }, (_, i) => i % 6); // every candidate once
      const complement = [5, 4, 3, 2, 1, 0]; // 1100↔0011, 1010↔0101, 1001↔0110
      applyPrior(logits, maskFromChoice(choice, g, p), g, p, 3);
      for (let grp = 0; grp < g.groups; grp++) {
        for (let c = 0; c < 6; c++) {
          const d = logits[grp * 6 + c] - before[grp * 6 + c];
          const want = c === choice[grp] ? 3 * sigma : c === complement[choice[grp]] ? -3 * sigma : 0;
          expect(d).toBeCloseTo(want, 7);
        }
      }
    }
  });

  it('2:8 offsets are σα·(overlap − 1)', () => {
    const p = nmPattern(2, 8),
      g = groupLayout([2, 8], 'out_in', 8);
    const logits = initLogits(g.groups, p, 1, seed, 4);
    const before = Float32Array.from(logits);
    const sigma = std(before).std;
    applyPrior(logits, maskFromChoice([0, 27], g, p), g, p, 2);
    // candidate 0 = 11000000 vs candidate 1 = 10100000 (overlap 1) and 27 = 00000011 (overlap 0)
    expect(logits[0] - before[0]).toBeCloseTo(2 * sigma, 6);
    expect(logits[1] - before[1]).toBeCloseTo(0, 6);
    expect(logits[27] - before[27]).toBeCloseTo(-2 * sigma, 6);
  });

  it('rejects a prior that is not exactly N:M, and mismatched sizes', () => {
    const p = nmPattern(2, 4),
      g = groupLayout([2, 8], 'out_in', 4);
    const logits = initLogits(g.groups, p, 0.01, seed, 0);
    const bad = maskFromChoice([0, 1, 2, 3], g, p);
    bad[0] = 0; // group 0 = 0100
    expect(() => applyPrior(logits, bad, g, p, 3)).toThrow(/applyPrior: the prior is not a valid 2:4 mask: .*group 0 keeps \[0100\]/);
    expect(() => applyPrior(logits.subarray(1), maskFromChoice([0, 1, 2, 3], g, p), g, p, 3)).toThrow(/23 logits for 4 groups × 6 candidates/);
    expect(() => applyPrior(logits, new Uint8Array(12), g, p, 3)).toThrow(/mask has 12 elements, the weight 16/);
  });
});
