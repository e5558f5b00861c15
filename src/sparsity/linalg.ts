// Dense f64 linear algebra for the one-shot pruning baselines (SparseGPT needs H⁻¹'s Cholesky factor).
// All matrices are row-major Float64Array n×n. The sizes here are a few thousand per side at most,
// so plain O(n³) loops are fine; the loops are ordered so the inner one walks contiguous memory.

function checkSquare(a: Float64Array, n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what}: size n must be a positive integer, got ${n}`);
  if (a.length !== n * n) throw new Error(`${what}: expected ${n}×${n} = ${n * n} elements, got ${a.length}`);
}

/**
 * Cholesky factor L (lower triangular, A = L·Lᵀ) of a symmetric positive definite matrix.
 * Only the lower triangle of `a` is read. Throws naming the first pivot that is not > 0.
 */
export function cholesky(a: Float64Array, n: number): Float64Array {
  checkSquare(a, n, 'cholesky');
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    // Diagonal: L_jj² = A_jj − Σ_k<j L_jk².
    let d = a[rj + j];
    for (let k = 0; k < j; k++) d -= l[rj + k] * l[rj + k];
    // `!(d > 0)` also catches NaN (a NaN input would otherwise flow through silently).
    if (!(d > 0)) {
      throw new Error(`cholesky: matrix is not positive definite (pivot ${j} of ${n} is ${d}; diagonal entry was ${a[rj + j]})`);
    }
    const ljj = Math.sqrt(d);
    l[rj + j] = ljj;
    // Column j below the diagonal: L_ij = (A_ij − Σ_k<j L_ik L_jk) / L_jj.
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let s = a[ri + j];
      for (let k = 0; k < j; k++) s -= l[ri + k] * l[rj + k];
      l[ri + j] = s / ljj;
    }
  }
  return l;
}

/** Inverse of a lower-triangular matrix with a non-zero diagonal (forward substitution per column). */
function lowerInverse(l: Float64Array, n: number): Float64Array {
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    const lii = l[ri + i];
    if (!(lii !== 0 && Number.isFinite(lii))) {
      throw new Error(`choleskyInverse: factor has diagonal ${lii} at row ${i}; not a Cholesky factor`);
    }
    inv[ri + i] = 1 / lii;
    // Row i of L⁻¹: (L⁻¹)_ij = −(Σ_{j≤k<i} L_ik (L⁻¹)_kj) / L_ii for j < i.
    for (let k = 0; k < i; k++) {
      const lik = l[ri + k];
      if (lik === 0) continue;
      const rk = k * n;
      for (let j = 0; j <= k; j++) inv[ri + j] -= lik * inv[rk + j];
    }
    for (let j = 0; j < i; j++) inv[ri + j] /= lii;
  }
  return inv;
}

/** A⁻¹ = L⁻ᵀ·L⁻¹ from the Cholesky factor L of A (like torch.cholesky_inverse). */
export function choleskyInverse(l: Float64Array, n: number): Float64Array {
  checkSquare(l, n, 'choleskyInverse');
  const li = lowerInverse(l, n);
  const out = new Float64Array(n * n);
  // (A⁻¹)_ij = Σ_k (L⁻¹)_ki (L⁻¹)_kj over k ≥ max(i, j); accumulate row by row of L⁻¹ (lower triangle only).
  for (let k = 0; k < n; k++) {
    const rk = k * n;
    for (let i = 0; i <= k; i++) {
      const v = li[rk + i];
      if (v === 0) continue;
      const ri = i * n;
      for (let j = 0; j <= i; j++) out[ri + j] += v * li[rk + j];
    }
  }
  // Mirror the lower triangle so the result is exactly symmetric.
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) out[j * n + i] = out[i * n + j];
  return out;
}

/**
 * U upper triangular with Uᵀ·U = H⁻¹ — what SparseGPT uses. Same route as the reference
 * (Cholesky of H, invert, Cholesky again, transpose) so that rounding behaves alike.
 * Note Uᵀ·U, not U·Uᵀ: U's rows are the conditional OBS updates, U_ii² the conditional variances.
 */
export function upperCholeskyOfInverse(h: Float64Array, n: number): Float64Array {
  checkSquare(h, n, 'upperCholeskyOfInverse');
  const hinv = choleskyInverse(cholesky(h, n), n);
  const l = cholesky(hinv, n);
  const u = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) u[j * n + i] = l[i * n + j];
  return u;
}
