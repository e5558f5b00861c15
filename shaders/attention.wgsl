// Fused multi-head self-attention on GPT-2's packed qkv [B, T, 3C]: q = cols [0, C), k = [C, 2C),
// v = [2C, 3C); head h uses cols h·D .. (h+1)·D of each, D = C / H. Scores scale 1/√D; causal masks
// keys j > i. probs [B, H, T, T] (masked entries written as 0) are saved for the backward.
//
// forward:        one workgroup per query row (b, h, i): scores → stable softmax → out row.
// backward_ds:    one workgroup per row: dS[i, j] = P[i, j] · (dP[i, j] − Σ_j P[i, j] dP[i, j]),
//                 dP[i, j] = dout_i · v_j, into a scratch [B, H, T, T].
// backward_dqkv:  one invocation per element of dqkv; each sums over T in a fixed order (no
//                 atomics, so the result is deterministic):
//                 dq_i = s Σ_j dS[i,j] k_j,  dk_j = s Σ_i dS[i,j] q_i,  dv_j = Σ_i P[i,j] dout_i.
// Rows are wid.x + wid.y · nwg.x (2-D grid past 65,535). T is not limited by the workgroup size:
// every loop over keys strides by WG; scores live in global memory (probs), not workgroup memory.

struct Params { B: u32, T: u32, C: u32, H: u32, D: u32, causal: u32, scale: f32, pad: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read_write> probs: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> ds: array<f32>;
@group(0) @binding(6) var<storage, read_write> dqkv: array<f32>;

const LOWEST: f32 = -3.4e38; // finite stand-in for −inf (max identity)

// Number of keys query i sees: i + 1 when causal, else T (always ≥ 1).
fn visible(i: u32) -> u32 { return select(p.T, i + 1u, p.causal != 0u); }

@compute @workgroup_size(64)
fn attn_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x; // ((b·H + h)·T + i)
  if (row >= p.B * p.H * p.T) { return; } // uniform: the whole workgroup leaves
  let i = row % p.T;
  let bh = row / p.T;
  let h = bh % p.H;
  let b = bh / p.H;
  let C3 = 3u * p.C;
  let q0 = (b * p.T + i) * C3 + h * p.D;
  let k0 = b * p.T * C3 + p.C + h * p.D; // k_j[d] = qkv[k0 + j·3C + d]
  let v0 = k0 + p.C;
  let nk = visible(i);
  let prow = row * p.T;

  var m = LOWEST;
  for (var j = lid; j < nk; j += WG) {
    var s = 0.0;
    for (var d = 0u; d < p.D; d++) { s += qkv[q0 + d] * qkv[k0 + j * C3 + d]; }
    s = s * p.scale;
    probs[prow + j] = s; // raw score for now; this invocation rewrites it below
    m = max(m, s);
  }
  let mx = reduce_max(lid, m);
  var sum = 0.0;
  for (var j = lid; j < nk; j += WG) {
    let ex = exp(probs[prow + j] - mx);
    probs[prow + j] = ex;
    sum += ex;
  }
  let inv = 1.0 / reduce_sum(lid, sum);
  for (var j = lid; j < p.T; j += WG) {
    if (j < nk) { probs[prow + j] = probs[prow + j] * inv; } else { probs[prow + j] = 0.0; }
  }
  // The output loop reads probabilities written by other invocations of this workgroup:
  // storageBarrier makes those storage writes visible (workgroupBarrier covers only workgroup memory).
  storageBarrier();
  let o0 = (b * p.T + i) * p.C + h * p.D;
  for (var d = lid; d < p.D; d += WG) {
    var acc = 0.0;
    for (var j = 0u; j < nk; j++) { acc += probs[prow + j] * qkv[v0 + j * C3 + d]; }
    out[o0 + d] = acc;
  }
}

@compute @workgroup_size(64)
fn attn_backward_ds(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.B * p.H * p.T) { return; }
  let i = row % p.T;
  let bh = row / p.T;
  let h = bh % p.H;
  let b = bh / p.H;
  let C3 = 3u * p.C;
  let v0 = b * p.T * C3 + 2u * p.C + h * p.D;
  let g0 = (b * p.T + i) * p.C + h * p.D;
  let nk = visible(i);
  let prow = row * p.T;
  var acc = 0.0;
  for (var j = lid; j < nk; j += WG) {
    var dp = 0.0;
    for (var d = 0u; d < p.D; d++) { dp += dout[g0 + d] * qkv[v0 + j * C3 + d]; }
    ds[prow + j] = dp; // dP for now; rewritten below by this same invocation
    acc += probs[prow + j] * dp;
  }
  let dot = reduce_sum(lid, acc);
  for (var j = lid; j < p.T; j += WG) {
    if (j < nk) { ds[prow + j] = probs[prow + j] * (ds[prow + j] - dot); } else { ds[prow + j] = 0.0; }
  }
}

@compute @workgroup_size(64)
fn attn_backward_dqkv(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = gid.x + gid.y * nwg.x * WG;
  let C3 = 3u * p.C;
  if (idx >= p.B * p.T * C3) { return; }
  let col = idx % C3;
  let t = (idx / C3) % p.T;
  let b = idx / (C3 * p.T);
  let part = col / p.C; // 0 = q, 1 = k, 2 = v
  let h = (col % p.C) / p.D;
  let d = col % p.D;
  let pbase = (b * p.H + h) * p.T * p.T;
  let seq0 = b * p.T * C3 + h * p.D + d; // + j·3C (+ C for k) addresses q/k of position j
  // Queries that see key t: i ≥ t when causal, all i otherwise.
  let i0 = select(0u, t, p.causal != 0u);
  var acc = 0.0;
  if (part == 0u) {
    let nk = visible(t);
    for (var j = 0u; j < nk; j++) { acc += ds[pbase + t * p.T + j] * qkv[seq0 + j * C3 + p.C]; }
    acc = acc * p.scale;
  } else if (part == 1u) {
    for (var i = i0; i < p.T; i++) { acc += ds[pbase + i * p.T + t] * qkv[seq0 + i * C3]; }
    acc = acc * p.scale;
  } else {
    let g0 = b * p.T * p.C + h * p.D + d;
    for (var i = i0; i < p.T; i++) { acc += probs[pbase + i * p.T + t] * dout[g0 + i * p.C]; }
  }
  dqkv[idx] = acc;
}

