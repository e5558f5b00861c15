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
export function input(which: 'tiny-gpt' | 'tiny-vit', step: number): ModelInput {
  let x = 0x9e3779b9 ^ (step + 1);
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
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
  // metrics are read back every `readEvery` steps (the lab: 10); every step measured here comes before that readback
  const readEvery = 32;
  // fused steps: 4 warm-up + reps timed + 4 settling + 2 counted + 1 profiled, all before the readback
  if (4 + reps + 4 + 2 + 1 >= readEvery) throw new Error(`benchStep: at most ${readEvery - 12} timed steps (metrics readback every ${readEvery})`);
  const learner = new MaskLearner(model, { n: 2, m: 4, hyper, seed: 1 }, readEvery);
  // The reference path on the same model: sampling, then W ⊙ m as its own pass. Its steps alternate
  // with the fused ones, so both see the same machine load.
  const ref = new MaskLearner(model, { n: 2, m: 4, hyper, seed: 1, fusedSample: false }, readEvery);
  let step = 0;
  let refStep = 0;
  const one = async () => {
    await learner.learnStep([input(which, step++)]);
    await e.sync();
  };
  const refOne = async () => {
    await ref.learnStep([input(which, refStep++)]);
    await e.sync();
  };
  // warm-up: four steps each. The first has no previous mask to compare with and skips the
  // mask-change kernel (after two every pipeline exists); the buffer pool's stable placement settles
  // within four, after which every bind group comes from the cache (see gpu/bind-groups.ts).
  for (let i = 0; i < 4; i++) {
    await one();
    await refOne();
  }
  const stepMs: number[] = [];
  const unfusedMs: number[] = [];
  let unfusedDispatches = 0;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await one();
    stepMs.push(performance.now() - t0);
    const d0 = e.stats.dispatches;
    const t1 = performance.now();
    await refOne();
    unfusedMs.push(performance.now() - t1);
    unfusedDispatches += e.stats.dispatches - d0;
    log(`${which} step ${i + 1}/${reps}: fused ${stepMs[i].toFixed(0)} ms, unfused ${unfusedMs[i].toFixed(0)} ms`);
  }
  const unfused = { stepMs: unfusedMs, dispatches: unfusedDispatches / reps };
  ref.dispose();
  // Counted on the fused path alone, as the lab runs it: alternating two learners gives the buffer
  // pool two different request sequences, so its stable placement (and the bind-group cache) would
  // see new buffers every step. Four steps to settle (the pool remembers three placements), then two counted.
  for (let i = 0; i < 4; i++) await one();
  const c0 = e.kernels.compiled,
    g0 = e.bindGroups.stats.created,
    s0 = { ...e.stats };
  await one();
  await one();
  const per = (k: 'dispatches' | 'submits' | 'readbacks') => (e.stats[k] - s0[k]) / 2;
  const perStep = { dispatches: per('dispatches'), submits: per('submits'), readbacks: per('readbacks') };
  const compiled = e.kernels.compiled - c0;
  const bindGroupsCreated = e.bindGroups.stats.created - g0;
  let kernelMs: number | null = null,
    profiledWallMs: number | null = null;
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
