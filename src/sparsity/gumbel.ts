// Gumbel-softmax soft masks over N:M candidate sets (MaskLLM), their backward to the logits, the
// hard argmax mask and W ⊙ m. GPU: shaders/gumbel_mask.wgsl (noise from shaders/rng.wgsl); the
// CPU twins below compute in f64 from the same RNG bits and store f32. The frozen W may be packed
// f16 on the GPU (weightStorage 'f16'): the *_f16 entry points unpack it per element, exactly, and
// compute as the f32 ones; their twin is the f32 path on the decoded weights (src/backend/f16.ts).
import src from '../../shaders/gumbel_mask.wgsl?raw';
import type { Engine } from '../backend/engine';
import { assertShape, type RawTensor } from '../backend/tensor';
import type { Kernel } from '../gpu/kernel';
import { params } from '../gpu/params';
import { mul } from '../ops/elementwise';
import { mulF16 } from '../ops/f16';
import { grid1d } from '../ops/grid';
import { hardMaskWasm, sampleMaskedWeightWasm, sampleSoftMaskWasm, softMaskBackwardWasm } from '../wasm/sampling';
import { bitsToOpenUnit, rngBitsCpu, RNG_WGSL, type RngPosition } from '../ops/rng';
import { elementIndex, weightShape, type GroupLayout } from './layout';
import { binomial, type Pattern } from './patterns';

export interface SampleArgs {
  kappa: number;
  tau: number;
  /** stream = site id; advance offset per sample (see nextSamplePosition). */
  rng: RngPosition;
}

const MAX_C = 70;
const code = RNG_WGSL + src;
const kernel = (entry: string, p: Pattern): Kernel => ({
  name: 'gumbel_mask',
  code,
  entry,
  constants: { N: p.n, M: p.m, C: p.candidates.length },
});

/** RNG words one sample consumes: element (group·C + c) of the stream, two words per counter. */
export function sampleDraws(g: GroupLayout, p: Pattern): number {
  return Math.ceil((g.groups * p.candidates.length) / 2);
}

/** The position of the next independent sample after one drawn at `pos`. */
export function nextSamplePosition(pos: RngPosition, g: GroupLayout, p: Pattern): RngPosition {
  return { ...pos, offset: pos.offset + sampleDraws(g, p) };
}

function check(what: string, logits: RawTensor | null, g: GroupLayout, p: Pattern): void {
  const C = p.candidates.length;
  if (p.m !== g.m) throw new Error(`${what}: pattern is ${p.n}:${p.m} but the group layout has m=${g.m}`);
  if (C > MAX_C) throw new Error(`${what}: ${C} candidates exceed the kernel limit of ${MAX_C}`);
  // The kernels enumerate the candidates themselves (in nmPattern's order), so a hand-made set is refused.
  if (C !== binomial(p.m, p.n)) throw new Error(`${what}: a ${p.n}:${p.m} pattern must have ${binomial(p.m, p.n)} candidates (use nmPattern), got ${C}`);
  if (logits) {
    assertShape(`${what}: logits`, logits.shape, [g.groups, C]);
    if (logits.dtype !== 'f32') throw new Error(`${what}: logits must be f32, got ${logits.dtype}`);
  }
}

/** The frozen weight: f32, or packed f16 (weightStorage 'f16', GPU engine only; src/backend/f16.ts). */
function checkWeight(what: string, e: Engine, w: RawTensor): void {
  if (w.dtype === 'f16' && e.kind !== 'gpu') throw new Error(`${what}: packed f16 weights live on the GPU engine only`);
  if (w.dtype !== 'f32' && w.dtype !== 'f16') throw new Error(`${what}: w must be f32 (or packed f16 on the GPU), got ${w.dtype}`);
}

function checkPositive(what: string, name: string, v: number): void {
  if (!(v > 0) || !Number.isFinite(v)) throw new Error(`${what}: ${name} must be a positive finite number, got ${v}`);
}

function layoutParams(g: GroupLayout) {
  return params()
    .u32(g.groups)
    .u32(g.rows)
    .u32(g.cols)
    .u32(g.layout === 'in_out' ? 1 : 0);
}

/**
 * Draw one soft mask: y = softmax((κπ + g)/τ) per group with Gumbel noise g = −log(−log u) from
 * element (group·C + c) of the counter stream at `a.rng`, and the weight-shaped mask m = yᵀS.
 */
export function sampleSoftMask(e: Engine, logits: RawTensor, g: GroupLayout, p: Pattern, a: SampleArgs): { mask: RawTensor; y: RawTensor } {
  check('sampleSoftMask', logits, g, p);
  checkPositive('sampleSoftMask', 'tau', a.tau);
  if (!Number.isFinite(a.kappa)) throw new Error(`sampleSoftMask: kappa must be finite, got ${a.kappa}`);
  if (e.kind === 'wasm') return sampleSoftMaskWasm(e, logits, g, p, a);
  const C = p.candidates.length;
  const y = e.empty([g.groups, C]);
  const mask = e.empty(weightShape(g));
  if (e.kind !== 'gpu') {
    sampleCpu(logits.f32, y.f32, mask.f32, g, p, a);
    return { mask, y };
  }
  e.dispatch(kernel('sample', p), {
    params: layoutParams(g)
      .u32(a.rng.seed >>> 0)
      .u32(a.rng.stream >>> 0)
      .u32(a.rng.offset >>> 0)
      .u32(0)
      .f32(a.kappa)
      .f32(a.tau)
      .f32(0)
      .u32(0)
      .build(),
    bindings: [logits, y, mask],
    workgroups: grid1d(g.groups),
  });
  return { mask, y };
}

