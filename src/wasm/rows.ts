// Callers of the WebAssembly row kernels (wasm/rows.ts) on the WasmEngine's memory: the fused lm-head
// cross-entropy and the plain cross-entropy, the GELUs, layer norm, softmax and the elementwise ops.
// The CPU twins and the checks are in src/ops/*.ts; each op checks its operands before calling here.
// Every call covers its whole range ([0, rows), [0, elements) or [0, cols)) in one kernel call: the
// kernels take the range as their last two parameters, so a thread pool can split it.
// Pointers are taken after every allocation (a grow keeps byte offsets valid, not typed arrays).
import type { WasmEngine } from '../backend/wasm';
import type { RawTensor } from '../backend/tensor';
import type { BinaryOp } from '../ops/elementwise';

/** The exports of wasm/rows.ts (pointers are byte offsets into the engine's memory; bools are 0 or 1). */
export interface RowsExports {
  rowsVersion(): number;
  lmChunkLse(z: number, targets: number, state: number, vc: number, v0: number, rowStart: number, rowEnd: number): void;
  lmFinish(state: number, lse: number, rowLoss: number, rowStart: number, rowEnd: number): number;
  lmDlogits(z: number, dz: number, targets: number, lse: number, g: number, vc: number, v0: number, rowStart: number, rowEnd: number): void;
  sumF64(p: number, n: number): number;
  geluForward(x: number, out: number, exact: number, start: number, end: number): void;
  geluBackward(dy: number, x: number, dx: number, exact: number, start: number, end: number): void;
  layerNormForward(
    x: number,
    gamma: number,
    beta: number,
    y: number,
    mean: number,
    rstd: number,
    cols: number,
    eps: number,
    rowStart: number,
    rowEnd: number,
  ): void;
  layerNormBackwardDx(dy: number, x: number, gamma: number, mean: number, rstd: number, dx: number, cols: number, rowStart: number, rowEnd: number): void;
  layerNormParamGrads(
    dy: number,
    x: number,
    mean: number,
    rstd: number,
    dgamma: number,
    dbeta: number,
    rows: number,
    cols: number,
    colStart: number,
    colEnd: number,
  ): void;
  softmaxForward(x: number, y: number, cols: number, rowStart: number, rowEnd: number): void;
  softmaxBackward(y: number, dy: number, dx: number, cols: number, rowStart: number, rowEnd: number): void;
  binary(op: number, a: number, b: number, out: number, nb: number, start: number, end: number): void;
  scale(a: number, out: number, alpha: number, start: number, end: number): void;
  axpy(y: number, x: number, alpha: number, start: number, end: number): void;
  sumRepeat(a: number, out: number, nb: number, reps: number, start: number, end: number): void;
  reduceSum(x: number, square: number, start: number, end: number): number;
  absDiffSum(a: number, b: number, start: number, end: number): number;
  reduceMax(x: number, start: number, end: number): number;
}

/** Bytes of the per-row cross-entropy state (running max, running sum, target logit: three f64). */
const STATE_BYTES = 24;
/** Scratch parts start on this boundary (the matmul's packed panels want 16). */
const ALIGN = 64;
const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

/** The twins read these through .f32, which throws for another dtype: the same error here. */
function needF32(...ts: RawTensor[]): void {
  for (const t of ts) void t.f32;
}

/** The check of the twins: every target lies in [0, V) (a kernel would silently skip it). */
function checkTargets(op: string, targets: RawTensor, V: number): void {
  const T = targets.data;
  for (let r = 0; r < T.length; r++) {
    if (!(T[r] < V)) throw new Error(`${op}: target ${T[r]} at row ${r} is out of range [0, ${V})`);
  }
}

export interface LmHeadWasmDims {
  N: number;
  C: number;
  V: number;
  /** Vocabulary rows per chunk (lmHeadChunk). */
  chunk: number;
}

