// The memory plan (src/lab/memory-plan.ts) against what the GPU pool really allocates for the bundled
// tiny GPT at batch 8 × 128: the pool's peak of allocated bytes (every buffer created and not
// destroyed: live, released-but-not-yet-reusable and pooled) during two learning steps, then over a
// whole cycle (those steps, one-shot calibration, a hard-mask evaluation of two batches of 32
// windows). The plan must be an upper bound, and a tight one (within 3×). About 2 minutes on the
// CPU (SwiftShader) adapter.
import { describe, expect, it } from 'vitest';
import { Tape } from '../../src/autograd/tape';
import type { GpuEngine } from '../../src/backend/gpu';
import { EVAL_BATCH } from '../../src/data/batches';
import { evaluateText } from '../../src/lab/evaluate';
import { formatBytes, memoryPlan } from '../../src/lab/memory-plan';
import { Gpt, gptInitialWeights } from '../../src/models/gpt';
import type { TextInput } from '../../src/models/model';
import { TINY_GPT } from '../../src/models/presets';
import { MaskLearner } from '../../src/sparsity/learner';
import { disposeOverride, oneShot } from '../../src/sparsity/oneshot';
import { PRESETS } from '../../src/sparsity/schedule';
import { DEFAULT_CONFIG, type ExperimentConfig } from '../../src/lab/config';
import { fixedEngine, LabRunner } from '../../src/lab/runner';
import { getEngine } from '../helpers/gpu';
import { microAssets } from '../helpers/micro-assets';
import { microText } from '../helpers/tiny-models';

const B = 8;
const T = TINY_GPT.nPositions;
const V = TINY_GPT.vocabSize;
const text = (k: number, batch = B) => microText(100 + 2 * k, batch, T, V) as TextInput;

/** Make every released buffer reusable (a submit), destroy the pooled ones and restart the peaks. */
function drain(e: GpuEngine): void {
  e.zeros([1]).dispose(); // records a clear, so the flush below submits
  e.flush();
  e.pool.trim();
  e.pool.resetPeaks();
}

const g = await getEngine();

