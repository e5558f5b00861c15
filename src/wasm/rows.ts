// Callers of the WebAssembly row kernels (wasm/rows.ts) on the WasmEngine's memory.

/** The exports of wasm/rows.ts (pointers are byte offsets into the engine's memory). */
export interface RowsExports {
  rowsVersion(): number;
}
