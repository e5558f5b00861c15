// The WebAssembly attention (wasm/attention.ts), forward and backward, on the WasmEngine's memory.
// The CPU twin and the layouts are in src/ops/attention.ts, whose checks run before these are called.
// Each call covers every (batch·head) pair in one range; the kernels take [bhStart, bhEnd) so a
// thread pool can split it (each thread would then need its own backward scratch).
import type { WasmEngine } from '../backend/wasm';
import type { RawTensor } from '../backend/tensor';

export interface AttentionWasmDims {
  B: number;
  T: number;
  C: number;
  H: number;
}

export function attentionWasm(e: WasmEngine, qkv: RawTensor, d: AttentionWasmDims, causal: boolean): { out: RawTensor; probs: RawTensor } {
  const { B, T, C, H } = d;
  const out = e.empty([B, T, C]);
  const probs = e.empty([B, H, T, T]);
  if (B * T * C > 0) e.kernels.attention.forward(e.ptr(qkv), e.ptr(out), e.ptr(probs), T, C, H, +causal, 0, B * H);
  return { out, probs };
}

export function attentionBackwardWasm(e: WasmEngine, dout: RawTensor, qkv: RawTensor, probs: RawTensor, d: AttentionWasmDims, causal: boolean): RawTensor {
  const { B, T, C, H } = d;
  const kern = e.kernels.attention;
  const dqkv = e.empty(qkv.shape);
  if (B * T * C === 0) return dqkv;
  // pointers after every allocation (the scratch may grow the memory); byte offsets stay valid
  const scratch = e.scratch(kern.backwardScratchBytes(T));
  kern.backward(e.ptr(dout), e.ptr(qkv), e.ptr(probs), e.ptr(dqkv), scratch, T, C, H, +causal, 0, B * H);
  return dqkv;
}
