// Before a model is loaded: how much memory will the run take? Bytes per part (weights, learning
// state, activations, evaluation, one-shot baselines; GPU and host), a GPU total and a table. The
// checks against the device (per-buffer limits, a memory budget) are limits.ts's checkMemoryPlan.
//
// The plan counts every storage buffer the lab allocates, op by op, as the code does it today:
// - resident for the whole run: the f32 weights (the masked layers' packed at 2 B each with
//   weightStorage 'f16', plus one such layer unpacked to f32 in an evaluation or calibration
//   forward); per mask site the logits, their gradient and Adam's m and v ([groups, candidates]
//   each: 4 · C(m,n)/m · 4 B per masked weight, 24 B at 2:4), the previous sample's soft mask
//   (maskL1), the last hard choice (flips) and the metrics rows;
// - one learning step: per sample and site the probabilities y, the soft mask, W ⊙ m and ∂L/∂(W⊙m);
//   every activation the tape records in the forward (attention keeps probs [B, H, T, T]) and every
//   gradient of the backward, plus the attention backward's dS scratch [B, H, T, T];
// - an evaluation: the hard-mask weights and one evaluation batch's forward without gradients;
// - one-shot calibration: a block at a time without gradients at the training batch on the stored
//   residual streams of the calibration batches, the probed Linear inputs of one block, the pruned
//   weights, a readback.
//
// Trap 1: a released buffer is reused only after the next submit (src/gpu/buffers.ts), and a learning
// step is one command buffer, so nothing released inside a step is reused by it: the step needs the
// sum of all its allocations (the tape's gradients, the dS scratch and every sample's tensors).
// Trap 2: the pool never destroys a released buffer; it keeps it for a later request of the same
// bucket. So phases with different shapes (an evaluation at 32 windows, a step at batch 8) each keep
// their own buffers. The GPU total is the pool's footprint: resident buffers, plus for every bucket
// size the most buffers of that size any one phase holds at once.
// Trap 3: a forward without gradients (an evaluation, a calibration pass) runs in stages of half a
// block (Tape.stage): each stage's intermediates are released and submitted when it ends, so the
// next stage reuses them. Such a phase holds, per bucket size, the most buffers any one stage holds
// (its own allocations, its input, what lives through the forward); evaluateText flushes after each
// batch, so batches reuse each other's buffers too.
// The session submits after each part of a run (an evaluation's weights freed, a calibration, each
// part of the compile dry run) so that the next part reuses what it freed; without that, a learning
// step after an evaluation held one more weight-sized buffer per mask site than this plan (+7% at
// GPT-2 small). tests/browser/memory-plan.test.ts holds the plan against the pool's peak (tiny GPT:
// within 0.5%; a whole run through the runner).
// The LM head is planned as the vocabulary-chunked cross-entropy of ops/lm-head.ts with chunks of at
// most LM_HEAD_CHUNK rows (one chunk's logits, gradient and weight rows at a time, reused across
// chunks; no [B·T, vocab] tensor). Its default chunk shrinks for many rows (≤ 32 MB of logits), so
// the plan is an upper bound there; lmHeadChunk = vocab plans today's unchunked crossEntropy.
import { EVAL_BATCH } from '../data/batches';
import { DEFAULT_CONFIG } from './config';
import { bucketSize } from '../gpu/buffers';
import { parameterShapes } from '../models/checkpoint';
import { gptInnerSize, type GptConfig, type ModelConfig, type VitConfig } from '../models/config';
import { gptMaskSites } from '../models/gpt';
import type { MaskSite } from '../models/model';
import type { WeightStorage } from '../models/weights';
import { vitMaskSites, vitPatchCount } from '../models/vit';
import { REDUCE_BLOCK } from '../ops/reduce';
import { nmPattern } from '../sparsity/patterns';
import { IMAGE_EVAL_BATCH } from './lab-data';

/** Vocabulary rows per chunk of the GPT cross-entropy. */
export const LM_HEAD_CHUNK = 8192;
/** Metrics rows the learner buffers on the GPU (LabSession's default readEvery). */
const METRICS_ROWS = 10;
/** Baselines whose masks and weights the session keeps (magnitude, Wanda, SparseGPT ± update). */
const ONE_SHOT_RESULTS = 4;
/** SparseGPT's column block (src/sparsity/priors/sparsegpt.ts) and the accumulator's token chunk. */
const SPARSEGPT_BLOCK = 128;
const HESSIAN_CHUNK = 256;

export type PlanMethod = 'maskllm' | 'magnitude' | 'wanda' | 'sparsegpt';
export type GpuPhase = 'resident' | 'learn' | 'evaluate' | 'calibrate';
export type HostPhase = 'load' | 'baselines';
/** What makes a part larger: the training batch, the context, samples per step, the evaluation batch. */
export type PlanScale = 'batch' | 'context' | 'samplesPerStep' | 'evalBatch' | 'calibBatches';

