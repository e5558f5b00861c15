// AssemblyScript (not TypeScript): the WebAssembly row kernels — the chunked lm-head cross-entropy
// (also the plain cross-entropy), the GELUs, layer norm, softmax, the elementwise family and the
// reductions — built by tools/build-wasm.mjs with SIMD128 and with relaxed SIMD (f32x4.relaxed_madd).
// The CPU twins are in src/ops/*.ts (f64); the callers in src/wasm/rows.ts.
//
// Every kernel takes a range [start, end) as its last two parameters — rows of a row op, elements of
// an elementwise op or a reduction (which returns its range's result), columns for the column sums
// (layer norm's parameter gradients, sumRepeat) — and writes only what that range owns, so disjoint
// ranges can run on different threads.
//
// SIMD: four f32 lanes; row and range tails (n % 4) are scalar, or partial loads for the GELUs — a
// 4-lane load past a row's end would read the next row. Sums the twin's f64 would beat by more than
// the 1e-5 contract (Σ exp, variances, column sums over many rows, softmax's Σ dy·y and dy − Σ, the
// reductions) accumulate in f64x2; the rest in f32. NaN propagates as in the twins: f32.max /
// f32x4.max return NaN for a NaN operand, so a NaN in a row makes its max, its sum and every output
// of the row NaN.
//
// Memory is the engine's (imported); pointers are byte offsets. No static data (the build refuses a
// data section): hence the hand-written exp and log below (the standard library's use lookup tables).

function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

