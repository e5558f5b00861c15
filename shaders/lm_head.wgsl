// Fused LM head + mean cross-entropy over a vocabulary too large for one logits tensor
// (src/ops/lm-head.ts). The host computes one chunk of logits at a time, z [N, vc] = x · W[v0 : v0+vc]ᵀ
// (row stride vc), with the matmul op; these kernels consume it:
//   lm_chunk_lse: one workgroup per row; folds the chunk into the row's running (max m, Σ exp(z − m))
//                 and picks up the target logit when the target lies in the chunk. v0 == 0 starts a row.
//   lm_finish:    one workgroup: lse = m + log s per row, loss[0] = Σ (lse − z_target) / N (fixed-order tree).
//   lm_dlogits:   one invocation per element, in place: z ← dloss[0] / N · (exp(z − lse) − [v0 + j == target]).
// Out-of-range targets: WGSL cannot raise, so a target ≥ V is clamped to V − 1 (the CPU twin throws).
struct Params { N: u32, V: u32, v0: u32, vc: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> z: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<u32>;
@group(0) @binding(3) var<storage, read_write> run_max: array<f32>;
@group(0) @binding(4) var<storage, read_write> run_sum: array<f32>;
@group(0) @binding(5) var<storage, read_write> z_target: array<f32>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;
@group(0) @binding(7) var<storage, read_write> loss: array<f32>;
@group(0) @binding(8) var<storage, read> dloss: array<f32>;

const LOWEST: f32 = -3.4e38; // finite stand-in for −inf (max identity)

fn target_of(r: u32) -> u32 { return min(targets[r], p.V - 1u); }

@compute @workgroup_size(64)
fn lm_chunk_lse(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.N) { return; } // uniform for the whole workgroup (the reductions below hold barriers)
  let base = r * p.vc;
  var mx = LOWEST;
  for (var c = lid; c < p.vc; c += WG) { mx = max(mx, z[base + c]); }
  let cm = reduce_max(lid, mx);
  var s = 0.0;
  for (var c = lid; c < p.vc; c += WG) { s += exp(z[base + c] - cm); }
  let cs = reduce_sum(lid, s);
  if (lid == 0u) {
    if (p.v0 == 0u) {
      run_max[r] = cm;
      run_sum[r] = cs;
    } else {
      // Rescale both sums to the new max: each factor is exp(≤ 0), so nothing overflows.
      let m = run_max[r];
      let nm = max(m, cm);
      run_sum[r] = run_sum[r] * exp(m - nm) + cs * exp(cm - nm);
      run_max[r] = nm;
    }
    let t = target_of(r);
    if (t >= p.v0 && t < p.v0 + p.vc) { z_target[r] = z[base + t - p.v0]; }
  }
}

@compute @workgroup_size(64)
fn lm_finish(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var r = lid; r < p.N; r += WG) {
    let l = run_max[r] + log(run_sum[r]);
    lse[r] = l;
    acc += l - z_target[r];
  }
  let total = reduce_sum(lid, acc);
  if (lid == 0u) { loss[0] = total / f32(p.N); }
}

@compute @workgroup_size(64)
fn lm_dlogits(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.N * p.vc) { return; }
  let r = i / p.vc;
  let onehot = select(0.0, 1.0, p.v0 + i % p.vc == target_of(r));
  z[i] = dloss[0] / f32(p.N) * (exp(z[i] - lse[r]) - onehot);
}
