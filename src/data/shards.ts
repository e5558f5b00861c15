// Data shards: one small fixed header + raw u8 payload, documented byte-for-byte in public/data/DATA.md.
// Parsing works on an ArrayBuffer/Uint8Array (browser and Node); fetching or reading files is the caller's job.
//
// Header (32 bytes, all integers little-endian):
//   0  4 bytes  magic "MLSH" (4d 4c 53 48)
//   4  u16      version (1)
//   6  u16      kind: 1 = text, 2 = images
//   8  u32      count: text → number of bytes; images → number of images (= number of labels)
//  12  u32      height (images; 0 for text)
//  16  u32      width  (images; 0 for text)
//  20  u32      numClasses (images, 1..256; 0 for text)
//  24  u32      payload length in bytes (text: count; images: count*height*width + count)
//  28  u32      CRC-32 (IEEE 802.3, the one zlib/PNG/gzip use) of the payload
//  32  payload: text bytes, or images (u8, row-major [count, height, width]) followed by labels (u8 [count])

export class ShardError extends Error {
  override name = 'ShardError';
}

export interface TextShard {
  kind: 'text';
  bytes: Uint8Array;
}

export interface ImageShard {
  kind: 'images';
  count: number;
  height: number;
  width: number;
  images: Uint8Array;
  labels: Uint8Array;
  numClasses: number;
}

export const SHARD_MAGIC = [0x4d, 0x4c, 0x53, 0x48] as const; // "MLSH"
export const SHARD_VERSION = 1;
export const SHARD_HEADER_BYTES = 32;
export const SHARD_KIND = { text: 1, images: 2 } as const;

const U32_MAX = 0xffffffff;

let crcTable: Uint32Array | null = null;

/** CRC-32 (reflected polynomial 0xEDB88320, init and final xor 0xFFFFFFFF), identical to zlib.crc32. */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const hex8 = (x: number) => (x >>> 0).toString(16).padStart(8, '0');

function writeHeader(
  out: Uint8Array,
  kind: number,
  count: number,
  height: number,
  width: number,
  numClasses: number,
  payloadLength: number,
  crc: number,
): void {
  const v = new DataView(out.buffer, out.byteOffset, SHARD_HEADER_BYTES);
  out.set(SHARD_MAGIC, 0);
  v.setUint16(4, SHARD_VERSION, true);
  v.setUint16(6, kind, true);
  v.setUint32(8, count, true);
  v.setUint32(12, height, true);
  v.setUint32(16, width, true);
  v.setUint32(20, numClasses, true);
  v.setUint32(24, payloadLength, true);
  v.setUint32(28, crc, true);
}

export function encodeTextShard(bytes: Uint8Array): Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new ShardError('encodeTextShard: bytes must be a Uint8Array');
  if (bytes.length > U32_MAX - SHARD_HEADER_BYTES) throw new ShardError(`text of ${bytes.length} bytes is too long for a shard`);
  const out = new Uint8Array(SHARD_HEADER_BYTES + bytes.length);
  out.set(bytes, SHARD_HEADER_BYTES);
  writeHeader(out, SHARD_KIND.text, bytes.length, 0, 0, 0, bytes.length, crc32(bytes));
  return out;
}

function checkImageFields(count: number, height: number, width: number, numClasses: number): number {
  for (const [name, x] of [
    ['count', count],
    ['height', height],
    ['width', width],
    ['numClasses', numClasses],
  ] as const) {
    if (!Number.isInteger(x) || x < 0 || x > U32_MAX) throw new ShardError(`image shard ${name} ${x} is not a u32`);
  }
  if (height === 0 || width === 0) throw new ShardError(`image shard has a zero dimension (height ${height}, width ${width})`);
  if (numClasses < 1 || numClasses > 256) throw new ShardError(`image shard numClasses ${numClasses} is outside 1..256 (labels are u8)`);
  const payload = count * (height * width + 1); // exact in f64 for any u32 inputs we accept below
  if (payload > U32_MAX - SHARD_HEADER_BYTES) throw new ShardError(`image shard payload of ${payload} bytes does not fit a u32 length`);
  return payload;
}