export interface MemoryPlanOptions {
  /** training batch (also the calibration batch) */
  batch: number;
  /** GPT tokens per window (default n_positions, as the session trains) */
  context?: number;
  /** N:M pattern (default 2:4) */
  n?: number;
  m?: number;
  /** 'maskllm' learns masks (learning state, steps); a one-shot method has neither */
  method?: PlanMethod;
  /** mask samples per optimizer step, each on its own batch (default 1) */
  samplesPerStep?: number;
  /** windows (GPT) or images (ViT) per evaluation batch (default EVAL_BATCH = 32 / IMAGE_EVAL_BATCH = 250) */
  evalBatch?: number;
  /** vocabulary rows per cross-entropy chunk (default LM_HEAD_CHUNK) */
  lmHeadChunk?: number;
  /** calibration batches of the one-shot baselines (default the config's, 8) */
  calibBatches?: number;
  /** the masked layers' frozen weights: 'f32' (default) or packed 'f16', 2 bytes each (src/models/weights.ts) */
  weightStorage?: WeightStorage;
}

export type ResolvedPlanOptions = Required<MemoryPlanOptions>;

export interface PlanPart {
  key: PlanPartKey;
  label: string;
  where: 'gpu' | 'host';
  phase: GpuPhase | HostPhase;
  /** bytes requested (f32/u32 elements × 4; host arrays at their own element size) */
  bytes: number;
  /** bytes the GPU pool allocates for them (each buffer rounded up to its bucket); host: = bytes */
  allocatedBytes: number;
  buffers: number;
  /** what it grows with; empty: fixed for this model and pattern */
  scales: PlanScale[];
}

export interface MemoryPlan {
  kind: ModelConfig['kind'];
  options: ResolvedPlanOptions;
  parameters: number;
  maskedWeights: number;
  parts: PlanPart[];
  /** resident GPU bytes (weights, learning state, mask history): no batch changes them */
  residentBytes: number;
  /** GPU bytes each phase allocates on top of the resident ones, alone (bucketed) */
  phaseBytes: Record<Exclude<GpuPhase, 'resident'>, number>;
  /** the pool's footprint over the whole run (see the file comment) */
  gpuBytes: number;
  /** host bytes at the larger of the two host phases */
  hostBytes: number;
  hostPhaseBytes: Record<HostPhase, number>;
}

interface PartSpec {
  label: string;
  where: 'gpu' | 'host';
  phase: GpuPhase | HostPhase;
  scales: PlanScale[];
}

const BTS: PlanScale[] = ['batch', 'context', 'samplesPerStep'];
const PARTS = {
  weights: { label: 'weights (f32, every parameter)', where: 'gpu', phase: 'resident', scales: [] },
  learningState: { label: 'learning state: mask logits, their gradient, Adam m and v', where: 'gpu', phase: 'resident', scales: [] },
  maskHistory: { label: 'mask history: previous soft mask, last hard choice, metrics rows', where: 'gpu', phase: 'resident', scales: [] },
  sampledMasks: {
    label: 'sampled masks per site and sample: y, soft mask, W⊙m, ∂L/∂(W⊙m)',
    where: 'gpu',
    phase: 'learn',
    scales: ['samplesPerStep'],
  },
  attention: {
    label: 'attention probabilities and backward dS [B, H, T, T] per layer, and the per-head copies of the matmul variant',
    where: 'gpu',
    phase: 'learn',
    scales: BTS,
  },
  activations: { label: 'activations the tape keeps (LayerNorm, qkv, MLP, residuals)', where: 'gpu', phase: 'learn', scales: BTS },
  backward: { label: 'backward: activation gradients (freed after the step)', where: 'gpu', phase: 'learn', scales: BTS },
  lmHead: { label: 'output head: logits (one vocabulary chunk) and their gradient', where: 'gpu', phase: 'learn', scales: BTS },
  evalWeights: { label: 'evaluation weights: hard mask and W⊙m per site', where: 'gpu', phase: 'evaluate', scales: [] },
  evalForward: {
    label: 'evaluation forward of one batch, no gradients (the largest half block)',
    where: 'gpu',
    phase: 'evaluate',
    scales: ['evalBatch', 'context'],
  },
  calibration: {
    label: 'one-shot calibration: block by block without gradients, stored streams, probed inputs, pruned weights, readback',
    where: 'gpu',
    phase: 'calibrate',
    scales: ['batch', 'context', 'calibBatches'],
  },
  hostLoad: { label: 'checkpoint while loading: file and its f32 copy', where: 'host', phase: 'load', scales: [] },
  hostResults: { label: 'one-shot masks and weights kept for the table', where: 'host', phase: 'baselines', scales: [] },
  hostHessians: { label: 'SparseGPT Hessians of one block (f64 [in, in] per site)', where: 'host', phase: 'baselines', scales: [] },
  hostFactor: { label: 'SparseGPT factorisation of the widest site (f64)', where: 'host', phase: 'baselines', scales: [] },
  hostActivations: { label: 'calibration activations read back (largest site)', where: 'host', phase: 'baselines', scales: ['batch', 'context'] },
} satisfies Record<string, PartSpec>;
type PartKey = keyof typeof PARTS;
export type PlanPartKey = PartKey;

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

