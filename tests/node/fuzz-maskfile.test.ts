// Property tests for the mask files (safetensors U8 masks, packed candidate indices) and the
// resumable state: valid files round-trip; any mutation is rejected with a MaskFileError or yields
// exactly the original content; targeted mutations (not N:M, wrong shape, another model, bad CRC,
// another version, malformed header fields) are rejected with a message naming what is wrong.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { writeSafetensors } from '../../src/models/safetensors';
import { groupLayout, type WeightLayout } from '../../src/sparsity/layout';
import {
  crc32,
  decodeState,
  encodeState,
  exportMaskPacked,
  exportMaskSafetensors,
  importMaskPacked,
  importMaskSafetensors,
  MaskFileError,
  type MaskEntry,
  type MaskExpect,
  type ResumableState,
} from '../../src/sparsity/maskfile';
import { nmPattern } from '../../src/sparsity/patterns';
import { maskFromChoice } from '../../src/sparsity/prior';
import { testSeed } from '../helpers/random';

const seed = testSeed();
const runs = (numRuns: number) => ({ numRuns, seed });

function only<T>(f: () => T): T | MaskFileError {
  try {
    return f();
  } catch (e) {
    if (e instanceof MaskFileError) return e;
    throw new Error(`expected MaskFileError or success, got ${(e as Error)?.name}: ${(e as Error)?.message}`, { cause: e });
  }
}
function rejects(f: () => unknown, pattern: RegExp): void {
  const r = only(f);
  expect(r).toBeInstanceOf(MaskFileError);
  expect((r as Error).message).toMatch(pattern);
}

const NM: [number, number][] = [
  [2, 4],
  [1, 4],
  [2, 8],
  [4, 8],
  [1, 2],
];

interface Case {
  n: number;
  m: number;
  model: string;
  entries: MaskEntry[];
}

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    nm: fc.constantFrom(...NM),
    model: fc.string({ maxLength: 10 }),
    shapes: fc.array(
      fc.record({ rows: fc.integer({ min: 1, max: 4 }), k: fc.integer({ min: 1, max: 3 }), layout: fc.constantFrom<WeightLayout>('out_in', 'in_out') }),
      { minLength: 1, maxLength: 3 },
    ),
  })
  .chain(({ nm: [n, m], model, shapes }) => {
    const p = nmPattern(n, m);
    const specs = shapes.map((s, i) => ({ name: `h.${i}.w`, shape: s.layout === 'out_in' ? [s.rows, s.k * m] : [s.k * m, s.rows], layout: s.layout }));
    return fc
      .tuple(
        ...specs.map((s) =>
          fc.array(fc.nat({ max: p.candidates.length - 1 }), { minLength: (s.shape[0] * s.shape[1]) / m, maxLength: (s.shape[0] * s.shape[1]) / m }),
        ),
      )
      .map((choices) => ({
        n,
        m,
        model,
        entries: specs.map((s, i) => ({ ...s, mask: maskFromChoice(choices[i], groupLayout(s.shape, s.layout, m), p) })),
      }));
  });

const expectOf = (c: Case, model = true): MaskExpect => ({
  n: c.n,
  m: c.m,
  ...(model ? { model: c.model } : {}),
  weights: c.entries.map(({ name, shape, layout }) => ({ name, shape, layout })),
});
const sameMasks = (a: MaskEntry[], b: MaskEntry[]) =>
  a.length === b.length && a.every((x, i) => x.name === b[i].name && Buffer.from(x.mask).equals(Buffer.from(b[i].mask)));

type Mut =
  { kind: 'xor'; at: number; v: number } | { kind: 'truncate'; at: number } | { kind: 'extend'; extra: Uint8Array } | { kind: 'u32'; at: number; v: number };
