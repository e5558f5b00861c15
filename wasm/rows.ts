// AssemblyScript (not TypeScript): the WebAssembly row kernels — layer norm, the GELUs, softmax, the
// chunked lm-head cross-entropy and the elementwise families — built by tools/build-wasm.mjs. The CPU
// twins are in src/ops/*.ts; the callers in src/wasm/rows.ts. (First slice: empty; kernels land here.)

export function rowsVersion(): i32 {
  return 1;
}
