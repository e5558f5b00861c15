// Reductions to a [1] tensor that stays on the device (no readback), the global gradient-norm
// clip scale, and the broadcast of a [1] gradient. GPU: shaders/reduce.wgsl (multi-level tree);
// CPU twin below (f64 accumulation, stored as f32).
import src from '../../shaders/reduce.wgsl?raw';
import type { Engine } from '../backend/engine';
import type { GpuEngine } from '../backend/gpu';
import { sameShape, type RawTensor } from '../backend/tensor';
import type { Kernel } from '../gpu/kernel';
import { params } from '../gpu/params';
import { grid1d } from './grid';
import { globalSumSquaresWasm, l1DistanceWasm, reduceMaxWasm, reduceSumWasm } from '../wasm/rows';

/** Elements folded by one workgroup per level (WG · PER in reduce.wgsl). */
export const REDUCE_BLOCK = 4096;

type Combine = 'sum' | 'max';
const kernel = (entry: string, combine: Combine = 'sum', square = false): Kernel => ({
  name: 'reduce',
  code: src,
  entry,
  constants: entry.startsWith('partial') ? { COMBINE: combine === 'max' ? 1 : 0, SQUARE: square ? 1 : 0 } : undefined,
});

function checkF32(op: string, ...xs: RawTensor[]): void {
  for (const x of xs) {
    if (x.dtype !== 'f32') throw new Error(`${op}: expected an f32 tensor, got ${x.dtype} of shape [${x.shape.join(', ')}]`);
  }
}

function checkNonEmpty(op: string, x: RawTensor): void {
  if (x.size === 0) throw new Error(`${op}: the tensor of shape [${x.shape.join(', ')}] is empty`);
}

const levelParams = (n: number, divisor: number, outOffset = 0) => params().u32(n).f32(divisor).u32(outOffset).u32(0).build();

/**
 * Fold `parts` (a GPU tensor of partials, already transformed) level by level until one value is
 * left; divide that value by `divisor`. Consumes `parts` (releases it unless it is the result).
 */
function foldLevels(e: GpuEngine, parts: RawTensor, combine: Combine, divisor: number): RawTensor {
  let cur = parts;
  // Each level shrinks the count by REDUCE_BLOCK, so this terminates; 3M elements take 2 levels.
  while (cur.size > 1) {
    const groups = Math.ceil(cur.size / REDUCE_BLOCK);
    const next = e.empty([groups]);
    e.dispatch(kernel('partial', combine), {
      params: levelParams(cur.size, groups === 1 ? divisor : 1),
      bindings: [cur, null, next],
      workgroups: grid1d(cur.size, REDUCE_BLOCK),
    });
    cur.dispose(); // back to the pool, reusable only after the next submit (the dispatch above still reads it)
    cur = next;
  }
  return cur;
}

/** One reduction of x (first level transformed by `square`), divided by `divisor` at the end. */
function reduceGpu(e: GpuEngine, x: RawTensor, combine: Combine, square: boolean, divisor: number): RawTensor {
  const groups = Math.ceil(x.size / REDUCE_BLOCK);
  const parts = e.empty([groups]);
  e.dispatch(kernel('partial', combine, square), {
    params: levelParams(x.size, groups === 1 ? divisor : 1),
    bindings: [x, null, parts],
    workgroups: grid1d(x.size, REDUCE_BLOCK),
  });
  return foldLevels(e, parts, combine, divisor);
}

function cpuScalar(e: Engine, v: number): RawTensor {
  const out = e.empty([1]);
  out.f32[0] = v;
  return out;
}

/** Σ x → [1]. An empty tensor sums to 0. */
export function sum(e: Engine, x: RawTensor): RawTensor {
  checkF32('sum', x);
  if (x.size === 0) return e.zeros([1]);
  if (e.kind === 'wasm') return reduceSumWasm(e, x, false);
  if (e.kind !== 'gpu') {
    const X = x.f32;
    let s = 0;
    for (let i = 0; i < x.size; i++) s += X[i];
    return cpuScalar(e, s);
  }
  return reduceGpu(e, x, 'sum', false, 1);
}

/** Σ x / n → [1]. */
export function mean(e: Engine, x: RawTensor): RawTensor {
  checkF32('mean', x);
  checkNonEmpty('mean', x);
  if (e.kind === 'wasm') return reduceSumWasm(e, x, false, x.size);
  if (e.kind !== 'gpu') {
    const X = x.f32;
    let s = 0;
    for (let i = 0; i < x.size; i++) s += X[i];
    return cpuScalar(e, s / x.size);
  }
  return reduceGpu(e, x, 'sum', false, x.size);
}

/** max x → [1]. (NaN handling of WGSL max() is implementation-defined; do not rely on it.) */
export function max(e: Engine, x: RawTensor): RawTensor {
  checkF32('max', x);
  checkNonEmpty('max', x);
  if (e.kind === 'wasm') return reduceMaxWasm(e, x);
  if (e.kind !== 'gpu') {
    const X = x.f32;
    let m = X[0];
    for (let i = 1; i < x.size; i++) if (X[i] > m) m = X[i];
    return cpuScalar(e, m);
  }
  return reduceGpu(e, x, 'max', false, 1);
}

