// AssemblyScript (not TypeScript): the WebAssembly sampling kernels — the counter RNG (the same bits as
// the GPU and CPU engines), Gumbel-softmax sampling fused with W ⊙ m and its backward, the hard mask,
// the mask metrics, AdamW, the embedding row ops and the 2:4 compressed product — built by
// tools/build-wasm.mjs with SIMD128 and with relaxed SIMD. The CPU twins are in src/ops/*.ts and
// src/sparsity/*.ts; the callers in src/wasm/sampling.ts.
//
// Every kernel takes a range [start, end) as its last two parameters (elements, groups or rows, as
// each says) and writes only what that range owns, so disjoint ranges can run on different threads
// (a kernel with a scratch then needs one scratch per thread). Reductions return their range's
// partial (an f64 sum or an i32 count) for the caller to combine.
//
// Precision: the twins compute in f64, and so does everything here that the twins' f64 would beat by
// more than the 1e-5 contract: the Gumbel noise, z = (κπ + g)/τ and its softmax (with τ = 0.05 one f32
// ulp of a noise value moves z by ~1e-5), the backward, the metrics' sums and AdamW, with the twins'
// operation order, so most outputs are bit-identical to the twins'. Only the 2:4 product accumulates
// in f32 (f32x4 lanes over four output columns, relaxed_madd where the variant has it).
//
// Memory is the engine's (imported); pointers are byte offsets. No static data (the build refuses a
// data section): hence the hand-written log and exp below (the standard library's use lookup tables)
// and the candidate table built into the scratch by each call.

function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

// ---------------------------------------------------------------------------------------------------
// Threefry-2x32-20 (src/ops/rng.ts, shaders/rng.wgsl): element i of stream (seed, stream, offset) is
// word (i & 1) of threefry(key = (seed, stream), counter = (offset + i/2 mod 2^32, 0)).

const KS_PARITY: u32 = 0x1bd11bda;

function rotv(x: v128, r: i32): v128 {
  return v128.or(i32x4.shl(x, r), i32x4.shr_u(x, 32 - r));
}

/** Word 1 of the last tf4 call's four lanes (AssemblyScript returns one value). */
let tfWord1: v128 = i32x4.splat(0);

/** Threefry-2x32-20 of the four counters (c_l, 0) under key (k0, k1): word 0 returned, word 1 in tfWord1. */
function tf4(k0: u32, k1: u32, c: v128): v128 {
  const K0 = i32x4.splat(k0),
    K1 = i32x4.splat(k1),
    K2 = i32x4.splat(KS_PARITY ^ k0 ^ k1);
  let x0 = i32x4.add(c, K0);
  let x1 = K1;
  // block 0 (rotations 13 15 26 6), key injection s = 1
  x0 = i32x4.add(x0, x1);
  x1 = v128.xor(rotv(x1, 13), x0);
  x0 = i32x4.add(x0, x1);
  x1 = v128.xor(rotv(x1, 15), x0);
  x0 = i32x4.add(x0, x1);
  x1 = v128.xor(rotv(x1, 26), x0);
  x0 = i32x4.add(x0, x1);
  x1 = v128.xor(rotv(x1, 6), x0);
  x0 = i32x4.add(x0, K1);
  x1 = i32x4.add(x1, i32x4.add(K2, i32x4.splat(1)));
  // block 1 (17 29 16 24), s = 2
  x0 = i32x4.add(x0, x1);
  x1 = v128.xor(rotv(x1, 17), x0);
  x0 = i32x4.add(x0, x1);
  x1 = v128.xor(rotv(x1, 29), x0);
  x0 = i32x4.add(x0, x1);
  x1 = v128.xor(rotv(x1, 16), x0);
  x0 = i32x4.add(x0, x1);
  x1 = v128.xor(rotv(x1, 24), x0);
  x0 = i32x4.add(x0, K2);
  x1 = i32x4.add(x1, i32x4.add(K0, i32x4.splat(2)));
  // block 2, s = 3
  x0 = i32x4.add(x0, x1);
  x1 = v128.xor(rotv(x1, 13), x0);
  x0 = i32x4.add(x0, x1);
  x1 = v128.xor(rotv(x1, 15), x0);
  x0 = i32x4.add(x0, x1);
  x1 = v128.xor(rotv(x1, 26), x0);
  x0 = i32x4.add(x0, x1);
  x1 = v128.xor(rotv(x1, 6), x0);
  x0 = i32x4.add(x0, K0);
  x1 = i32x4.add(x1, i32x4.add(K1, i32x4.splat(3)));
  // block 3, s = 4
  x0 = i32x4.add(x0, x1);
  x1 = v128.xor(rotv(x1, 17), x0);
  x0 = i32x4.add(x0, x1);
  x1 = v128.xor(rotv(x1, 29), x0);
  x0 = i32x4.add(x0, x1);
  x1 = v128.xor(rotv(x1, 16), x0);
  x0 = i32x4.add(x0, x1);
  x1 = v128.xor(rotv(x1, 24), x0);
  x0 = i32x4.add(x0, K1);
  x1 = i32x4.add(x1, i32x4.add(K2, i32x4.splat(4)));
  // block 4, s = 5
  x0 = i32x4.add(x0, x1);
  x1 = v128.xor(rotv(x1, 13), x0);
  x0 = i32x4.add(x0, x1);
  x1 = v128.xor(rotv(x1, 15), x0);
  x0 = i32x4.add(x0, x1);
  x1 = v128.xor(rotv(x1, 26), x0);
  x0 = i32x4.add(x0, x1);
  x1 = v128.xor(rotv(x1, 6), x0);
  x0 = i32x4.add(x0, K2);
  x1 = i32x4.add(x1, i32x4.add(K0, i32x4.splat(5)));
  tfWord1 = x1;
  return x0;
}