interface Buf {
  part: PartKey;
  bytes: number;
  count: number;
  /** false: not a pool buffer (a readback staging buffer, host memory) */
  pooled: boolean;
  /**
   * A stage of a forward without gradients (trap 3): buffers of different stages are never held at
   * once; a phase holds its buffers without a stage plus those of its largest stage (per bucket).
   */
  stage?: number;
}

/** Buffers by part; `f32(part, count, ...dims)` adds `count` buffers of prod(dims) 4-byte elements. */
class Tally {
  readonly bufs: Buf[] = [];
  /** set: the buffers added belong to this stage (see Buf.stage) */
  stage: number | undefined;
  private stages = 0;
  f32(part: PartKey, count: number, ...dims: number[]): void {
    if (count > 0) this.bufs.push({ part, count, bytes: 4 * prod(dims), pooled: true, stage: this.stage });
  }
  /** Adds the buffers `fn` adds as one stage (a fresh stage number). */
  inStage(fn: () => void): void {
    this.stage = this.stages++;
    try {
      fn();
    } finally {
      this.stage = undefined;
    }
  }
  /** `count` buffers of `elements` packed f16 values (two per 4-byte word) */
  f16(part: PartKey, count: number, elements: number): void {
    if (count > 0) this.bufs.push({ part, count, bytes: 4 * Math.ceil(elements / 2), pooled: true, stage: this.stage });
  }
  /** one buffer outside the pool: readback staging, host arrays */
  raw(part: PartKey, bytes: number): void {
    this.bufs.push({ part, count: 1, bytes, pooled: false });
  }
}

interface FwdParts {
  attn: PartKey;
  act: PartKey;
  head: PartKey;
}

// Attention's 'matmul' variant (src/ops/attention-matmul.ts, the built-in) gathers each head into a
// matrix of its own: q, k, v and the output in the forward, and in the backward q, k, v, dout and
// dq, dk, dv; each [B·H, T, D] = B·T·C floats. Counted for every variant (an upper bound for the others).
const ATTN_FORWARD_COPIES = 4;
const ATTN_BACKWARD_COPIES = 7;

const inDim = (s: MaskSite) => (s.layout === 'in_out' ? s.shape[0] : s.shape[1]);
const blockOf = (s: MaskSite) => /\.(?:h|layer)\.(\d+)\./.exec(s.name)?.[1] ?? s.name;

/** GPT-2's forward (src/models/gpt.ts) at B windows of T tokens, `times` times. */
function gptForward(t: Tally, c: GptConfig, B: number, T: number, chunk: number, p: FwdParts, times: number): void {
  const N = B * T;
  const C = c.nEmbd;
  const L = c.nLayer;
  t.f32(p.act, 2 * times, N); // tokens, targets (u32)
  t.f32(p.act, times, T); // positions (u32)
  t.f32(p.act, times, T, C); // position rows
  // token rows, their sum with the positions; per block: ln_1, attention output, c_proj, residual,
  // ln_2, mlp.c_proj, residual; ln_f
  t.f32(p.act, times * (2 + 7 * L + 1), N, C);
  t.f32(p.act, times * (4 * L + 2), N); // LayerNorm mean and rstd
  t.f32(p.act, times * L, N, 3 * C); // qkv
  t.f32(p.act, times * 2 * L, N, gptInnerSize(c)); // c_fc output, GELU output
  t.f32(p.attn, times * L, B, c.nHead, T, T); // attention probabilities, saved for the backward
  t.f32(p.attn, times * L * ATTN_FORWARD_COPIES, N, C); // the matmul variant's per-head q, k, v and output
  // the head, chunked (ops/lm-head.ts) or not (today's crossEntropy: one chunk of the whole
  // vocabulary): one chunk's logits, its rows of the head's weight, per-row statistics, the loss
  const vc = Math.min(c.vocabSize, chunk);
  t.f32(p.head, times, N, vc);
  if (vc < c.vocabSize) t.f32(p.head, times, vc, C);
  t.f32(p.head, times * 4, N); // log-sum-exp; running max, sum, target logit (or row losses)
  t.f32(p.head, times, 1);
}

