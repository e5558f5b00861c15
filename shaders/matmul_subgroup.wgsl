// matmul_subgroup: a register-blocked matmul for real GPUs that shares A across a subgroup's lanes
// with subgroupShuffle instead of workgroup memory and barriers. Not standalone, and in a module of
// its own: src/ops/matmul-subgroup.ts writes `enable subgroups;`, then shaders/matmul.wgsl (Params
// `p`, the bindings `a`, `b`, `bias`, `out`, `bmask`, the override flags TRANS_A/TRANS_B/HAS_BIAS/
// HAS_MASK, bias_at and load_b_at come from there), then the SG_* sizes below, then this file. A
// module with that directive fails to compile on a device without the `subgroups` feature, so it is
// never part of MATMUL_WGSL, and the op refuses this variant on such a device before compiling it.
//   SG_WG    invocations per workgroup, one dimension (128: a multiple of every subgroup size; an
//            override, so a test can launch partial subgroups)
//   SG_ROWS  output rows per workgroup, shared by all of its invocations (16)
//   SG_COLS  output columns per invocation, SG_WG apart (4: a workgroup covers 16 × 512 outputs)
//
// Workgroup (x, y, z) owns rows m0 = 16·y .. m0+15 and columns 512·x .. 512·x+511 of out[z];
// invocation li owns the 16 rows × columns 512·x + li + 128·j (j < 4): 16 vec4 accumulators, 64
// FMAs per step of K. Consecutive invocations own consecutive columns, so B's loads (row-major B)
// and the stores are coalesced.
//
// The rows belong to the whole workgroup, not to a subgroup: every lane of every subgroup needs the
// same A[m0..m0+15, k]. Per chunk of K as long as the subgroup, lane l loads A[m0..m0+15, k0 + l]
// (16 loads, coalesced along k for a row-major A) and keeps them in 4 vec4 registers; then for each
// k0 + j of the chunk every lane takes lane j's 16 values with subgroupShuffle (4 vec4 shuffles) and
// loads its own 4 values of B ⊙ mask. Because the rows do not depend on which invocations form a
// subgroup, the kernel is correct for any subgroup size (SwiftShader 4, Intel 8–32, NVIDIA and
// Apple 32, AMD 32/64, Qualcomm 64/128), any assignment of invocations to subgroups and partial
// subgroups (below): only subgroup_invocation_id, subgroup_size and a ballot are used, never a guess
// at the subgroup's position in the workgroup.
//
// Subgroup traps, and how this kernel avoids them:
// - A shuffle from an inactive lane returns an indeterminate value. No invocation returns early (a
//   lane that left before the K loop would leave a hole in the chunk that every other lane reads):
//   ragged edges are handled as in the blocked kernels, rows ≥ M and columns ≥ N clamped to the last
//   valid one for the loads and not stored; a lane whose k0 + l ≥ K loads a clamped (valid) address
//   and its values are never read. SG_WG = 128 is a multiple of every subgroup size WebGPU allows
//   (powers of two, 4..128), so in practice every subgroup is full — but WebGPU does not promise it
//   (a subgroup may be launched with fewer lanes than subgroup_size). So the kernel checks, once:
//   a subgroup whose ballot counts fewer than subgroup_size lanes (`full` false, the same for all its
//   lanes) loads each A value itself instead of using the shuffled one. The shuffles still run there:
//   only the loads sit under `if (!full)`, because `full` is not uniform for WGSL (the next point).
// - WGSL's uniformity analysis rejects a subgroup builtin in non-uniform control flow (diagnostic
//   `subgroup_uniformity`, an error by default). Both loops are uniform: the outer bound is the
//   uniform p.k, the step and the inner bound use subgroup_size, which Tint treats as uniform in a
//   compute shader, and p.k - k0 (the last chunk is shorter, so no k ≥ K is ever multiplied — no
//   0·Inf = NaN from padding). The guards are clamps and the stores' conditions, after the loop;
//   the one branch inside it (`!full`) holds loads only.
// - subgroupShuffle's id is the loop counter j < chunk ≤ subgroup_size: a lane of a full subgroup
//   (in a partial one the result may be indeterminate, and is replaced by the load above).
// On SwiftShader (a CPU adapter, 4 lanes) this is not expected to win; it is never chosen by shape
// (see chooseMatmulVariant), only forced or picked by the autotuner on a real GPU.

// A[r0..r0+3, k] (rows clamped to M - 1, k to K - 1: always in bounds, never a value that is used
// when clamped): the lane's part of the chunk, for one group of 4 rows.
fn sg_load_a(za: u32, r0: u32, k: u32) -> vec4f {
  let kc = min(k, p.k - 1u);
  let rows = min(vec4u(r0) + vec4u(0u, 1u, 2u, 3u), vec4u(p.m - 1u));
  let i = vec4u(za) + select(rows * p.k + vec4u(kc), vec4u(kc * p.m) + rows, TRANS_A);
  return vec4f(a[i.x], a[i.y], a[i.z], a[i.w]);
}

