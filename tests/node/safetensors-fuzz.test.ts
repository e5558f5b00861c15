// Property tests for the safetensors reader/writer: valid files round-trip, and any corruption
// (byte flips, truncation, extension, header edits, random headers) is either rejected with a
// SafetensorsError or yields a file that still satisfies every format invariant.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bf16ToF32, f16ToF32 } from '../../src/models/dtype';
import { ITEM_SIZE, readSafetensors, SafetensorsError, toFloat32, writeSafetensors, type StDType, type WriteTensor } from '../../src/models/safetensors';
import { testSeed } from '../helpers/random';

const DTYPES = Object.keys(ITEM_SIZE) as StDType[];
const seed = testSeed();
const params = (numRuns: number) => ({ numRuns, seed });

const nameArb = fc
  .oneof(
    fc.constantFrom('wte.weight', 'h.0.attn.c_attn.weight', 'a', '', '__proto__', 'constructor', '0', 'x y'),
    fc.string({ maxLength: 8 }),
    fc.string({ unit: 'binary', maxLength: 6 }), // any code point, multi-byte UTF-8
  )
  .filter((n) => n !== '__metadata__');

const tensorArb: fc.Arbitrary<WriteTensor> = fc
  .record({ dtype: fc.constantFrom(...DTYPES), shape: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }) })
  .chain(({ dtype, shape }) => {
    const n = shape.reduce((a, b) => a * b, 1) * ITEM_SIZE[dtype];
    return fc.uint8Array({ minLength: n, maxLength: n }).map((bytes) => ({
      name: '',
      dtype,
      shape,
      data: dtype === 'BOOL' ? bytes.map((b) => b & 1) : bytes,
    }));
  });

const fileArb = fc
  .record({
    names: fc.uniqueArray(nameArb, { maxLength: 5 }),
    tensors: fc.array(tensorArb, { minLength: 5, maxLength: 5 }),
    metadata: fc.option(fc.dictionary(nameArb, fc.string({ maxLength: 6 }), { maxKeys: 3 }), { nil: undefined }),
  })
  .map(({ names, tensors, metadata }) => ({
    tensors: names.map((name, i) => ({ ...tensors[i], name })),
    metadata,
  }));

/** Independent element decoding with DataView, for comparison with toFloat32's typed-array paths. */
function decodeRef(dtype: StDType, bytes: Uint8Array): number[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = ITEM_SIZE[dtype];
  const out: number[] = [];
  for (let o = 0; o < bytes.length; o += size) {
    let v: number;
    switch (dtype) {
      case 'F64':
        v = dv.getFloat64(o, true);
        break;
      case 'F32':
        v = dv.getFloat32(o, true);
        break;
      case 'F16':
        v = f16ToF32(dv.getUint16(o, true));
        break;
      case 'BF16':
        v = bf16ToF32(dv.getUint16(o, true));
        break;
      case 'I64':
        v = Number(dv.getBigInt64(o, true));
        break;
      case 'U64':
        v = Number(dv.getBigUint64(o, true));
        break;
      case 'I32':
        v = dv.getInt32(o, true);
        break;
      case 'U32':
        v = dv.getUint32(o, true);
        break;
      case 'I16':
        v = dv.getInt16(o, true);
        break;
      case 'U16':
        v = dv.getUint16(o, true);
        break;
      case 'I8':
        v = dv.getInt8(o);
        break;
      default:
        v = dv.getUint8(o);
    }
    out.push(Math.fround(v));
  }
  return out;
}

const sameFloat = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

