// The model's tokenizer, chosen by vocabulary (src/data/tokenizer.ts): which sizes have one, and the
// UTF-8 bytes per GPT-2 token that bits per byte divides by — checked on the lab's real English and
// code text and on random pieces of it (multi-byte characters cut anywhere).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gpt2Tokenizer } from '../../src/data/bpe';
import { byteTokenizer } from '../../src/data/byte-tokenizer';
import { parseShard, type TextShard } from '../../src/data/shards';
import { loadTokenizer, tokenizeText, tokenizerKind, TokenizerError } from '../../src/data/tokenizer';
import { randint, testSeed } from '../helpers/random';

const shardText = (name: string) => (parseShard(new Uint8Array(readFileSync(join('public/data', name)))) as TextShard).bytes;
const utf8Bytes = (s: string) => new TextEncoder().encode(s).length;
const tokenBytes = (ids: Uint32Array) => ids.reduce((a, t) => a + gpt2Tokenizer.byteLengths()[t], 0);

describe('tokenizerFor a vocabulary', () => {
  it('256 → bytes, 50257 → GPT-2 BPE, anything else is refused naming the size', async () => {
    expect(tokenizerKind(256)).toBe('bytes');
    expect(tokenizerKind(50257)).toBe('gpt2');
    expect(await loadTokenizer('bytes')).toBe(byteTokenizer);
    expect(await loadTokenizer('gpt2')).toBe(gpt2Tokenizer);
    for (const v of [255, 257, 50256, 50304, 32000]) {
      expect(() => tokenizerKind(v)).toThrow(TokenizerError);
      expect(() => tokenizerKind(v)).toThrow(`this GPT has a ${v}-token vocabulary`);
    }
  });

  it('byte-level text is its own tokens (no copy); invalid UTF-8 is refused by name for BPE', () => {
    const b = shardText('en.val.bin');
    expect(tokenizeText(b, byteTokenizer, 'x')).toBe(b);
    expect(() => tokenizeText(Uint8Array.of(0x61, 0xff, 0x62), gpt2Tokenizer, 'data/x.bin')).toThrow(
      new TokenizerError('data/x.bin is not valid UTF-8 text, so it cannot be tokenized'),
    );
  });
});

describe('GPT-2 token byte lengths', () => {
  it('the bytes of the tokens of the whole English and code splits add up to the text', () => {
    for (const name of ['en.val.bin', 'code.val.bin', 'en.train.bin']) {
      const bytes = shardText(name);
      const ids = tokenizeText(bytes, gpt2Tokenizer, name) as Uint32Array;
      expect(tokenBytes(ids), name).toBe(bytes.length);
    }
    // the 256 single-byte tokens are one byte each; <|endoftext|> covers no text
    const lengths = gpt2Tokenizer.byteLengths();
    expect(lengths.length).toBe(50257);
    expect(lengths[50256]).toBe(0);
    expect(Math.min(...lengths.subarray(0, 50256))).toBe(1);
  });

  it('and for random pieces of text with multi-byte characters', () => {
    const seed = testSeed();
    // code points, so a piece never splits a surrogate pair
    const text = Array.from(new TextDecoder().decode(shardText('en.train.bin')));
    // a piece of text containing non-ASCII characters by construction (start next to one)
    const wide = text.flatMap((c, i) => (c.codePointAt(0)! > 0x7f ? [i] : []));
    expect(wide.length).toBeGreaterThan(10);
    const picks = randint(40, seed, wide.length);
    const lens = randint(40, seed + 1, 400);
    for (let i = 0; i < picks.length; i++) {
      const start = Math.max(0, wide[picks[i]] - (lens[i] % 7));
      const piece = text.slice(start, start + 1 + lens[i]).join('') + ' é😀—';
      const ids = gpt2Tokenizer.encode(piece);
      expect(tokenBytes(ids), `seed ${seed}, piece at ${start}`).toBe(utf8Bytes(piece));
      expect(gpt2Tokenizer.decode(ids)).toBe(piece);
    }
  });
});
