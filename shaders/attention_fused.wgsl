// Attention in one pass (FlashAttention-style), on the same packed qkv [B, T, 3C] as attention.wgsl:
// q = cols [0, C), k = [C, 2C), v = [2C, 3C); head h uses cols h·D .. (h+1)·D, D = C / H; scores
// scale s = 1/√D; causal: query i sees keys j ≤ i. No T × T matrix is written: the forward keeps a
// running max m and sum l per query row (online softmax) and saves only lse = m + log l [B, H, T].
//
// Not standalone: src/ops/attention-fused.ts prepends the sizes below, written from FUSED_ATTENTION
// in that file (one source for the sizes and the workgroup bytes the TS side checks):
//   FA_ROWS   invocations per workgroup = query rows (forward, dq) or key rows (dk/dv) per workgroup
//   FA_KV     floats of the staging block: two operands of p.bc rows × D each (K and V, or Q and dO)
//   FA_MAXBC  the most rows per staged block (p.bc ≤ FA_MAXBC, chosen by the host from D)
//   FA_MAXD   the head-dim tier (16, 32, 64 or 128): private accumulators of FA_MAXD floats, D ≤ FA_MAXD
//
// fa_forward      one workgroup per (b·H + h, block of FA_ROWS query rows), one invocation per row:
//                 q and the output accumulator in private memory; per block of p.bc keys, K and V are
//                 staged in workgroup memory, the row's scores go to fa_s, the block max rescales
//                 (o, l) once, then o += Σ_j e^(s_j − m) v_j. out = o / l.
// fa_backward_dq  the same tiling: per row, delta_i = dO_i · O_i (= Σ_j P_ij dP_ij, written for the
//                 next kernel), then per key P_ij = e^(s_ij − lse_i) (recomputed), dP_ij = dO_i · v_j,
//                 dS_ij = P_ij (dP_ij − delta_i), dq_i = s Σ_j dS_ij k_j.
// fa_backward_dkdv one workgroup per (b·H + h, block of FA_ROWS keys), one invocation per key j; per
//                 block of p.bc queries, Q and dO are staged (with lse and delta):
//                 dv_j = Σ_i P_ij dO_i, dk_j = s Σ_i dS_ij q_i.
// Each output element is owned by exactly one invocation (dq rows by query, dk/dv rows by key), so the
// backward needs no atomics and sums in a fixed order (deterministic). dq and dk/dv are different
// columns of dqkv; the two dispatches run in order, so dkdv reads the delta dq wrote.
//
// Causal: a query block's key loop stops after its last row's last visible key, and the dk/dv query
// loop starts at the key block's first key: blocks wholly above the diagonal are never loaded.
// WebGPU traps: workgroupBarrier must be reached by every invocation (uniform control flow), so no
// invocation returns early: loop bounds that contain a barrier depend only on uniforms and
// workgroup_id, and rows past T (or a workgroup past the grid) run the loops with their work guarded
// off. Workgroups are wid.x + wid.y · nwg.x (a 2-D grid past 65,535).

