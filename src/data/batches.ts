// Batch sampling for training (random, deterministic in (seed, step)) and evaluation (in order).
// Randomness is the counter-based Threefry-2x32-20 of src/ops/rng.ts: draw i of step s uses the
// counter (i, s) under key (seed, stream), so any step can be reproduced without replaying earlier ones.
import { threefry2x32 } from '../ops/rng';
import type { ImageShard } from './shards';

export interface TextBatch {
  /** [batch * context] token ids, row-major (window b occupies [b*context, (b+1)*context)). */
  inputs: Uint32Array;
  /** [batch * context]: targets[i] is the token that follows inputs[i]. */
  targets: Uint32Array;
  batch: number;
  context: number;
  /** evaluation windows: the UTF-8 bytes the targets cover (bits per byte = nats ÷ bytes ÷ ln 2) */
  targetBytes?: number;
}

export interface ImageBatch {
  /** [batch, height*width], normalised as (x/255 − FMNIST_MEAN) / FMNIST_STD. */
  images: Float32Array;
  labels: Uint32Array;
  batch: number;
}

/**
 * Pixel mean and standard deviation (population, of x/255) over every pixel of the committed
 * Fashion-MNIST train shard (public/data/fmnist.train.bin, 12,000 images). tools/build-data.ts
 * recomputes them into manifest.json and tests/node/data.test.ts checks these constants against it.
 */
export const FMNIST_MEAN = 0.2859;
export const FMNIST_STD = 0.3531;

/** Threefry key halves ("stream" words) that keep text and image draws independent. */
export const TEXT_STREAM = 0x74657874; // "text"
export const IMAGE_STREAM = 0x696d6167; // "imag"

/** Max windows per evaluation batch. */
export const EVAL_BATCH = 32;

function checkInt(name: string, x: number, lo: number, hi = 0xffffffff): void {
  if (!Number.isInteger(x) || x < lo || x > hi) throw new RangeError(`${name} must be an integer in ${lo}..${hi}, got ${x}`);
}

/** Uniform integer in [0, n) from one Threefry block: 53 random bits, so the bias is below n / 2^53. */
function uniformIndex(seed: number, stream: number, i: number, step: number, n: number): number {
  const [a, b] = threefry2x32(seed, stream, i, step);
  const u = (a * 2 ** 21 + (b >>> 11)) / 2 ** 53; // in [0, 1)
  return Math.floor(u * n);
}

function checkText(tokens: Uint8Array | Uint32Array, context: number): void {
  if (!(tokens instanceof Uint8Array || tokens instanceof Uint32Array)) throw new TypeError('tokens must be a Uint8Array or Uint32Array');
  checkInt('context', context, 1);
  if (tokens.length < context + 1) {
    throw new RangeError(`need at least context+1 = ${context + 1} tokens for one window, have ${tokens.length}`);
  }
}

function fillWindow(tokens: Uint8Array | Uint32Array, start: number, context: number, out: TextBatch, row: number): void {
  const o = row * context;
  for (let t = 0; t < context; t++) {
    out.inputs[o + t] = tokens[start + t];
    out.targets[o + t] = tokens[start + t + 1];
  }
}

/**
 * `batch` windows of context+1 consecutive tokens at independent uniform starts in
 * [0, tokens.length − context − 1] (with replacement), deterministic in (seed, step).
 */
export function sampleTextBatch(tokens: Uint8Array | Uint32Array, batch: number, context: number, seed: number, step: number): TextBatch {
  checkText(tokens, context);
  checkInt('batch', batch, 1, 1 << 20);
  checkInt('seed', seed, 0);
  checkInt('step', step, 0);
  const starts = tokens.length - context; // number of valid window starts
  const out: TextBatch = { inputs: new Uint32Array(batch * context), targets: new Uint32Array(batch * context), batch, context };
  for (let b = 0; b < batch; b++) fillWindow(tokens, uniformIndex(seed, TEXT_STREAM, b, step, starts), context, out, b);
  return out;
}

