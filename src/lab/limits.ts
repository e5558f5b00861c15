// Before a model is built on a GPU: does every buffer the lab will allocate for it fit the device's
// limits? A buffer over maxBufferSize makes createBuffer fail, and one over
// maxStorageBufferBindingSize fails at bind time, deep inside a training step; both are easier to
// act on up front, with the tensor named and a smaller batch or context suggested.
//
// And the total: WebGPU has no query for a device's memory, so checkMemoryPlan compares the memory
// plan (memory-plan.ts: weights, learning state, activations, evaluation) with a budget the caller
// passes (the config's memoryBudget; default DEFAULT_MEMORY_BUDGET_BYTES, a laptop GPU), after this per-buffer check.
//
// Trap: the engine binds whole pool buffers, and the pool rounds every request up to a bucket
// (src/gpu/buffers.ts bucketSize, up to +25%), so the size checked is the bucketed one: a tensor of
// 0.9 × the limit can still be refused.
import { bucketSize } from '../gpu/buffers';
import { lmHeadChunk } from '../ops/lm-head';
import { EVAL_BATCH } from '../data/batches';
import { gptInnerSize, type ModelConfig } from '../models/config';
import { parameterShapes } from '../models/checkpoint';
import { nmPattern } from '../sparsity/patterns';
import { gptMaskSites } from '../models/gpt';
import { vitMaskSites } from '../models/vit';
import { IMAGE_EVAL_BATCH } from './lab-data';
import { formatBytes, memoryPlan, planModelName, type MemoryPlan, type MemoryPlanOptions, type PlanPart } from './memory-plan';
import { DEFAULT_CONFIG } from './config';

export class LimitError extends Error {
  override name = 'LimitError';
  constructor(
    message: string,
    readonly tensor: string,
    readonly bytes: number,
    readonly limit: number,
    readonly limitName: 'maxBufferSize' | 'maxStorageBufferBindingSize',
  ) {
    super(message);
  }
}

export interface DeviceLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

/** Image batches the session evaluates with (lab-data.ts). */
export { IMAGE_EVAL_BATCH };

export interface PlannedBuffer {
  /** what the tensor is, with its shape, e.g. "logits [B·T = 64, vocab = 50257]" */
  name: string;
  /** bytes requested (f32/u32 elements × 4) */
  bytes: number;
  /** whether shrinking the batch or the context makes it smaller */
  scales: 'batch' | 'batch+context' | 'fixed';
  /** the batch this buffer was sized for (max of the training batch and the evaluation batch) */
  batch?: number;
}

export interface FitOptions {
  /** the N:M pattern of the mask logits (default 2:4) */
  n?: number;
  m?: number;
  /** windows (GPT) or images (ViT) per evaluation forward (default EVAL_BATCH / IMAGE_EVAL_BATCH) */
  evalBatch?: number;
}

const f32 = (...dims: number[]) => dims.reduce((a, b) => a * b, 4);

/**
 * The largest buffers the lab allocates for this model: weights, mask-learning state, and per-step
 * activations for `batch` (training) and the evaluation batch, whichever is larger.
 */
