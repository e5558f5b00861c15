// Packed f16 storage (issue 21): the host side. A tensor of dtype 'f16' (GPU engine only) holds
// IEEE-754 binary16 values two per u32 word, element 2k in the low 16 bits of word k and 2k+1 in
// the high 16 bits — what WGSL's unpack2x16float reads (component .x is the low half). An odd
// element count leaves the high half of the last word zero.
//
// The f32 → f16 conversion happens here, once, at upload: round to nearest, ties to even, in plain
// integer arithmetic, so every adapter stores the same bits (WGSL's pack2x16float leaves some
// roundings to the implementation, and the storage path never uses it). Arithmetic stays f32: the
// kernels unpack each value (exactly: every f16 is an f32) and compute as the f32 path does.
//
// Range: f16's largest finite value is 65504. A value beyond it (|v| > 65504), ±Inf or NaN is
// refused with an F16RangeError naming the index and value (the model's upload adds the tensor's
// name) — never stored as Inf. Small values: magnitudes below 2^-14 ≈ 6.1e-5 become f16 subnormals
// (spacing 2^-24 ≈ 6e-8, rounded to nearest even like the rest), below 2^-25 they become a zero of
// the same sign. The GPU decodes subnormals exactly on the adapters tested (SwiftShader:
// tests/browser/f16.test.ts round-trips every subnormal boundary); WGSL permits an implementation
// to flush subnormals to zero, which would move such a weight by at most 6.1e-5.

/** f16's largest finite value. */
export const F16_MAX = 65504;

/** A value that f16 cannot hold (beyond ±65504, ±Inf or NaN). */
export class F16RangeError extends RangeError {
  constructor(
    readonly index: number,
    readonly value: number,
    what: string,
  ) {
    super(
      `${what}: value ${value} at index ${index} cannot be stored as f16 (${Number.isNaN(value) ? 'NaN' : `beyond f16's largest finite value ${F16_MAX}`}); use weightStorage 'f32'`,
    );
  }
}

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/**
 * The binary16 bits of f32(v), rounded to nearest, ties to even. ±Inf for magnitudes that round
 * beyond 65504 (callers that store weights refuse those first: packF16), a quiet NaN for NaN.
 */
export function f32ToF16Bits(v: number): number {
  f32buf[0] = v;
  const x = u32buf[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 112; // the f16 biased exponent (f32 bias 127, f16 bias 15)
  if (e >= 0x1f) return sign | 0x7c00;
  if (e >= 1) {
    // normal: keep the top 10 mantissa bits, round on the 13 dropped ones; a carry out of the
    // mantissa moves into the exponent (and from 0x7bff to 0x7c00 = Inf), which is the right result
    const rem = mant & 0x1fff;
    let h = sign | (e << 10) | (mant >>> 13);
    if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++;
    return h;
  }
  // subnormal f16 (or zero): the value in units of 2^-24 is full · 2^(e−14), full = 1.mant as an integer
  const shift = 14 - e;
  if (exp === 0 || shift > 24) return sign; // below 2^-25 (or an f32 subnormal): rounds to zero
  const full = mant | 0x800000;
  let h = full >>> shift;
  const rem = full & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rem > half || (rem === half && (h & 1) === 1)) h++; // 0x3ff + 1 = 0x400 is the smallest normal
  return sign | h;
}

/** The value of binary16 bits h (exact: every f16 is an f32). */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? Number.NaN : sign * Infinity;
  return sign * (1024 + m) * 2 ** (e - 25);
}

/** u32 words holding n packed f16 values. */
export function f16WordCount(n: number): number {
  return Math.ceil(n / 2);
}

/**
 * f32 values → packed f16 words (round to nearest even). Throws F16RangeError (naming `what`) at
 * the first value f16 cannot hold: |v| > 65504, ±Inf, NaN.
 */
export function packF16(values: ArrayLike<number>, what = 'packF16'): Uint32Array {
  const n = values.length;
  const out = new Uint32Array(f16WordCount(n));
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!(Math.abs(v) <= F16_MAX)) throw new F16RangeError(i, v, what);
    out[i >>> 1] |= f32ToF16Bits(v) << ((i & 1) * 16);
  }
  return out;
}

/** The CPU twin of the GPU's unpack: n values from packed words, exact, as f32. */
export function unpackF16(words: Uint32Array, n: number): Float32Array {
  if (words.length < f16WordCount(n)) throw new RangeError(`unpackF16: ${words.length} words hold fewer than ${n} values`);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = f16BitsToF32((words[i >>> 1] >>> ((i & 1) * 16)) & 0xffff);
  return out;
}

/** f32 values rounded to f16 and back: what a weight stored as f16 holds (e.g. for an f32 run on the same weights). */
export function roundToF16(values: ArrayLike<number>, what = 'roundToF16'): Float32Array {
  return unpackF16(packF16(values, what), values.length);
}
