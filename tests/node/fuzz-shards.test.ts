// Property tests for the data-shard and IDX parsers: valid files round-trip; any mutation is either
// rejected with the parser's own error class or (shards) leaves the CRC-protected payload intact;
// targeted mutations are rejected with a message naming the field or offset involved.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeIdx, IdxError, parseIdx, parseIdxImages, parseIdxLabels } from '../../src/data/idx';
import { crc32, encodeImageShard, encodeTextShard, parseShard, ShardError, SHARD_HEADER_BYTES } from '../../src/data/shards';
import { testSeed } from '../helpers/random';

const seed = testSeed();
const runs = (numRuns: number) => ({ numRuns, seed });

/** Run f; return its value, or the error if it is an instance of `cls`; anything else fails the test. */
function only<T>(cls: new (...a: never[]) => Error, f: () => T): T | Error {
  try {
    return f();
  } catch (e) {
    if (e instanceof cls) return e;
    throw new Error(`expected ${cls.name} or success, got ${(e as Error)?.name}: ${(e as Error)?.message}`, { cause: e });
  }
}

function rejects(cls: new (...a: never[]) => Error, f: () => unknown, pattern: RegExp): void {
  const r = only(cls, f);
  expect(r).toBeInstanceOf(cls);
  expect((r as Error).message).toMatch(pattern);
}

const textArb = fc.uint8Array({ maxLength: 300 });
const imageArb = fc
  .record({
    count: fc.integer({ min: 0, max: 5 }),
    height: fc.integer({ min: 1, max: 6 }),
    width: fc.integer({ min: 1, max: 6 }),
    numClasses: fc.integer({ min: 1, max: 256 }),
  })
  .chain((h) =>
    fc
      .record({
        images: fc.uint8Array({ minLength: h.count * h.height * h.width, maxLength: h.count * h.height * h.width }),
        labels: fc.array(fc.integer({ min: 0, max: h.numClasses - 1 }), { minLength: h.count, maxLength: h.count }).map((l) => Uint8Array.from(l)),
      })
      .map((d) => ({ ...h, ...d })),
  );
const shardArb = fc.oneof(
  textArb.map((t) => encodeTextShard(t)),
  imageArb.map((s) => encodeImageShard(s)),
);

