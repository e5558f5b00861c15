// Tree reductions to one value, plus the two tiny scalar kernels that go with them (gradient-clip
// scale, broadcast of a [1] gradient). src/ops/reduce.ts runs `partial` level after level: each
// workgroup folds one block of BLOCK = WG·PER consecutive elements into one partial, until one
// value is left. Order of additions: each lane adds its PER strided elements in sequence, then the
// lanes combine as a binary tree in workgroup memory, and the levels combine the partials as a tree
// again, so the f32 rounding error grows like PER + log(n), not n.
//
// Specialisations (override constants, part of the pipeline cache key):
//   COMBINE 0 = sum, 1 = max.   SQUARE: the first level sums x² instead of x.
override COMBINE: u32 = 0u;
override SQUARE: bool = false;

// `value`: divisor applied to the workgroup's result (1, or n on the last level of a mean);
// maxNorm in clip_scale; divisor of the broadcast scalar in broadcast_scalar.
// `out_offset`: where workgroup 0 writes its partial (globalSumSquares packs several tensors).
struct Params { n: u32, value: f32, out_offset: u32, pad: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// Sizes: 64 lanes × 64 elements. Fewer, fuller workgroups: each tree step costs a workgroupBarrier,
// and barriers dominate on SwiftShader (measured on 3M elements: 256 lanes × 4 took 8.4 s, 64 × 64
// took 0.4 s, same result bits). A 64-element sequential leaf per lane keeps the error tiny (as
// NumPy's pairwise sum, which uses 128-element leaves).
const WG = 64u;
const PER = 64u;
const BLOCK = 4096u; // WG · PER

var<workgroup> acc: array<f32, 64>;

fn combine(a: f32, b: f32) -> f32 {
  if (COMBINE == 1u) { return max(a, b); }
  return a + b;
}

fn load_x(i: u32) -> f32 {
  let v = x[i];
  if (SQUARE) { return v * v; }
  return v;
}

// Combine the first `valid` lanes of `acc` into acc[0]. Lanes at or past `valid` hold nothing (no
// identity element is needed, so max() is exact even for an all −inf block). `valid` is uniform
// across the workgroup, so every barrier is reached by every lane.
fn tree(lid: u32, v: f32, valid: u32) -> f32 {
  acc[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s && lid + s < valid) { acc[lid] = combine(acc[lid], acc[lid + s]); }
    workgroupBarrier();
  }
  return acc[0];
}

fn block_base(wid: vec3u, nwg: vec3u) -> u32 { return (wid.x + wid.y * nwg.x) * BLOCK; }

// One level: out[out_offset + w] = (combination of x[w·BLOCK .. min(n, (w+1)·BLOCK))) / value.
@compute @workgroup_size(64)
fn partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let base = block_base(wid, nwg);
  // Uniform early exit: the whole workgroup leaves (the 2-D fold of grid1d can add spare groups).
  if (base >= p.n) { return; }
  let valid = min(WG, p.n - base);
  var v = 0.0;
  if (lid < valid) {
    v = load_x(base + lid);
    for (var k = 1u; k < PER; k++) {
      let i = base + lid + k * WG;
      if (i < p.n) { v = combine(v, load_x(i)); }
    }
  }
  let r = tree(lid, v, valid);
  if (lid == 0u) { out[p.out_offset + base / BLOCK] = r / p.value; }
}

// First level of mean |x − y| (sum only; the caller divides on the last level).
@compute @workgroup_size(64)
fn partial_absdiff(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let base = block_base(wid, nwg);
  if (base >= p.n) { return; }
  let valid = min(WG, p.n - base);
  var v = 0.0;
  if (lid < valid) {
    v = abs(x[base + lid] - y[base + lid]);
    for (var k = 1u; k < PER; k++) {
      let i = base + lid + k * WG;
      if (i < p.n) { v += abs(x[i] - y[i]); }
    }
  }
  let r = tree(lid, v, valid);
  if (lid == 0u) { out[p.out_offset + base / BLOCK] = r / p.value; }
}

// out[0] = min(1, maxNorm / (√x[0] + 1e-6)). Trap: WGSL compilers may assume floats are never NaN
// and fold `s != s` away, so NaN is tested on the bits; a NaN norm gives a NaN scale (a diverged
// step should show, not be clipped to something finite).
@compute @workgroup_size(1)
fn clip_scale() {
  let s = x[0];
  let bits = bitcast<u32>(s) & 0x7fffffffu;
  if (bits > 0x7f800000u) { out[0] = s; return; }
  out[0] = min(1.0, p.value / (sqrt(s) + 1e-6));
}

// out[i] = x[0] / value for i < n: the backward of sum (value 1) and mean (value n).
@compute @workgroup_size(64)
fn broadcast_scalar(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) { return; }
  out[i] = x[0] / p.value;
}
