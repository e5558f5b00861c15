// matmul_tiled_64x64: a workgroup-memory tiled matmul for real GPUs. Not standalone: src/ops/matmul.ts
// appends it to shaders/matmul.wgsl (Params `p`, the bindings `a`, `b`, `bias`, `out`, `bmask`, the
// override flags TRANS_A/TRANS_B/HAS_BIAS/HAS_MASK and bias_at come from there) together with the
// MT_* sizes below, written from TILED_MATMUL in that file (one source for the tile sizes and the
// workgroup-storage bytes the TS side checks against the device limit):
//   MT_WG      invocations per side of the workgroup (16: 256 invocations)
//   MT_TILE    output rows and columns per workgroup (4·MT_WG = 64: a 4×4 register block each)
//   MT_TK      the K step: columns of A / rows of B staged per tile (16)
//   MT_STRIDE  floats per k-row of a staged tile (MT_TILE + 2, see the bank note below)
//
// One workgroup owns a 64×64 block of out[z] (workgroup_id.x: column block, .y: row block, .z: z).
// Per K step it stages A[m0..m0+63, k0..k0+15] and (B ⊙ mask)[k0..k0+15, n0..n0+63] in workgroup
// memory, both k-major (tile[k·MT_STRIDE + m|n]), zero-filled outside the matrix (so K, M and N need
// not divide the tile: out-of-range k contribute 0·0), then every invocation accumulates its 4×4
// block from the tiles in f32.
//
// Invocation (tx, ty) owns rows m0 + ty + 16·i and columns n0 + tx + 16·j (i, j < 4), interleaved
// rather than a contiguous 4×4 block: its tile reads are then tile[k][ty + 16·i] (a broadcast: one
// or two addresses per warp) and tile[k][tx + 16·j] (16 consecutive words), free of bank conflicts,
// and its stores are row segments of 16 consecutive floats across tx (coalesced).
//
// Global loads are coalesced for every layout: consecutive invocations read consecutive addresses.
//   A row-major [M,K] (contiguous in k): invocation li loads k = li % 16, m = li / 16 + 16·i.
//   A stored [K,M] (TRANS_A, contiguous in m): m = li % 64, k = li / 64 + 4·i.
//   B row-major [K,N] (contiguous in n): n = li % 64, k = li / 64 + 4·i.
//   B stored [N,K] (TRANS_B, contiguous in k): k = li % 16, n = li / 16 + 16·i.
// With HAS_MASK the mask element at b's index is multiplied in as B's tile is loaded.
//
// Bank note (32 banks of 4 bytes, warps of 32): the k-contiguous loads write a transposed tile, a warp
// covering k = 0..15 of two consecutive rows r, r+1 at word k·MT_STRIDE + r. MT_STRIDE ≡ 2 (mod 32)
// puts those 32 words in 32 distinct banks (2k + r), where an unpadded 64 would put all 16 k of a row
// in one bank and a stride of 65 or 68 would still collide 2-way. The m/n-contiguous loads and the
// compute reads are conflict-free for any stride.
//
// Workgroup storage: 2 tiles × 16 × 66 × 4 bytes = 8,448 bytes (WebGPU's default limit is 16,384; a
// K step of 32 would need 16,896). Barriers are in uniform control flow: the K loop's bound is a
// uniform and no invocation returns early; the guards are on the loads and the stores.
//
// On SwiftShader (a CPU adapter) workgroup memory is ordinary memory and each barrier splits the
// workgroup's 256 invocations into separate runs: this variant is expected to be slower there than
// the register-blocked ones. The engine does not pick it by shape (see chooseMatmulVariant). The
// other variant for real GPUs, matmul_subgroup (shaders/matmul_subgroup.wgsl), shares A through
// subgroup shuffles instead of these tiles; it is a module of its own (it needs `enable subgroups;`).

const MT_THREADS: u32 = MT_WG * MT_WG;
const MT_TILE_LEN: u32 = MT_TK * MT_STRIDE;
// elements of one tile each invocation loads per K step (64·16 / 256 = 4)
const MT_LOADS: u32 = MT_TILE * MT_TK / MT_THREADS;

var<workgroup> mt_a: array<f32, MT_TILE_LEN>;
var<workgroup> mt_b: array<f32, MT_TILE_LEN>;

