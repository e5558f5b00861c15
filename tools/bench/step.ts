// Bench section: one full mask-learning step (MaskLearner.learnStep, one Gumbel sample per step) of a
// bundled model at the learning batch: wall time, items/s, dispatches/submits/readbacks per step,
// pipelines compiled after warm-up, the time per kernel from one timestamp-query-profiled step, and
// the same step on the unfused reference path (sampling and W ⊙ m as two passes).
import type { GpuEngine } from '../../src/backend/gpu';
import { buildModel } from '../../src/models/checkpoint';
import { gptInitialWeights } from '../../src/models/gpt';
import type { ModelInput } from '../../src/models/model';
import { TINY_GPT, TINY_VIT } from '../../src/models/presets';
import { vitInitialWeights } from '../../src/models/vit';
import { MaskLearner } from '../../src/sparsity/learner';
import { PRESETS } from '../../src/sparsity/schedule';
import type { StepResult } from './results';
import { GPT_BATCH, VIT_BATCH } from './shapes';
import { median } from './timing';

/** Deterministic synthetic batches: timing does not depend on the data, only on the shapes. */
function input(which: 'tiny-gpt' | 'tiny-vit', step: number): ModelInput {
  let x = 0x9e3779b9 ^ (step + 1);
  const next = () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  if (which === 'tiny-gpt') {
    const n = GPT_BATCH * TINY_GPT.nPositions;
    const tok = Uint32Array.from({ length: n + 1 }, () => Math.floor(next() * TINY_GPT.vocabSize));
    return { kind: 'text', inputs: tok.slice(0, n), targets: tok.slice(1), batch: GPT_BATCH, context: TINY_GPT.nPositions };
  }
  const px = TINY_VIT.imageSize ** 2 * TINY_VIT.numChannels;
  return {
    kind: 'images',
    images: Float32Array.from({ length: VIT_BATCH * px }, () => 2 * next() - 1),
    labels: Uint32Array.from({ length: VIT_BATCH }, () => Math.floor(next() * TINY_VIT.numLabels)),
    batch: VIT_BATCH,
  };
}

export async function benchStep(e: GpuEngine, which: 'tiny-gpt' | 'tiny-vit', reps: number, log: (s: string) => void): Promise<StepResult> {
  const cfg = which === 'tiny-gpt' ? TINY_GPT : TINY_VIT;
  const model = buildModel(e, cfg, cfg.kind === 'gpt2' ? gptInitialWeights(cfg, 1) : vitInitialWeights(cfg, 1));
  const hyper = { ...PRESETS.tunedSmall, steps: 1000, samplesPerStep: 1 };
  // metrics are read back every 10 steps (as in the lab); warm-up + reps + the profiled step stay below
  const readEvery = 16;
  if (reps + 5 >= readEvery) throw new Error(`benchStep: at most ${readEvery - 4} timed steps (metrics readback every ${readEvery})`);
  const learner = new MaskLearner(model, { n: 2, m: 4, hyper, seed: 1 }, readEvery);
  let step = 0;
  const one = async () => {
    await learner.learnStep([input(which, step++)]);
    await e.sync();
  };
  // warm-up: four steps. The first has no previous mask to compare with and skips the mask-change
  // kernel (after two every pipeline exists); the buffer pool's stable placement settles within four,
  // after which every bind group comes from the cache (see gpu/bind-groups.ts).
  for (let i = 0; i < 4; i++) await one();
  const compiled0 = e.kernels.compiled;
  const groups0 = e.bindGroups.stats.created;
  const s0 = { ...e.stats };
  const stepMs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await one();
    stepMs.push(performance.now() - t0);
    log(`${which} step ${i + 1}/${reps}: ${stepMs[i].toFixed(0)} ms`);
  }
  const per = (k: 'dispatches' | 'submits' | 'readbacks') => (e.stats[k] - s0[k]) / reps;
  const perStep = { dispatches: per('dispatches'), submits: per('submits'), readbacks: per('readbacks') };
  const compiled = e.kernels.compiled - compiled0;
  const bindGroupsCreated = e.bindGroups.stats.created - groups0;
  let kernelMs: number | null = null, profiledWallMs: number | null = null;
  let kernels: StepResult['kernels'] = [];
  if (e.startProfiling()) {
    const t0 = performance.now();
    await learner.learnStep([input(which, step++)]);
    const rows = await e.stopProfiling();
    profiledWallMs = performance.now() - t0;
    kernelMs = rows.reduce((a, r) => a + r.ms, 0);
    kernels = rows.map((r) => ({ kernel: r.kernel, ms: r.ms, calls: r.calls }));
  }
  learner.dispose();
  // The reference path on the same model, right after: sampling, then W ⊙ m as its own pass.
  const ref = new MaskLearner(model, { n: 2, m: 4, hyper, seed: 1, fusedSample: false }, readEvery);
  let refStep = 0;
  const refOne = async () => {
    await ref.learnStep([input(which, refStep++)]);
    await e.sync();
  };
  for (let i = 0; i < 4; i++) await refOne();
  const d0 = e.stats.dispatches;
  const unfusedMs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await refOne();
    unfusedMs.push(performance.now() - t0);
    log(`${which} unfused step ${i + 1}/${reps}: ${unfusedMs[i].toFixed(0)} ms`);
  }
  const unfused = { stepMs: unfusedMs, dispatches: (e.stats.dispatches - d0) / reps };
  ref.dispose();
  const items = which === 'tiny-gpt' ? GPT_BATCH * TINY_GPT.nPositions : VIT_BATCH;
  const maskedWeights = model.maskSites.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
  model.dispose();
  const med = median(stepMs);
  return {
    model: which,
    batch: which === 'tiny-gpt' ? `${GPT_BATCH}×${TINY_GPT.nPositions} tokens` : `${VIT_BATCH} images`,
    items,
    itemName: which === 'tiny-gpt' ? 'tokens' : 'images',
    stepMs,
    itemsPerSecond: items / (med / 1000),
    perStep,
    pipelinesCompiledDuringTimedSteps: compiled,
    bindGroupsCreatedDuringTimedSteps: bindGroupsCreated,
    kernelMs,
    profiledWallMs,
    kernels,
    maskedWeights,
    unfused,
  };
}