/** The backward of gptForward: every gradient the tape computes (it frees them at dispose). */
function gptBackward(t: Tally, c: GptConfig, B: number, T: number, chunk: number, times: number): void {
  const N = B * T;
  const C = c.nEmbd;
  const L = c.nLayer;
  t.f32('backward', times, 1); // seed
  // the head: a chunk's ∂logits (recomputed logits), its rows of W and its share of ∂x
  const vc = Math.min(c.vocabSize, chunk);
  t.f32('lmHead', times, N, vc);
  if (vc < c.vocabSize) t.f32('lmHead', times, vc, C);
  if (vc < c.vocabSize) t.f32('lmHead', times, N, C);
  // ∂ln_f output (through the head), ∂ln_f input; per block: both residual branches twice, c_fc's
  // input, ln_2's input, c_proj's input, the reshape's copy, c_attn's input, ln_1's input — block 0
  // has no gradient for the embeddings (its residual's left side, ln_1, c_attn's input)
  t.f32('backward', times * (2 + 10 * L - 3), N, C);
  t.f32('backward', times * 2 * L, N, gptInnerSize(c)); // mlp.c_proj input, GELU input
  t.f32('backward', times * 2 * L, N, 3 * C); // ∂qkv and its reshape copy
  t.f32('attention', times * L, B, c.nHead, T, T); // dS scratch (released in the step: not reused)
  t.f32('attention', times * L * ATTN_BACKWARD_COPIES, N, C); // the matmul variant's per-head copies and gradients
}

/**
 * GPT-2's forward without gradients at B windows of T tokens (an evaluation or a calibration pass):
 * the stages of src/models/gpt.ts, each with its input; `outside` [N, width] buffers live through
 * the whole pass (calibration's probed copies and stored streams). A calibration pass stops before
 * the head.
 */
function gptForwardStaged(t: Tally, c: GptConfig, B: number, T: number, chunk: number, part: PartKey, outside: number[] = [], head = true): void {
  const N = B * T;
  const C = c.nEmbd;
  const I = gptInnerSize(c);
  for (const w of outside) t.f32(part, 1, N, w);
  t.inStage(() => {
    t.f32(part, 1, N); // token ids
    t.f32(part, 1, T); // positions
    t.f32(part, 3, N, C); // token rows, position rows ([T, C] ≤ [N, C]), their sum
  });
  t.inStage(() => {
    t.f32(part, 1, N, C); // the input
    t.f32(part, 5, N, C); // ln_1, attention output, c_proj, the residual (+ the input above)
    t.f32(part, 2, N); // LayerNorm mean and rstd
    t.f32(part, 1, N, 3 * C); // qkv
    t.f32(part, 1, B, c.nHead, T, T); // attention probabilities
    t.f32(part, ATTN_FORWARD_COPIES, N, C);
  });
  t.inStage(() => {
    t.f32(part, 1, N, C); // the input
    t.f32(part, 3, N, C); // ln_2, mlp.c_proj, the residual
    t.f32(part, 2, N);
    t.f32(part, 2, N, I); // c_fc output, GELU output
  });
  if (!head) return;
  t.inStage(() => {
    t.f32(part, 2, N, C); // the input, ln_f
    t.f32(part, 2, N);
  });
  t.inStage(() => {
    // the head (not a stage of its own: the last stage's output and what it allocates)
    const vc = Math.min(c.vocabSize, chunk);
    t.f32(part, 1, N, C); // ln_f's output
    t.f32(part, 1, N); // targets (u32)
    t.f32(part, 1, N, vc);
    if (vc < c.vocabSize) t.f32(part, 1, vc, C);
    t.f32(part, 4, N);
    t.f32(part, 1, 1);
  });
}

/** ViT's forward without gradients at B images (src/models/vit.ts's stages); `outside` and `head` as for GPT-2. */
function vitForwardStaged(t: Tally, c: VitConfig, B: number, part: PartKey, outside: number[] = [], head = true): void {
  const P = vitPatchCount(c);
  const T = P + 1;
  const N = B * T;
  const H = c.hiddenSize;
  for (const w of outside) t.f32(part, 1, N, w);
  t.inStage(() => {
    t.f32(part, 1, B * P, c.numChannels * c.patchSize ** 2); // patches
    t.f32(part, 1, B * P, H); // patch embeddings
    t.f32(part, 1, 1 + B * P, H); // [CLS; patches]
    t.f32(part, 1, N); // row order (u32)
    t.f32(part, 2, N, H); // gathered rows, + positions
  });
  t.inStage(() => {
    t.f32(part, 1, N, H); // the input
    t.f32(part, 5, N, H); // layernorm_before, attention output, output.dense, the residual
    t.f32(part, 2, N);
    t.f32(part, 1, 2 * H, H); // [Wq; Wk]
    t.f32(part, 1, 3 * H, H); // [Wq; Wk; Wv]
    t.f32(part, 1, 2 * H);
    t.f32(part, 1, 3 * H);
    t.f32(part, 1, N, 3 * H); // qkv
    t.f32(part, 1, B, c.numHeads, T, T);
    t.f32(part, ATTN_FORWARD_COPIES, N, H);
  });
  t.inStage(() => {
    t.f32(part, 1, N, H);
    t.f32(part, 3, N, H); // layernorm_after, output.dense, the residual
    t.f32(part, 2, N);
    t.f32(part, 2, N, c.intermediateSize);
  });
  if (!head) return;
  t.inStage(() => {
    // after the last stage: its output, the final layernorm, the classifier
    t.f32(part, 2, N, H);
    t.f32(part, 2, N);
    t.f32(part, 2, B); // CLS rows, labels (u32)
    t.f32(part, 1, B, H);
    t.f32(part, 1, B, c.numLabels);
    t.f32(part, 2, B);
    t.f32(part, 1, 1);
  });
}