/**
 * src/ops/lm-head.ts lmHeadLoss: per chunk of vocabulary rows, z = x·W_cᵀ by the matmul kernel (W_c
 * read in place: rows v0… of W are contiguous) into scratch, then the online log-sum-exp per row.
 */
export function lmHeadLossWasm(e: WasmEngine, x: RawTensor, W: RawTensor, targets: RawTensor, d: LmHeadWasmDims): { loss: RawTensor; lse: RawTensor } {
  const { N, C, V, chunk } = d;
  checkTargets('lmHeadLoss', targets, V);
  const loss = e.empty([1]);
  const lse = e.empty([N]);
  const mm = e.kernels.matmul,
    k = e.kernels.rows;
  const mmBytes = align(mm.scratchBytes(C, chunk));
  const zBytes = align(N * chunk * 4);
  const base = e.scratch(mmBytes + zBytes + N * STATE_BYTES);
  const z = base + mmBytes,
    state = z + zBytes;
  const px = e.ptr(x),
    pW = e.ptr(W),
    pt = e.ptr(targets);
  for (let v0 = 0; v0 < V; v0 += chunk) {
    const vc = Math.min(chunk, V - v0);
    mm.matmul(px, pW + v0 * C * 4, 0, 0, z, base, N, C, vc, 0, 1, 0, N);
    k.lmChunkLse(z, pt, state, vc, v0, 0, N);
  }
  loss.f32[0] = k.lmFinish(state, e.ptr(lse), 0, 0, N) / N;
  return { loss, lse };
}

/**
 * src/ops/lm-head.ts lmHeadBackward: per chunk, z = x·W_cᵀ again, turned in place into
 * dz = dloss/N·(softmax − onehot), then dx (+)= dz·W_c (chunks after the first through scratch and
 * axpy) and dW rows v0… = dzᵀ·x written in place.
 */
export function lmHeadBackwardWasm(
  e: WasmEngine,
  dloss: RawTensor,
  x: RawTensor,
  W: RawTensor,
  targets: RawTensor,
  lse: RawTensor,
  want: { dx: boolean; dW: boolean },
  d: LmHeadWasmDims,
): { dx: RawTensor | null; dW: RawTensor | null } {
  const { N, C, V, chunk } = d;
  checkTargets('lmHeadBackward', targets, V);
  const dx = want.dx ? e.empty(x.shape) : null;
  const dW = want.dW ? e.empty([V, C]) : null;
  if (!dx && !dW) return { dx, dW };
  const mm = e.kernels.matmul,
    k = e.kernels.rows;
  const multi = V > chunk;
  const mmBytes = align(Math.max(mm.scratchBytes(C, chunk), dx ? mm.scratchBytes(chunk, C) : 0, dW ? mm.scratchBytes(N, C) : 0));
  const zBytes = align(N * chunk * 4);
  const base = e.scratch(mmBytes + zBytes + (dx && multi ? N * C * 4 : 0));
  const z = base + mmBytes,
    dxc = z + zBytes;
  const g = dloss.f32[0] / N;
  const px = e.ptr(x),
    pW = e.ptr(W),
    pt = e.ptr(targets),
    pl = e.ptr(lse),
    pdx = dx ? e.ptr(dx) : 0,
    pdW = dW ? e.ptr(dW) : 0;
  for (let v0 = 0; v0 < V; v0 += chunk) {
    const vc = Math.min(chunk, V - v0);
    const wr = pW + v0 * C * 4;
    mm.matmul(px, wr, 0, 0, z, base, N, C, vc, 0, 1, 0, N);
    k.lmDlogits(z, z, pt, pl, g, vc, v0, 0, N);
    if (dx) {
      mm.matmul(z, wr, 0, 0, v0 === 0 ? pdx : dxc, base, N, vc, C, 0, 0, 0, N);
      if (v0 > 0) k.axpy(pdx, dxc, 1, 0, N * C);
    }
    // dz [N, vc] read as op(A) = dzᵀ [vc, N] (transA)
    if (dW) mm.matmul(z, px, 0, 0, pdW + v0 * C * 4, base, vc, N, C, 1, 0, 0, vc);
  }
  return { dx, dW };
}

