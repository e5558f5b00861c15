// Load the committed data shards from public/data in Node.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseShard, type ImageShard, type TextShard } from '../../src/data/shards';

export const DATA_DIR = join(import.meta.dirname, '..', '..', 'public', 'data');

export function textShard(domain: 'en' | 'code', split: 'train' | 'val' | 'test'): Uint8Array {
  const s = parseShard(readFileSync(join(DATA_DIR, `${domain}.${split}.bin`))) as TextShard;
  if (s.kind !== 'text') throw new Error(`${domain}.${split}.bin is not a text shard`);
  return s.bytes;
}

export function imageShard(split: 'train' | 'val' | 'test'): ImageShard {
  const s = parseShard(readFileSync(join(DATA_DIR, `fmnist.${split}.bin`)));
  if (s.kind !== 'images') throw new Error(`fmnist.${split}.bin is not an image shard`);
  return s;
}

/** The mixed English + code training text (the two train splits, one after the other). */
export function mixedTrainText(): Uint8Array {
  const en = textShard('en', 'train');
  const code = textShard('code', 'train');
  const all = new Uint8Array(en.length + code.length);
  all.set(en);
  all.set(code, en.length);
  return all;
}
