// Byte-level tokenizer: token id = UTF-8 byte (0..255). Text shards are already byte tokens, so a
// model can train on shard.bytes directly; encode/decode are for prompts and samples.

const encoder = new TextEncoder();
// Not fatal: a sampled byte sequence may cut a multi-byte character; it decodes to U+FFFD.
const decoder = new TextDecoder('utf-8', { fatal: false });

export const byteTokenizer = {
  vocabSize: 256 as const,
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
};