/** Σ x² → [1]. */
export function sumSquares(e: Engine, x: RawTensor): RawTensor {
  checkF32('sumSquares', x);
  if (x.size === 0) return e.zeros([1]);
  if (e.kind === 'wasm') return reduceSumWasm(e, x, true);
  if (e.kind !== 'gpu') {
    const X = x.f32;
    let s = 0;
    for (let i = 0; i < x.size; i++) s += X[i] * X[i];
    return cpuScalar(e, s);
  }
  return reduceGpu(e, x, 'sum', true, 1);
}

/** mean |a − b| → [1]; a and b must have the same shape. */
export function l1Distance(e: Engine, a: RawTensor, b: RawTensor): RawTensor {
  checkF32('l1Distance', a, b);
  if (!sameShape(a.shape, b.shape)) {
    throw new Error(`l1Distance: shapes differ: [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
  }
  checkNonEmpty('l1Distance', a);
  if (e.kind === 'wasm') return l1DistanceWasm(e, a, b);
  if (e.kind !== 'gpu') {
    const A = a.f32,
      B = b.f32;
    let s = 0;
    for (let i = 0; i < a.size; i++) s += Math.abs(A[i] - B[i]);
    return cpuScalar(e, s / a.size);
  }
  const groups = Math.ceil(a.size / REDUCE_BLOCK);
  const parts = e.empty([groups]);
  e.dispatch(kernel('partial_absdiff'), {
    params: levelParams(a.size, groups === 1 ? a.size : 1),
    bindings: [a, b, parts],
    workgroups: grid1d(a.size, REDUCE_BLOCK),
  });
  return foldLevels(e, parts, 'sum', a.size);
}

/** Σ over tensors of Σ x² → [1] (global gradient norm², for clipping). */
export function globalSumSquares(e: Engine, xs: RawTensor[]): RawTensor {
  checkF32('globalSumSquares', ...xs);
  if (e.kind === 'wasm') return globalSumSquaresWasm(e, xs);
  if (e.kind !== 'gpu') {
    let s = 0;
    for (const x of xs) {
      const X = x.f32;
      for (let i = 0; i < x.size; i++) s += X[i] * X[i];
    }
    return cpuScalar(e, s);
  }
  // The first level of every tensor writes its partials side by side into one buffer (at
  // out_offset), then the usual levels fold that buffer: a handful of dispatches for any count.
  const counts = xs.map((x) => Math.ceil(x.size / REDUCE_BLOCK));
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return e.zeros([1]);
  const parts = e.empty([total]);
  let offset = 0;
  xs.forEach((x, k) => {
    if (x.size === 0) return;
    e.dispatch(kernel('partial', 'sum', true), {
      params: levelParams(x.size, 1, offset),
      bindings: [x, null, parts],
      workgroups: grid1d(x.size, REDUCE_BLOCK),
    });
    offset += counts[k];
  });
  return foldLevels(e, parts, 'sum', 1);
}

/** [1] = min(1, maxNorm / (√sumSq + 1e-6)) computed on the GPU; a NaN sumSq gives NaN. */
export function clipScale(e: Engine, sumSq: RawTensor, maxNorm: number): RawTensor {
  checkF32('clipScale', sumSq);
  if (sumSq.size !== 1) throw new Error(`clipScale: sumSq must be a [1] tensor, got shape [${sumSq.shape.join(', ')}]`);
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) throw new Error(`clipScale: maxNorm must be a positive finite number, got ${maxNorm}`);
  if (e.kind !== 'gpu') {
    const s = sumSq.f32[0];
    // Math.min(1, NaN) is NaN, as on the GPU.
    return cpuScalar(e, Math.min(1, maxNorm / (Math.sqrt(s) + 1e-6)));
  }
  const out = e.empty([1]);
  e.dispatch(kernel('clip_scale'), { params: levelParams(1, maxNorm), bindings: [sumSq, null, out], workgroups: [1] });
  return out;
}

/** out (of `shape`) filled with s[0] / divisor: the backward of sum (divisor 1) and mean (n). */
export function broadcastScalar(e: Engine, s: RawTensor, shape: readonly number[], divisor = 1): RawTensor {
  checkF32('broadcastScalar', s);
  if (s.size !== 1) throw new Error(`broadcastScalar: expected a [1] tensor, got shape [${s.shape.join(', ')}]`);
  const out = e.empty(shape);
  if (e.kind !== 'gpu') {
    out.f32.fill(s.f32[0] / divisor);
    return out;
  }
  e.dispatch(kernel('broadcast_scalar'), { params: levelParams(out.size, divisor), bindings: [s, null, out], workgroups: grid1d(out.size) });
  return out;
}
