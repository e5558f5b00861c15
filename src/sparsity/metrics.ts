// Convergence metrics of mask learning (MASKLLM.md "Convergence metrics"). GPU: one-workgroup
// reductions in shaders/mask_metrics.wgsl into [1] (or [2]) tensors, so a training loop can log them
// without a readback; CPU twins accumulate in f64.
import src from '../../shaders/mask_metrics.wgsl?raw';
import type { Engine } from '../backend/engine';
import { assertShape, type RawTensor } from '../backend/tensor';
import type { Kernel } from '../gpu/kernel';
import { params } from '../gpu/params';
import { countFlipsWasm, logitStatsWasm, maskL1Wasm, meanMaxProbCleanWasm, meanMaxProbWasm } from '../wasm/sampling';

const kernel = (entry: string): Kernel => ({ name: 'mask_metrics', code: src, entry });

function needF32(what: string, t: RawTensor): void {
  if (t.dtype !== 'f32') throw new Error(`${what}: expected an f32 tensor, got ${t.dtype}`);
  if (t.size === 0) throw new Error(`${what}: empty tensor`);
}

function groupsOf(what: string, t: RawTensor): [number, number] {
  needF32(what, t);
  if (t.shape.length !== 2) throw new Error(`${what}: expected a [groups, candidates] tensor, got shape [${t.shape.join(', ')}]`);
  return [t.shape[0], t.shape[1]];
}

function run(e: Engine & { kind: 'gpu' }, entry: string, outSize: number, n: number, c: number, kappa: number, bindings: (RawTensor | null)[]): RawTensor {
  const out = e.empty([outSize]);
  const [a = null, b = null, ua = null, ub = null] = bindings;
  e.dispatch(kernel(entry), { params: params().u32(n).u32(c).f32(kappa).u32(0).build(), bindings: [a, b, out, ua, ub], workgroups: [1] });
  return out;
}

/** Mean |a − b| over all elements (mask difference between consecutive soft masks). */
export function maskL1(e: Engine, a: RawTensor, b: RawTensor): RawTensor {
  needF32('maskL1', a);
  assertShape('maskL1: b', b.shape, a.shape);
  if (e.kind === 'wasm') return maskL1Wasm(e, a, b);
  if (e.kind !== 'gpu') {
    const A = a.f32,
      B = b.f32;
    let s = 0;
    for (let i = 0; i < a.size; i++) s += Math.abs(A[i] - B[i]);
    return e.upload([s / a.size], [1]);
  }
  return run(e, 'l1', 1, a.size, 0, 0, [a, b]);
}

/** Mean over groups of max_c y_c for a [G, C] sample. */
export function meanMaxProb(e: Engine, y: RawTensor): RawTensor {
  const [G, C] = groupsOf('meanMaxProb', y);
  if (e.kind === 'wasm') return meanMaxProbWasm(e, y, G, C);
  if (e.kind !== 'gpu') {
    const Y = y.f32;
    let s = 0;
    for (let g = 0; g < G; g++) {
      let best = Y[g * C];
      for (let c = 1; c < C; c++) best = Math.max(best, Y[g * C + c]);
      s += best;
    }
    return e.upload([s / G], [1]);
  }
  return run(e, 'max_prob', 1, G, C, 0, [y]);
}

/** Noise-free: mean over groups of max_c softmax(κπ_g)_c. */
export function meanMaxProbClean(e: Engine, logits: RawTensor, kappa: number): RawTensor {
  const [G, C] = groupsOf('meanMaxProbClean', logits);
  if (!Number.isFinite(kappa) || kappa < 0) throw new Error(`meanMaxProbClean: kappa must be a finite number ≥ 0, got ${kappa}`);
  if (e.kind === 'wasm') return meanMaxProbCleanWasm(e, logits, G, C, kappa);
  if (e.kind !== 'gpu') {
    const L = logits.f32;
    let s = 0;
    for (let g = 0; g < G; g++) {
      let top = L[g * C];
      for (let c = 1; c < C; c++) top = Math.max(top, L[g * C + c]);
      let z = 0;
      for (let c = 0; c < C; c++) z += Math.exp(kappa * (L[g * C + c] - top));
      s += 1 / z;
    }
    return e.upload([s / G], [1]);
  }
  return run(e, 'max_prob_clean', 1, G, C, kappa, [logits]);
}

/** [mean, std] of all logits (population std, dividing by the count; torch's default divides by n − 1). */
export function logitStats(e: Engine, logits: RawTensor): RawTensor {
  needF32('logitStats', logits);
  if (e.kind === 'wasm') return logitStatsWasm(e, logits);
  if (e.kind !== 'gpu') {
    const L = logits.f32,
      n = logits.size;
    let s = 0;
    for (let i = 0; i < n; i++) s += L[i];
    const mean = s / n;
    let q = 0;
    for (let i = 0; i < n; i++) q += (L[i] - mean) ** 2;
    return e.upload([mean, Math.sqrt(q / n)], [2]);
  }
  return run(e, 'logit_stats', 2, logits.size, 0, 0, [logits]);
}

/** Number of groups whose choice differs, as an f32 [1] tensor (exact below 2^24 groups). */
export function countFlips(e: Engine, choiceA: RawTensor, choiceB: RawTensor): RawTensor {
  if (choiceA.dtype !== 'u32' || choiceB.dtype !== 'u32') throw new Error(`countFlips: choices must be u32, got ${choiceA.dtype} and ${choiceB.dtype}`);
  assertShape('countFlips: choiceB', choiceB.shape, choiceA.shape);
  if (choiceA.size === 0) throw new Error('countFlips: empty tensor');
  if (e.kind === 'wasm') return countFlipsWasm(e, choiceA, choiceB);
  if (e.kind !== 'gpu') {
    const A = choiceA.data,
      B = choiceB.data;
    let n = 0;
    for (let i = 0; i < choiceA.size; i++) if (A[i] !== B[i]) n++;
    return e.upload([n], [1]);
  }
  return run(e, 'flips', 1, choiceA.size, 0, 0, [null, null, choiceA, choiceB]);
}
