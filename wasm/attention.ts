// AssemblyScript (not TypeScript): the WebAssembly multi-head self-attention, forward and backward,
// built by tools/build-wasm.mjs with SIMD128 and with relaxed SIMD (f32x4.relaxed_madd). The CPU twin
// is in src/ops/attention.ts (same layouts); the caller is src/wasm/attention.ts.
//
// Layout (floats): qkv [B, T, 3C] — q_t = cols [0, C), k_t = [C, 2C), v_t = [2C, 3C) of row t; head h
// reads cols h·D .. (h+1)·D of each; out and dout [B, T, C]; probs [B, H, T, T]. Every call covers the
// (batch·head) pairs bh ∈ [bhStart, bhEnd), bh = b·H + h, and touches only memory those pairs own
// (their probs block, their D columns of out/dqkv), so disjoint ranges can run on different threads.
//
// SIMD: dot products run over D four lanes at a time (one horizontal add per key); the weighted
// row sums (Σ_j w_j·v_j) keep up to 16 floats of the output row in v128 registers while j runs.
// Trap: the D % 4 tail is scalar — a 4-lane load past column D reads the next head's (or the v
// block's) values, and 0·NaN there would leak a NaN into this head. f32 accumulation throughout; the
// softmax subtracts the row max (f32.max propagates NaN, so a NaN query row stays all NaN); causal
// rows visit keys j ≤ i only and store exact zeros for the rest.
//
// Memory is the engine's (imported); pointers are byte offsets. No static data (see wasm/matmul.ts).

function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

function hsum(v: v128): f32 {
  // lanes (0+2, 1+3, …) then the two halves
  const s = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

// exp(x) for four lanes x ≤ 0 (the softmax passes s − max; +Inf is not handled), written here
// because Mathf.exp cannot be used: its lookup table is static data. x = n·ln2 + r with n =
// round(x/ln2) and ln2 split in two (Cody–Waite: n·LN2_HI is exact for |n| < 512), so |r| ≤ ln2/2;
// e^r by its degree-7 Taylor polynomial (truncation < 1e-8 relative), times 2^n built in the
// exponent bits. Lanes below -87.3 (2^n subnormal; the shift would wrap) give 0 (the twin's e^x
// there is < 1e-37 of the row's sum); NaN stays NaN (trunc_sat turns its n into 0, and the
// polynomial carries the NaN).
const LOG2E: f32 = 1.4426950408889634;
const LN2_HI: f32 = 0.693145751953125;
const LN2_LO: f32 = 1.428606765330187e-6;
const EXP_MIN: f32 = -87.3;

function exp4(x: v128): v128 {
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(LOG2E)));
  const r = f32x4.sub(f32x4.sub(x, f32x4.mul(n, f32x4.splat(LN2_HI))), f32x4.mul(n, f32x4.splat(LN2_LO)));
  let p = f32x4.splat(<f32>(1.0 / 5040));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(<f32>(1.0 / 720)));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(<f32>(1.0 / 120)));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(<f32>(1.0 / 24)));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(<f32>(1.0 / 6)));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(0.5));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1));
  const two_n = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  // keep lanes that are ≥ EXP_MIN or NaN (the comparison is false for NaN)
  return v128.andnot(f32x4.mul(p, two_n), f32x4.lt(x, f32x4.splat(EXP_MIN)));
}

/** Σ_d a[d]·b[d] over d < D. */
function dot(a: usize, b: usize, D: i32): f32 {
  let acc = f32x4.splat(0);
  let d = 0;
  for (; d + 4 <= D; d += 4) {
    const o = (<usize>d) << 2;
    acc = madd(v128.load(a + o), v128.load(b + o), acc);
  }
  let s = hsum(acc);
  for (; d < D; d++) s += load<f32>(a + ((<usize>d) << 2)) * load<f32>(b + ((<usize>d) << 2));
  return s;
}