/**
 * Stream elements [start, end) as u32 words at out[i − start]: the counters in blocks of four (eight
 * words); an edge block stores only its words inside [start, end).
 */
function streamWords(out: usize, k0: u32, k1: u32, offset: u32, start: i32, end: i32): void {
  const lanes = i32x4(0, 1, 2, 3);
  let i = start & ~1; // the first element of start's counter
  while (i < end) {
    const c = offset + ((<u32>i) >>> 1);
    const lo = tf4(k0, k1, i32x4.add(i32x4.splat(c), lanes));
    const hi = tfWord1;
    if (i + 8 <= end && i >= start) {
      const o = out + ((<usize>(i - start)) << 2);
      v128.store(o, v128.shuffle<i32>(lo, hi, 0, 4, 1, 5));
      v128.store(o, v128.shuffle<i32>(lo, hi, 2, 6, 3, 7), 16);
    } else {
      // an edge block: only the words in [start, end)
      for (let l = 0; l < 8; l++) {
        const j = i + l;
        if (j < start || j >= end) continue;
        const v = laneWord(lo, hi, l);
        store<u32>(out + ((<usize>(j - start)) << 2), v);
      }
    }
    i += 8;
  }
}

/** Word l (0..7) of an interleaved block: lane l/2 of word (l & 1). */
function laneWord(lo: v128, hi: v128, l: i32): u32 {
  const v = l & 1 ? hi : lo;
  switch (l >> 1) {
    case 0:
      return i32x4.extract_lane(v, 0);
    case 1:
      return i32x4.extract_lane(v, 1);
    case 2:
      return i32x4.extract_lane(v, 2);
    default:
      return i32x4.extract_lane(v, 3);
  }
}

/** u32 stream elements [start, end) of (seed, stream, offset) into out[start, end). */
export function rngBits(out: usize, seed: u32, stream: u32, offset: u32, start: i32, end: i32): void {
  if (start >= end) return;
  streamWords(out + ((<usize>start) << 2), seed, stream, offset, start, end);
}

/**
 * f32 uniforms in the open interval (0, 1) for elements [start, end): ((b >>> 9) + 0.5) · 2⁻²³, exact
 * in f32 (bits_to_open_unit in WGSL, bitsToOpenUnit in TS), so bit-identical to both.
 */
export function rngUniform(out: usize, seed: u32, stream: u32, offset: u32, start: i32, end: i32): void {
  if (start >= end) return;
  const o = out + ((<usize>start) << 2);
  streamWords(o, seed, stream, offset, start, end);
  const n = end - start;
  const half = f32x4.splat(0.5),
    scale = f32x4.splat(<f32>1.1920928955078125e-7); // 2⁻²³
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = o + ((<usize>i) << 2);
    const b = i32x4.shr_u(v128.load(p), 9);
    v128.store(p, f32x4.mul(f32x4.add(f32x4.convert_i32x4_u(b), half), scale));
  }
  for (; i < n; i++) {
    const p = o + ((<usize>i) << 2);
    store<f32>(p, (<f32>(load<u32>(p) >>> 9) + 0.5) * <f32>1.1920928955078125e-7);
  }
}

// ---------------------------------------------------------------------------------------------------
// f64 log and exp on two lanes (the twins use Math.log / Math.exp in f64).

const LN2_HI: f64 = 6.9314718036912381649e-1; // low 32 bits zero: n·LN2_HI is exact for |n| < 2^20
const LN2_LO: f64 = 1.90821492927058770002e-10;
const LOG2E: f64 = 1.4426950408889634;

/**
 * ln x for two lanes of positive normal finite x (the Gumbel path: x ∈ [6e-8, 17]). x = 2^k·m with
 * m ∈ [√½, √2) (musl's exponent shift), ln m = 2·atanh(s), s = (m − 1)/(m + 1), |s| ≤ 0.1716; the
 * series through s¹⁹ truncates below 1e-17, m − 1 is exact, so the error is a few ulp.
 */
function log2d(x: v128): v128 {
  const u = i64x2.add(x, i64x2.splat(0x00095f6200000000)); // (0x3ff00000 − 0x3fe6a09e) << 32
  const k = i64x2.sub(i64x2.shr_u(u, 52), i64x2.splat(1023));
  const m = i64x2.add(v128.and(u, i64x2.splat(0x000fffffffffffff)), i64x2.splat(0x3fe6a09e00000000));
  const f = f64x2.sub(m, f64x2.splat(1));
  const s = f64x2.div(f, f64x2.add(f64x2.splat(2), f));
  const z = f64x2.mul(s, s);
  let p = f64x2.splat(1.0 / 19);
  p = f64x2.add(f64x2.mul(p, z), f64x2.splat(1.0 / 17));
  p = f64x2.add(f64x2.mul(p, z), f64x2.splat(1.0 / 15));
  p = f64x2.add(f64x2.mul(p, z), f64x2.splat(1.0 / 13));
  p = f64x2.add(f64x2.mul(p, z), f64x2.splat(1.0 / 11));
  p = f64x2.add(f64x2.mul(p, z), f64x2.splat(1.0 / 9));
  p = f64x2.add(f64x2.mul(p, z), f64x2.splat(1.0 / 7));
  p = f64x2.add(f64x2.mul(p, z), f64x2.splat(1.0 / 5));
  p = f64x2.add(f64x2.mul(p, z), f64x2.splat(1.0 / 3));
  // 2s·(1 + z·p) = 2s + 2s·z·p: the leading term unrounded by the series
  const s2 = f64x2.add(s, s);
  const lm = f64x2.add(s2, f64x2.mul(f64x2.mul(s2, z), p));
  const kf = f64x2.convert_low_i32x4_s(v128.shuffle<i32>(k, k, 0, 2, 0, 2));
  return f64x2.add(f64x2.mul(kf, f64x2.splat(LN2_HI)), f64x2.add(lm, f64x2.mul(kf, f64x2.splat(LN2_LO))));
}