struct Params { B: u32, T: u32, C: u32, H: u32, D: u32, causal: u32, scale: f32, bc: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
@group(0) @binding(5) var<storage, read_write> delta: array<f32>;
@group(0) @binding(6) var<storage, read_write> dqkv: array<f32>;

const LOWEST: f32 = -3.4e38; // finite stand-in for −inf: exp(LOWEST − m) = 0 with no inf − inf = NaN

// NaN by its bits. Trap: WGSL lets implementations assume no NaN, and SwiftShader's max() drops a NaN
// operand and its exp(NaN) is 0, so a NaN score would vanish from the online softmax (or turn into
// ±inf through log 0). The bit test is integer arithmetic, which no fast-math folds away; a row
// with a NaN score gets a NaN output and lse, as the twin's (and the row kernels') do.
fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
// A NaN made at run time (a constant NaN is a shader-creation error): p.T − p.T is 0.
fn nan() -> f32 { return bitcast<f32>(0x7fc00000u + p.T - p.T); }

// Staged rows: operand 0 at [0, bc·D), operand 1 at [bc·D, 2·bc·D), row r at r·D.
var<workgroup> fa_kv: array<f32, FA_KV>;
// Forward scores of the current key block: fa_s[j · FA_ROWS + lid] (only invocation lid touches its
// column, so no barrier guards it; consecutive lid hit consecutive banks).
var<workgroup> fa_s: array<f32, FA_ROWS * FA_MAXBC>;
// dk/dv: lse and delta of the staged queries.
var<workgroup> fa_r: array<f32, 2u * FA_MAXBC>;

struct Tile { bh: u32, blk: u32, live: bool }

// The workgroup's (b·H + h, row block); live = false for the padding of a 2-D grid or when the
// host's sizes do not fit the arrays (then nothing is written). Uniform: workgroup_id and uniforms.
fn tile(wid: vec3u, nwg: vec3u) -> Tile {
  let nblk = (p.T + FA_ROWS - 1u) / FA_ROWS;
  let w = wid.x + wid.y * nwg.x;
  let fits = p.D <= FA_MAXD && p.bc >= 1u && p.bc <= FA_MAXBC && 2u * p.bc * p.D <= FA_KV;
  return Tile(w / nblk, w % nblk, fits && w < p.B * p.H * nblk);
}

// Index of position 0, head h, part (0 q, 1 k, 2 v) in qkv; position t adds t·3C.
fn qkv_base(bh: u32, part: u32) -> u32 {
  return (bh / p.H) * p.T * 3u * p.C + part * p.C + (bh % p.H) * p.D;
}

// Index of position 0, head h in a [B, T, C] tensor (out, dout); position t adds t·C.
fn row_base(bh: u32) -> u32 { return (bh / p.H) * p.T * p.C + (bh % p.H) * p.D; }

// Keys row i sees (1 ≤ · ≤ T).
fn visible(i: u32) -> u32 { return select(p.T, i + 1u, p.causal != 0u); }

// Keys a query block needs: up to its last row's last visible key (uniform).
fn keys_end(t: Tile) -> u32 {
  if (!t.live) { return 0u; }
  return select(p.T, min(p.T, (t.blk + 1u) * FA_ROWS), p.causal != 0u);
}

// Stage rows r0 .. r0 + n − 1 of one qkv part (base from qkv_base) as operand `op` (consecutive
// invocations read consecutive floats of a row: coalesced).
fn stage_qkv(op: u32, base: u32, r0: u32, n: u32, lid: u32) {
  let o = op * p.bc * p.D;
  for (var e = lid; e < n * p.D; e += FA_ROWS) {
    fa_kv[o + e] = qkv[base + (r0 + e / p.D) * 3u * p.C + e % p.D];
  }
}

fn stage_dout(op: u32, base: u32, r0: u32, n: u32, lid: u32) {
  let o = op * p.bc * p.D;
  for (var e = lid; e < n * p.D; e += FA_ROWS) {
    fa_kv[o + e] = dout[base + (r0 + e / p.D) * p.C + e % p.D];
  }
}

// Stage keys k0 .. min(k0 + bc, kend) − 1 (K as operand 0, V as 1) and wait for the whole block;
// returns how many of them a row seeing nk keys sees. Call from uniform control flow (a barrier).
fn stage_keys(bh: u32, k0: u32, kend: u32, nk: u32, lid: u32) -> u32 {
  let n = min(p.bc, kend - k0);
  stage_qkv(0u, qkv_base(bh, 1u), k0, n, lid);
  stage_qkv(1u, qkv_base(bh, 2u), k0, n, lid);
  workgroupBarrier();
  return select(0u, min(n, nk - k0), nk > k0);
}

// Σ_d a[d] · staged operand `op`, row r.
fn dot_staged(a: ptr<function, array<f32, FA_MAXD>>, op: u32, r: u32) -> f32 {
  let o = op * p.bc * p.D + r * p.D;
  var s = 0.0;
  for (var d = 0u; d < p.D; d++) { s += (*a)[d] * fa_kv[o + d]; }
  return s;
}

@compute @workgroup_size(FA_ROWS)
fn fa_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = tile(wid, nwg);
  let i = t.blk * FA_ROWS + lid;
  let own = t.live && i < p.T;
  let qrow = qkv_base(t.bh, 0u) + i * 3u * p.C;
  var q: array<f32, FA_MAXD>;
  var o: array<f32, FA_MAXD>;
  for (var d = 0u; d < p.D && own; d++) { q[d] = qkv[qrow + d]; o[d] = 0.0; }
  let nk = select(0u, visible(i), own);
  let kend = keys_end(t);
  var m = LOWEST;
  var l = 0.0;
  var bad = false; // a NaN score seen
  for (var k0 = 0u; k0 < kend; k0 += p.bc) {
    let nj = stage_keys(t.bh, k0, kend, nk, lid);
    var mb = m;
    for (var j = 0u; j < nj; j++) {
      let s = dot_staged(&q, 0u, j) * p.scale;
      fa_s[j * FA_ROWS + lid] = s;
      mb = max(mb, s);
      bad = bad || is_nan(s);
    }
    if (nj > 0u) {
      // rescale what the earlier blocks summed to the new max once per block, not per key
      let alpha = exp(m - mb);
      l = l * alpha;
      for (var d = 0u; d < p.D; d++) { o[d] = o[d] * alpha; }
      for (var j = 0u; j < nj; j++) {
        let pj = exp(fa_s[j * FA_ROWS + lid] - mb);
        l += pj;
        let v = p.bc * p.D + j * p.D;
        for (var d = 0u; d < p.D; d++) { o[d] += pj * fa_kv[v + d]; }
      }
      m = mb;
    }
    // the next block's staging overwrites fa_kv: every row must be done reading it
    workgroupBarrier();
  }
  if (own) {
    let inv = select(1.0 / l, nan(), bad);
    let orow = row_base(t.bh) + i * p.C;
    for (var d = 0u; d < p.D; d++) { out[orow + d] = o[d] * inv; }
    lse[t.bh * p.T + i] = select(m + log(l), nan(), bad);
  }
}

