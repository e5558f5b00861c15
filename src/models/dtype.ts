// Half-precision conversions for checkpoint files: IEEE binary16 (f16) and bfloat16 (bf16), both
// given and returned as their 16-bit patterns in a plain number. Rounding is to nearest, ties to even,
// like PyTorch's `.half()` / `.bfloat16()`.
//
// Trap (double rounding): the f32* functions take a JS number (f64) and round it to f32 first, then
// to 16 bits. Rounding twice is exact here because f32 carries 24 significant bits, at least
// 2·p + 2 for both targets (p = 11 for f16, 8 for bf16) — Figueroa's condition for innocuous
// double rounding. Values between the f16 maximum 65504 and 65520 round down to 65504; from 65520
// (the halfway point to 2^16) they overflow to Infinity.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function f32Bits(x: number): number {
  f32[0] = x;
  return u32[0];
}

function fromF32Bits(bits: number): number {
  u32[0] = bits >>> 0;
  return f32[0];
}

/** Decodes an f16 bit pattern (0..0xffff) to its exact value. */
export function f16ToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24; // zero or subnormal
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

/** Rounds a number to the nearest f16 (ties to even) and returns its bit pattern. NaN → quiet NaN. */
export function f32ToF16(x: number): number {
  const b = f32Bits(x);
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) {
    // Keep the top payload bits and force the quiet bit so a NaN never turns into Infinity.
    return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  }
  const e = exp - 127 + 15; // f16 biased exponent
  if (e >= 0x1f) return sign | 0x7c00; // |x| ≥ 2^16: overflow
  if (e >= 1) {
    // Normal: keep 10 of the 23 mantissa bits; a carry out of the mantissa bumps the exponent,
    // which is exactly right (up to 0x7c00 = Infinity for 65520 ≤ |x| < 2^16).
    const kept = (e << 10) | (mant >>> 13);
    return sign | (kept + roundUp(mant & 0x1fff, 13, kept));
  }
  if (e < -10) return sign; // |x| < 2^-25: rounds to ±0 (2^-25 itself is the tie, which goes to 0)
  // Subnormal f16, counted in units of 2^-24: |x| = m24 · 2^(exp-150) = (m24 >> (14 - e)) units,
  // with m24 the 24-bit significand including the implicit 1.
  const m24 = mant | 0x800000;
  const shift = 14 - e; // 14..24
  const kept = m24 >>> shift;
  const rest = m24 & ((1 << shift) - 1);
  return sign | (kept + roundUp(rest, shift, kept)); // a carry into 0x400 is the smallest normal
}

/** 1 when the dropped `rest` (of `nbits` bits) rounds `kept` up under ties-to-even. */
function roundUp(rest: number, nbits: number, kept: number): number {
  const half = 1 << (nbits - 1);
  if (rest > half) return 1;
  if (rest < half) return 0;
  return kept & 1;
}

/** Decodes a bf16 bit pattern: bf16 is the top half of an f32. */
export function bf16ToF32(bits: number): number {
  return fromF32Bits((bits & 0xffff) << 16);
}

/** Rounds a number to the nearest bf16 (ties to even) and returns its bit pattern. NaN → quiet NaN. */
export function f32ToBf16(x: number): number {
  const b = f32Bits(x);
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) {
    // NaN: truncating could drop every payload bit and leave Infinity, so set the quiet bit.
    return ((b >>> 16) | 0x40) & 0xffff;
  }
  // Adding 0x7fff plus the kept LSB rounds to nearest even; the carry may reach the exponent, and
  // the largest finite values correctly overflow to Infinity. Max b here is 0xff800000, so no wrap.
  return Math.floor((b + 0x7fff + ((b >>> 16) & 1)) / 0x10000) & 0xffff;
}

let f16Table: Float32Array | null = null;

/** All 65536 f16 values as f32 (built once, 256 KiB): bulk decoding is then a table lookup. */
export function f16DecodeTable(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16ToF32(h);
  }
  return f16Table;
}
