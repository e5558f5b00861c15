// Callers of the WebAssembly sampling kernels (wasm/sampling.ts) on the WasmEngine's memory: the RNG,
// Gumbel-softmax sampling (fused with W ⊙ m) and its backward, the hard mask, the mask metrics, AdamW,
// the embedding row ops and the 2:4 compressed product. The ops in src/ops/*.ts and
// src/sparsity/*.ts check their arguments (and hold the CPU twins) before these are called. Each call
// covers the whole range ([0, groups), [0, rows) or [0, n)); the kernels take [start, end) as their
// last two parameters so a thread pool can split it (one scratch per thread; a reduction's partials
// summed by the caller).
import type { RawTensor } from '../backend/tensor';
import type { WasmEngine } from '../backend/wasm';
import type { RngPosition } from '../ops/rng';
import type { Sparse24Weight } from '../ops/sparse24';
import { weightShape, type GroupLayout } from '../sparsity/layout';
import type { Pattern } from '../sparsity/patterns';

/** The exports of wasm/sampling.ts (pointers are byte offsets into the engine's memory; flags 0 or 1). */
export interface SamplingExports {
  rngBits(out: number, seed: number, stream: number, offset: number, start: number, end: number): void;
  rngUniform(out: number, seed: number, stream: number, offset: number, start: number, end: number): void;
  sampleScratchBytes(N: number, C: number): number;
  sample(
    logits: number,
    w: number,
    y: number,
    mask: number,
    weff: number,
    scratch: number,
    rows: number,
    cols: number,
    inOut: number,
    N: number,
    M: number,
    seed: number,
    stream: number,
    offset: number,
    kappa: number,
    tau: number,
    gStart: number,
    gEnd: number,
  ): void;
  groupScratchBytes(N: number, C: number): number;
  backward(
    gradW: number,
    w: number,
    mask: number,
    y: number,
    out: number,
    scratch: number,
    rows: number,
    cols: number,
    inOut: number,
    N: number,
    M: number,
    scale: number,
    twoLambda: number,
    accumulate: number,
    gStart: number,
    gEnd: number,
  ): void;
  hard(
    logits: number,
    mask: number,
    choice: number,
    scratch: number,
    rows: number,
    cols: number,
    inOut: number,
    N: number,
    M: number,
    gStart: number,
    gEnd: number,
  ): void;
  maxProbSum(y: number, C: number, gStart: number, gEnd: number): number;
  maxProbCleanSum(logits: number, C: number, kappa: number, gStart: number, gEnd: number): number;
  absDiffSum(a: number, b: number, start: number, end: number): number;
  powerSum(x: number, shift: number, p: number, start: number, end: number): number;
  countNe(a: number, b: number, start: number, end: number): number;
  adamw(
    param: number,
    grad: number,
    m: number,
    v: number,
    gradScale: number,
    decay: number,
    beta1: number,
    oneMinusBeta1: number,
    beta2: number,
    oneMinusBeta2: number,
    stepSize: number,
    invBc2Sqrt: number,
    eps: number,
    start: number,
    end: number,
  ): void;
  firstBadIndex(idx: number, V: number, start: number, end: number): number;
  gatherRows(table: number, idx: number, out: number, rowWords: number, start: number, end: number): void;
  copyRows(src: number, srcRow0: number, dst: number, dstRow0: number, rowWords: number, start: number, end: number): void;
  scatterScratchBytes(N: number, rows: number): number;
  scatterAddRows(grad: number, idx: number, out: number, scratch: number, N: number, rows: number, C: number, start: number, end: number): void;
  sparse24ScratchBytes(K: number): number;
  sparse24(x: number, vals: number, idx: number, out: number, scratch: number, K: number, N: number, start: number, end: number): void;
}

// ---- RNG ----

export function rngBitsWasm(e: WasmEngine, pos: RngPosition, n: number): RawTensor {
  const out = e.empty([n], 'u32');
  e.kernels.sampling.rngBits(e.ptr(out), pos.seed >>> 0, pos.stream >>> 0, pos.offset >>> 0, 0, n);
  return out;
}

export function rngUniformWasm(e: WasmEngine, pos: RngPosition, n: number): RawTensor {
  const out = e.empty([n]);
  e.kernels.sampling.rngUniform(e.ptr(out), pos.seed >>> 0, pos.stream >>> 0, pos.offset >>> 0, 0, n);
  return out;
}

// ---- Gumbel-softmax ----

const inOut = (g: GroupLayout) => +(g.layout === 'in_out');