/** Reads `file`; any failure must be a SafetensorsError; a success must satisfy the format invariants. */
function readChecked(file: Uint8Array): boolean {
  let res: ReturnType<typeof readSafetensors>;
  try {
    res = readSafetensors(file);
  } catch (e) {
    if (!(e instanceof SafetensorsError)) throw new Error(`non-SafetensorsError thrown: ${String(e)}`, { cause: e });
    return false;
  }
  const headerLen = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const dataStart = file.byteOffset + 8 + headerLen;
  // Tensors, in the order returned (file order), tile the data section exactly.
  let cursor = dataStart;
  for (const t of res.tensors.values()) {
    if (t.bytes.byteOffset !== cursor) throw new Error(`tensor ${t.name} starts at ${t.bytes.byteOffset}, expected ${cursor}`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.bytes.length !== count * ITEM_SIZE[t.dtype]) throw new Error(`tensor ${t.name} has the wrong byte length`);
    cursor += t.bytes.length;
    if (t.dtype !== 'BOOL') {
      const f = toFloat32(t);
      const ref = decodeRef(t.dtype, t.bytes);
      if (f.length !== count || !ref.every((v, i) => sameFloat(f[i], v))) throw new Error(`toFloat32 of ${t.name} is wrong`);
    }
  }
  if (cursor !== file.byteOffset + file.length) throw new Error('data section not fully covered');
  for (const v of Object.values(res.metadata)) if (typeof v !== 'string') throw new Error('metadata value not a string');
  return true;
}