/**
 * The fused forward: the same sample as sampleSoftMask and, in the same pass, the masked weight
 * W ⊙ m (bit-identical to applyMask(w, mask)). The unfused pair sampleSoftMask + applyMask stays
 * as the reference path (MaskLearner option `fusedSample: false`); `npm run bench` measures both.
 */
export function sampleMaskedWeight(
  e: Engine,
  logits: RawTensor,
  w: RawTensor,
  g: GroupLayout,
  p: Pattern,
  a: SampleArgs,
): { mask: RawTensor; y: RawTensor; weff: RawTensor } {
  check('sampleMaskedWeight', logits, g, p);
  checkPositive('sampleMaskedWeight', 'tau', a.tau);
  if (!Number.isFinite(a.kappa)) throw new Error(`sampleMaskedWeight: kappa must be finite, got ${a.kappa}`);
  assertShape('sampleMaskedWeight: w', w.shape, weightShape(g));
  checkWeight('sampleMaskedWeight', e, w);
  if (e.kind === 'wasm') return sampleMaskedWeightWasm(e, logits, w, g, p, a);
  const C = p.candidates.length;
  const y = e.empty([g.groups, C]);
  const mask = e.empty(weightShape(g));
  const weff = e.empty(weightShape(g));
  if (e.kind !== 'gpu') {
    sampleCpu(logits.f32, y.f32, mask.f32, g, p, a);
    const W = w.f32,
      Mk = mask.f32,
      out = weff.f32;
    for (let i = 0; i < out.length; i++) out[i] = W[i] * Mk[i]; // one f32 product, as the kernel
    return { mask, y, weff };
  }
  const f16 = w.dtype === 'f16';
  e.dispatch(kernel(f16 ? 'sample_masked_f16' : 'sample_masked', p), {
    params: layoutParams(g)
      .u32(a.rng.seed >>> 0)
      .u32(a.rng.stream >>> 0)
      .u32(a.rng.offset >>> 0)
      .u32(0)
      .f32(a.kappa)
      .f32(a.tau)
      .f32(0)
      .u32(0)
      .build(),
    bindings: f16 ? [logits, y, mask, null, null, null, null, null, null, weff, w] : [logits, y, mask, null, null, w, null, null, null, weff],
    workgroups: grid1d(g.groups),
  });
  return { mask, y, weff };
}

/** Gumbel noise for every (group, candidate), in f64 from the f32 uniforms the GPU sees. */
export function gumbelNoiseCpu(pos: RngPosition, count: number): Float64Array {
  const bits = rngBitsCpu(pos, count);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = -Math.log(-Math.log(bitsToOpenUnit(bits[i])));
  return out;
}

/** Soft mask from logits and fixed noise, all in f64 (also used by finite-difference checks). */
export function softMaskFromNoise(
  logits: ArrayLike<number>,
  noise: ArrayLike<number>,
  g: GroupLayout,
  p: Pattern,
  kappa: number,
  tau: number,
): { y: Float64Array; mask: Float64Array } {
  const C = p.candidates.length;
  const y = new Float64Array(g.groups * C);
  const mask = new Float64Array(g.rows * g.cols);
  const z = new Float64Array(C);
  for (let grp = 0; grp < g.groups; grp++) {
    const base = grp * C;
    let zmax = -Infinity;
    for (let c = 0; c < C; c++) {
      z[c] = (kappa * logits[base + c] + noise[base + c]) / tau;
      if (z[c] > zmax) zmax = z[c];
    }
    let total = 0;
    for (let c = 0; c < C; c++) total += z[c] = Math.exp(z[c] - zmax);
    for (let k = 0; k < p.m; k++) mask[elementIndex(g, grp, k)] = 0;
    for (let c = 0; c < C; c++) {
      const yc = z[c] / total;
      y[base + c] = yc;
      const S = p.candidates[c];
      for (let k = 0; k < p.m; k++) if (S[k]) mask[elementIndex(g, grp, k)] += yc;
    }
  }
  return { y, mask };
}

function sampleCpu(logits: ArrayLike<number>, yOut: Float32Array, maskOut: Float32Array, g: GroupLayout, p: Pattern, a: SampleArgs): void {
  const noise = gumbelNoiseCpu(a.rng, g.groups * p.candidates.length);
  const { y, mask } = softMaskFromNoise(logits, noise, g, p, a.kappa, a.tau);
  yOut.set(y);
  maskOut.set(mask);
}

