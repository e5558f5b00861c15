// Elementwise ops with "modulo broadcasting": b has size nb dividing n and out[i] = a[i] ∘ b[i % nb]
// (a bias over rows, a positional embedding over a batch, or nb = n for plain elementwise).
struct Params { n: u32, nb: u32, alpha: f32, pad: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn flat(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * 64u; }

@compute @workgroup_size(64)
fn add(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = a[i] + b[i % p.nb];
}

@compute @workgroup_size(64)
fn sub(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = a[i] - b[i % p.nb];
}

@compute @workgroup_size(64)
fn mul(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = a[i] * b[i % p.nb];
}

// out = alpha · a   (b unused: bound as a hole)
@compute @workgroup_size(64)
fn scale(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = p.alpha * a[i];
}

// out += alpha · a   (in place accumulation, e.g. gradient accumulation)
@compute @workgroup_size(64)
fn axpy(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = out[i] + p.alpha * a[i];
}

// out[j] = Σ_r a[r·nb + j], j < nb: the backward of modulo broadcasting. One invocation per output
// element loops over the n/nb repeats (loop bound from the uniform, guarded by n).
@compute @workgroup_size(64)
fn sum_repeat(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = flat(gid, nwg);
  if (j >= p.nb) { return; }
  var s = 0.0;
  for (var i = j; i < p.n; i += p.nb) { s += a[i]; }
  out[j] = s;
}
