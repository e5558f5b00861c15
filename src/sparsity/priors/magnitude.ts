// Magnitude pruning (one-shot N:M baseline): in every group of m consecutive input weights of one
// output row keep the n largest |w|. Also home of the small helpers the other one-shot methods share:
// shape checks, (row, col) → flat index for both Hugging Face layouts, and top-n-per-group selection.

import { elementIndex, groupLayout, type GroupLayout, type WeightLayout } from '../layout';

/**
 * Validates a weight and its N:M pattern and returns its group layout (an [out, in] view whatever
 * the storage layout); `what` names the caller in error messages.
 */
export function weightDims(what: string, length: number, shape: readonly number[], layout: WeightLayout, n: number, m: number): GroupLayout {
  let g: GroupLayout;
  try {
    g = groupLayout(shape, layout, m);
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`, { cause: e });
  }
  if (g.rows * g.cols !== length) {
    throw new Error(`${what}: weight has ${length} elements but shape [${shape.join(', ')}] needs ${g.rows * g.cols}`);
  }
  if (!Number.isInteger(n) || n < 1 || n > m) throw new Error(`${what}: n must be an integer in [1, m=${m}], got ${n}`);
  return g;
}

/** Flat index of (output row r, input column c) in the weight's own layout (layout.ts decides). */
export function at(g: GroupLayout, r: number, c: number): number {
  return elementIndex(g, r * (g.cols / g.m) + Math.floor(c / g.m), c % g.m);
}

/**
 * N:M mask from scores given in [out, in] order: per group keep the n largest scores,
 * ties going to the lower input index. The mask is returned in the weight's layout.
 */
export function maskFromScores(what: string, scores: Float64Array, d: GroupLayout, n: number, m: number): Uint8Array {
  const mask = new Uint8Array(d.rows * d.cols);
  const taken = new Uint8Array(m);
  for (let r = 0; r < d.rows; r++) {
    for (let c0 = 0; c0 < d.cols; c0 += m) {
      const base = r * d.cols + c0;
      for (let k = 0; k < m; k++) {
        // NaN would compare false everywhere and silently lose a kept weight.
        if (Number.isNaN(scores[base + k])) throw new Error(`${what}: score is NaN at row ${r}, input ${c0 + k}`);
        taken[k] = 0;
      }
      // m is small (4 or 8): n passes of "largest not yet taken", strict > keeps the lower index on ties.
      for (let t = 0; t < n; t++) {
        let best = -1;
        for (let k = 0; k < m; k++) {
          if (taken[k]) continue;
          if (best < 0 || scores[base + k] > scores[base + best]) best = k;
        }
        taken[best] = 1;
        mask[at(d, r, c0 + best)] = 1;
      }
    }
  }
  return mask;
}

/** Copies a weight into an f64 [out, in] matrix. */
export function toOutIn(w: Float32Array, d: GroupLayout): Float64Array {
  const out = new Float64Array(d.rows * d.cols);
  for (let r = 0; r < d.rows; r++) for (let c = 0; c < d.cols; c++) out[r * d.cols + c] = w[at(d, r, c)];
  return out;
}

export function magnitudeMask(w: Float32Array, shape: readonly number[], layout: WeightLayout, n: number, m: number): Uint8Array {
  const d = weightDims('magnitudeMask', w.length, shape, layout, n, m);
  const scores = toOutIn(w, d).map(Math.abs);
  return maskFromScores('magnitudeMask (weight)', scores, d, n, m);
}
