// LabRunner.groupView: one group up close reads that group's weights and logits from the engine —
// the same numbers as the whole layer's weights at the group's elements and the learner's logits
// row — and the schedule's κ and τ at the current step. Bad site or group numbers get a message.
import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import { DEFAULT_CONFIG, toHyper, type ExperimentConfig } from '../../src/lab/config';
import { fixedEngine, LabRunner } from '../../src/lab/runner';
import { elementIndex, groupLayout } from '../../src/sparsity/layout';
import { scheduleAt } from '../../src/sparsity/schedule';
import { microAssets } from '../helpers/micro-assets';
import { randint, testSeed } from '../helpers/random';

const seed = testSeed();
const base: ExperimentConfig = { ...DEFAULT_CONFIG, model: 'micro-gpt', batch: 2, steps: 3, evalEvery: 3, calibBatches: 1, evalWindows: 2, seed };

describe('groupView', () => {
  it('MaskLLM: the group’s weights and logits as the engine holds them, κ and τ of the step', async () => {
    const e = new CpuEngine();
    const r = new LabRunner({ engine: fixedEngine(e), assets: microAssets(), store: null });
    await r.load(base);
    await r.step();
    const s = r.session!;
    const model = s.model!;
    const learner = s.learner!;
    const pick = randint(2, seed, 1 << 30);
    const site = pick[0] % model.maskSites.length;
    const ms = model.maskSites[site];
    const g = groupLayout(ms.shape, ms.layout, 4);
    const group = pick[1] % g.groups;
    const v = await r.groupView(site, group);
    const w = await e.read(model.weights.get(ms.name)!.raw);
    const logits = await e.read(learner.sites[site].logits);
    expect(v.site).toBe(ms.name);
    expect(v.weights).toEqual([0, 1, 2, 3].map((k) => w[elementIndex(g, group, k)]));
    expect(v.logits).toEqual(Array.from(logits.subarray(group * 6, group * 6 + 6)));
    expect(v.step).toBe(1);
    const h = scheduleAt(toHyper(base), 1);
    expect([v.kappa, v.tau]).toEqual([h.kappa, h.tau]);
    // row and col: the group's first element is weight [col, row] (Conv1D [in, out])
    expect(w[elementIndex(g, group, 0)]).toBe(w[v.col * g.rows + v.row]);
    await expect(r.groupView(model.maskSites.length, 0)).rejects.toThrow(/no masked layer/);
    await expect(r.groupView(site, g.groups)).rejects.toThrow(new RegExp(`not one of ${ms.name.replace(/\./g, '\\.')}'s ${g.groups} groups`));
    await expect(r.groupView(site, 0.5)).rejects.toThrow(/not one of/);
  });

  it('a one-shot run: the weights, no logits', async () => {
    const r = new LabRunner({ engine: fixedEngine(new CpuEngine()), assets: microAssets(), store: null });
    await r.load({ ...base, method: 'magnitude' });
    const v = await r.groupView(0, 0);
    expect(v.logits).toBeNull();
    expect(v.weights).toHaveLength(4);
    expect(v.weights.every(Number.isFinite)).toBe(true);
  });
});
