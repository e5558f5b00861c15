// The WebAssembly matmul (wasm/matmul.ts): every layout of src/ops/matmul.ts — transA, transB, bias,
// the fused b ⊙ bMask load, batched or folded geometry, `out` — on the WasmEngine's memory. The CPU
// twin is matmulCpu; the geometry and operand checks are matmulWith's, done before this is called.
//
// Threads: one parallelFor over the flattened (matrix z, output row) range, so a thread takes a run
// of rows — of one matrix when batch = 1 (the lab's linears fold the batch into the rows), across
// matrices when the batch is large and m small. Chunks start on 4-row strips (the micro-kernel's MR),
// each thread packs B into its own scratch, and a row's arithmetic does not depend on its chunk, so
// any thread count gives the same bits.
import type { WasmEngine } from '../backend/wasm';
import type { RawTensor } from '../backend/tensor';
import type { MatmulGeometry, MatmulOpts } from '../ops/matmul';

/**
 * The least multiply-adds worth a thread: waking a pool worker costs tens of microseconds, so a small
 * product runs on fewer threads (at ~10 GFLOP/s a thread, 2^18 multiply-adds are ~50 µs).
 */
export const MATMUL_GRAIN = 1 << 18;

export function matmulWasm(e: WasmEngine, a: RawTensor, b: RawTensor, g: MatmulGeometry, opts: MatmulOpts = {}): RawTensor {
  const { batch, m, k, n } = g;
  const out = opts.out ?? e.empty(g.outShape);
  if (batch * m * n === 0) return out;
  // pointers are byte offsets, valid across a grow (the per-thread scratch is allocated in parallelFor)
  const pa = e.ptr(a),
    pb = e.ptr(b),
    po = e.ptr(out);
  const bias = opts.bias ? e.ptr(opts.bias) : 0,
    mask = opts.bMask ? e.ptr(opts.bMask) : 0;
  const tA = +!!opts.transA,
    tB = +!!opts.transB;
  // byte strides between the batch's matrices (0: one matrix shared by every z)
  const sa = g.batchedA ? m * k * 4 : 0,
    sb = g.batchedB ? k * n * 4 : 0,
    so = m * n * 4;
  e.parallelFor('matmul', 'matmul', [pa, pb, bias, mask, po, 0, m, k, n, tA, tB], 0, m, {
    batch,
    strides: [sa, sb, 0, mask ? sb : 0, so],
    scratch: { arg: 5, bytes: e.kernels.matmul.scratchBytes(k, n) },
    align: 4,
    grain: Math.ceil(MATMUL_GRAIN / Math.max(1, k * n)),
  });
  return out;
}