/**
 * e^x for two lanes x ≤ 0, NaN or −Inf (softmax arguments z − max): x = n·ln2 + r (Cody–Waite),
 * |r| ≤ ln2/2, e^r by its Taylor polynomial through r¹² (truncation < 2e-16), times 2^n built in the
 * exponent bits. Lanes below −708 (2^n subnormal) give 0 — the twin's e^x there is < 1e-307 and
 * rounds to 0 in f32 after the division by a sum ≥ 1; NaN stays NaN (its n truncates to 0, the
 * polynomial carries it; the comparison is false, so the lane is kept).
 */
function exp2d(x: v128): v128 {
  const n = f64x2.nearest(f64x2.mul(x, f64x2.splat(LOG2E)));
  const r = f64x2.sub(f64x2.sub(x, f64x2.mul(n, f64x2.splat(LN2_HI))), f64x2.mul(n, f64x2.splat(LN2_LO)));
  let p = f64x2.splat(1.0 / 479001600);
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 39916800));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 3628800));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 362880));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 40320));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 5040));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 720));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 120));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 24));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 6));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(0.5));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1));
  const ni = i64x2.extend_low_i32x4_s(i32x4.trunc_sat_f64x2_s_zero(n));
  const two = i64x2.shl(i64x2.add(ni, i64x2.splat(1023)), 52);
  return v128.andnot(f64x2.mul(p, two), f64x2.lt(x, f64x2.splat(-708)));
}

// ---------------------------------------------------------------------------------------------------
// Gumbel-softmax soft masks over N:M candidates (src/sparsity/gumbel.ts, shaders/gumbel_mask.wgsl).
// Groups: g → weight element k at base(g) + k·stride, base/stride from the layout (elementIndex in
// src/sparsity/layout.ts): out_in base g·M, stride 1; in_out base (g mod perRow)·M·rows + g / perRow,
// stride rows. The candidate set is the lexicographic combinations(range(M), N): built per call into
// the scratch as each candidate's N kept positions (ascending), from the masks with N ones in
// decreasing order (candidateBits in src/sparsity/patterns.ts).

/** Noise elements per chunk (a chunk holds whole groups, at least one). */
const CHUNK: i32 = 1024;

function tableBytes(C: i32, N: i32): usize {
  return (<usize>(C * N * 4 + 15)) & ~15;
}

/** Writes the kept positions of every candidate at t (i32, C × N) and returns C. */
function buildTable(t: usize, N: i32, M: i32): i32 {
  let c = 0;
  for (let v = (1 << M) - 1; v > 0; v--) {
    if (popcnt<i32>(v) != N) continue;
    let j = 0;
    for (let k = 0; k < M; k++) {
      if ((v >> (M - 1 - k)) & 1) {
        store<i32>(t + ((<usize>(c * N + j)) << 2), k);
        j++;
      }
    }
    c++;
  }
  return c;
}

function chunkGroups(C: i32): i32 {
  return max(1, CHUNK / C);
}

/** Bytes of scratch one sample call needs: the candidate table, 8 f64 mask sums, a chunk of f64 noise (padded). */
export function sampleScratchBytes(N: i32, C: i32): i32 {
  return <i32>tableBytes(C, N) + 64 + (chunkGroups(C) * C + 32) * 8;
}

/**
 * Gumbel noise −ln(−ln u) in f64 for stream elements [e0, e1) into dst[i − e0]: u = bitsToOpenUnit of
 * the element's word, exact in f64. Blocks of four counters write up to 8 slots past either end of the
 * range (the caller pads dst there), which is scratch, never an output.
 */
function gumbelNoise(dst: usize, k0: u32, k1: u32, offset: u32, e0: i32, e1: i32): void {
  const lanes = i32x4(0, 1, 2, 3);
  const half = f64x2.splat(0.5),
    scale = f64x2.splat(1.1920928955078125e-7); // 2⁻²³
  const negOne = f64x2.splat(-1);
  for (let i = e0 & ~1; i < e1; i += 8) {
    const lo = tf4(k0, k1, i32x4.add(i32x4.splat(offset + ((<u32>i) >>> 1)), lanes));
    const hi = tfWord1;
    const o = dst + ((<usize>(i - e0)) << 3); // i − e0 may be −1: wraps to dst − 8
    // words of elements i … i+3, then i+4 … i+7; their top 23 bits j → u = (j + 0.5)·2⁻²³
    const w0 = i32x4.shr_u(v128.shuffle<i32>(lo, hi, 0, 4, 1, 5), 9);
    const w1 = i32x4.shr_u(v128.shuffle<i32>(lo, hi, 2, 6, 3, 7), 9);
    const u0 = f64x2.mul(f64x2.add(f64x2.convert_low_i32x4_s(w0), half), scale);
    const u1 = f64x2.mul(f64x2.add(f64x2.convert_low_i32x4_s(v128.shuffle<i32>(w0, w0, 2, 3, 2, 3)), half), scale);
    const u2 = f64x2.mul(f64x2.add(f64x2.convert_low_i32x4_s(w1), half), scale);
    const u3 = f64x2.mul(f64x2.add(f64x2.convert_low_i32x4_s(v128.shuffle<i32>(w1, w1, 2, 3, 2, 3)), half), scale);
    v128.store(o, f64x2.mul(log2d(f64x2.mul(log2d(u0), negOne)), negOne));
    v128.store(o, f64x2.mul(log2d(f64x2.mul(log2d(u1), negOne)), negOne), 16);
    v128.store(o, f64x2.mul(log2d(f64x2.mul(log2d(u2), negOne)), negOne), 32);
    v128.store(o, f64x2.mul(log2d(f64x2.mul(log2d(u3), negOne)), negOne), 48);
  }
}