/** ViT's forward (src/models/vit.ts) at B images, `times` times. */
function vitForward(t: Tally, c: VitConfig, B: number, p: FwdParts, times: number): void {
  const P = vitPatchCount(c);
  const T = P + 1;
  const N = B * T;
  const H = c.hiddenSize;
  const L = c.numLayers;
  t.f32(p.act, times, B * P, c.numChannels * c.patchSize ** 2); // patches
  t.f32(p.act, times, B * P, H); // patch embeddings
  t.f32(p.act, times, 1 + B * P, H); // [CLS; patches]
  t.f32(p.act, times, N); // row order (u32)
  // gathered rows, + positions; per block: layernorm_before, attention output, output.dense,
  // residual, layernorm_after, output.dense of the MLP, residual; final layernorm
  t.f32(p.act, times * (2 + 7 * L + 1), N, H);
  t.f32(p.act, times * (4 * L + 2), N);
  t.f32(p.act, times * L, 2 * H, H); // [Wq; Wk]
  t.f32(p.act, times * L, 3 * H, H); // [Wq; Wk; Wv]
  t.f32(p.act, times * L, 2 * H); // [bq; bk]
  t.f32(p.act, times * L, 3 * H); // [bq; bk; bv]
  t.f32(p.act, times * L, N, 3 * H); // qkv
  t.f32(p.act, times * 2 * L, N, c.intermediateSize); // intermediate, GELU
  t.f32(p.attn, times * L, B, c.numHeads, T, T);
  t.f32(p.attn, times * L * ATTN_FORWARD_COPIES, N, H);
  t.f32(p.act, times * 2, B); // CLS rows, labels (u32)
  t.f32(p.act, times, B, H); // CLS outputs
  t.f32(p.head, times, B, c.numLabels); // logits
  t.f32(p.head, times * 2, B); // log-sum-exp, row losses
  t.f32(p.head, times, 1);
}

function vitBackward(t: Tally, c: VitConfig, B: number, times: number): void {
  const P = vitPatchCount(c);
  const T = P + 1;
  const N = B * T;
  const H = c.hiddenSize;
  const L = c.numLayers;
  t.f32('backward', times, 1);
  t.f32('lmHead', times, B, c.numLabels);
  t.f32('backward', times, B, H); // CLS outputs
  t.f32('backward', times, B); // scatter-add of the CLS rows: links (u32 [B]) …
  t.f32('backward', times, N); // … and heads (u32 [N])
  // the scatter-add's output, ∂ final layernorm; per block as GPT-2's
  t.f32('backward', times * (2 + 10 * L - 3), N, H);
  t.f32('backward', times * 2 * L, N, c.intermediateSize);
  t.f32('backward', times * 2 * L, N, 3 * H);
  t.f32('backward', times * L, 3 * H, H); // ∂[Wq; Wk; Wv]
  t.f32('backward', times * L, 2 * H, H); // ∂[Wq; Wk]
  t.f32('attention', times * L, B, c.numHeads, T, T);
  t.f32('attention', times * L * ATTN_BACKWARD_COPIES, N, H);
}

/** What `bufs` hold at once by `measure`: the buffers outside stages plus the largest stage's (trap 3). */
function held(bufs: Buf[], measure: (b: Buf) => number): number {
  const byStage = new Map<number, number>();
  let outside = 0;
  for (const b of bufs) {
    if (b.stage === undefined) outside += measure(b);
    else byStage.set(b.stage, (byStage.get(b.stage) ?? 0) + measure(b));
  }
  return outside + Math.max(0, ...byStage.values());
}

/** Pool buffers held at once per bucket size: outside stages plus, per size, the stage holding the most. */
function heldPerSize(bufs: Buf[]): Map<number, number> {
  const sizes = new Map<number, Buf[]>();
  for (const b of bufs) {
    const size = b.pooled ? bucketSize(b.bytes) : b.bytes;
    sizes.set(size, [...(sizes.get(size) ?? []), b]);
  }
  return new Map([...sizes].map(([size, bs]) => [size, held(bs, (b) => b.count)]));
}

