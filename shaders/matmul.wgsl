// Matmul family: out[z] = op(A)[z] · op(B ⊙ Mask)[z] (+ bias), z < batch, op = optional transpose.
// Logical A is [M,K], stored [M,K] (or [K,M] when TRANS_A); logical B is [K,N], stored [K,N]
// (or [N,K] when TRANS_B); out is [M,N]; bias is [N], added to every row. With HAS_MASK, B is
// multiplied elementwise by `bmask` (same storage layout as b) as it is loaded: the fused W ⊙ m.
//
// Specialisations are override constants (part of the pipeline cache key); shapes are uniforms, so
// one pipeline serves every shape. Entry points (chosen by shape in src/ops/matmul.ts):
//   matmul_4x4     register-blocked tile: every invocation owns a 4×4 block of outputs (any shape).
//   matmul_4x4_v4  the same with vec4 loads of B (needs !TRANS_B, N % 4 == 0).
//   matmul_4x4_dot A row-major and B stored [N,K] (TRANS_B, no TRANS_A), K % 4 == 0: both read as
//                  vec4 along K, 16 dot products per step (the x·Wᵀ of nn.Linear and of dX = G·Wᵀ).
//   matvec_v4      one row × 4 columns per invocation, vec4 B loads: M ≤ 3 (a 4-row block wastes ≥ ½).
//   matmul_8x8, matmul_16x8  appended at load time by src/ops/matmul-blocked.ts (one named accumulator
//                  per output: see there why they are generated and why they win on SwiftShader).
//   matmul_tiled_64x64  appended from shaders/matmul_tiled.wgsl: workgroup-memory tiles for real GPUs
//                  (any shape and layout; never chosen by shape, only when forced).
//   matmul_subgroup  not in this module: shaders/matmul_subgroup.wgsl is appended to a copy of this file
//                  that starts with `enable subgroups;` (src/ops/matmul-subgroup.ts), so this one compiles
//                  on a device without the feature.
//
// WGSL trap: `a`/`a4`, `b`/`b4` and `bmask`/`bmask4` alias the same bindings with different element types.
// That is legal only because no entry point statically uses both names of one binding (Tint rejects
// it even when the second use sits under an `if` on an override constant).

struct Params {
  m: u32,
  k: u32,
  n: u32,
  batch: u32,
  // element offsets between consecutive batch entries (0 = the operand is shared by every z)
  stride_a: u32,
  stride_b: u32,
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> a4: array<vec4f>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> b4: array<vec4f>;
// Always bound: 'auto' layout keeps a binding that is referenced only under `if (HAS_BIAS)`, because
// static use is decided before override constants are applied. Without a bias the op binds `b` here.
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
// Same trap as bias: always bound; without a mask the op binds `b` here (never read).
@group(0) @binding(5) var<storage, read> bmask: array<f32>;
@group(0) @binding(5) var<storage, read> bmask4: array<vec4f>;

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;
override HAS_MASK: bool = false;
// Workgroup shape in invocations; a matmul_4x4 workgroup covers (4·WG_Y) rows × (4·WG_X) columns.
override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;

// Register blocking without workgroup memory: on SwiftShader (a CPU) workgroup memory and barriers
// cost more than they save, while 16 accumulators per invocation give 16 FMAs per 8 loads.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_4x4(@builtin(global_invocation_id) gid: vec3u) {
  let row0 = gid.y * 4u;
  let col0 = gid.x * 4u;
  let z = gid.z;
  if (row0 >= p.m || col0 >= p.n || z >= p.batch) { return; }

  // Edge blocks: clamp the rows/columns to the last valid one, so every load stays in bounds without
  // a branch in the K loop; the duplicated results are simply not stored.
  let lane = vec4u(0u, 1u, 2u, 3u);
  let rows = min(vec4u(row0) + lane, vec4u(p.m - 1u));
  let cols = min(vec4u(col0) + lane, vec4u(p.n - 1u));