/**
 * Backward to the logits for L = L_task(W ⊙ m) − λ Σ (w ⊙ m)², with gradW = ∂L_task/∂W_eff in the
 * weight layout and y the sample's probabilities. Returns a new [G, C] tensor, or adds into
 * `accumulate` (several samples per step) and returns it.
 */
export function softMaskBackward(
  e: Engine,
  gradW: RawTensor,
  w: RawTensor,
  mask: RawTensor,
  y: RawTensor,
  g: GroupLayout,
  p: Pattern,
  a: { kappa: number; tau: number; lambda: number },
  accumulate?: RawTensor,
): RawTensor {
  check('softMaskBackward', y, g, p);
  checkPositive('softMaskBackward', 'tau', a.tau);
  const ws = weightShape(g);
  assertShape('softMaskBackward: gradW', gradW.shape, ws);
  assertShape('softMaskBackward: w', w.shape, ws);
  assertShape('softMaskBackward: mask', mask.shape, ws);
  if (accumulate) assertShape('softMaskBackward: accumulate', accumulate.shape, y.shape);
  checkWeight('softMaskBackward', e, w);
  if (e.kind === 'wasm') return softMaskBackwardWasm(e, gradW, w, mask, y, g, p, a, accumulate);
  const out = accumulate ?? e.empty(y.shape);
  if (e.kind !== 'gpu') {
    backwardCpu(gradW.f32, w.f32, mask.f32, y.f32, out.f32, g, p, a, !!accumulate);
    return out;
  }
  const f16 = w.dtype === 'f16';
  e.dispatch(kernel(f16 ? 'backward_f16' : 'backward', p), {
    params: layoutParams(g)
      .u32(0)
      .u32(0)
      .u32(0)
      .u32(accumulate ? 1 : 0)
      .f32(a.kappa)
      .f32(a.tau)
      .f32(a.lambda)
      .u32(0)
      .build(),
    bindings: f16 ? [null, null, null, null, gradW, null, mask, y, out, null, w] : [null, null, null, null, gradW, w, mask, y, out],
    workgroups: grid1d(g.groups),
  });
  return out;
}

/** CPU twin of the backward, f64 throughout; `out` is overwritten or added into. */
export function backwardCpu(
  gradW: ArrayLike<number>,
  w: ArrayLike<number>,
  mask: ArrayLike<number>,
  y: ArrayLike<number>,
  out: { [i: number]: number },
  g: GroupLayout,
  p: Pattern,
  a: { kappa: number; tau: number; lambda: number },
  accumulate: boolean,
): void {
  const C = p.candidates.length;
  const dm = new Float64Array(p.m);
  const dy = new Float64Array(C);
  const scale = a.kappa / a.tau;
  for (let grp = 0; grp < g.groups; grp++) {
    const base = grp * C;
    for (let k = 0; k < p.m; k++) {
      const i = elementIndex(g, grp, k);
      dm[k] = gradW[i] * w[i] - 2 * a.lambda * w[i] * w[i] * mask[i];
    }
    let dot = 0;
    for (let c = 0; c < C; c++) {
      const S = p.candidates[c];
      let d = 0;
      for (let k = 0; k < p.m; k++) if (S[k]) d += dm[k];
      dy[c] = d;
      dot += y[base + c] * d;
    }
    for (let c = 0; c < C; c++) {
      const gr = scale * y[base + c] * (dy[c] - dot);
      out[base + c] = accumulate ? out[base + c] + gr : gr;
    }
  }
}

/** Inference mask: the candidate at argmax π per group (lowest index on ties), 0/1 and the choice. */
export function hardMask(e: Engine, logits: RawTensor, g: GroupLayout, p: Pattern): { mask: RawTensor; choice: RawTensor } {
  check('hardMask', logits, g, p);
  if (e.kind === 'wasm') return hardMaskWasm(e, logits, g, p);
  const C = p.candidates.length;
  const mask = e.empty(weightShape(g));
  const choice = e.empty([g.groups], 'u32');
  if (e.kind !== 'gpu') {
    const L = logits.f32,
      Mk = mask.f32,
      ch = choice.data;
    for (let grp = 0; grp < g.groups; grp++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (L[grp * C + c] > L[grp * C + best]) best = c;
      ch[grp] = best;
      const S = p.candidates[best];
      for (let k = 0; k < p.m; k++) Mk[elementIndex(g, grp, k)] = S[k];
    }
    return { mask, choice };
  }
  e.dispatch(kernel('hard', p), {
    params: layoutParams(g).u32(0).u32(0).u32(0).u32(0).f32(0).f32(1).f32(0).u32(0).build(),
    bindings: [logits, null, mask, choice],
    workgroups: grid1d(g.groups),
  });
  return { mask, choice };
}

/** W ⊙ m as its own elementwise pass (W f32, or packed f16 on the GPU: the same f32 product). */
export function applyMask(e: Engine, w: RawTensor, mask: RawTensor): RawTensor {
  assertShape('applyMask: mask', mask.shape, w.shape);
  if (w.dtype === 'f16') return mulF16(e, w, mask);
  return mul(e, w, mask);
}
