import * as ops from '../../ops/loss';
import type { Tape } from '../tape';
import type { Tensor } from '../tensor';

/**
 * Mean cross-entropy → a scalar Tensor [1]. `targets` is a u32 Tensor without gradient. The
 * backward reads the incoming gradient on the GPU (no readback).
 */
export function crossEntropy(tape: Tape, logits: Tensor, targets: Tensor): Tensor {
  const e = tape.engine;
  if (targets.requiresGrad) throw new Error('crossEntropy: targets are class indices and cannot require a gradient');
  const { loss, lse, rowLoss } = ops.crossEntropy(e, logits.raw, targets.raw);
  tape.own(lse);
  tape.own(rowLoss);
  return tape.record('crossEntropy', loss, [logits, targets], (g) => [ops.crossEntropyBackward(e, g, logits.raw, targets.raw, lse), null]);
}
