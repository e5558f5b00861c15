// One group of m weights, up close: what the sampler does to its C(m, n) candidates at a given κ and
// τ. The page's group view draws it and its sliders recompute it on the main thread; the math is
// the learner's own CPU twin (softMaskFromNoise, gumbelNoiseCpu in gumbel.ts) applied to a layout of
// one group, so what the view shows is exactly what a learning step would draw from that noise.
import { gumbelNoiseCpu, softMaskFromNoise } from './gumbel';
import { groupLayout } from './layout';
import type { Pattern } from './patterns';

/** A group's data as the session reads it (LabSession.groupView). */
export interface GroupData {
  /** the masked Linear's weight name */
  site: string;
  group: number;
  /** output row and first input column of the group (the grouped dimension is the input) */
  row: number;
  col: number;
  /** the m frozen weight values, in group order (input col … col + m − 1) */
  weights: number[];
  /** the C learnable logits π, in the pattern's candidate order; null without a MaskLLM learner */
  logits: number[] | null;
  /** the schedule's κ and τ at `step` */
  kappa: number;
  tau: number;
  step: number;
}

export interface GroupSample {
  /** softmax(κπ): the noise-free probability of each candidate */
  probs: number[];
  /** the Gumbel noise g_c = −log(−log u_c) of this draw */
  noise: number[];
  /** the soft sample y = softmax((κπ + g)/τ) */
  y: number[];
  /** the soft mask per weight, Σ_c y_c S_c */
  mask: number[];
  /** argmax of y: the candidate a hard sample keeps */
  hard: number;
  /** argmax of π: the candidate the mask keeps when learning ends (the exported choice) */
  choice: number;
}

/** The view's own noise stream (not the learner's): draw k of C candidates. Same bits every time. */
export function groupNoise(p: Pattern, draw: number): number[] {
  const C = p.candidates.length;
  return Array.from(gumbelNoiseCpu({ seed: 0x9e3779b9, stream: 7, offset: draw * Math.ceil(C / 2) }, C));
}

const argmax = (v: ArrayLike<number>) => {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
};

/** Samples one group at κ, τ from fixed noise (f64), with the learner's formulas. */
export function sampleGroup(logits: readonly number[], p: Pattern, kappa: number, tau: number, noise: readonly number[]): GroupSample {
  const C = p.candidates.length;
  if (logits.length !== C || noise.length !== C)
    throw new RangeError(`sampleGroup: ${C} candidates, got ${logits.length} logits and ${noise.length} noise values`);
  if (!(tau > 0) || !Number.isFinite(tau) || !Number.isFinite(kappa))
    throw new RangeError(`sampleGroup: need a finite κ and τ > 0 (got κ = ${kappa}, τ = ${tau})`);
  const one = groupLayout([1, p.m], 'out_in', p.m);
  // softmax(κπ) is the sample with no noise at τ = 1
  const probs = softMaskFromNoise(logits, new Float64Array(C), one, p, kappa, 1).y;
  const { y, mask } = softMaskFromNoise(logits, noise, one, p, kappa, tau);
  return { probs: Array.from(probs), noise: [...noise], y: Array.from(y), mask: Array.from(mask), hard: argmax(y), choice: argmax(logits) };
}
