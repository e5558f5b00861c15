// Shared by norm, softmax, loss and attention (prepended in TS; WGSL has no includes):
// fixed-order tree reductions over a 64-invocation workgroup, so results are deterministic.
// Barriers inside: call from uniform control flow with every invocation of the workgroup.
const WG: u32 = 64u;
var<workgroup> red: array<f32, 64>;

fn reduce_sum(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  // everyone must have read red[0] before a following reduction overwrites it
  workgroupBarrier();
  return r;
}

fn reduce_max(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
