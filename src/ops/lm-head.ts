// Fused LM head + mean cross-entropy: loss = mean_r (lse_r − z[r, t_r]) with z = x · Wᵀ, computed over
// chunks of vocabulary rows so no [N, V] logits tensor exists (GPT-2: V = 50257; [8·1024, V] is 1.6 GB).
// Forward: per chunk, z_c = x · W_cᵀ [N, vc] (the matmul op), folded into a running max m and sum
// s = Σ exp(z − m) per row (online log-sum-exp: the old sum is rescaled by exp(m_old − m_new) ≤ 1).
// Backward recomputes each chunk: dz_c = dloss/N · (softmax_c − onehot_c), dx += dz_c · W_c and, when
// wanted, dW_c = dz_cᵀ · x (rows v0…v0+vc of dW).
// GPU: shaders/lm_head.wgsl plus matmul; the CPU twin below (f64 accumulation) follows the same chunks.
// Memory on the GPU: one chunk of logits [N, chunk], one chunk of W rows (and of dW rows), allocated
// once and reused by every chunk. Reuse is the point: a buffer released while recording becomes
// reusable only after the next submit (src/gpu/buffers.ts), so a fresh buffer per chunk would add up
// to the whole [N, V] again within one step.
// Out-of-range targets: the CPU twin throws; the GPU clamps a target ≥ V to V − 1 (no out-of-bounds
// read) and the loss is silently wrong: validate targets on the host.
import reduceLib from '../../shaders/workgroup_reduce.wgsl?raw';
import src from '../../shaders/lm_head.wgsl?raw';
import type { Engine } from '../backend/engine';
import type { GpuEngine } from '../backend/gpu';
import { RawTensor } from '../backend/tensor';
import type { Kernel } from '../gpu/kernel';
import { params } from '../gpu/params';
import { axpyInto } from './elementwise';
import { grid1d } from './grid';
import { matmul } from './matmul';
import { lmHeadBackwardWasm, lmHeadLossWasm } from '../wasm/rows';

const k = (entry: string): Kernel => ({ name: 'lm_head', code: reduceLib + src, entry });

/** Largest default chunk of vocabulary rows. */
export const LM_HEAD_MAX_CHUNK = 8192;
/** The default chunk keeps a chunk of logits [N, chunk] at or under this many elements (32 MB). */
const CHUNK_ELEMENTS = 2 ** 23;

export interface LmHeadOpts {
  /** Vocabulary rows per chunk (≥ 1). Default: lmHeadChunk(N, V). */
  chunk?: number;
}

/**
 * Rows per chunk: the given one (≥ 1, at most V), else the largest power of two ≤ 2²³ / N, within
 * [64, 8192] (N = 1024 → 8192: 7 chunks of GPT-2's vocabulary; N = 8192 → 1024).
 */
export function lmHeadChunk(N: number, V: number, chunk?: number): number {
  if (chunk !== undefined) {
    if (!Number.isInteger(chunk) || chunk < 1) throw new Error(`lmHeadLoss: chunk must be an integer ≥ 1, got ${chunk}`);
    return Math.min(chunk, V);
  }
  const fit = 2 ** Math.floor(Math.log2(Math.max(1, CHUNK_ELEMENTS / N)));
  return Math.min(V, Math.max(64, Math.min(LM_HEAD_MAX_CHUNK, fit)));
}

interface Dims {
  N: number;
  C: number;
  V: number;
}

/** x [..., C] (leading dims fold into N rows), W [V, C], targets u32 [N]. */
function dims(op: string, x: RawTensor, W: RawTensor, targets: RawTensor): Dims {
  const f = (s: readonly number[]) => `[${s.join(', ')}]`;
  if (x.dtype !== 'f32' || W.dtype !== 'f32') throw new Error(`${op}: x and W must be f32, got ${x.dtype} and ${W.dtype}`);
  if (x.shape.length < 2) throw new Error(`${op}: x must be [N, C], got ${f(x.shape)}`);
  if (W.shape.length !== 2) throw new Error(`${op}: W must be [V, C], got ${f(W.shape)}`);
  const [V, C] = W.shape;
  if (x.shape[x.shape.length - 1] !== C) throw new Error(`${op}: x ${f(x.shape)} and W ${f(W.shape)} differ in C`);
  const N = x.size / C;
  if (!(N >= 1 && V >= 1 && C >= 1)) throw new Error(`${op}: needs N, V, C ≥ 1, got x ${f(x.shape)} and W ${f(W.shape)}`);
  if (targets.dtype !== 'u32') throw new Error(`${op}: targets must be u32, got ${targets.dtype}`);
  if (targets.size !== N) throw new Error(`${op}: ${targets.size} targets for ${N} rows of x`);
  return { N, C, V };
}

