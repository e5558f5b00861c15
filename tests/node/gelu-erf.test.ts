import { describe, expect, it } from 'vitest';
import { gelu } from '../../src/autograd/fn/activation';
import { gradcheck } from '../../src/autograd/gradcheck';
import { erf64, geluErfScalar } from '../../src/ops/activation';
import { randn, testSeed } from '../helpers/random';

describe('exact GELU (erf form, HF "gelu")', () => {
  it('erf64 matches reference values to 1e-13', () => {
    const ref: [number, number][] = [
      [0, 0], [0.5, 0.5204998778130465], [1, 0.8427007929497149], [2, 0.9953222650189527],
      [3, 0.9999779095030014], [3.99, 0.9999999833], [4.5, 0.9999999998033839], [-1, -0.8427007929497149],
    ];
    for (const [x, v] of ref) expect(Math.abs(erf64(x) - v), `erf(${x})`).toBeLessThan(x === 3.99 ? 1e-9 : 1e-13);
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
