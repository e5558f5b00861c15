// Attention in one pass, FlashAttention-style (shaders/attention_fused.wgsl): the 'fused' variant of
// src/ops/attention.ts. The forward saves the output and the log-sum-exp per query row [B, H, T]
// instead of the probabilities [B, H, T, T]; the backward recomputes P from them. The CPU twin is
// attention.ts's (the same math); the row kernels there stay the reference and the default.
import src from '../../shaders/attention_fused.wgsl?raw';
import type { GpuEngine } from '../backend/gpu';
import { assertShape, type RawTensor } from '../backend/tensor';
import type { Kernel } from '../gpu/kernel';
import { ceilDiv, grid1d } from './grid';

/**
 * Sizes of the fused kernels (the WGSL takes them from here as FA_* constants). A workgroup of `rows`
 * invocations owns `rows` query rows (or keys, for dK/dV); per step it stages `keysPerBlock(D)` rows
 * of two operands (K and V, or Q and dO) in `kvFloats` floats of workgroup memory. Private
 * accumulators are sized by the head-dim tier (the smallest of `dTiers` ≥ D), one module per tier.
 * Workgroup storage: staging + the forward's scores (rows × maxKeys) + lse/delta (2 × maxKeys).
 */
export const FUSED_ATTENTION = (() => {
  const rows = 64,
    kvFloats = 2048,
    maxKeys = 16,
    dTiers = [16, 32, 64, 128] as const;
  return { rows, kvFloats, maxKeys, dTiers, maxD: dTiers[dTiers.length - 1], storageBytes: 4 * (kvFloats + rows * maxKeys + 2 * maxKeys) } as const;
})();

/** WebGPU's default maxComputeWorkgroupStorageSize: the fused kernels stay within it on any adapter. */
const DEFAULT_WORKGROUP_STORAGE = 16384;
if (FUSED_ATTENTION.storageBytes > DEFAULT_WORKGROUP_STORAGE) throw new Error('FUSED_ATTENTION: workgroup storage over 16 KiB');

/** Rows staged per block for head dim D: two operands of D floats each fit kvFloats, at most maxKeys. */
export const fusedKeysPerBlock = (D: number): number => Math.max(1, Math.min(FUSED_ATTENTION.maxKeys, Math.floor(FUSED_ATTENTION.kvFloats / (2 * D))));

const tierOf = (D: number): number => {
  const tier = FUSED_ATTENTION.dTiers.find((t) => D <= t);
  if (tier === undefined)
    throw new Error(`attention (fused): head dim ${D} is over the fused kernels' limit of ${FUSED_ATTENTION.maxD}; use the 'row' or 'workgroup' variant`);
  return tier;
};

const moduleText = new Map<number, string>();
function kernel(entry: string, D: number): Kernel {
  const tier = tierOf(D);
  let code = moduleText.get(tier);
  if (!code) {
    code = [
      `const FA_ROWS: u32 = ${FUSED_ATTENTION.rows}u;`,
      `const FA_KV: u32 = ${FUSED_ATTENTION.kvFloats}u;`,
      `const FA_MAXBC: u32 = ${FUSED_ATTENTION.maxKeys}u;`,
      `const FA_MAXD: u32 = ${tier}u;`,
      src,
    ].join('\n');
    moduleText.set(tier, code);
  }
  // the tier is in the name: the pipeline cache keys on name + entry + overrides, not on the code
  return { name: `attention_fused_d${tier}`, code, entry };
}

/**
 * The shapes (attention.ts's dims); `u`, the uniforms: attention.ts's Params (B, T, C, H, D, causal,
 * scale 1/√D) with fusedKeysPerBlock(D) in its last word.
 */
export interface FusedDims {
  B: number;
  T: number;
  C: number;
  H: number;
  D: number;
}

/** One workgroup per (batch·head, block of `rows` query or key rows). */
const grid = (d: FusedDims) => grid1d(d.B * d.H * ceilDiv(d.T, FUSED_ATTENTION.rows), 1);

/** Forward: out [B, T, C] and the log-sum-exp of each query row's scaled scores, lse [B, H, T]. */
export function attentionFused(e: GpuEngine, qkv: RawTensor, d: FusedDims, u: ArrayBuffer): { out: RawTensor; lse: RawTensor } {
  tierOf(d.D);
  const out = e.empty([d.B, d.T, d.C]);
  const lse = e.empty([d.B, d.H, d.T]);
  e.dispatch(kernel('fa_forward', d.D), { params: u, bindings: [qkv, null, out, lse], workgroups: grid(d) });
  return { out, lse };
}

/** Backward: dqkv [B, T, 3C] from dout, the forward's input, output and lse. Two dispatches, no atomics. */
export function attentionFusedBackward(e: GpuEngine, dout: RawTensor, qkv: RawTensor, out: RawTensor, lse: RawTensor, d: FusedDims, u: ArrayBuffer): RawTensor {
  assertShape('attentionBackward (fused) out', out.shape, [d.B, d.T, d.C]);
  assertShape('attentionBackward (fused) lse', lse.shape, [d.B, d.H, d.T]);
  const dqkv = e.empty(qkv.shape);
  // delta_i = dO_i · O_i, written by the dq pass and read by the dk/dv pass; released right away (the
  // pool hands it out again only after a submit, which comes after both dispatches)
  const delta = e.empty([d.B, d.H, d.T]);
  e.dispatch(kernel('fa_backward_dq', d.D), { params: u, bindings: [qkv, dout, out, lse, delta, dqkv], workgroups: grid(d) });
  e.dispatch(kernel('fa_backward_dkdv', d.D), { params: u, bindings: [qkv, dout, null, lse, delta, dqkv], workgroups: grid(d) });
  delta.dispose();
  return dqkv;
}
