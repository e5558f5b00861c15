// MaskLLM per-group kernels: Gumbel-softmax soft-mask sampling, its backward to the logits, and
// the hard (argmax) mask. rng.wgsl is prepended by src/sparsity/gumbel.ts. One invocation per group.
//
// The candidate set S is not stored: with kept position k at bit (M−1−k), the lexicographic order
// of combinations(range(M), N) is the order of decreasing M-bit masks with N ones (see
// candidateBits in src/sparsity/patterns.ts), so each kernel enumerates it from the constants.
// Group → weight element mapping repeats elementIndex() in src/sparsity/layout.ts.

override N: u32 = 2u;
override M: u32 = 4u;
override C: u32 = 6u;   // C(M, N); the host checks C ≤ MAX_C and M ≤ MAX_M
const MAX_C = 70u;      // C(8, 4)
const MAX_M = 8u;

struct Params {
  groups: u32, rows: u32, cols: u32, in_out: u32,
  seed: u32, stream: u32, offset: u32, accumulate: u32,
  kappa: f32, tau: f32, lambda: f32, pad: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> y_out: array<f32>;
@group(0) @binding(3) var<storage, read_write> mask_out: array<f32>;
@group(0) @binding(4) var<storage, read_write> choice_out: array<u32>;
@group(0) @binding(5) var<storage, read> grad_w: array<f32>;
@group(0) @binding(6) var<storage, read> weight: array<f32>;
@group(0) @binding(7) var<storage, read> mask_in: array<f32>;
@group(0) @binding(8) var<storage, read> y_in: array<f32>;
@group(0) @binding(9) var<storage, read_write> grad_logits: array<f32>;
@group(0) @binding(10) var<storage, read_write> weff_out: array<f32>;
// The frozen weight as packed f16 (weightStorage 'f16'; src/backend/f16.ts): two per u32 word,
// element 2k in the low half. Only the *_f16 entry points bind it (layout 'auto' strips it elsewhere).
@group(0) @binding(11) var<storage, read> weight_h: array<u32>;

// Weight element i from the packed f16 words, as f32 (exact; no shader-f16 feature needed).
fn weight_half(i: u32) -> f32 {
  let v = unpack2x16float(weight_h[i >> 1u]);
  return select(v.x, v.y, (i & 1u) == 1u);
}

fn flat(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * 64u; }

// Flat weight index of element k of group g (same arithmetic as elementIndex in layout.ts).
fn elem(g: u32, k: u32) -> u32 {
  let per_row = p.cols / M;
  let row = g / per_row;
  let col = (g % per_row) * M + k;
  if (p.in_out == 1u) { return col * p.rows + row; }
  return row * p.cols + col;
}

fn is_kept(v: u32, k: u32) -> bool { return ((v >> (M - 1u - k)) & 1u) == 1u; }

// The c-th candidate's mask is found by walking masks downward from 2^M − 1 and counting those
// with N ones. Callers walk it incrementally: next_candidate(v) = the next smaller mask with N
// ones (returns 0 past the last one). The loop is bounded by v itself (< 2^M ≤ 256).
fn next_candidate(v: u32) -> u32 {
  var w = v;
  for (var t = 0u; t < 256u && w > 0u; t++) {
    w = w - 1u;
    if (countOneBits(w) == N) { return w; }
  }
  return 0u;
}
fn first_candidate() -> u32 { return ((1u << N) - 1u) << (M - N); }

// Trap: WGSL only promises an ABSOLUTE error of 2^-21 for log() on [0.5, 2]. Gumbel noise needs
// −log(u) for u up to 1 − 2^-24 (value ≈ 6e-8: the builtin could return 0 → log(0) = −inf) and
// log(L) for L near 1 (g ≈ 0, then divided by τ = 0.05). On [0.5, 2] use the atanh series
// log(x) = 2·(s + s³/3 + s⁵/5 + …), s = (x−1)/(x+1) ∈ [−1/3, 1/3]; x − 1 is exact there
// (Sterbenz), and the terms through s^15 leave a relative error below 1e-9. Elsewhere the builtin
// is accurate to 3 ULP.
fn precise_log(x: f32) -> f32 {
  if (x < 0.5 || x > 2.0) { return log(x); }
  let s = (x - 1.0) / (x + 1.0);
  let s2 = s * s;
  var acc = 1.0 / 15.0;
  acc = acc * s2 + 1.0 / 13.0;
  acc = acc * s2 + 1.0 / 11.0;
  acc = acc * s2 + 1.0 / 9.0;
  acc = acc * s2 + 1.0 / 7.0;
  acc = acc * s2 + 1.0 / 5.0;
  acc = acc * s2 + 1.0 / 3.0;
  acc = acc * s2 + 1.0;
  return 2.0 * s * acc;
}

// Gumbel(0, 1) noise from element i of the counter stream: g = −log(−log u), u ∈ (0, 1) open.
fn gumbel(i: u32) -> f32 {
  let u = bits_to_open_unit(rng_bits(p.seed, p.stream, p.offset, i));
  return -precise_log(-precise_log(u));
}

// y = softmax((κπ + g)/τ) per group, written to y_out for the backward; returns m_k = Σ_c y_c S_ck.
fn sample_group(g: u32) -> array<f32, MAX_M> {
  let base = g * C;
  let nc = min(C, MAX_C);
  var z: array<f32, MAX_C>;
  var zmax = -3.0e38;
  for (var c = 0u; c < nc; c++) {
    z[c] = (p.kappa * logits[base + c] + gumbel(base + c)) / p.tau;
    zmax = max(zmax, z[c]);
  }
  var total = 0.0;
  for (var c = 0u; c < nc; c++) {
    z[c] = exp(z[c] - zmax);
    total += z[c];
  }
  var mk: array<f32, MAX_M>;
  for (var k = 0u; k < MAX_M; k++) { mk[k] = 0.0; }
  var v = first_candidate();
  for (var c = 0u; c < nc; c++) {
    let yc = z[c] / total;
    y_out[base + c] = yc;
    for (var k = 0u; k < M && k < MAX_M; k++) {
      if (is_kept(v, k)) { mk[k] += yc; }
    }
    v = next_candidate(v);
  }
  return mk;
}

// The soft mask m into the weight layout.
@compute @workgroup_size(64)
fn sample(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let g = flat(gid, nwg);
  if (g >= p.groups) { return; }
  let mk = sample_group(g);
  for (var k = 0u; k < M && k < MAX_M; k++) { mask_out[elem(g, k)] = mk[k]; }
}

// Fused forward: the soft mask m and the masked weight W ⊙ m in the same pass (the separate
// elementwise W ⊙ m pass, its dispatch and its second read of m are saved). The product is the
// same f32 multiply the separate pass does, so both paths give bit-identical W ⊙ m.
@compute @workgroup_size(64)
fn sample_masked(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let g = flat(gid, nwg);
  if (g >= p.groups) { return; }
  let mk = sample_group(g);
  for (var k = 0u; k < M && k < MAX_M; k++) {
    let i = elem(g, k);
    mask_out[i] = mk[k];
    weff_out[i] = weight[i] * mk[k];
  }
}

// sample_masked with the weight stored as packed f16: the same sample and the same f32 product.
@compute @workgroup_size(64)
fn sample_masked_f16(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let g = flat(gid, nwg);
  if (g >= p.groups) { return; }
  let mk = sample_group(g);
  for (var k = 0u; k < M && k < MAX_M; k++) {
    let i = elem(g, k);
    mask_out[i] = mk[k];
    weff_out[i] = weight_half(i) * mk[k];
  }
}

// ∂L/∂m_k = G_k w_k − 2λ w_k² m_k;  ∂L/∂y_c = Σ_k S_ck ∂L/∂m_k;
// ∂L/∂π_c = (κ/τ) · y_c (∂L/∂y_c − Σ_j y_j ∂L/∂y_j). With accumulate = 1 it adds into grad_logits.
@compute @workgroup_size(64)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let g = flat(gid, nwg);
  if (g >= p.groups) { return; }
  var dm: array<f32, MAX_M>;
  for (var k = 0u; k < M && k < MAX_M; k++) {
    let i = elem(g, k);
    let w = weight[i];
    dm[k] = grad_w[i] * w - 2.0 * p.lambda * w * w * mask_in[i];
  }
  logits_backward(g, dm);
}

