// AssemblyScript (not TypeScript): the WebAssembly sampling kernels — the counter RNG (the same bits as
// the GPU and CPU engines), Gumbel-softmax sampling fused with W ⊙ m and its backward, AdamW, the mask
// metrics, the embedding and the 2:4 compressed product — built by tools/build-wasm.mjs. The CPU twins
// are in src/ops/*.ts and src/sparsity/*.ts; the callers in src/wasm/sampling.ts. (First slice: empty.)

export function samplingVersion(): i32 {
  return 1;
}
