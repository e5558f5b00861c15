// Fused multi-head self-attention on GPT-2's packed qkv. GPU: shaders/attention.wgsl; WebAssembly:
// wasm/attention.ts (via src/wasm/attention.ts); CPU twin below (f64 accumulation). Layout: qkv
// [B, T, 3C] with q = cols [0, C), k = [C, 2C), v = [2C, 3C); head h uses cols h·D .. (h+1)·D within
// each, D = C / heads; scores scaled by 1/√D; causal masks keys j > i.
import reduceLib from '../../shaders/workgroup_reduce.wgsl?raw';
import src from '../../shaders/attention.wgsl?raw';
import type { Engine } from '../backend/engine';
import type { GpuEngine } from '../backend/gpu';
import { assertShape, type RawTensor } from '../backend/tensor';
import type { ShapeClass } from '../gpu/autotune';
import type { Kernel } from '../gpu/kernel';
import { params } from '../gpu/params';
import { attentionFused, attentionFusedBackward, FUSED_ATTENTION, fusedKeysPerBlock } from './attention-fused';
import { attentionMatmul, attentionMatmulBackward } from './attention-matmul';
import { attentionBackwardWasm, attentionWasm } from '../wasm/attention';
import { grid1d } from './grid';

export interface AttentionOpts {
  heads: number;
  causal: boolean;
  /**
   * GPU kernel variant; default 'matmul' (src/ops/attention-matmul.ts: the products on the blocked
   * matmul kernels, measured fastest on SwiftShader at every lab shape, docs/PERFORMANCE.md); 'row'
   * (T ≤ ATTN_ROW_MAX_T) or 'workgroup': one row per invocation or workgroup. 'fused': attention in one
   * pass (src/ops/attention-fused.ts, D ≤ 128), whose forward returns the log-sum-exp [B, H, T] as
   * `probs` and whose backward needs the forward's `out` too. Other engines ignore it (the CPU twin).
   */
  variant?: 'row' | 'workgroup' | 'fused' | 'matmul';
}

const k = (entry: string): Kernel => ({ name: 'attention', code: reduceLib + src, entry });

interface Dims {
  B: number;
  T: number;
  C: number;
  H: number;
  D: number;
}

function dims(op: string, qkv: RawTensor, opts: AttentionOpts): Dims {
  if (qkv.dtype !== 'f32') throw new Error(`${op}: qkv must be f32, got ${qkv.dtype}`);
  if (qkv.shape.length !== 3) throw new Error(`${op}: qkv must be [B, T, 3C], got [${qkv.shape.join(', ')}]`);
  const [B, T, C3] = qkv.shape;
  if (C3 % 3 !== 0 || C3 === 0) throw new Error(`${op}: the last dim of qkv (${C3}) must be 3·C with C ≥ 1`);
  const C = C3 / 3;
  const H = opts.heads;
  if (!Number.isInteger(H) || H < 1 || C % H !== 0) throw new Error(`${op}: heads (${H}) must be a positive integer dividing C = ${C}`);
  return { B, T, C, H, D: C / H };
}

/** The Params of attention.wgsl and attention_fused.wgsl; `last`: pad, or the fused kernels' keys per block. */
function attnParams(d: Dims, causal: boolean, last = 0): ArrayBuffer {
  return params()
    .u32(d.B)
    .u32(d.T)
    .u32(d.C)
    .u32(d.H)
    .u32(d.D)
    .u32(causal ? 1 : 0)
    .f32(1 / Math.sqrt(d.D))
    .u32(last)
    .build();
}

/** Rows of up to this many keys use the one-invocation-per-row kernels (no barriers). */
export const ATTN_ROW_MAX_T = 512;
/** The per-row dqkv kernel keeps 3·D accumulators in private memory: D up to 64 (MAX_D_ROW in WGSL). */
export const ATTN_ROW_MAX_D = 64;
/** The built-in GPU variant (no tuning, or a CPU adapter). */
export const ATTENTION_BUILT_IN: AttentionVariant = 'matmul';
/** The row-wise kernels of a shape: one invocation per row up to ATTN_ROW_MAX_T keys, else a workgroup. */
const rowsFor = (T: number): AttentionVariant => (T <= ATTN_ROW_MAX_T ? 'row' : 'workgroup');

export type AttentionVariant = NonNullable<AttentionOpts['variant']>;
const ATTENTION_VARIANTS: readonly AttentionVariant[] = ['row', 'workgroup', 'fused', 'matmul'];