// backward with the weight stored as packed f16: the same f32 arithmetic on the unpacked weight.
@compute @workgroup_size(64)
fn backward_f16(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let g = flat(gid, nwg);
  if (g >= p.groups) { return; }
  var dm: array<f32, MAX_M>;
  for (var k = 0u; k < M && k < MAX_M; k++) {
    let i = elem(g, k);
    let w = weight_half(i);
    dm[k] = grad_w[i] * w - 2.0 * p.lambda * w * w * mask_in[i];
  }
  logits_backward(g, dm);
}

// From ∂L/∂m of group g to its logits (both backward entry points).
fn logits_backward(g: u32, dm: array<f32, MAX_M>) {
  let base = g * C;
  let nc = min(C, MAX_C);
  var dy: array<f32, MAX_C>;
  var dot = 0.0;
  var v = first_candidate();
  for (var c = 0u; c < nc; c++) {
    var d = 0.0;
    for (var k = 0u; k < M && k < MAX_M; k++) {
      if (is_kept(v, k)) { d += dm[k]; }
    }
    dy[c] = d;
    dot += y_in[base + c] * d;
    v = next_candidate(v);
  }
  let scale = p.kappa / p.tau;
  for (var c = 0u; c < nc; c++) {
    let gr = scale * y_in[base + c] * (dy[c] - dot);
    if (p.accumulate == 1u) {
      grad_logits[base + c] = grad_logits[base + c] + gr;
    } else {
      grad_logits[base + c] = gr;
    }
  }
}

// Hard mask: the candidate at argmax π (lowest index on ties), as a 0/1 mask and the u32 choice.
@compute @workgroup_size(64)
fn hard(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let g = flat(gid, nwg);
  if (g >= p.groups) { return; }
  let base = g * C;
  let nc = min(C, MAX_C);
  var best = 0u;
  var best_v = first_candidate();
  var best_l = logits[base];
  var v = first_candidate();
  for (var c = 1u; c < nc; c++) {
    v = next_candidate(v);
    let l = logits[base + c];
    if (l > best_l) { best = c; best_l = l; best_v = v; }   // strict: ties keep the lower index
  }
  choice_out[g] = best;
  for (var k = 0u; k < M && k < MAX_M; k++) { mask_out[elem(g, k)] = select(0.0, 1.0, is_kept(best_v, k)); }
}
