// The data committed in public/data: manifest, CRCs, a byte-exact rebuild by tools/build-data.ts, the
// Fashion-MNIST subsets, and an independent Python reader. Deterministic (no random inputs), so it is
// kept apart from data.test.ts, whose random inputs the seed sweep (npm run test:seeds) varies.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FMNIST_MEAN, FMNIST_STD } from '../../src/data/batches';
import { crc32, parseShard, type ImageShard, type TextShard } from '../../src/data/shards';
import { buildData, codeSource, englishSource, manifestJson, pixelStats, type Manifest } from '../../tools/data/build';

const DATA = 'public/data';
const manifest = JSON.parse(readFileSync(join(DATA, 'manifest.json'), 'utf8')) as Manifest;
const load = (name: string) => new Uint8Array(readFileSync(join(DATA, name)));
const hex8 = (x: number) => x.toString(16).padStart(8, '0');

describe('committed data (public/data)', () => {
  it('every file matches the manifest size and CRCs and parses', () => {
    const names = manifest.files.map((f) => f.name).sort();
    const want = ['en', 'code', 'fmnist'].flatMap((d) => ['train', 'val', 'test'].map((s) => `${d}.${s}.bin`)).sort();
    expect(names).toEqual(want);
    for (const f of manifest.files) {
      const file = load(f.name);
      expect(file.length, f.name).toBe(f.bytes);
      expect(hex8(crc32(file)), f.name).toBe(f.crc32);
      expect(hex8(crc32(file.subarray(32))), f.name).toBe(f.payloadCrc32);
      const s = parseShard(file);
      expect(s.kind, f.name).toBe(f.kind);
      if (s.kind === 'images') expect(s.count, f.name).toBe(f.count);
    }
  });

  it('the tool rebuilds exactly the committed bytes (deterministic, same sources)', () => {
    const built = buildData();
    for (const [name, bytes] of built.files) {
      expect(Buffer.from(bytes).equals(Buffer.from(load(name))), `${name} differs: rerun npm run data?`).toBe(true);
    }
    expect(manifestJson(built.manifest)).toBe(readFileSync(join(DATA, 'manifest.json'), 'utf8'));
  });

  it.each([
    ['en', englishSource],
    ['code', codeSource],
  ] as const)('%s: train/val/test are disjoint contiguous ranges of the source, in order', (domain, source) => {
    const src = source();
    const offsets = manifest.sources[domain].splitOffsets as Record<string, [number, number]>;
    expect(offsets.train[0]).toBe(0);
    expect(offsets.val[0]).toBe(offsets.train[1]);
    expect(offsets.test[0]).toBe(offsets.val[1]);
    expect(offsets.test[1]).toBe(src.length);
    for (const split of ['train', 'val', 'test']) {
      const [a, b] = offsets[split];
      expect(b - a, `${domain}.${split} is a real split`).toBeGreaterThan(0.04 * src.length);
      const shard = parseShard(load(`${domain}.${split}.bin`)) as TextShard;
      expect(Buffer.from(shard.bytes).equals(Buffer.from(src.subarray(a, b))), `${domain}.${split}`).toBe(true);
      if (a > 0) expect(src[a - 1], 'splits start at a line').toBe(0x0a);
      // Each split is valid UTF-8 on its own.
      expect(() => new TextDecoder('utf-8', { fatal: true }).decode(shard.bytes)).not.toThrow();
    }
    // The first validation line does not occur in the training shard (no duplicated copy of the text).
    const val = parseShard(load(`${domain}.val.bin`)) as TextShard;
    const train = parseShard(load(`${domain}.train.bin`)) as TextShard;
    const probe = Buffer.from(val.bytes.subarray(0, 200));
    expect(Buffer.from(train.bytes).indexOf(probe)).toBe(-1);
  });

  it('Fashion-MNIST train/val subsets are disjoint, class-balanced, and the stats match the constants', () => {
    const { trainIndices, valIndices, mean, std, numClasses } = manifest.fmnist;
    expect(trainIndices.length).toBe(12000);
    expect(valIndices.length).toBe(2000);
    const all = new Set([...trainIndices, ...valIndices]);
    expect(all.size).toBe(14000);
    for (const i of all) expect(Number.isInteger(i) && i >= 0 && i < 60000).toBe(true);
    const train = parseShard(load('fmnist.train.bin')) as ImageShard;
    const val = parseShard(load('fmnist.val.bin')) as ImageShard;
    for (const [s, perClass] of [
      [train, 1200],
      [val, 200],
    ] as const) {
      const counts = new Array(numClasses).fill(0);
      for (const l of s.labels) counts[l]++;
      expect(counts).toEqual(new Array(numClasses).fill(perClass));
    }
    const stats = pixelStats(train.images);
    expect(Math.abs(stats.mean - mean)).toBeLessThan(1e-6);
    expect(Math.abs(stats.std - std)).toBeLessThan(1e-6);
    expect(Math.abs(FMNIST_MEAN - mean)).toBeLessThan(1e-4);
    expect(Math.abs(FMNIST_STD - std)).toBeLessThan(1e-4);
  });

  it('an independent Python reader agrees on headers, first bytes, labels and CRCs', () => {
    const names = ['en.val.bin', 'code.test.bin', 'fmnist.val.bin', 'fmnist.test.bin'];
    const out = execFileSync('python3', ['tests/python/read_shards.py', ...names.map((n) => join(DATA, n))], { encoding: 'utf8' });
    const rows = JSON.parse(out) as Array<Record<string, unknown>>;
    expect(rows.length).toBe(names.length);
    names.forEach((name, i) => {
      const py = rows[i];
      const entry = manifest.files.find((f) => f.name === name)!;
      expect(py.crc32, name).toBe(entry.payloadCrc32);
      const s = parseShard(load(name));
      expect(py.kind, name).toBe(s.kind);
      if (s.kind === 'text') {
        expect(py.count).toBe(s.bytes.length);
        expect(py.first).toEqual(Array.from(s.bytes.subarray(0, 16)));
      } else {
        expect([py.count, py.height, py.width, py.numClasses]).toEqual([s.count, s.height, s.width, s.numClasses]);
        expect(py.firstLabels).toEqual(Array.from(s.labels.subarray(0, 16)));
        expect(py.image0Row).toEqual(Array.from(s.images.subarray(14 * s.width, 15 * s.width)));
        const counts = new Array(s.numClasses).fill(0);
        for (const l of s.labels) counts[l]++;
        expect(py.labelCounts).toEqual(counts);
      }
    });
  });

  it('the Python reader rejects a corrupt file', () => {
    const bad = join('/tmp', `hE-bad-${process.pid}.bin`);
    const file = load('en.val.bin');
    file[100] ^= 0xff;
    writeFileSync(bad, file);
    try {
      expect(() => execFileSync('python3', ['tests/python/read_shards.py', bad], { stdio: 'pipe' })).toThrow(/CRC mismatch/);
    } finally {
      rmSync(bad, { force: true });
    }
  });
});
