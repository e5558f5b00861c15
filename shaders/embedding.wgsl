// Row ops: gather (embedding lookup), its deterministic backward (scatter-add of rows without float
// atomics), concatenation and slicing of rows. Driven by src/ops/embedding.ts.
//
// Row copies move raw 32-bit words (array<u32>): they work for f32, u32 and i32 alike, and no float
// load/store can flush a denormal or rewrite a NaN payload on the way.
//
// Params, per entry point:
//   gather_rows      n = N·C outputs, c = C, v = V (rows of the table)
//   concat_rows      n = total words, c = words of a
//   slice_rows       n = words out, c = first word
//   scatter_link     n = N indices, v = V
//   scatter_sum      n = V·C outputs, c = C, v = V, k = N
struct Params { n: u32, c: u32, v: u32, k: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> in0: array<u32>;
@group(0) @binding(2) var<storage, read> in1: array<u32>;
@group(0) @binding(3) var<storage, read_write> out_u: array<u32>;
@group(0) @binding(4) var<storage, read_write> head: array<u32>;
@group(0) @binding(5) var<storage, read> grad: array<f32>;
@group(0) @binding(6) var<storage, read_write> out_f: array<f32>;

fn flat(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * 64u; }

// out[r, col] = table[idx[r], col]; an index ≥ V gives a row of zeros (the CPU twin throws instead).
// in0 = table [V, C], in1 = idx [N].
@compute @workgroup_size(64)
fn gather_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  let r = i / p.c;
  let col = i - r * p.c;
  let j = in1[r];
  if (j >= p.v) { out_u[i] = 0u; return; }
  out_u[i] = in0[j * p.c + col];
}

// out = [a; b] as flat words: in0 = a (c words), in1 = b.
@compute @workgroup_size(64)
fn concat_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  if (i < p.c) { out_u[i] = in0[i]; } else { out_u[i] = in1[i - p.c]; }
}

// out[i] = in0[c + i]
@compute @workgroup_size(64)
fn slice_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  out_u[i] = in0[p.c + i];
}

// Scatter-add, step 1: thread the positions that share an index into a linked list in ascending
// order. out_u = next [N] (next position + 1, 0 = end), head [V] (first position + 1, 0 = none;
// zeroed by the caller). in0 = idx. Out-of-range indices are left out of every list.
// Cost O(N²) index comparisons in the worst case (all distinct), with no factor C.
@compute @workgroup_size(64)
fn scatter_link(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let n = flat(gid, nwg);
  if (n >= p.n) { return; }
  let v = in0[n];
  if (v >= p.v) { out_u[n] = 0u; return; }
  var nx = 0u;
  for (var j = n + 1u; j < p.n; j++) {
    if (in0[j] == v) { nx = j + 1u; break; }
  }
  out_u[n] = nx;
  var first = true;
  for (var j = 0u; j < n; j++) {
    if (in0[j] == v) { first = false; break; }
  }
  // Exactly one position (the first) writes each head: no race.
  if (first) { head[v] = n + 1u; }
}

// Scatter-add, step 2: out_f[v, col] = Σ grad[n, col] over the list of v, in ascending n, so the
// f32 sum is the same bits on every run (float atomics would add in arrival order).
// out_u = next, head = heads, grad [N, C], out_f [V, C]. The walk is bounded by k = N steps.
@compute @workgroup_size(64)
fn scatter_sum(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  let v = i / p.c;
  let col = i - v * p.c;
  var s = 0.0;
  var link = head[v];
  for (var steps = 0u; steps < p.k && link != 0u; steps++) {
    let n = link - 1u;
    s += grad[n * p.c + col];
    link = out_u[n];
  }
  out_f[i] = s;
}