/**
 * One soft-mask sample for groups [gStart, gEnd): y = softmax((κπ + g)/τ) per group (f64, stored f32)
 * with the noise of stream element group·C + c, m_k = Σ_c y_c S_ck into the weight layout, and, when
 * weff ≠ 0, W ⊙ m (one f32 product of the stored m, as applyMask). inOut: 1 for [in, out] weights.
 * The max is NaN-skipping as the twin's (z > max); e^(z − max) of a NaN z is NaN, so is the group.
 */
export function sample(
  logits: usize,
  w: usize,
  y: usize,
  mask: usize,
  weff: usize,
  scratch: usize,
  rows: i32,
  cols: i32,
  inOut: i32,
  N: i32,
  M: i32,
  seed: u32,
  stream: u32,
  offset: u32,
  kappa: f64,
  tau: f64,
  gStart: i32,
  gEnd: i32,
): void {
  const table = scratch;
  const C = buildTable(table, N, M);
  const macc = table + tableBytes(C, N);
  const noise = macc + 64 + 128; // 16 slots of front padding (gumbelNoise may start one element early)
  const cg = chunkGroups(C);
  const perRow = cols / M;
  for (let g0 = gStart; g0 < gEnd; g0 += cg) {
    const g1 = min(gEnd, g0 + cg);
    const e0 = g0 * C,
      e1 = g1 * C;
    gumbelNoise(noise, seed, stream, offset, e0, e1);
    // z = (κπ + g)/τ, then z − max per group
    for (let g = g0; g < g1; g++) {
      const lp = logits + ((<usize>(g * C)) << 2);
      const np = noise + ((<usize>(g * C - e0)) << 3);
      let zmax: f64 = -Infinity;
      for (let c = 0; c < C; c++) {
        const at = np + ((<usize>c) << 3);
        const z = (kappa * <f64>load<f32>(lp + ((<usize>c) << 2)) + load<f64>(at)) / tau;
        store<f64>(at, z);
        if (z > zmax) zmax = z;
      }
      for (let c = 0; c < C; c++) {
        const at = np + ((<usize>c) << 3);
        store<f64>(at, load<f64>(at) - zmax);
      }
    }
    const ne = e1 - e0;
    for (let i = 0; i < ne; i += 2) {
      const at = noise + ((<usize>i) << 3);
      v128.store(at, exp2d(v128.load(at)));
    }
    for (let g = g0; g < g1; g++) {
      const np = noise + ((<usize>(g * C - e0)) << 3);
      let total: f64 = 0;
      for (let c = 0; c < C; c++) total += load<f64>(np + ((<usize>c) << 3));
      for (let k = 0; k < M; k++) store<f64>(macc + ((<usize>k) << 3), 0);
      const yp = y + ((<usize>(g * C)) << 2);
      for (let c = 0; c < C; c++) {
        const yc = load<f64>(np + ((<usize>c) << 3)) / total;
        store<f32>(yp + ((<usize>c) << 2), <f32>yc);
        const tc = table + ((<usize>(c * N)) << 2);
        for (let j = 0; j < N; j++) {
          const at = macc + ((<usize>load<i32>(tc + ((<usize>j) << 2))) << 3);
          store<f64>(at, load<f64>(at) + yc);
        }
      }
      const row = g / perRow;
      const base = inOut ? (g - row * perRow) * M * rows + row : g * M;
      const stride = inOut ? rows : 1;
      for (let k = 0; k < M; k++) {
        const i = (<usize>(base + k * stride)) << 2;
        const mv = <f32>load<f64>(macc + ((<usize>k) << 3));
        store<f32>(mask + i, mv);
        if (weff) store<f32>(weff + i, load<f32>(w + i) * mv);
      }
    }
  }
}

/** Bytes of scratch one backward or hard-mask call needs: the candidate table, dm (8) and dy (C) in f64. */
export function groupScratchBytes(N: i32, C: i32): i32 {
  return <i32>tableBytes(C, N) + 64 + C * 8;
}

/**
 * The backward to the logits for groups [gStart, gEnd) (backwardCpu, f64 in its order):
 * dm_k = G_k·w_k − 2λ·w_k·w_k·m_k, dy_c = Σ_k S_ck dm_k, out_c = (κ/τ)·y_c·(dy_c − Σ_j y_j dy_j),
 * stored, or added to out's f32 value in f64 when accumulate = 1.
 */
export function backward(
  gradW: usize,
  w: usize,
  mask: usize,
  y: usize,
  out: usize,
  scratch: usize,
  rows: i32,
  cols: i32,
  inOut: i32,
  N: i32,
  M: i32,
  scale: f64,
  twoLambda: f64,
  accumulate: i32,
  gStart: i32,
  gEnd: i32,
): void {
  const table = scratch;
  const C = buildTable(table, N, M);
  const dm = table + tableBytes(C, N);
  const dy = dm + 64;
  const perRow = cols / M;
  for (let g = gStart; g < gEnd; g++) {
    const row = g / perRow;
    const base = inOut ? (g - row * perRow) * M * rows + row : g * M;
    const stride = inOut ? rows : 1;
    for (let k = 0; k < M; k++) {
      const i = (<usize>(base + k * stride)) << 2;
      const wk = <f64>load<f32>(w + i);
      store<f64>(dm + ((<usize>k) << 3), <f64>load<f32>(gradW + i) * wk - twoLambda * wk * wk * <f64>load<f32>(mask + i));
    }
    const yp = y + ((<usize>(g * C)) << 2);
    let dot: f64 = 0;
    for (let c = 0; c < C; c++) {
      const tc = table + ((<usize>(c * N)) << 2);
      let d: f64 = 0;
      for (let j = 0; j < N; j++) d += load<f64>(dm + ((<usize>load<i32>(tc + ((<usize>j) << 2))) << 3));
      store<f64>(dy + ((<usize>c) << 3), d);
      dot += <f64>load<f32>(yp + ((<usize>c) << 2)) * d;
    }
    const op = out + ((<usize>(g * C)) << 2);
    for (let c = 0; c < C; c++) {
      const gr = scale * <f64>load<f32>(yp + ((<usize>c) << 2)) * (load<f64>(dy + ((<usize>c) << 3)) - dot);
      const at = op + ((<usize>c) << 2);
      store<f32>(at, <f32>(accumulate ? <f64>load<f32>(at) + gr : gr));
    }
  }
}

