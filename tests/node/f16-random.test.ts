// Packed f16 storage (issue 21): the host's f32 → f16 rounding against an independent reference on
// fresh seeded inputs. The reference knows nothing of bit fiddling: it lists every finite f16 value
// from the definition ((1 + m/1024) · 2^(e−15), m · 2^-24 below), finds the two neighbours of v by
// binary search and picks the nearer, the one with an even bit pattern on a tie.
import { describe, expect, it } from 'vitest';
import { f16BitsToF32, f32ToF16Bits, packF16, roundToF16, unpackF16 } from '../../src/backend/f16';
import { rngBitsCpu } from '../../src/ops/rng';
import { testSeed } from '../helpers/random';

const seed = testSeed();

// positive finite f16 values by bit pattern 0x0000 … 0x7bff (increasing)
const POS = Float64Array.from({ length: 0x7c00 }, (_, h) => {
  const e = h >> 10,
    m = h & 0x3ff;
  return e === 0 ? m * Math.pow(2, -24) : (1 + m / 1024) * Math.pow(2, e - 15);
});

function referenceBits(v: number): number {
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  let lo = 0,
    hi = POS.length - 1;
  if (a >= POS[hi]) return sign | hi; // (callers stay within ±65504)
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (POS[mid] <= a) lo = mid;
    else hi = mid;
  }
  const dl = a - POS[lo],
    dh = POS[hi] - a;
  const pick = dl < dh ? lo : dh < dl ? hi : lo % 2 === 0 ? lo : hi;
  return sign | pick;
}

/** Random f32 values in f16's range: random bits (every exponent equally), ties and their neighbours. */
function inputs(n: number): Float32Array {
  const bits = rngBitsCpu({ seed, stream: 21, offset: 0 }, 3 * n);
  const out = new Float32Array(3 * n);
  const f = new Float32Array(1),
    u = new Uint32Array(f.buffer);
  for (let i = 0; i < n; i++) {
    // an f32 with a random exponent from 2^-30 to 2^15 and a random mantissa
    const exp = 97 + (bits[3 * i] % 46);
    u[0] = (bits[3 * i + 1] & 0x807fffff) | (exp << 23);
    out[3 * i] = Math.abs(f[0]) > 65504 ? f[0] / 2 : f[0];
    // the midpoint between two adjacent f16 values (exact in f32), and one f32 ulp above it
    const h = bits[3 * i + 2] % 0x7bff;
    const mid = (POS[h] + POS[h + 1]) / 2;
    const s = bits[3 * i + 2] & 0x80000000 ? -1 : 1;
    out[3 * i + 1] = s * mid;
    f[0] = mid;
    u[0] += 1;
    out[3 * i + 2] = s * f[0];
  }
  return out;
}

describe(`f32 → f16 against the nearest-value reference (seed ${seed})`, () => {
  it('random values, ties and values one f32 ulp past a tie: the same bits', () => {
    const v = inputs(20000);
    let bad = 0;
    const first: string[] = [];
    for (let i = 0; i < v.length; i++) {
      const got = f32ToF16Bits(v[i]),
        want = referenceBits(v[i]);
      if (got !== want) {
        bad++;
        if (first.length < 5) first.push(`${v[i]}: 0x${got.toString(16)} vs 0x${want.toString(16)}`);
      }
    }
    expect(first, `${bad} mismatches`).toEqual([]);
  });

  it('the rounding error is at most half a step (2^-11 relative, 2^-25 absolute below 2^-14)', () => {
    const v = inputs(5000);
    const r = roundToF16(v);
    for (let i = 0; i < v.length; i++) {
      const a = Math.abs(v[i]);
      const bound = a < 2 ** -14 ? 2 ** -25 : a * 2 ** -11;
      expect(Math.abs(r[i] - v[i]), `${v[i]}`).toBeLessThanOrEqual(bound);
    }
  });

  it('pack then unpack gives every value rounded, in order, for an odd count', () => {
    const v = inputs(1001).subarray(0, 3003 - 2); // 3001 values: the last word half used
    expect(v.length % 2).toBe(1);
    const words = packF16(v);
    expect(words.length).toBe(1501);
    expect(words[1500] >>> 16).toBe(0);
    const back = unpackF16(words, v.length);
    for (let i = 0; i < v.length; i++) expect(Object.is(back[i], f16BitsToF32(referenceBits(v[i]))), `${i}: ${v[i]}`).toBe(true);
  });
});