/** src/ops/loss.ts crossEntropy: the lm-head's kernels on one chunk of V logits. */
export function crossEntropyWasm(
  e: WasmEngine,
  logits: RawTensor,
  targets: RawTensor,
  N: number,
  V: number,
): { loss: RawTensor; lse: RawTensor; rowLoss: RawTensor } {
  checkTargets('crossEntropy', targets, V);
  const loss = e.empty([1]);
  const lse = e.empty([N]);
  const rowLoss = e.empty([N]);
  const k = e.kernels.rows;
  const state = e.scratch(N * STATE_BYTES);
  k.lmChunkLse(e.ptr(logits), e.ptr(targets), state, V, 0, 0, N);
  loss.f32[0] = k.lmFinish(state, e.ptr(lse), e.ptr(rowLoss), 0, N) / N;
  return { loss, lse, rowLoss };
}

/** src/ops/loss.ts crossEntropyBackward. */
export function crossEntropyBackwardWasm(
  e: WasmEngine,
  dloss: RawTensor,
  logits: RawTensor,
  targets: RawTensor,
  lse: RawTensor,
  N: number,
  V: number,
): RawTensor {
  needF32(lse);
  checkTargets('crossEntropyBackward', targets, V);
  const dlogits = e.empty(logits.shape);
  e.kernels.rows.lmDlogits(e.ptr(logits), e.ptr(dlogits), e.ptr(targets), e.ptr(lse), dloss.f32[0] / N, V, 0, 0, N);
  return dlogits;
}

export function geluWasm(e: WasmEngine, x: RawTensor, exact: boolean): RawTensor {
  const out = e.empty(x.shape);
  e.kernels.rows.geluForward(e.ptr(x), e.ptr(out), +exact, 0, x.size);
  return out;
}

export function geluBackwardWasm(e: WasmEngine, dy: RawTensor, x: RawTensor, exact: boolean): RawTensor {
  const dx = e.empty(x.shape);
  e.kernels.rows.geluBackward(e.ptr(dy), e.ptr(x), e.ptr(dx), +exact, 0, x.size);
  return dx;
}

export function layerNormWasm(
  e: WasmEngine,
  x: RawTensor,
  gamma: RawTensor,
  beta: RawTensor,
  eps: number,
  rows: number,
  cols: number,
): { y: RawTensor; mean: RawTensor; rstd: RawTensor } {
  needF32(gamma, beta);
  const y = e.empty(x.shape);
  const mean = e.empty([rows]);
  const rstd = e.empty([rows]);
  e.kernels.rows.layerNormForward(e.ptr(x), e.ptr(gamma), e.ptr(beta), e.ptr(y), e.ptr(mean), e.ptr(rstd), cols, eps, 0, rows);
  return { y, mean, rstd };
}

export function layerNormBackwardWasm(
  e: WasmEngine,
  dy: RawTensor,
  x: RawTensor,
  gamma: RawTensor,
  mean: RawTensor,
  rstd: RawTensor,
  needParamGrads: boolean,
  rows: number,
  cols: number,
): { dx: RawTensor; dgamma: RawTensor | null; dbeta: RawTensor | null } {
  needF32(dy, gamma, mean, rstd);
  const dx = e.empty(x.shape);
  const dgamma = needParamGrads ? e.empty([cols]) : null;
  const dbeta = needParamGrads ? e.empty([cols]) : null;
  const k = e.kernels.rows;
  const [pdy, px, pm, pr] = [e.ptr(dy), e.ptr(x), e.ptr(mean), e.ptr(rstd)];
  k.layerNormBackwardDx(pdy, px, e.ptr(gamma), pm, pr, e.ptr(dx), cols, 0, rows);
  if (dgamma && dbeta) k.layerNormParamGrads(pdy, px, pm, pr, e.ptr(dgamma), e.ptr(dbeta), rows, cols, 0, cols);
  return { dx, dgamma, dbeta };
}