export function plannedBuffers(model: ModelConfig, batch: number, context?: number, opts: FitOptions = {}): PlannedBuffer[] {
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`checkModelFits: batch must be a positive integer, got ${batch}`);
  const out: PlannedBuffer[] = [];
  const shapes = parameterShapes(model);
  let biggest: [string, number[]] = shapes[0];
  for (const s of shapes) if (f32(...s[1]) > f32(...biggest[1])) biggest = s;
  out.push({ name: `weight ${biggest[0]} [${biggest[1].join(', ')}]`, bytes: f32(...biggest[1]), scales: 'fixed' });

  // Mask learning: logits, gradient and two Adam moments of [groups, candidates] per site; the
  // largest site is the widest 2-D weight.
  const p = nmPattern(opts.n ?? 2, opts.m ?? 4);
  const sites = model.kind === 'gpt2' ? gptMaskSites(model) : vitMaskSites(model);
  if (sites.length) {
    let site = sites[0];
    for (const s of sites) if (f32(...s.shape) > f32(...site.shape)) site = s;
    const groups = Math.ceil((site.shape[0] * site.shape[1]) / p.m);
    out.push({
      name: `mask logits of ${site.name} [groups = ${groups}, candidates = ${p.candidates.length}]`,
      bytes: f32(groups, p.candidates.length),
      scales: 'fixed',
    });
  }

  if (model.kind === 'gpt2') {
    const T = context ?? model.nPositions;
    if (!Number.isInteger(T) || T < 1 || T > model.nPositions)
      throw new RangeError(`checkModelFits: context must be an integer in 1..${model.nPositions} (n_positions), got ${context}`);
    const B = Math.max(batch, opts.evalBatch ?? EVAL_BATCH);
    const C = model.nEmbd;
    out.push(
      // the LM head's logits exist one vocabulary chunk at a time (ops/lm-head.ts), never [B·T, vocab]
      {
        name: `logits chunk [B·T = ${B}·${T}, ${lmHeadChunk(B * T, model.vocabSize)} of ${model.vocabSize} tokens]`,
        bytes: f32(B * T, lmHeadChunk(B * T, model.vocabSize)),
        scales: 'batch+context',
        batch: B,
      },
      {
        name: `attention probabilities [B = ${B}, heads = ${model.nHead}, T = ${T}, T = ${T}]`,
        bytes: f32(B, model.nHead, T, T),
        scales: 'batch+context',
        batch: B,
      },
      {
        name: `MLP activations [B·T = ${B}·${T}, n_inner = ${gptInnerSize(model)}]`,
        bytes: f32(B * T, gptInnerSize(model)),
        scales: 'batch+context',
        batch: B,
      },
      { name: `qkv [B·T = ${B}·${T}, 3C = ${3 * C}]`, bytes: f32(B * T, 3 * C), scales: 'batch+context', batch: B },
    );
  } else {
    const P = (model.imageSize / model.patchSize) ** 2;
    const T = P + 1;
    const B = Math.max(batch, opts.evalBatch ?? IMAGE_EVAL_BATCH);
    out.push(
      {
        name: `images [B = ${B}, ${model.numChannels}, ${model.imageSize}, ${model.imageSize}]`,
        bytes: f32(B, model.numChannels, model.imageSize, model.imageSize),
        scales: 'batch',
        batch: B,
      },
      {
        name: `patches [B·P = ${B}·${P}, ${model.numChannels}·${model.patchSize}² = ${model.numChannels * model.patchSize ** 2}]`,
        bytes: f32(B * P, model.numChannels * model.patchSize ** 2),
        scales: 'batch',
        batch: B,
      },
      {
        name: `attention probabilities [B = ${B}, heads = ${model.numHeads}, T = ${T}, T = ${T}]`,
        bytes: f32(B, model.numHeads, T, T),
        scales: 'batch',
        batch: B,
      },
      {
        name: `MLP activations [B·T = ${B}·${T}, intermediate = ${model.intermediateSize}]`,
        bytes: f32(B * T, model.intermediateSize),
        scales: 'batch',
        batch: B,
      },
      { name: `logits [B = ${B}, labels = ${model.numLabels}]`, bytes: f32(B, model.numLabels), scales: 'batch', batch: B },
    );
  }
  return out;
}

const MiB = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

/**
 * Throws a LimitError naming the first planned buffer that does not fit (its bytes, the limit and a
 * suggestion). Call it before building the model on a GPU engine.
 */
export function checkModelFits(limits: DeviceLimits, model: ModelConfig, batch: number, context?: number, opts: FitOptions = {}): void {
  for (const key of ['maxBufferSize', 'maxStorageBufferBindingSize'] as const) {
    const v = limits[key];
    if (typeof v !== 'number' || !(v > 0)) throw new RangeError(`checkModelFits: limits.${key} must be a positive number, got ${String(v)}`);
  }
  const bad = firstMisfit(limits, plannedBuffers(model, batch, context, opts));
  if (!bad) return;
  const { buffer: b, size, limit, limitName } = bad;
  const B = b.batch ?? batch;
  let hint: string;
  if (b.scales === 'fixed') hint = 'this does not depend on the batch: the model is too large for this GPU; use a smaller model';
  else if (B > batch)
    hint = `the evaluation batch of ${B} already exceeds it, so a smaller training batch does not help: use a smaller model${b.scales === 'batch+context' ? ' or a shorter context' : ''}`;
  else {
    // The largest batch for which *every* buffer fits (not just this one), found by bisection.
    const fits = (x: number) => !firstMisfit(limits, plannedBuffers(model, x, context, opts));
    let lo = 0;
    let hi = batch;
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (fits(mid)) lo = mid;
      else hi = mid;
    }
    hint = lo >= 1 ? `use a batch of at most ${lo}${b.scales === 'batch+context' ? ' at this context, or a shorter context' : ''}` : 'use a smaller model';
  }
  throw new LimitError(
    `The ${b.name} needs ${size} bytes (${MiB(size)}) but this GPU's ${limitName} is ${limit} bytes (${MiB(limit)}): ${hint}.`,
    b.name,
    size,
    limit,
    limitName,
  );
}

