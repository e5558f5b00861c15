// SparseGPT (Frantar & Alistarh 2023) for N:M masks, f64 on the CPU, following the reference
// algorithm: damped Hessian, U = upper Cholesky factor of H⁻¹, columns in blocks, per m columns pick
// the n weights to keep per row by largest w²/U_ii², then OBS-compensate the later columns.
import { upperCholeskyOfInverse } from '../linalg';
import type { WeightLayout } from '../layout';
import { at, toOutIn, weightDims } from './magnitude';

export interface SparseGptOptions {
  n: number;
  m: number;
  blockSize?: number; // 128
  percDamp?: number; // 0.01
  update: boolean;
}

export interface SparseGptResult {
  mask: Uint8Array;
  /** Updated weights (pruned entries 0) if `update`, else a copy of the original weights. */
  weight: Float32Array;
  /** Σ over pruned weights of (w − q)²/U_ii² / 2 — the reference's `Losses` summed over rows. */
  error: number;
}

/** Damped copy of H with dead inputs (H_ii = 0) set to H_ii = 1, as in the reference; returns the dead flags too. */
function prepareHessian(h: Float64Array, cols: number, percDamp: number): { h: Float64Array; dead: Uint8Array } {
  const hd = Float64Array.from(h);
  const dead = new Uint8Array(cols);
  for (let i = 0; i < cols; i++) {
    const v = hd[i * cols + i];
    if (!Number.isFinite(v) || v < 0) throw new Error(`sparseGpt: Hessian diagonal ${i} is ${v}; expected finite ≥ 0`);
    if (v === 0) {
      dead[i] = 1;
      hd[i * cols + i] = 1;
    }
  }
  // Damping uses the mean of the diagonal *after* the dead fix-up (same order as the reference).
  let mean = 0;
  for (let i = 0; i < cols; i++) mean += hd[i * cols + i];
  mean /= cols;
  const damp = percDamp * mean;
  for (let i = 0; i < cols; i++) hd[i * cols + i] += damp;
  return { h: hd, dead };
}

export function sparseGpt(w: Float32Array, shape: readonly number[], layout: WeightLayout, h: Float64Array, opts: SparseGptOptions): SparseGptResult {
  const { n, m, update } = opts;
  const blockSize = opts.blockSize ?? 128;
  const percDamp = opts.percDamp ?? 0.01;
  const d = weightDims('sparseGpt', w.length, shape, layout, n, m);
  const { rows, cols } = d;
  if (h.length !== cols * cols) {
    throw new Error(`sparseGpt: Hessian has ${h.length} elements, expected in×in = ${cols}×${cols} = ${cols * cols}`);
  }
  // A group must not straddle two blocks: its scores are taken when its first column is reached.
  if (!Number.isInteger(blockSize) || blockSize < m || blockSize % m !== 0) {
    throw new Error(`sparseGpt: blockSize ${blockSize} must be a positive multiple of m=${m}`);
  }
  if (!(percDamp >= 0 && Number.isFinite(percDamp))) throw new Error(`sparseGpt: percDamp must be finite ≥ 0, got ${percDamp}`);
  for (let i = 0; i < w.length; i++) {
    if (!Number.isFinite(w[i])) throw new Error(`sparseGpt: weight element ${i} is ${w[i]}`);
  }

  const prep = prepareHessian(h, cols, percDamp);
  let u: Float64Array;
  try {
    u = upperCholeskyOfInverse(prep.h, cols);
  } catch (e) {
    throw new Error(`sparseGpt: damped Hessian is not positive definite (raise percDamp?): ${(e as Error).message}`, { cause: e });
  }

  // Work on an [out, in] f64 view; dead inputs never see any activation, so their weights are zeroed.
  const W = toOutIn(w, d);
  for (let c = 0; c < cols; c++) if (prep.dead[c]) for (let r = 0; r < rows; r++) W[r * cols + c] = 0;

  const keep = new Uint8Array(rows * cols); // [out, in]
  const scores = new Float64Array(m);
  let loss = 0;
  const err = new Float64Array(rows * blockSize); // Err1: [rows, block] scaled errors for the lazy update

  for (let b0 = 0; b0 < cols; b0 += blockSize) {
    const b1 = Math.min(b0 + blockSize, cols);
    for (let i = b0; i < b1; i++) {
      const dii = u[i * cols + i];
      if (i % m === 0) chooseGroup(W, u, keep, scores, rows, cols, i, n, m);
      for (let r = 0; r < rows; r++) {
        const wi = W[r * cols + i];
        const q = keep[r * cols + i] ? wi : 0;
        const e = (wi - q) / dii;
        loss += (e * e) / 2;
        err[r * blockSize + (i - b0)] = e;
        if (!update || e === 0) continue;
        // Within the block: W[r, i:b1] −= e·U[i, i:b1] (column i itself is then replaced by q).
        const ui = i * cols;
        const wr = r * cols;
        for (let j = i + 1; j < b1; j++) W[wr + j] -= e * u[ui + j];
        W[wr + i] = q;
      }
    }
    // Lazy update of all later columns with the block's errors: W[:, b1:] −= Err1 · U[b0:b1, b1:].
    if (update && b1 < cols) {
      for (let r = 0; r < rows; r++) {
        const wr = r * cols;
        for (let i = b0; i < b1; i++) {
          const e = err[r * blockSize + (i - b0)];
          if (e === 0) continue;
          const ui = i * cols;
          for (let j = b1; j < cols; j++) W[wr + j] -= e * u[ui + j];
        }
      }
    }
  }

  const mask = new Uint8Array(w.length);
  const weight = update ? new Float32Array(w.length) : Float32Array.from(w);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const k = at(d, r, c);
      mask[k] = keep[r * cols + c];
      if (update) weight[k] = keep[r * cols + c] ? W[r * cols + c] : 0;
    }
  }
  return { mask, weight, error: loss };
}

/**
 * Marks in `keep` the n columns of group [i, i+m) to keep in every row, by the largest w²/U_cc².
 * With the update on, W already holds the compensated weights; with it off, the original ones.
 * Ties go to the lower column.
 */
function chooseGroup(
  W: Float64Array,
  u: Float64Array,
  keep: Uint8Array,
  scores: Float64Array,
  rows: number,
  cols: number,
  i: number,
  n: number,
  m: number,
): void {
  for (let r = 0; r < rows; r++) {
    const base = r * cols + i;
    for (let k = 0; k < m; k++) {
      const ucc = u[(i + k) * cols + i + k];
      scores[k] = (W[base + k] * W[base + k]) / (ucc * ucc);
    }
    for (let t = 0; t < n; t++) {
      let best = -1;
      for (let k = 0; k < m; k++) {
        if (keep[base + k]) continue;
        if (best < 0 || scores[k] > scores[best]) best = k;
      }
      keep[base + best] = 1;
    }
  }
}
