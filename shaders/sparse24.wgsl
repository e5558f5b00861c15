// 2:4 compressed inference: out[M,N] = X[M,K] · W[K,N] where W is 2:4 sparse along K (in every
// column n, each group of rows 4g..4g+3 keeps two weights) and stored compressed:
//   vals[g·N + n]         u32 = two f16 kept values (lower half: the first kept row), pack2x16float
//   idx[g·IW + n / 8]     u32 = 8 columns × 4 bits: bits 0-1 first kept row, bits 2-3 second (IW = ⌈N/8⌉)
// so a group of 4 weights costs 4.5 bytes instead of 16. K % 4 == 0 (checked in TS).
// f16 is carried in u32 and widened with unpack2x16float (core WGSL; no shader-f16 feature needed).
//
// One invocation: one row of X × 4 consecutive columns; gid.y = row. X is read as vec4 (one group).

struct Params {
  m: u32,
  k: u32,
  n: u32,
  iw: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x4: array<vec4f>;
@group(0) @binding(2) var<storage, read> vals: array<u32>;
@group(0) @binding(3) var<storage, read> idx: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

override WG: u32 = 64u;

// The two kept products of one column's group: x[i0]·v0 + x[i1]·v1.
fn group_dot(xg: vec4f, v: u32, code: u32) -> f32 {
  let w = unpack2x16float(v);
  return xg[code & 3u] * w.x + xg[(code >> 2u) & 3u] * w.y;
}

@compute @workgroup_size(WG, 1, 1)
fn sparse24_rows(@builtin(global_invocation_id) gid: vec3u) {
  let col0 = gid.x * 4u;
  let row = gid.y;
  if (row >= p.m || col0 >= p.n) { return; }
  // clamp the 4 columns so loads stay in bounds at the right edge; extra results are not stored
  let cols = min(vec4u(col0) + vec4u(0u, 1u, 2u, 3u), vec4u(p.n - 1u));
  let groups = p.k / 4u;
  let xrow = row * groups;
  var acc = vec4f(0.0);
  for (var g = 0u; g < groups; g++) {
    let xg = x4[xrow + g];
    let vb = g * p.n;
    let ib = g * p.iw;
    // 4-bit codes: column c lives in word c / 8 at bit 4·(c % 8)
    let ic = vec4u(idx[ib + cols.x / 8u], idx[ib + cols.y / 8u], idx[ib + cols.z / 8u], idx[ib + cols.w / 8u]) >> ((cols % vec4u(8u)) * 4u);
    acc += vec4f(
      group_dot(xg, vals[vb + cols.x], ic.x),
      group_dot(xg, vals[vb + cols.y], ic.y),
      group_dot(xg, vals[vb + cols.z], ic.z),
      group_dot(xg, vals[vb + cols.w], ic.w),
    );
  }
  let base = row * p.n + col0;
  let left = p.n - col0; // ≥ 1 here
  out[base] = acc.x;
  if (left > 1u) { out[base + 1u] = acc.y; }
  if (left > 2u) { out[base + 2u] = acc.z; }
  if (left > 3u) { out[base + 3u] = acc.w; }
}
