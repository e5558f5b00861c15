// Differentiable row ops: embedding lookup (backward: deterministic scatter-add of rows) and
// concatenation of rows (backward: the two row slices of the gradient).
import * as Emb from '../../ops/embedding';
import type { Tape } from '../tape';
import type { Tensor } from '../tensor';

/** table [V, C], idx u32 [N] (no gradient) → [N, C]. */
export function embedding(tape: Tape, table: Tensor, idx: Tensor): Tensor {
  const e = tape.engine;
  const rows = table.shape[0];
  return tape.record('embedding', Emb.gatherRows(e, table.raw, idx.raw), [table, idx], (g) => [
    table.requiresGrad ? Emb.scatterAddRows(e, g, idx.raw, rows) : null,
    null,
  ]);
}

/** [a; b]: a [Na, ...rest], b [Nb, ...rest] → [Na + Nb, ...rest]. */
export function concatRows(tape: Tape, a: Tensor, b: Tensor): Tensor {
  const e = tape.engine;
  const na = a.shape[0],
    nb = b.shape[0];
  return tape.record('concatRows', Emb.concatRows(e, a.raw, b.raw), [a, b], (g) => [
    a.requiresGrad ? Emb.sliceRows(e, g, 0, na) : null,
    b.requiresGrad ? Emb.sliceRows(e, g, na, nb) : null,
  ]);
}
