import { describe, expect, it } from 'vitest';
import { gelu } from '../../src/autograd/fn/activation';
import { gradcheck } from '../../src/autograd/gradcheck';
import { erf64, erfc64, geluErfScalar } from '../../src/ops/activation';
import { randn, testSeed } from '../helpers/random';

describe('exact GELU (erf form, HF "gelu")', () => {
  it('erf64 matches reference values to 1e-13', () => {
    const ref: [number, number][] = [
      [0, 0],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [3, 0.9999779095030014],
      [3.99, 0.9999999833],
      [4.5, 0.9999999998033839],
      [-1, -0.8427007929497149],
    ];
    for (const [x, v] of ref) expect(Math.abs(erf64(x) - v), `erf(${x})`).toBeLessThan(x === 3.99 ? 1e-9 : 1e-13);
  });
  it('erfc64 keeps its relative accuracy where erfc is tiny (reference: CPython math.erfc)', () => {
    const ref: [number, number][] = [
      [0.5, 0.4795001221869535],
      [2, 0.004677734981047265],
      [2.5, 0.0004069520174449589],
      [3, 2.2090496998585438e-5],
      [4, 1.541725790028002e-8],
      [5, 1.5374597944280351e-12],
      [6.5, 3.8421483271206475e-20],
      [9, 4.13703174651381e-37],
      [13, 1.7395573154667246e-75],
    ];
    for (const [x, v] of ref) expect(Math.abs(erfc64(x) - v) / v, `erfc(${x})`).toBeLessThan(1e-13);
    expect(erfc64(-3)).toBeCloseTo(2 - 2.2090496998585438e-5, 15);
  });
  it('GELU of negative inputs keeps its tiny value instead of cancelling to 0', () => {
    // reference: 0.5·x·math.erfc(−x/√2) in CPython
    expect(Math.abs(geluErfScalar(-5.632928371429443) / -4.9900720847073825e-8 - 1)).toBeLessThan(1e-12);
    expect(Math.abs(geluErfScalar(-9) / -1.015729565358458e-18 - 1)).toBeLessThan(1e-12);
  });
  it('differs from the tanh form by less than 1e-3 and is exact at known points', () => {
    expect(geluErfScalar(1)).toBeCloseTo(0.8413447460685429, 12);
    expect(geluErfScalar(-2)).toBeCloseTo(-0.04550026389635842, 12);
  });
  it('backward matches finite differences', async () => {
    const r = await gradcheck((t, [x]) => gelu(t, x, true), [{ data: randn(23, testSeed(), 2), shape: [23] }]);
    expect(r.worst).toBeLessThan(1e-6);
  });
});
