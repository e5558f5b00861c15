import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeIdx, IdxError, parseIdx, parseIdxImages, parseIdxLabels } from '../../src/data/idx';
import { parseShard, type ImageShard } from '../../src/data/shards';
import { randint, testSeed } from '../helpers/random';

const FMNIST_DIR = '/usr/share/datasets/fashion-mnist';
const readGz = (name: string) => new Uint8Array(gunzipSync(readFileSync(join(FMNIST_DIR, name))));

describe('IDX parser', () => {
  const seed = testSeed();

  it.each([[[1]], [[7]], [[3, 1, 5]], [[2, 28, 28]], [[1, 1, 1, 1]]])(`round-trips dims %j (seed ${seed})`, (dims) => {
    const size = dims.reduce((a, b) => a * b, 1);
    const data = Uint8Array.from(randint(size, seed, 256));
    const a = parseIdx(encodeIdx(dims, data));
    expect(a.dims).toEqual(dims);
    expect(Array.from(a.data)).toEqual(Array.from(data));
    // An ArrayBuffer and an offset Uint8Array view parse the same way.
    const file = encodeIdx(dims, data);
    const padded = new Uint8Array(file.length + 3);
    padded.set(file, 3);
    expect(Array.from(parseIdx(padded.subarray(3)).data)).toEqual(Array.from(data));
    expect(parseIdx(file.slice().buffer).dims).toEqual(dims);
  });

  const good = encodeIdx([2, 3], Uint8Array.from([1, 2, 3, 4, 5, 6]));
  const patched = (f: (b: Uint8Array) => void) => {
    const b = good.slice();
    f(b);
    return b;
  };
  it.each([
    ['shorter than the magic', new Uint8Array([0, 0, 8]), /too short for the 4-byte magic/],
    ['gzip data', Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0]), /gzip-compressed/],
    ['nonzero magic bytes', patched((b) => (b[1] = 1)), /first two bytes must be 0/],
    ['an f32 type code', patched((b) => (b[2] = 0x0d)), /type 0x0d \(f32\) is not supported/],
    ['an unknown type code', patched((b) => (b[2] = 0x42)), /type 0x42 \(unknown type\)/],
    ['zero dimensions', patched((b) => (b[3] = 0)), /0 dimensions/],
    ['a truncated header', good.slice(0, 10), /too short for its 2 dimensions/],
    ['a zero dimension', patched((b) => (b[7] = 0)), /dimension 0 is 0/],
    ['truncated data', good.slice(0, good.length - 1), /need 6 \(truncated\)/],
    ['trailing bytes', Uint8Array.from([...good, 9]), /need 6 \(trailing bytes\)/],
  ])('rejects %s', (_what, buf, msg) => {
    expect(() => parseIdx(buf)).toThrow(IdxError);
    expect(() => parseIdx(buf)).toThrow(msg);
  });

  it('checks the dimensionality of image and label files', () => {
    expect(() => parseIdxImages(good)).toThrow(/must have 3 dimensions/);
    expect(() => parseIdxLabels(good)).toThrow(/must have 1 dimension/);
    const img = parseIdxImages(encodeIdx([1, 2, 3], new Uint8Array(6)));
    expect([img.count, img.height, img.width]).toEqual([1, 2, 3]);
    expect(() => encodeIdx([2, 2], new Uint8Array(3))).toThrow(/need 4/);
    expect(() => encodeIdx([0], new Uint8Array(0))).toThrow(/not a positive u32/);
  });
});

describe('Fashion-MNIST test set (needs `apt-get install dataset-fashion-mnist`)', () => {
  it('parses the official files and matches the committed test shard', () => {
    const images = parseIdxImages(readGz('t10k-images-idx3-ubyte.gz'));
    const labels = parseIdxLabels(readGz('t10k-labels-idx1-ubyte.gz'));
    expect([images.count, images.height, images.width]).toEqual([10000, 28, 28]);
    expect(labels.length).toBe(10000);
    const perClass = new Array(10).fill(0);
    for (const l of labels) perClass[l]++;
    expect(perClass).toEqual(new Array(10).fill(1000)); // the published test set is balanced
    const shard = parseShard(readFileSync('public/data/fmnist.test.bin')) as ImageShard;
    expect(shard.kind).toBe('images');
    expect(Buffer.from(shard.labels).equals(Buffer.from(labels))).toBe(true);
    expect(Buffer.from(shard.images).equals(Buffer.from(images.images))).toBe(true);
  });
});
