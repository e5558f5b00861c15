// GELU (tanh approximation, exactly GPT-2's "gelu_new"). GPU: shaders/activation.wgsl; CPU twin below.
import src from '../../shaders/activation.wgsl?raw';
import type { Engine } from '../backend/engine';
import { assertShape, type RawTensor } from '../backend/tensor';
import type { Kernel } from '../gpu/kernel';
import { params } from '../gpu/params';
import { grid1d } from './grid';

const k = (entry: string): Kernel => ({ name: 'activation', code: src, entry });
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const A = 0.044715;

function checkF32(op: string, what: string, t: RawTensor): void {
  if (t.dtype !== 'f32') throw new Error(`${op}: ${what} must be f32, got ${t.dtype}`);
}

/** 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) */
export function geluScalar(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + A * x * x * x)));
}

/**
 * d gelu / dx. As in the kernel, the second term is dropped where |u| ≥ 10: its magnitude is below 1e-7
 * there, and at large |x| it would be 0 · ∞ = NaN.
 */
export function geluGradScalar(x: number): number {
  const u = SQRT_2_OVER_PI * (x + A * x * x * x);
  const t = Math.tanh(u);
  const second = Math.abs(u) < 10 ? 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * A * x * x) : 0;
  return 0.5 * (1 + t) + second;
}

export function gelu(e: Engine, x: RawTensor): RawTensor {
  checkF32('gelu', 'x', x);
  const out = e.empty(x.shape);
  if (e.kind === 'cpu') {
    const X = x.f32, O = out.f32;
    for (let i = 0; i < x.size; i++) O[i] = geluScalar(X[i]);
    return out;
  }
  e.dispatch(k('gelu'), { params: params().u32(x.size).build(), bindings: [x, null, out], workgroups: grid1d(x.size) });
  return out;
}

export function geluBackward(e: Engine, dy: RawTensor, x: RawTensor): RawTensor {
  checkF32('geluBackward', 'x', x);
  checkF32('geluBackward', 'dy', dy);
  assertShape('geluBackward dy', dy.shape, x.shape);
  const out = e.empty(x.shape);
  if (e.kind === 'cpu') {
    const X = x.f32, DY = dy.f32, O = out.f32;
    for (let i = 0; i < x.size; i++) O[i] = DY[i] * geluGradScalar(X[i]);
    return out;
  }
  e.dispatch(k('gelu_backward'), { params: params().u32(x.size).build(), bindings: [x, dy, out], workgroups: grid1d(x.size) });
  return out;
}