function resolve(model: ModelConfig, o: MemoryPlanOptions): ResolvedPlanOptions {
  const int = (name: string, v: number, lo: number, hi = Number.MAX_SAFE_INTEGER) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`memoryPlan: ${name} must be an integer in ${lo}..${hi}, got ${v}`);
    return v;
  };
  const gpt = model.kind === 'gpt2';
  const r: ResolvedPlanOptions = {
    batch: int('batch', o.batch, 1),
    context: gpt ? int('context', o.context ?? model.nPositions, 1, model.nPositions) : vitPatchCount(model) + 1,
    n: o.n ?? 2,
    m: o.m ?? 4,
    method: o.method ?? 'maskllm',
    samplesPerStep: int('samplesPerStep', o.samplesPerStep ?? 1, 1),
    evalBatch: int('evalBatch', o.evalBatch ?? (gpt ? EVAL_BATCH : IMAGE_EVAL_BATCH), 1),
    lmHeadChunk: int('lmHeadChunk', o.lmHeadChunk ?? LM_HEAD_CHUNK, 1),
    calibBatches: int('calibBatches', o.calibBatches ?? DEFAULT_CONFIG.calibBatches, 1),
    weightStorage: o.weightStorage ?? 'f32',
  };
  if (r.weightStorage !== 'f32' && r.weightStorage !== 'f16')
    throw new RangeError(`memoryPlan: weightStorage must be 'f32' or 'f16', got '${String(r.weightStorage)}'`);
  if (!['maskllm', 'magnitude', 'wanda', 'sparsegpt'].includes(r.method)) throw new RangeError(`memoryPlan: unknown method '${String(r.method)}'`);
  nmPattern(r.n, r.m); // throws on a bad pattern
  return r;
}

