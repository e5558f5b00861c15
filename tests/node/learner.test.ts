import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import { Gpt, gptInitialWeights } from '../../src/models/gpt';
import { MaskLearner } from '../../src/sparsity/learner';
import { magnitudeMask } from '../../src/sparsity/priors/magnitude';
import { PRESETS } from '../../src/sparsity/schedule';
import { MICRO_GPT, microText } from '../helpers/tiny-models';

describe('MaskLearner on the CPU engine', () => {
  it('learns: metrics are finite, the prior is respected at step 0, hard masks are exactly 2:4', async () => {
    const e = new CpuEngine();
    const model = new Gpt(e, MICRO_GPT, gptInitialWeights(MICRO_GPT, 3));
    const prior = new Map<string, Uint8Array>();
    for (const s of model.maskSites) prior.set(s.name, magnitudeMask(model.weights.get(s.name)!.raw.f32, s.shape, s.layout, 2, 4));
    const hyper = { ...PRESETS.tunedSmall, steps: 6 };
    const learner = new MaskLearner(model, { n: 2, m: 4, hyper, seed: 5, prior }, 3);
    // before any step most hard masks are the prior's: it gets +3σ, its 4 neighbours 0, all plus
    // N(0, σ²) noise, so a neighbour wins in roughly 1 group in 10
    const h0 = await learner.hardMasks();
    let same = 0,
      total = 0;
    for (const [n, m] of h0)
      m.forEach((v, i) => {
        same += v === prior.get(n)![i] ? 1 : 0;
        total++;
      });
    expect(same / total).toBeGreaterThan(0.85);
    const all = [];
    for (let s = 0; s < 6; s++) {
      const r = await learner.learnStep([microText(100 + s)]);
      if (r) all.push(...r);
    }
    expect(all.map((x) => x.step)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const m of all) {
      expect(Number.isFinite(m.loss)).toBe(true);
      expect(m.meanMaskL1).toBeGreaterThanOrEqual(0);
      expect(m.meanMaxProb).toBeGreaterThan(1 / 6);
      expect(m.meanMaxProb).toBeLessThanOrEqual(1);
      expect(m.sites).toHaveLength(model.maskSites.length);
    }
    expect(all[0].kappa).toBe(100);
    const hard = await learner.hardMasks();
    for (const [n, m] of hard) {
      const site = model.maskSites.find((s) => s.name === n)!;
      // in_out layout: groups of 4 run down the input dim (dim 0) of each output column
      const [rows, cols] = site.shape;
      for (let c = 0; c < cols; c++)
        for (let r = 0; r < rows; r += 4) {
          let kept = 0;
          for (let k = 0; k < 4; k++) kept += m[(r + k) * cols + c];
          expect(kept).toBe(2);
        }
    }
    const { override, flips } = await learner.hardOverride();
    expect(flips).toBeNull();
    expect(override.size).toBe(model.maskSites.length);
    const second = await learner.hardOverride();
    expect(second.flips).toBe(0);
    learner.dispose();
  });
});
