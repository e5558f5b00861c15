// 2:4 packing (f16 values + 2-bit indices), its f16 rounding, and the CPU twin of the compressed product.
import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import { matmul } from '../../src/ops/matmul';
import {
  halfBitsToFloat,
  mask24FromScores,
  packSparse24,
  roundToHalf,
  sparse24Bytes,
  sparse24Matmul,
  toHalfBits,
  unpackSparse24,
  uploadSparse24,
} from '../../src/ops/sparse24';
import { expectClose } from '../helpers/close';
import { randn, testSeed } from '../helpers/random';

const mask24 = (k: number, n: number, seed: number, keep = 2) => mask24FromScores(randn(k * n, seed), k, n, keep);

describe('f16 conversion', () => {
  it('exact on representable values, nearest-even on ties, inf/NaN/subnormals', () => {
    for (const v of [0, 1, -2, 0.5, 65504, 2 ** -14, 2 ** -24, -(2 ** -20), 1 + 2 ** -10]) expect(roundToHalf(v)).toBe(v);
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00); // tie → even (1.0)
    expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (upwards)
    expect(toHalfBits(65520)).toBe(0x7c00); // rounds past the largest half → inf
    expect(toHalfBits(-1e9)).toBe(0xfc00);
    expect(Number.isNaN(halfBitsToFloat(toHalfBits(Number.NaN)))).toBe(true);
    expect(toHalfBits(2 ** -26)).toBe(0); // below half of the smallest subnormal
    expect(toHalfBits(3 * 2 ** -26)).toBe(1); // rounds up to the smallest subnormal
    expect(toHalfBits(-0)).toBe(0x8000);
  });
  it('relative error ≤ 2^-11 on normal values', () => {
    for (const v of randn(1000, testSeed(), 10)) expect(Math.abs(roundToHalf(v) - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11);
  });
});

describe('packSparse24', () => {
  const seed = testSeed();
  it('round-trips to the masked weight rounded to f16 (full and under-full groups)', () => {
    for (const [k, n, keep] of [
      [4, 1, 2],
      [8, 9, 2],
      [12, 17, 1],
      [16, 8, 0],
    ] as const) {
      const w = randn(k * n, seed),
        m = mask24(k, n, seed + 1, keep);
      const p = packSparse24(w, m, k, n);
      expect(p.vals.length).toBe((k / 4) * n);
      expect(p.idx.length).toBe((k / 4) * Math.ceil(n / 8));
      expect(Array.from(unpackSparse24(p))).toEqual(Array.from(w, (v, i) => (m[i] ? roundToHalf(v) : 0)));
    }
  });
  it('mask24FromScores keeps the largest scores of each group', () => {
    expect(Array.from(mask24FromScores([3, -1, 5, 0, 1, 2, 0, 9], 8, 1))).toEqual([1, 0, 1, 0, 0, 1, 0, 1]);
    expect(() => mask24FromScores([1, 2], 2, 1)).toThrow(/K = 2 is not a multiple of 4/);
  });
  it('bytes: 4.5 per group of 4 instead of 16', () => {
    expect(sparse24Bytes(768, 3072)).toEqual({ compressed: 192 * 3072 * 4 + 192 * 384 * 4, denseF32: 768 * 3072 * 4, denseF16: 768 * 3072 * 2 });
  });
  it('rejects bad input with specific messages', () => {
    expect(() => packSparse24(new Float32Array(6), new Float32Array(6), 6, 1)).toThrow(/K = 6 is not a multiple of 4/);
    expect(() => packSparse24(new Float32Array(8), new Float32Array(4), 4, 2)).toThrow(/mask has 4 values/);
    expect(() => packSparse24(new Float32Array(4), [1, 1, 1, 0], 4, 1)).toThrow(/keeps 3 of 4/);
    expect(() => packSparse24(new Float32Array(4), [0.5, 0, 0, 0], 4, 1)).toThrow(/mask must be 0\/1, got 0.5/);
  });
});

describe('sparse24Matmul CPU twin', () => {
  const seed = testSeed();
  it('equals the dense product with the unpacked weight (rank-3 x, N not a multiple of 8)', () => {
    const e = new CpuEngine();
    const [k, n] = [12, 11];
    const w = randn(k * n, seed),
      m = mask24(k, n, seed + 1);
    const p = packSparse24(w, m, k, n);
    const x = e.upload(randn(2 * 3 * k, seed + 2), [2, 3, k]);
    const got = sparse24Matmul(e, x, uploadSparse24(e, p));
    expect(got.shape).toEqual([2, 3, n]);
    expectClose(got.f32, matmul(e, x, e.upload(unpackSparse24(p), [k, n])).f32, 1e-6, `seed=${seed}`);
    expect(() => sparse24Matmul(e, e.zeros([2, 8]), uploadSparse24(e, p))).toThrow(/must end in K = 12/);
  });
});