/** The memory plan of a run of `model` with these options (no device needed). */
export function memoryPlan(model: ModelConfig, options: MemoryPlanOptions): MemoryPlan {
  const o = resolve(model, options);
  const K = nmPattern(o.n, o.m).candidates.length;
  const sites = model.kind === 'gpt2' ? gptMaskSites(model) : vitMaskSites(model);
  const S = o.samplesPerStep;
  const learning = o.method === 'maskllm';

  const t = new Tally();
  // with tie_word_embeddings false this includes lm_head.weight
  const shapes = parameterShapes(model);
  // weightStorage 'f16': the masked layers' weights packed, 2 bytes each (the rest stays f32)
  const packed = new Set(o.weightStorage === 'f16' ? sites.map((s) => s.name) : []);
  for (const [name, s] of shapes) {
    if (packed.has(name)) t.f16('weights', 1, prod(s));
    else t.f32('weights', 1, ...s);
  }
  let parameters = 0;
  for (const [, s] of shapes) parameters += prod(s);
  let masked = 0;
  for (const s of sites) masked += prod(s.shape);

  if (learning) {
    let parts = 0;
    for (const s of sites) {
      const w = prod(s.shape);
      const groups = Math.ceil(w / o.m);
      t.f32('learningState', 4, groups, K); // logits, gradient, Adam m, v
      t.f32('maskHistory', 1, w); // previous soft mask (maskL1)
      t.f32('maskHistory', 1, groups); // last hard choice (u32)
      t.f32('sampledMasks', S, groups, K); // y
      t.f32('sampledMasks', 3 * S, w); // soft mask, W ⊙ m, ∂L/∂(W⊙m)
      t.f32('sampledMasks', 3, 1); // maskL1, max prob, clean max prob
      t.f32('sampledMasks', 1, 2); // logit mean, std
      if (S > 1) t.f32('sampledMasks', 1, groups, K); // the averaged gradient
      parts += Math.ceil((groups * K) / REDUCE_BLOCK);
    }
    t.f32('maskHistory', 1, METRICS_ROWS, 1 + 5 * sites.length);
    // global gradient norm: partials, the fold levels, the norm and the clip factor
    for (let n = parts; n > 1; n = Math.ceil(n / REDUCE_BLOCK)) t.f32('sampledMasks', 1, n);
    t.f32('sampledMasks', 2, 1);
    const fp: FwdParts = { attn: 'attention', act: 'activations', head: 'lmHead' };
    if (model.kind === 'gpt2') {
      gptForward(t, model, o.batch, o.context, o.lmHeadChunk, fp, S);
      gptBackward(t, model, o.batch, o.context, o.lmHeadChunk, S);
    } else {
      vitForward(t, model, o.batch, fp, S);
      vitBackward(t, model, o.batch, S);
    }
  }

  // evaluation: hard masks (MaskLLM) or pruned weights (one-shot), then a forward per eval batch
  for (const s of sites) {
    const w = prod(s.shape);
    t.f32('evalWeights', learning ? 2 : 1, w);
    if (learning) t.f32('evalWeights', 1, Math.ceil(w / o.m)); // hard choice (u32)
    if (learning) t.f32('evalWeights', 1, 1); // flips
  }
  // packed f16: a forward without an override (the dense model's evaluation) unpacks each masked
  // weight to f32 for its stage; bounded here by the largest site's, held through the phase
  const largestSite = sites.reduce((a, s) => Math.max(a, prod(s.shape)), 0);
  if (packed.size) t.f32('evalWeights', 1, largestSite);
  // one batch's forward without gradients (trap 3)
  if (model.kind === 'gpt2') gptForwardStaged(t, model, o.evalBatch, o.context, o.lmHeadChunk, 'evalForward');
  else vitForwardStaged(t, model, o.evalBatch, 'evalForward');

  // one-shot calibration (the session runs every baseline; src/sparsity/oneshot.ts): the pruned
  // weights of the finished blocks, every calibration batch's residual stream (+ the next block's
  // being made) and two batches' probed Linear inputs of one block (the next batch is computed while
  // the CPU adds the last one's statistics) outside the stages, a block at a time without gradients
  // (no head), and a readback staging buffer
  for (const s of sites) t.f32('calibration', 1, ...s.shape);
  if (packed.size) t.f32('calibration', 1, largestSite); // the unpacked f16 weight of the stage's Linear, as above
  const width = model.kind === 'gpt2' ? model.nEmbd : model.hiddenSize;
  // ViT probes q, k and v with the same input: one copy each
  const probed = sites.filter((s) => blockOf(s) === blockOf(sites[0])).map(inDim);
  const outside = [...Array<number>(o.calibBatches + 1).fill(width), ...probed, ...probed];
  if (model.kind === 'gpt2') gptForwardStaged(t, model, o.batch, o.context, o.lmHeadChunk, 'calibration', outside, false);
  else vitForwardStaged(t, model, o.batch, 'calibration', outside, false);
  const rows = o.batch * o.context;
  const widest = sites.reduce((a, s) => (inDim(s) > inDim(a) ? s : a), sites[0]);
  const readBytes = sites.length ? Math.max(4 * rows * inDim(widest), ...sites.map((s) => 4 * prod(s.shape))) : 0;
  t.raw('calibration', readBytes);

  // host: the checkpoint while loading; the baselines (masks and weights kept, SparseGPT in f64)
  const weightBytes = 4 * parameters;
  t.raw('hostLoad', 2 * weightBytes);
  t.raw('hostResults', ONE_SHOT_RESULTS * 5 * masked);
  const blocks = new Map<string, number>();
  for (const s of sites) blocks.set(blockOf(s), (blocks.get(blockOf(s)) ?? 0) + 8 * (inDim(s) ** 2 + inDim(s)));
  t.raw('hostHessians', Math.max(0, ...blocks.values()));
  if (sites.length) {
    const n = inDim(widest);
    const out = prod(widest.shape) / n;
    // H, its damped copy and three Cholesky/inverse factors alive at once; W in f64, kept flags,
    // errors, and the f32 weights read back (a sum of peaks that GC may or may not overlap)
    t.raw('hostFactor', 5 * 8 * n * n + 13 * out * n + 8 * out * SPARSEGPT_BLOCK);
    t.raw('hostActivations', 4 * rows * n + 8 * n * Math.min(rows, HESSIAN_CHUNK));
  }

  // parts, in table order
  const parts: PlanPart[] = [];
  for (const [key, spec] of Object.entries(PARTS) as [PartKey, PartSpec][]) {
    const bs = t.bufs.filter((b) => b.part === key);
    if (!bs.length) continue;
    let label = spec.label;
    if (key === 'lmHead' && model.kind === 'vit') label = 'output head: classifier logits and their gradient';
    if (key === 'weights' && packed.size) label = "weights (f32; the masked layers' packed f16, 2 B each)";
    const perSize = heldPerSize(bs);
    parts.push({
      key,
      label,
      where: spec.where,
      phase: spec.phase,
      bytes: held(bs, (b) => b.bytes * b.count),
      allocatedBytes: [...perSize].reduce((a, [size, n]) => a + size * n, 0),
      buffers: held(bs, (b) => b.count),
      scales: spec.scales,
    });
  }

  // the pool's footprint: resident + per bucket size the most any phase holds, + the largest staging buffer
  const gpu = t.bufs.filter((b) => PARTS[b.part].where === 'gpu');
  const ofPhase = (ph: GpuPhase) => gpu.filter((b) => PARTS[b.part].phase === ph);
  const residentBytes = ofPhase('resident').reduce((a, b) => a + bucketSize(b.bytes) * b.count, 0);
  const phases = ['learn', 'evaluate', 'calibrate'] as const;
  const perPhase = phases.map((ph) => heldPerSize(ofPhase(ph).filter((b) => b.pooled)));
  const phaseBytes = { learn: 0, evaluate: 0, calibrate: 0 };
  let staging = 0;
  phases.forEach((ph, i) => {
    const unpooled = ofPhase(ph).filter((b) => !b.pooled);
    for (const b of unpooled) staging = Math.max(staging, b.bytes);
    phaseBytes[ph] = [...perPhase[i]].reduce((a, [size, n]) => a + size * n, 0) + unpooled.reduce((a, b) => a + b.bytes * b.count, 0);
  });
  const sizes = new Set(perPhase.flatMap((m) => [...m.keys()]));
  let pooled = 0;
  for (const size of sizes) pooled += size * Math.max(...perPhase.map((m) => m.get(size) ?? 0));

  const hostPhaseBytes = { load: 0, baselines: 0 };
  for (const p of parts) if (p.where === 'host') hostPhaseBytes[p.phase as HostPhase] += p.bytes;
  return {
    kind: model.kind,
    options: o,
    parameters,
    maskedWeights: masked,
    parts,
    residentBytes,
    phaseBytes,
    gpuBytes: residentBytes + pooled + staging,
    hostBytes: Math.max(hostPhaseBytes.load, hostPhaseBytes.baselines),
    hostPhaseBytes,
  };
}

