// Matmul family: out[z] = op(A)[z] · op(B)[z] (+ bias), z < batch, op = optional transpose.
// Logical A is [M,K], stored [M,K] (or [K,M] when TRANS_A); logical B is [K,N], stored [K,N]
// (or [N,K] when TRANS_B); out is [M,N]; bias is [N], added to every row.
//
// Specialisations are override constants (part of the pipeline cache key); shapes are uniforms, so
// one pipeline serves every shape. Entry points (a later pass adds matvec / fused masked loads):
//   matmul_4x4   register-blocked tile: every invocation owns a 4×4 block of outputs.

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
@group(0) @binding(2) var<storage, read> b: array<f32>;
// Always bound: 'auto' layout keeps a binding that is referenced only under `if (HAS_BIAS)`, because
// static use is decided before override constants are applied. Without a bias the op binds `b` here.
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;
// Workgroup shape in invocations; a workgroup covers (4·WG_Y) rows × (4·WG_X) columns.
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
    let bo = kk * b_step;
    let av = vec4f(a[a_base.x + ao], a[a_base.y + ao], a[a_base.z + ao], a[a_base.w + ao]);
    let bv = vec4f(b[b_base.x + bo], b[b_base.y + bo], b[b_base.z + bo], b[b_base.w + bo]);
    acc0 += av.x * bv;
    acc1 += av.y * bv;
    acc2 += av.z * bv;
    acc3 += av.w * bv;
  }

  if (HAS_BIAS) {
    let bb = vec4f(bias[cols.x], bias[cols.y], bias[cols.z], bias[cols.w]);
    acc0 += bb;
    acc1 += bb;
    acc2 += bb;
    acc3 += bb;
  }

  let o = z * p.m * p.n;
  store_row(o, row0, col0, acc0);
  store_row(o, row0 + 1u, col0, acc1);
  store_row(o, row0 + 2u, col0, acc2);
  store_row(o, row0 + 3u, col0, acc3);
}

// Write the valid part of one 4-wide row segment (guards both the row and each column).
fn store_row(o: u32, r: u32, c0: u32, v: vec4f) {
  if (r >= p.m) { return; }
  let base = o + r * p.n + c0;
  let left = p.n - c0; // ≥ 1 here
  out[base] = v.x;
  if (left > 1u) { out[base + 1u] = v.y; }
  if (left > 2u) { out[base + 2u] = v.z; }
  if (left > 3u) { out[base + 3u] = v.w; }
}