const mutationArb = (len: number): fc.Arbitrary<Mut> =>
  fc.oneof(
    fc.record({ kind: fc.constant('xor' as const), at: fc.nat({ max: len - 1 }), v: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat({ max: len - 1 }) }),
    fc.record({ kind: fc.constant('extend' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant('u32' as const), at: fc.nat({ max: len - 4 }), v: fc.oneof(fc.constantFrom(0, 1, 0xffffffff), fc.nat()) }),
  );
function mutate(buf: Uint8Array, m: Mut): Uint8Array {
  const out = buf.slice();
  if (m.kind === 'xor') out[m.at] ^= m.v;
  else if (m.kind === 'truncate') return out.subarray(0, m.at);
  else if (m.kind === 'extend') return Uint8Array.from([...out, ...m.extra]);
  else new DataView(out.buffer).setUint32(m.at, m.v, true);
  return out;
}

/** An independent writer of the packed/state container (see maskfile.ts), for header edits with a valid CRC. */
function container(magic: string, version: number, header: unknown, payload: Uint8Array): Uint8Array {
  let json = new TextEncoder().encode(JSON.stringify(header));
  json = Uint8Array.from([...json, ...new Array((4 - (json.length % 4)) % 4).fill(0x20)]);
  const out = new Uint8Array(24 + json.length + payload.length);
  out.set(Array.from(magic, (c) => c.charCodeAt(0)));
  out.set(json, 24);
  out.set(payload, 24 + json.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(8, version, true);
  dv.setUint32(12, json.length, true);
  dv.setUint32(16, payload.length, true);
  dv.setUint32(20, crc32(out.subarray(24)), true);
  return out;
}
/** Split a container into its header object and payload. */
function open(buf: Uint8Array): { header: Record<string, unknown>; payload: Uint8Array } {
  const dv = new DataView(buf.buffer, buf.byteOffset);
  const H = dv.getUint32(12, true);
  return { header: JSON.parse(new TextDecoder().decode(buf.subarray(24, 24 + H))), payload: buf.slice(24 + H) };
}

describe('mask safetensors (fuzz)', () => {
  it('round-trips', () => {
    fc.assert(
      fc.property(caseArb, (c) => sameMasks(importMaskSafetensors(exportMaskSafetensors(c.entries, c), expectOf(c)), c.entries)),
      runs(800),
    );
  });

  it('any mutation: MaskFileError or exactly the original masks', () => {
    fc.assert(
      fc.property(
        caseArb.chain((c) => {
          const f = exportMaskSafetensors(c.entries, c);
          return mutationArb(f.length).map((m) => ({ c, f, m }));
        }),
        ({ c, f, m }) => {
          const r = only(() => importMaskSafetensors(mutate(f, m), expectOf(c)));
          return r instanceof MaskFileError ? r.message.startsWith('mask safetensors: ') : sameMasks(r, c.entries);
        },
      ),
      runs(3000),
    );
  });

  it('targeted: bad CRC, not N:M, wrong shape, another model, other N:M, wrong dtype — each named', () => {
    fc.assert(
      fc.property(caseArb, fc.nat(), (c, r) => {
        const f = exportMaskSafetensors(c.entries, c);
        const e = c.entries[r % c.entries.length];
        const ex = expectOf(c);
        const meta = (over: Record<string, string> = {}, entries = c.entries, dtype: 'U8' | 'F32' = 'U8') => {
          const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : 1));
          let crc = 0;
          const data = (x: MaskEntry) => (dtype === 'U8' ? x.mask : new Uint8Array(Float32Array.from(x.mask).buffer));
          for (const x of sorted) crc = crc32(data(x), crc);
          const layouts = Object.fromEntries(entries.map((x) => [x.name, x.layout]));
          return writeSafetensors(
            entries.map((x) => ({ name: x.name, dtype, shape: x.shape, data: data(x) })),
            {
              format: 'maskllm-mask',
              version: '1',
              n: String(c.n),
              m: String(c.m),
              model: c.model,
              layouts: JSON.stringify(layouts),
              crc32: String(crc),
              ...over,
            },
          );
        };
        // one mask byte flipped: caught by the CRC before anything else
        const flipped = f.slice();
        // (within the data section: a file of 2 mask bytes has header bytes 3 from the end)
        const dataBytes = c.entries.reduce((a, x) => a + x.mask.length, 0);
        flipped[f.length - 1 - (r % Math.min(3, dataBytes))] ^= 1;
        rejects(() => importMaskSafetensors(flipped, ex), /CRC mismatch \(stored \d+, computed \d+\): the file is corrupted/);
        // a mask that is not N:M (one more weight kept in the first group), valid CRC: names the weight
        const notNM = c.entries.map((x) => (x === e ? { ...x, mask: x.mask.slice() } : x));
        const bad = notNM.find((x) => x.name === e.name)!;
        const g = groupLayout(bad.shape, bad.layout, c.m);
        // first group: positions 0..m-1 along the input dimension of output row 0
        const idx = (k: number) => (bad.layout === 'out_in' ? k : k * g.rows);
        const flipAt = Array.from({ length: c.m }, (_, k) => idx(k)).find((i) => bad.mask[i] === 0)!;
        bad.mask[flipAt] = 1;
        rejects(() => importMaskSafetensors(meta({}, notNM), ex), new RegExp(`weight '${e.name.replace(/\./g, '\\.')}' is not a ${c.n}:${c.m} mask`));
        // wrong shape for the model
        const other = { ...ex, weights: ex.weights.map((w) => (w.name === e.name ? { ...w, shape: [w.shape[0] * 2, w.shape[1]] } : w)) };
        rejects(
          () => importMaskSafetensors(f, other),
          new RegExp(
            `weight '${e.name.replace(/\./g, '\\.')}' has shape \\[${e.shape.join(', ')}\\] in the file, expected \\[${other.weights.find((w) => w.name === e.name)!.shape.join(', ')}\\]`,
          ),
        );
        // another model: a weight the model has is missing / the file has one the model does not
        const renamed = { ...ex, weights: ex.weights.map((w) => (w.name === e.name ? { ...w, name: 'other.w' } : w)) };
        rejects(() => importMaskSafetensors(f, renamed), /weight 'other\.w' is missing: the file is for another model/);
        rejects(
          () => importMaskSafetensors(f, { ...ex, weights: ex.weights.filter((w) => w.name !== e.name) }),
          new RegExp(`the file has weight '${e.name.replace(/\./g, '\\.')}' that the model does not`),
        );
        rejects(() => importMaskSafetensors(f, { ...ex, model: c.model + 'x' }), /the file is for model '.*', expected '.*x'/);
        rejects(() => importMaskSafetensors(meta({ n: String(c.n + 10) }), ex), new RegExp(`the file holds ${c.n + 10}:${c.m} masks, expected ${c.n}:${c.m}`));
        rejects(() => importMaskSafetensors(meta({ version: '2' }), ex), /format version 2, this build reads version 1/);
        rejects(() => importMaskSafetensors(meta({ format: 'pt' }), ex), /metadata format is "pt"/);
        rejects(() => importMaskSafetensors(meta({}, c.entries, 'F32'), ex), /has dtype F32, expected U8/);
        rejects(() => importMaskSafetensors(meta({ layouts: '{' }), ex), /metadata 'layouts' is not JSON/);
        return true;
      }),
      runs(300),
    );
  });
});