  // A[r, k] = a[a_base.r + k·a_step]; B[k, c] = b[b_base.c + k·b_step].
  let a_step = select(1u, p.m, TRANS_A);
  let a_base = vec4u(z * p.stride_a) + rows * select(p.k, 1u, TRANS_A);
  let b_step = select(p.n, 1u, TRANS_B);
  let b_base = vec4u(z * p.stride_b) + cols * select(1u, p.k, TRANS_B);

  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var kk = 0u; kk < p.k; kk++) {
    let ao = kk * a_step;
    let bi = b_base + vec4u(kk * b_step);
    let av = vec4f(a[a_base.x + ao], a[a_base.y + ao], a[a_base.z + ao], a[a_base.w + ao]);
    var bv = vec4f(b[bi.x], b[bi.y], b[bi.z], b[bi.w]);
    if (HAS_MASK) { bv *= vec4f(bmask[bi.x], bmask[bi.y], bmask[bi.z], bmask[bi.w]); }
    acc0 += av.x * bv;
    acc1 += av.y * bv;
    acc2 += av.z * bv;
    acc3 += av.w * bv;
  }

  let bb = bias_at(cols);
  let o = z * p.m * p.n;
  store_row(o, row0, col0, acc0 + bb);
  store_row(o, row0 + 1u, col0, acc1 + bb);
  store_row(o, row0 + 2u, col0, acc2 + bb);
  store_row(o, row0 + 3u, col0, acc3 + bb);
}

// B[k, col0..col0+3] as one vec4 load (row-major B, N % 4 == 0, so col0 is 4-aligned).
fn load_b4(z: u32, kk: u32, col0: u32) -> vec4f {
  let i = (z * p.stride_b + kk * p.n + col0) / 4u;
  var v = b4[i];
  if (HAS_MASK) { v *= bmask4[i]; }
  return v;
}

// A[rows, kk] for four (clamped) rows: scalar loads, so any M and either layout of A works.
fn load_a_col(z: u32, kk: u32, rows: vec4u) -> vec4f {
  let base = vec4u(z * p.stride_a) + rows * select(p.k, 1u, TRANS_A);
  let ao = kk * select(1u, p.m, TRANS_A);
  return vec4f(a[base.x + ao], a[base.y + ao], a[base.z + ao], a[base.w + ao]);
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_4x4_v4(@builtin(global_invocation_id) gid: vec3u) {
  let row0 = gid.y * 4u;
  let col0 = gid.x * 4u;
  let z = gid.z;
  if (row0 >= p.m || col0 >= p.n || z >= p.batch) { return; }
  let rows = min(vec4u(row0) + vec4u(0u, 1u, 2u, 3u), vec4u(p.m - 1u));

  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var kk = 0u; kk < p.k; kk++) {
    let av = load_a_col(z, kk, rows);
    let bv = load_b4(z, kk, col0);
    acc0 += av.x * bv;
    acc1 += av.y * bv;
    acc2 += av.z * bv;
    acc3 += av.w * bv;
  }
  let bb = bias_at(vec4u(col0) + vec4u(0u, 1u, 2u, 3u));
  let o = z * p.m * p.n;
  store_row(o, row0, col0, acc0 + bb);
  store_row(o, row0 + 1u, col0, acc1 + bb);
  store_row(o, row0 + 2u, col0, acc2 + bb);
  store_row(o, row0 + 3u, col0, acc3 + bb);
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_4x4_dot(@builtin(global_invocation_id) gid: vec3u) {
  let row0 = gid.y * 4u;
  let col0 = gid.x * 4u;
  let z = gid.z;
  if (row0 >= p.m || col0 >= p.n || z >= p.batch) { return; }
  let lane = vec4u(0u, 1u, 2u, 3u);
  let k4 = p.k / 4u;
  // vec4 row starts (in vec4 units) of the 4 clamped rows of A and 4 clamped rows of Bᵀ
  let ra = (vec4u(z * p.stride_a) + min(vec4u(row0) + lane, vec4u(p.m - 1u)) * p.k) / 4u;
  let rb = (vec4u(z * p.stride_b) + min(vec4u(col0) + lane, vec4u(p.n - 1u)) * p.k) / 4u;

  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var q = 0u; q < k4; q++) {
    var b0 = b4[rb.x + q];
    var b1 = b4[rb.y + q];
    var b2 = b4[rb.z + q];
    var b3 = b4[rb.w + q];
    if (HAS_MASK) {
      b0 *= bmask4[rb.x + q];
      b1 *= bmask4[rb.y + q];
      b2 *= bmask4[rb.z + q];
      b3 *= bmask4[rb.w + q];
    }
    let a0 = a4[ra.x + q];
    let a1 = a4[ra.y + q];
    let a2 = a4[ra.z + q];
    let a3 = a4[ra.w + q];
    acc0 += vec4f(dot(a0, b0), dot(a0, b1), dot(a0, b2), dot(a0, b3));
    acc1 += vec4f(dot(a1, b0), dot(a1, b1), dot(a1, b2), dot(a1, b3));
    acc2 += vec4f(dot(a2, b0), dot(a2, b1), dot(a2, b2), dot(a2, b3));
    acc3 += vec4f(dot(a3, b0), dot(a3, b1), dot(a3, b2), dot(a3, b3));
  }
  let bb = bias_at(vec4u(col0) + lane);
  let o = z * p.m * p.n;
  store_row(o, row0, col0, acc0 + bb);
  store_row(o, row0 + 1u, col0, acc1 + bb);
  store_row(o, row0 + 2u, col0, acc2 + bb);
  store_row(o, row0 + 3u, col0, acc3 + bb);
}