type SampleArgs = { kappa: number; tau: number; rng: RngPosition };

export function sampleSoftMaskWasm(e: WasmEngine, logits: RawTensor, g: GroupLayout, p: Pattern, a: SampleArgs): { mask: RawTensor; y: RawTensor } {
  const { mask, y } = sample(e, logits, null, g, p, a);
  return { mask, y };
}

/** The fused forward: the sample and W ⊙ m in one pass. */
export function sampleMaskedWeightWasm(
  e: WasmEngine,
  logits: RawTensor,
  w: RawTensor,
  g: GroupLayout,
  p: Pattern,
  a: SampleArgs,
): { mask: RawTensor; y: RawTensor; weff: RawTensor } {
  const { mask, y, weff } = sample(e, logits, w, g, p, a);
  return { mask, y, weff: weff! };
}

function sample(
  e: WasmEngine,
  logits: RawTensor,
  w: RawTensor | null,
  g: GroupLayout,
  p: Pattern,
  a: SampleArgs,
): { mask: RawTensor; y: RawTensor; weff: RawTensor | null } {
  const C = p.candidates.length;
  const k = e.kernels.sampling;
  const y = e.empty([g.groups, C]);
  const mask = e.empty(weightShape(g));
  const weff = w ? e.empty(weightShape(g)) : null;
  // pointers after every allocation (the scratch may grow the memory); byte offsets stay valid
  const scratch = e.scratch(k.sampleScratchBytes(p.n, C));
  k.sample(
    e.ptr(logits),
    w ? e.ptr(w) : 0,
    e.ptr(y),
    e.ptr(mask),
    weff ? e.ptr(weff) : 0,
    scratch,
    g.rows,
    g.cols,
    inOut(g),
    p.n,
    p.m,
    a.rng.seed >>> 0,
    a.rng.stream >>> 0,
    a.rng.offset >>> 0,
    a.kappa,
    a.tau,
    0,
    g.groups,
  );
  return { mask, y, weff };
}

export function softMaskBackwardWasm(
  e: WasmEngine,
  gradW: RawTensor,
  w: RawTensor,
  mask: RawTensor,
  y: RawTensor,
  g: GroupLayout,
  p: Pattern,
  a: { kappa: number; tau: number; lambda: number },
  accumulate?: RawTensor,
): RawTensor {
  const k = e.kernels.sampling;
  const out = accumulate ?? e.empty(y.shape);
  const scratch = e.scratch(k.groupScratchBytes(p.n, p.candidates.length));
  // κ/τ and 2λ as the twin forms them (f64)
  k.backward(
    e.ptr(gradW),
    e.ptr(w),
    e.ptr(mask),
    e.ptr(y),
    e.ptr(out),
    scratch,
    g.rows,
    g.cols,
    inOut(g),
    p.n,
    p.m,
    a.kappa / a.tau,
    2 * a.lambda,
    +!!accumulate,
    0,
    g.groups,
  );
  return out;
}

export function hardMaskWasm(e: WasmEngine, logits: RawTensor, g: GroupLayout, p: Pattern): { mask: RawTensor; choice: RawTensor } {
  const k = e.kernels.sampling;
  const mask = e.empty(weightShape(g));
  const choice = e.empty([g.groups], 'u32');
  const scratch = e.scratch(k.groupScratchBytes(p.n, p.candidates.length));
  k.hard(e.ptr(logits), e.ptr(mask), e.ptr(choice), scratch, g.rows, g.cols, inOut(g), p.n, p.m, 0, g.groups);
  return { mask, choice };
}

// ---- mask metrics (checked by src/sparsity/metrics.ts: non-empty f32, or u32 for the choices) ----

export function maskL1Wasm(e: WasmEngine, a: RawTensor, b: RawTensor): RawTensor {
  return e.upload([e.kernels.sampling.absDiffSum(e.ptr(a), e.ptr(b), 0, a.size) / a.size], [1]);
}

export function meanMaxProbWasm(e: WasmEngine, y: RawTensor, G: number, C: number): RawTensor {
  return e.upload([e.kernels.sampling.maxProbSum(e.ptr(y), C, 0, G) / G], [1]);
}

export function meanMaxProbCleanWasm(e: WasmEngine, logits: RawTensor, G: number, C: number, kappa: number): RawTensor {
  return e.upload([e.kernels.sampling.maxProbCleanSum(e.ptr(logits), C, kappa, 0, G) / G], [1]);
}