/** Mutations of a file: xor a byte, truncate, extend, splice random bytes, overwrite a u32. */
const mutation = (len: number) =>
  fc.oneof(
    fc.record({ kind: fc.constant('xor' as const), at: fc.nat({ max: Math.max(0, len - 1) }), v: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat({ max: len }) }),
    fc.record({ kind: fc.constant('extend' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({
      kind: fc.constant('u32' as const),
      at: fc.nat({ max: Math.max(0, len - 4) }),
      v: fc.oneof(fc.constantFrom(0, 1, 0xffffffff, 0x7fffffff, 0x80000000), fc.nat()),
    }),
  );

function mutate(buf: Uint8Array, m: { kind: string; at?: number; v?: number; extra?: Uint8Array }): Uint8Array {
  const out = buf.slice();
  switch (m.kind) {
    case 'xor':
      if (out.length) out[m.at!] ^= m.v!;
      return out;
    case 'truncate':
      return out.subarray(0, m.at!);
    case 'extend': {
      const e = new Uint8Array(out.length + m.extra!.length);
      e.set(out);
      e.set(m.extra!, out.length);
      return e;
    }
    default:
      if (out.length >= 4) new DataView(out.buffer).setUint32(m.at!, m.v!, true);
      return out;
  }
}

const withMutation = (arb: fc.Arbitrary<Uint8Array>) => arb.chain((buf) => mutation(buf.length).map((m) => ({ buf, m })));

function rewriteCrc(buf: Uint8Array): Uint8Array {
  new DataView(buf.buffer, buf.byteOffset).setUint32(28, crc32(buf.subarray(SHARD_HEADER_BYTES)), true);
  return buf;
}

describe('data shards (fuzz)', () => {
  it('valid text and image shards round-trip', () => {
    fc.assert(
      fc.property(textArb, (t) => {
        const s = parseShard(encodeTextShard(t));
        return s.kind === 'text' && Buffer.from(s.bytes).equals(Buffer.from(t));
      }),
      runs(1000),
    );
    fc.assert(
      fc.property(imageArb, (x) => {
        const s = parseShard(encodeImageShard(x));
        return (
          s.kind === 'images' &&
          s.count === x.count &&
          s.height === x.height &&
          s.width === x.width &&
          s.numClasses === x.numClasses &&
          Buffer.from(s.images).equals(Buffer.from(x.images)) &&
          Buffer.from(s.labels).equals(Buffer.from(x.labels))
        );
      }),
      runs(1000),
    );
  });

  it('any mutation: ShardError, or a shard whose payload is byte-identical (CRC-protected)', () => {
    fc.assert(
      fc.property(withMutation(shardArb), ({ buf, m }) => {
        const bad = mutate(buf, m);
        const r = only(ShardError, () => parseShard(bad));
        if (r instanceof Error) return r.message.length > 10;
        // accepted: the payload must be the original one (e.g. height/width of an empty image shard)
        const payload = buf.subarray(SHARD_HEADER_BYTES);
        const got = r.kind === 'text' ? r.bytes : new Uint8Array([...r.images, ...r.labels]);
        return Buffer.from(got).equals(Buffer.from(payload));
      }),
      runs(4000),
    );
  });

  it('random bytes are rejected with a ShardError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (b) => only(ShardError, () => parseShard(b)) instanceof ShardError),
      runs(2000),
    );
  });

  it('targeted mutations name what is wrong', () => {
    fc.assert(
      fc.property(
        imageArb.filter((x) => x.count > 0),
        fc.integer({ min: 2, max: 0xfffe }),
        (x, v) => {
          const ok = encodeImageShard(x);
          const set32 = (at: number, val: number) => {
            const b = ok.slice();
            new DataView(b.buffer).setUint32(at, val, true);
            return b;
          };
          const set16 = (at: number, val: number) => {
            const b = ok.slice();
            new DataView(b.buffer).setUint16(at, val, true);
            return b;
          };
          rejects(ShardError, () => parseShard(set16(4, v)), new RegExp(`unsupported shard version ${v}`));
          rejects(ShardError, () => parseShard(set16(6, v + 1)), new RegExp(`unknown shard kind ${v + 1}`));
          rejects(ShardError, () => parseShard(Uint8Array.from([0x50, ...ok.subarray(1)])), /bad magic: expected "MLSH" .* found 50 4c 53 48/);
          rejects(ShardError, () => parseShard(set32(12, 0)), /zero dimension \(height 0/);
          rejects(ShardError, () => parseShard(set32(20, 257)), /numClasses 257 is outside 1\.\.256/);
          rejects(
            ShardError,
            () => parseShard(set32(24, ok.length)),
            new RegExp(`header payload length ${ok.length} does not match the ${ok.length - 32} bytes`),
          );
          rejects(
            ShardError,
            () => parseShard(ok.subarray(0, ok.length - 1)),
            new RegExp(`shard is ${ok.length - 1} bytes but its header says ${ok.length} \\(truncated\\)`),
          );
          rejects(ShardError, () => parseShard(Uint8Array.from([...ok, 0])), /\(trailing bytes\)/);
          rejects(ShardError, () => parseShard(ok.subarray(0, 31)), /shard is 31 bytes, shorter than the 32-byte header/);
          const flipped = ok.slice();
          flipped[flipped.length - 1] ^= 1;
          rejects(ShardError, () => parseShard(flipped), /payload CRC32 mismatch: header says [0-9a-f]{8}, payload has [0-9a-f]{8}/);
          // a label out of range with a valid CRC: names the label and its index
          const badLabel = ok.slice();
          const at = ok.length - 1;
          badLabel[at] = x.numClasses > 255 ? 0 : x.numClasses;
          if (x.numClasses <= 255)
            rejects(
              ShardError,
              () => parseShard(rewriteCrc(badLabel)),
              new RegExp(`label ${x.numClasses} at index ${x.count - 1} is not below numClasses ${x.numClasses}`),
            );
          return true;
        },
      ),
      runs(300),
    );
    // a text shard must not carry image fields
    const t = encodeTextShard(new Uint8Array([1, 2, 3]));
    new DataView(t.buffer).setUint32(16, 9, true);
    rejects(ShardError, () => parseShard(t), /text shard has nonzero image fields \(height 0, width 9/);
  });
});

describe('IDX (fuzz)', () => {
  const idxArb = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }).chain((dims) => {
    const n = dims.reduce((a, b) => a * b, 1);
    return fc.uint8Array({ minLength: n, maxLength: n }).map((data) => ({ dims, data }));
  });

  it('valid files round-trip', () => {
    fc.assert(
      fc.property(idxArb, ({ dims, data }) => {
        const r = parseIdx(encodeIdx(dims, data));
        return JSON.stringify(r.dims) === JSON.stringify(dims) && Buffer.from(r.data).equals(Buffer.from(data));
      }),
      runs(1000),
    );
  });

  it('any mutation or random bytes: IdxError, or a file consistent with its dims', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          withMutation(idxArb.map(({ dims, data }) => encodeIdx(dims, data))).map(({ buf, m }) => mutate(buf, m)),
          fc.uint8Array({ maxLength: 64 }),
        ),
        (bad) => {
          for (const parse of [parseIdx, parseIdxImages, parseIdxLabels]) {
            const r = only(IdxError, () => parse(bad));
            if (r instanceof Error) continue;
            const size = 'dims' in r ? r.dims.reduce((a, b) => a * b, 1) : 'images' in r ? r.count * r.height * r.width : r.length;
            const data = 'dims' in r ? r.data : 'images' in r ? r.images : r;
            if (data.length !== size) return false;
          }
          return true;
        },
      ),
      runs(4000),
    );
  });

  it('targeted mutations name what is wrong', () => {
    fc.assert(
      fc.property(idxArb, fc.integer({ min: 0, max: 255 }), ({ dims, data }, t) => {
        const ok = encodeIdx(dims, data);
        const nd = dims.length;
        const at = (i: number, v: number) => Uint8Array.from(ok, (b, j) => (j === i ? v : b));
        rejects(IdxError, () => parseIdx(at(0, 1)), /bad IDX magic: the first two bytes must be 0, found 1 0/);
        if (t !== 8) rejects(IdxError, () => parseIdx(at(2, t)), new RegExp(`IDX type 0x${t.toString(16).padStart(2, '0')} \\(.*\\) is not supported`));
        rejects(IdxError, () => parseIdx(at(3, 0)), /IDX file has 0 dimensions/);
        const zeroDim = ok.slice();
        const k = t % nd;
        new DataView(zeroDim.buffer).setUint32(4 + 4 * k, 0, false);
        rejects(IdxError, () => parseIdx(zeroDim), new RegExp(`IDX dimension ${k} is 0`));
        rejects(IdxError, () => parseIdx(ok.subarray(0, 4 + 4 * nd - 1)), new RegExp(`too short for its ${nd} dimensions`));
        rejects(IdxError, () => parseIdx(ok.subarray(0, ok.length - 1)), new RegExp(`dims \\[${dims.join(', ')}\\] need ${data.length} \\(truncated\\)`));
        rejects(IdxError, () => parseIdx(Uint8Array.from([...ok, 7])), /\(trailing bytes\)/);
        if (nd !== 3) rejects(IdxError, () => parseIdxImages(ok), new RegExp(`must have 3 dimensions \\[count, height, width\\], found ${nd}`));
        if (nd !== 1) rejects(IdxError, () => parseIdxLabels(ok), new RegExp(`must have 1 dimension \\[count\\], found ${nd}`));
        return true;
      }),
      runs(500),
    );
    rejects(IdxError, () => parseIdx(Uint8Array.of(0x1f, 0x8b, 8, 0)), /gzip-compressed: gunzip it first/);
    rejects(IdxError, () => parseIdx(Uint8Array.of(0, 0)), /IDX file is 2 bytes, too short for the 4-byte magic/);
    // dims whose product overflows any real file: a size mismatch, not a crash
    const huge = new Uint8Array(4 + 16);
    huge[2] = 8;
    huge[3] = 4;
    for (let i = 0; i < 4; i++) new DataView(huge.buffer).setUint32(4 + 4 * i, 0xffffffff, false);
    rejects(IdxError, () => parseIdx(huge), /IDX data is 0 bytes but dims \[4294967295, 4294967295, 4294967295, 4294967295\] need/);
  });
});
