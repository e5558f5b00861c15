import * as ops from '../../ops/attention';
import type { Tape } from '../tape';
import type { Tensor } from '../tensor';

export type { AttentionOpts } from '../../ops/attention';

/** Multi-head self-attention on packed qkv [B, T, 3C] → [B, T, C]; probs (or the lse) are saved on the tape. */
export function attention(tape: Tape, qkv: Tensor, options: ops.AttentionOpts): Tensor {
  const e = tape.engine;
  // one variant for both passes (a tuned engine's pick, resolved once)
  const opts = { ...options, variant: ops.attentionVariant(e, qkv.raw, options) };
  const { out, probs } = ops.attention(e, qkv.raw, opts);
  tape.own(probs);
  // out: the 'fused' variant's backward reads the output (probs is then the lse [B, H, T])
  return tape.record('attention', out, [qkv], (g) => [ops.attentionBackward(e, g, qkv.raw, probs, opts, out)]);
}
