// Elementwise ops and their broadcast backward. GPU: shaders/elementwise.wgsl; CPU twin below.
import src from '../../shaders/elementwise.wgsl?raw';
import type { Engine } from '../backend/engine';
import { type RawTensor } from '../backend/tensor';
import type { Kernel } from '../gpu/kernel';
import { params } from '../gpu/params';
import { grid1d } from './grid';
import { axpyIntoWasm, binaryWasm, scaleWasm, sumRepeatWasm } from '../wasm/rows';

export type BinaryOp = 'add' | 'sub' | 'mul';
const k = (entry: string): Kernel => ({ name: 'elementwise', code: src, entry });

function checkBroadcast(op: string, a: RawTensor, b: RawTensor): void {
  if (b.size === 0 || a.size % b.size !== 0) {
    throw new Error(`${op}: b of shape [${b.shape.join(', ')}] does not broadcast over a of shape [${a.shape.join(', ')}] (its size must divide a's)`);
  }
}

/** out[i] = a[i] ∘ b[i mod b.size]. */
export function binary(e: Engine, op: BinaryOp, a: RawTensor, b: RawTensor): RawTensor {
  checkBroadcast(op, a, b);
  if (e.kind === 'wasm') return binaryWasm(e, op, a, b);
  const out = e.empty(a.shape);
  if (e.kind !== 'gpu') {
    const A = a.f32,
      B = b.f32,
      O = out.f32,
      nb = b.size;
    for (let i = 0; i < a.size; i++) {
      const x = A[i],
        y = B[i % nb];
      O[i] = op === 'add' ? x + y : op === 'sub' ? x - y : x * y;
    }
    return out;
  }
  e.dispatch(k(op), { params: params().u32(a.size).u32(b.size).f32(0).u32(0).build(), bindings: [a, b, out], workgroups: grid1d(a.size) });
  return out;
}

export const add = (e: Engine, a: RawTensor, b: RawTensor) => binary(e, 'add', a, b);
export const sub = (e: Engine, a: RawTensor, b: RawTensor) => binary(e, 'sub', a, b);
export const mul = (e: Engine, a: RawTensor, b: RawTensor) => binary(e, 'mul', a, b);

/** out = alpha · a */
export function scale(e: Engine, a: RawTensor, alpha: number): RawTensor {
  if (e.kind === 'wasm') return scaleWasm(e, a, alpha);
  const out = e.empty(a.shape);
  if (e.kind !== 'gpu') {
    const A = a.f32,
      O = out.f32;
    for (let i = 0; i < a.size; i++) O[i] = alpha * A[i];
    return out;
  }
  e.dispatch(k('scale'), { params: params().u32(a.size).u32(1).f32(alpha).u32(0).build(), bindings: [a, null, out], workgroups: grid1d(a.size) });
  return out;
}

/** y += alpha · x, in place. */
export function axpyInto(e: Engine, y: RawTensor, x: RawTensor, alpha = 1): void {
  if (x.size !== y.size) throw new Error(`axpyInto: sizes differ (${x.size} vs ${y.size})`);
  if (e.kind === 'wasm') return axpyIntoWasm(e, y, x, alpha);
  if (e.kind !== 'gpu') {
    const X = x.f32,
      Y = y.f32;
    for (let i = 0; i < x.size; i++) Y[i] += alpha * X[i];
    return;
  }
  e.dispatch(k('axpy'), { params: params().u32(x.size).u32(1).f32(alpha).u32(0).build(), bindings: [x, null, y], workgroups: grid1d(x.size) });
}

/** out[j] = Σ_r a[r·period + j]: sums the repeats of a modulo broadcast; out has `shape`. */
export function sumRepeat(e: Engine, a: RawTensor, shape: readonly number[]): RawTensor {
  const out = e.empty(shape);
  const nb = out.size;
  if (nb === 0 || a.size % nb !== 0) throw new Error(`sumRepeat: ${nb} does not divide ${a.size}`);
  if (e.kind === 'wasm') return sumRepeatWasm(e, a, out);
  if (e.kind !== 'gpu') {
    const A = a.f32,
      O = out.f32;
    for (let j = 0; j < nb; j++) {
      let s = 0;
      for (let i = j; i < a.size; i += nb) s += A[i];
      O[j] = s;
    }
    return out;
  }
  e.dispatch(k('sum_repeat'), { params: params().u32(a.size).u32(nb).f32(0).u32(0).build(), bindings: [a, null, out], workgroups: grid1d(nb) });
  return out;
}
