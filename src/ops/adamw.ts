// AdamW (torch.optim.AdamW semantics: decoupled weight decay p ← p − lr·wd·p, then Adam with bias
// correction), in place on param, m and v. GPU: shaders/adamw.wgsl; CPU twin below (f64 math).
import src from '../../shaders/adamw.wgsl?raw';
import type { Engine } from '../backend/engine';
import type { RawTensor } from '../backend/tensor';
import type { Kernel } from '../gpu/kernel';
import { params } from '../gpu/params';
import { adamwWasm } from '../wasm/sampling';
import { grid1d } from './grid';

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based, for bias correction */
  step: number;
}

const kernel = (entry: string): Kernel => ({ name: 'adamw', code: src, entry });

function validate(param: RawTensor, grad: RawTensor, m: RawTensor, v: RawTensor, h: AdamWHyper, gradScale?: RawTensor): void {
  const named: [string, RawTensor][] = [
    ['grad', grad],
    ['m', m],
    ['v', v],
  ];
  if (param.dtype !== 'f32') throw new Error(`adamwStep: param must be f32, got ${param.dtype}`);
  for (const [name, t] of named) {
    if (t.dtype !== 'f32') throw new Error(`adamwStep: ${name} must be f32, got ${t.dtype}`);
    if (t.size !== param.size) throw new Error(`adamwStep: ${name} has ${t.size} elements, param ${param.size}`);
    if (t === param) throw new Error(`adamwStep: ${name} is the param tensor itself`);
  }
  if (m === v) throw new Error('adamwStep: m and v must be different tensors');
  if (gradScale && (gradScale.size !== 1 || gradScale.dtype !== 'f32')) {
    throw new Error(`adamwStep: gradScale must be an f32 [1] tensor, got ${gradScale.dtype} [${gradScale.shape.join(', ')}]`);
  }
  if (!Number.isInteger(h.step) || h.step < 1) throw new Error(`adamwStep: step must be an integer ≥ 1 (1-based), got ${h.step}`);
  for (const key of ['beta1', 'beta2'] as const) {
    if (!(h[key] >= 0 && h[key] < 1)) throw new Error(`adamwStep: ${key} must be in [0, 1), got ${h[key]}`);
  }
  for (const key of ['lr', 'eps', 'weightDecay'] as const) {
    if (!(h[key] >= 0) || !Number.isFinite(h[key])) throw new Error(`adamwStep: ${key} must be a finite number ≥ 0, got ${h[key]}`);
  }
}

/** One AdamW step, in place on param, m, v. gradScale: a [1] device tensor multiplying grad. */
export function adamwStep(e: Engine, param: RawTensor, grad: RawTensor, m: RawTensor, v: RawTensor, h: AdamWHyper, gradScale?: RawTensor): void {
  validate(param, grad, m, v, h, gradScale);
  const decay = 1 - h.lr * h.weightDecay;
  const stepSize = h.lr / (1 - h.beta1 ** h.step);
  const invBc2Sqrt = 1 / Math.sqrt(1 - h.beta2 ** h.step);
  if (e.kind === 'wasm') return adamwWasm(e, param, grad, m, v, h, { decay, stepSize, invBc2Sqrt }, gradScale);
  if (e.kind !== 'gpu') {
    const P = param.f32,
      G = grad.f32,
      M = m.f32,
      V = v.f32;
    const s = gradScale ? gradScale.f32[0] : 1;
    for (let i = 0; i < param.size; i++) {
      const g = G[i] * s;
      const w = P[i] * decay;
      const mi = h.beta1 * M[i] + (1 - h.beta1) * g;
      const vi = h.beta2 * V[i] + (1 - h.beta2) * g * g;
      M[i] = mi;
      V[i] = vi;
      P[i] = w - (stepSize * mi) / (Math.sqrt(vi) * invBc2Sqrt + h.eps);
    }
    return;
  }
  const u = params().u32(param.size).f32(decay).f32(h.beta1).f32(h.beta2).f32(h.eps).f32(stepSize).f32(invBc2Sqrt).u32(0).build();
  e.dispatch(kernel(gradScale ? 'adamw_scaled' : 'adamw'), {
    params: u,
    bindings: [grad, gradScale ?? null, param, m, v],
    workgroups: grid1d(param.size),
  });
}
