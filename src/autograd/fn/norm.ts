import * as ops from '../../ops/norm';
import type { Tape } from '../tape';
import type { Tensor } from '../tensor';

/** LayerNorm over the last dim; mean and rstd are saved on the tape for the backward. */
export function layerNorm(tape: Tape, x: Tensor, gamma: Tensor, beta: Tensor, eps: number): Tensor {
  const e = tape.engine;
  const { y, mean, rstd } = ops.layerNorm(e, x.raw, gamma.raw, beta.raw, eps);
  tape.own(mean);
  tape.own(rstd);
  return tape.record('layerNorm', y, [x, gamma, beta], (g) => {
    const needParams = gamma.requiresGrad || beta.requiresGrad;
    const { dx, dgamma, dbeta } = ops.layerNormBackward(e, g, x.raw, gamma.raw, mean, rstd, needParams);
    // dx is always computed (it is the cheap part); the tape frees a gradient nobody needs.
    return [dx, dgamma, dbeta];
  });
}