const dec = (x: number, unit: string, d: number) => `${x.toFixed(d)} ${unit}`;
/** Bytes in decimal units: 512 B, 43.2 kB, 497.8 MB, 2.04 GB. */
export function formatBytes(b: number): string {
  if (b < 1e3) return `${b} B`;
  if (b < 1e6) return dec(b / 1e3, 'kB', 1);
  if (b < 1e9) return dec(b / 1e6, 'MB', 1);
  return dec(b / 1e9, 'GB', 2);
}

const SCALE_WORDS: Record<PlanScale, string> = {
  batch: 'batch',
  context: 'context',
  samplesPerStep: 'samples',
  evalBatch: 'eval batch',
  calibBatches: 'calibration batches',
};

export interface MemoryPlanTable {
  title: string;
  columns: [string, string, string, string, string];
  /** part, phase, bytes, allocated (bucketed), what it scales with ('—': fixed) */
  rows: [string, string, string, string, string][];
  /** summary lines: GPU total with its phases, host peak */
  totals: string[];
}

/** "GPT-2 (124.4 M parameters)" */
export function planModelName(plan: MemoryPlan): string {
  return `${plan.kind === 'gpt2' ? 'GPT-2' : 'ViT'} (${(plan.parameters / 1e6).toFixed(1)} M parameters)`;
}

/** The plan as rows for the model panel or a terminal (data only; formatMemoryPlan renders text). */
export function memoryPlanTable(plan: MemoryPlan): MemoryPlanTable {
  const o = plan.options;
  const shape = plan.kind === 'gpt2' ? `batch ${o.batch} × context ${o.context}` : `batch ${o.batch}`;
  const samples = o.method === 'maskllm' ? `, ${o.samplesPerStep} sample${o.samplesPerStep > 1 ? 's' : ''} per step` : '';
  return {
    title: `Memory plan: ${planModelName(plan)}, ${plan.maskedWeights.toLocaleString('en-US')} masked, ${o.n}:${o.m} ${o.method}, ${shape}${samples}, evaluation batch ${o.evalBatch}`,
    columns: ['part', 'phase', 'bytes', 'allocated', 'scales with'],
    rows: plan.parts.map((p) => [
      p.label,
      p.where === 'host' ? `host ${p.phase}` : p.phase,
      formatBytes(p.bytes),
      formatBytes(p.allocatedBytes),
      p.scales.length ? p.scales.map((s) => SCALE_WORDS[s]).join(' × ') : '—',
    ]),
    totals: [
      `GPU total ${formatBytes(plan.gpuBytes)}: resident ${formatBytes(plan.residentBytes)} + the pool's buffers of learn ${formatBytes(plan.phaseBytes.learn)}, ` +
        `evaluate ${formatBytes(plan.phaseBytes.evaluate)}, calibrate ${formatBytes(plan.phaseBytes.calibrate)} (a bucket size one phase frees is reused by the next)`,
      `host peak ${formatBytes(plan.hostBytes)} (load ${formatBytes(plan.hostPhaseBytes.load)}, baselines ${formatBytes(plan.hostPhaseBytes.baselines)})`,
    ],
  };
}

/** The plan as an aligned text table (the CLI prints it). */
export function formatMemoryPlan(plan: MemoryPlan): string {
  const t = memoryPlanTable(plan);
  const all = [t.columns, ...t.rows];
  const width = t.columns.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i >= 2 && i <= 3 ? c.padStart(width[i]) : c.padEnd(width[i])))
      .join('  ')
      .trimEnd();
  return [t.title, line(t.columns), ...t.rows.map(line), ...t.totals].join('\n');
}