function firstMisfit(limits: DeviceLimits, buffers: PlannedBuffer[]) {
  for (const buffer of buffers) {
    const size = bucketSize(buffer.bytes);
    for (const limitName of ['maxBufferSize', 'maxStorageBufferBindingSize'] as const) {
      if (size > limits[limitName]) return { buffer, size, limit: limits[limitName], limitName };
    }
  }
  return null;
}

/** Default GPU memory budget: the config's default (a laptop GPU's 4 GiB). */
export const DEFAULT_MEMORY_BUDGET_BYTES = DEFAULT_CONFIG.memoryBudget * 2 ** 30;

/** How to raise the budget, ending every MemoryBudgetError (the config field and its CLI option). */
const RAISE_BUDGET = ' If this GPU has more memory, raise the budget: the "GPU memory (GiB)" setting, --memory-budget in the CLI.';

export class MemoryBudgetError extends Error {
  override name = 'MemoryBudgetError';
  constructor(
    message: string,
    /** the plan at the requested batch */
    readonly plan: MemoryPlan,
    readonly budgetBytes: number,
    /** label of the biggest GPU part (of the resident ones when they alone exceed the budget) */
    readonly part: string,
    /** the largest batch that fits the budget; 0 when none does */
    readonly largestBatch: number,
    /** 'fixed': weights and learning state alone exceed it; 'not-batch': batch 1 does not fit; 'batch': a smaller batch fits */
    readonly reason: 'fixed' | 'not-batch' | 'batch',
  ) {
    super(message);
  }
}

function checkBudget(budget: number): void {
  if (typeof budget !== 'number' || !(budget > 0) || !Number.isFinite(budget))
    throw new RangeError(`memory budget must be a positive number of bytes, got ${String(budget)}`);
}

/**
 * The largest batch in 0..maxBatch (default options.batch) whose plan fits `budgetBytes`, by
 * bisection: the plan at the answer fits (or the answer is 0) and at answer + 1 it does not (or the
 * answer is maxBatch).
 */
export function largestBatchWithin(model: ModelConfig, options: MemoryPlanOptions, budgetBytes: number, maxBatch = options.batch): number {
  checkBudget(budgetBytes);
  return largestFitting(maxBatch, 0, (b) => memoryPlan(model, { ...options, batch: b }).gpuBytes <= budgetBytes);
}

