// LayerNorm over the last dim (leading dims fold into rows). GPU: shaders/norm.wgsl; CPU twins below
// accumulate in f64. The forward saves mean and rstd per row for the backward.
import reduceLib from '../../shaders/workgroup_reduce.wgsl?raw';
import src from '../../shaders/norm.wgsl?raw';
import type { Engine } from '../backend/engine';
import { assertShape, type RawTensor } from '../backend/tensor';
import type { Kernel } from '../gpu/kernel';
import { params } from '../gpu/params';
import { grid1d } from './grid';
import { layerNormBackwardWasm, layerNormWasm } from '../wasm/rows';

const k = (entry: string): Kernel => ({ name: 'norm', code: reduceLib + src, entry });

/** [rows, cols] of a tensor normalised over its last dim. */
function rowsCols(op: string, x: RawTensor): [number, number] {
  if (x.dtype !== 'f32') throw new Error(`${op}: x must be f32, got ${x.dtype}`);
  if (x.shape.length === 0) throw new Error(`${op}: x must have at least one dimension`);
  const cols = x.shape[x.shape.length - 1];
  if (cols === 0) throw new Error(`${op}: the normalised (last) dim of x [${x.shape.join(', ')}] is 0`);
  return [x.size / cols, cols];
}

function lnParams(rows: number, cols: number, eps: number): ArrayBuffer {
  return params().u32(rows).u32(cols).f32(eps).u32(0).build();
}

/** Kernel variant: one invocation per row (narrow rows, no barriers) or one workgroup per row. */
export type NormVariant = 'row' | 'workgroup';
/** Rows up to this width use the per-row kernel (measured faster on SwiftShader; see docs/PERFORMANCE.md). */
export const NORM_ROW_MAX_COLS = 256;
const pickNorm = (cols: number, v?: NormVariant): NormVariant => v ?? (cols <= NORM_ROW_MAX_COLS ? 'row' : 'workgroup');

export function layerNorm(
  e: Engine,
  x: RawTensor,
  gamma: RawTensor,
  beta: RawTensor,
  eps: number,
  variant?: NormVariant,
): { y: RawTensor; mean: RawTensor; rstd: RawTensor } {
  const [rows, cols] = rowsCols('layerNorm', x);
  assertShape('layerNorm gamma', gamma.shape, [cols]);
  assertShape('layerNorm beta', beta.shape, [cols]);
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new Error(`layerNorm: eps must be a finite number ≥ 0, got ${eps}`);
  if (e.kind === 'wasm') return layerNormWasm(e, x, gamma, beta, eps, rows, cols);
  const y = e.empty(x.shape);
  const mean = e.empty([rows]);
  const rstd = e.empty([rows]);
  if (e.kind !== 'gpu') {
    const X = x.f32,
      G = gamma.f32,
      B = beta.f32,
      Y = y.f32;
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      let s = 0;
      for (let c = 0; c < cols; c++) s += X[o + c];
      const mu = s / cols;
      let v = 0;
      for (let c = 0; c < cols; c++) v += (X[o + c] - mu) ** 2;
      const rs = 1 / Math.sqrt(v / cols + eps);
      for (let c = 0; c < cols; c++) Y[o + c] = (X[o + c] - mu) * rs * G[c] + B[c];
      mean.f32[r] = mu;
      rstd.f32[r] = rs;
    }
    return { y, mean, rstd };
  }
  const row = pickNorm(cols, variant) === 'row';
  e.dispatch(k(row ? 'ln_forward_row' : 'ln_forward'), {
    params: lnParams(rows, cols, eps),
    bindings: [x, gamma, beta, y, mean, rstd],
    workgroups: row ? grid1d(rows) : grid1d(rows, 1),
  });
  return { y, mean, rstd };
}

export function layerNormBackward(
  e: Engine,
  dy: RawTensor,
  x: RawTensor,
  gamma: RawTensor,
  mean: RawTensor,
  rstd: RawTensor,
  needParamGrads: boolean,
  variant?: NormVariant,
): { dx: RawTensor; dgamma: RawTensor | null; dbeta: RawTensor | null } {
  const [rows, cols] = rowsCols('layerNormBackward', x);
  assertShape('layerNormBackward dy', dy.shape, x.shape);
  assertShape('layerNormBackward gamma', gamma.shape, [cols]);
  if (mean.size !== rows || rstd.size !== rows) {
    throw new Error(`layerNormBackward: mean/rstd must have ${rows} elements (one per row), got ${mean.size}/${rstd.size}`);
  }
  if (e.kind === 'wasm') return layerNormBackwardWasm(e, dy, x, gamma, mean, rstd, needParamGrads, rows, cols);
  const dx = e.empty(x.shape);
  const dgamma = needParamGrads ? e.empty([cols]) : null;
  const dbeta = needParamGrads ? e.empty([cols]) : null;
  if (e.kind !== 'gpu') {
    const X = x.f32,
      G = gamma.f32,
      DY = dy.f32,
      DX = dx.f32,
      M = mean.f32,
      RS = rstd.f32;
    for (let r = 0; r < rows; r++) {
      const o = r * cols,
        mu = M[r],
        rs = RS[r];
      let sg = 0,
        sgx = 0;
      for (let c = 0; c < cols; c++) {
        const g = DY[o + c] * G[c];
        sg += g;
        sgx += g * (X[o + c] - mu) * rs;
      }
      const mg = sg / cols,
        mgx = sgx / cols;
      for (let c = 0; c < cols; c++) DX[o + c] = rs * (DY[o + c] * G[c] - mg - (X[o + c] - mu) * rs * mgx);
    }
    if (dgamma && dbeta) {
      for (let c = 0; c < cols; c++) {
        let sg = 0,
          sb = 0;
        for (let r = 0; r < rows; r++) {
          const i = r * cols + c;
          sg += DY[i] * (X[i] - M[r]) * RS[r];
          sb += DY[i];
        }
        dgamma.f32[c] = sg;
        dbeta.f32[c] = sb;
      }
    }
    return { dx, dgamma, dbeta };
  }
  const u = lnParams(rows, cols, 0);
  const row = pickNorm(cols, variant) === 'row';
  e.dispatch(k(row ? 'ln_backward_dx_row' : 'ln_backward_dx'), {
    params: u,
    bindings: [x, gamma, null, null, mean, rstd, dy, dx],
    workgroups: row ? grid1d(rows) : grid1d(rows, 1),
  });
  if (dgamma && dbeta) {
    e.dispatch(k('ln_param_grads'), {
      params: u,
      bindings: [x, null, null, null, mean, rstd, dy, null, dgamma, dbeta],
      workgroups: grid1d(cols, 1),
    });
  }
  return { dx, dgamma, dbeta };
}
