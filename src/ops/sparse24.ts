// 2:4 compressed weights for inference: pack a 2:4-masked W [K,N] (groups of 4 along K, per column)
// into kept values (f16, two per u32) + 2-bit row indices, and multiply X [.., K] by it without
// expanding. GPU: shaders/sparse24.wgsl; the CPU twin (f64 accumulation of the same f16 values) is
// sparse24MatmulCpu. Packing runs on the CPU (a deployment step, not a per-step op).
import src from '../../shaders/sparse24.wgsl?raw';
import type { Engine, HostEngine } from '../backend/engine';
import type { GpuEngine } from '../backend/gpu';
import type { RawTensor } from '../backend/tensor';
import { params } from '../gpu/params';
import { sparse24MatmulWasm } from '../wasm/sampling';
import { ceilDiv } from './grid';

/** A packed 2:4 weight on the host (layout in shaders/sparse24.wgsl). */
export interface Sparse24Packed {
  k: number;
  n: number;
  /** [K/4 · N]: two f16 kept values per u32 (lower half = lower row) */
  vals: Uint32Array;
  /** [K/4 · ⌈N/8⌉]: 4 bits per (group, column): first kept row | second << 2 */
  idx: Uint32Array;
}

/** The same on an engine (u32 tensors). */
export interface Sparse24Weight {
  k: number;
  n: number;
  vals: RawTensor;
  idx: RawTensor;
}