// ---- One invocation per query row (no workgroup memory, no barriers) ----
// For short contexts (the lab's T ≤ 512) a serial loop per row beats the workgroup version above on
// software adapters, where barriers dominate; src/ops/attention.ts picks by shape. Same math: raw
// scores into probs, max, exp and sum, normalise, then the output row.
@compute @workgroup_size(64)
fn attn_forward_row(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.B * p.H * p.T) { return; }
  let i = row % p.T;
  let bh = row / p.T;
  let h = bh % p.H;
  let b = bh / p.H;
  let C3 = 3u * p.C;
  let q0 = (b * p.T + i) * C3 + h * p.D;
  let k0 = b * p.T * C3 + p.C + h * p.D;
  let v0 = k0 + p.C;
  let nk = visible(i);
  let prow = row * p.T;
  var m = LOWEST;
  for (var j = 0u; j < nk; j++) {
    var s = 0.0;
    for (var d = 0u; d < p.D; d++) { s += qkv[q0 + d] * qkv[k0 + j * C3 + d]; }
    s = s * p.scale;
    probs[prow + j] = s;
    m = max(m, s);
  }
  var sum = 0.0;
  for (var j = 0u; j < nk; j++) {
    let ex = exp(probs[prow + j] - m);
    probs[prow + j] = ex;
    sum += ex;
  }
  let inv = 1.0 / sum;
  for (var j = 0u; j < p.T; j++) {
    if (j < nk) { probs[prow + j] = probs[prow + j] * inv; } else { probs[prow + j] = 0.0; }
  }
  let o0 = (b * p.T + i) * p.C + h * p.D;
  for (var d = 0u; d < p.D; d++) {
    var acc = 0.0;
    for (var j = 0u; j < nk; j++) { acc += probs[prow + j] * qkv[v0 + j * C3 + d]; }
    out[o0 + d] = acc;
  }
}

@compute @workgroup_size(64)
fn attn_backward_ds_row(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.B * p.H * p.T) { return; }
  let i = row % p.T;
  let bh = row / p.T;
  let h = bh % p.H;
  let b = bh / p.H;
  let C3 = 3u * p.C;
  let v0 = b * p.T * C3 + 2u * p.C + h * p.D;
  let g0 = (b * p.T + i) * p.C + h * p.D;
  let nk = visible(i);
  let prow = row * p.T;
  var dot = 0.0;
  for (var j = 0u; j < nk; j++) {
    var dp = 0.0;
    for (var d = 0u; d < p.D; d++) { dp += dout[g0 + d] * qkv[v0 + j * C3 + d]; }
    ds[prow + j] = dp;
    dot += probs[prow + j] * dp;
  }
  for (var j = 0u; j < p.T; j++) {
    if (j < nk) { ds[prow + j] = probs[prow + j] * (ds[prow + j] - dot); } else { ds[prow + j] = 0.0; }
  }
}

// One invocation per (b, h, t) computes the whole head slice of dq_t, dk_t and dv_t, keeping D
// accumulators of each in private memory (so D ≤ MAX_D_ROW; the op falls back above that). Each ds /
// probs element is read once per output row instead of once per output element.
const MAX_D_ROW: u32 = 64u;
@compute @workgroup_size(64)
fn attn_backward_dqkv_row(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.B * p.H * p.T || p.D > MAX_D_ROW) { return; }
  let t = row % p.T;
  let bh = row / p.T;
  let h = bh % p.H;
  let b = bh / p.H;
  let C3 = 3u * p.C;
  let pbase = bh * p.T * p.T;
  let seq = b * p.T * C3 + h * p.D; // q of position j at seq + j·3C, k at + C, v at + 2C
  var dq: array<f32, 64>;
  var dk: array<f32, 64>;
  var dv: array<f32, 64>;
  for (var d = 0u; d < p.D; d++) { dq[d] = 0.0; dk[d] = 0.0; dv[d] = 0.0; }
  // dq_t = s Σ_{j visible to t} dS[t, j] k_j
  let nk = visible(t);
  for (var j = 0u; j < nk; j++) {
    let w = p.scale * ds[pbase + t * p.T + j];
    let kj = seq + j * C3 + p.C;
    for (var d = 0u; d < p.D; d++) { dq[d] += w * qkv[kj + d]; }
  }
  // dk_t = s Σ_{i that see t} dS[i, t] q_i ;  dv_t = Σ_i P[i, t] dout_i
  let i0 = select(0u, t, p.causal != 0u);
  for (var i = i0; i < p.T; i++) {
    let ws = p.scale * ds[pbase + i * p.T + t];
    let wp = probs[pbase + i * p.T + t];
    let qi = seq + i * C3;
    let gi = (b * p.T + i) * p.C + h * p.D;
    for (var d = 0u; d < p.D; d++) {
      dk[d] += ws * qkv[qi + d];
      dv[d] += wp * dout[gi + d];
    }
  }
  let o = (b * p.T + t) * C3 + h * p.D;
  for (var d = 0u; d < p.D; d++) {
    dqkv[o + d] = dq[d];
    dqkv[o + p.C + d] = dk[d];
    dqkv[o + 2u * p.C + d] = dv[d];
  }
}
