import * as ew from '../../ops/elementwise';
import type { Tape } from '../tape';
import type { Tensor } from '../tensor';

/** a + b with b broadcast by repetition (b.size divides a.size): biases, positional embeddings. */
export function add(tape: Tape, a: Tensor, b: Tensor): Tensor {
  const e = tape.engine;
  return tape.record('add', ew.add(e, a.raw, b.raw), [a, b], (g) => [
    a.requiresGrad ? ew.scale(e, g, 1) : null,
    b.requiresGrad ? (b.size === a.size ? ew.scale(e, g, 1) : ew.sumRepeat(e, g, b.shape)) : null,
  ]);
}

export function sub(tape: Tape, a: Tensor, b: Tensor): Tensor {
  const e = tape.engine;
  return tape.record('sub', ew.sub(e, a.raw, b.raw), [a, b], (g) => [
    a.requiresGrad ? ew.scale(e, g, 1) : null,
    b.requiresGrad ? (b.size === a.size ? ew.scale(e, g, -1) : ew.scale(e, tape.own(ew.sumRepeat(e, g, b.shape)), -1)) : null,
  ]);
}

/** a ⊙ b with b broadcast by repetition. */
export function mul(tape: Tape, a: Tensor, b: Tensor): Tensor {
  const e = tape.engine;
  return tape.record('mul', ew.mul(e, a.raw, b.raw), [a, b], (g) => [
    a.requiresGrad ? ew.mul(e, g, b.raw) : null,
    b.requiresGrad ? (b.size === a.size ? ew.mul(e, g, a.raw) : ew.sumRepeat(e, tape.own(ew.mul(e, g, a.raw)), b.shape)) : null,
  ]);
}

export function scale(tape: Tape, a: Tensor, alpha: number): Tensor {
  const e = tape.engine;
  return tape.record('scale', ew.scale(e, a.raw, alpha), [a], (g) => [ew.scale(e, g, alpha)]);
}