/** The autotuner's class of an attention shape: the built-in choice by T, and the fused pass where D allows it. */
export interface AttentionShapeClass extends ShapeClass<AttentionVariant> {
  dims: { B: number; T: number; C: number; H: number };
  causal: boolean;
}

const attentionClassKey = (d: { B: number; T: number; C: number; H: number }, causal: boolean) =>
  `attention:${causal ? 'c' : 'n'}:b${d.B}:t${d.T}:c${d.C}:h${d.H}`;

export function attentionShapeClass(d: { B: number; T: number; C: number; H: number }, causal: boolean): AttentionShapeClass {
  const builtIn = ATTENTION_BUILT_IN;
  const candidates: AttentionVariant[] = [builtIn, rowsFor(d.T)];
  if (d.C / d.H <= FUSED_ATTENTION.maxD) candidates.push('fused');
  return { key: attentionClassKey(d, causal), builtIn, candidates, dims: { B: d.B, T: d.T, C: d.C, H: d.H }, causal };
}

/**
 * The variant an attention call runs: forced by opts, else on a tuned GPU engine its pick for the
 * shape class (a pick that does not fit, e.g. a stale cache, is ignored), else the built-in by T.
 * Resolve it once per forward and pass it to the backward (src/autograd/fn/attention.ts): the
 * backward must match the forward's saved tensors (probabilities, or the fused pass's lse).
 */
export function attentionVariant(e: Engine, qkv: RawTensor, opts: AttentionOpts): AttentionVariant | undefined {
  if (opts.variant || e.kind !== 'gpu' || !e.wantsShapeClasses) return opts.variant;
  const d = dims('attention', qkv, opts);
  return tunedAttentionVariant(e, d, opts.causal);
}

function tunedAttentionVariant(e: GpuEngine, d: Dims, causal: boolean): AttentionVariant | undefined {
  if (e.isCollecting) e.noteShapeClass(attentionShapeClass(d, causal));
  const pick = e.picks.get(attentionClassKey(d, causal)) as AttentionVariant | undefined;
  if (!pick || !ATTENTION_VARIANTS.includes(pick) || (pick === 'fused' && d.D > FUSED_ATTENTION.maxD)) return undefined;
  return pick;
}

export function attention(e: Engine, qkv: RawTensor, opts: AttentionOpts): { out: RawTensor; probs: RawTensor } {
  const dm = dims('attention', qkv, opts);
  const { B, T, C, H, D } = dm;
  const variant = opts.variant ?? ATTENTION_BUILT_IN;
  if (variant === 'fused' && e.kind === 'gpu') {
    const f = attentionFused(e, qkv, dm, attnParams(dm, opts.causal, fusedKeysPerBlock(D))); // no [B, H, T, T]: probs is the lse
    return { out: f.out, probs: f.lse };
  }
  if (variant === 'matmul' && e.kind === 'gpu') return attentionMatmul(e, qkv, dm, opts.causal);
  if (e.kind === 'wasm') return attentionWasm(e, qkv, dm, opts.causal);
  const out = e.empty([B, T, C]);
  const probs = e.empty([B, H, T, T]);
  if (e.kind !== 'gpu') {
    const Q = qkv.f32,
      P = probs.f32,
      O = out.f32;
    const C3 = 3 * C,
      scale = 1 / Math.sqrt(D);
    const s = new Float64Array(T);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < T; i++) {
          const nk = opts.causal ? i + 1 : T;
          const q0 = (b * T + i) * C3 + h * D;
          let m = -Infinity;
          for (let j = 0; j < nk; j++) {
            const k0 = (b * T + j) * C3 + C + h * D;
            let dot = 0;
            for (let d = 0; d < D; d++) dot += Q[q0 + d] * Q[k0 + d];
            s[j] = dot * scale;
            m = Math.max(m, s[j]);
          }
          let sum = 0;
          for (let j = 0; j < nk; j++) sum += s[j] = Math.exp(s[j] - m);
          const prow = ((b * H + h) * T + i) * T;
          for (let j = 0; j < T; j++) P[prow + j] = j < nk ? s[j] / sum : 0;
          for (let d = 0; d < D; d++) {
            let acc = 0;
            // f64 probabilities (s/sum), not the stored ones, so the f32 engine's twin is f64 throughout
            for (let j = 0; j < nk; j++) acc += (s[j] / sum) * Q[(b * T + j) * C3 + 2 * C + h * D + d];
            O[(b * T + i) * C + h * D + d] = acc;
          }
        }
    return { out, probs };
  }
  const row = variant === 'row';
  e.dispatch(k(row ? 'attn_forward_row' : 'attn_forward'), {
    params: attnParams(dm, opts.causal),
    bindings: [qkv, null, probs, out],
    workgroups: row ? grid1d(B * H * T) : grid1d(B * H * T, 1),
  });
  return { out, probs };
}

