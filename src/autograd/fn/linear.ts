// Differentiable matmul and linear layers. Backward passes are matmuls with transpose flags (no
// transposed copies); weight gradients come back in the weight's own stored layout.
import { sumRepeat } from '../../ops/elementwise';
import * as mm from '../../ops/matmul';
import type { Tape } from '../tape';
import type { Tensor } from '../tensor';

/**
 * out = op(a) · op(b), shapes as in ops/matmul (2-D, batched with identical leading dims, or a's
 * leading dims folded into rows when b is 2-D).
 *
 * With Â = op(A) [M,K], B̂ = op(B) [K,N], G = ∂L/∂out: ∂Â = G·B̂ᵀ, ∂B̂ = Âᵀ·G, and a stored-transposed
 * operand gets the transpose of that, which is again one matmul with flipped flags.
 */
export function matmul(tape: Tape, a: Tensor, b: Tensor, opts: { transA?: boolean; transB?: boolean } = {}): Tensor {
  const e = tape.engine;
  const tA = opts.transA ?? false,
    tB = opts.transB ?? false;
  const geo = mm.matmulGeometry(a.shape, b.shape, { transA: tA, transB: tB });
  // Folded case (a rank > 2, b rank 2): b's gradient sums over all folded rows, so both operands of
  // that matmul are read as flat matrices. In the batched case every matmul stays batched.
  const folded = !geo.batchedA && a.shape.length > 2;
  const mmB = folded ? mm.matmulFlat : mm.matmul;
  return tape.record('matmul', mm.matmul(e, a.raw, b.raw, opts), [a, b], (g) => [
    a.requiresGrad
      ? tA
        ? mm.matmul(e, b.raw, g, { transA: tB, transB: true }) // ∂A = (G·B̂ᵀ)ᵀ = B̂·Gᵀ  [K,M]
        : mm.matmul(e, g, b.raw, { transB: !tB }) // ∂A = G·B̂ᵀ  [M,K]
      : null,
    b.requiresGrad
      ? tB
        ? mmB(e, g, a.raw, { transA: true, transB: tA }) // ∂B = (Âᵀ·G)ᵀ = Gᵀ·Â  [N,K]
        : mmB(e, a.raw, g, { transA: !tA }) // ∂B = Âᵀ·G  [K,N]
      : null,
  ]);
}

/** Hugging Face weight layouts: 'out_in' = torch nn.Linear [out,in] (y = x·Wᵀ + b); 'in_out' = GPT-2 Conv1D [in,out] (y = x·W + b). */
export type WeightLayout = 'out_in' | 'in_out';

/** x [..., in] → [..., out] with the weight in its stored layout and an optional bias [out]. */
export function linear(tape: Tape, x: Tensor, w: Tensor, bias: Tensor | null, layout: WeightLayout): Tensor {
  const e = tape.engine;
  if (layout !== 'out_in' && layout !== 'in_out') throw new Error(`linear: unknown weight layout '${String(layout)}' (use 'out_in' or 'in_out')`);
  if (w.shape.length !== 2) throw new Error(`linear: weight must be 2-D (${layout}), got shape [${w.shape.join(', ')}]`);
  const outIn = layout === 'out_in';
  const [nOut, nIn] = outIn ? w.shape : [w.shape[1], w.shape[0]];
  if (x.shape.length < 2) throw new Error(`linear: x must have rank ≥ 2 ([..., ${nIn}]), got [${x.shape.join(', ')}]`);
  const xin = x.shape[x.shape.length - 1];
  if (xin !== nIn) {
    throw new Error(`linear: x's last dim is ${xin} but the ${layout} weight [${w.shape.join(', ')}] expects ${nIn} inputs`);
  }
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== nOut)) {
    throw new Error(`linear: bias must have shape [${nOut}], got [${bias.shape.join(', ')}]`);
  }
  const y = mm.matmul(e, x.raw, w.raw, { transB: outIn, bias: bias?.raw });
  const inputs = bias ? [x, w, bias] : [x, w];
  return tape.record('linear', y, inputs, (g) => [
    // ∂x = G·Wᵀ in logical terms: [.., out] · [out, in]
    x.requiresGrad ? mm.matmul(e, g, w.raw, { transB: !outIn }) : null,
    // ∂W over all folded rows: out_in → Gᵀ·X [out,in]; in_out → Xᵀ·G [in,out]
    w.requiresGrad ? (outIn ? mm.matmulFlat(e, g, x.raw, { transA: true }) : mm.matmulFlat(e, x.raw, g, { transA: true })) : null,
    ...(bias ? [bias.requiresGrad ? sumRepeat(e, g, [nOut]) : null] : []),
  ]);
}