/** dst[d] = Σ_{j<n} w[j]·rows[j·stride + d] for d < D (stride in bytes); j ascending per element. */
function weightedSum(w: usize, rows: usize, stride: usize, n: i32, D: i32, dst: usize): void {
  let d = 0;
  for (; d + 16 <= D; d += 16) {
    let a0 = f32x4.splat(0),
      a1 = f32x4.splat(0),
      a2 = f32x4.splat(0),
      a3 = f32x4.splat(0);
    let r = rows + ((<usize>d) << 2);
    for (let j = 0; j < n; j++) {
      const x = v128.load32_splat(w + ((<usize>j) << 2));
      a0 = madd(x, v128.load(r), a0);
      a1 = madd(x, v128.load(r, 16), a1);
      a2 = madd(x, v128.load(r, 32), a2);
      a3 = madd(x, v128.load(r, 48), a3);
      r += stride;
    }
    const o = dst + ((<usize>d) << 2);
    v128.store(o, a0);
    v128.store(o, a1, 16);
    v128.store(o, a2, 32);
    v128.store(o, a3, 48);
  }
  for (; d + 4 <= D; d += 4) {
    let a = f32x4.splat(0);
    let r = rows + ((<usize>d) << 2);
    for (let j = 0; j < n; j++) {
      a = madd(v128.load32_splat(w + ((<usize>j) << 2)), v128.load(r), a);
      r += stride;
    }
    v128.store(dst + ((<usize>d) << 2), a);
  }
  for (; d < D; d++) {
    let s: f32 = 0;
    let r = rows + ((<usize>d) << 2);
    for (let j = 0; j < n; j++) {
      s += load<f32>(w + ((<usize>j) << 2)) * load<f32>(r);
      r += stride;
    }
    store<f32>(dst + ((<usize>d) << 2), s);
  }
}

/** dst[d] += a·x[d] for d < D. */
function axpy(a: f32, x: usize, dst: usize, D: i32): void {
  const av = f32x4.splat(a);
  let d = 0;
  for (; d + 4 <= D; d += 4) {
    const o = (<usize>d) << 2;
    v128.store(dst + o, madd(av, v128.load(x + o), v128.load(dst + o)));
  }
  for (; d < D; d++) {
    const o = (<usize>d) << 2;
    store<f32>(dst + o, load<f32>(dst + o) + a * load<f32>(x + o));
  }
}

/**
 * Forward for bh ∈ [bhStart, bhEnd): probs[b, h, i, :] = softmax_j≤nk(q_i·k_j / √D) (0 past nk) and
 * out[b, i, h·D + d] = Σ_j probs[i, j]·v_j[d]. The probs row doubles as the scores' scratch.
 */
export function forward(qkv: usize, out: usize, probs: usize, T: i32, C: i32, H: i32, causal: bool, bhStart: i32, bhEnd: i32): void {
  const D = C / H;
  const scale: f32 = 1 / Mathf.sqrt(<f32>D);
  const rs = (<usize>(3 * C)) << 2; // bytes between rows of qkv
  for (let bh = bhStart; bh < bhEnd; bh++) {
    const b = bh / H,
      h = bh % H;
    const q = qkv + <usize>b * T * rs + ((<usize>(h * D)) << 2);
    const k = q + ((<usize>C) << 2),
      v = q + ((<usize>(2 * C)) << 2);
    for (let i = 0; i < T; i++) {
      const nk = causal ? i + 1 : T;
      const qi = q + <usize>i * rs;
      const p = probs + ((<usize>(bh * T + i) * T) << 2);
      let m: f32 = -Infinity;
      for (let j = 0; j < nk; j++) {
        const s = dot(qi, k + <usize>j * rs, D) * scale;
        store<f32>(p + ((<usize>j) << 2), s);
        m = max(m, s); // f32.max: NaN in, NaN out
      }
      const mv = f32x4.splat(m);
      let sv = f32x4.splat(0);
      let j = 0;
      for (; j + 4 <= nk; j += 4) {
        const o = p + ((<usize>j) << 2);
        const e = exp4(f32x4.sub(v128.load(o), mv));
        v128.store(o, e);
        sv = f32x4.add(sv, e);
      }
      let sum = hsum(sv);
      for (; j < nk; j++) {
        const o = p + ((<usize>j) << 2);
        const e = f32x4.extract_lane(exp4(f32x4.splat(load<f32>(o) - m)), 0);
        store<f32>(o, e);
        sum += e;
      }
      const inv = f32x4.splat(1 / sum);
      j = 0;
      for (; j + 4 <= nk; j += 4) {
        const o = p + ((<usize>j) << 2);
        v128.store(o, f32x4.mul(v128.load(o), inv));
      }
      for (; j < nk; j++) store<f32>(p + ((<usize>j) << 2), load<f32>(p + ((<usize>j) << 2)) * f32x4.extract_lane(inv, 0));
      if (nk < T) memory.fill(p + ((<usize>nk) << 2), 0, (<usize>(T - nk)) << 2);
      weightedSum(p, v, rs, nk, D, out + ((<usize>((b * T + i) * C + h * D)) << 2));
    }
  }
}