/** `out`: the forward's output, needed by the 'fused' variant only (its `probs` is the lse). */
export function attentionBackward(e: Engine, dout: RawTensor, qkv: RawTensor, probs: RawTensor, opts: AttentionOpts, out?: RawTensor): RawTensor {
  const dm = dims('attentionBackward', qkv, opts);
  const { B, T, C, H, D } = dm;
  assertShape('attentionBackward dout', dout.shape, [B, T, C]);
  const variant = opts.variant ?? ATTENTION_BUILT_IN;
  if (variant === 'fused' && e.kind === 'gpu') {
    if (!out) throw new Error("attentionBackward: the 'fused' variant needs the forward's out");
    return attentionFusedBackward(e, dout, qkv, out, probs, dm, attnParams(dm, opts.causal, fusedKeysPerBlock(D)));
  }
  assertShape('attentionBackward probs', probs.shape, [B, H, T, T]);
  if (variant === 'matmul' && e.kind === 'gpu') return attentionMatmulBackward(e, dout, qkv, probs, dm, opts.causal);
  if (e.kind === 'wasm') return attentionBackwardWasm(e, dout, qkv, probs, dm, opts.causal);
  const dqkv = e.empty(qkv.shape);
  if (e.kind !== 'gpu') {
    const Q = qkv.f32,
      P = probs.f32,
      G = dout.f32,
      DQ = dqkv.f32;
    const C3 = 3 * C,
      scale = 1 / Math.sqrt(D);
    DQ.fill(0);
    const dS = new Float64Array(T);
    const acc = new Float64Array(B * T * C3); // f64 accumulators, rounded to the output once
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < T; i++) {
          const nk = opts.causal ? i + 1 : T;
          const prow = ((b * H + h) * T + i) * T;
          const g0 = (b * T + i) * C + h * D;
          const q0 = (b * T + i) * C3 + h * D;
          let dot = 0;
          for (let j = 0; j < nk; j++) {
            const v0 = (b * T + j) * C3 + 2 * C + h * D;
            let dp = 0;
            for (let d = 0; d < D; d++) dp += G[g0 + d] * Q[v0 + d];
            dS[j] = dp;
            dot += P[prow + j] * dp;
          }
          for (let j = 0; j < nk; j++) {
            const pij = P[prow + j];
            const ds = pij * (dS[j] - dot) * scale;
            const k0 = (b * T + j) * C3 + C + h * D;
            for (let d = 0; d < D; d++) {
              acc[q0 + d] += ds * Q[k0 + d]; // dq_i
              acc[k0 + d] += ds * Q[q0 + d]; // dk_j
              acc[k0 + C + d] += pij * G[g0 + d]; // dv_j
            }
          }
        }
    for (let i = 0; i < acc.length; i++) DQ[i] = acc[i];
    return dqkv;
  }
  const u = attnParams(dm, opts.causal);
  // Scratch for dS; released right away: the pool hands a buffer out again only after a submit,
  // and the dispatches recorded here come before that submit.
  const ds = e.empty([B, H, T, T]);
  const row = variant === 'row';
  e.dispatch(k(row ? 'attn_backward_ds_row' : 'attn_backward_ds'), {
    params: u,
    bindings: [qkv, dout, probs, null, ds],
    workgroups: row ? grid1d(B * H * T) : grid1d(B * H * T, 1),
  });
  if (row && C / opts.heads <= ATTN_ROW_MAX_D) {
    e.dispatch(k('attn_backward_dqkv_row'), { params: u, bindings: [qkv, dout, probs, null, ds, dqkv], workgroups: grid1d(B * H * T) });
  } else {
    e.dispatch(k('attn_backward_dqkv'), { params: u, bindings: [qkv, dout, probs, null, ds, dqkv], workgroups: grid1d(B * T * 3 * C) });
  }
  ds.dispose();
  return dqkv;
}
