// Differentiable reductions to a [1] tensor. The backward broadcasts the upstream [1] gradient on the
// device (reduce.wgsl broadcast_scalar): no readback.
import * as R from '../../ops/reduce';
import type { Tape } from '../tape';
import type { Tensor } from '../tensor';

/** Σ x → [1]; ∂/∂x = g everywhere. */
export function sum(tape: Tape, x: Tensor): Tensor {
  const e = tape.engine;
  return tape.record('sum', R.sum(e, x.raw), [x], (g) => [R.broadcastScalar(e, g, x.shape, 1)]);
}

/** Σ x / n → [1]; ∂/∂x = g / n everywhere. */
export function mean(tape: Tape, x: Tensor): Tensor {
  const e = tape.engine;
  return tape.record('mean', R.mean(e, x.raw), [x], (g) => [R.broadcastScalar(e, g, x.shape, x.size)]);
}