/**
 * Evaluation protocol (docs/EVALUATION.md), the same for every tokenizer: the split's whole text is
 * tokenized once; window w covers tokens [w*context, w*context + context] (context+1 tokens; stride =
 * context, so the last token of one window is the first input of the next), W = floor((N − 1) /
 * context) windows in order, capped at maxWindows (the first ones). Every token 1..W*context is a
 * target exactly once; the < context tokens after that are not scored. Windows come in batches of
 * `batchSize` (EVAL_BATCH = 32; the session takes fewer when the memory plan needs it), the last one
 * smaller. Report the mean loss over all targets (weight each batch by
 * its size). Each window restarts its context, so this is not a sliding-window perplexity.
 * `byteLengths[id]` (the tokenizer's UTF-8 bytes per token; default 1, bytes) gives each batch's
 * `targetBytes`.
 */
export function evalTextWindows(
  tokens: Uint8Array | Uint32Array,
  context: number,
  maxWindows?: number,
  byteLengths?: Uint8Array,
  batchSize = EVAL_BATCH,
): TextBatch[] {
  checkText(tokens, context);
  checkInt('batchSize', batchSize, 1, Number.MAX_SAFE_INTEGER);
  let windows = Math.floor((tokens.length - 1) / context);
  if (maxWindows !== undefined) {
    checkInt('maxWindows', maxWindows, 1, Number.MAX_SAFE_INTEGER);
    windows = Math.min(windows, maxWindows);
  }
  const out: TextBatch[] = [];
  for (let w0 = 0; w0 < windows; w0 += batchSize) {
    const batch = Math.min(batchSize, windows - w0);
    const b: TextBatch = { inputs: new Uint32Array(batch * context), targets: new Uint32Array(batch * context), batch, context };
    for (let r = 0; r < batch; r++) fillWindow(tokens, (w0 + r) * context, context, b, r);
    let bytes = 0;
    if (byteLengths) for (const t of b.targets) bytes += byteLengths[t];
    else bytes = b.targets.length;
    b.targetBytes = bytes;
    out.push(b);
  }
  return out;
}

function checkImages(s: ImageShard): number {
  if (s.kind !== 'images') throw new TypeError(`expected an image shard, got kind ${String((s as { kind?: unknown }).kind)}`);
  if (s.count < 1) throw new RangeError('image shard is empty');
  return s.height * s.width;
}

function fillImage(s: ImageShard, index: number, pixels: number, out: ImageBatch, row: number): void {
  const src = index * pixels;
  const dst = row * pixels;
  for (let p = 0; p < pixels; p++) out.images[dst + p] = (s.images[src + p] / 255 - FMNIST_MEAN) / FMNIST_STD;
  out.labels[row] = s.labels[index];
}

/** `batch` images drawn uniformly with replacement, deterministic in (seed, step). */
export function sampleImageBatch(s: ImageShard, batch: number, seed: number, step: number): ImageBatch {
  const pixels = checkImages(s);
  checkInt('batch', batch, 1, 1 << 20);
  checkInt('seed', seed, 0);
  checkInt('step', step, 0);
  const out: ImageBatch = { images: new Float32Array(batch * pixels), labels: new Uint32Array(batch), batch };
  for (let b = 0; b < batch; b++) fillImage(s, uniformIndex(seed, IMAGE_STREAM, b, step, s.count), pixels, out, b);
  return out;
}

/** Every image once, in shard order, in batches of `batch` (the last one smaller). */
export function imageBatches(s: ImageShard, batch: number): ImageBatch[] {
  const pixels = checkImages(s);
  checkInt('batch', batch, 1, 1 << 20);
  const out: ImageBatch[] = [];
  for (let i0 = 0; i0 < s.count; i0 += batch) {
    const n = Math.min(batch, s.count - i0);
    const b: ImageBatch = { images: new Float32Array(n * pixels), labels: new Uint32Array(n), batch: n };
    for (let r = 0; r < n; r++) fillImage(s, i0 + r, pixels, b, r);
    out.push(b);
  }
  return out;
}