/** Hard mask for groups [gStart, gEnd): the candidate at argmax π (strict >: ties and NaN keep the lower index), 0/1 mask and u32 choice. */
export function hard(
  logits: usize,
  mask: usize,
  choice: usize,
  scratch: usize,
  rows: i32,
  cols: i32,
  inOut: i32,
  N: i32,
  M: i32,
  gStart: i32,
  gEnd: i32,
): void {
  const table = scratch;
  const C = buildTable(table, N, M);
  const perRow = cols / M;
  for (let g = gStart; g < gEnd; g++) {
    const lp = logits + ((<usize>(g * C)) << 2);
    let best = 0;
    let bestL = load<f32>(lp);
    for (let c = 1; c < C; c++) {
      const l = load<f32>(lp + ((<usize>c) << 2));
      if (l > bestL) {
        best = c;
        bestL = l;
      }
    }
    store<u32>(choice + ((<usize>g) << 2), <u32>best);
    const row = g / perRow;
    const base = inOut ? (g - row * perRow) * M * rows + row : g * M;
    const stride = inOut ? rows : 1;
    for (let k = 0; k < M; k++) store<f32>(mask + ((<usize>(base + k * stride)) << 2), 0);
    const tc = table + ((<usize>(best * N)) << 2);
    for (let j = 0; j < N; j++) store<f32>(mask + ((<usize>(base + load<i32>(tc + ((<usize>j) << 2)) * stride)) << 2), 1);
  }
}

// ---------------------------------------------------------------------------------------------------
// Mask metrics (src/sparsity/metrics.ts): partial sums over a range, f64, for the caller to combine.

/** Σ over groups [gStart, gEnd) of max_c y[g, c] (f32.max: NaN in, NaN out, as Math.max), in order. */
export function maxProbSum(y: usize, C: i32, gStart: i32, gEnd: i32): f64 {
  let s: f64 = 0;
  for (let g = gStart; g < gEnd; g++) {
    const p = y + ((<usize>(g * C)) << 2);
    let best = load<f32>(p);
    for (let c = 1; c < C; c++) best = max(best, load<f32>(p + ((<usize>c) << 2)));
    s += <f64>best;
  }
  return s;
}

/**
 * Σ over groups [gStart, gEnd) of 1 / Σ_c e^(κ(π_c − max π)), i.e. max_c softmax(κπ)_c, in f64: two
 * groups per f64x2 (each lane's sum in ascending c, the groups added in order, as the twin).
 */
export function maxProbCleanSum(logits: usize, C: i32, kappa: f64, gStart: i32, gEnd: i32): f64 {
  const kv = f64x2.splat(kappa);
  let s: f64 = 0;
  let g = gStart;
  for (; g + 2 <= gEnd; g += 2) {
    const p0 = logits + ((<usize>(g * C)) << 2);
    const p1 = p0 + ((<usize>C) << 2);
    let top = f64x2.replace_lane(f64x2.splat(<f64>load<f32>(p0)), 1, <f64>load<f32>(p1));
    for (let c = 1; c < C; c++) {
      const o = (<usize>c) << 2;
      top = f64x2.max(top, f64x2.replace_lane(f64x2.splat(<f64>load<f32>(p0 + o)), 1, <f64>load<f32>(p1 + o)));
    }
    let z = f64x2.splat(0);
    for (let c = 0; c < C; c++) {
      const o = (<usize>c) << 2;
      const l = f64x2.replace_lane(f64x2.splat(<f64>load<f32>(p0 + o)), 1, <f64>load<f32>(p1 + o));
      z = f64x2.add(z, exp2d(f64x2.mul(kv, f64x2.sub(l, top))));
    }
    s += 1 / f64x2.extract_lane(z, 0);
    s += 1 / f64x2.extract_lane(z, 1);
  }
  if (g < gEnd) {
    const p0 = logits + ((<usize>(g * C)) << 2);
    let top = <f64>load<f32>(p0);
    for (let c = 1; c < C; c++) top = max(top, <f64>load<f32>(p0 + ((<usize>c) << 2)));
    let z: f64 = 0;
    for (let c = 0; c < C; c++) z += f64x2.extract_lane(exp2d(f64x2.splat(kappa * (<f64>load<f32>(p0 + ((<usize>c) << 2)) - top))), 0);
    s += 1 / z;
  }
  return s;
}

