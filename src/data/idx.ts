// Strict parser for the IDX format of (Fashion-)MNIST (http://yann.lecun.com/exdb/mnist/, bottom of page).
// Layout: 2 zero bytes, 1 type byte, 1 byte ndim, then ndim big-endian u32 dimensions, then the data
// row-major. Only unsigned bytes (type 0x08) are supported: that is all (Fashion-)MNIST uses.
// Decompression (the files ship as .gz) is the caller's job: node:zlib in tools/build-data.ts.

export class IdxError extends Error {
  override name = 'IdxError';
}

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'i16',
  0x0c: 'i32',
  0x0d: 'f32',
  0x0e: 'f64',
};

const IDX_U8 = 0x08;

/** Parse an uncompressed IDX file; the returned data is a view into `buf`. */
export function parseIdx(buf: ArrayBuffer | Uint8Array): IdxArray {
  const u8 = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  if (u8.length < 4) throw new IdxError(`IDX file is ${u8.length} bytes, too short for the 4-byte magic`);
  if (u8[0] === 0x1f && u8[1] === 0x8b) throw new IdxError('IDX file is gzip-compressed: gunzip it first');
  if (u8[0] !== 0 || u8[1] !== 0) {
    throw new IdxError(`bad IDX magic: the first two bytes must be 0, found ${u8[0]} ${u8[1]}`);
  }
  const type = u8[2];
  if (type !== IDX_U8) {
    const name = TYPE_NAMES[type] ?? 'unknown type';
    throw new IdxError(`IDX type 0x${type.toString(16).padStart(2, '0')} (${name}) is not supported; only unsigned byte (0x08)`);
  }
  const ndim = u8[3];
  if (ndim === 0) throw new IdxError('IDX file has 0 dimensions');
  const headerBytes = 4 + 4 * ndim;
  if (u8.length < headerBytes) {
    throw new IdxError(`IDX file is ${u8.length} bytes, too short for its ${ndim} dimensions (${headerBytes}-byte header)`);
  }
  const view = new DataView(u8.buffer, u8.byteOffset, headerBytes);
  const dims: number[] = [];
  let size = 1;
  for (let i = 0; i < ndim; i++) {
    const d = view.getUint32(4 + 4 * i, false); // IDX is big-endian
    if (d === 0) throw new IdxError(`IDX dimension ${i} is 0`);
    dims.push(d);
    size *= d;
  }
  const dataBytes = u8.length - headerBytes;
  if (dataBytes !== size) {
    const what = dataBytes < size ? 'truncated' : 'trailing bytes';
    throw new IdxError(`IDX data is ${dataBytes} bytes but dims [${dims.join(', ')}] need ${size} (${what})`);
  }
  return { dims, data: u8.subarray(headerBytes) };
}

/** An IDX image file: exactly 3 dimensions [count, height, width]. */
export function parseIdxImages(buf: ArrayBuffer | Uint8Array): { count: number; height: number; width: number; images: Uint8Array } {
  const a = parseIdx(buf);
  if (a.dims.length !== 3) throw new IdxError(`IDX images must have 3 dimensions [count, height, width], found ${a.dims.length}`);
  const [count, height, width] = a.dims;
  return { count, height, width, images: a.data };
}

/** An IDX label file: exactly 1 dimension [count]. */
export function parseIdxLabels(buf: ArrayBuffer | Uint8Array): Uint8Array {
  const a = parseIdx(buf);
  if (a.dims.length !== 1) throw new IdxError(`IDX labels must have 1 dimension [count], found ${a.dims.length}`);
  return a.data;
}

/** Write an unsigned-byte IDX file (used by tests to build fixtures). */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  if (dims.length < 1 || dims.length > 255) throw new IdxError(`IDX needs 1..255 dimensions, got ${dims.length}`);
  let size = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 1 || d > 0xffffffff) throw new IdxError(`IDX dimension ${d} is not a positive u32`);
    size *= d;
  }
  if (data.length !== size) throw new IdxError(`IDX data has ${data.length} bytes, dims [${dims.join(', ')}] need ${size}`);
  const out = new Uint8Array(4 + 4 * dims.length + size);
  out[2] = IDX_U8;
  out[3] = dims.length;
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}
