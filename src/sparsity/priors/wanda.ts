// Wanda (Sun et al. 2023) as an N:M one-shot baseline: score |W_ij|·‖X_j‖₂ where X_j is input
// channel j of this layer over the calibration tokens; keep the n largest per group. No weight update.
import type { WeightLayout } from '../layout';
import { maskFromScores, toOutIn, weightDims } from './magnitude';

export function wandaMask(w: Float32Array, shape: readonly number[], layout: WeightLayout, n: number, m: number, colNorms: Float64Array): Uint8Array {
  const d = weightDims('wandaMask', w.length, shape, layout, n, m);
  if (colNorms.length !== d.cols) {
    throw new Error(`wandaMask: colNorms has ${colNorms.length} entries but the weight has ${d.cols} input channels`);
  }
  for (let j = 0; j < d.cols; j++) {
    if (!(colNorms[j] >= 0 && Number.isFinite(colNorms[j]))) {
      throw new Error(`wandaMask: colNorms[${j}] = ${colNorms[j]} is not a finite non-negative norm`);
    }
  }
  const scores = toOutIn(w, d);
  for (let r = 0; r < d.rows; r++) {
    for (let j = 0; j < d.cols; j++) scores[r * d.cols + j] = Math.abs(scores[r * d.cols + j]) * colNorms[j];
  }
  return maskFromScores('wandaMask (|W|·‖X‖)', scores, d, n, m);
}
