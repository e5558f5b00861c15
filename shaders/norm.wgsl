// LayerNorm over the last dim: x [rows, cols], gamma/beta [cols].
//   y = (x − mean) · rstd · gamma + beta,  rstd = 1/√(var + eps),  var biased (÷ cols), two-pass.
// One workgroup per row (forward, dx) or per column (dgamma/dbeta). Every reduction is a fixed-order
// tree in workgroup memory, so results are bit-for-bit deterministic run to run (no atomics).
// Rows beyond 65,535 fold into a 2-D grid: the row is wid.x + wid.y · nwg.x (see src/ops/grid.ts).

struct Params { rows: u32, cols: u32, eps: f32, pad: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
// mean/rstd are written by the forward and only read by the backward entry points; they stay
// read_write so one declaration serves both.
@group(0) @binding(5) var<storage, read_write> mean: array<f32>;
@group(0) @binding(6) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(7) var<storage, read> dy: array<f32>;
@group(0) @binding(8) var<storage, read_write> dx: array<f32>;
@group(0) @binding(9) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(10) var<storage, read_write> dbeta: array<f32>;


fn group_index(wid: vec3u, nwg: vec3u) -> u32 { return wid.x + wid.y * nwg.x; }

@compute @workgroup_size(64)
fn ln_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = group_index(wid, nwg);
  if (r >= p.rows) { return; } // uniform: the whole workgroup leaves together
  let base = r * p.cols;
  var s = 0.0;
  for (var c = lid; c < p.cols; c += WG) { s += x[base + c]; }
  let mu = reduce_sum(lid, s) / f32(p.cols);
  var v = 0.0;
  for (var c = lid; c < p.cols; c += WG) {
    let d = x[base + c] - mu;
    v += d * d;
  }
  let rs = inverseSqrt(reduce_sum(lid, v) / f32(p.cols) + p.eps);
  for (var c = lid; c < p.cols; c += WG) {
    y[base + c] = (x[base + c] - mu) * rs * gamma[c] + beta[c];
  }
  if (lid == 0u) {
    mean[r] = mu;
    rstd[r] = rs;
  }
}

// dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)),  g = dy ⊙ gamma,  x̂ = (x − mean) · rstd.
@compute @workgroup_size(64)
fn ln_backward_dx(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = group_index(wid, nwg);
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  let mu = mean[r];
  let rs = rstd[r];
  var sg = 0.0;
  var sgx = 0.0;
  for (var c = lid; c < p.cols; c += WG) {
    let g = dy[base + c] * gamma[c];
    sg += g;
    sgx += g * (x[base + c] - mu) * rs;
  }
  let n = f32(p.cols);
  let mg = reduce_sum(lid, sg) / n;
  let mgx = reduce_sum(lid, sgx) / n;
  for (var c = lid; c < p.cols; c += WG) {
    let g = dy[base + c] * gamma[c];
    let xh = (x[base + c] - mu) * rs;
    dx[base + c] = rs * (g - mg - xh * mgx);
  }
}

// dgamma[c] = Σ_r dy[r,c] · x̂[r,c],  dbeta[c] = Σ_r dy[r,c]: one workgroup per column, striding rows.
@compute @workgroup_size(64)
fn ln_param_grads(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = group_index(wid, nwg);
  if (c >= p.cols) { return; }
  var sgam = 0.0;
  var sbet = 0.0;
  for (var r = lid; r < p.rows; r += WG) {
    let i = r * p.cols + c;
    sgam += dy[i] * (x[i] - mean[r]) * rstd[r];
    sbet += dy[i];
  }
  let gsum = reduce_sum(lid, sgam);
  let bsum = reduce_sum(lid, sbet);
  if (lid == 0u) {
    dgamma[c] = gsum;
    dbeta[c] = bsum;
  }
}

// ---- One invocation per row (no workgroup memory, no barriers) ----
// On software adapters (SwiftShader) barriers dominate: for narrow rows (the lab's models, C ≤ 256)
// a serial loop per row measured several times faster than the workgroup-tree version above. The
// op picks by shape (src/ops/norm.ts). Same two-pass math, summed left to right.
@compute @workgroup_size(64)
fn ln_forward_row(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  var s = 0.0;
  for (var c = 0u; c < p.cols; c++) { s += x[base + c]; }
  let mu = s / f32(p.cols);
  var v = 0.0;
  for (var c = 0u; c < p.cols; c++) {
    let d = x[base + c] - mu;
    v += d * d;
  }
  let rs = inverseSqrt(v / f32(p.cols) + p.eps);
  for (var c = 0u; c < p.cols; c++) {
    y[base + c] = (x[base + c] - mu) * rs * gamma[c] + beta[c];
  }
  mean[r] = mu;
  rstd[r] = rs;
}

@compute @workgroup_size(64)
fn ln_backward_dx_row(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  let mu = mean[r];
  let rs = rstd[r];
  var sg = 0.0;
  var sgx = 0.0;
  for (var c = 0u; c < p.cols; c++) {
    let g = dy[base + c] * gamma[c];
    sg += g;
    sgx += g * (x[base + c] - mu) * rs;
  }
  let n = f32(p.cols);
  let mg = sg / n;
  let mgx = sgx / n;
  for (var c = 0u; c < p.cols; c++) {
    let g = dy[base + c] * gamma[c];
    let xh = (x[base + c] - mu) * rs;
    dx[base + c] = rs * (g - mg - xh * mgx);
  }
}
