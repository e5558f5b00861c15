// Callers of the WebAssembly sampling kernels (wasm/sampling.ts) on the WasmEngine's memory.

/** The exports of wasm/sampling.ts (pointers are byte offsets into the engine's memory). */
export interface SamplingExports {
  samplingVersion(): number;
}
