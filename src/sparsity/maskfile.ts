// Mask files: (a) safetensors with one U8 0/1 tensor per masked weight (keyed by its HF name),
// (b) a packed file of candidate indices (base-C digits, as many per u32 as fit: 2:4 → 12 per word,
// 0.667 bits/weight), (c) the resumable learning state (logits and Adam moments per site).
//
// (b) and (c) share one container, every field little-endian:
//   [0, 8)   magic ('MLLMPACK' or 'MLLMSTAT')
//   [8, 12)  u32 format version
//   [12, 16) u32 header bytes H (UTF-8 JSON padded with spaces to a multiple of 4)
//   [16, 20) u32 payload bytes P
//   [20, 24) u32 CRC-32 (IEEE) of everything after it: header and payload
//   [24, 24+H) header, then the payload (4-aligned within the file)
// Checks run in the order magic → version → length (truncation) → CRC → header fields, so a damaged
// file is reported as damaged before any of its numbers are trusted.
import { readSafetensors, writeSafetensors } from '../models/safetensors';
import type { RngPosition } from '../ops/rng';
import { groupLayout, type GroupLayout, type WeightLayout } from './layout';
import { nmPattern, type Pattern } from './patterns';
import { choiceFromMask, maskFromChoice } from './prior';

export class MaskFileError extends Error {
  override name = 'MaskFileError';
}

export interface MaskEntry {
  name: string;
  shape: number[];
  layout: WeightLayout;
  /** Weight-shaped 0/1. */
  mask: Uint8Array;
}

export interface MaskExpect {
  n: number;
  m: number;
  /** When given, the file's model name must match. */
  model?: string;
  weights: { name: string; shape: number[]; layout: WeightLayout }[];
}

export const PACKED_VERSION = 1;
export const STATE_VERSION = 1;
const PACKED_MAGIC = 'MLLMPACK';
const STATE_MAGIC = 'MLLMSTAT';
const SAFETENSORS_FORMAT = 'maskllm-mask';
const SAFETENSORS_VERSION = 1;
const PREFIX = 24;

// ---------------------------------------------------------------- CRC-32 (IEEE 802.3, reflected)

let crcTable: Uint32Array | null = null;
export function crc32(bytes: Uint8Array, crc = 0): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[i] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// ---------------------------------------------------------------- container