// ---- f16 conversion (round to nearest even; Math.f16round is not in Node 20) ----
const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** f32 → IEEE half bits, round to nearest even; overflow → ±inf, NaN kept, subnormals exact. */
export function toHalfBits(x: number): number {
  f32buf[0] = x;
  const b = u32buf[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const man = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (man ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: ±0
    // subnormal: shift the full significand (with its implicit 1) into 10 bits
    const full = man | 0x800000;
    const shift = 14 - e;
    let h = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (man >>> 13);
  const rem = man & 0x1fff;
  // a carry out of the mantissa correctly bumps the exponent (up to inf)
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** IEEE half bits → number (exact). */
export function halfBitsToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? Number.NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

export const roundToHalf = (x: number) => halfBitsToFloat(toHalfBits(x));

// ---- packing ----

/**
 * Pack W [K,N] (row-major) under a 0/1 mask of the same shape that keeps at most 2 of every 4 rows
 * in each column group. A group with fewer than 2 kept weights is padded with zero-valued slots.
 */
export function packSparse24(w: ArrayLike<number>, mask: ArrayLike<number>, k: number, n: number): Sparse24Packed {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || n < 0) throw new Error(`packSparse24: bad shape [${k}, ${n}]`);
  if (k % 4 !== 0) throw new Error(`packSparse24: K = ${k} is not a multiple of 4 (groups of 4 along K)`);
  if (w.length !== k * n) throw new Error(`packSparse24: w has ${w.length} values, [${k}, ${n}] needs ${k * n}`);
  if (mask.length !== k * n) throw new Error(`packSparse24: mask has ${mask.length} values, [${k}, ${n}] needs ${k * n}`);
  const groups = k / 4,
    iw = ceilDiv(n, 8);
  const vals = new Uint32Array(groups * n),
    idx = new Uint32Array(groups * iw);
  for (let g = 0; g < groups; g++) {
    for (let c = 0; c < n; c++) {
      const kept: number[] = [];
      for (let r = 0; r < 4; r++) {
        const mv = mask[(4 * g + r) * n + c];
        if (mv !== 0 && mv !== 1) throw new Error(`packSparse24: mask must be 0/1, got ${mv} at row ${4 * g + r}, column ${c}`);
        if (mv === 1) kept.push(r);
      }
      if (kept.length > 2) throw new Error(`packSparse24: group ${g} of column ${c} keeps ${kept.length} of 4 weights (2:4 allows 2)`);
      // pad with unused rows; their value slot is 0 so they add nothing
      const slots = kept.map((r) => ({ r, v: w[(4 * g + r) * n + c] }));
      for (let r = 0; slots.length < 2; r++) if (!kept.includes(r)) slots.push({ r, v: 0 });
      vals[g * n + c] = (toHalfBits(slots[0].v) | (toHalfBits(slots[1].v) << 16)) >>> 0;
      idx[g * iw + (c >> 3)] |= (slots[0].r | (slots[1].r << 2)) << (4 * (c & 7));
    }
  }
  return { k, n, vals, idx };
}

/** The 0/1 mask [K,N] keeping, in every column group of 4 rows, the `keep` (≤ 2) largest scores. */
export function mask24FromScores(scores: ArrayLike<number>, k: number, n: number, keep = 2): Float32Array {
  if (k % 4 !== 0) throw new Error(`mask24FromScores: K = ${k} is not a multiple of 4`);
  if (scores.length !== k * n) throw new Error(`mask24FromScores: ${scores.length} scores for [${k}, ${n}]`);
  const m = new Float32Array(k * n);
  for (let g = 0; g < k / 4; g++)
    for (let c = 0; c < n; c++) {
      const at = (r: number) => (4 * g + r) * n + c;
      const rows = [0, 1, 2, 3].sort((a, b) => scores[at(b)] - scores[at(a)]).slice(0, keep);
      for (const r of rows) m[at(r)] = 1;
    }
  return m;
}

/** Back to dense [K,N] (the kept weights rounded to f16, zeros elsewhere): the reference product. */
export function unpackSparse24(p: Sparse24Packed): Float32Array {
  const { k, n } = p;
  const iw = ceilDiv(n, 8),
    out = new Float32Array(k * n);
  for (let g = 0; g < k / 4; g++) {
    for (let c = 0; c < n; c++) {
      const v = p.vals[g * n + c],
        code = (p.idx[g * iw + (c >> 3)] >>> (4 * (c & 7))) & 15;
      out[(4 * g + (code & 3)) * n + c] += halfBitsToFloat(v & 0xffff);
      out[(4 * g + (code >> 2)) * n + c] += halfBitsToFloat(v >>> 16);
    }
  }
  return out;
}

/** Bytes of weights a product reads: compressed vs dense f32 (and dense f16 for the memory table). */
export function sparse24Bytes(k: number, n: number): { compressed: number; denseF32: number; denseF16: number } {
  return { compressed: 4 * (k / 4) * n + 4 * (k / 4) * ceilDiv(n, 8), denseF32: 4 * k * n, denseF16: 2 * k * n };
}

export function uploadSparse24(e: Engine, p: Sparse24Packed): Sparse24Weight {
  return { k: p.k, n: p.n, vals: e.upload(p.vals, [p.vals.length], 'u32'), idx: e.upload(p.idx, [p.idx.length], 'u32') };
}

// ---- the product ----

/** x [..., K] · W (compressed [K,N]) → [..., N]. */
export function sparse24Matmul(e: Engine, x: RawTensor, w: Sparse24Weight): RawTensor {
  const k = x.shape[x.shape.length - 1];
  if (x.shape.length < 1 || k !== w.k) throw new Error(`sparse24Matmul: x [${x.shape.join(', ')}] must end in K = ${w.k}`);
  if (x.dtype !== 'f32') throw new Error(`sparse24Matmul: x must be f32, got ${x.dtype}`);
  if (w.vals.dtype !== 'u32' || w.idx.dtype !== 'u32') throw new Error('sparse24Matmul: vals and idx must be u32');
  const groups = w.k / 4,
    iw = ceilDiv(w.n, 8);
  if (w.vals.size !== groups * w.n) throw new Error(`sparse24Matmul: vals has ${w.vals.size} words, needs ${groups * w.n}`);
  if (w.idx.size !== groups * iw) throw new Error(`sparse24Matmul: idx has ${w.idx.size} words, needs ${groups * iw}`);
  const m = x.size / Math.max(1, k);
  const outShape = [...x.shape.slice(0, -1), w.n];
  if (e.kind === 'wasm') return sparse24MatmulWasm(e, x, w, m, outShape);
  return e.kind !== 'gpu' ? sparse24MatmulCpu(e, x, w, m, outShape) : sparse24MatmulGpu(e, x, w, m, outShape);
}

/** CPU twin: the same f16 values, accumulated in f64. */
export function sparse24MatmulCpu(e: HostEngine, x: RawTensor, w: Sparse24Weight, m: number, outShape: number[]): RawTensor {
  const out = e.empty(outShape);
  const dense = unpackSparse24({ k: w.k, n: w.n, vals: w.vals.data as Uint32Array, idx: w.idx.data as Uint32Array });
  const X = x.f32,
    O = out.f32,
    n = w.n,
    k = w.k;
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    row.fill(0);
    for (let p = 0; p < k; p++) {
      const xv = X[i * k + p];
      for (let j = 0; j < n; j++) row[j] += xv * dense[p * n + j];
    }
    O.set(row, i * n);
  }
  return out;
}

const WG = 64;

function sparse24MatmulGpu(e: GpuEngine, x: RawTensor, w: Sparse24Weight, m: number, outShape: number[]): RawTensor {
  // K = 0: an empty sum (and a zero-sized x cannot be bound)
  if (w.k === 0 || m * w.n === 0) return e.zeros(outShape);
  const out = e.empty(outShape);
  if (m > 65535) throw new Error(`sparse24Matmul: ${m} rows exceed 65,535 workgroups in y`);
  e.dispatch(
    { name: 'sparse24', code: src, entry: 'sparse24_rows', constants: { WG } },
    {
      params: params().u32(m).u32(w.k).u32(w.n).u32(ceilDiv(w.n, 8)).build(),
      bindings: [x, w.vals, w.idx, out],
      workgroups: [ceilDiv(w.n, 4 * WG), m],
    },
  );
  return out;
}
