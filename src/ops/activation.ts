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

/** erf in f64, accurate to ~1e-14: Taylor series for |x| < 4, asymptotic erfc beyond. */
export function erf64(x: number): number {
  const z = Math.abs(x);
  if (z < 4) {
    let term = z;
    let sum = z;
    const z2 = z * z;
    for (let n = 1; n < 200; n++) {
      term *= -z2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(z) ≈ e^{−z²}/(z√π) · Σ (−1)^n (2n−1)!! / (2z²)^n, truncated while terms shrink
  let term = 1;
  let sum = 1;
  for (let n = 1; n < 40; n++) {
    const next = (term * -(2 * n - 1)) / (2 * z * z);
    if (Math.abs(next) >= Math.abs(term)) break;
    term = next;
    sum += term;
  }
  const erfc = (Math.exp(-z * z) / (z * Math.sqrt(Math.PI))) * sum;
  return Math.sign(x) * (1 - erfc);
}

/** Exact GELU: 0.5·x·(1 + erf(x/√2)) (HF "gelu"). */
export function geluErfScalar(x: number): number {
  return 0.5 * x * (1 + erf64(x / Math.SQRT2));
}

export function geluErfGradScalar(x: number): number {
  return 0.5 * (1 + erf64(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);
}

/** GELU: the tanh form by default, the exact erf form with exact = true. */
export function gelu(e: Engine, x: RawTensor, exact = false): RawTensor {
  checkF32('gelu', 'x', x);
  const out = e.empty(x.shape);
  if (e.kind === 'cpu') {
    const X = x.f32, O = out.f32;
    const f = exact ? geluErfScalar : geluScalar;
    for (let i = 0; i < x.size; i++) O[i] = f(X[i]);
    return out;
  }
  e.dispatch(k(exact ? 'gelu_erf' : 'gelu'), { params: params().u32(x.size).build(), bindings: [x, null, out], workgroups: grid1d(x.size) });
  return out;
}

export function geluBackward(e: Engine, dy: RawTensor, x: RawTensor, exact = false): RawTensor {
  checkF32('geluBackward', 'x', x);
  checkF32('geluBackward', 'dy', dy);
  assertShape('geluBackward dy', dy.shape, x.shape);
  const out = e.empty(x.shape);
  if (e.kind === 'cpu') {
    const X = x.f32, DY = dy.f32, O = out.f32;
    const f = exact ? geluErfGradScalar : geluGradScalar;
    for (let i = 0; i < x.size; i++) O[i] = DY[i] * f(X[i]);
    return out;
  }
  e.dispatch(k(exact ? 'gelu_erf_backward' : 'gelu_backward'), { params: params().u32(x.size).build(), bindings: [x, dy, out], workgroups: grid1d(x.size) });
  return out;
}
