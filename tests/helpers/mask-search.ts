// A 2:4 mask that changes the loss, by construction (tests that compare a masked model with an
// independent implementation need the mask to matter): the magnitude mask first, then
// keep-the-smallest, then masks of random scores, until one changes the loss by more than
// MIN_MASK_EFFECT (relative) under `lossOf`.
import type { Tensor } from '../../src/autograd/tensor';
import type { LabModel } from '../../src/models/model';
import { disposeOverride, prunedOverride } from '../../src/sparsity/oneshot';
import { magnitudeMask } from '../../src/sparsity/priors/magnitude';
import { randn } from './random';

export const MIN_MASK_EFFECT = 1e-3;

export const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);

export async function effectiveMasks(
  model: LabModel,
  weights: ReadonlyMap<string, Float32Array>,
  seed: number,
  lossOf: (override?: Map<string, Tensor>) => Promise<number>,
) {
  const siteWeights = new Map(model.maskSites.map((s) => [s.name, weights.get(s.name)!]));
  const scorings: ((w: Float32Array, k: number) => Float32Array)[] = [
    (w) => w,
    (w) => w.map((x) => 1 / (Math.abs(x) + 1e-12)),
    ...Array.from({ length: 8 }, (_, r) => (w: Float32Array, k: number) => randn(w.length, seed + 7919 * (r + 1) + k)),
  ];
  const dense = await lossOf();
  for (const score of scorings) {
    const masks = new Map(model.maskSites.map((s, k) => [s.name, magnitudeMask(score(siteWeights.get(s.name)!, k), s.shape, s.layout, 2, 4)]));
    const override = prunedOverride(model, masks, siteWeights);
    const loss = await lossOf(override);
    disposeOverride(override);
    if (relErr(loss, dense) > MIN_MASK_EFFECT) return { masks, siteWeights };
  }
  throw new Error(`no 2:4 mask changes the loss by more than ${MIN_MASK_EFFECT} relative (seed ${seed})`);
}