describe('packed mask files (fuzz)', () => {
  it('round-trips', () => {
    fc.assert(
      fc.property(caseArb, (c) => sameMasks(importMaskPacked(exportMaskPacked(c.entries, c), expectOf(c)), c.entries)),
      runs(800),
    );
  });

  it('any mutation: MaskFileError (every byte is CRC- or length-checked) unless the bytes are unchanged', () => {
    fc.assert(
      fc.property(
        caseArb.chain((c) => {
          const f = exportMaskPacked(c.entries, c);
          return mutationArb(f.length).map((m) => ({ c, f, m }));
        }),
        ({ c, f, m }) => {
          const bad = mutate(f, m);
          const r = only(() => importMaskPacked(bad, expectOf(c)));
          if (r instanceof MaskFileError) return r.message.startsWith('packed mask file: ');
          return Buffer.from(bad).equals(Buffer.from(f)) && sameMasks(r, c.entries);
        },
      ),
      runs(3000),
    );
  });

  it('targeted header and payload edits with a valid CRC are named', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const f = exportMaskPacked(c.entries, c);
        const ex = expectOf(c);
        const { header, payload } = open(f);
        const re = (over: Record<string, unknown>, p = payload) => container('MLLMPACK', 1, { ...header, ...over }, p);
        rejects(() => importMaskPacked(re({ format: 'zip' }), ex), /header format is "zip"/);
        rejects(() => importMaskPacked(re({ weights: 3 }), ex), /header lacks 'model' or 'weights'/);
        rejects(() => importMaskPacked(re({ m: c.m * 2 }), ex), new RegExp(`holds ${c.n}:${c.m * 2} masks, expected ${c.n}:${c.m}`));
        rejects(() => importMaskPacked(re({ weights: [{ name: 1 }] }), ex), /header weight 0 is malformed/);
        const w0 = (header.weights as { name: string; groups: number }[])[0];
        rejects(
          () => importMaskPacked(re({ weights: (header.weights as object[]).map((w, i) => (i === 0 ? { ...w, groups: w0.groups + 1 } : w)) }), ex),
          new RegExp(`weight '${w0.name.replace(/\./g, '\\.')}' declares ${w0.groups + 1} groups, its shape has ${w0.groups}`),
        );
        rejects(() => importMaskPacked(re({ digitsPerWord: 1 }), ex), /header packing .* does not match/);
        rejects(
          () => importMaskPacked(re({}, Uint8Array.from([...payload, 0, 0, 0, 0])), ex),
          new RegExp(`payload is ${payload.length + 4} bytes, ${header.groups} groups need ${payload.length}`),
        );
        // a word ≥ C^d (not a valid base-C packing)
        const big = payload.slice();
        new DataView(big.buffer).setUint32(0, 0xffffffff, true);
        const C = nmPattern(c.n, c.m).candidates.length;
        if (C ** (header.digitsPerWord as number) < 2 ** 32)
          rejects(() => importMaskPacked(re({}, big), ex), new RegExp(`word 0 exceeds ${C}\\^${header.digitsPerWord}`));
        rejects(() => importMaskPacked(container('MLLMPACK', 2, header, payload), ex), /format version 2, this build reads version 1/);
        rejects(() => importMaskPacked(container('MLLMSTAT', 1, header, payload), ex), /not a packed mask file \(magic "MLLMSTAT"/);
        return true;
      }),
      runs(300),
    );
  });
});

