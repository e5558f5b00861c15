// The WebAssembly attention (wasm/attention.ts), forward and backward, on the WasmEngine's memory.
// The CPU twin and the layouts are in src/ops/attention.ts, whose checks run before these are called.
// Each call is one parallelFor over the (batch·head) pairs [0, B·H): the kernels take [bhStart, bhEnd)
// and touch only memory those pairs own, so the engine's threads split it; the backward's dS row is
// per-thread scratch.
import type { WasmEngine } from '../backend/wasm';
import type { RawTensor } from '../backend/tensor';

export interface AttentionWasmDims {
  B: number;
  T: number;
  C: number;
  H: number;
}

/** The least multiply-adds worth a thread (as MATMUL_GRAIN in src/wasm/matmul.ts). */
const ATTENTION_GRAIN = 1 << 18;

/** Range units (batch·head pairs) per thread: a pair is ~2·T²·D multiply-adds forward, ~4· backward. */
const grain = (d: AttentionWasmDims, perPair: number) => Math.ceil(ATTENTION_GRAIN / Math.max(1, perPair * d.T * d.T * (d.C / d.H)));

export function attentionWasm(e: WasmEngine, qkv: RawTensor, d: AttentionWasmDims, causal: boolean): { out: RawTensor; probs: RawTensor } {
  const { B, T, C, H } = d;
  const out = e.empty([B, T, C]);
  const probs = e.empty([B, H, T, T]);
  if (B * T * C > 0) e.parallelFor('attention', 'forward', [e.ptr(qkv), e.ptr(out), e.ptr(probs), T, C, H, +causal], 0, B * H, { grain: grain(d, 2) });
  return { out, probs };
}

export function attentionBackwardWasm(e: WasmEngine, dout: RawTensor, qkv: RawTensor, probs: RawTensor, d: AttentionWasmDims, causal: boolean): RawTensor {
  const { B, T, C, H } = d;
  const dqkv = e.empty(qkv.shape);
  if (B * T * C === 0) return dqkv;
  // byte offsets stay valid when the per-thread scratch (parallelFor) grows the memory
  e.parallelFor('attention', 'backward', [e.ptr(dout), e.ptr(qkv), e.ptr(probs), e.ptr(dqkv), 0, T, C, H, +causal], 0, B * H, {
    scratch: { arg: 4, bytes: e.kernels.attention.backwardScratchBytes(T) },
    grain: grain(d, 4),
  });
  return dqkv;
}
