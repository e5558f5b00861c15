// Softmax over the last dim (leading dims fold into rows). GPU: shaders/softmax.wgsl; CPU twin below
// with f64 accumulation. Stable: the row max is subtracted before exp.
import reduceLib from '../../shaders/workgroup_reduce.wgsl?raw';
import src from '../../shaders/softmax.wgsl?raw';
import type { Engine } from '../backend/engine';
import { assertShape, type RawTensor } from '../backend/tensor';
import type { Kernel } from '../gpu/kernel';
import { params } from '../gpu/params';
import { grid1d } from './grid';
import { softmaxBackwardWasm, softmaxWasm } from '../wasm/rows';

const k = (entry: string): Kernel => ({ name: 'softmax', code: reduceLib + src, entry });

function rowsCols(op: string, what: string, x: RawTensor): [number, number] {
  if (x.dtype !== 'f32') throw new Error(`${op}: ${what} must be f32, got ${x.dtype}`);
  if (x.shape.length === 0) throw new Error(`${op}: ${what} must have at least one dimension`);
  const cols = x.shape[x.shape.length - 1];
  if (cols === 0) throw new Error(`${op}: the last dim of ${what} [${x.shape.join(', ')}] is 0 (softmax of nothing)`);
  return [x.size / cols, cols];
}

export function softmax(e: Engine, x: RawTensor): RawTensor {
  const [rows, cols] = rowsCols('softmax', 'x', x);
  if (e.kind === 'wasm') return softmaxWasm(e, x, rows, cols);
  const y = e.empty(x.shape);
  if (e.kind !== 'gpu') {
    const X = x.f32,
      Y = y.f32;
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      let m = -Infinity;
      for (let c = 0; c < cols; c++) m = Math.max(m, X[o + c]);
      let s = 0;
      for (let c = 0; c < cols; c++) s += Math.exp(X[o + c] - m);
      for (let c = 0; c < cols; c++) Y[o + c] = Math.exp(X[o + c] - m) / s;
    }
    return y;
  }
  e.dispatch(k('softmax_forward'), { params: params().u32(rows).u32(cols).build(), bindings: [x, null, y], workgroups: grid1d(rows, 1) });
  return y;
}

/** dx = y ⊙ (dy − Σ_last dy ⊙ y), from the forward output y. */
export function softmaxBackward(e: Engine, dy: RawTensor, y: RawTensor): RawTensor {
  const [rows, cols] = rowsCols('softmaxBackward', 'y', y);
  assertShape('softmaxBackward dy', dy.shape, y.shape);
  if (e.kind === 'wasm') return softmaxBackwardWasm(e, dy, y, rows, cols);
  const dx = e.empty(y.shape);
  if (e.kind !== 'gpu') {
    const Y = y.f32,
      DY = dy.f32,
      DX = dx.f32;
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      let s = 0;
      for (let c = 0; c < cols; c++) s += DY[o + c] * Y[o + c];
      for (let c = 0; c < cols; c++) DX[o + c] = Y[o + c] * (DY[o + c] - s);
    }
    return dx;
  }
  e.dispatch(k('softmax_backward'), { params: params().u32(rows).u32(cols).build(), bindings: [y, dy, dx], workgroups: grid1d(rows, 1) });
  return dx;
}