describe('resumable state (fuzz)', () => {
  const stateArb: fc.Arbitrary<ResumableState> = fc
    .record({
      step: fc.nat({ max: 1e6 }),
      seed: fc.nat(),
      offset: fc.nat(),
      sizes: fc.uniqueArray(fc.record({ name: fc.string({ maxLength: 12 }), size: fc.nat({ max: 12 }) }), { selector: (s) => s.name, maxLength: 4 }),
      config: fc.jsonValue({ maxDepth: 2 }),
    })
    .chain((s) =>
      fc.tuple(...s.sizes.map((x) => fc.float32Array({ minLength: 3 * x.size, maxLength: 3 * x.size, noNaN: true }))).map((arrs) => ({
        version: 1,
        config: s.config,
        step: s.step,
        rng: { seed: s.seed, stream: 0, offset: s.offset },
        sites: s.sizes.map((x, i) => ({ name: x.name, logits: arrs[i].slice(0, x.size), m: arrs[i].slice(x.size, 2 * x.size), v: arrs[i].slice(2 * x.size) })),
      })),
    );
  const same = (a: ResumableState, b: ResumableState) =>
    a.step === b.step &&
    JSON.stringify(a.rng) === JSON.stringify(b.rng) &&
    a.sites.length === b.sites.length &&
    a.sites.every(
      (s, i) =>
        s.name === b.sites[i].name &&
        ['logits', 'm', 'v'].every((k) =>
          Buffer.from((s as never as Record<string, Float32Array>)[k].buffer).equals(
            Buffer.from((b.sites[i] as never as Record<string, Float32Array>)[k].buffer),
          ),
        ),
    );

  it('round-trips (config JSON included)', () => {
    fc.assert(
      fc.property(stateArb, (s) => {
        const d = decodeState(encodeState(s));
        return same(d, s) && JSON.stringify(d.config) === JSON.stringify(s.config ?? null);
      }),
      runs(800),
    );
  });

  it('any mutation: MaskFileError unless the bytes are unchanged', () => {
    fc.assert(
      fc.property(
        stateArb.chain((s) => {
          const f = encodeState(s);
          return mutationArb(f.length).map((m) => ({ s, f, m }));
        }),
        ({ s, f, m }) => {
          const bad = mutate(f, m);
          const r = only(() => decodeState(bad));
          return r instanceof MaskFileError ? r.message.startsWith('state file: ') : Buffer.from(bad).equals(Buffer.from(f)) && same(r, s);
        },
      ),
      runs(3000),
    );
  });

  it('a state from another version, or with malformed header fields, is refused naming the field', () => {
    fc.assert(
      fc.property(stateArb, fc.integer({ min: 2, max: 0xffffffff }), (s, v) => {
        const f = encodeState(s);
        rejects(() => decodeState(encodeState({ ...s, version: v })), new RegExp(`state file: format version ${v}, this build reads version 1`));
        const { header, payload } = open(f);
        const re = (over: Record<string, unknown>, p = payload) => container('MLLMSTAT', 1, { ...header, ...over }, p);
        rejects(() => decodeState(re({ format: 'maskllm-packed' })), /header format is "maskllm-packed"/);
        rejects(() => decodeState(re({ rng: { seed: -1, stream: 0, offset: 0 } })), /header 'rng' is malformed/);
        rejects(() => decodeState(re({ step: 1.5 })), /header 'step' is malformed/);
        rejects(() => decodeState(re({ sites: null })), /header 'sites' is missing/);
        rejects(() => decodeState(re({ sites: [{ name: 'a', size: -1 }] })), /header site 0 is malformed/);
        rejects(
          () => decodeState(re({}, Uint8Array.from([...payload, 1, 2, 3, 4]))),
          new RegExp(`payload is ${payload.length + 4} bytes, the sites need ${payload.length}`),
        );
        const flipped = f.slice();
        flipped[30] ^= 0x40;
        rejects(() => decodeState(flipped), /CRC mismatch \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\): the file is corrupted/);
        rejects(() => decodeState(f.subarray(0, 10)), /truncated: 10 bytes, shorter than the 24-byte prefix/);
        return true;
      }),
      runs(300),
    );
  });
});
