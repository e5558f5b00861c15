// Mean cross-entropy of logits [N, V] against u32 targets [N].
//   ce_rows:     one workgroup per row: lse = max + log Σ exp(x − max) (stable), rowLoss = lse − x[target].
//   ce_mean:     one workgroup: loss[0] = Σ rowLoss / N, fixed-order tree (deterministic).
//   ce_backward: one invocation per logit: dlogits = dloss[0] / N · (exp(x − lse) − [c == target]).
// Out-of-range targets: WGSL has no way to raise an error, so a target ≥ V is clamped to V − 1
// (never an out-of-bounds read). The CPU twin throws instead; validate targets on the host.
struct Params { N: u32, V: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<u32>;
@group(0) @binding(3) var<storage, read_write> lse: array<f32>;
@group(0) @binding(4) var<storage, read_write> row_loss: array<f32>;
@group(0) @binding(5) var<storage, read_write> loss: array<f32>;
@group(0) @binding(6) var<storage, read> dloss: array<f32>;
@group(0) @binding(7) var<storage, read_write> dlogits: array<f32>;

const LOWEST: f32 = -3.4e38; // finite stand-in for −inf (max identity)

fn target_of(r: u32) -> u32 { return min(targets[r], p.V - 1u); }

@compute @workgroup_size(64)
fn ce_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.N) { return; } // uniform for the whole workgroup
  let base = r * p.V;
  var m = LOWEST;
  for (var c = lid; c < p.V; c += WG) { m = max(m, logits[base + c]); }
  let mx = reduce_max(lid, m);
  var s = 0.0;
  for (var c = lid; c < p.V; c += WG) { s += exp(logits[base + c] - mx); }
  let l = mx + log(reduce_sum(lid, s));
  if (lid == 0u) {
    lse[r] = l;
    row_loss[r] = l - logits[base + target_of(r)];
  }
}

@compute @workgroup_size(64)
fn ce_mean(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var r = lid; r < p.N; r += WG) { s += row_loss[r]; }
  let total = reduce_sum(lid, s);
  if (lid == 0u) { loss[0] = total / f32(p.N); }
}

@compute @workgroup_size(64)
fn ce_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.N * p.V) { return; }
  let r = i / p.V;
  let c = i % p.V;
  let onehot = select(0.0, 1.0, c == target_of(r));
  dlogits[i] = dloss[0] / f32(p.N) * (exp(logits[i] - lse[r]) - onehot);
}
