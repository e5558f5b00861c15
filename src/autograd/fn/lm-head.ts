import * as ops from '../../ops/lm-head';
import type { Tape } from '../tape';
import type { Tensor } from '../tensor';

/**
 * Mean cross-entropy of the logits x · Wᵀ → a scalar Tensor [1], computed in chunks of vocabulary
 * rows (ops/lm-head.ts): neither the forward nor the backward holds an [N, V] logits tensor; the
 * tape keeps only the per-row log-sum-exp [N] and the backward recomputes each chunk's logits.
 * x [..., C], W [V, C] (the tied GPT-2 embedding), targets u32 [N] without gradient. dW is computed
 * only when W requires a gradient (a frozen W costs one chunked matmul less per chunk).
 */
export function lmHeadLoss(tape: Tape, x: Tensor, W: Tensor, targets: Tensor, opts: ops.LmHeadOpts = {}): Tensor {
  const e = tape.engine;
  if (targets.requiresGrad) throw new Error('lmHeadLoss: targets are class indices and cannot require a gradient');
  const { loss, lse } = ops.lmHeadLoss(e, x.raw, W.raw, targets.raw, opts);
  tape.own(lse);
  return tape.record('lmHeadLoss', loss, [x, W, targets], (g) => {
    const { dx, dW } = ops.lmHeadBackward(e, g, x.raw, W.raw, targets.raw, lse, { dx: x.requiresGrad, dW: W.requiresGrad }, opts);
    return [dx, dW, null];
  });
}
