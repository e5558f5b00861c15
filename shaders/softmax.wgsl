// Softmax over the last dim of a [rows, cols] tensor and its backward. One workgroup per row;
// reductions are fixed-order trees in workgroup memory (deterministic). Numerically stable: the row
// max is subtracted before exp, so exp never overflows.
struct Params { rows: u32, cols: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> p: Params;
// forward: a = x;  backward: a = y (the forward output)
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;


// A very negative finite f32 (not −inf: WGSL has no inf literal): the max identity for invocations with no column.
const LOWEST: f32 = -3.4e38;

@compute @workgroup_size(64)
fn softmax_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.rows) { return; } // uniform for the whole workgroup
  let base = r * p.cols;
  var m = LOWEST;
  for (var c = lid; c < p.cols; c += WG) { m = max(m, a[base + c]); }
  let mx = reduce_max(lid, m);
  var s = 0.0;
  for (var c = lid; c < p.cols; c += WG) {
    let ex = exp(a[base + c] - mx);
    out[base + c] = ex;
    s += ex;
  }
  let inv = 1.0 / reduce_sum(lid, s);
  // Each invocation rescales only the columns it wrote itself: no storage barrier needed.
  for (var c = lid; c < p.cols; c += WG) { out[base + c] = out[base + c] * inv; }
}

// dx = y ⊙ (dy − Σ dy ⊙ y)
@compute @workgroup_size(64)
fn softmax_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  var s = 0.0;
  for (var c = lid; c < p.cols; c += WG) { s += dy[base + c] * a[base + c]; }
  let dot = reduce_sum(lid, s);
  for (var c = lid; c < p.cols; c += WG) { out[base + c] = a[base + c] * (dy[base + c] - dot); }
}
