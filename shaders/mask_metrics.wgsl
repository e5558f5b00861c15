// Convergence metrics of mask learning, reduced on the GPU into a tiny output tensor (no readback).
// One workgroup of 256 threads: each thread sums a strided slice with Kahan compensation, then a
// tree reduction in workgroup memory. Single-workgroup on purpose: metrics are logged per step per
// layer, and one workgroup keeps the result deterministic and needs no second pass.

const WG = 256u;

struct Params { n: u32, c: u32, kappa: f32, pad: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> ua: array<u32>;
@group(0) @binding(5) var<storage, read> ub: array<u32>;

var<workgroup> partial: array<f32, WG>;

struct Kahan { s: f32, comp: f32 }
fn kahan_add(k: Kahan, x: f32) -> Kahan {
  let y = x - k.comp;
  let t = k.s + y;
  return Kahan(t, (t - k.s) - y);
}

// Sum of one value per thread across the workgroup; every thread gets the total. Must be called
// from uniform control flow (it contains barriers).
fn workgroup_sum(lid: u32, v: f32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();   // everyone has read partial[0] before a later call overwrites it
  return total;
}

// mean |a − b| over n elements
@compute @workgroup_size(WG)
fn l1(@builtin(local_invocation_index) lid: u32) {
  var k = Kahan(0.0, 0.0);
  for (var i = lid; i < p.n; i += WG) { k = kahan_add(k, abs(a[i] - b[i])); }
  let total = workgroup_sum(lid, k.s);
  if (lid == 0u) { out[0] = total / f32(p.n); }
}

// mean over n groups of max_c a[g·c + c'] (a = probabilities y, [n, c])
@compute @workgroup_size(WG)
fn max_prob(@builtin(local_invocation_index) lid: u32) {
  var k = Kahan(0.0, 0.0);
  for (var g = lid; g < p.n; g += WG) {
    var best = a[g * p.c];
    for (var c = 1u; c < p.c; c++) { best = max(best, a[g * p.c + c]); }
    k = kahan_add(k, best);
  }
  let total = workgroup_sum(lid, k.s);
  if (lid == 0u) { out[0] = total / f32(p.n); }
}

// mean over n groups of max_c softmax(κπ)_c = 1 / Σ_c exp(κ(π_c − π_max)) (no overflow: exponents ≤ 0)
@compute @workgroup_size(WG)
fn max_prob_clean(@builtin(local_invocation_index) lid: u32) {
  var k = Kahan(0.0, 0.0);
  for (var g = lid; g < p.n; g += WG) {
    var top = a[g * p.c];
    for (var c = 1u; c < p.c; c++) { top = max(top, a[g * p.c + c]); }
    var z = 0.0;
    for (var c = 0u; c < p.c; c++) { z += exp(p.kappa * (a[g * p.c + c] - top)); }
    k = kahan_add(k, 1.0 / z);
  }
  let total = workgroup_sum(lid, k.s);
  if (lid == 0u) { out[0] = total / f32(p.n); }
}

// [mean, std] of n values; std is the population std (divide by n), computed in a second pass
// around the mean (no E[x²] − E[x]² cancellation).
@compute @workgroup_size(WG)
fn logit_stats(@builtin(local_invocation_index) lid: u32) {
  var k = Kahan(0.0, 0.0);
  for (var i = lid; i < p.n; i += WG) { k = kahan_add(k, a[i]); }
  let mean = workgroup_sum(lid, k.s) / f32(p.n);
  var q = Kahan(0.0, 0.0);
  for (var i = lid; i < p.n; i += WG) {
    let d = a[i] - mean;
    q = kahan_add(q, d * d);
  }
  let ss = workgroup_sum(lid, q.s);
  if (lid == 0u) {
    out[0] = mean;
    out[1] = sqrt(ss / f32(p.n));
  }
}

// number of positions where two u32 choice vectors differ, as f32 (exact below 2^24 groups)
@compute @workgroup_size(WG)
fn flips(@builtin(local_invocation_index) lid: u32) {
  var count = 0u;
  for (var i = lid; i < p.n; i += WG) { count += select(0u, 1u, ua[i] != ub[i]); }
  let total = workgroup_sum(lid, f32(count));
  if (lid == 0u) { out[0] = total; }
}