/** Bytes of scratch one backward call needs: the dS row. */
export function backwardScratchBytes(T: i32): i32 {
  return T << 2;
}

/**
 * Backward for bh ∈ [bhStart, bhEnd): with dp_j = dout_i·v_j and ds_j = p_ij·(dp_j − Σ_j' p_ij'·dp_j')/√D,
 * dq_i = Σ_j ds_j·k_j, dk_j += ds_j·q_i, dv_j += p_ij·dout_i (i ascending). The pairs' D columns of
 * dk and dv are zeroed first (dq is written whole), so dqkv may hold anything on entry.
 */
export function backward(
  dout: usize,
  qkv: usize,
  probs: usize,
  dqkv: usize,
  scratch: usize,
  T: i32,
  C: i32,
  H: i32,
  causal: bool,
  bhStart: i32,
  bhEnd: i32,
): void {
  const D = C / H;
  const scale: f32 = 1 / Mathf.sqrt(<f32>D);
  const rs = (<usize>(3 * C)) << 2;
  const dBytes = (<usize>D) << 2;
  const kOff = (<usize>C) << 2,
    vOff = (<usize>(2 * C)) << 2;
  for (let bh = bhStart; bh < bhEnd; bh++) {
    const b = bh / H,
      h = bh % H;
    const base = <usize>b * T * rs + ((<usize>(h * D)) << 2);
    const q = qkv + base,
      dq = dqkv + base;
    for (let t = 0; t < T; t++) {
      const r = dq + <usize>t * rs;
      memory.fill(r + kOff, 0, dBytes);
      memory.fill(r + vOff, 0, dBytes);
    }
    for (let i = 0; i < T; i++) {
      const nk = causal ? i + 1 : T;
      const p = probs + ((<usize>(bh * T + i) * T) << 2);
      const g = dout + ((<usize>((b * T + i) * C + h * D)) << 2);
      const qi = q + <usize>i * rs;
      let pdp: f32 = 0;
      for (let j = 0; j < nk; j++) {
        const dp = dot(g, q + <usize>j * rs + vOff, D);
        store<f32>(scratch + ((<usize>j) << 2), dp);
        pdp += load<f32>(p + ((<usize>j) << 2)) * dp;
      }
      for (let j = 0; j < nk; j++) {
        const o = (<usize>j) << 2;
        const ds = load<f32>(p + o) * (load<f32>(scratch + o) - pdp) * scale;
        store<f32>(scratch + o, ds);
        const dj = dq + <usize>j * rs;
        axpy(ds, qi, dj + kOff, D);
        axpy(load<f32>(p + o), g, dj + vOff, D);
      }
      weightedSum(scratch, q + kOff, rs, nk, D, dq + <usize>i * rs);
    }
  }
}