function checkLabels(labels: Uint8Array, numClasses: number): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= numClasses) throw new ShardError(`label ${labels[i]} at index ${i} is not below numClasses ${numClasses}`);
  }
}

export function encodeImageShard(s: Omit<ImageShard, 'kind'>): Uint8Array {
  const payloadLength = checkImageFields(s.count, s.height, s.width, s.numClasses);
  const pixels = s.count * s.height * s.width;
  if (s.images.length !== pixels) {
    throw new ShardError(`images has ${s.images.length} bytes, expected count*height*width = ${pixels}`);
  }
  if (s.labels.length !== s.count) throw new ShardError(`labels has ${s.labels.length} entries, expected count = ${s.count}`);
  checkLabels(s.labels, s.numClasses);
  const out = new Uint8Array(SHARD_HEADER_BYTES + payloadLength);
  out.set(s.images, SHARD_HEADER_BYTES);
  out.set(s.labels, SHARD_HEADER_BYTES + pixels);
  const crc = crc32(out.subarray(SHARD_HEADER_BYTES));
  writeHeader(out, SHARD_KIND.images, s.count, s.height, s.width, s.numClasses, payloadLength, crc);
  return out;
}

/**
 * Strict parse: every header field, the file length and the CRC are checked. The returned arrays are
 * views into `buf` (no copy): do not mutate them if the buffer is shared.
 */
export function parseShard(buf: ArrayBuffer | Uint8Array): TextShard | ImageShard {
  const u8 = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  if (u8.length < SHARD_HEADER_BYTES) {
    throw new ShardError(`shard is ${u8.length} bytes, shorter than the ${SHARD_HEADER_BYTES}-byte header (truncated file?)`);
  }
  for (let i = 0; i < 4; i++) {
    if (u8[i] !== SHARD_MAGIC[i]) {
      const got = Array.from(u8.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
      throw new ShardError(`bad magic: expected "MLSH" (4d 4c 53 48), found ${got} (not a shard file?)`);
    }
  }
  const v = new DataView(u8.buffer, u8.byteOffset, SHARD_HEADER_BYTES);
  const version = v.getUint16(4, true);
  if (version !== SHARD_VERSION) throw new ShardError(`unsupported shard version ${version} (this reader knows ${SHARD_VERSION})`);
  const kind = v.getUint16(6, true);
  const count = v.getUint32(8, true);
  const height = v.getUint32(12, true);
  const width = v.getUint32(16, true);
  const numClasses = v.getUint32(20, true);
  const payloadLength = v.getUint32(24, true);
  const crc = v.getUint32(28, true);

  let expected: number;
  if (kind === SHARD_KIND.text) {
    if (height !== 0 || width !== 0 || numClasses !== 0) {
      throw new ShardError(`text shard has nonzero image fields (height ${height}, width ${width}, numClasses ${numClasses})`);
    }
    expected = count;
  } else if (kind === SHARD_KIND.images) {
    expected = checkImageFields(count, height, width, numClasses);
  } else {
    throw new ShardError(`unknown shard kind ${kind} (1 = text, 2 = images)`);
  }
  if (payloadLength !== expected) {
    throw new ShardError(`header payload length ${payloadLength} does not match the ${expected} bytes its counts imply`);
  }
  const fileLength = SHARD_HEADER_BYTES + payloadLength;
  if (u8.length !== fileLength) {
    const what = u8.length < fileLength ? 'truncated' : 'trailing bytes';
    throw new ShardError(`shard is ${u8.length} bytes but its header says ${fileLength} (${what})`);
  }
  const payload = u8.subarray(SHARD_HEADER_BYTES);
  const actual = crc32(payload);
  if (actual !== crc) throw new ShardError(`payload CRC32 mismatch: header says ${hex8(crc)}, payload has ${hex8(actual)} (corrupt file?)`);

  if (kind === SHARD_KIND.text) return { kind: 'text', bytes: payload };
  const pixels = count * height * width;
  const labels = payload.subarray(pixels);
  checkLabels(labels, numClasses);
  return { kind: 'images', count, height, width, images: payload.subarray(0, pixels), labels, numClasses };
}
