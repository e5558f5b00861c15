import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import type { Engine } from '../../src/backend/engine';
import { Gpt, gptInitialWeights } from '../../src/models/gpt';
import { MaskLearner } from '../../src/sparsity/learner';
import { PRESETS } from '../../src/sparsity/schedule';
import { expectClose } from '../helpers/close';
import { getEngine } from '../helpers/gpu';
import { testSeed } from '../helpers/random';
import { MICRO_GPT, microText } from '../helpers/tiny-models';

describe('MaskLearner: GPU steps match the CPU engine', async () => {
  const g = await getEngine();
  const seed = testSeed();
  async function run(e: Engine, fusedSample = true) {
    const model = new Gpt(e, MICRO_GPT, gptInitialWeights(MICRO_GPT, seed));
    // κ small enough that the soft masks stay soft, so every logit gets a real gradient
    const hyper = { ...PRESETS.tunedSmall, kappa: [5, 10] as [number, number], steps: 3, samplesPerStep: 2 };
    const learner = new MaskLearner(model, { n: 2, m: 4, hyper, seed, fusedSample }, 3);
    let metrics = null;
    for (let s = 0; s < 3; s++) metrics = await learner.learnStep([microText(seed + s), microText(seed + 10 + s)]);
    const state = await learner.state();
    learner.dispose();
    model.dispose();
    return { metrics: metrics!, state };
  }
  it.runIf(g)('3 steps × 2 samples: logits, Adam moments and metrics agree', async () => {
    const live = g!.liveTensors;
    const gpu = await run(g!);
    expect(g!.liveTensors, 'no GPU tensor leaked').toBe(live);
    const cpu = await run(new CpuEngine());
    cpu.state.forEach((s, i) => {
      expectClose(gpu.state[i].logits, s.logits, 1e-5, `logits ${s.name} seed ${seed}`);
      expectClose(gpu.state[i].m, s.m, 1e-3, `adam m ${s.name}`);
    });
    cpu.metrics.forEach((m, i) => {
      expect(Math.abs(gpu.metrics[i].loss - m.loss)).toBeLessThan(1e-4);
      expect(Math.abs(gpu.metrics[i].meanMaxProb - m.meanMaxProb)).toBeLessThan(1e-4);
    });
    expect(g!.takeErrors()).toEqual([]);
  });
  it.runIf(g)('the fused sampling pass and the unfused reference path give bit-identical steps on the GPU', async () => {
    const fused = await run(g!, true);
    const unfused = await run(g!, false);
    unfused.state.forEach((s, i) => {
      expect(Array.from(fused.state[i].logits), `logits ${s.name} seed ${seed}`).toEqual(Array.from(s.logits));
    });
    expect(fused.metrics.map((m) => m.loss)).toEqual(unfused.metrics.map((m) => m.loss));
    expect(g!.takeErrors()).toEqual([]);
  });
});
