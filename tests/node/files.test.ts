import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkUserFile, FileSizeError, USER_FILE_LIMITS, type UserFileKind } from '../../src/lab/files';
import { testSeed } from '../helpers/random';

const KINDS: UserFileKind[] = ['safetensors', 'config', 'index', 'mask', 'state'];

describe('checkUserFile', () => {
  it('accepts sizes from 1 byte to the limit, for every kind', () => {
    for (const k of KINDS) {
      expect(() => checkUserFile({ name: 'a', size: 1 }, k)).not.toThrow();
      expect(() => checkUserFile({ name: 'a', size: USER_FILE_LIMITS[k] }, k)).not.toThrow();
    }
  });

  // the limits the page has always applied (the table was unused before and said 1 MiB / 64 MiB; a
  // U8 mask of GPT-2 small is ~81 MiB)
  it('limits: 2 GiB safetensors, 10 MiB config and shard index, 512 MiB mask', () => {
    expect(USER_FILE_LIMITS.safetensors).toBe(2 ** 31);
    expect(USER_FILE_LIMITS.config).toBe(10 * 2 ** 20);
    expect(USER_FILE_LIMITS.index).toBe(10 * 2 ** 20);
    expect(USER_FILE_LIMITS.mask).toBe(512 * 2 ** 20);
  });

  it('one byte over the limit is refused with the name, size and limit', () => {
    for (const k of KINDS) {
      const size = USER_FILE_LIMITS[k] + 1;
      let err: unknown;
      try {
        checkUserFile({ name: `big.${k}`, size }, k);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(FileSizeError);
      const e = err as FileSizeError;
      expect(e.message).toContain(`"big.${k}"`);
      expect(e.message).toContain(`${size} bytes`);
      expect(e.message).toContain(`${USER_FILE_LIMITS[k]} bytes`);
      expect(e.size).toBe(size);
      expect(e.limit).toBe(USER_FILE_LIMITS[k]);
    }
  });

  it('a 40 GB file picked by mistake, an empty file, a non-integer size', () => {
    expect(() => checkUserFile({ name: 'movie.mkv', size: 40e9 }, 'safetensors')).toThrow(/"movie\.mkv" is 37\.25 GiB .* at most 2\.00 GiB/);
    expect(() => checkUserFile({ name: 'config.json', size: 0 }, 'config')).toThrow(/"config\.json" is empty/);
    expect(() => checkUserFile({ name: 'x', size: -1 }, 'mask')).toThrow(/file size -1 is not a byte count/);
    expect(() => checkUserFile({ name: 'x', size: Number.NaN }, 'mask')).toThrow(/file size NaN/);
    expect(() => checkUserFile({ name: 'x', size: 1 }, 'zip' as UserFileKind)).toThrow(/unknown file kind "zip"/);
  });

  it('property: accepted exactly when 1 ≤ size ≤ limit; otherwise a FileSizeError naming the file', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...KINDS),
        fc.oneof(fc.integer({ min: -5, max: 2 ** 33 }), fc.double()),
        fc.string({ minLength: 1, maxLength: 12 }),
        (kind, size, name) => {
          const ok = Number.isInteger(size) && size >= 1 && size <= USER_FILE_LIMITS[kind];
          try {
            checkUserFile({ name, size }, kind);
            return ok;
          } catch (e) {
            return !ok && e instanceof FileSizeError && e.message.includes(`"${name}"`);
          }
        },
      ),
      { numRuns: 5000, seed: testSeed() },
    );
  });
});
