import * as ops from '../../ops/activation';
import type { Tape } from '../tape';
import type { Tensor } from '../tensor';

/** GELU: tanh form (GPT-2's "gelu_new") or, with exact = true, the erf form (HF "gelu"). */
export function gelu(tape: Tape, x: Tensor, exact = false): Tensor {
  const e = tape.engine;
  return tape.record('gelu', ops.gelu(e, x.raw, exact), [x], (g) => [ops.geluBackward(e, g, x.raw, exact)]);
}
