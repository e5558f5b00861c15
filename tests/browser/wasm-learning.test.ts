// Issue 19's accuracy contract for a whole run: 50 mask-learning steps of the micro GPT on the
// WebAssembly engine (in Chromium, its thread pool when the page is isolated) and on the WebGPU
// engine, from the same weights, seed and batches, give the same metrics at every step within the
// tolerance tests/browser/learner.test.ts holds the GPU and CPU engines to (loss and mean max
// probability within 1e-4). The final logits differ by f32 rounding that Adam amplifies where a
// gradient is within a few ε of zero (tests/node/wasm-sampling.test.ts measured that); they are
// compared at 1e-4 relative, far below what a wrong kernel moves them (~1e-2).
import { describe, expect, it } from 'vitest';
import type { Engine } from '../../src/backend/engine';
import { WasmEngine } from '../../src/backend/wasm';
import { Gpt, gptInitialWeights } from '../../src/models/gpt';
import { MaskLearner, type StepMetrics } from '../../src/sparsity/learner';
import { PRESETS } from '../../src/sparsity/schedule';
import { expectClose } from '../helpers/close';
import { getEngine } from '../helpers/gpu';
import { testSeed } from '../helpers/random';
import { MICRO_GPT, microText } from '../helpers/tiny-models';

const STEPS = 50;

describe('a 50-step learning run: WebAssembly engine against WebGPU', async () => {
  const g = await getEngine();
  const seed = testSeed();
  async function run(e: Engine) {
    const model = new Gpt(e, MICRO_GPT, gptInitialWeights(MICRO_GPT, seed));
    // κ small enough that the soft masks stay soft over the run, so every logit keeps a real gradient
    const hyper = { ...PRESETS.tunedSmall, kappa: [5, 20] as [number, number], steps: STEPS, samplesPerStep: 1 };
    // metrics read back every 10 steps (50 rows in all), as a run does
    const learner = new MaskLearner(model, { n: 2, m: 4, hyper, seed }, 10);
    const metrics: StepMetrics[] = [];
    for (let s = 0; s < STEPS; s++) metrics.push(...((await learner.learnStep([microText(seed + s)])) ?? []));
    const state = await learner.state();
    learner.dispose();
    model.dispose();
    return { metrics, state };
  }

  it.runIf(g)(
    `every step's loss and mean max probability agree within 1e-4; the final logits within 1e-4 (seed ${seed})`,
    async () => {
      const w = await WasmEngine.create();
      try {
        const wasm = await run(w);
        const gpu = await run(g!);
        expect(wasm.metrics).toHaveLength(STEPS);
        gpu.metrics.forEach((m, i) => {
          expect(Math.abs(wasm.metrics[i].loss - m.loss), `loss at step ${i}`).toBeLessThan(1e-4);
          expect(Math.abs(wasm.metrics[i].meanMaxProb - m.meanMaxProb), `mean max probability at step ${i}`).toBeLessThan(1e-4);
        });
        gpu.state.forEach((s, i) => expectClose(wasm.state[i].logits, s.logits, 1e-4, `logits ${s.name} after ${STEPS} steps`));
        expect(g!.takeErrors()).toEqual([]);
      } finally {
        w.destroy();
      }
    },
    300_000,
  );
});
