import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { evalTextWindows, EVAL_BATCH, FMNIST_MEAN, FMNIST_STD, imageBatches, sampleImageBatch, sampleTextBatch, type TextBatch } from '../../src/data/batches';
import { gpt2Tokenizer } from '../../src/data/bpe';
import { byteTokenizer } from '../../src/data/byte-tokenizer';
import { crc32, encodeImageShard, encodeTextShard, parseShard, ShardError, type ImageShard, type TextShard } from '../../src/data/shards';
import { randint, testSeed } from '../helpers/random';

const DATA = 'public/data';
const load = (name: string) => new Uint8Array(readFileSync(join(DATA, name)));
const seed = testSeed();

function randomImages(count: number, height: number, width: number, numClasses: number, s: number): Omit<ImageShard, 'kind'> {
  return {
    count,
    height,
    width,
    numClasses,
    images: Uint8Array.from(randint(count * height * width, s, 256)),
    labels: Uint8Array.from(randint(count, s + 1, numClasses)),
  };
}

describe('shard format', () => {
  it('crc32 matches the standard check value and zlib', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    const bytes = Uint8Array.from(randint(1000, seed, 256));
    expect(crc32(bytes), `seed ${seed}`).toBe(zlibCrc32(bytes));
  });

  it.each([0, 1, 17, 4099])(`round-trips a text shard of %i bytes (seed ${seed})`, (n) => {
    const bytes = Uint8Array.from(randint(n, seed + n, 256));
    const file = encodeTextShard(bytes);
    expect(file.length).toBe(32 + n);
    const s = parseShard(file) as TextShard;
    expect(s.kind).toBe('text');
    expect(Array.from(s.bytes)).toEqual(Array.from(bytes));
    expect((parseShard(file.slice().buffer) as TextShard).bytes.length).toBe(n); // ArrayBuffer input
  });

  it.each([
    [1, 1, 1, 1],
    [3, 5, 7, 10],
    [2, 28, 28, 256],
  ])(`round-trips an image shard count %i, %ix%i, %i classes (seed ${seed})`, (count, h, w, k) => {
    const src = randomImages(count, h, w, k, seed);
    const file = encodeImageShard(src);
    // Parse from an offset view to catch byteOffset bugs.
    const padded = new Uint8Array(file.length + 5);
    padded.set(file, 5);
    const s = parseShard(padded.subarray(5)) as ImageShard;
    expect(s.kind).toBe('images');
    expect([s.count, s.height, s.width, s.numClasses]).toEqual([count, h, w, k]);
    expect(Array.from(s.images)).toEqual(Array.from(src.images));
    expect(Array.from(s.labels)).toEqual(Array.from(src.labels));
  });

  // Malformed files: each gets its own specific message.
  const text = encodeTextShard(new TextEncoder().encode('hello shards'));
  const image = encodeImageShard(randomImages(3, 2, 2, 4, 99));
  const u32 = (file: Uint8Array, offset: number, value: number) => {
    const b = file.slice();
    new DataView(b.buffer).setUint32(offset, value, true);
    return b;
  };
  const u16 = (file: Uint8Array, offset: number, value: number) => {
    const b = file.slice();
    new DataView(b.buffer).setUint16(offset, value, true);
    return b;
  };
  const withCrc = (file: Uint8Array) => u32(file, 28, crc32(file.subarray(32)));
  it.each([
    ['a file shorter than the header', text.slice(0, 31), /shorter than the 32-byte header/],
    ['a bad magic', Uint8Array.from([0x50, 0x4b, 3, 4, ...text.slice(4)]), /bad magic.*found 50 4b 03 04/],
    ['an unknown version', u16(text, 4, 2), /unsupported shard version 2/],
    ['an unknown kind', u16(text, 6, 3), /unknown shard kind 3/],
    ['a text shard with image fields', u32(text, 12, 5), /text shard has nonzero image fields/],
    ['a payload length that disagrees with the count', u32(text, 24, 11), /payload length 11 does not match the 12 bytes/],
    ['a truncated file', text.slice(0, text.length - 1), /header says 44 \(truncated\)/],
    ['trailing bytes', Uint8Array.from([...text, 0]), /header says 44 \(trailing bytes\)/],
    ['a corrupt payload', Uint8Array.from(text, (b, i) => (i === 40 ? b ^ 1 : b)), /CRC32 mismatch/],
    ['a corrupt CRC field', u32(text, 28, 0xdeadbeef), /header says deadbeef/],
    ['an image shard with zero width', u32(image, 16, 0), /zero dimension/],
    ['an image shard with 0 classes', u32(image, 20, 0), /numClasses 0 is outside 1..256/],
    ['an image shard with 300 classes', u32(image, 20, 300), /numClasses 300 is outside 1..256/],
    ['an image count that disagrees with the payload', u32(image, 8, 4), /does not match the 20 bytes/],
    ['a label not below numClasses', withCrc(u32(image, 20, 1)), /label \d at index \d is not below numClasses 1/],
  ])('rejects %s', (_what, buf, msg) => {
    expect(() => parseShard(buf)).toThrow(ShardError);
    expect(() => parseShard(buf)).toThrow(msg);
  });

  it('encodeImageShard rejects inconsistent inputs', () => {
    const ok = randomImages(2, 3, 3, 5, seed);
    expect(() => encodeImageShard({ ...ok, images: ok.images.subarray(1) })).toThrow(/images has 17 bytes, expected count\*height\*width = 18/);
    expect(() => encodeImageShard({ ...ok, labels: new Uint8Array(3) })).toThrow(/labels has 3 entries, expected count = 2/);
    expect(() => encodeImageShard({ ...ok, labels: Uint8Array.from([0, 5]) })).toThrow(/label 5 at index 1 is not below numClasses 5/);
    expect(() => encodeImageShard({ ...ok, height: 0, images: new Uint8Array(0) })).toThrow(/zero dimension/);
    expect(() => encodeImageShard({ ...ok, count: 1.5 })).toThrow(/count 1.5 is not a u32/);
  });
});

