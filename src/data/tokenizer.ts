// The model's tokenizer, chosen by its vocabulary: 256 → bytes (the lab's own models), 50257 →
// GPT-2's BPE (every Hugging Face GPT-2 checkpoint: gpt2, distilgpt2, gpt2-medium, their fine-tunes).
// Any other vocabulary is refused by size: the lab cannot know which tokenizer made it.
import { TOKENIZER_KINDS, type TokenizerKind } from '../lab/names';

export interface Tokenizer {
  kind: TokenizerKind;
  vocabSize: number;
  encode(text: string): Uint32Array;
  decode(ids: ArrayLike<number>): string;
  /** UTF-8 bytes of each token id (bits per byte divides the loss by the bytes the targets cover) */
  byteLengths(): Uint8Array;
}

export class TokenizerError extends Error {
  override name = 'TokenizerError';
}

export const TOKENIZER_VOCAB: Record<TokenizerKind, number> = { bytes: 256, gpt2: 50257 };
export const TOKENIZER_LABEL: Record<TokenizerKind, string> = { bytes: 'bytes (UTF-8, 256 tokens)', gpt2: 'GPT-2 BPE (r50k, 50,257 tokens)' };

/** The tokenizer kind of a vocabulary size, or a TokenizerError naming the size. */
export function tokenizerKind(vocabSize: number): TokenizerKind {
  const kind = TOKENIZER_KINDS.find((k) => TOKENIZER_VOCAB[k] === vocabSize);
  if (!kind) {
    const known = TOKENIZER_KINDS.map((k) => `${TOKENIZER_VOCAB[k]} (${TOKENIZER_LABEL[k]})`).join(' or ');
    throw new TokenizerError(`this GPT has a ${vocabSize}-token vocabulary; the lab has tokenizers for ${known} only, so it cannot read its text`);
  }
  return kind;
}

/** The tokenizer itself; GPT-2's merge table (~1 MB) is loaded only when asked for. */
export async function loadTokenizer(kind: TokenizerKind): Promise<Tokenizer> {
  if (kind === 'bytes') return (await import('./byte-tokenizer')).byteTokenizer;
  return (await import('./bpe')).gpt2Tokenizer;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A text shard (UTF-8 bytes) as token ids, the whole text at once: BPE tokens depend on their
 * neighbours, so cutting the text into pieces would change them at each cut. For bytes the shard is
 * already the tokens (no copy).
 */
export function tokenizeText(bytes: Uint8Array, tok: Tokenizer, what: string): Uint8Array | Uint32Array {
  if (tok.kind === 'bytes') return bytes;
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new TokenizerError(`${what} is not valid UTF-8 text, so it cannot be tokenized`);
  }
  return tok.encode(text);
}