// P_ij from the score and the row's lse; NaN when either is (exp(NaN) is 0 on SwiftShader, see is_nan).
fn recompute_p(s: f32, lse_i: f32) -> f32 { return select(exp(s - lse_i), nan(), is_nan(s) || is_nan(lse_i)); }

@compute @workgroup_size(FA_ROWS)
fn fa_backward_dq(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = tile(wid, nwg);
  let i = t.blk * FA_ROWS + lid;
  let own = t.live && i < p.T;
  let qrow = qkv_base(t.bh, 0u) + i * 3u * p.C;
  let grow = row_base(t.bh) + i * p.C;
  var q: array<f32, FA_MAXD>;
  var g: array<f32, FA_MAXD>;
  var dq: array<f32, FA_MAXD>;
  var dl = 0.0;
  var li = 0.0;
  if (own) {
    for (var d = 0u; d < p.D; d++) {
      q[d] = qkv[qrow + d];
      g[d] = dout[grow + d];
      dq[d] = 0.0;
      dl += g[d] * out[grow + d];
    }
    delta[t.bh * p.T + i] = dl;
    li = lse[t.bh * p.T + i];
  }
  let nk = select(0u, visible(i), own);
  let kend = keys_end(t);
  for (var k0 = 0u; k0 < kend; k0 += p.bc) {
    let nj = stage_keys(t.bh, k0, kend, nk, lid);
    for (var j = 0u; j < nj; j++) {
      let pij = recompute_p(dot_staged(&q, 0u, j) * p.scale, li);
      let ds = pij * (dot_staged(&g, 1u, j) - dl);
      let kj = j * p.D;
      for (var d = 0u; d < p.D; d++) { dq[d] += ds * fa_kv[kj + d]; }
    }
    workgroupBarrier();
  }
  if (own) {
    for (var d = 0u; d < p.D; d++) { dqkv[qrow + d] = dq[d] * p.scale; }
  }
}

@compute @workgroup_size(FA_ROWS)
fn fa_backward_dkdv(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = tile(wid, nwg);
  let j = t.blk * FA_ROWS + lid; // this invocation's key
  let own = t.live && j < p.T;
  let krow = qkv_base(t.bh, 1u) + j * 3u * p.C;
  var k: array<f32, FA_MAXD>;
  var v: array<f32, FA_MAXD>;
  var dk: array<f32, FA_MAXD>;
  var dv: array<f32, FA_MAXD>;
  for (var d = 0u; d < p.D && own; d++) {
    k[d] = qkv[krow + d];
    v[d] = qkv[krow + p.C + d];
    dk[d] = 0.0;
    dv[d] = 0.0;
  }
  let causal = p.causal != 0u;
  // queries before the key block's first key see none of its keys (causal): start there
  let qbeg = select(select(0u, t.blk * FA_ROWS, causal), p.T, !t.live);
  let r0 = t.bh * p.T;
  for (var i0 = qbeg; i0 < p.T; i0 += p.bc) {
    let n = min(p.bc, p.T - i0);
    stage_qkv(0u, qkv_base(t.bh, 0u), i0, n, lid);
    stage_dout(1u, row_base(t.bh), i0, n, lid);
    for (var r = lid; r < n; r += FA_ROWS) {
      fa_r[r] = lse[r0 + i0 + r];
      fa_r[FA_MAXBC + r] = delta[r0 + i0 + r];
    }
    workgroupBarrier();
    for (var r = 0u; r < n && own; r++) {
      if (causal && i0 + r < j) { continue; } // query i0 + r does not see key j
      let pij = recompute_p(dot_staged(&k, 0u, r) * p.scale, fa_r[r]);
      let ds = pij * (dot_staged(&v, 1u, r) - fa_r[FA_MAXBC + r]);
      let qr = r * p.D;
      let gr = p.bc * p.D + r * p.D;
      for (var d = 0u; d < p.D; d++) {
        dv[d] += pij * fa_kv[gr + d];
        dk[d] += ds * fa_kv[qr + d];
      }
    }
    workgroupBarrier();
  }
  if (own) {
    for (var d = 0u; d < p.D; d++) {
      dqkv[krow + d] = dk[d] * p.scale;
      dqkv[krow + p.C + d] = dv[d];
    }
  }
}
