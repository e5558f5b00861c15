import { describe, expect, it } from 'vitest';
import { elementIndex, groupLayout, weightShape } from '../../src/sparsity/layout';
import { bitsPerWeight, candidateBits, nmPattern } from '../../src/sparsity/patterns';

const str = (v: Uint8Array) => Array.from(v).join('');

describe('N:M candidate sets', () => {
  it('2:4 has the 6 candidates in lexicographic order of kept positions', () => {
    expect(nmPattern(2, 4).candidates.map(str)).toEqual(['1100', '1010', '1001', '0110', '0101', '0011']);
  });

  it('1:4, 2:8, 4:8 have 4, 28, 70 candidates, ordered like combinations(range(m), n)', () => {
    expect(nmPattern(1, 4).candidates.map(str)).toEqual(['1000', '0100', '0010', '0001']);
    for (const [n, m, count] of [
      [2, 8, 28],
      [4, 8, 70],
    ]) {
      const p = nmPattern(n, m);
      expect(p.candidates.length).toBe(count);
      const kept = p.candidates.map((v) => [...v.keys()].filter((k) => v[k] === 1));
      for (const k of kept) expect(k.length).toBe(n);
      // strictly increasing in lexicographic order of the kept-position tuples
      for (let i = 1; i < kept.length; i++) {
        const a = kept[i - 1],
          b = kept[i];
        const j = a.findIndex((x, t) => x !== b[t]);
        expect(j >= 0 && a[j] < b[j], `candidates ${i - 1}, ${i}`).toBe(true);
      }
    }
    expect(nmPattern(2, 8).candidates.slice(0, 3).map(str)).toEqual(['11000000', '10100000', '10010000']);
    expect(str(nmPattern(4, 8).candidates[69])).toBe('00001111');
  });

  it('candidate bit masks decrease strictly (the order the WGSL kernels enumerate)', () => {
    for (const [n, m] of [
      [1, 4],
      [2, 4],
      [2, 8],
      [4, 8],
      [3, 5],
    ]) {
      const bits = candidateBits(nmPattern(n, m));
      for (let i = 1; i < bits.length; i++) expect(bits[i]).toBeLessThan(bits[i - 1]);
      // and they are all the m-bit masks with n ones
      const all = [...Array(1 << m).keys()].filter((v) => v.toString(2).split('1').length - 1 === n).sort((a, b) => b - a);
      expect(bits).toEqual(all);
    }
  });

  it('bits per weight = log2(C(m,n))/m (2:4 → 0.646)', () => {
    expect(bitsPerWeight(nmPattern(2, 4))).toBeCloseTo(Math.log2(6) / 4, 12);
    expect(bitsPerWeight(nmPattern(2, 4))).toBeCloseTo(0.646, 3);
    expect(bitsPerWeight(nmPattern(4, 8))).toBeCloseTo(Math.log2(70) / 8, 12);
  });

  it('rejects bad n, m', () => {
    expect(() => nmPattern(0, 4)).toThrow(/1 ≤ n < m ≤ 8/);
    expect(() => nmPattern(4, 4)).toThrow(/n=4, m=4/);
    expect(() => nmPattern(2, 9)).toThrow(/m=9/);
    expect(() => nmPattern(1.5, 4)).toThrow(/integers/);
  });
});

describe('group layout', () => {
  it("'out_in' ([out, in], torch Linear): groups are m consecutive elements of a row", () => {
    const g = groupLayout([3, 8], 'out_in', 4);
    expect(g).toEqual({ layout: 'out_in', rows: 3, cols: 8, m: 4, groups: 6 });
    expect([0, 1, 2, 3].map((k) => elementIndex(g, 0, k))).toEqual([0, 1, 2, 3]);
    expect([0, 1, 2, 3].map((k) => elementIndex(g, 1, k))).toEqual([4, 5, 6, 7]);
    expect([0, 1, 2, 3].map((k) => elementIndex(g, 5, k))).toEqual([20, 21, 22, 23]);
    expect(weightShape(g)).toEqual([3, 8]);
  });

  it("'in_out' ([in, out], GPT-2 Conv1D): groups run down a column along dim 0", () => {
    const g = groupLayout([8, 3], 'in_out', 4); // in = 8, out = 3
    expect(g).toEqual({ layout: 'in_out', rows: 3, cols: 8, m: 4, groups: 6 });
    // group 0 = output 0, inputs 0..3 → W[i][0] = flat i·3
    expect([0, 1, 2, 3].map((k) => elementIndex(g, 0, k))).toEqual([0, 3, 6, 9]);
    // group 1 = output 0, inputs 4..7
    expect([0, 1, 2, 3].map((k) => elementIndex(g, 1, k))).toEqual([12, 15, 18, 21]);
    // group 5 = output 2, inputs 4..7
    expect([0, 1, 2, 3].map((k) => elementIndex(g, 5, k))).toEqual([14, 17, 20, 23]);
    expect(weightShape(g)).toEqual([8, 3]);
  });

  it('the two layouts are transposes of each other and cover every element once', () => {
    const a = groupLayout([5, 12], 'out_in', 4),
      b = groupLayout([12, 5], 'in_out', 4);
    const seenA = new Set<number>(),
      seenB = new Set<number>();
    for (let grp = 0; grp < a.groups; grp++) {
      for (let k = 0; k < 4; k++) {
        const ia = elementIndex(a, grp, k),
          ib = elementIndex(b, grp, k);
        seenA.add(ia);
        seenB.add(ib);
        // W_out_in[r][c] ↔ W_in_out[c][r]
        expect(ib).toBe((ia % 12) * 5 + Math.floor(ia / 12));
      }
    }
    expect(seenA.size).toBe(60);
    expect(seenB.size).toBe(60);
  });

  it('rejects an input dimension that m does not divide, and bad shapes', () => {
    expect(() => groupLayout([4, 6], 'out_in', 4)).toThrow(/input dimension \(6.*not a multiple of m=4/);
    expect(() => groupLayout([6, 4], 'in_out', 4)).toThrow(/input dimension \(6.*not a multiple of m=4/);
    expect(() => groupLayout([4, 8, 1], 'out_in', 4)).toThrow(/2-D/);
    expect(() => groupLayout([4, 8], 'xy' as 'out_in', 4)).toThrow(/unknown layout/);
  });
});