/** Σ |a_i − b_i| over elements [start, end), in f64 (two f64x2 accumulators). */
export function absDiffSum(a: usize, b: usize, start: i32, end: i32): f64 {
  let s0 = f64x2.splat(0),
    s1 = f64x2.splat(0);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = (<usize>i) << 2;
    const x = v128.load(a + o),
      z = v128.load(b + o);
    s0 = f64x2.add(s0, f64x2.abs(f64x2.sub(f64x2.promote_low_f32x4(x), f64x2.promote_low_f32x4(z))));
    s1 = f64x2.add(
      s1,
      f64x2.abs(f64x2.sub(f64x2.promote_low_f32x4(v128.shuffle<i32>(x, x, 2, 3, 2, 3)), f64x2.promote_low_f32x4(v128.shuffle<i32>(z, z, 2, 3, 2, 3)))),
    );
  }
  const t = f64x2.add(s0, s1);
  let s = f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
  for (; i < end; i++) s += abs(<f64>load<f32>(a + ((<usize>i) << 2)) - <f64>load<f32>(b + ((<usize>i) << 2)));
  return s;
}

/** Σ (x_i − shift)^p over elements [start, end), p = 1 or 2, in f64 (logitStats: the sum, then the squared deviations). */
export function powerSum(x: usize, shift: f64, p: i32, start: i32, end: i32): f64 {
  const sh = f64x2.splat(shift);
  let s0 = f64x2.splat(0),
    s1 = f64x2.splat(0);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const v = v128.load(x + ((<usize>i) << 2));
    let d0 = f64x2.sub(f64x2.promote_low_f32x4(v), sh);
    let d1 = f64x2.sub(f64x2.promote_low_f32x4(v128.shuffle<i32>(v, v, 2, 3, 2, 3)), sh);
    if (p == 2) {
      d0 = f64x2.mul(d0, d0);
      d1 = f64x2.mul(d1, d1);
    }
    s0 = f64x2.add(s0, d0);
    s1 = f64x2.add(s1, d1);
  }
  const t = f64x2.add(s0, s1);
  let s = f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
  for (; i < end; i++) {
    const d = <f64>load<f32>(x + ((<usize>i) << 2)) - shift;
    s += p == 2 ? d * d : d;
  }
  return s;
}

/** The number of elements in [start, end) where the u32 words of a and b differ. */
export function countNe(a: usize, b: usize, start: i32, end: i32): i32 {
  let acc = i32x4.splat(0);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = (<usize>i) << 2;
    acc = i32x4.sub(acc, i32x4.ne(v128.load(a + o), v128.load(b + o))); // a true lane is −1
  }
  let n = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
  for (; i < end; i++) if (load<u32>(a + ((<usize>i) << 2)) != load<u32>(b + ((<usize>i) << 2))) n++;
  return n;
}

// ---------------------------------------------------------------------------------------------------
// AdamW (src/ops/adamw.ts), in place on elements [start, end), in f64 with the twin's operations in
// its order (IEEE f64 add, mul, div and sqrt are exact-rounded in both), so bit-identical to it:
// g = G·s; w = P·decay; m' = β1·m + (1 − β1)·g; v' = β2·v + (1 − β2)·g·g;
// P = w − (stepSize·m') / (√v'·invBc2Sqrt + eps). gradScale: a [1] f32 tensor, or 0 for s = 1.

function adamw2(P: v128, G: v128, Mo: v128, V: v128, s: v128, decay: v128, b1: v128, ob1: v128, b2: v128, ob2: v128, step: v128, inv: v128, eps: v128): v128 {
  const g = f64x2.mul(G, s);
  const w = f64x2.mul(P, decay);
  const mi = f64x2.add(f64x2.mul(b1, Mo), f64x2.mul(ob1, g));
  const vi = f64x2.add(f64x2.mul(b2, V), f64x2.mul(f64x2.mul(ob2, g), g));
  adamM = mi;
  adamV = vi;
  return f64x2.sub(w, f64x2.div(f64x2.mul(step, mi), f64x2.add(f64x2.mul(f64x2.sqrt(vi), inv), eps)));
}
let adamM: v128 = f64x2.splat(0);
let adamV: v128 = f64x2.splat(0);

export function adamw(
  param: usize,
  grad: usize,
  m: usize,
  v: usize,
  gradScale: usize,
  decay: f64,
  beta1: f64,
  oneMinusBeta1: f64,
  beta2: f64,
  oneMinusBeta2: f64,
  stepSize: f64,
  invBc2Sqrt: f64,
  eps: f64,
  start: i32,
  end: i32,
): void {
  const s = f64x2.splat(gradScale ? <f64>load<f32>(gradScale) : 1);
  const dc = f64x2.splat(decay),
    b1 = f64x2.splat(beta1),
    ob1 = f64x2.splat(oneMinusBeta1),
    b2 = f64x2.splat(beta2),
    ob2 = f64x2.splat(oneMinusBeta2),
    st = f64x2.splat(stepSize),
    inv = f64x2.splat(invBc2Sqrt),
    ep = f64x2.splat(eps);
  let i = start;
  for (; i + 2 <= end; i += 2) {
    const o = (<usize>i) << 2;
    const p2 = adamw2(
      f64x2.promote_low_f32x4(v128.load64_zero(param + o)),
      f64x2.promote_low_f32x4(v128.load64_zero(grad + o)),
      f64x2.promote_low_f32x4(v128.load64_zero(m + o)),
      f64x2.promote_low_f32x4(v128.load64_zero(v + o)),
      s,
      dc,
      b1,
      ob1,
      b2,
      ob2,
      st,
      inv,
      ep,
    );
    v128.store64_lane(param + o, f32x4.demote_f64x2_zero(p2), 0);
    v128.store64_lane(m + o, f32x4.demote_f64x2_zero(adamM), 0);
    v128.store64_lane(v + o, f32x4.demote_f64x2_zero(adamV), 0);
  }
  if (i < end) {
    const o = (<usize>i) << 2;
    const p2 = adamw2(
      f64x2.splat(<f64>load<f32>(param + o)),
      f64x2.splat(<f64>load<f32>(grad + o)),
      f64x2.splat(<f64>load<f32>(m + o)),
      f64x2.splat(<f64>load<f32>(v + o)),
      s,
      dc,
      b1,
      ob1,
      b2,
      ob2,
      st,
      inv,
      ep,
    );
    store<f32>(param + o, <f32>f64x2.extract_lane(p2, 0));
    store<f32>(m + o, <f32>f64x2.extract_lane(adamM, 0));
    store<f32>(v + o, <f32>f64x2.extract_lane(adamV, 0));
  }
}

