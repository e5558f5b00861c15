// GELU (tanh approximation, exactly GPT-2's "gelu_new"). GPU: shaders/activation.wgsl; CPU twin below.
import src from '../../shaders/activation.wgsl?raw';
import type { Engine } from '../backend/engine';
import { assertShape, type RawTensor } from '../backend/tensor';
import type { Kernel } from '../gpu/kernel';
import { params } from '../gpu/params';
import { grid1d } from './grid';
import { geluBackwardWasm, geluWasm } from '../wasm/rows';

const k = (entry: string): Kernel => ({ name: 'activation', code: src, entry });
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const A = 0.044715;

function checkF32(op: string, what: string, t: RawTensor): void {
  if (t.dtype !== 'f32') throw new Error(`${op}: ${what} must be f32, got ${t.dtype}`);
}

/** 0.5·x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³), evaluated as x·σ(2u) like the kernel (same value, no cancellation). */
export function geluScalar(x: number): number {
  const u = SQRT_2_OVER_PI * (x + A * x * x * x);
  return x / (1 + Math.exp(-2 * u));
}

/**
 * d gelu / dx = σ + x·σ·(1 − σ)·2u'. As in the kernel, the second term is dropped where |u| ≥ 40: its
 * magnitude is below 1e-33 there, and at large |x| it would be 0 · ∞ = NaN.
 */
export function geluGradScalar(x: number): number {
  const u = SQRT_2_OVER_PI * (x + A * x * x * x);
  const e = Math.exp(-2 * u);
  const s = 1 / (1 + e);
  const second = Math.abs(u) < 40 ? x * s * (e / (1 + e)) * 2 * SQRT_2_OVER_PI * (1 + 3 * A * x * x) : 0;
  return s + second;
}

/** erfc(z) for z ≥ 2 in f64 by its continued fraction (evaluated bottom-up; 80 levels give ~1e-15 relative at z = 2). */
function erfcContinuedFraction(z: number): number {
  // erfc(z) = e^{−z²}/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + 2/(z + …)))))
  let f = z;
  for (let k = 80; k >= 1; k--) f = z + k / 2 / f;
  return Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
}

/** erf(z) for |z| < 2 by its Taylor series (terms stay below ~25, so f64 keeps ~1e-15 absolute). */
function erfTaylor(z: number): number {
  let term = z;
  let sum = z;
  const z2 = z * z;
  for (let n = 1; n < 200; n++) {
    term *= -z2 / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** erfc in f64, accurate to ~1e-14 relative even where it is tiny (no 1 − erf cancellation for z ≥ 2). */
export function erfc64(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 2) return 1 - (x > -2 ? erfTaylor(x) : -(1 - erfcContinuedFraction(-x)));
  return erfcContinuedFraction(x);
}

/** erf in f64, accurate to ~1e-15 absolute. */
export function erf64(x: number): number {
  const z = Math.abs(x);
  if (z < 2) return erfTaylor(x);
  return Math.sign(x) * (1 - erfcContinuedFraction(z));
}

/** Exact GELU: 0.5·x·(1 + erf(x/√2)) = 0.5·x·erfc(−x/√2) (HF "gelu"); erfc keeps negative x accurate. */
export function geluErfScalar(x: number): number {
  return 0.5 * x * erfc64(-x / Math.SQRT2);
}

export function geluErfGradScalar(x: number): number {
  return 0.5 * erfc64(-x / Math.SQRT2) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);
}

/** GELU: the tanh form by default, the exact erf form with exact = true. */
export function gelu(e: Engine, x: RawTensor, exact = false): RawTensor {
  checkF32('gelu', 'x', x);
  if (e.kind === 'wasm') return geluWasm(e, x, exact);
  const out = e.empty(x.shape);
  if (e.kind !== 'gpu') {
    const X = x.f32,
      O = out.f32;
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
  if (e.kind === 'wasm') return geluBackwardWasm(e, dy, x, exact);
  const out = e.empty(x.shape);
  if (e.kind !== 'gpu') {
    const X = x.f32,
      DY = dy.f32,
      O = out.f32;
    const f = exact ? geluErfGradScalar : geluGradScalar;
    for (let i = 0; i < x.size; i++) O[i] = DY[i] * f(X[i]);
    return out;
  }
  e.dispatch(k(exact ? 'gelu_erf_backward' : 'gelu_backward'), { params: params().u32(x.size).build(), bindings: [x, dy, out], workgroups: grid1d(x.size) });
  return out;
}