/** CPU twin's check: every target lies in [0, V). */
function cpuTargets(op: string, targets: RawTensor, V: number): ArrayLike<number> {
  const T = targets.data;
  for (let r = 0; r < T.length; r++) {
    if (!(T[r] < V)) throw new Error(`${op}: target ${T[r]} at row ${r} is out of range [0, ${V})`);
  }
  return T;
}

/** The first elements of t's storage under a smaller shape (not owning it; dispose t, not the view). */
function prefix(t: RawTensor, shape: number[]): RawTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return new RawTensor(t.engine, shape, t.dtype, t.cpu?.subarray(0, n) ?? null, t.gpu, false);
}

const uniforms = (N: number, V: number, v0: number, vc: number) => params().u32(N).u32(V).u32(v0).u32(vc).build();

/** Rows v0…v0+vc of W as a [vc, C] tensor: W itself for a single chunk, else copied into `wc`. */
function rowsOf(e: GpuEngine, W: RawTensor, wc: RawTensor | null, v0: number, vc: number, C: number): RawTensor {
  if (!wc) return W;
  e.copyRegion(W, v0 * C, wc, 0, vc * C);
  return prefix(wc, [vc, C]);
}

const dot = (A: ArrayLike<number>, a: number, B: ArrayLike<number>, b: number, n: number) => {
  let s = 0;
  for (let i = 0; i < n; i++) s += A[a + i] * B[b + i];
  return s;
};

/** Mean cross-entropy [1] of x·Wᵀ against targets, and the per-row log-sum-exp [N] the backward needs. */
export function lmHeadLoss(e: Engine, x: RawTensor, W: RawTensor, targets: RawTensor, opts: LmHeadOpts = {}): { loss: RawTensor; lse: RawTensor } {
  const { N, C, V } = dims('lmHeadLoss', x, W, targets);
  const chunk = lmHeadChunk(N, V, opts.chunk);
  if (e.kind === 'wasm') return lmHeadLossWasm(e, x, W, targets, { N, C, V, chunk });
  const loss = e.empty([1]);
  const lse = e.empty([N]);
  if (e.kind !== 'gpu') {
    const T = cpuTargets('lmHeadLoss', targets, V);
    const X = x.f32,
      Wd = W.f32;
    const m = new Float64Array(N),
      s = new Float64Array(N),
      zt = new Float64Array(N),
      z = new Float64Array(chunk);
    for (let v0 = 0; v0 < V; v0 += chunk) {
      const vc = Math.min(chunk, V - v0);
      for (let r = 0; r < N; r++) {
        let cm = -Infinity;
        for (let j = 0; j < vc; j++) cm = Math.max(cm, (z[j] = dot(X, r * C, Wd, (v0 + j) * C, C)));
        let cs = 0;
        for (let j = 0; j < vc; j++) cs += Math.exp(z[j] - cm);
        const nm = v0 === 0 ? cm : Math.max(m[r], cm);
        s[r] = v0 === 0 ? cs : s[r] * Math.exp(m[r] - nm) + cs * Math.exp(cm - nm);
        m[r] = nm;
        if (T[r] >= v0 && T[r] < v0 + vc) zt[r] = z[T[r] - v0];
      }
    }
    let total = 0;
    for (let r = 0; r < N; r++) {
      const l = m[r] + Math.log(s[r]);
      lse.f32[r] = l;
      total += l - zt[r];
    }
    loss.f32[0] = total / N;
    return { loss, lse };
  }
  const x2 = x.view([N, C]);
  const [runMax, runSum, zTarget] = [0, 1, 2].map(() => e.empty([N]));
  const z = e.empty([N * chunk]);
  const wc = V > chunk ? e.empty([chunk * C]) : null;
  for (let v0 = 0; v0 < V; v0 += chunk) {
    const vc = Math.min(chunk, V - v0);
    const zc = prefix(z, [N, vc]);
    matmul(e, x2, rowsOf(e, W, wc, v0, vc, C), { transB: true, out: zc });
    e.dispatch(k('lm_chunk_lse'), { params: uniforms(N, V, v0, vc), bindings: [zc, targets, runMax, runSum, zTarget], workgroups: grid1d(N, 1) });
  }
  e.dispatch(k('lm_finish'), { params: uniforms(N, V, 0, 0), bindings: [null, null, runMax, runSum, zTarget, lse, loss], workgroups: [1] });
  for (const t of [runMax, runSum, zTarget, z, wc]) t?.dispose();
  return { loss, lse };
}