// ---------------------------------------------------------------------------------------------------
// Embedding row ops (src/ops/embedding.ts); rows of `rowWords` 4-byte words of any dtype.

/** The first position in [start, end) whose index is ≥ V, or −1 (gatherRows and scatterAddRows refuse it). */
export function firstBadIndex(idx: usize, V: u32, start: i32, end: i32): i32 {
  for (let r = start; r < end; r++) if (load<u32>(idx + ((<usize>r) << 2)) >= V) return r;
  return -1;
}

/** out[r] = table[idx[r]] for output rows r ∈ [start, end) (indices checked by firstBadIndex first). */
export function gatherRows(table: usize, idx: usize, out: usize, rowWords: i32, start: i32, end: i32): void {
  const rb = (<usize>rowWords) << 2;
  for (let r = start; r < end; r++) memory.copy(out + <usize>r * rb, table + <usize>load<u32>(idx + ((<usize>r) << 2)) * rb, rb);
}

/** dst rows [start, end) ← src rows (r − dstRow0 + srcRow0): concatRows (two calls) and sliceRows. */
export function copyRows(src: usize, srcRow0: i32, dst: usize, dstRow0: i32, rowWords: i32, start: i32, end: i32): void {
  if (start >= end) return;
  const rb = (<usize>rowWords) << 2;
  memory.copy(dst + <usize>start * rb, src + <usize>(start - dstRow0 + srcRow0) * rb, <usize>(end - start) * rb);
}

/** Bytes of scratch one scatterAddRows call needs: a list head per output row and a link per position. */
export function scatterScratchBytes(N: i32, rows: i32): i32 {
  return (N + rows) << 2;
}

/**
 * out[v] = Σ_{n: idx[n] = v} grad[n] for output rows v ∈ [start, end) (the others are another range's):
 * the positions of each row linked in ascending order (head[v], next[n] in the scratch: this range's
 * rows and positions only), then summed in that order in f64 — the twin's order, so bit-identical —
 * eight columns at a time (four f64x2), the row's positions walked once per block of columns.
 */
