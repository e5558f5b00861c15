// Mean cross-entropy over rows. GPU: shaders/loss.wgsl; CPU twin below (f64 accumulation).
// logits [N, V] (leading dims fold into N), targets u32 with N elements.
// Out-of-range targets: the CPU twin throws; the GPU cannot raise, so it clamps a target ≥ V to V − 1
// (never reading out of bounds) and the loss is silently wrong: validate targets on the host.
import reduceLib from '../../shaders/workgroup_reduce.wgsl?raw';
import src from '../../shaders/loss.wgsl?raw';
import type { Engine } from '../backend/engine';
import type { RawTensor } from '../backend/tensor';
import type { Kernel } from '../gpu/kernel';
import { params } from '../gpu/params';
import { grid1d } from './grid';
import { crossEntropyBackwardWasm, crossEntropyWasm } from '../wasm/rows';

const k = (entry: string): Kernel => ({ name: 'loss', code: reduceLib + src, entry });

function dims(op: string, logits: RawTensor, targets: RawTensor): [number, number] {
  if (logits.dtype !== 'f32') throw new Error(`${op}: logits must be f32, got ${logits.dtype}`);
  if (logits.shape.length < 2) throw new Error(`${op}: logits must be [N, V], got [${logits.shape.join(', ')}]`);
  const V = logits.shape[logits.shape.length - 1];
  const N = V === 0 ? 0 : logits.size / V;
  if (V === 0 || N === 0) throw new Error(`${op}: logits [${logits.shape.join(', ')}] must have N ≥ 1 rows and V ≥ 1 classes`);
  if (targets.dtype !== 'u32') throw new Error(`${op}: targets must be u32, got ${targets.dtype}`);
  if (targets.size !== N) throw new Error(`${op}: ${targets.size} targets for ${N} rows of logits`);
  return [N, V];
}

/** CPU twin's check: the target of row r, which must lie in [0, V). */
function cpuTarget(op: string, T: ArrayLike<number>, r: number, V: number): number {
  const t = T[r];
  if (!(t >= 0 && t < V)) throw new Error(`${op}: target ${t} at row ${r} is out of range [0, ${V})`);
  return t;
}

export function crossEntropy(e: Engine, logits: RawTensor, targets: RawTensor): { loss: RawTensor; lse: RawTensor; rowLoss: RawTensor } {
  const [N, V] = dims('crossEntropy', logits, targets);
  if (e.kind === 'wasm') return crossEntropyWasm(e, logits, targets, N, V);
  const loss = e.empty([1]);
  const lse = e.empty([N]);
  const rowLoss = e.empty([N]);
  if (e.kind !== 'gpu') {
    const X = logits.f32,
      T = targets.data;
    let total = 0;
    for (let r = 0; r < N; r++) {
      const t = cpuTarget('crossEntropy', T, r, V);
      const o = r * V;
      let m = -Infinity;
      for (let c = 0; c < V; c++) m = Math.max(m, X[o + c]);
      let s = 0;
      for (let c = 0; c < V; c++) s += Math.exp(X[o + c] - m);
      const l = m + Math.log(s);
      lse.f32[r] = l;
      rowLoss.f32[r] = l - X[o + t];
      total += l - X[o + t];
    }
    loss.f32[0] = total / N;
    return { loss, lse, rowLoss };
  }
  const u = params().u32(N).u32(V).build();
  e.dispatch(k('ce_rows'), { params: u, bindings: [logits, targets, lse, rowLoss], workgroups: grid1d(N, 1) });
  e.dispatch(k('ce_mean'), { params: u, bindings: [null, null, null, rowLoss, loss], workgroups: [1] });
  return { loss, lse, rowLoss };
}

/** d(mean CE)/d logits, scaled by dloss[0], which stays on the GPU (no readback). */
export function crossEntropyBackward(e: Engine, dloss: RawTensor, logits: RawTensor, targets: RawTensor, lse: RawTensor): RawTensor {
  const [N, V] = dims('crossEntropyBackward', logits, targets);
  if (dloss.size !== 1 || dloss.dtype !== 'f32') throw new Error(`crossEntropyBackward: dloss must be one f32 value, got ${dloss.size} ${dloss.dtype}`);
  if (lse.size !== N) throw new Error(`crossEntropyBackward: lse has ${lse.size} elements for ${N} rows`);
  if (e.kind === 'wasm') return crossEntropyBackwardWasm(e, dloss, logits, targets, lse, N, V);
  const dlogits = e.empty(logits.shape);
  if (e.kind !== 'gpu') {
    const X = logits.f32,
      T = targets.data,
      L = lse.f32,
      D = dlogits.f32;
    const g = dloss.f32[0] / N;
    for (let r = 0; r < N; r++) {
      const t = cpuTarget('crossEntropyBackward', T, r, V);
      for (let c = 0; c < V; c++) D[r * V + c] = g * (Math.exp(X[r * V + c] - L[r]) - (c === t ? 1 : 0));
    }
    return dlogits;
  }
  e.dispatch(k('ce_backward'), {
    params: params().u32(N).u32(V).build(),
    bindings: [logits, targets, lse, null, null, dloss, dlogits],
    workgroups: grid1d(N * V),
  });
  return dlogits;
}