describe('memory plan vs the GPU pool (tiny-gpt, batch 8 × 128)', () => {
  it.runIf(g)(
    'the plan bounds the peak allocated bytes of two learning steps and of a whole cycle, within 3×',
    async () => {
      const e = g!;
      await e.sync();
      drain(e);
      const before = e.pool.allocatedByteCount; // other tests' live buffers, if any
      const plan = memoryPlan(TINY_GPT, { batch: B, context: T, n: 2, m: 4, method: 'maskllm', samplesPerStep: 1 });
      const model = new Gpt(e, TINY_GPT, gptInitialWeights(TINY_GPT, 1));
      const learner = new MaskLearner(model, { n: 2, m: 4, hyper: PRESETS.tunedSmall, seed: 1 }, 10);
      try {
        for (let s = 0; s < 2; s++) await learner.learnStep([text(s)]);
        await e.sync();
        const learnPeak = e.pool.peakAllocatedByteCount - before;
        const learnPlan = plan.residentBytes + plan.phaseBytes.learn;
        console.log(
          `tiny-gpt batch ${B}: two learning steps peak ${learnPeak} B allocated (${formatBytes(learnPeak)}), ` +
            `${e.pool.peakLiveByteCount - before} B live; plan resident + learn ${learnPlan} B (${formatBytes(learnPlan)}), ratio ${(learnPlan / learnPeak).toFixed(3)}`,
        );
        expect(learnPlan).toBeGreaterThanOrEqual(learnPeak);
        expect(learnPlan).toBeLessThanOrEqual(3 * learnPeak);

        // the rest of a run: one-shot calibration (two batches, every block), then a hard-mask
        // evaluation of two batches (the second batch cannot reuse the first one's buffers)
        await oneShot(model, 'sparsegpt', { n: 2, m: 4, update: true, calibration: [text(10), text(11)] });
        const { override } = await learner.hardOverride();
        const windows = [0, 1].map((j) => {
          const x = text(20 + j, EVAL_BATCH);
          return { inputs: x.inputs, targets: x.targets, batch: x.batch, context: x.context };
        });
        await evaluateText(model, windows, override);
        disposeOverride(override);
        await e.sync();
        const cyclePeak = e.pool.peakAllocatedByteCount - before;
        console.log(
          `tiny-gpt batch ${B}: whole cycle peak ${cyclePeak} B allocated (${formatBytes(cyclePeak)}); ` +
            `plan GPU total ${plan.gpuBytes} B (${formatBytes(plan.gpuBytes)}), ratio ${(plan.gpuBytes / cyclePeak).toFixed(3)}`,
        );
        expect(plan.gpuBytes).toBeGreaterThanOrEqual(cyclePeak);
        expect(plan.gpuBytes).toBeLessThanOrEqual(3 * cyclePeak);
        expect(e.takeErrors()).toEqual([]);
      } finally {
        learner.dispose();
        model.dispose();
      }
    },
    600_000,
  );

  it.runIf(g)(
    'a whole run through the runner (prior, deferred baselines between steps, evaluations, final table) stays within the plan',
    async () => {
      const e = g!;
      await e.sync();
      const r = new LabRunner({ engine: fixedEngine(e), assets: microAssets() });
      const config: ExperimentConfig = {
        ...DEFAULT_CONFIG,
        model: 'micro-gpt',
        batch: 2,
        steps: 4,
        evalEvery: 2,
        calibBatches: 2,
        evalWindows: 4,
        prior: 'sparsegpt',
      };
      await r.load(config);
      await r.runToEnd();
      expect(r.state).toBe('done');
      const mem = r.session!.gpuMemory()!;
      console.log(`micro-gpt run: pool peak ${formatBytes(mem.peakBytes)}, plan ${formatBytes(mem.plannedBytes)}`);
      // the load trims the pool and restarts the peak: this is the run's own
      expect(mem.plannedBytes).toBeGreaterThanOrEqual(mem.peakBytes);
      expect(mem.plannedBytes).toBeLessThanOrEqual(3 * mem.peakBytes);
      r.session!.dispose();
      expect(e.takeErrors()).toEqual([]);
    },
    600_000,
  );

  it.runIf(g)(
    'an evaluation holds one stage of one batch: three batches of 32 windows peak as one, within the plan; the loss as on a gradient tape',
    async () => {
      const e = g!;
      const model = new Gpt(e, TINY_GPT, gptInitialWeights(TINY_GPT, 2));
      try {
        const plan = memoryPlan(TINY_GPT, { batch: B, context: T, method: 'magnitude' });
        const batches = [0, 1, 2].map((j) => {
          const x = text(30 + j, EVAL_BATCH);
          return { inputs: x.inputs, targets: x.targets, batch: x.batch, context: x.context };
        });
        await e.sync();
        drain(e);
        const before = e.pool.allocatedByteCount;
        const one = await evaluateText(model, batches.slice(0, 1));
        const peakOne = e.pool.peakAllocatedByteCount - before;
        const three = await evaluateText(model, batches);
        const peakThree = e.pool.peakAllocatedByteCount - before;
        const evalPart = plan.parts.find((p) => p.key === 'evalForward')!;
        console.log(
          `tiny-gpt evaluation of 32 windows × ${T}: peak ${formatBytes(peakOne)} for one batch, ${formatBytes(peakThree)} for three; ` +
            `plan ${formatBytes(evalPart.allocatedBytes)} (largest stage ${formatBytes(evalPart.bytes)})`,
        );
        expect(peakThree).toBe(peakOne);
        expect(evalPart.allocatedBytes).toBeGreaterThanOrEqual(peakOne);
        expect(evalPart.allocatedBytes).toBeLessThanOrEqual(1.5 * peakOne);
        // the same loss as the first batch's forward on a gradient tape (same kernels, same order)
        const tape = new Tape(e);
        const { loss } = model.forward(tape, { kind: 'text', ...batches[0] });
        const withGrad = (await e.read(loss.raw))[0];
        tape.dispose();
        expect(one.loss).toBe(withGrad);
        expect(Number.isFinite(three.loss)).toBe(true);
        expect(e.takeErrors()).toEqual([]);
      } finally {
        model.dispose();
      }
    },
    300_000,
  );
});