export interface LmHeadGrads {
  /** ∂loss/∂x with x's shape, or null when not asked for. */
  dx: RawTensor | null;
  /** ∂loss/∂W [V, C], or null when not asked for. */
  dW: RawTensor | null;
}

/**
 * Gradients of lmHeadLoss scaled by dloss[0], which stays on the GPU (no readback). `lse` is the
 * forward's. Asks for dx and/or dW (a frozen W needs no dW: half the work, no [V, C] output).
 */
export function lmHeadBackward(
  e: Engine,
  dloss: RawTensor,
  x: RawTensor,
  W: RawTensor,
  targets: RawTensor,
  lse: RawTensor,
  want: { dx: boolean; dW: boolean },
  opts: LmHeadOpts = {},
): LmHeadGrads {
  const { N, C, V } = dims('lmHeadBackward', x, W, targets);
  if (dloss.size !== 1 || dloss.dtype !== 'f32') throw new Error(`lmHeadBackward: dloss must be one f32 value, got ${dloss.size} ${dloss.dtype}`);
  if (lse.size !== N || lse.dtype !== 'f32') throw new Error(`lmHeadBackward: lse must be f32 with ${N} elements, got ${lse.size} ${lse.dtype}`);
  const chunk = lmHeadChunk(N, V, opts.chunk);
  if (e.kind === 'wasm') return lmHeadBackwardWasm(e, dloss, x, W, targets, lse, want, { N, C, V, chunk });
  const dx = want.dx ? e.empty(x.shape) : null;
  const dW = want.dW ? e.empty([V, C]) : null;
  if (e.kind !== 'gpu') {
    const T = cpuTargets('lmHeadBackward', targets, V);
    const X = x.f32,
      Wd = W.f32,
      L = lse.f32;
    const g = dloss.f32[0] / N;
    const DX = new Float64Array(dx ? N * C : 0),
      DW = new Float64Array(dW ? V * C : 0);
    for (let v0 = 0; v0 < V; v0 += chunk) {
      const vc = Math.min(chunk, V - v0);
      for (let r = 0; r < N; r++) {
        for (let v = v0; v < v0 + vc; v++) {
          const d = g * (Math.exp(dot(X, r * C, Wd, v * C, C) - L[r]) - (v === T[r] ? 1 : 0));
          if (dx) for (let c = 0; c < C; c++) DX[r * C + c] += d * Wd[v * C + c];
          if (dW) for (let c = 0; c < C; c++) DW[v * C + c] += d * X[r * C + c];
        }
      }
    }
    dx?.f32.set(DX);
    dW?.f32.set(DW);
    return { dx, dW };
  }
  if (!dx && !dW) return { dx, dW };
  const x2 = x.view([N, C]);
  const multi = V > chunk;
  const z = e.empty([N * chunk]);
  const wc = multi ? e.empty([chunk * C]) : null;
  const dxc = dx && multi ? e.empty([N, C]) : null; // one chunk's dx, added into dx
  const dWc = dW && multi ? e.empty([chunk * C]) : null; // one chunk's dW rows, copied into dW
  for (let v0 = 0; v0 < V; v0 += chunk) {
    const vc = Math.min(chunk, V - v0);
    const zc = prefix(z, [N, vc]);
    const wr = rowsOf(e, W, wc, v0, vc, C);
    matmul(e, x2, wr, { transB: true, out: zc });
    // zc becomes dloss/N · (softmax − onehot) in place
    e.dispatch(k('lm_dlogits'), { params: uniforms(N, V, v0, vc), bindings: [zc, targets, null, null, null, lse, null, dloss], workgroups: grid1d(N * vc) });
    if (dx) {
      matmul(e, zc, wr, { out: v0 === 0 ? dx.view([N, C]) : dxc! });
      if (v0 > 0) axpyInto(e, dx, dxc!);
    }
    if (dW) {
      const out = dWc ? prefix(dWc, [vc, C]) : dW;
      matmul(e, zc, x2, { transA: true, out });
      if (dWc) e.copyRegion(out, 0, dW, v0 * C, vc * C);
    }
  }
  for (const t of [z, wc, dxc, dWc]) t?.dispose();
  return { dx, dW };
}
