// Packed f16 storage (issue 21): frozen weights held as two IEEE binary16 values per u32 word
// (element 2k in the low half of word k: unpack2x16float's .x), converted on the host at upload
// (src/backend/f16.ts). unpack2x16float needs no shader-f16 feature, so this runs on every adapter;
// arithmetic stays f32. One invocation per element; n need not be even (the last word may be half used).

struct Params { n: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> words: array<u32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn flat(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * 64u; }

// Element i of the packed tensor, as f32 (exact).
fn half_at(i: u32) -> f32 {
  let v = unpack2x16float(words[i >> 1u]);
  return select(v.x, v.y, (i & 1u) == 1u);
}

// out = W as f32: the dense model's transient weight on a masked site, a read for a baseline.
@compute @workgroup_size(64)
fn unpack(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = half_at(i);
}

// out = W ⊙ m (the hard-mask evaluation's weights): the same f32 product as elementwise mul.
@compute @workgroup_size(64)
fn unpack_mul(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = half_at(i) * mask[i];
}
