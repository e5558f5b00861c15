// One attention forward and backward on an engine, read back: what the attention variant tests
// compare (tests/browser/attention-*.test.ts).
import { attention as attentionFn } from '../../src/autograd/fn/attention';
import { mul } from '../../src/autograd/fn/elementwise';
import { Tape } from '../../src/autograd/tape';
import { param } from '../../src/autograd/tensor';
import type { Engine } from '../../src/backend/engine';
import { attention, attentionBackward, type AttentionOpts } from '../../src/ops/attention';

/** out, the saved tensor (probs, or the fused pass's lse) with its shape, and dqkv. */
export async function runAttention(e: Engine, qkv: Float32Array, dout: Float32Array, shape: number[], opts: AttentionOpts) {
  const [B, T, C3] = shape;
  const q = e.upload(qkv, shape);
  const f = attention(e, q, opts);
  const dq = attentionBackward(e, e.upload(dout, [B, T, C3 / 3]), q, f.probs, opts, f.out);
  return { out: await e.read(f.out), saved: await e.read(f.probs), savedShape: f.probs.shape, dqkv: await e.read(dq) };
}

export const isNaNMask = (a: ArrayLike<number>) => Array.from(a, (x) => Number.isNaN(x));

/**
 * ∂(Σ attention(qkv) ⊙ r)/∂qkv through the autograd wrapper (src/autograd/fn/attention.ts), which
 * saves what the variant's backward needs on the tape.
 */
export async function attentionGradThroughTape(
  e: Engine,
  qkv: Float32Array,
  r: Float32Array,
  shape: number[],
  opts: AttentionOpts,
): Promise<ArrayLike<number>> {
  const [B, T, C3] = shape;
  const x = param(e.upload(qkv, shape), 'qkv');
  const tape = new Tape(e);
  const y = mul(tape, attentionFn(tape, x, opts), tape.constant(e.upload(r, [B, T, C3 / 3])));
  tape.backward(y);
  const grad = await e.read(x.grad!);
  tape.dispose();
  x.zeroGrad();
  return grad;
}
