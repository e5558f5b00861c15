// Row ops: gatherRows (embedding lookup), scatterAddRows (its deterministic backward), concatRows
// and sliceRows (the backward of concatRows). GPU: shaders/embedding.wgsl; CPU twins below.
//
// Out-of-range indices: the CPU twin throws naming the position and value; the GPU (which cannot
// throw) writes a zero row in gatherRows and skips the position in scatterAddRows, consistently
// (a zero output row has no gradient to give back).
import src from '../../shaders/embedding.wgsl?raw';
import type { Engine } from '../backend/engine';
import type { RawTensor } from '../backend/tensor';
import type { Kernel } from '../gpu/kernel';
import { params } from '../gpu/params';
import { concatRowsWasm, firstBadIndexWasm, gatherRowsWasm, scatterAddRowsWasm, sliceRowsWasm } from '../wasm/sampling';
import { grid1d } from './grid';

const kernel = (entry: string): Kernel => ({ name: 'embedding', code: src, entry });
const shp = (t: RawTensor) => `[${t.shape.join(', ')}]`;
const u = (n: number, c = 0, v = 0, k = 0) => params().u32(n).u32(c).u32(v).u32(k).build();

function checkIndex(op: string, idx: RawTensor): void {
  if (idx.dtype !== 'u32') throw new Error(`${op}: indices must be u32, got ${idx.dtype}`);
  if (idx.shape.length !== 1) throw new Error(`${op}: indices must be 1-D [N], got shape ${shp(idx)}`);
}

function check2d(op: string, what: string, t: RawTensor): void {
  if (t.shape.length !== 2) throw new Error(`${op}: ${what} must be 2-D, got shape ${shp(t)}`);
}

function indexError(op: string, pos: number, value: number, rows: number): Error {
  return new Error(`${op}: index ${value} at position ${pos} is out of range for ${rows} rows`);
}

/** out[r] = table[idx[r]]: table [V, C] (any dtype), idx u32 [N] → [N, C]. */
export function gatherRows(e: Engine, table: RawTensor, idx: RawTensor): RawTensor {
  check2d('gatherRows', 'the table', table);
  checkIndex('gatherRows', idx);
  const [V, C] = table.shape;
  const N = idx.size;
  if (e.kind === 'wasm') {
    const bad = firstBadIndexWasm(e, idx, V);
    if (bad >= 0) throw indexError('gatherRows', bad, idx.data[bad], V);
    return gatherRowsWasm(e, table, idx);
  }
  if (e.kind !== 'gpu') {
    idx.data.forEach((j, r) => {
      if (j >= V) throw indexError('gatherRows', r, j, V);
    });
    const out = e.empty([N, C], table.dtype);
    // views after the allocation: on the WebAssembly engine it may grow the memory, detaching older views
    const T = table.data,
      I = idx.data,
      O = out.data;
    for (let r = 0; r < N; r++) {
      const j = I[r];
      for (let c = 0; c < C; c++) O[r * C + c] = T[j * C + c];
    }
    return out;
  }
  const out = e.empty([N, C], table.dtype);
  e.dispatch(kernel('gather_rows'), { params: u(N * C, C, V), bindings: [table, idx, out], workgroups: grid1d(N * C) });
  return out;
}

/**
 * out[v] = Σ_{n: idx[n] = v} grad[n]: grad f32 [N, C], idx u32 [N] → f32 [rows, C]. Deterministic
 * on the GPU (no float atomics): positions sharing an index are summed in ascending order, the same
 * order as the CPU twin. Rows no index points at are zero.
 */