// out[r, cols] for the columns < N (cols are SG_WG apart), nothing for a row ≥ M.
fn sg_store(o: u32, r: u32, cols: vec4u, v: vec4f) {
  if (r >= p.m) { return; }
  let base = o + r * p.n;
  if (cols.x < p.n) { out[base + cols.x] = v.x; }
  if (cols.y < p.n) { out[base + cols.y] = v.y; }
  if (cols.z < p.n) { out[base + cols.z] = v.z; }
  if (cols.w < p.n) { out[base + cols.w] = v.w; }
}

@compute @workgroup_size(SG_WG, 1, 1)
fn matmul_subgroup(
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3u,
  @builtin(subgroup_invocation_id) lane: u32,
  @builtin(subgroup_size) sg: u32,
) {
  let m0 = wid.y * SG_ROWS;
  let z = wid.z;
  let za = z * p.stride_a;
  let cols = vec4u(wid.x * SG_WG * SG_COLS + li) + vec4u(0u, 1u, 2u, 3u) * SG_WG;
  // B[k, c] = b[b_base.c + k·b_step], columns clamped to N - 1 (their results are not stored)
  let b_cols = min(cols, vec4u(p.n - 1u));
  let b_base = vec4u(z * p.stride_b) + b_cols * select(1u, p.k, TRANS_B);
  let b_step = select(p.n, 1u, TRANS_B);

  var c0 = vec4f(0.0);
  var c1 = vec4f(0.0);
  var c2 = vec4f(0.0);
  var c3 = vec4f(0.0);
  var c4 = vec4f(0.0);
  var c5 = vec4f(0.0);
  var c6 = vec4f(0.0);
  var c7 = vec4f(0.0);
  var c8 = vec4f(0.0);
  var c9 = vec4f(0.0);
  var c10 = vec4f(0.0);
  var c11 = vec4f(0.0);
  var c12 = vec4f(0.0);
  var c13 = vec4f(0.0);
  var c14 = vec4f(0.0);
  var c15 = vec4f(0.0);
  // every launched lane of this subgroup is active here (no early return): a full subgroup has sg
  let ballot = subgroupBallot(true);
  let full = dot(countOneBits(ballot), vec4u(1u)) == sg;

  // uniform control flow throughout (see the header): p.k, k0 and sg are uniform
  for (var k0 = 0u; k0 < p.k; k0 += sg) {
    // this lane's column of the chunk: A[m0..m0+15, k0 + lane]
    let a0 = sg_load_a(za, m0, k0 + lane);
    let a1 = sg_load_a(za, m0 + 4u, k0 + lane);
    let a2 = sg_load_a(za, m0 + 8u, k0 + lane);
    let a3 = sg_load_a(za, m0 + 12u, k0 + lane);
    let chunk = min(sg, p.k - k0);
    for (var j = 0u; j < chunk; j++) {
      let bv = load_b_at(b_base + vec4u((k0 + j) * b_step));
      // A[m0..m0+15, k0 + j], held by lane j
      var s0 = subgroupShuffle(a0, j);
      var s1 = subgroupShuffle(a1, j);
      var s2 = subgroupShuffle(a2, j);
      var s3 = subgroupShuffle(a3, j);
      if (!full) {
        // a partial subgroup: lane j may not exist; load the values (never taken on a full subgroup)
        s0 = sg_load_a(za, m0, k0 + j);
        s1 = sg_load_a(za, m0 + 4u, k0 + j);
        s2 = sg_load_a(za, m0 + 8u, k0 + j);
        s3 = sg_load_a(za, m0 + 12u, k0 + j);
      }
      c0 += s0.x * bv;
      c1 += s0.y * bv;
      c2 += s0.z * bv;
      c3 += s0.w * bv;
      c4 += s1.x * bv;
      c5 += s1.y * bv;
      c6 += s1.z * bv;
      c7 += s1.w * bv;
      c8 += s2.x * bv;
      c9 += s2.y * bv;
      c10 += s2.z * bv;
      c11 += s2.w * bv;
      c12 += s3.x * bv;
      c13 += s3.y * bv;
      c14 += s3.z * bv;
      c15 += s3.w * bv;
    }
  }

  let bb = bias_at(b_cols);
  let o = z * p.m * p.n;
  sg_store(o, m0, cols, c0 + bb);
  sg_store(o, m0 + 1u, cols, c1 + bb);
  sg_store(o, m0 + 2u, cols, c2 + bb);
  sg_store(o, m0 + 3u, cols, c3 + bb);
  sg_store(o, m0 + 4u, cols, c4 + bb);
  sg_store(o, m0 + 5u, cols, c5 + bb);
  sg_store(o, m0 + 6u, cols, c6 + bb);
  sg_store(o, m0 + 7u, cols, c7 + bb);
  sg_store(o, m0 + 8u, cols, c8 + bb);
  sg_store(o, m0 + 9u, cols, c9 + bb);
  sg_store(o, m0 + 10u, cols, c10 + bb);
  sg_store(o, m0 + 11u, cols, c11 + bb);
  sg_store(o, m0 + 12u, cols, c12 + bb);
  sg_store(o, m0 + 13u, cols, c13 + bb);
  sg_store(o, m0 + 14u, cols, c14 + bb);
  sg_store(o, m0 + 15u, cols, c15 + bb);
}
