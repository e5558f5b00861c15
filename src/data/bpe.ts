// GPT-2's byte-level BPE (50,257 tokens: 50,000 merges + 256 bytes + <|endoftext|> = 50256), i.e.
// tiktoken's r50k_base, from the gpt-tokenizer package. Importing this module pulls in the ~1 MB
// merge table, so keep it out of code paths that only need bytes: src/data/tokenizer.ts imports it
// dynamically, only for a model with GPT-2's vocabulary.
import r50kRanks from 'gpt-tokenizer/bpeRanks/r50k_base';
import { decode as r50kDecode, encode as r50kEncode } from 'gpt-tokenizer/encoding/r50k_base';
import type { Tokenizer } from './tokenizer';

const VOCAB = 50257;
const EOT = 50256;
// Trap: by default gpt-tokenizer throws when the text contains "<|endoftext|>". Our corpora are
// plain text, so the string is encoded as ordinary characters (never as the special id 50256).
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

let lengths: Uint8Array | null = null;
/**
 * UTF-8 bytes of every token (bits per byte needs the bytes each target covers). The rank table
 * holds a token as a string when its bytes are valid UTF-8 and as a byte array otherwise (a token
 * may hold part of a multi-byte character); id = rank for the 50,256 mergeable tokens.
 */
function tokenLengths(): Uint8Array {
  if (lengths) return lengths;
  const ranks = r50kRanks as (string | number[])[];
  if (ranks.length !== EOT) throw new Error(`gpt-tokenizer's r50k table has ${ranks.length} tokens, expected ${EOT}`);
  const enc = new TextEncoder();
  const out = new Uint8Array(VOCAB);
  ranks.forEach((v, id) => (out[id] = typeof v === 'string' ? enc.encode(v).length : v.length));
  out[EOT] = 0; // never produced from plain text
  return (lengths = out);
}

function checkIds(ids: ArrayLike<number>): number[] {
  const list: number[] = new Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= VOCAB) throw new RangeError(`GPT-2 token ${id} at index ${i} is outside 0..${VOCAB - 1}`);
    list[i] = id;
  }
  return list;
}

export const gpt2Tokenizer: Tokenizer = {
  kind: 'gpt2',
  vocabSize: VOCAB,
  encode(text: string): Uint32Array {
    return Uint32Array.from(r50kEncode(text, PLAIN_TEXT));
  },
  decode(ids: ArrayLike<number>): string {
    return r50kDecode(checkIds(ids));
  },
  byteLengths(): Uint8Array {
    return tokenLengths();
  },
};
