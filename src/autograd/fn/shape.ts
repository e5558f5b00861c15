import type { Tape } from '../tape';
import type { Tensor } from '../tensor';

/** Same data, another shape (no copy forward; the gradient is copied so it owns its storage). */
export function reshape(tape: Tape, x: Tensor, shape: readonly number[]): Tensor {
  const e = tape.engine;
  return tape.record('reshape', x.raw.view(shape), [x], (g) => {
    const out = e.empty(x.shape);
    e.copy(g, out);
    return [out];
  });
}