describe('safetensors properties (fast-check, seed ' + seed + ')', () => {
  it('random valid files round-trip exactly', () => {
    fc.assert(
      fc.property(fileArb, ({ tensors, metadata }) => {
        const file = writeSafetensors(tensors, metadata);
        expect(Number(new DataView(file.buffer).getBigUint64(0, true)) % 8).toBe(0);
        expect(readChecked(file)).toBe(true);
        const { tensors: got, metadata: meta } = readSafetensors(file);
        expect(meta).toEqual(metadata ?? {});
        expect([...got.keys()].filter((n) => got.get(n)!.bytes.length > 0)).toEqual(
          tensors
            .map((t) => t.name)
            .sort()
            .filter((n) => got.get(n)!.bytes.length > 0),
        );
        for (const t of tensors) {
          const r = got.get(t.name)!;
          expect(r.dtype).toBe(t.dtype);
          expect(r.shape).toEqual(t.shape);
          expect(r.bytes).toEqual(t.data);
        }
      }),
      params(800),
    );
  });

  it('accepts a layout exactly when its tensors tile the data section (no overlap, hole or tail)', () => {
    // Independent formulation: every byte covered exactly once, every range inside the data, and no
    // empty tensor placed strictly inside another one.
    const tiles = (spans: [number, number][], len: number): boolean => {
      const count = new Array<number>(len).fill(0);
      for (const [b, e] of spans) {
        if (e > len) return false;
        for (let i = b; i < e; i++) count[i]++;
      }
      const inside = spans.some(([b, e]) => b === e && spans.some(([b2, e2]) => b2 < b && b < e2));
      return count.every((c) => c === 1) && !inside;
    };
    const span = fc.tuple(fc.nat(10), fc.nat(10)).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as [number, number]);
    let valid = 0;
    fc.assert(
      fc.property(fc.array(span, { maxLength: 4 }), fc.nat(12), (spans, len) => {
        const header = Object.fromEntries(spans.map(([b, e], i) => [`t${i}`, { dtype: 'U8', shape: [e - b], data_offsets: [b, e] }]));
        const text = new TextEncoder().encode(JSON.stringify(header));
        const file = new Uint8Array(8 + text.length + len);
        new DataView(file.buffer).setBigUint64(0, BigInt(text.length), true);
        file.set(text, 8);
        const want = tiles(spans, len);
        if (want) valid++;
        expect(readChecked(file), JSON.stringify({ spans, len })).toBe(want);
      }),
      params(3000),
    );
    expect(valid).toBeGreaterThan(20);
  });

  it('random byte mutations only ever raise SafetensorsError', () => {
    const mutation = fc.record({ at: fc.nat(), byte: fc.nat(255), inHeader: fc.boolean() });
    let accepted = 0;
    fc.assert(
      fc.property(fileArb, fc.array(mutation, { minLength: 1, maxLength: 4 }), ({ tensors, metadata }, muts) => {
        const file = writeSafetensors(tensors, metadata);
        const headerEnd = 8 + Number(new DataView(file.buffer).getBigUint64(0, true));
        for (const m of muts) file[m.inHeader ? m.at % headerEnd : m.at % file.length] = m.byte;
        if (readChecked(file)) accepted++;
      }),
      params(3000),
    );
    expect(accepted).toBeGreaterThan(0); // the data-section flips must still read
  });

  it('truncated or extended files are always rejected', () => {
    fc.assert(
      fc.property(fileArb, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 9 }), ({ tensors, metadata }, cut, extra) => {
        const file = writeSafetensors(tensors, metadata);
        const short = file.subarray(0, cut % file.length);
        expect(() => readSafetensors(short)).toThrow(SafetensorsError);
        const long = new Uint8Array(file.length + extra.length);
        long.set(file);
        long.set(extra, file.length);
        expect(() => readSafetensors(long)).toThrow(SafetensorsError);
      }),
      params(1500),
    );
  });

  it('header edits (field replaced, dropped or added; length word changed) only raise SafetensorsError', () => {
    const field = fc.constantFrom('dtype', 'shape', 'data_offsets', 'extra');
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom(-1, 0, 1, 2 ** 53, 1e300, 0.5, 'F32', 'BOOL', [0, 0], [0, 1e20], [1, 0], [2 ** 31, 2 ** 31], [-0]),
      fc.array(fc.integer({ min: -2, max: 40 }), { maxLength: 3 }),
    );
    fc.assert(
      fc.property(
        fileArb,
        fc.nat(),
        field,
        fc.option(value),
        fc.option(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
        ({ tensors, metadata }, which, key, v, lenWord) => {
          const file = writeSafetensors(tensors, metadata);
          const n = Number(new DataView(file.buffer).getBigUint64(0, true));
          const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))) as Record<string, Record<string, unknown>>;
          const keys = Object.keys(header);
          if (keys.length > 0) {
            const target = header[keys[which % keys.length]];
            if (typeof target === 'object' && target !== null) {
              if (v === null) delete target[key];
              else target[key] = v;
            }
          }
          const text = new TextEncoder().encode(JSON.stringify(header));
          const out = new Uint8Array(8 + text.length + file.length - 8 - n);
          new DataView(out.buffer).setBigUint64(0, lenWord ?? BigInt(text.length), true);
          out.set(text, 8);
          out.set(file.subarray(8 + n), 8 + text.length);
          readChecked(out);
        },
      ),
      params(2000),
    );
  });

  it('random headers over random data only raise SafetensorsError', () => {
    const entryArb = fc.oneof(
      fc.record({
        dtype: fc.oneof(fc.constantFrom(...DTYPES), fc.string({ maxLength: 4 })),
        shape: fc.oneof(fc.array(fc.integer({ min: -1, max: 6 }), { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })),
        data_offsets: fc.oneof(fc.tuple(fc.integer({ min: -1, max: 40 }), fc.integer({ min: -1, max: 40 })), fc.jsonValue({ maxDepth: 1 })),
      }),
      fc.jsonValue({ maxDepth: 2 }),
    );
    fc.assert(
      fc.property(
        fc.dictionary(fc.oneof(nameArb, fc.constant('__metadata__')), entryArb, { maxKeys: 4 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.string({ unit: fc.constantFrom(' ', '\n', 'x', '\t'), maxLength: 3 }),
        (header, data, pad) => {
          const text = new TextEncoder().encode(JSON.stringify(header) + pad);
          const out = new Uint8Array(8 + text.length + data.length);
          new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
          out.set(text, 8);
          out.set(data, 8 + text.length);
          readChecked(out);
        },
      ),
      params(3000),
    );
  });
});