describe('tokenizers', () => {
  it('byte tokenizer round-trips UTF-8 and rejects non-bytes', () => {
    const text = 'Call me Ishmael — naïve “whale” 🐋\n';
    const ids = byteTokenizer.encode(text);
    expect(byteTokenizer.vocabSize).toBe(256);
    expect(ids.length).toBe(new TextEncoder().encode(text).length);
    expect(byteTokenizer.decode(ids)).toBe(text);
    expect(() => byteTokenizer.decode([65, 256])).toThrow(/byte token 256 at index 1 is outside 0..255/);
    expect(() => byteTokenizer.decode([-1])).toThrow(/outside 0..255/);
    expect(() => byteTokenizer.decode([1.5])).toThrow(/outside 0..255/);
  });

  it('GPT-2 BPE gives the known ids and round-trips prose and code', () => {
    expect(gpt2Tokenizer.vocabSize).toBe(50257);
    expect(Array.from(gpt2Tokenizer.encode('Hello world'))).toEqual([15496, 995]); // GPT-2 reference ids
    const prose = new TextDecoder().decode((parseShard(load('en.val.bin')) as TextShard).bytes.subarray(0, 2000));
    const code = new TextDecoder().decode((parseShard(load('code.val.bin')) as TextShard).bytes.subarray(0, 2000));
    for (const t of [prose, code]) {
      const ids = gpt2Tokenizer.encode(t);
      expect(ids.length).toBeLessThan(t.length); // BPE compresses
      expect(Math.max(...ids)).toBeLessThan(50257);
      expect(gpt2Tokenizer.decode(ids)).toBe(t);
    }
    // Plain text: the special string is not turned into the <|endoftext|> id.
    expect(Array.from(gpt2Tokenizer.encode('a<|endoftext|>b'))).not.toContain(50256);
    expect(() => gpt2Tokenizer.decode([50257])).toThrow(/GPT-2 token 50257 at index 0 is outside 0..50256/);
  });
});