// One output row per gid.y, 4 columns per invocation; the x dimension spans N/4 (WG_X·WG_Y wide).
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matvec_v4(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3u) {
  let col0 = (wid.x * WG_X * WG_Y + li) * 4u;
  let row = wid.y;
  let z = wid.z;
  if (row >= p.m || col0 >= p.n || z >= p.batch) { return; }
  let a_base = z * p.stride_a + row * select(p.k, 1u, TRANS_A);
  let a_step = select(1u, p.m, TRANS_A);
  var acc = vec4f(0.0);
  for (var kk = 0u; kk < p.k; kk++) {
    acc += a[a_base + kk * a_step] * load_b4(z, kk, col0);
  }
  store_row(z * p.m * p.n, row, col0, acc + bias_at(vec4u(col0) + vec4u(0u, 1u, 2u, 3u)));
}

// bias[cols] (columns already clamped or < N), or 0 without a bias.
fn bias_at(cols: vec4u) -> vec4f {
  if (!HAS_BIAS) { return vec4f(0.0); }
  let c = min(cols, vec4u(p.n - 1u));
  return vec4f(bias[c.x], bias[c.y], bias[c.z], bias[c.w]);
}

// B[k, c] ⊙ mask for four element indices (scalar loads: any layout of b).
fn load_b_at(i: vec4u) -> vec4f {
  var v = vec4f(b[i.x], b[i.y], b[i.z], b[i.w]);
  if (HAS_MASK) { v *= vec4f(bmask[i.x], bmask[i.y], bmask[i.z], bmask[i.w]); }
  return v;
}

// Write the valid part of one 4-wide row segment (guards the row, the segment and each column;
// a block wider than 4 can start a segment at or past N, where p.n - c0 would wrap around).
fn store_row(o: u32, r: u32, c0: u32, v: vec4f) {
  if (r >= p.m || c0 >= p.n) { return; }
  let base = o + r * p.n + c0;
  let left = p.n - c0; // ≥ 1 here
  out[base] = v.x;
  if (left > 1u) { out[base + 1u] = v.y; }
  if (left > 2u) { out[base + 2u] = v.z; }
  if (left > 3u) { out[base + 3u] = v.w; }
}
