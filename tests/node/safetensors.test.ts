import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../src/models/dtype';
import { readSafetensors, SafetensorsError, toFloat32, writeSafetensors, type StDType, type WriteTensor } from '../../src/models/safetensors';
import { randn, testSeed } from '../helpers/random';

const enc = new TextEncoder();

/** A file from a literal header text and data bytes; `len` overrides the 8-byte header length. */
function rawFile(header: string, data: Uint8Array | number[] = [], len?: bigint): Uint8Array {
  const h = enc.encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, len ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}
const fileOf = (header: unknown, dataLen: number) => rawFile(JSON.stringify(header), new Uint8Array(dataLen));

function expectError(file: Uint8Array, message: RegExp, opts = {}): void {
  let err: unknown;
  try {
    readSafetensors(file, opts);
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a SafetensorsError').toBeInstanceOf(SafetensorsError);
  expect((err as Error).message).toMatch(message);
}

const entry = (dtype: string, shape: unknown, data_offsets: unknown) => ({ dtype, shape, data_offsets });

describe('f16 / bf16 conversion', () => {
  it('every f16 and bf16 bit pattern survives decode → encode (NaNs stay NaN)', () => {
    for (let h = 0; h < 65536; h++) {
      const isNaN16 = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      const back = f32ToF16(f16ToF32(h));
      if (isNaN16) expect(Number.isNaN(f16ToF32(back)), `f16 NaN ${h}`).toBe(true);
      else if (back !== h) expect(back, `f16 ${h.toString(16)}`).toBe(h);
      const isNaNb = (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
      const backb = f32ToBf16(bf16ToF32(h));
      if (isNaNb) expect(Number.isNaN(bf16ToF32(backb)), `bf16 NaN ${h}`).toBe(true);
      else if (backb !== h) expect(backb, `bf16 ${h.toString(16)}`).toBe(h);
    }
  });

  it('rounds f16 to nearest even at the edges', () => {
    expect(f32ToF16(1)).toBe(0x3c00);
    expect(f32ToF16(-2)).toBe(0xc000);
    expect(f32ToF16(-0)).toBe(0x8000);
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(65519.996)).toBe(0x7bff);
    expect(f32ToF16(65520)).toBe(0x7c00); // halfway to 2^16 rounds to even = overflow
    expect(f32ToF16(-1e9)).toBe(0xfc00);
    expect(f32ToF16(Infinity)).toBe(0x7c00);
    expect(Number.isNaN(f16ToF32(f32ToF16(NaN)))).toBe(true);
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // tie → even (down)
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(f32ToF16(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // above the tie
    expect(f32ToF16(2 ** -24)).toBe(1); // smallest subnormal
    expect(f32ToF16(2 ** -25)).toBe(0); // tie between 0 and 2^-24 → 0
    expect(f32ToF16(2 ** -25 * 1.0001)).toBe(1);
    expect(f32ToF16(1.5 * 2 ** -24)).toBe(2); // tie → even
    expect(f32ToF16(1023.5 * 2 ** -24)).toBe(0x400); // subnormal carries into the smallest normal
    expect(f32ToF16(1e-30)).toBe(0);
    expect(f16ToF32(0x0001)).toBe(2 ** -24);
    expect(f16ToF32(0x3555)).toBe(0.333251953125);
    expect(f16ToF32(0xfc00)).toBe(-Infinity);
  });

  it('rounds bf16 to nearest even at the edges', () => {
    expect(f32ToBf16(1)).toBe(0x3f80);
    expect(f32ToBf16(1 + 2 ** -8)).toBe(0x3f80); // tie → even (down)
    expect(f32ToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie → even (up)
    expect(f32ToBf16(3.4028234663852886e38)).toBe(0x7f80); // f32 max rounds up to Infinity
    expect(f32ToBf16(-0)).toBe(0x8000);
    expect(Number.isNaN(bf16ToF32(f32ToBf16(NaN)))).toBe(true);
    expect(bf16ToF32(0x4049)).toBe(3.140625);
  });

  it('f32 → f16 agrees with a brute-force nearest search on random inputs', () => {
    // Independent reference: all finite non-negative f16 values sorted, nearest by distance, ties to even.
    const values = Array.from({ length: 0x7c00 }, (_, h) => f16ToF32(h));
    const nearest = (x: number): number => {
      const a = Math.abs(x);
      if (a >= 65520) return 0x7c00;
      let lo = 0;
      let hi = values.length - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (values[mid] <= a) lo = mid;
        else hi = mid;
      }
      const dl = a - values[lo];
      const dh = values[hi] - a;
      return dl < dh ? lo : dh < dl ? hi : lo % 2 === 0 ? lo : hi;
    };
    const seed = testSeed();
    const xs = randn(20000, seed);
    for (let i = 0; i < xs.length; i++) {
      const x = Math.fround(xs[i] * 2 ** ((i % 40) - 26)); // spans subnormals to overflow
      const want = nearest(x) | (x < 0 || Object.is(x, -0) ? 0x8000 : 0);
      if (f32ToF16(x) !== want) expect(f32ToF16(x), `x=${x} seed ${seed}`).toBe(want);
    }
  });
});

/** One tensor of each dtype with known contents; values are what toFloat32 must return. */
function everyDtype(): { tensors: WriteTensor[]; values: Map<string, number[]> } {
  const values = new Map<string, number[]>();
  const t = (name: string, dtype: StDType, shape: number[], data: ArrayBufferView, v: number[]): WriteTensor => {
    values.set(name, v);
    return { name, dtype, shape, data };
  };
  const halfs = [1, -2.5, 65504, 2 ** -24, 0];
  return {
    values,
    tensors: [
      t('f64', 'F64', [2, 2], new Float64Array([1.5, -2, 1e-3, 3.14159]), [1.5, -2, Math.fround(1e-3), Math.fround(3.14159)]),
      t('f32', 'F32', [3], new Float32Array([0.1, -7, 1e30]), [Math.fround(0.1), -7, Math.fround(1e30)]),
      t('f16', 'F16', [5], Uint16Array.from(halfs, f32ToF16), halfs),
      t('bf16', 'BF16', [1, 2], Uint16Array.from([3.140625, -1], f32ToBf16), [3.140625, -1]),
      t('i64', 'I64', [2], new BigInt64Array([-5n, 1n << 40n]), [-5, 2 ** 40]),
      t('u64', 'U64', [1], new BigUint64Array([12345678901n]), [Math.fround(12345678901)]),
      t('i32', 'I32', [2], new Int32Array([-2147483648, 7]), [-2147483648, 7]),
      t('u32', 'U32', [2], new Uint32Array([4294967295, 0]), [4294967296, 0]),
      t('i16', 'I16', [2], new Int16Array([-32768, 5]), [-32768, 5]),
      t('u16', 'U16', [1], new Uint16Array([65535]), [65535]),
      t('i8', 'I8', [3], new Int8Array([-128, 127, 0]), [-128, 127, 0]),
      t('u8', 'U8', [2, 1, 1], new Uint8Array([255, 1]), [255, 1]),
      t('bool', 'BOOL', [3], new Uint8Array([1, 0, 1]), []),
      t('scalar', 'F32', [], new Float32Array([42]), [42]),
      t('empty', 'F32', [0, 3], new Float32Array(0), []),
    ],
  };
}

describe('safetensors round trip', () => {
  it('writes and reads back every dtype, including a scalar and a zero-size tensor', () => {
    const { tensors, values } = everyDtype();
    const meta = { format: 'pt', note: 'ünïcödé', __proto__x: 'y' };
    const file = writeSafetensors(tensors, meta);
    const { tensors: got, metadata } = readSafetensors(file);
    expect(metadata).toEqual(meta);
    expect(got.size).toBe(tensors.length);
    for (const t of tensors) {
      const r = got.get(t.name)!;
      expect(r.dtype).toBe(t.dtype);
      expect(r.shape).toEqual(t.shape);
      expect(Array.from(r.bytes)).toEqual(Array.from(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)));
      if (t.dtype === 'BOOL') expect(() => toFloat32(r)).toThrow(/BOOL cannot be converted/);
      else expect(Array.from(toFloat32(r)), t.name).toEqual(values.get(t.name));
    }
  });

  it('pads the header with spaces to a multiple of 8 and lays data out in name order', () => {
    const file = writeSafetensors([
      { name: 'zeta', dtype: 'U8', shape: [1], data: new Uint8Array([9]) },
      { name: 'Alpha', dtype: 'U8', shape: [2], data: new Uint8Array([1, 2]) },
      { name: 'beta', dtype: 'U8', shape: [1], data: new Uint8Array([3]) },
    ]);
    const n = Number(new DataView(file.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const text = new TextDecoder().decode(file.subarray(8, 8 + n));
    expect(text.trimEnd().endsWith('}')).toBe(true);
    expect(/^ *$/.test(text.slice(text.lastIndexOf('}') + 1))).toBe(true);
    expect(Array.from(file.subarray(8 + n))).toEqual([1, 2, 3, 9]); // 'Alpha' < 'beta' < 'zeta' (code units)
    expect([...readSafetensors(file).tensors.keys()]).toEqual(['Alpha', 'beta', 'zeta']);
  });

  it('reads unpadded headers, unaligned tensors and files inside a larger buffer', () => {
    // Header of odd length and a 1-byte tensor first: the F32 and F16 data start at odd offsets.
    const header = JSON.stringify({
      a: entry('U8', [1], [0, 1]),
      b: entry('F32', [2], [1, 9]),
      c: entry('F16', [1], [9, 11]),
    });
    const data = new Uint8Array(11);
    data[0] = 7;
    new DataView(data.buffer).setFloat32(1, -1.25, true);
    new DataView(data.buffer).setFloat32(5, 6.5, true);
    new DataView(data.buffer).setUint16(9, f32ToF16(-0.5), true);
    const file = rawFile(header, data);
    const big = new Uint8Array(file.length + 13);
    big.set(file, 5);
    const { tensors } = readSafetensors(big.subarray(5, 5 + file.length));
    expect(Array.from(toFloat32(tensors.get('b')!))).toEqual([-1.25, 6.5]);
    expect(Array.from(toFloat32(tensors.get('c')!))).toEqual([-0.5]);
    expect(tensors.get('a')!.bytes[0]).toBe(7);
    expect(tensors.get('b')!.bytes.buffer).toBe(big.buffer); // a view, not a copy
  });

  it('accepts an empty file list and trailing spaces, keeps a "__proto__" metadata key', () => {
    const file = rawFile('{"__metadata__":{"__proto__":"x"}}      ');
    const { tensors, metadata } = readSafetensors(file);
    expect(tensors.size).toBe(0);
    expect(Object.keys(metadata)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
    expect(readSafetensors(writeSafetensors([])).tensors.size).toBe(0);
  });
});

describe('safetensors reader rejects malformed files with specific messages', () => {
  it('short files and bad header lengths', () => {
    expectError(new Uint8Array(7), /7 bytes, shorter than the 8-byte header length/);
    expectError(rawFile('{}', [], 100n), /header length 100 goes beyond the end of the file/);
    expectError(rawFile('{}', [], 2n ** 63n), /exceeds the limit/);
    expectError(rawFile('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', [1]), /exceeds the limit of 16 bytes/, {
      maxHeaderBytes: 16,
    });
  });

  it('headers that are not UTF-8 JSON objects', () => {
    const bad = rawFile('{"a":1}');
    bad[10] = 0xff;
    expectError(bad, /not valid UTF-8/);
    expectError(rawFile('{"a": '), /not valid JSON/);
    expectError(rawFile('[1,2]'), /must start with '\{'/);
    expectError(rawFile('\ufeff{}'), /must start with '\{'/);
    expectError(rawFile(''), /must start with '\{'/);
    expectError(rawFile('{} x'), /not valid JSON/);
  });

  it('entries that are not objects or have unknown fields, duplicate keys', () => {
    expectError(fileOf({ w: [1, 2] }, 0), /tensor "w": entry must be an object, got \[1,2\]/);
    expectError(fileOf({ w: { ...entry('U8', [1], [0, 1]), extra: 1 } }, 1), /tensor "w": unexpected field "extra"/);
    expectError(
      rawFile('{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}', [1]),
      /repeats the key "w"/,
    );
    expectError(rawFile('{"__metadata__":{"k":"a","k":"b"}}'), /repeats the key "k"/);
  });

  it('unknown dtypes and bad shapes', () => {
    expectError(fileOf({ w: entry('F8_E4M3', [1], [0, 1]) }, 1), /tensor "w": unknown dtype "F8_E4M3"/);
    expectError(fileOf({ w: entry('f32', [1], [0, 4]) }, 4), /unknown dtype "f32"/);
    for (const shape of [4, [-1], [1.5], ['2'], [null], null, [2 ** 53]]) {
      expectError(fileOf({ w: entry('U8', shape, [0, 4]) }, 4), /shape must be an array of non-negative integers/);
    }
  });

  it('bad data_offsets', () => {
    for (const offs of [[0], [0, 1, 2], [2, 1], [-1, 0], [0.5, 1], ['0', '1'], null, [0, 2 ** 53]]) {
      expectError(fileOf({ w: entry('U8', [1], offs) }, 1), /data_offsets must be two non-negative integers \[begin, end\] with begin <= end/);
    }
    expectError(fileOf({ w: entry('U8', [4], [0, 4]) }, 3), /data_offsets \[0,4\] go beyond the data section \(3 bytes\)/);
    expectError(fileOf({ w: entry('U8', [1], [2 ** 52, 2 ** 52 + 1]) }, 1), /go beyond the data section/);
  });

  it('size mismatches and huge declared sizes (checked before any allocation)', () => {
    expectError(fileOf({ w: entry('F32', [2, 3], [0, 20]) }, 20), /F32 \[2,3\] needs 24 bytes but data_offsets \[0,20\] span 20/);
    expectError(fileOf({ w: entry('F16', [3], [0, 3]) }, 3), /needs 6 bytes/);
    const t0 = performance.now();
    expectError(
      fileOf({ w: entry('F64', [2 ** 40, 2 ** 40, 2 ** 40], [0, 8]) }, 8),
      /F64 \[1099511627776,1099511627776,1099511627776\] needs more than 2\^53 bytes/,
    );
    expect(performance.now() - t0).toBeLessThan(1000);
    // A zero dimension makes a huge shape empty: that is valid.
    expect(readSafetensors(fileOf({ w: entry('F64', [2 ** 40, 0], [0, 0]) }, 0)).tensors.get('w')!.bytes.length).toBe(0);
  });

  it('overlaps, holes and trailing bytes', () => {
    expectError(fileOf({ a: entry('U8', [4], [0, 4]), b: entry('U8', [2], [2, 4]) }, 4), /tensor "b" \[2, 4\) overlaps "a" \(which ends at 4\)/);
    expectError(fileOf({ a: entry('U8', [4], [0, 4]), b: entry('U8', [0], [2, 2]) }, 4), /tensor "b" \[2, 2\) overlaps "a"/);
    expectError(fileOf({ a: entry('U8', [4], [0, 4]), b: entry('U8', [4], [8, 12]) }, 12), /hole of 4 bytes in the data section between "a" and "b" \(at 4\)/);
    expectError(fileOf({ a: entry('U8', [4], [4, 8]) }, 8), /hole of 4 bytes .* between "\(start of data\)" and "a"/);
    expectError(fileOf({ a: entry('U8', [4], [0, 4]) }, 6), /2 trailing bytes after the last tensor are not covered/);
    expectError(fileOf({}, 1), /1 trailing bytes/);
  });

  it('bad __metadata__', () => {
    expectError(fileOf({ __metadata__: ['a'] }, 0), /__metadata__ must be an object of strings, got \["a"\]/);
    expectError(fileOf({ __metadata__: 'x' }, 0), /__metadata__ must be an object of strings/);
    expectError(fileOf({ __metadata__: { epoch: 3 } }, 0), /__metadata__\["epoch"\] must be a string, got 3/);
    expectError(fileOf({ __metadata__: { nested: { a: 'b' } } }, 0), /__metadata__\["nested"\] must be a string/);
  });
});

describe('safetensors writer rejects bad input', () => {
  const ok = { name: 'w', dtype: 'F32' as StDType, shape: [2], data: new Float32Array(2) };
  const bad = (t: Partial<WriteTensor> & Record<string, unknown>, re: RegExp, meta?: Record<string, string>) => {
    expect(() => writeSafetensors([{ ...ok, ...t } as WriteTensor], meta)).toThrow(SafetensorsError);
    expect(() => writeSafetensors([{ ...ok, ...t } as WriteTensor], meta)).toThrow(re);
  };
  it('names specific problems', () => {
    bad({ shape: [3] }, /F32 \[3\] needs 12 bytes but the data has 8/);
    bad({ dtype: 'I32' }, /data is a Float32Array but dtype is I32/);
    bad({ dtype: 'F16', shape: [4] }, /data is a Float32Array but dtype is F16/);
    bad({ dtype: 'Q4' as StDType }, /unknown dtype "Q4"/);
    bad({ shape: [-2] }, /shape must be an array of non-negative integers/);
    bad({ name: '__metadata__' }, /reserved/);
    bad({ dtype: 'BOOL', data: new Uint8Array([0, 2]) }, /BOOL data must be bytes 0 or 1/);
    bad({}, /metadata\["n"\] must be a string/, { n: 1 as unknown as string });
    expect(() => writeSafetensors([ok, ok])).toThrow(/tensor "w" appears twice/);
  });
  it('accepts raw bytes for any dtype and bit patterns for half floats', () => {
    const f = writeSafetensors([
      { name: 'raw', dtype: 'F32', shape: [1], data: new Uint8Array(new Float32Array([2.5]).buffer) },
      { name: 'dv', dtype: 'I16', shape: [1], data: new DataView(new Int16Array([-3]).buffer) },
      { name: 'bf', dtype: 'BF16', shape: [1], data: new Uint16Array([f32ToBf16(0.75)]) },
    ]);
    const { tensors } = readSafetensors(f);
    expect(toFloat32(tensors.get('raw')!)[0]).toBe(2.5);
    expect(toFloat32(tensors.get('dv')!)[0]).toBe(-3);
    expect(toFloat32(tensors.get('bf')!)[0]).toBe(0.75);
  });
});

describe('cross-check with an independent Python reader (tests/python/read_safetensors.py)', () => {
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

  it('reads names, shapes, offsets, checksums and half-float values of a file we wrote', () => {
    const seed = testSeed();
    const edge = [65504, 65519, 65520, 1e6, -1e6, 2 ** -25, 3 * 2 ** -25, 1e-8, -0, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -8];
    const f32 = new Float32Array([...randn(200, seed, 3), ...edge]);
    const tensors: WriteTensor[] = [
      { name: 'h.0.weight', dtype: 'F32', shape: [f32.length / 4, 4], data: f32 },
      { name: 'h.0.half', dtype: 'F16', shape: [f32.length], data: Uint16Array.from(f32, f32ToF16) },
      { name: 'h.0.brain', dtype: 'BF16', shape: [f32.length], data: Uint16Array.from(f32, f32ToBf16) },
      { name: 'ids', dtype: 'I64', shape: [3], data: new BigInt64Array([1n, -2n, 3n]) },
      { name: 'mask', dtype: 'BOOL', shape: [2, 2], data: new Uint8Array([1, 0, 0, 1]) },
      { name: 'scalar', dtype: 'F32', shape: [], data: new Float32Array([1.25]) },
      { name: 'nothing', dtype: 'F16', shape: [2, 0], data: new Uint16Array(0) },
      { name: 'ünï 名', dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) },
    ];
    const file = writeSafetensors(tensors, { format: 'pt', seed: String(seed) });
    const dir = mkdtempSync(join(tmpdir(), 'st-py-'));
    let out: string;
    try {
      const path = join(dir, 'x.safetensors');
      writeFileSync(path, file);
      try {
        out = execFileSync(python, ['tests/python/read_safetensors.py', path], { encoding: 'utf8' });
      } catch (e) {
        const err = e as NodeJS.ErrnoException & { stderr?: string };
        if (err.code === 'ENOENT') throw new Error(`python3 is missing (tried ${python}): install Python 3 to run this cross-check`, { cause: e });
        throw new Error(`read_safetensors.py failed: ${err.stderr ?? err.message}`, { cause: e });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const py = JSON.parse(out) as {
      header_len: number;
      data_len: number;
      metadata: Record<string, string>;
      tensors: {
        name: string;
        dtype: string;
        shape: number[];
        offsets: [number, number];
        sha256: string;
        values?: (number | string)[];
        f16_bits?: number[];
        bf16_bits?: number[];
      }[];
    };
    const ours = readSafetensors(file);
    const headerLen = Number(new DataView(file.buffer).getBigUint64(0, true));
    expect(py.header_len).toBe(headerLen);
    expect(py.data_len).toBe(file.length - 8 - headerLen);
    expect(py.metadata).toEqual({ format: 'pt', seed: String(seed) });
    expect(py.tensors.map((t) => t.name).sort()).toEqual(tensors.map((t) => t.name).sort());
    const dataStart = 8 + headerLen;
    for (const p of py.tensors) {
      const src = tensors.find((t) => t.name === p.name)!;
      const mine = ours.tensors.get(p.name)!;
      expect(p.dtype).toBe(src.dtype);
      expect(p.shape).toEqual(src.shape);
      expect(p.offsets).toEqual([mine.bytes.byteOffset - dataStart, mine.bytes.byteOffset - dataStart + mine.bytes.length]);
      const srcBytes = new Uint8Array(src.data.buffer, src.data.byteOffset, src.data.byteLength);
      expect(p.sha256, p.name).toBe(createHash('sha256').update(srcBytes).digest('hex'));
      if (p.values) expect(toFloat32(mine), p.name).toEqual(Float32Array.from(p.values, Number));
      if (src.data instanceof Float32Array) {
        expect(Array.from(src.data, f32ToF16), `${p.name}: f16 rounding vs Python struct "e"`).toEqual(p.f16_bits);
        expect(Array.from(src.data, f32ToBf16), `${p.name}: bf16 rounding vs Python`).toEqual(p.bf16_bits);
      }
    }
  });
});
