// AdamW step, in place on param, m (first moment) and v (second moment), as torch.optim.AdamW:
//   g ← grad · scale                         (scale = gradScale[0] in adamw_scaled, else 1)
//   p ← p · (1 − lr·wd)                      (decoupled weight decay, before the Adam update)
//   m ← β1·m + (1 − β1)·g ;  v ← β2·v + (1 − β2)·g²
//   p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
// The bias corrections depend only on the step, so src/ops/adamw.ts computes them in f64 on the host
// and passes step_size = lr/(1 − β1^t) and inv_bc2_sqrt = 1/√(1 − β2^t) as uniforms.
struct Params { n: u32, decay: f32, beta1: f32, beta2: f32, eps: f32, step_size: f32, inv_bc2_sqrt: f32, pad: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read_write> param: array<f32>;
@group(0) @binding(4) var<storage, read_write> m1: array<f32>;
@group(0) @binding(5) var<storage, read_write> m2: array<f32>;

fn flat(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * 64u; }

fn update(i: u32, g: f32) {
  let w = param[i] * p.decay;
  let m = p.beta1 * m1[i] + (1.0 - p.beta1) * g;
  let v = p.beta2 * m2[i] + (1.0 - p.beta2) * g * g;
  m1[i] = m;
  m2[i] = v;
  param[i] = w - p.step_size * m / (sqrt(v) * p.inv_bc2_sqrt + p.eps);
}

@compute @workgroup_size(64)
fn adamw(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  update(i, grad[i]);
}

// Same, with the gradient multiplied by a device-side scalar (clip scale, 1/samples): the scale is
// read on the GPU, so clipping by the global norm needs no readback. Two entry points rather than
// a flag: with layout 'auto' a binding the entry point uses must be bound even when a flag skips it.
@compute @workgroup_size(64)
fn adamw_scaled(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  update(i, grad[i] * scale[0]);
}
