// Fill a buffer with raw u32 bits or open-interval uniforms from the counter-based RNG (rng.wgsl is
// prepended by src/ops/rng.ts).
struct Params { n: u32, seed: u32, stream: u32, offset: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out_u: array<u32>;

@compute @workgroup_size(64)
fn bits(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) { return; }
  out_u[i] = rng_bits(p.seed, p.stream, p.offset, i);
}

@compute @workgroup_size(64)
fn uniform01(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) { return; }
  out_u[i] = bitcast<u32>(bits_to_open_unit(rng_bits(p.seed, p.stream, p.offset, i)));
}
