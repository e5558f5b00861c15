// Attention as matmuls (the 'matmul' variant of src/ops/attention-matmul.ts): the products
// S = Q·Kᵀ, O = P·V and the backward's dV = Pᵀ·dO, dP = dO·Vᵀ, dQ = dS·K, dK = dSᵀ·Q run on the
// register-blocked matmul kernels (src/ops/matmul.ts) over the B·H heads as a batch. This module
// holds the row-wise parts around them:
//   attn_gather_heads   a strided slice of a [B, T, rowStride] tensor → a contiguous [B·H, T, D]
//                       (q, k or v of the packed qkv, or dout), so each head is one matrix;
//   attn_scatter_heads  the inverse (the output, or dq / dk / dv into dqkv);
//   attn_softmax_rows   in place on S: scale, causal mask, stable softmax → P (masked entries 0);
//   attn_ds_rows        in place on dP: dS = scale · P ⊙ (dP − Σ_j P dP) (masked entries 0).
// Each invocation owns one element (gather / scatter) or one row (softmax, dS): no barriers, no
// workgroup memory, which is what a CPU adapter runs well. Rows are flat indices over a 2-D grid
// (more than 65,535 workgroups fold into y; see src/ops/grid.ts).

struct Params {
  B: u32, T: u32, H: u32, D: u32,
  row_stride: u32, // floats per [B, T] position of the strided tensor (3C for qkv, C for out/dout)
  col_offset: u32, // first column of the slice (0, C or 2C within qkv)
  causal: u32,
  scale: f32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

const LOWEST: f32 = -3.4e38; // finite stand-in for −inf (max identity)

fn flat(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * WG; }

// The strided position of element (bh, t, d) of the contiguous per-head layout.
fn strided(bh: u32, t: u32, d: u32) -> u32 {
  let h = bh % p.H;
  let b = bh / p.H;
  return (b * p.T + t) * p.row_stride + p.col_offset + h * p.D + d;
}

@compute @workgroup_size(WG)
fn attn_gather_heads(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flat(gid, nwg);
  if (idx >= p.B * p.H * p.T * p.D) { return; }
  let d = idx % p.D;
  let t = (idx / p.D) % p.T;
  let bh = idx / (p.D * p.T);
  dst[idx] = src[strided(bh, t, d)];
}

@compute @workgroup_size(WG)
fn attn_scatter_heads(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flat(gid, nwg);
  if (idx >= p.B * p.H * p.T * p.D) { return; }
  let d = idx % p.D;
  let t = (idx / p.D) % p.T;
  let bh = idx / (p.D * p.T);
  dst[strided(bh, t, d)] = src[idx];
}

// Row r = (bh·T + i) of S [B·H, T, T]; query i sees keys j < nk (i + 1 when causal). Entries past
// nk are written 0 without being read: a key after i never reaches row i's probabilities.
@compute @workgroup_size(WG)
fn attn_softmax_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = flat(gid, nwg);
  if (row >= p.B * p.H * p.T) { return; }
  let i = row % p.T;
  let nk = select(p.T, i + 1u, p.causal != 0u);
  let o = row * p.T;
  var m = LOWEST;
  for (var j = 0u; j < nk; j++) { m = max(m, dst[o + j] * p.scale); }
  var sum = 0.0;
  for (var j = 0u; j < nk; j++) {
    let ex = exp(dst[o + j] * p.scale - m);
    dst[o + j] = ex;
    sum += ex;
  }
  let inv = 1.0 / sum;
  for (var j = 0u; j < p.T; j++) {
    if (j < nk) { dst[o + j] = dst[o + j] * inv; } else { dst[o + j] = 0.0; }
  }
}

// src = P, dst = dP (overwritten with dS, the score gradient times the 1/√D scale).
@compute @workgroup_size(WG)
fn attn_ds_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = flat(gid, nwg);
  if (row >= p.B * p.H * p.T) { return; }
  let i = row % p.T;
  let nk = select(p.T, i + 1u, p.causal != 0u);
  let o = row * p.T;
  var dot = 0.0;
  for (var j = 0u; j < nk; j++) { dot += src[o + j] * dst[o + j]; }
  for (var j = 0u; j < p.T; j++) {
    if (j < nk) { dst[o + j] = p.scale * src[o + j] * (dst[o + j] - dot); } else { dst[o + j] = 0.0; }
  }
}