function hsum(v: v128): f32 {
  const s = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

function hsum64(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

/** Lanes 2, 3 of an f32x4 as an f64x2 (promote_low takes lanes 0, 1). */
function promoteHigh(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
}

/** Two f64x2 rounded to one f32x4 (lo → lanes 0, 1; hi → 2, 3). */
function demote(lo: v128, hi: v128): v128 {
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

function off(i: i32): usize {
  return (<usize>i) << 2;
}

// e^x for four lanes, any x. x = n·ln2 + r with n = round(x/ln2) and ln2 split in two (Cody–Waite:
// n·LN2_HI is exact for |n| < 512), |r| ≤ ln2/2; e^r by its degree-7 Taylor polynomial (truncation
// < 1e-8 relative); 2^n applied as 2^(n>>1)·2^(n−(n>>1)), two normal factors, so results overflow to
// +Inf past x ≈ 88.72 and underflow through the subnormals to 0 as the f64 twin's value rounded to f32
// does. x is clamped to [−110, 89] first (e^x there is already 0 or +Inf in f32); NaN stays NaN
// (min/max propagate it, trunc_sat turns its n into 0 and the polynomial carries it).
const LOG2E: f32 = 1.4426950408889634;
const LN2_HI: f32 = 0.693145751953125;
const LN2_LO: f32 = 1.428606765330187e-6;

function exp4(x: v128): v128 {
  const xc = f32x4.max(f32x4.min(x, f32x4.splat(89)), f32x4.splat(-110));
  const n = f32x4.nearest(f32x4.mul(xc, f32x4.splat(LOG2E)));
  const r = f32x4.sub(f32x4.sub(xc, f32x4.mul(n, f32x4.splat(LN2_HI))), f32x4.mul(n, f32x4.splat(LN2_LO)));
  let p = f32x4.splat(<f32>(1.0 / 5040));
  p = madd(p, r, f32x4.splat(<f32>(1.0 / 720)));
  p = madd(p, r, f32x4.splat(<f32>(1.0 / 120)));
  p = madd(p, r, f32x4.splat(<f32>(1.0 / 24)));
  p = madd(p, r, f32x4.splat(<f32>(1.0 / 6)));
  p = madd(p, r, f32x4.splat(0.5));
  p = madd(p, r, f32x4.splat(1));
  p = madd(p, r, f32x4.splat(1));
  const ni = i32x4.trunc_sat_f32x4_s(n);
  const n1 = i32x4.shr_s(ni, 1);
  const n2 = i32x4.sub(ni, n1);
  const bias = i32x4.splat(127);
  const s1 = i32x4.shl(i32x4.add(n1, bias), 23),
    s2 = i32x4.shl(i32x4.add(n2, bias), 23);
  return f32x4.mul(f32x4.mul(p, s1), s2);
}

function exp1(x: f32): f32 {
  return f32x4.extract_lane(exp4(f32x4.splat(x)), 0);
}

// ln x in f64 for one value (per row only): x = 2^k·m with m ∈ [√½, √2), ln m = 2·atanh(f),
// f = (m−1)/(m+1), |f| ≤ 0.172, by its series to f²³ (remainder < 1e-17). 0 → −Inf, +Inf → +Inf,
// negative or NaN → NaN.
const LN2_64: f64 = 0.6931471805599453;
const SQRT2_64: f64 = 1.4142135623730951;

function log64(x: f64): f64 {
  if (!(x > 0)) return x == 0 ? -Infinity : NaN;
  if (x == Infinity) return x;
  let k: i32 = 0;
  if (x < 2.2250738585072014e-308) {
    x *= 18014398509481984.0; // 2^54: a subnormal becomes normal
    k = -54;
  }
  const bits = reinterpret<u64>(x);
  k += <i32>((bits >> 52) & 0x7ff) - 1023;
  let m = reinterpret<f64>((bits & 0x000fffffffffffff) | 0x3ff0000000000000);
  if (m > SQRT2_64) {
    m *= 0.5;
    k++;
  }
  const f = (m - 1) / (m + 1);
  const f2 = f * f;
  let s: f64 = 1.0 / 23;
  for (let i = 21; i >= 1; i -= 2) s = s * f2 + 1.0 / <f64>i;
  return <f64>k * LN2_64 + 2 * f * s;
}

/** max of n floats at p (NaN if any is NaN; −Inf for n = 0). */
function rowMax(p: usize, n: i32): f32 {
  let mv = f32x4.splat(-Infinity);
  let j = 0;
  for (; j + 4 <= n; j += 4) mv = f32x4.max(mv, v128.load(p + off(j)));
  const h = f32x4.max(mv, v128.shuffle<f32>(mv, mv, 2, 3, 0, 1));
  let m = max(f32x4.extract_lane(h, 0), f32x4.extract_lane(h, 1));
  for (; j < n; j++) m = max(m, load<f32>(p + off(j)));
  return m;
}

/** Σ_j e^(p[j] − m) over n floats, the exps in f32, the sum in f64. */
function sumExp(p: usize, n: i32, m: f32): f64 {
  const mv = f32x4.splat(m);
  let a0 = f64x2.splat(0),
    a1 = f64x2.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const e = exp4(f32x4.sub(v128.load(p + off(j)), mv));
    a0 = f64x2.add(a0, f64x2.promote_low_f32x4(e));
    a1 = f64x2.add(a1, promoteHigh(e));
  }
  let s = hsum64(f64x2.add(a0, a1));
  for (; j < n; j++) s += <f64>exp1(load<f32>(p + off(j)) - m);
  return s;
}

// ---------------------------------------------------------------------------------------------------
// Cross-entropy over chunks of logits (src/ops/lm-head.ts; with one chunk, src/ops/loss.ts).
// Per row r the state is three f64 at state + 24·r: the running max m, the running Σ e^(z − m) and
// the target's logit z_t.

/**
 * Online log-sum-exp, rows [rowStart, rowEnd) of one chunk z [N, vc] (logits of vocabulary rows
 * v0 … v0+vc): with the chunk's max cm and sum cs = Σ e^(z − cm), the first chunk (v0 = 0) sets
 * m = cm, s = cs; later ones m' = max(m, cm), s' = s·e^(m − m') + cs·e^(cm − m'). A row whose target
 * t lies in the chunk records z_t.
 */
export function lmChunkLse(z: usize, targets: usize, state: usize, vc: i32, v0: i32, rowStart: i32, rowEnd: i32): void {
  for (let r = rowStart; r < rowEnd; r++) {
    const zr = z + ((<usize>r * vc) << 2);
    const st = state + <usize>r * 24;
    const cm = rowMax(zr, vc);
    const cs = sumExp(zr, vc, cm);
    if (v0 == 0) {
      store<f64>(st, cm);
      store<f64>(st, cs, 8);
      store<f64>(st, 0, 16);
    } else {
      const m = load<f64>(st);
      const nm = max(m, <f64>cm);
      store<f64>(st, nm);
      store<f64>(st, load<f64>(st, 8) * <f64>exp1(<f32>(m - nm)) + cs * <f64>exp1(<f32>(<f64>cm - nm)), 8);
    }
    const t = <i32>load<u32>(targets + off(r)) - v0;
    if (t >= 0 && t < vc) store<f64>(st, <f64>load<f32>(zr + off(t)), 16);
  }
}

/**
 * Rows [rowStart, rowEnd): lse[r] = m + ln s (f32) and, when rowLoss ≠ 0, rowLoss[r] = lse − z_t
 * (f32). Returns Σ_r (lse − z_t) over the range in f64 (the caller divides the total by N).
 */
export function lmFinish(state: usize, lse: usize, rowLoss: usize, rowStart: i32, rowEnd: i32): f64 {
  let total: f64 = 0;
  for (let r = rowStart; r < rowEnd; r++) {
    const st = state + <usize>r * 24;
    const l = load<f64>(st) + log64(load<f64>(st, 8));
    const d = l - load<f64>(st, 16);
    store<f32>(lse + off(r), <f32>l);
    if (rowLoss) store<f32>(rowLoss + off(r), <f32>d);
    total += d;
  }
  return total;
}

// e^d − 1 in f64 for one value: its Taylor series where |d| < 0.3 (no cancellation: a confident
// row's target has e^d within 1e-7 of 1, and the twin computes the difference in f64), else f32 e^d − 1.
function expm1_64(d: f64): f64 {
  if (!(Math.abs(d) < 0.3)) return <f64>exp1(<f32>d) - 1;
  let q: f64 = 1;
  for (let k = 13; k >= 2; k--) q = 1 + (d / <f64>k) * q;
  return d * q;
}

/**
 * Rows [rowStart, rowEnd) of one chunk: dz[r, j] = g·(e^(z[r, j] − lse[r]) − [v0 + j = t_r]), z and
 * dz [N, vc] (dz may be z: in place, so the target's logit is read before the row is written). The
 * target's e^d − 1 is taken in f64 (expm1_64).
 */
export function lmDlogits(z: usize, dz: usize, targets: usize, lse: usize, g: f32, vc: i32, v0: i32, rowStart: i32, rowEnd: i32): void {
  const gv = f32x4.splat(g);
  for (let r = rowStart; r < rowEnd; r++) {
    const o = (<usize>r * vc) << 2;
    const zr = z + o,
      dr = dz + o;
    const l = load<f32>(lse + off(r));
    const lv = f32x4.splat(l);
    const t = <i32>load<u32>(targets + off(r)) - v0;
    const zt: f32 = t >= 0 && t < vc ? load<f32>(zr + off(t)) : 0;
    let j = 0;
    for (; j + 4 <= vc; j += 4) v128.store(dr + off(j), f32x4.mul(gv, exp4(f32x4.sub(v128.load(zr + off(j)), lv))));
    for (; j < vc; j++) store<f32>(dr + off(j), g * exp1(load<f32>(zr + off(j)) - l));
    if (t >= 0 && t < vc) store<f32>(dr + off(t), <f32>(<f64>g * expm1_64(<f64>zt - <f64>l)));
  }
}

/** Σ of n f64 at p (the caller's total of per-range sums). */
export function sumF64(p: usize, n: i32): f64 {
  let s: f64 = 0;
  for (let i = 0; i < n; i++) s += load<f64>(p + ((<usize>i) << 3));
  return s;
}

// ---------------------------------------------------------------------------------------------------
// GELU (src/ops/activation.ts), elements [start, end).

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const GELU_A: f32 = 0.044715;

// Tanh form: gelu(x) = x·σ(2u), u = √(2/π)·(x + 0.044715·x³). With t = e^(−2|u|) ≤ 1, σ(2u) is 1/(1+t)
// for u ≥ 0 and t/(1+t) below: exp never overflows. x = −Inf gives −Inf·0 = NaN, as the twin.
function geluTanh4(x: v128): v128 {
  const x2 = f32x4.mul(x, x);
  const u = f32x4.mul(f32x4.mul(x, f32x4.splat(SQRT_2_OVER_PI)), madd(x2, f32x4.splat(GELU_A), f32x4.splat(1)));
  const t = exp4(f32x4.mul(f32x4.abs(u), f32x4.splat(-2)));
  const inv = f32x4.div(f32x4.splat(1), f32x4.add(t, f32x4.splat(1)));
  const sig = v128.bitselect(inv, f32x4.mul(t, inv), f32x4.ge(u, f32x4.splat(0)));
  return f32x4.mul(x, sig);
}

// d/dx: σ(2u) + x·σ(2u)·σ(−2u)·2u', σ(2u)·σ(−2u) = t/(1+t)²; the second term is dropped where
// |u| ≥ 40 (the twin does: below 1e-33 there, and 0·∞ = NaN at large |x|) — a NaN u fails |u| < 40
// too, and σ carries the NaN.
function geluTanhGrad4(x: v128): v128 {
  const x2 = f32x4.mul(x, x);
  const u = f32x4.mul(f32x4.mul(x, f32x4.splat(SQRT_2_OVER_PI)), madd(x2, f32x4.splat(GELU_A), f32x4.splat(1)));
  const t = exp4(f32x4.mul(f32x4.abs(u), f32x4.splat(-2)));
  const inv = f32x4.div(f32x4.splat(1), f32x4.add(t, f32x4.splat(1)));
  const sig = v128.bitselect(inv, f32x4.mul(t, inv), f32x4.ge(u, f32x4.splat(0)));
  const du = f32x4.mul(f32x4.splat(2 * SQRT_2_OVER_PI), madd(x2, f32x4.splat(3 * GELU_A), f32x4.splat(1)));
  const second = f32x4.mul(f32x4.mul(x, f32x4.mul(t, f32x4.mul(inv, inv))), du);
  return f32x4.add(sig, v128.and(second, f32x4.lt(f32x4.abs(u), f32x4.splat(40))));
}

// erfc(w) for four lanes: with z = |w| and τ = 1/(1 + z/2), erfc(z) = τ·e^(−z² + P(τ)) for a degree-9
// polynomial P (a Chebyshev fit, relative error < 1.2e-7 for every z ≥ 0); erfc(w) = 2 − erfc(z) for
// w < 0. No cancellation where erfc is tiny (the exact GELU's negative x).
function erfc4(w: v128): v128 {
  const z = f32x4.abs(w);
  const t = f32x4.div(f32x4.splat(1), madd(z, f32x4.splat(0.5), f32x4.splat(1)));
  let p = f32x4.splat(0.17087277);
  p = madd(p, t, f32x4.splat(-0.82215223));
  p = madd(p, t, f32x4.splat(1.48851587));
  p = madd(p, t, f32x4.splat(-1.13520398));
  p = madd(p, t, f32x4.splat(0.27886807));
  p = madd(p, t, f32x4.splat(-0.18628806));
  p = madd(p, t, f32x4.splat(0.09678418));
  p = madd(p, t, f32x4.splat(0.37409196));
  p = madd(p, t, f32x4.splat(1.00002368));
  p = madd(p, t, f32x4.splat(-1.26551223));
  const r = f32x4.mul(t, exp4(f32x4.sub(p, f32x4.mul(z, z))));
  return v128.bitselect(f32x4.sub(f32x4.splat(2), r), r, f32x4.lt(w, f32x4.splat(0)));
}

const INV_SQRT2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;

// Exact form: 0.5·x·erfc(−x/√2).
function geluErf4(x: v128): v128 {
  return f32x4.mul(f32x4.mul(x, f32x4.splat(0.5)), erfc4(f32x4.mul(x, f32x4.splat(-INV_SQRT2))));
}

// d/dx: 0.5·erfc(−x/√2) + x·e^(−x²/2)/√(2π).
function geluErfGrad4(x: v128): v128 {
  const pdf = f32x4.mul(exp4(f32x4.mul(f32x4.mul(x, x), f32x4.splat(-0.5))), f32x4.splat(INV_SQRT_2PI));
  return madd(x, pdf, f32x4.mul(erfc4(f32x4.mul(x, f32x4.splat(-INV_SQRT2))), f32x4.splat(0.5)));
}

// The range's last n < 4 elements as lanes 0 … n−1 (the rest 0, computed but never stored).
function loadPart(p: usize, n: i32): v128 {
  let v = f32x4.replace_lane(f32x4.splat(0), 0, load<f32>(p));
  if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

function storePart(p: usize, v: v128, n: i32): void {
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (n > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (n > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

// The GELU loops run the tail through the same call as the body (loadPart / storePart), so each
// gelu*4 has one call site and binaryen inlines it.

/** out[i] = gelu(x[i]) (exact: the erf form) for i ∈ [start, end). */
export function geluForward(x: usize, out: usize, exact: bool, start: i32, end: i32): void {
  if (exact)
    for (let i = start; i < end; i += 4) {
      const n = end - i;
      const y = geluErf4(n >= 4 ? v128.load(x + off(i)) : loadPart(x + off(i), n));
      if (n >= 4) v128.store(out + off(i), y);
      else storePart(out + off(i), y, n);
    }
  else
    for (let i = start; i < end; i += 4) {
      const n = end - i;
      const y = geluTanh4(n >= 4 ? v128.load(x + off(i)) : loadPart(x + off(i), n));
      if (n >= 4) v128.store(out + off(i), y);
      else storePart(out + off(i), y, n);
    }
}

/** dx[i] = dy[i]·gelu'(x[i]) for i ∈ [start, end). */
export function geluBackward(dy: usize, x: usize, dx: usize, exact: bool, start: i32, end: i32): void {
  if (exact)
    for (let i = start; i < end; i += 4) {
      const n = end - i;
      const full = n >= 4;
      const d = f32x4.mul(full ? v128.load(dy + off(i)) : loadPart(dy + off(i), n), geluErfGrad4(full ? v128.load(x + off(i)) : loadPart(x + off(i), n)));
      if (full) v128.store(dx + off(i), d);
      else storePart(dx + off(i), d, n);
    }
  else
    for (let i = start; i < end; i += 4) {
      const n = end - i;
      const full = n >= 4;
      const d = f32x4.mul(full ? v128.load(dy + off(i)) : loadPart(dy + off(i), n), geluTanhGrad4(full ? v128.load(x + off(i)) : loadPart(x + off(i), n)));
      if (full) v128.store(dx + off(i), d);
      else storePart(dx + off(i), d, n);
    }
}

// ---------------------------------------------------------------------------------------------------
// Layer norm over rows of `cols` floats (src/ops/norm.ts).

/**
 * Rows [rowStart, rowEnd): mean, rstd = 1/√(var + eps) and y = (x − mean)·rstd·γ + β. The mean is
 * first taken in f32 (μ₀), then corrected from the deviations d = x − μ₀, whose Σd and Σd² run in f64:
 * mean = μ₀ + Σd/n, var = (Σd² − (Σd)²/n)/n — accurate even for rows with a large common offset.
 */
export function layerNormForward(
  x: usize,
  gamma: usize,
  beta: usize,
  y: usize,
  mean: usize,
  rstd: usize,
  cols: i32,
  eps: f64,
  rowStart: i32,
  rowEnd: i32,
): void {
  const n = <f64>cols;
  for (let r = rowStart; r < rowEnd; r++) {
    const o = (<usize>r * cols) << 2;
    const xr = x + o,
      yr = y + o;
    let sv = f32x4.splat(0);
    let c = 0;
    for (; c + 4 <= cols; c += 4) sv = f32x4.add(sv, v128.load(xr + off(c)));
    let s0 = hsum(sv);
    for (; c < cols; c++) s0 += load<f32>(xr + off(c));
    const mu0 = <f32>(<f64>s0 / n);
    // d = x − μ₀ in f64: exact for any x within 2²⁹ of μ₀'s scale (in f32 it would round to x's ulp,
    // which the correction cannot undo: a row with ±1e4 beside values ~1 lost 1e-4 of its mean)
    const mv = f64x2.splat(<f64>mu0);
    let d0 = f64x2.splat(0),
      d1 = f64x2.splat(0),
      q0 = f64x2.splat(0),
      q1 = f64x2.splat(0);
    c = 0;
    for (; c + 4 <= cols; c += 4) {
      const v = v128.load(xr + off(c));
      const lo = f64x2.sub(f64x2.promote_low_f32x4(v), mv),
        hi = f64x2.sub(promoteHigh(v), mv);
      d0 = f64x2.add(d0, lo);
      d1 = f64x2.add(d1, hi);
      q0 = f64x2.add(q0, f64x2.mul(lo, lo));
      q1 = f64x2.add(q1, f64x2.mul(hi, hi));
    }
    let sd = hsum64(f64x2.add(d0, d1)),
      sq = hsum64(f64x2.add(q0, q1));
    for (; c < cols; c++) {
      const d = <f64>load<f32>(xr + off(c)) - <f64>mu0;
      sd += d;
      sq += d * d;
    }
    // a row with ±Inf: μ₀ is ±Inf (or NaN), the twin's mean too; the correction would make it NaN
    const mu = mu0 - mu0 == 0 ? <f64>mu0 + sd / n : <f64>mu0;
    const v = max<f64>(0, (sq - (sd * sd) / n) / n);
    const rs = 1 / Math.sqrt(v + eps);
    const muf = <f32>mu,
      rsf = <f32>rs;
    store<f32>(mean + off(r), muf);
    store<f32>(rstd + off(r), rsf);
    const mu4 = f32x4.splat(muf),
      rs4 = f32x4.splat(rsf);
    c = 0;
    for (; c + 4 <= cols; c += 4) {
      const h = f32x4.mul(f32x4.sub(v128.load(xr + off(c)), mu4), rs4);
      v128.store(yr + off(c), madd(h, v128.load(gamma + off(c)), v128.load(beta + off(c))));
    }
    for (; c < cols; c++) store<f32>(yr + off(c), (load<f32>(xr + off(c)) - muf) * rsf * load<f32>(gamma + off(c)) + load<f32>(beta + off(c)));
  }
}

/**
 * Rows [rowStart, rowEnd): with g = dy·γ and x̂ = (x − mean)·rstd, dx = rstd·(g − mean(g) − x̂·mean(g·x̂)),
 * the two row means accumulated in f64.
 */
export function layerNormBackwardDx(dy: usize, x: usize, gamma: usize, mean: usize, rstd: usize, dx: usize, cols: i32, rowStart: i32, rowEnd: i32): void {
  const n = <f64>cols;
  for (let r = rowStart; r < rowEnd; r++) {
    const o = (<usize>r * cols) << 2;
    const xr = x + o,
      dyr = dy + o,
      dxr = dx + o;
    const mu = load<f32>(mean + off(r)),
      rs = load<f32>(rstd + off(r));
    const mu4 = f32x4.splat(mu),
      rs4 = f32x4.splat(rs);
    let a0 = f64x2.splat(0),
      a1 = f64x2.splat(0),
      b0 = f64x2.splat(0),
      b1 = f64x2.splat(0);
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const g = f32x4.mul(v128.load(dyr + off(c)), v128.load(gamma + off(c)));
      const gx = f32x4.mul(g, f32x4.mul(f32x4.sub(v128.load(xr + off(c)), mu4), rs4));
      a0 = f64x2.add(a0, f64x2.promote_low_f32x4(g));
      a1 = f64x2.add(a1, promoteHigh(g));
      b0 = f64x2.add(b0, f64x2.promote_low_f32x4(gx));
      b1 = f64x2.add(b1, promoteHigh(gx));
    }
    let sg = hsum64(f64x2.add(a0, a1)),
      sgx = hsum64(f64x2.add(b0, b1));
    for (; c < cols; c++) {
      const g = load<f32>(dyr + off(c)) * load<f32>(gamma + off(c));
      sg += <f64>g;
      sgx += <f64>(g * ((load<f32>(xr + off(c)) - mu) * rs));
    }
    const mg = <f32>(sg / n),
      mgx = <f32>(sgx / n);
    const mg4 = f32x4.splat(mg),
      mgx4 = f32x4.splat(mgx);
    c = 0;
    for (; c + 4 <= cols; c += 4) {
      const g = f32x4.mul(v128.load(dyr + off(c)), v128.load(gamma + off(c)));
      const h = f32x4.mul(f32x4.sub(v128.load(xr + off(c)), mu4), rs4);
      v128.store(dxr + off(c), f32x4.mul(rs4, f32x4.sub(f32x4.sub(g, mg4), f32x4.mul(h, mgx4))));
    }
    for (; c < cols; c++) {
      const g = load<f32>(dyr + off(c)) * load<f32>(gamma + off(c));
      const h = (load<f32>(xr + off(c)) - mu) * rs;
      store<f32>(dxr + off(c), rs * (g - mg - h * mgx));
    }
  }
}

/**
 * Columns [colStart, colEnd): dγ[c] = Σ_r dy[r, c]·x̂[r, c], dβ[c] = Σ_r dy[r, c], summed over all
 * `rows` in f64 (four columns at a time).
 */
export function layerNormParamGrads(
  dy: usize,
  x: usize,
  mean: usize,
  rstd: usize,
  dgamma: usize,
  dbeta: usize,
  rows: i32,
  cols: i32,
  colStart: i32,
  colEnd: i32,
): void {
  const rb = (<usize>cols) << 2;
  let c = colStart;
  for (; c + 4 <= colEnd; c += 4) {
    let g0 = f64x2.splat(0),
      g1 = f64x2.splat(0),
      b0 = f64x2.splat(0),
      b1 = f64x2.splat(0);
    let px = x + off(c),
      pd = dy + off(c);
    for (let r = 0; r < rows; r++) {
      const d = v128.load(pd);
      const h = f32x4.mul(f32x4.sub(v128.load(px), v128.load32_splat(mean + off(r))), v128.load32_splat(rstd + off(r)));
      const gh = f32x4.mul(d, h);
      g0 = f64x2.add(g0, f64x2.promote_low_f32x4(gh));
      g1 = f64x2.add(g1, promoteHigh(gh));
      b0 = f64x2.add(b0, f64x2.promote_low_f32x4(d));
      b1 = f64x2.add(b1, promoteHigh(d));
      px += rb;
      pd += rb;
    }
    v128.store(dgamma + off(c), demote(g0, g1));
    v128.store(dbeta + off(c), demote(b0, b1));
  }
  for (; c < colEnd; c++) {
    let sg: f64 = 0,
      sb: f64 = 0;
    for (let r = 0; r < rows; r++) {
      const i = (<usize>r * cols + c) << 2;
      const d = load<f32>(dy + i);
      sg += <f64>(d * ((load<f32>(x + i) - load<f32>(mean + off(r))) * load<f32>(rstd + off(r))));
      sb += <f64>d;
    }
    store<f32>(dgamma + off(c), <f32>sg);
    store<f32>(dbeta + off(c), <f32>sb);
  }
}

// ---------------------------------------------------------------------------------------------------
// Softmax over rows of `cols` floats (src/ops/softmax.ts).

/** Rows [rowStart, rowEnd): y = e^(x − max)/Σ e^(x − max), the sum in f64 (y holds the exps meanwhile). */
export function softmaxForward(x: usize, y: usize, cols: i32, rowStart: i32, rowEnd: i32): void {
  for (let r = rowStart; r < rowEnd; r++) {
    const o = (<usize>r * cols) << 2;
    const xr = x + o,
      yr = y + o;
    const m = rowMax(xr, cols);
    const mv = f32x4.splat(m);
    let a0 = f64x2.splat(0),
      a1 = f64x2.splat(0);
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const e = exp4(f32x4.sub(v128.load(xr + off(c)), mv));
      v128.store(yr + off(c), e);
      a0 = f64x2.add(a0, f64x2.promote_low_f32x4(e));
      a1 = f64x2.add(a1, promoteHigh(e));
    }
    let s = hsum64(f64x2.add(a0, a1));
    for (; c < cols; c++) {
      const e = exp1(load<f32>(xr + off(c)) - m);
      store<f32>(yr + off(c), e);
      s += <f64>e;
    }
    const inv = <f32>(1 / s);
    const iv = f32x4.splat(inv);
    c = 0;
    for (; c + 4 <= cols; c += 4) v128.store(yr + off(c), f32x4.mul(v128.load(yr + off(c)), iv));
    for (; c < cols; c++) store<f32>(yr + off(c), load<f32>(yr + off(c)) * inv);
  }
}

/**
 * Rows [rowStart, rowEnd): dx = y·(dy − Σ dy·y), in f64 like the twin: a near one-hot row has
 * dy ≈ Σ dy·y at its peak, and the difference is below the f32 rounding of either.
 */
export function softmaxBackward(y: usize, dy: usize, dx: usize, cols: i32, rowStart: i32, rowEnd: i32): void {
  for (let r = rowStart; r < rowEnd; r++) {
    const o = (<usize>r * cols) << 2;
    const yr = y + o,
      dyr = dy + o,
      dxr = dx + o;
    let a0 = f64x2.splat(0),
      a1 = f64x2.splat(0);
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const yv = v128.load(yr + off(c)),
        dv = v128.load(dyr + off(c));
      a0 = f64x2.add(a0, f64x2.mul(f64x2.promote_low_f32x4(yv), f64x2.promote_low_f32x4(dv)));
      a1 = f64x2.add(a1, f64x2.mul(promoteHigh(yv), promoteHigh(dv)));
    }
    let s = hsum64(f64x2.add(a0, a1));
    for (; c < cols; c++) s += <f64>load<f32>(yr + off(c)) * <f64>load<f32>(dyr + off(c));
    const sv = f64x2.splat(s);
    c = 0;
    for (; c + 4 <= cols; c += 4) {
      const yv = v128.load(yr + off(c)),
        dv = v128.load(dyr + off(c));
      const lo = f64x2.mul(f64x2.promote_low_f32x4(yv), f64x2.sub(f64x2.promote_low_f32x4(dv), sv));
      const hi = f64x2.mul(promoteHigh(yv), f64x2.sub(promoteHigh(dv), sv));
      v128.store(dxr + off(c), demote(lo, hi));
    }
    for (; c < cols; c++) store<f32>(dxr + off(c), <f32>(<f64>load<f32>(yr + off(c)) * (<f64>load<f32>(dyr + off(c)) - s)));
  }
}

// ---------------------------------------------------------------------------------------------------
// Elementwise (src/ops/elementwise.ts), elements [start, end).

// op codes (src/wasm/rows.ts BINARY_OP): 0 add, 1 sub, anything else mul
const ADD = 0,
  SUB = 1;

function apply4(op: i32, a: v128, b: v128): v128 {
  return op == ADD ? f32x4.add(a, b) : op == SUB ? f32x4.sub(a, b) : f32x4.mul(a, b);
}

function apply1(op: i32, a: f32, b: f32): f32 {
  return op == ADD ? a + b : op == SUB ? a - b : a * b;
}

/** out[i..i+n) = a[i..i+n) ∘ b[j..j+n) (op 0 add, 1 sub, 2 mul). */
function binaryRun(op: i32, a: usize, b: usize, out: usize, n: i32): void {
  let k = 0;
  // one loop per op, so the op's branch stays outside the loop
  if (op == ADD) for (; k + 4 <= n; k += 4) v128.store(out + off(k), f32x4.add(v128.load(a + off(k)), v128.load(b + off(k))));
  else if (op == SUB) for (; k + 4 <= n; k += 4) v128.store(out + off(k), f32x4.sub(v128.load(a + off(k)), v128.load(b + off(k))));
  else for (; k + 4 <= n; k += 4) v128.store(out + off(k), f32x4.mul(v128.load(a + off(k)), v128.load(b + off(k))));
  for (; k < n; k++) store<f32>(out + off(k), apply1(op, load<f32>(a + off(k)), load<f32>(b + off(k))));
}

/** out[i] = a[i] ∘ b[i mod nb] for i ∈ [start, end) (op 0 add, 1 sub, 2 mul): runs of b, SIMD within each. */
export function binary(op: i32, a: usize, b: usize, out: usize, nb: i32, start: i32, end: i32): void {
  if (nb == 1) {
    const bv = v128.load32_splat(b);
    const bs = load<f32>(b);
    let i = start;
    for (; i + 4 <= end; i += 4) v128.store(out + off(i), apply4(op, v128.load(a + off(i)), bv));
    for (; i < end; i++) store<f32>(out + off(i), apply1(op, load<f32>(a + off(i)), bs));
    return;
  }
  let i = start;
  while (i < end) {
    const j = i % nb;
    const n = min(end - i, nb - j);
    binaryRun(op, a + off(i), b + off(j), out + off(i), n);
    i += n;
  }
}

/** out[i] = alpha·a[i] for i ∈ [start, end), in f64 with the f64 alpha, rounded once (as the twin). */
export function scale(a: usize, out: usize, alpha: f64, start: i32, end: i32): void {
  const av = f64x2.splat(alpha);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const v = v128.load(a + off(i));
    v128.store(out + off(i), demote(f64x2.mul(av, f64x2.promote_low_f32x4(v)), f64x2.mul(av, promoteHigh(v))));
  }
  for (; i < end; i++) store<f32>(out + off(i), <f32>(alpha * <f64>load<f32>(a + off(i))));
}

/**
 * y[i] += alpha·x[i] for i ∈ [start, end), in f64 rounded once, as the twin: in f32, y ≈ −alpha·x
 * would leave the product's rounding as the whole (small) result.
 */
export function axpy(y: usize, x: usize, alpha: f64, start: i32, end: i32): void {
  const av = f64x2.splat(alpha);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const v = v128.load(x + off(i)),
      w = v128.load(y + off(i));
    const lo = f64x2.add(f64x2.promote_low_f32x4(w), f64x2.mul(av, f64x2.promote_low_f32x4(v)));
    const hi = f64x2.add(promoteHigh(w), f64x2.mul(av, promoteHigh(v)));
    v128.store(y + off(i), demote(lo, hi));
  }
  for (; i < end; i++) store<f32>(y + off(i), <f32>(<f64>load<f32>(y + off(i)) + alpha * <f64>load<f32>(x + off(i))));
}

/** out[j] = Σ_{r < reps} a[r·nb + j] for j ∈ [start, end), in f64 (four columns at a time). */
export function sumRepeat(a: usize, out: usize, nb: i32, reps: i32, start: i32, end: i32): void {
  const rb = (<usize>nb) << 2;
  let j = start;
  for (; j + 4 <= end; j += 4) {
    let s0 = f64x2.splat(0),
      s1 = f64x2.splat(0);
    let p = a + off(j);
    for (let r = 0; r < reps; r++) {
      const v = v128.load(p);
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v));
      s1 = f64x2.add(s1, promoteHigh(v));
      p += rb;
    }
    v128.store(out + off(j), demote(s0, s1));
  }
  for (; j < end; j++) {
    let s: f64 = 0;
    let p = a + off(j);
    for (let r = 0; r < reps; r++) {
      s += <f64>load<f32>(p);
      p += rb;
    }
    store<f32>(out + off(j), <f32>s);
  }
}

