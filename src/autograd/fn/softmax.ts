import * as ops from '../../ops/softmax';
import type { Tape } from '../tape';
import type { Tensor } from '../tensor';

/** Softmax over the last dim; the backward uses the output (kept alive by the tape). */
export function softmax(tape: Tape, x: Tensor): Tensor {
  const e = tape.engine;
  const y = ops.softmax(e, x.raw);
  return tape.record('softmax', y, [x], (g) => [ops.softmaxBackward(e, g, y)]);
}