export function scatterAddRows(e: Engine, grad: RawTensor, idx: RawTensor, rows: number): RawTensor {
  check2d('scatterAddRows', 'grad', grad);
  checkIndex('scatterAddRows', idx);
  if (grad.dtype !== 'f32') throw new Error(`scatterAddRows: grad must be f32, got ${grad.dtype}`);
  if (!Number.isInteger(rows) || rows < 0) throw new Error(`scatterAddRows: rows must be a non-negative integer, got ${rows}`);
  const [N, C] = grad.shape;
  if (idx.size !== N) throw new Error(`scatterAddRows: ${idx.size} indices for ${N} gradient rows`);
  if (e.kind === 'wasm') {
    const bad = firstBadIndexWasm(e, idx, rows);
    if (bad >= 0) throw indexError('scatterAddRows', bad, idx.data[bad], rows);
    return scatterAddRowsWasm(e, grad, idx, rows);
  }
  if (e.kind !== 'gpu') {
    idx.data.forEach((v, n) => {
      if (v >= rows) throw indexError('scatterAddRows', n, v, rows);
    });
    const out = e.zeros([rows, C]);
    // views after the allocation (see gatherRows)
    const G = grad.f32,
      I = idx.data,
      O = out.f32;
    // f64 accumulation (as the other twins), stored to f32 once per element
    const acc = new Float64Array(rows * C);
    for (let n = 0; n < N; n++) {
      const v = I[n];
      for (let c = 0; c < C; c++) acc[v * C + c] += G[n * C + c];
    }
    O.set(acc);
    return out;
  }
  const out = e.empty([rows, C]);
  if (rows * C === 0) return out;
  const next = e.empty([N], 'u32');
  const head = e.zeros([rows], 'u32');
  e.dispatch(kernel('scatter_link'), { params: u(N, 0, rows), bindings: [idx, null, next, head], workgroups: grid1d(N) });
  e.dispatch(kernel('scatter_sum'), {
    params: u(rows * C, C, rows, N),
    bindings: [null, null, next, head, grad, out],
    workgroups: grid1d(rows * C),
  });
  next.dispose();
  head.dispose();
  return out;
}

/** Rows of a then rows of b: a [Na, ...rest], b [Nb, ...rest] → [Na + Nb, ...rest] (same dtype). */
export function concatRows(e: Engine, a: RawTensor, b: RawTensor): RawTensor {
  const rest = a.shape.slice(1);
  if (a.shape.length < 1 || b.shape.length !== a.shape.length || b.shape.slice(1).some((d, i) => d !== rest[i])) {
    throw new Error(`concatRows: shapes ${shp(a)} and ${shp(b)} differ beyond the first dimension`);
  }
  if (a.dtype !== b.dtype) throw new Error(`concatRows: dtypes differ (${a.dtype} vs ${b.dtype})`);
  if (e.kind === 'wasm') return concatRowsWasm(e, a, b);
  const out = e.empty([a.shape[0] + b.shape[0], ...rest], a.dtype);
  if (e.kind !== 'gpu') {
    out.data.set(a.data, 0);
    out.data.set(b.data, a.size);
    return out;
  }
  e.dispatch(kernel('concat_rows'), { params: u(out.size, a.size), bindings: [a, b, out], workgroups: grid1d(out.size) });
  return out;
}

/** Rows start .. start+count of x [N, ...rest] → [count, ...rest]. */
export function sliceRows(e: Engine, x: RawTensor, start: number, count: number): RawTensor {
  if (x.shape.length < 1) throw new Error('sliceRows: x must have at least one dimension');
  const N = x.shape[0];
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > N) {
    throw new Error(`sliceRows: rows ${start}..${start + count} are outside the ${N} rows of ${shp(x)}`);
  }
  if (e.kind === 'wasm') return sliceRowsWasm(e, x, start, count);
  const rest = x.shape.slice(1);
  const out = e.empty([count, ...rest], x.dtype);
  const w = rest.reduce((a, b) => a * b, 1); // words per row
  if (e.kind !== 'gpu') {
    out.data.set(x.data.subarray(start * w, start * w + out.size));
    return out;
  }
  e.dispatch(kernel('slice_rows'), { params: u(out.size, start * w), bindings: [x, null, out], workgroups: grid1d(out.size) });
  return out;
}