// ---------------------------------------------------------------------------------------------------
// Reductions (src/ops/reduce.ts) over elements [start, end), returned to the caller (which adds the
// ranges' results and divides where the op asks).

/** Σ x[i], or Σ x[i]² when `square` (products of the promoted values: exact), in f64. */
export function reduceSum(x: usize, square: bool, start: i32, end: i32): f64 {
  let a0 = f64x2.splat(0),
    a1 = f64x2.splat(0);
  let i = start;
  if (square)
    for (; i + 4 <= end; i += 4) {
      const v = v128.load(x + off(i));
      const lo = f64x2.promote_low_f32x4(v),
        hi = promoteHigh(v);
      a0 = f64x2.add(a0, f64x2.mul(lo, lo));
      a1 = f64x2.add(a1, f64x2.mul(hi, hi));
    }
  else
    for (; i + 4 <= end; i += 4) {
      const v = v128.load(x + off(i));
      a0 = f64x2.add(a0, f64x2.promote_low_f32x4(v));
      a1 = f64x2.add(a1, promoteHigh(v));
    }
  let s = hsum64(f64x2.add(a0, a1));
  for (; i < end; i++) {
    const v = <f64>load<f32>(x + off(i));
    s += square ? v * v : v;
  }
  return s;
}

/** Σ |a[i] − b[i]| in f64 (the difference of two promoted f32 is exact). */
export function absDiffSum(a: usize, b: usize, start: i32, end: i32): f64 {
  let a0 = f64x2.splat(0),
    a1 = f64x2.splat(0);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const u = v128.load(a + off(i)),
      v = v128.load(b + off(i));
    a0 = f64x2.add(a0, f64x2.abs(f64x2.sub(f64x2.promote_low_f32x4(u), f64x2.promote_low_f32x4(v))));
    a1 = f64x2.add(a1, f64x2.abs(f64x2.sub(promoteHigh(u), promoteHigh(v))));
  }
  let s = hsum64(f64x2.add(a0, a1));
  for (; i < end; i++) s += Math.abs(<f64>load<f32>(a + off(i)) - <f64>load<f32>(b + off(i)));
  return s;
}

/**
 * The twin's max: m = x[start], then m = x[i] wherever x[i] > m — so a NaN is skipped unless it is
 * x[start], which makes the result NaN. f32x4.pmax(m, v) = m < v ? v : m is that step per lane.
 */
export function reduceMax(x: usize, start: i32, end: i32): f32 {
  const first = load<f32>(x + off(start));
  let m = f32x4.splat(first);
  let i = start + 1;
  for (; i + 4 <= end; i += 4) m = f32x4.pmax(m, v128.load(x + off(i)));
  let r = first;
  for (let l = 0; l < 4; l++) {
    const v = l == 0 ? f32x4.extract_lane(m, 0) : l == 1 ? f32x4.extract_lane(m, 1) : l == 2 ? f32x4.extract_lane(m, 2) : f32x4.extract_lane(m, 3);
    if (v > r) r = v;
  }
  for (; i < end; i++) {
    const v = load<f32>(x + off(i));
    if (v > r) r = v;
  }
  return r;
}

export function rowsVersion(): i32 {
  return 2;
}
