// GPT-2's byte-level BPE (50,257 tokens: 50,000 merges + 256 bytes + <|endoftext|> = 50256), i.e.
// tiktoken's r50k_base, from the gpt-tokenizer package. Importing this module pulls in the ~1 MB
// merge table, so keep it out of code paths that only need bytes.
import { decode as r50kDecode, encode as r50kEncode } from 'gpt-tokenizer/encoding/r50k_base';

const VOCAB = 50257;
// Trap: by default gpt-tokenizer throws when the text contains "<|endoftext|>". Our corpora are
// plain text, so the string is encoded as ordinary characters (never as the special id 50256).
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

export const gpt2Tokenizer = {
  vocabSize: 50257 as const,
  encode(text: string): Uint32Array {
    return Uint32Array.from(r50kEncode(text, PLAIN_TEXT));
  },
  decode(ids: ArrayLike<number>): string {
    const list: number[] = new Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= VOCAB) throw new RangeError(`GPT-2 token ${id} at index ${i} is outside 0..${VOCAB - 1}`);
      list[i] = id;
    }
    return r50kDecode(list);
  },
};