function expectWindows(tokens: Uint8Array | Uint32Array, b: TextBatch, starts: number[]): void {
  for (let r = 0; r < b.batch; r++) {
    for (let t = 0; t < b.context; t++) {
      expect(b.inputs[r * b.context + t]).toBe(tokens[starts[r] + t]);
      expect(b.targets[r * b.context + t]).toBe(tokens[starts[r] + t + 1]);
    }
  }
}

/** Recover each row's start: tokens are 0..N-1 so the first input is the start. */
const rowStarts = (b: TextBatch) => Array.from({ length: b.batch }, (_, r) => b.inputs[r * b.context]);

describe('text batches', () => {
  const N = 1001;
  const iota = Uint32Array.from({ length: N }, (_, i) => i);

  it(`sampleTextBatch is deterministic in (seed, step), windows are contiguous and in range (seed ${seed})`, () => {
    const a = sampleTextBatch(iota, 5, 13, seed, 7);
    const b = sampleTextBatch(iota, 5, 13, seed, 7);
    expect(Array.from(a.inputs)).toEqual(Array.from(b.inputs));
    expect(Array.from(a.targets)).toEqual(Array.from(b.targets));
    expect([a.batch, a.context, a.inputs.length, a.targets.length]).toEqual([5, 13, 65, 65]);
    const starts = rowStarts(a);
    for (const s of starts) expect(s + 13).toBeLessThanOrEqual(N - 1);
    expectWindows(iota, a, starts);
    expect(Array.from(sampleTextBatch(iota, 5, 13, seed, 8).inputs)).not.toEqual(Array.from(a.inputs));
    expect(Array.from(sampleTextBatch(iota, 5, 13, (seed + 1) >>> 0, 7).inputs)).not.toEqual(Array.from(a.inputs));
    // Byte tokens straight from a shard work the same way.
    const bytes = (parseShard(load('en.val.bin')) as TextShard).bytes;
    const c = sampleTextBatch(bytes, 3, 64, seed, 0);
    for (let r = 0; r < 3; r++) {
      const row = c.inputs.subarray(r * 64, r * 64 + 64);
      const at = Buffer.from(bytes).indexOf(Buffer.from(Uint8Array.from(row)));
      expect(at).toBeGreaterThanOrEqual(0);
      expect(c.targets[r * 64 + 63]).toBe(bytes[at + 64]);
    }
  });

  it('sampleTextBatch reaches every valid start, including the last, and none beyond', () => {
    const tokens = Uint8Array.from({ length: 10 }, (_, i) => i);
    const seen = new Set<number>();
    for (let step = 0; step < 40; step++) for (const s of rowStarts(sampleTextBatch(tokens, 8, 3, seed, step))) seen.add(s);
    expect([...seen].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // Size-1 edge: exactly context+1 tokens leaves one window.
    const one = sampleTextBatch(Uint8Array.from([4, 5, 6]), 2, 2, seed, 3);
    expect(Array.from(one.inputs)).toEqual([4, 5, 4, 5]);
    expect(Array.from(one.targets)).toEqual([5, 6, 5, 6]);
  });

  it('rejects bad arguments with specific messages', () => {
    expect(() => sampleTextBatch(iota, 1, 1000, 0, 0)).not.toThrow();
    expect(() => sampleTextBatch(iota, 1, 1001, 0, 0)).toThrow(/need at least context\+1 = 1002 tokens/);
    expect(() => sampleTextBatch(iota, 0, 4, 0, 0)).toThrow(/batch must be an integer/);
    expect(() => sampleTextBatch(iota, 2, 0, 0, 0)).toThrow(/context must be an integer/);
    expect(() => sampleTextBatch(iota, 2, 4, -1, 0)).toThrow(/seed must be an integer/);
    expect(() => sampleTextBatch(iota, 2, 4, 0, 0.5)).toThrow(/step must be an integer/);
    expect(() => evalTextWindows(iota, 4, 0)).toThrow(/maxWindows must be an integer/);
  });

  it('evalTextWindows: stride-context windows in order, each target once, batches of 32', () => {
    const context = 7;
    const batches = evalTextWindows(iota, context); // floor(1000/7) = 142 windows
    expect(batches.map((b) => b.batch)).toEqual([32, 32, 32, 32, 14]);
    const starts = batches.flatMap((b) => rowStarts(b));
    expect(starts).toEqual(Array.from({ length: 142 }, (_, w) => w * context));
    batches.forEach((b, i) => expectWindows(iota, b, starts.slice(i * EVAL_BATCH)));
    const targets = batches.flatMap((b) => Array.from(b.targets));
    expect(targets).toEqual(Array.from({ length: 142 * context }, (_, i) => i + 1));
    expect(evalTextWindows(iota, context, 33).map((b) => b.batch)).toEqual([32, 1]);
    // Edge: exactly context+1 tokens gives one window; N = 2*context gives still one.
    expect(evalTextWindows(iota.subarray(0, 8), 7).map((b) => b.batch)).toEqual([1]);
    expect(evalTextWindows(iota.subarray(0, 14), 7).map((b) => b.batch)).toEqual([1]);
    expect(evalTextWindows(iota.subarray(0, 15), 7).map((b) => b.batch)).toEqual([2]);
  });
});

describe('image batches', () => {
  const s: ImageShard = { kind: 'images', ...randomImages(5, 3, 2, 10, seed) };
  const norm = (x: number) => (x / 255 - FMNIST_MEAN) / FMNIST_STD;

  it(`imageBatches covers every image once, in order, normalised (seed ${seed})`, () => {
    const batches = imageBatches(s, 2);
    expect(batches.map((b) => b.batch)).toEqual([2, 2, 1]);
    const images = batches.flatMap((b) => Array.from(b.images));
    const want = Array.from(s.images, (x) => Math.fround(norm(x)));
    expect(images).toEqual(want);
    expect(batches.flatMap((b) => Array.from(b.labels))).toEqual(Array.from(s.labels));
    expect(imageBatches(s, 100).map((b) => b.batch)).toEqual([5]);
    expect(() => imageBatches(s, 0)).toThrow(/batch must be an integer/);
  });

  it('sampleImageBatch is deterministic in (seed, step) and draws real images with their labels', () => {
    const a = sampleImageBatch(s, 16, seed, 3);
    expect(Array.from(a.images)).toEqual(Array.from(sampleImageBatch(s, 16, seed, 3).images));
    expect(a.images.length).toBe(16 * 6);
    const seen = new Set<number>();
    for (let r = 0; r < 16; r++) {
      const row = Array.from(a.images.subarray(r * 6, r * 6 + 6));
      const k = [0, 1, 2, 3, 4].find((i) => Array.from(s.images.subarray(i * 6, i * 6 + 6), (x) => Math.fround(norm(x))).join() === row.join());
      expect(k, `row ${r} is one of the shard's images`).not.toBeUndefined();
      expect(a.labels[r]).toBe(s.labels[k!]);
      seen.add(k!);
    }
    expect(seen.size).toBeGreaterThan(1);
    const b = sampleImageBatch(s, 16, seed, 4);
    expect(Array.from(b.labels).join() + Array.from(b.images).join()).not.toBe(Array.from(a.labels).join() + Array.from(a.images).join());
    expect(() => sampleImageBatch(s, 2, 1.5, 0)).toThrow(/seed must be an integer/);
  });

  it('normalised Fashion-MNIST train pixels have mean ≈ 0 and std ≈ 1', () => {
    const train = parseShard(load('fmnist.train.bin')) as ImageShard;
    const sub: ImageShard = { ...train, count: 500, images: train.images.subarray(0, 500 * 784), labels: train.labels.subarray(0, 500) };
    const all = imageBatches(sub, 500)[0].images;
    let m = 0;
    for (const x of all) m += x;
    m /= all.length;
    let v = 0;
    for (const x of all) v += (x - m) ** 2;
    expect(Math.abs(m)).toBeLessThan(0.05);
    expect(Math.abs(Math.sqrt(v / all.length) - 1)).toBeLessThan(0.05);
  });
});