export function scatterAddRows(grad: usize, idx: usize, out: usize, scratch: usize, N: i32, rows: i32, C: i32, start: i32, end: i32): void {
  const head = scratch,
    next = scratch + ((<usize>rows) << 2);
  for (let v = start; v < end; v++) store<i32>(head + ((<usize>v) << 2), -1);
  for (let n = N - 1; n >= 0; n--) {
    const v = <i32>load<u32>(idx + ((<usize>n) << 2));
    if (v < start || v >= end) continue;
    store<i32>(next + ((<usize>n) << 2), load<i32>(head + ((<usize>v) << 2)));
    store<i32>(head + ((<usize>v) << 2), n);
  }
  const rb = (<usize>C) << 2;
  for (let v = start; v < end; v++) {
    const first = load<i32>(head + ((<usize>v) << 2));
    const o = out + <usize>v * rb;
    let c = 0;
    for (; c + 8 <= C; c += 8) {
      let a0 = f64x2.splat(0),
        a1 = f64x2.splat(0),
        a2 = f64x2.splat(0),
        a3 = f64x2.splat(0);
      for (let n = first; n >= 0; n = load<i32>(next + ((<usize>n) << 2))) {
        const p = grad + <usize>n * rb + ((<usize>c) << 2);
        const x0 = v128.load(p),
          x1 = v128.load(p, 16);
        a0 = f64x2.add(a0, f64x2.promote_low_f32x4(x0));
        a1 = f64x2.add(a1, f64x2.promote_low_f32x4(v128.shuffle<i32>(x0, x0, 2, 3, 2, 3)));
        a2 = f64x2.add(a2, f64x2.promote_low_f32x4(x1));
        a3 = f64x2.add(a3, f64x2.promote_low_f32x4(v128.shuffle<i32>(x1, x1, 2, 3, 2, 3)));
      }
      const q = o + ((<usize>c) << 2);
      v128.store(q, v128.shuffle<i32>(f32x4.demote_f64x2_zero(a0), f32x4.demote_f64x2_zero(a1), 0, 1, 4, 5));
      v128.store(q, v128.shuffle<i32>(f32x4.demote_f64x2_zero(a2), f32x4.demote_f64x2_zero(a3), 0, 1, 4, 5), 16);
    }
    for (; c < C; c++) {
      let a: f64 = 0;
      for (let n = first; n >= 0; n = load<i32>(next + ((<usize>n) << 2))) a += <f64>load<f32>(grad + <usize>n * rb + ((<usize>c) << 2));
      store<f32>(o + ((<usize>c) << 2), <f32>a);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// The 2:4 compressed product (src/ops/sparse24.ts, shaders/sparse24.wgsl): out[i, j] = Σ_g
// x[i, 4g + r0]·v0 + x[i, 4g + r1]·v1 over the kept pairs of column j, the f16 values widened exactly.
// Four columns per f32x4: a group's four x values are one load, and i8x16.swizzle picks each lane's
// kept row. The four columns' (v0, v1, swizzle0, swizzle1) are decoded once per column block into the
// scratch (64 bytes per group) and reused by every row. Only the kept pairs are read, as on the GPU:
// a NaN in x reaches the columns that keep (or pad with) its row, not every column as in the twin's
// dense product.

/** f16 bits (low 16 bits of each lane) → f32, exact: subnormals by a 2^112 scale, Inf/NaN kept. */
function halfToFloat4(h: v128): v128 {
  const sign = i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16);
  const mag = i32x4.shl(v128.and(h, i32x4.splat(0x7fff)), 13);
  const scaled = f32x4.mul(mag, f32x4.splat(5.192296858534828e33)); // 2^112
  const infNan = i32x4.eq(v128.and(h, i32x4.splat(0x7c00)), i32x4.splat(0x7c00));
  return v128.or(v128.bitselect(v128.or(mag, i32x4.splat(0x7f800000)), scaled, infNan), sign);
}

function halfToFloat(h: u32): f32 {
  return f32x4.extract_lane(halfToFloat4(i32x4.splat(h)), 0);
}

/** Bytes of scratch one sparse24 call needs: the decoded column block. */
export function sparse24ScratchBytes(K: i32): i32 {
  return (K >> 2) * 64;
}

/** out rows [start, end) of x [m, K] · W (compressed [K, N]: vals [K/4 · N], idx [K/4 · ⌈N/8⌉]). */
export function sparse24(x: usize, vals: usize, idx: usize, out: usize, scratch: usize, K: i32, N: i32, start: i32, end: i32): void {
  const G = K >> 2;
  const iw = (N + 7) >> 3;
  const xr = (<usize>K) << 2,
    orow = (<usize>N) << 2;
  let j = 0;
  for (; j + 4 <= N; j += 4) {
    // decode the block of columns j … j+3 for every group
    const shift = (j & 7) << 2;
    for (let g = 0; g < G; g++) {
      const v = v128.load(vals + ((<usize>(g * N + j)) << 2));
      const nib = (load<u32>(idx + ((<usize>(g * iw + (j >> 3))) << 2)) >>> shift) & 0xffff;
      // lane l's 4-bit code moved to bits 12..15, then down
      const codes = i32x4.shr_u(i32x4.mul(v128.and(i32x4.splat(nib), i32x4(0xf, 0xf0, 0xf00, 0xf000)), i32x4(4096, 256, 16, 1)), 12);
      const r0 = v128.and(codes, i32x4.splat(3)),
        r1 = i32x4.shr_u(codes, 2);
      const d = scratch + ((<usize>g) << 6);
      v128.store(d, halfToFloat4(v128.and(v, i32x4.splat(0xffff))));
      v128.store(d, halfToFloat4(i32x4.shr_u(v, 16)), 16);
      v128.store(d, i32x4.add(i32x4.mul(r0, i32x4.splat(0x04040404)), i32x4.splat(0x03020100)), 32);
      v128.store(d, i32x4.add(i32x4.mul(r1, i32x4.splat(0x04040404)), i32x4.splat(0x03020100)), 48);
    }
    let i = start;
    for (; i + 4 <= end; i += 4) {
      let a0 = f32x4.splat(0),
        a1 = f32x4.splat(0),
        a2 = f32x4.splat(0),
        a3 = f32x4.splat(0);
      const x0 = x + <usize>i * xr;
      for (let g = 0; g < G; g++) {
        const d = scratch + ((<usize>g) << 6);
        const w0 = v128.load(d),
          w1 = v128.load(d, 16),
          s0 = v128.load(d, 32),
          s1 = v128.load(d, 48);
        const p = x0 + ((<usize>g) << 4);
        let q = v128.load(p);
        a0 = madd(i8x16.swizzle(q, s1), w1, madd(i8x16.swizzle(q, s0), w0, a0));
        q = v128.load(p + xr);
        a1 = madd(i8x16.swizzle(q, s1), w1, madd(i8x16.swizzle(q, s0), w0, a1));
        q = v128.load(p + 2 * xr);
        a2 = madd(i8x16.swizzle(q, s1), w1, madd(i8x16.swizzle(q, s0), w0, a2));
        q = v128.load(p + 3 * xr);
        a3 = madd(i8x16.swizzle(q, s1), w1, madd(i8x16.swizzle(q, s0), w0, a3));
      }
      const o = out + <usize>i * orow + ((<usize>j) << 2);
      v128.store(o, a0);
      v128.store(o + orow, a1);
      v128.store(o + 2 * orow, a2);
      v128.store(o + 3 * orow, a3);
    }
    for (; i < end; i++) {
      let a = f32x4.splat(0);
      const x0 = x + <usize>i * xr;
      for (let g = 0; g < G; g++) {
        const d = scratch + ((<usize>g) << 6);
        const q = v128.load(x0 + ((<usize>g) << 4));
        a = madd(i8x16.swizzle(q, v128.load(d, 48)), v128.load(d, 16), madd(i8x16.swizzle(q, v128.load(d, 32)), v128.load(d), a));
      }
      v128.store(out + <usize>i * orow + ((<usize>j) << 2), a);
    }
  }
  // the N % 4 columns: scalar
  for (; j < N; j++) {
    const shift = (j & 7) << 2;
    for (let i = start; i < end; i++) {
      const x0 = x + <usize>i * xr;
      let a: f32 = 0;
      for (let g = 0; g < G; g++) {
        const v = load<u32>(vals + ((<usize>(g * N + j)) << 2));
        const code = (load<u32>(idx + ((<usize>(g * iw + (j >> 3))) << 2)) >>> shift) & 15;
        const p = x0 + ((<usize>g) << 4);
        a += load<f32>(p + ((<usize>(code & 3)) << 2)) * halfToFloat(v & 0xffff);
        a += load<f32>(p + ((<usize>(code >> 2)) << 2)) * halfToFloat(v >>> 16);
      }
      store<f32>(out + <usize>i * orow + ((<usize>j) << 2), a);
    }
  }
}
