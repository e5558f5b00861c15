// GELU, tanh form as GPT-2 ("gelu_new"): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
struct Params { n: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const A: f32 = 0.044715;

fn flat(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * 64u; }

// Written as x·σ(2u) (since 1 + tanh(u) = 2σ(2u)) rather than with tanh: for negative x, 1 + tanh(u)
// cancels to exactly 0 in f32 once u < −9, while e^{−2u} keeps the tiny result accurate.
// Traps: e^{−2u} overflows to +inf for u < −44 (then x/inf = −0, which is right), and x³ overflows
// for |x| ≳ 7e12 (u = ±inf, e^{−2u} is inf or 0: still right, no NaN).
fn sigmoid2u(v: f32) -> vec2f {
  let u = SQRT_2_OVER_PI * (v + A * v * v * v);
  let e = exp(-2.0 * u);
  return vec2f(1.0 / (1.0 + e), u);
}

@compute @workgroup_size(64)
fn gelu(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  let v = x[i];
  out[i] = v * sigmoid2u(v).x;
}

// d/dx [x·σ(2u)] = σ + x·σ·(1 − σ)·2·u',  u' = √(2/π)·(1 + 3·0.044715·x²), with 1 − σ = e/(1 + e).
// Trap: past |u| = 40 the second term is below 1e-33 but becomes 0·∞ or ∞/∞ = NaN in f32 (x² or
// e^{−2u} overflow), so it is dropped there (the CPU twin does the same).
@compute @workgroup_size(64)
fn gelu_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  let v = x[i];
  let su = sigmoid2u(v);
  let s = su.x;
  var d = s;
  if (abs(su.y) < 40.0) {
    let e = exp(-2.0 * su.y);
    d += v * s * (e / (1.0 + e)) * 2.0 * SQRT_2_OVER_PI * (1.0 + 3.0 * A * v * v);
  }
  out[i] = dy[i] * d;
}

// ---- Exact GELU (erf form, HF "gelu"): 0.5·x·(1 + erf(x/√2)) = 0.5·x·erfc(−x/√2) ----
// WGSL has no erf. We evaluate erfc(z), z ≥ 0, with the Chebyshev-fitted form of Numerical Recipes
// (Press et al., "erfcc": fractional error < 1.2e-7 for all z), and use 1 + erf(v) = erfc(|v|) for
// v < 0, 2 − erfc(v) for v ≥ 0. Trap: computing 1 + erf(v) for negative v cancels to exactly 0 in f32
// once v < −4 (erf rounds to −1), so GELU(−5.6) came out 0 instead of −5e-8.
fn erfc_pos(z: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.5 * z);
  let poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  // z² overflows to inf for huge z: exp(−inf) = 0, so erfc = 0 (right)
  return t * exp(-z * z + poly);
}

// 1 + erf(v), accurate in relative terms for negative v
fn one_plus_erf(v: f32) -> f32 {
  let c = erfc_pos(abs(v));
  return select(2.0 - c, c, v < 0.0);
}

const INV_SQRT_2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;

@compute @workgroup_size(64)
fn gelu_erf(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  let v = x[i];
  out[i] = 0.5 * v * one_plus_erf(v * INV_SQRT_2);
}

// d/dx = Φ(x) + x·φ(x),  Φ(x) = 0.5(1 + erf(x/√2)),  φ(x) = e^{−x²/2}/√(2π) (0 for large |x|, no NaN)
@compute @workgroup_size(64)
fn gelu_erf_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  let v = x[i];
  let cdf = 0.5 * one_plus_erf(v * INV_SQRT_2);
  let pdf = INV_SQRT_2PI * exp(-0.5 * min(v * v, 200.0));
  out[i] = dy[i] * (cdf + v * pdf);
}
