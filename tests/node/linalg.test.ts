import { describe, expect, it } from 'vitest';
import { cholesky, choleskyInverse, upperCholeskyOfInverse } from '../../src/sparsity/linalg';
import { maxAbsDiff } from '../helpers/close';
import { randn, testSeed } from '../helpers/random';

function matmul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) c[i * n + j] += a[i * n + k] * b[k * n + j];
  return c;
}
function transpose(a: Float64Array, n: number): Float64Array {
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = a[i * n + j];
  return t;
}
function identity(n: number): Float64Array {
  const e = new Float64Array(n * n);
  for (let i = 0; i < n; i++) e[i * n + i] = 1;
  return e;
}
/** Random SPD A = B·Bᵀ/n + 0.1·I (well enough conditioned for 1e-9 checks). */
function randomSpd(n: number, seed: number): Float64Array {
  const b = Float64Array.from(randn(n * n, seed));
  const a = matmul(b, transpose(b, n), n);
  for (let i = 0; i < n * n; i++) a[i] /= n;
  for (let i = 0; i < n; i++) a[i * n + i] += 0.1;
  return a;
}

describe('cholesky', () => {
  it('factors a known matrix', () => {
    const a = Float64Array.from([4, 12, -16, 12, 37, -43, -16, -43, 98]);
    expect(Array.from(cholesky(a, 3))).toEqual([2, 0, 0, 6, 1, 0, -8, 5, 3]);
    expect(Array.from(cholesky(Float64Array.of(9), 1))).toEqual([3]);
  });

  it('names the failing pivot when the matrix is not positive definite', () => {
    // Leading 2×2 block [[1,2],[2,1]] is indefinite: pivot 1 is 1 − 4 = −3.
    const a = Float64Array.from([1, 2, 0, 2, 1, 0, 0, 0, 1]);
    expect(() => cholesky(a, 3)).toThrow(/not positive definite \(pivot 1 of 3 is -3/);
    expect(() => cholesky(Float64Array.from([0, 0, 0, 1]), 2)).toThrow(/pivot 0 of 2 is 0/);
    expect(() => cholesky(Float64Array.from([NaN]), 1)).toThrow(/pivot 0 of 1 is NaN/);
    expect(() => cholesky(new Float64Array(5), 2)).toThrow(/expected 2×2 = 4 elements, got 5/);
  });

  it('reproduces random SPD matrices (L·Lᵀ = A, L lower)', () => {
    const seed = testSeed();
    for (const n of [1, 2, 7, 33]) {
      const a = randomSpd(n, seed + n);
      const l = cholesky(a, n);
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) expect(l[i * n + j], `seed ${seed}`).toBe(0);
      expect(maxAbsDiff(matmul(l, transpose(l, n), n), a), `seed ${seed} n ${n}`).toBeLessThan(1e-12);
    }
  });
});

describe('choleskyInverse', () => {
  it('inverts a known matrix', () => {
    // [[2,1],[1,2]]⁻¹ = [[2,−1],[−1,2]]/3
    const inv = choleskyInverse(cholesky(Float64Array.from([2, 1, 1, 2]), 2), 2);
    expect(maxAbsDiff(inv, [2 / 3, -1 / 3, -1 / 3, 2 / 3])).toBeLessThan(1e-15);
  });

  it('gives A·A⁻¹ = I for random SPD matrices', () => {
    const seed = testSeed();
    for (const n of [1, 5, 31]) {
      const a = randomSpd(n, seed + n);
      const inv = choleskyInverse(cholesky(a, n), n);
      expect(maxAbsDiff(matmul(a, inv, n), identity(n)), `seed ${seed} n ${n}`).toBeLessThan(1e-9);
      expect(maxAbsDiff(inv, transpose(inv, n)), 'symmetric').toBe(0);
    }
  });
});

describe('upperCholeskyOfInverse', () => {
  it('gives U upper triangular with UᵀU = H⁻¹ on a known matrix', () => {
    // H = diag(4, 1/9) → H⁻¹ = diag(1/4, 9) → U = diag(1/2, 3)
    const u = upperCholeskyOfInverse(Float64Array.from([4, 0, 0, 1 / 9]), 2);
    expect(maxAbsDiff(u, [0.5, 0, 0, 3])).toBeLessThan(1e-14);
  });

  it('gives UᵀU = H⁻¹ for random SPD matrices', () => {
    const seed = testSeed();
    for (const n of [1, 6, 29]) {
      const h = randomSpd(n, seed + 100 + n);
      const u = upperCholeskyOfInverse(h, n);
      for (let i = 0; i < n; i++) {
        expect(u[i * n + i], `seed ${seed}`).toBeGreaterThan(0);
        for (let j = 0; j < i; j++) expect(u[i * n + j], `seed ${seed}`).toBe(0);
      }
      const utu = matmul(transpose(u, n), u, n);
      // UᵀU·H = I checks it against H itself, not against another inverse of ours.
      expect(maxAbsDiff(matmul(utu, h, n), identity(n)), `seed ${seed} n ${n}`).toBeLessThan(1e-9);
    }
  });
});