export function logitStatsWasm(e: WasmEngine, logits: RawTensor): RawTensor {
  const k = e.kernels.sampling,
    n = logits.size,
    at = e.ptr(logits);
  const mean = k.powerSum(at, 0, 1, 0, n) / n;
  return e.upload([mean, Math.sqrt(k.powerSum(at, mean, 2, 0, n) / n)], [2]);
}

export function countFlipsWasm(e: WasmEngine, a: RawTensor, b: RawTensor): RawTensor {
  return e.upload([e.kernels.sampling.countNe(e.ptr(a), e.ptr(b), 0, a.size)], [1]);
}

// ---- AdamW (validated by src/ops/adamw.ts, which also forms decay, stepSize and invBc2Sqrt) ----

export function adamwWasm(
  e: WasmEngine,
  param: RawTensor,
  grad: RawTensor,
  m: RawTensor,
  v: RawTensor,
  h: { beta1: number; beta2: number; eps: number },
  c: { decay: number; stepSize: number; invBc2Sqrt: number },
  gradScale?: RawTensor,
): void {
  e.kernels.sampling.adamw(
    e.ptr(param),
    e.ptr(grad),
    e.ptr(m),
    e.ptr(v),
    gradScale ? e.ptr(gradScale) : 0,
    c.decay,
    h.beta1,
    1 - h.beta1,
    h.beta2,
    1 - h.beta2,
    c.stepSize,
    c.invBc2Sqrt,
    h.eps,
    0,
    param.size,
  );
}

// ---- embedding row ops (shapes checked by src/ops/embedding.ts) ----

/** The first position whose index is ≥ rows, or −1. */
export function firstBadIndexWasm(e: WasmEngine, idx: RawTensor, rows: number): number {
  return e.kernels.sampling.firstBadIndex(e.ptr(idx), rows, 0, idx.size);
}

export function gatherRowsWasm(e: WasmEngine, table: RawTensor, idx: RawTensor): RawTensor {
  const C = table.shape[1],
    N = idx.size;
  const out = e.empty([N, C], table.dtype);
  if (N * C > 0) e.kernels.sampling.gatherRows(e.ptr(table), e.ptr(idx), e.ptr(out), C, 0, N);
  return out;
}

export function scatterAddRowsWasm(e: WasmEngine, grad: RawTensor, idx: RawTensor, rows: number): RawTensor {
  const [N, C] = grad.shape;
  const k = e.kernels.sampling;
  const out = e.empty([rows, C]);
  if (rows * C === 0) return out;
  const scratch = e.scratch(k.scatterScratchBytes(N, rows));
  k.scatterAddRows(e.ptr(grad), e.ptr(idx), e.ptr(out), scratch, N, rows, C, 0, rows);
  return out;
}

/** Words per row of a tensor's first dimension. */
const rowWords = (t: RawTensor) => t.shape.slice(1).reduce((x, y) => x * y, 1);

export function concatRowsWasm(e: WasmEngine, a: RawTensor, b: RawTensor): RawTensor {
  const [na, nb] = [a.shape[0], b.shape[0]];
  const out = e.empty([na + nb, ...a.shape.slice(1)], a.dtype);
  const w = rowWords(a);
  if (w === 0) return out;
  const k = e.kernels.sampling;
  const po = e.ptr(out);
  k.copyRows(e.ptr(a), 0, po, 0, w, 0, na);
  k.copyRows(e.ptr(b), 0, po, na, w, na, na + nb);
  return out;
}

export function sliceRowsWasm(e: WasmEngine, x: RawTensor, start: number, count: number): RawTensor {
  const out = e.empty([count, ...x.shape.slice(1)], x.dtype);
  const w = rowWords(x);
  if (w > 0) e.kernels.sampling.copyRows(e.ptr(x), start, e.ptr(out), 0, w, 0, count);
  return out;
}

// ---- the 2:4 compressed product (checked by src/ops/sparse24.ts) ----

export function sparse24MatmulWasm(e: WasmEngine, x: RawTensor, w: Sparse24Weight, m: number, outShape: number[]): RawTensor {
  const out = e.empty(outShape);
  if (m * w.n === 0 || w.k === 0) return out; // K = 0: an empty sum (out is zero-filled)
  const k = e.kernels.sampling;
  const scratch = e.scratch(k.sparse24ScratchBytes(w.k));
  k.sparse24(e.ptr(x), e.ptr(w.vals), e.ptr(w.idx), e.ptr(out), scratch, w.k, w.n, 0, m);
  return out;
}
