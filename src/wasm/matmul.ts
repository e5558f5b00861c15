// The WebAssembly matmul (wasm/matmul.ts): every layout of src/ops/matmul.ts — transA, transB, bias,
// the fused b ⊙ bMask load, batched or folded geometry, `out` — on the WasmEngine's memory. The CPU
// twin is matmulCpu; the geometry and operand checks are matmulWith's, done before this is called.
import type { WasmEngine } from '../backend/wasm';
import type { RawTensor } from '../backend/tensor';
import type { MatmulGeometry, MatmulOpts } from '../ops/matmul';

export function matmulWasm(e: WasmEngine, a: RawTensor, b: RawTensor, g: MatmulGeometry, opts: MatmulOpts = {}): RawTensor {
  const { batch, m, k, n } = g;
  const out = opts.out ?? e.empty(g.outShape);
  if (batch * m * n === 0) return out;
  const kern = e.kernels.matmul;
  // pointers after every allocation (scratch included); they are byte offsets, valid across a grow
  const scratch = e.scratch(kern.scratchBytes(k, n));
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
  for (let z = 0; z < batch; z++) {
    kern.matmul(pa + z * sa, pb + z * sb, bias, mask && mask + z * sb, po + z * so, scratch, m, k, n, tA, tB, 0, m);
  }
  return out;
}