// Stage A[m0.., k0..] into mt_a[k·MT_STRIDE + m] (0 outside the matrix).
fn mt_load_a(z: u32, m0: u32, k0: u32, li: u32) {
  for (var i = 0u; i < MT_LOADS; i++) {
    var m = li / MT_TK + i * (MT_THREADS / MT_TK);
    var k = li % MT_TK;
    if (TRANS_A) {
      m = li % MT_TILE;
      k = li / MT_TILE + i * (MT_THREADS / MT_TILE);
    }
    let gm = m0 + m;
    let gk = k0 + k;
    var v = 0.0;
    if (gm < p.m && gk < p.k) {
      v = a[z * p.stride_a + select(gm * p.k + gk, gk * p.m + gm, TRANS_A)];
    }
    mt_a[k * MT_STRIDE + m] = v;
  }
}

// Stage (B ⊙ mask)[k0.., n0..] into mt_b[k·MT_STRIDE + n] (0 outside the matrix).
fn mt_load_b(z: u32, n0: u32, k0: u32, li: u32) {
  for (var i = 0u; i < MT_LOADS; i++) {
    var n = li % MT_TILE;
    var k = li / MT_TILE + i * (MT_THREADS / MT_TILE);
    if (TRANS_B) {
      n = li / MT_TK + i * (MT_THREADS / MT_TK);
      k = li % MT_TK;
    }
    let gn = n0 + n;
    let gk = k0 + k;
    var v = 0.0;
    if (gn < p.n && gk < p.k) {
      let bi = z * p.stride_b + select(gk * p.n + gn, gn * p.k + gk, TRANS_B);
      v = b[bi];
      if (HAS_MASK) { v *= bmask[bi]; }
    }
    mt_b[k * MT_STRIDE + n] = v;
  }
}

// out[r, cols] for the columns < N (cols need not be contiguous), nothing for a row ≥ M.
fn mt_store(o: u32, r: u32, cols: vec4u, v: vec4f) {
  if (r >= p.m) { return; }
  let base = o + r * p.n;
  if (cols.x < p.n) { out[base + cols.x] = v.x; }
  if (cols.y < p.n) { out[base + cols.y] = v.y; }
  if (cols.z < p.n) { out[base + cols.z] = v.z; }
  if (cols.w < p.n) { out[base + cols.w] = v.w; }
}

@compute @workgroup_size(MT_WG, MT_WG, 1)
fn matmul_tiled_64x64(
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3u,
) {
  let m0 = wid.y * MT_TILE;
  let n0 = wid.x * MT_TILE;
  let z = wid.z;
  let tx = lid.x;
  let ty = lid.y;

  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var k0 = 0u; k0 < p.k; k0 += MT_TK) {
    mt_load_a(z, m0, k0, li);
    mt_load_b(z, n0, k0, li);
    workgroupBarrier();
    for (var kk = 0u; kk < MT_TK; kk++) {
      let t = kk * MT_STRIDE;
      let av = vec4f(mt_a[t + ty], mt_a[t + ty + MT_WG], mt_a[t + ty + 2u * MT_WG], mt_a[t + ty + 3u * MT_WG]);
      let bv = vec4f(mt_b[t + tx], mt_b[t + tx + MT_WG], mt_b[t + tx + 2u * MT_WG], mt_b[t + tx + 3u * MT_WG]);
      acc0 += av.x * bv;
      acc1 += av.y * bv;
      acc2 += av.z * bv;
      acc3 += av.w * bv;
    }
    // the next step overwrites the tiles: every invocation must be done reading them
    workgroupBarrier();
  }

  let cols = vec4u(n0 + tx) + vec4u(0u, 1u, 2u, 3u) * MT_WG;
  let bb = bias_at(cols); // clamps the columns ≥ N, which are not stored
  let o = z * p.m * p.n;
  mt_store(o, m0 + ty, cols, acc0 + bb);
  mt_store(o, m0 + ty + MT_WG, cols, acc1 + bb);
  mt_store(o, m0 + ty + 2u * MT_WG, cols, acc2 + bb);
  mt_store(o, m0 + ty + 3u * MT_WG, cols, acc3 + bb);
}
