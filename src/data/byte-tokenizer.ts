// Byte-level tokenizer: token id = UTF-8 byte (0..255). Text shards are already byte tokens, so a
// model can train on shard.bytes directly; encode/decode are for prompts and samples.
import type { Tokenizer } from './tokenizer';

const encoder = new TextEncoder();
// Not fatal: a sampled byte sequence may cut a multi-byte character; it decodes to U+FFFD.
const decoder = new TextDecoder('utf-8', { fatal: false });
const ONE_BYTE = new Uint8Array(256).fill(1);

export const byteTokenizer: Tokenizer = {
  kind: 'bytes',
  vocabSize: 256,
  encode(text: string): Uint32Array {
    return Uint32Array.from(encoder.encode(text));
  },
  decode(ids: ArrayLike<number>): string {
    const bytes = new Uint8Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id > 255) throw new RangeError(`byte token ${id} at index ${i} is outside 0..255`);
      bytes[i] = id;
    }
    return decoder.decode(bytes);
  },
  byteLengths: () => ONE_BYTE,
};