function writeContainer(magic: string, version: number, header: object, payload: Uint8Array): Uint8Array {
  let json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (4 - (json.length % 4)) % 4;
  if (pad) {
    const padded = new Uint8Array(json.length + pad).fill(0x20);
    padded.set(json);
    json = padded;
  }
  const out = new Uint8Array(PREFIX + json.length + payload.length);
  for (let i = 0; i < 8; i++) out[i] = magic.charCodeAt(i);
  out.set(json, PREFIX);
  out.set(payload, PREFIX + json.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(8, version, true);
  dv.setUint32(12, json.length, true);
  dv.setUint32(16, payload.length, true);
  dv.setUint32(20, crc32(out.subarray(PREFIX)), true);
  return out;
}

function readContainer(buf: Uint8Array, magic: string, version: number, what: string): { header: Record<string, unknown>; payload: Uint8Array } {
  if (!(buf instanceof Uint8Array)) throw new MaskFileError(`${what}: expected a Uint8Array`);
  if (buf.length < PREFIX) throw new MaskFileError(`${what}: truncated: ${buf.length} bytes, shorter than the ${PREFIX}-byte prefix`);
  const got = String.fromCharCode(...buf.subarray(0, 8));
  if (got !== magic) throw new MaskFileError(`${what}: not a ${what} (magic ${JSON.stringify(got)}, expected ${JSON.stringify(magic)})`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const v = dv.getUint32(8, true);
  if (v !== version) throw new MaskFileError(`${what}: format version ${v}, this build reads version ${version}`);
  const H = dv.getUint32(12, true),
    P = dv.getUint32(16, true);
  const want = PREFIX + H + P;
  if (buf.length < want) throw new MaskFileError(`${what}: truncated: ${buf.length} bytes, the prefix declares ${want} (header ${H}, payload ${P})`);
  if (buf.length > want) throw new MaskFileError(`${what}: ${buf.length - want} trailing bytes after the declared ${want}`);
  const crc = crc32(buf.subarray(PREFIX));
  const stored = dv.getUint32(20, true);
  if (crc !== stored) throw new MaskFileError(`${what}: CRC mismatch (stored ${hex(stored)}, computed ${hex(crc)}): the file is corrupted`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(PREFIX, PREFIX + H)));
  } catch (e) {
    throw new MaskFileError(`${what}: the header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new MaskFileError(`${what}: the header is not a JSON object`);
  return { header: header as Record<string, unknown>, payload: buf.subarray(PREFIX + H) };
}

const hex = (x: number) => '0x' + x.toString(16).padStart(8, '0');

// ---------------------------------------------------------------- shared validation

function patternOf(what: string, n: number, m: number): Pattern {
  try {
    return nmPattern(n, m);
  } catch (e) {
    throw new MaskFileError(`${what}: ${(e as Error).message}`);
  }
}

function layoutOf(what: string, name: string, shape: number[], layout: WeightLayout, m: number): GroupLayout {
  try {
    return groupLayout(shape, layout, m);
  } catch (e) {
    throw new MaskFileError(`${what}: weight '${name}': ${(e as Error).message}`);
  }
}

function choicesOf(what: string, name: string, mask: ArrayLike<number>, g: GroupLayout, p: Pattern): Uint32Array {
  try {
    return choiceFromMask(mask, g, p);
  } catch (e) {
    throw new MaskFileError(`${what}: weight '${name}' is not a ${p.n}:${p.m} mask: ${(e as Error).message}`);
  }
}

function checkEntries(what: string, entries: MaskEntry[], p: Pattern): { entry: MaskEntry; g: GroupLayout; choice: Uint32Array }[] {
  const seen = new Set<string>();
  return entries.map((entry) => {
    if (seen.has(entry.name)) throw new MaskFileError(`${what}: weight '${entry.name}' appears twice`);
    seen.add(entry.name);
    const g = layoutOf(what, entry.name, entry.shape, entry.layout, p.m);
    if (entry.mask.length !== g.rows * g.cols)
      throw new MaskFileError(
        `${what}: weight '${entry.name}': mask has ${entry.mask.length} elements, shape [${entry.shape.join(', ')}] has ${g.rows * g.cols}`,
      );
    return { entry, g, choice: choicesOf(what, entry.name, entry.mask, g, p) };
  });
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** The file's weights must be exactly the expected ones, with the same shapes and layouts. */
function matchWeights(what: string, model: string, got: { name: string; shape: number[]; layout: WeightLayout }[], expect: MaskExpect): void {
  const byName = new Map(got.map((w) => [w.name, w]));
  for (const w of expect.weights) {
    const f = byName.get(w.name);
    if (!f) throw new MaskFileError(`${what}: weight '${w.name}' is missing: the file is for another model ('${model}')`);
    if (!sameShape(f.shape, w.shape))
      throw new MaskFileError(`${what}: weight '${w.name}' has shape [${f.shape.join(', ')}] in the file, expected [${w.shape.join(', ')}]`);
    if (f.layout !== w.layout) throw new MaskFileError(`${what}: weight '${w.name}' has layout ${f.layout} in the file, expected ${w.layout}`);
  }
  const expected = new Set(expect.weights.map((w) => w.name));
  for (const w of got) {
    if (!expected.has(w.name))
      throw new MaskFileError(`${what}: the file has weight '${w.name}' that the model does not: the file is for another model ('${model}')`);
  }
}

function matchMeta(what: string, file: { n: number; m: number; model: string }, expect: MaskExpect): void {
  if (file.n !== expect.n || file.m !== expect.m)
    throw new MaskFileError(`${what}: the file holds ${file.n}:${file.m} masks, expected ${expect.n}:${expect.m}`);
  if (expect.model !== undefined && file.model !== expect.model)
    throw new MaskFileError(`${what}: the file is for model '${file.model}', expected '${expect.model}'`);
}

function isLayout(x: unknown): x is WeightLayout {
  return x === 'out_in' || x === 'in_out';
}

function isShape(x: unknown): x is number[] {
  return Array.isArray(x) && x.length === 2 && x.every((d) => Number.isInteger(d) && d > 0 && d < 2 ** 31);
}

// ---------------------------------------------------------------- (a) safetensors

export function exportMaskSafetensors(entries: MaskEntry[], meta: { n: number; m: number; model: string }): Uint8Array {
  const what = 'mask safetensors';
  const p = patternOf(what, meta.n, meta.m);
  const checked = checkEntries(what, entries, p);
  const layouts: Record<string, WeightLayout> = {};
  for (const { entry } of checked) layouts[entry.name] = entry.layout;
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let crc = 0;
  for (const e of sorted) crc = crc32(e.mask, crc);
  return writeSafetensors(
    entries.map((e) => ({ name: e.name, dtype: 'U8' as const, shape: [...e.shape], data: e.mask })),
    {
      format: SAFETENSORS_FORMAT,
      version: String(SAFETENSORS_VERSION),
      n: String(meta.n),
      m: String(meta.m),
      model: meta.model,
      layouts: JSON.stringify(layouts),
      crc32: String(crc),
    },
  );
}

export function importMaskSafetensors(buf: Uint8Array, expect: MaskExpect): MaskEntry[] {
  const what = 'mask safetensors';
  let file: ReturnType<typeof readSafetensors>;
  try {
    file = readSafetensors(buf);
  } catch (e) {
    throw new MaskFileError(`${what}: not a readable safetensors file (truncated or damaged): ${(e as Error).message}`);
  }
  const md = file.metadata;
  if (md.format !== SAFETENSORS_FORMAT) throw new MaskFileError(`${what}: metadata format is ${JSON.stringify(md.format)}, expected '${SAFETENSORS_FORMAT}'`);
  if (md.version !== String(SAFETENSORS_VERSION))
    throw new MaskFileError(`${what}: format version ${md.version}, this build reads version ${SAFETENSORS_VERSION}`);
  let layouts: Record<string, unknown>;
  try {
    layouts = JSON.parse(md.layouts ?? 'null');
  } catch {
    throw new MaskFileError(`${what}: metadata 'layouts' is not JSON`);
  }
  if (typeof layouts !== 'object' || layouts === null) throw new MaskFileError(`${what}: metadata 'layouts' is missing`);
  const n = Number(md.n),
    m = Number(md.m);
  // CRC over the masks in name order (the order writeSafetensors stores them in)
  const names = [...file.tensors.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let crc = 0;
  for (const name of names) crc = crc32(file.tensors.get(name)!.bytes, crc);
  if (String(crc) !== md.crc32) throw new MaskFileError(`${what}: CRC mismatch (stored ${md.crc32}, computed ${crc}): the file is corrupted`);
  matchMeta(what, { n, m, model: md.model ?? '' }, expect);
  const got = names.map((name) => {
    const t = file.tensors.get(name)!;
    if (t.dtype !== 'U8') throw new MaskFileError(`${what}: weight '${name}' has dtype ${t.dtype}, expected U8`);
    const layout = layouts[name];
    if (!isLayout(layout)) throw new MaskFileError(`${what}: weight '${name}' has no valid layout in the metadata`);
    return { name, shape: t.shape, layout, bytes: t.bytes };
  });
  matchWeights(what, md.model ?? '', got, expect);
  const p = patternOf(what, n, m);
  const byName = new Map(got.map((w) => [w.name, w]));
  return expect.weights.map((w) => {
    const f = byName.get(w.name)!;
    const mask = Uint8Array.from(f.bytes);
    choicesOf(what, w.name, mask, layoutOf(what, w.name, w.shape, w.layout, m), p);
    return { name: w.name, shape: [...w.shape], layout: w.layout, mask };
  });
}

// ---------------------------------------------------------------- (b) packed candidate indices

/** Base-C digits per u32: the largest d with C^d ≤ 2^32 (2:4 → 12, 2:8 → 6, 4:8 → 5). */
export function digitsPerWord(candidates: number): number {
  let d = 0;
  let v = 1;
  while (v * candidates <= 2 ** 32) {
    v *= candidates;
    d++;
  }
  return d;
}

export function exportMaskPacked(entries: MaskEntry[], meta: { n: number; m: number; model: string }): Uint8Array {
  const what = 'packed mask file';
  const p = patternOf(what, meta.n, meta.m);
  const C = p.candidates.length;
  const checked = checkEntries(what, entries, p);
  const total = checked.reduce((s, x) => s + x.g.groups, 0);
  const d = digitsPerWord(C);
  const words = new Uint32Array(Math.ceil(total / d));
  // All groups of all weights form one digit stream, least significant digit first within a word.
  // Word values stay below 2^32 ≤ 2^53, so double arithmetic is exact.
  let j = 0;
  let place = 1;
  let acc = 0;
  for (const { choice } of checked) {
    for (let i = 0; i < choice.length; i++) {
      acc += choice[i] * place;
      place *= C;
      if (++j % d === 0) {
        words[j / d - 1] = acc;
        acc = 0;
        place = 1;
      }
    }
  }
  if (j % d !== 0) words[words.length - 1] = acc;
  const header = {
    format: 'maskllm-packed',
    n: meta.n,
    m: meta.m,
    model: meta.model,
    candidates: C,
    digitsPerWord: d,
    groups: total,
    weights: checked.map(({ entry, g }) => ({ name: entry.name, shape: [...entry.shape], layout: entry.layout, groups: g.groups })),
  };
  return writeContainer(PACKED_MAGIC, PACKED_VERSION, header, new Uint8Array(words.buffer));
}

export function importMaskPacked(buf: Uint8Array, expect: MaskExpect): MaskEntry[] {
  const what = 'packed mask file';
  const { header: h, payload } = readContainer(buf, PACKED_MAGIC, PACKED_VERSION, what);
  if (h.format !== 'maskllm-packed') throw new MaskFileError(`${what}: header format is ${JSON.stringify(h.format)}`);
  if (typeof h.model !== 'string' || !Array.isArray(h.weights)) throw new MaskFileError(`${what}: header lacks 'model' or 'weights'`);
  matchMeta(what, { n: Number(h.n), m: Number(h.m), model: h.model }, expect);
  const p = patternOf(what, expect.n, expect.m);
  const C = p.candidates.length;
  const d = digitsPerWord(C);
  const weights = (h.weights as unknown[]).map((w, i) => {
    const x = w as { name?: unknown; shape?: unknown; layout?: unknown; groups?: unknown };
    if (typeof x.name !== 'string' || !isShape(x.shape) || !isLayout(x.layout)) throw new MaskFileError(`${what}: header weight ${i} is malformed`);
    return { name: x.name, shape: x.shape, layout: x.layout, groups: x.groups };
  });
  matchWeights(what, h.model, weights, expect);
  const layouts = weights.map((w) => {
    const g = layoutOf(what, w.name, w.shape, w.layout, p.m);
    if (w.groups !== g.groups) throw new MaskFileError(`${what}: weight '${w.name}' declares ${String(w.groups)} groups, its shape has ${g.groups}`);
    return g;
  });
  const total = layouts.reduce((s, g) => s + g.groups, 0);
  if (h.candidates !== C || h.digitsPerWord !== d || h.groups !== total)
    throw new MaskFileError(
      `${what}: header packing (${String(h.candidates)} candidates, ${String(h.digitsPerWord)} digits/word, ${String(h.groups)} groups) does not match ${p.n}:${p.m} with ${total} groups`,
    );
  const nWords = Math.ceil(total / d);
  if (payload.length !== nWords * 4) throw new MaskFileError(`${what}: payload is ${payload.length} bytes, ${total} groups need ${nWords * 4}`);
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const digits = new Uint32Array(nWords * d);
  for (let w = 0; w < nWords; w++) {
    let v = dv.getUint32(4 * w, true);
    for (let k = 0; k < d; k++) {
      digits[w * d + k] = v % C;
      v = Math.floor(v / C);
    }
    if (v !== 0) throw new MaskFileError(`${what}: word ${w} exceeds ${C}^${d}: not a valid ${p.n}:${p.m} packing`);
  }
  for (let i = total; i < digits.length; i++) if (digits[i] !== 0) throw new MaskFileError(`${what}: nonzero padding after the last group`);
  const byName = new Map<string, MaskEntry>();
  let offset = 0;
  weights.forEach((w, i) => {
    const g = layouts[i];
    byName.set(w.name, { name: w.name, shape: [...w.shape], layout: w.layout, mask: maskFromChoice(digits.subarray(offset, offset + g.groups), g, p) });
    offset += g.groups;
  });
  return expect.weights.map((w) => byName.get(w.name)!);
}

// ---------------------------------------------------------------- (c) resumable learning state

export interface ResumableState {
  /** Must be STATE_VERSION. */
  version: number;
  config: unknown;
  step: number;
  rng: RngPosition;
  sites: { name: string; logits: Float32Array; m: Float32Array; v: Float32Array }[];
  metrics?: unknown;
}

export function encodeState(s: ResumableState): Uint8Array {
  const what = 'state file';
  if (!Number.isInteger(s.version) || s.version < 0) throw new MaskFileError(`${what}: bad version ${s.version}`);
  if (!Number.isInteger(s.step) || s.step < 0) throw new MaskFileError(`${what}: step must be an integer ≥ 0, got ${s.step}`);
  const seen = new Set<string>();
  let floats = 0;
  for (const site of s.sites) {
    if (seen.has(site.name)) throw new MaskFileError(`${what}: site '${site.name}' appears twice`);
    seen.add(site.name);
    const n = site.logits.length;
    if (site.m.length !== n || site.v.length !== n)
      throw new MaskFileError(`${what}: site '${site.name}': Adam m (${site.m.length}) and v (${site.v.length}) must match the ${n} logits`);
    floats += 3 * n;
  }
  const payload = new Float32Array(floats); // host byte order: little-endian on every WebGPU platform
  let o = 0;
  for (const site of s.sites) {
    for (const a of [site.logits, site.m, site.v]) {
      payload.set(a, o);
      o += a.length;
    }
  }
  const header = {
    format: 'maskllm-state',
    config: s.config ?? null,
    step: s.step,
    rng: { seed: s.rng.seed, stream: s.rng.stream, offset: s.rng.offset },
    sites: s.sites.map((x) => ({ name: x.name, size: x.logits.length })),
    metrics: s.metrics ?? null,
  };
  return writeContainer(STATE_MAGIC, s.version, header, new Uint8Array(payload.buffer));
}

export function decodeState(buf: Uint8Array): ResumableState {
  const what = 'state file';
  const { header: h, payload } = readContainer(buf, STATE_MAGIC, STATE_VERSION, what);
  if (h.format !== 'maskllm-state') throw new MaskFileError(`${what}: header format is ${JSON.stringify(h.format)}`);
  const rng = h.rng as Partial<RngPosition> | undefined;
  if (!rng || ![rng.seed, rng.stream, rng.offset].every((x) => Number.isInteger(x) && (x as number) >= 0))
    throw new MaskFileError(`${what}: header 'rng' is malformed`);
  if (!Number.isInteger(h.step) || (h.step as number) < 0) throw new MaskFileError(`${what}: header 'step' is malformed`);
  if (!Array.isArray(h.sites)) throw new MaskFileError(`${what}: header 'sites' is missing`);
  const sites = (h.sites as unknown[]).map((x, i) => {
    const s = x as { name?: unknown; size?: unknown };
    if (typeof s.name !== 'string' || !Number.isInteger(s.size) || (s.size as number) < 0) throw new MaskFileError(`${what}: header site ${i} is malformed`);
    return { name: s.name, size: s.size as number };
  });
  const floats = sites.reduce((a, s) => a + 3 * s.size, 0);
  if (payload.length !== floats * 4) throw new MaskFileError(`${what}: payload is ${payload.length} bytes, the sites need ${floats * 4}`);
  const all = new Float32Array(payload.slice().buffer); // slice: an aligned copy
  let o = 0;
  const take = (n: number) => all.slice(o, (o += n));
  return {
    version: STATE_VERSION,
    config: h.config,
    step: h.step as number,
    rng: { seed: rng.seed!, stream: rng.stream!, offset: rng.offset! },
    sites: sites.map((s) => ({ name: s.name, logits: take(s.size), m: take(s.size), v: take(s.size) })),
    ...(h.metrics !== null && h.metrics !== undefined ? { metrics: h.metrics } : {}),
  };
}
