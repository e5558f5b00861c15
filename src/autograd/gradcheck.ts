// Finite-difference gradient check on the CPU engine in f64 mode. The scalar checked is
// L = Σ out ⊙ r with a fixed random r, so every output element's gradient path is exercised.
import { CpuEngine } from '../backend/cpu';
import type { DType } from '../backend/tensor';
import { rngUniformCpu } from '../ops/rng';
import { Tape } from './tape';
import { Tensor } from './tensor';

export interface GradInput {
  data: ArrayLike<number>;
  shape: number[];
  dtype?: DType;
  /** Differentiate with respect to this input (default true for f32 inputs). */
  grad?: boolean;
}

export interface GradcheckResult {
  /** Per input: max |analytic − numeric| / max(1, |numeric|), or null if not differentiated. */
  errors: (number | null)[];
  worst: number;
}

export async function gradcheck(build: (tape: Tape, inputs: Tensor[]) => Tensor, inputs: GradInput[], eps = 1e-6): Promise<GradcheckResult> {
  const e = new CpuEngine(true);
  const wants = inputs.map((i) => (i.grad ?? true) && (i.dtype ?? 'f32') === 'f32');
  const leaves = () => inputs.map((i, k) => new Tensor(e.upload(i.data, i.shape, i.dtype ?? 'f32'), wants[k]));

  // projection weights in [-1, 1)
  const evalLoss = (xs: Tensor[]): { loss: number; tape: Tape; out: Tensor; r: Float64Array } => {
    const tape = new Tape(e);
    const out = build(tape, xs);
    const u = rngUniformCpu({ seed: 99, stream: 3, offset: 0 }, out.size);
    const r = Float64Array.from(u, (x) => 2 * x - 1);
    let loss = 0;
    const o = out.raw.f32;
    for (let i = 0; i < out.size; i++) loss += o[i] * r[i];
    return { loss, tape, out, r };
  };

  const xs = leaves();
  const { tape, out, r } = evalLoss(xs);
  if (!out.requiresGrad) throw new Error('gradcheck: output does not require grad');
  tape.backward(out, e.upload(r, out.shape));
  const analytic = xs.map((x) => (x.grad ? Float64Array.from(x.grad.f32) : null));
  tape.dispose();

  const errors: (number | null)[] = [];
  for (let k = 0; k < inputs.length; k++) {
    if (!wants[k]) {
      errors.push(null);
      continue;
    }
    const a = analytic[k];
    let worst = 0;
    const n = inputs[k].data.length;
    for (let j = 0; j < n; j++) {
      const f = (delta: number) => {
        const ys = leaves();
        ys[k].raw.f32[j] += delta;
        const res = evalLoss(ys);
        res.tape.dispose();
        return res.loss;
      };
      const num = (f(eps) - f(-eps)) / (2 * eps);
      const an = a ? a[j] : 0;
      const err = Math.abs(an - num) / Math.max(1, Math.abs(num));
      if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : err;
    }
    errors.push(worst);
  }
  return { errors, worst: Math.max(0, ...errors.map((x) => x ?? 0)) };
}
