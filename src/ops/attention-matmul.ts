// Attention as matmuls: the 'matmul' variant of src/ops/attention.ts. q, k, v (and dout) are
// gathered into one contiguous [B·H, T, D] matrix per head, the six products run as batched matmuls
// on the engine's register-blocked kernels (src/ops/matmul.ts), and four row-wise kernels
// (shaders/attention_matmul.wgsl) do the rest. Same saved tensor as the row kernels: the
// probabilities [B, H, T, T], so either variant's backward accepts the other's forward.
//
// Why: on a CPU adapter (SwiftShader) the row kernels gather q and k element by element for every
// score (~0.2 GFLOP/s), while the blocked matmuls reuse each load across a 16×8 register block
// (~2 GFLOP/s). With the causal mask the products compute the masked half too (twice the scores'
// FLOPs) and still win several-fold (docs/PERFORMANCE.md).
//
// Trap (non-finite values): the products multiply the masked (0) entries of P and dS too, and
// 0 · NaN = NaN. So a NaN or ±Inf in a later position's v reaches earlier rows of the output, and in
// the backward a non-finite q, k, v or dout reaches gradients of other positions of the same head,
// where the row kernels and the CPU twin keep it to the positions that see it. It never leaves its
// (batch, head); the run's non-finite check stops on it either way, and finite inputs give the same
// results. (Scores of masked keys are not read: the softmax writes 0 there.)
import src from '../../shaders/attention_matmul.wgsl?raw';
import type { GpuEngine } from '../backend/gpu';
import type { RawTensor } from '../backend/tensor';
import type { Kernel } from '../gpu/kernel';
import { params } from '../gpu/params';
import { grid1d } from './grid';
import { matmul } from './matmul';

const WG = 64;
const k = (entry: string): Kernel => ({ name: 'attention-matmul', code: `const WG: u32 = ${WG}u;\n${src}`, entry });

interface Dims {
  B: number;
  T: number;
  C: number;
  H: number;
  D: number;
}

function rowParams(d: Dims, causal: boolean, rowStride = 0, colOffset = 0): ArrayBuffer {
  return params()
    .u32(d.B)
    .u32(d.T)
    .u32(d.H)
    .u32(d.D)
    .u32(rowStride)
    .u32(colOffset)
    .u32(causal ? 1 : 0)
    .f32(1 / Math.sqrt(d.D))
    .build();
}

/** Columns [offset, offset + C) of x [B, T, stride] as [B·H, T, D] (head h = columns h·D … of the slice). */
function gatherHeads(e: GpuEngine, x: RawTensor, d: Dims, stride: number, offset: number): RawTensor {
  const out = e.empty([d.B * d.H, d.T, d.D]);
  e.dispatch(k('attn_gather_heads'), { params: rowParams(d, false, stride, offset), bindings: [x, out], workgroups: grid1d(out.size, WG) });
  return out;
}

/** The inverse of gatherHeads into `into` (every element of the slice written once). */
function scatterHeads(e: GpuEngine, x: RawTensor, into: RawTensor, d: Dims, stride: number, offset: number): void {
  e.dispatch(k('attn_scatter_heads'), { params: rowParams(d, false, stride, offset), bindings: [x, into], workgroups: grid1d(x.size, WG) });
}

export function attentionMatmul(e: GpuEngine, qkv: RawTensor, d: Dims, causal: boolean): { out: RawTensor; probs: RawTensor } {
  const { B, T, C, H } = d;
  const [q, kk, v] = [0, 1, 2].map((part) => gatherHeads(e, qkv, d, 3 * C, part * C));
  const probs = e.empty([B, H, T, T]);
  const s = probs.view([B * H, T, T]);
  matmul(e, q, kk, { transB: true, out: s }); // raw scores, then the probabilities in place
  e.dispatch(k('attn_softmax_rows'), { params: rowParams(d, causal), bindings: [null, s], workgroups: grid1d(B * H * T, WG) });
  const o = matmul(e, s, v); // [B·H, T, D]
  const out = e.empty([B, T, C]);
  scatterHeads(e, o, out, d, C, 0);
  // released at once: the pool hands a buffer out again only after the submit that follows these dispatches
  for (const t of [q, kk, v, o]) t.dispose();
  return { out, probs };
}

export function attentionMatmulBackward(e: GpuEngine, dout: RawTensor, qkv: RawTensor, probs: RawTensor, d: Dims, causal: boolean): RawTensor {
  const { B, T, C, H } = d;
  const [q, kk, v] = [0, 1, 2].map((part) => gatherHeads(e, qkv, d, 3 * C, part * C));
  const g = gatherHeads(e, dout, d, C, 0);
  const p = probs.view([B * H, T, T]);
  const dv = matmul(e, p, g, { transA: true }); // Pᵀ·dO
  const ds = matmul(e, g, v, { transB: true }); // dP = dO·Vᵀ, then dS in place
  e.dispatch(k('attn_ds_rows'), { params: rowParams(d, causal), bindings: [p, ds], workgroups: grid1d(B * H * T, WG) });
  const dq = matmul(e, ds, kk); // dS·K (dS carries the 1/√D scale)
  const dk = matmul(e, ds, q, { transA: true }); // dSᵀ·Q
  const dqkv = e.empty(qkv.shape);
  [dq, dk, dv].forEach((x, part) => scatterHeads(e, x, dqkv, d, 3 * C, part * C));
  for (const t of [q, kk, v, g, ds, dq, dk, dv]) t.dispose();
  return dqkv;
}