export function softmaxWasm(e: WasmEngine, x: RawTensor, rows: number, cols: number): RawTensor {
  const y = e.empty(x.shape);
  e.kernels.rows.softmaxForward(e.ptr(x), e.ptr(y), cols, 0, rows);
  return y;
}

export function softmaxBackwardWasm(e: WasmEngine, dy: RawTensor, y: RawTensor, rows: number, cols: number): RawTensor {
  needF32(dy);
  const dx = e.empty(y.shape);
  e.kernels.rows.softmaxBackward(e.ptr(y), e.ptr(dy), e.ptr(dx), cols, 0, rows);
  return dx;
}

const BINARY_OP: Record<BinaryOp, number> = { add: 0, sub: 1, mul: 2 };

export function binaryWasm(e: WasmEngine, op: BinaryOp, a: RawTensor, b: RawTensor): RawTensor {
  needF32(a, b);
  const out = e.empty(a.shape);
  e.kernels.rows.binary(BINARY_OP[op], e.ptr(a), e.ptr(b), e.ptr(out), b.size, 0, a.size);
  return out;
}

export function scaleWasm(e: WasmEngine, a: RawTensor, alpha: number): RawTensor {
  needF32(a);
  const out = e.empty(a.shape);
  e.kernels.rows.scale(e.ptr(a), e.ptr(out), alpha, 0, a.size);
  return out;
}

export function axpyIntoWasm(e: WasmEngine, y: RawTensor, x: RawTensor, alpha: number): void {
  needF32(x, y);
  e.kernels.rows.axpy(e.ptr(y), e.ptr(x), alpha, 0, x.size);
}

/** Into `out` (the op's, already allocated and checked: its size divides a's). */
export function sumRepeatWasm(e: WasmEngine, a: RawTensor, out: RawTensor): RawTensor {
  needF32(a);
  const nb = out.size;
  e.kernels.rows.sumRepeat(e.ptr(a), e.ptr(out), nb, a.size / nb, 0, nb);
  return out;
}

/** A [1] tensor holding v (rounded to f32). */
function scalar(e: WasmEngine, v: number): RawTensor {
  const out = e.empty([1]);
  out.f32[0] = v;
  return out;
}

/** src/ops/reduce.ts sum (square: sumSquares), divided by `divisor` (mean: the size); f64 throughout. */
export function reduceSumWasm(e: WasmEngine, x: RawTensor, square: boolean, divisor = 1): RawTensor {
  return scalar(e, e.kernels.rows.reduceSum(e.ptr(x), +square, 0, x.size) / divisor);
}

/** src/ops/reduce.ts globalSumSquares: the tensors' f64 sums of squares, added. */
export function globalSumSquaresWasm(e: WasmEngine, xs: RawTensor[]): RawTensor {
  let s = 0;
  for (const x of xs) if (x.size > 0) s += e.kernels.rows.reduceSum(e.ptr(x), 1, 0, x.size);
  return scalar(e, s);
}

/** src/ops/reduce.ts l1Distance: mean |a − b|. */
export function l1DistanceWasm(e: WasmEngine, a: RawTensor, b: RawTensor): RawTensor {
  return scalar(e, e.kernels.rows.absDiffSum(e.ptr(a), e.ptr(b), 0, a.size) / a.size);
}

/** src/ops/reduce.ts max (the twin's NaN rule: see wasm/rows.ts reduceMax). */
export function reduceMaxWasm(e: WasmEngine, x: RawTensor): RawTensor {
  return scalar(e, e.kernels.rows.reduceMax(e.ptr(x), 0, x.size));
}
