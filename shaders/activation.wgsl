// GELU, tanh form as GPT-2 ("gelu_new"): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
struct Params { n: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const A: f32 = 0.044715;

fn flat(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * 64u; }

// WebGPU trap: tanh may be computed as (e^{2u} − 1)/(e^{2u} + 1), which is inf/inf = NaN once e^{2u}
// overflows (|u| ≳ 44), and x³ itself overflows for |x| ≳ 7e12. tanh(±10) already rounds to ±1 in
// f32, so clamping u to [−10, 10] changes nothing else.
fn tanh_inner(v: f32) -> f32 {
  let u = SQRT_2_OVER_PI * (v + A * v * v * v);
  return tanh(clamp(u, -10.0, 10.0));
}

@compute @workgroup_size(64)
fn gelu(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  let v = x[i];
  out[i] = 0.5 * v * (1.0 + tanh_inner(v));
}

// d/dx = 0.5·(1 + t) + 0.5·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²)
// Trap: for large |x| the second term is 0 · ∞ = NaN in f32 (x² overflows while 1 − t² is 0), and
// a tanh that returns 0.99999994 instead of 1 would turn it into garbage. Where |u| ≥ 10 the term's
// magnitude is below 1e-7 (the derivative is 0 or 1 to that accuracy), so it is dropped there (the CPU twin does the same).
@compute @workgroup_size(64)
fn gelu_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  let v = x[i];
  let u = SQRT_2_OVER_PI * (v + A * v * v * v);
  let t = tanh(clamp(u, -10.0, 10.0));
  var d = 0.5 * (1.0 + t);
  if (abs(u) < 10.0) { d += 0.5 * v * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * A * v * v); }
  out[i] = dy[i] * d;
}

// ---- Exact GELU (erf form, HF "gelu"): 0.5·x·(1 + erf(x/√2)) ----
// WGSL has no erf. Abramowitz & Stegun 7.1.26 gives |error| ≤ 1.5e-7 on all of ℝ, below f32
// resolution of GELU's output scale; the CPU twin uses an f64 erf accurate to ~1e-14.
fn erf_as(v: f32) -> f32 {
  let z = abs(v);
  let t = 1.0 / (1.0 + 0.3275911 * z);
  let poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
  // exp(−z²) underflows to 0 past z ≈ 9.4: then erf = ±1, which is right
  return sign(v) * (1.0 - poly * exp(-z * z));
}

const INV_SQRT_2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;

@compute @workgroup_size(64)
fn gelu_erf(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  let v = x[i];
  out[i] = 0.5 * v * (1.0 + erf_as(v * INV_SQRT_2));
}

// d/dx = Φ(x) + x·φ(x),  Φ(x) = 0.5(1 + erf(x/√2)),  φ(x) = e^{−x²/2}/√(2π) (0 for large |x|, no NaN)
@compute @workgroup_size(64)
fn gelu_erf_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  let v = x[i];
  let cdf = 0.5 * (1.0 + erf_as(v * INV_SQRT_2));
  let pdf = INV_SQRT_2PI * exp(-0.5 * min(v * v, 200.0));
  out[i] = dy[i] * (cdf + v * pdf);
}