/** The largest v in floor..top with fits(v), by bisection (fits grows false with v); `floor` when none does. */
function largestFitting(top: number, floor: number, fits: (v: number) => boolean): number {
  if (fits(top)) return top;
  let lo = floor;
  let hi = top;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** The longest GPT context in 1..options.context (default n_positions) whose plan fits; 0 when none does. */
export function largestContextWithin(model: ModelConfig, options: MemoryPlanOptions, budgetBytes: number): number {
  checkBudget(budgetBytes);
  if (model.kind !== 'gpt2') return 0;
  const top = options.context ?? model.nPositions;
  return largestFitting(top, 0, (t) => memoryPlan(model, { ...options, context: t }).gpuBytes <= budgetBytes);
}

/**
 * The evaluation batch of a run: options.evalBatch (or the default), or the largest smaller one
 * whose plan fits `budgetBytes` (1 when none does; checkMemoryPlan then explains). The evaluation
 * batch does not change the results, only how many windows one forward takes.
 */
export function evalBatchWithin(model: ModelConfig, options: MemoryPlanOptions, budgetBytes: number, limits?: DeviceLimits): number {
  checkBudget(budgetBytes);
  const top = options.evalBatch ?? (model.kind === 'gpt2' ? EVAL_BATCH : IMAGE_EVAL_BATCH);
  // and, given the device's limits, every buffer within them (GPT-2 small's attention probabilities
  // at 32 windows × 1024 are 1.5 GiB, over a 1 GiB maxBufferSize)
  const withinLimits = (b: number) => {
    if (!limits) return true;
    try {
      checkModelFits(limits, model, options.batch, options.context, { n: options.n, m: options.m, evalBatch: b });
      return true;
    } catch (e) {
      if (e instanceof LimitError) return false;
      throw e;
    }
  };
  return largestFitting(top, 1, (b) => withinLimits(b) && memoryPlan(model, { ...options, evalBatch: b }).gpuBytes <= budgetBytes);
}

const biggest = (parts: PlanPart[]) => parts.reduce((a, p) => (p.allocatedBytes > a.allocatedBytes ? p : a));

/**
 * Before loading: every buffer within the device's per-buffer limits (checkModelFits: LimitError)
 * and the plan's GPU total within `memoryBudgetBytes` (MemoryBudgetError naming the biggest part and
 * the largest batch that fits). Returns the plan.
 */
export function checkMemoryPlan(
  limits: DeviceLimits,
  model: ModelConfig,
  options: MemoryPlanOptions,
  memoryBudgetBytes = DEFAULT_MEMORY_BUDGET_BYTES,
): MemoryPlan {
  checkBudget(memoryBudgetBytes);
  checkModelFits(limits, model, options.batch, options.context, { n: options.n, m: options.m, evalBatch: options.evalBatch });
  const plan = memoryPlan(model, options);
  if (plan.gpuBytes <= memoryBudgetBytes) return plan;
  const budget = `the GPU memory budget of ${formatBytes(memoryBudgetBytes)}`;
  const name = planModelName(plan);
  const gpuParts = plan.parts.filter((p) => p.where === 'gpu');
  const resident = gpuParts.filter((p) => p.phase === 'resident');
  if (plan.residentBytes > memoryBudgetBytes) {
    const top = biggest(resident);
    const list = resident.map((p) => `${p.label.split(':')[0]} ${formatBytes(p.allocatedBytes)}`).join(' + ');
    const other = plan.options.method === 'maskllm' ? ', a one-shot method (no learning state)' : '';
    throw new MemoryBudgetError(
      `${name} needs ${formatBytes(plan.residentBytes)} before any batch (${list}), more than ${budget}; a smaller batch does not help: ` +
        `use a smaller model${other}.${RAISE_BUDGET}`,
      plan,
      memoryBudgetBytes,
      top.label,
      0,
      'fixed',
    );
  }
  const lo = largestBatchWithin(model, options, memoryBudgetBytes);
  if (lo === 0) {
    const one = memoryPlan(model, { ...options, batch: 1 });
    const top = biggest(one.parts.filter((p) => p.where === 'gpu'));
    const s = top.scales;
    const advice = s.includes('evalBatch')
      ? `which does not depend on the training batch: evaluate fewer windows at once${s.includes('context') && plan.kind === 'gpt2' ? ' or use a shorter context' : ''}`
      : s.includes('context') && plan.kind === 'gpt2'
        ? 'so use a shorter context'
        : s.includes('samplesPerStep')
          ? 'so use fewer samples per step'
          : 'so use a smaller model';
    // a GPT's activations shrink with the context: say which context fits at batch 1, if one does
    const ctx = plan.kind === 'gpt2' ? largestContextWithin(model, { ...options, batch: 1 }, memoryBudgetBytes) : 0;
    const shorter = ctx > 0 ? ` At batch 1 a context of at most ${ctx} tokens fits.` : '';
    throw new MemoryBudgetError(
      `${name} needs ${formatBytes(one.gpuBytes)} even at batch 1, more than ${budget}; a smaller batch does not help. ` +
        `Its biggest part is the ${top.label} (${formatBytes(top.allocatedBytes)}), ${advice}.${shorter}${RAISE_BUDGET}`,
      plan,
      memoryBudgetBytes,
      top.label,
      0,
      'not-batch',
    );
  }
  const top = biggest(gpuParts);
  throw new MemoryBudgetError(
    `${name} at batch ${plan.options.batch} needs ${formatBytes(plan.gpuBytes)} of GPU memory, more than ${budget}; ` +
      `the biggest part is the ${top.label} (${formatBytes(top.allocatedBytes)}): use a batch of at most ${lo}.${RAISE_BUDGET}`,
    plan,
    memoryBudgetBytes,
    top.label,
    lo,
    'batch',
  );
}

/** A WebAssembly (memory32) memory holds at most 65,536 pages of 64 KiB. */
export const WASM_MEMORY_BYTES = 2 ** 32;

export class WasmMemoryError extends Error {
  override name = 'WasmMemoryError';
}

/**
 * The WebAssembly engine keeps every tensor in one memory of at most 4 GiB: a plan over that is
 * refused before anything is allocated, naming the plan and what to do instead (the GPU's limits
 * and budget do not apply; the engine's arena rounds blocks up as the GPU pool does, which the plan
 * already counts).
 */
export function checkWasmPlan(plan: MemoryPlan): MemoryPlan {
  if (plan.gpuBytes <= WASM_MEMORY_BYTES) return plan;
  const name = planModelName(plan);
  const what = plan.options.method === 'maskllm' ? 'its weights, learning state and activations' : 'its weights and activations';
  throw new WasmMemoryError(
    `${name} needs ${formatBytes(plan.gpuBytes)} for ${what} at batch ${plan.options.batch}, more than the 4 GiB (${formatBytes(WASM_MEMORY_BYTES)}) a WebAssembly memory can hold: ` +
      'use the WebGPU engine (engine=gpu on the page, --engine gpu in the CLI), a smaller batch or context, or a smaller model.',
  );
}
