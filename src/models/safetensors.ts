// A strict reader and writer for the safetensors format (Hugging Face):
//   [u64 little-endian N][N bytes of UTF-8 JSON header][byte buffer]
// The header maps tensor names to {dtype, shape, data_offsets: [begin, end]} (offsets relative to the
// byte buffer) plus an optional "__metadata__" string→string map. The tensors must cover the byte
// buffer exactly: no overlaps, no holes, no trailing bytes (as the reference Rust implementation
// requires). Every number from the header is checked against the real file size before it is used,
// so a hostile header cannot make us allocate or loop over its declared sizes.
import { f16DecodeTable } from './dtype';

export type StDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'U16' | 'U32' | 'U64' | 'BOOL';

export interface StTensor {
  name: string;
  dtype: StDType;
  shape: number[];
  /** A view into the file (no copy); not necessarily aligned to the item size. */
  bytes: Uint8Array;
}

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

export interface ReadOptions {
  /** Largest accepted JSON header, default 100 MiB. */
  maxHeaderBytes?: number;
}

export const ITEM_SIZE: Record<StDType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  U16: 2,
  U32: 4,
  U64: 8,
  BOOL: 1,
};

const METADATA_KEY = '__metadata__';
const ENTRY_KEYS = ['dtype', 'shape', 'data_offsets'];
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function isStDType(s: unknown): s is StDType {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(ITEM_SIZE, s);
}

/** Short printable form of a header value for error messages. */
function show(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? s.slice(0, 77) + '...' : s;
}

function fail(msg: string): never {
  throw new SafetensorsError(`safetensors: ${msg}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Number of bytes a tensor of this shape needs, or Infinity beyond 2^53 (the running product stops
 * there, so a shape like [2^40, 2^40, 2^40] cannot overflow; a zero dimension anywhere gives 0).
 */
function byteSize(where: string, shape: unknown, dtype: StDType): number {
  if (!Array.isArray(shape)) fail(`${where}: shape must be an array of non-negative integers, got ${show(shape)}`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      fail(`${where}: shape must be an array of non-negative integers, got ${show(shape)}`);
    }
  }
  if (shape.includes(0)) return 0;
  let n = ITEM_SIZE[dtype];
  for (const d of shape as number[]) {
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) return Infinity;
  }
  return n;
}

interface Span {
  name: string;
  begin: number;
  end: number;
}

/**
 * The first key that appears twice in one object of already-valid JSON text, or null. JSON.parse
 * silently keeps the last duplicate, which would let two header entries disagree about one tensor.
 * Iterative (a stack, no recursion), so deep nesting cannot overflow the call stack.
 */
export function checkDuplicateKeys(text: string): string | null {
  const stack: (Set<string> | null)[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') stack.push(new Set());
    else if (c === '[') stack.push(null);
    else if (c === '}' || c === ']') stack.pop();
    else if (c === '"') {
      const start = i;
      let escaped = false;
      for (i++; i < text.length && text[i] !== '"'; i++) {
        if (text[i] === '\\') {
          escaped = true;
          i++;
        }
      }
      const raw = text.slice(start, i + 1);
      const str = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
      let j = i + 1;
      while (j < text.length && ' \t\n\r'.includes(text[j])) j++;
      const keys = stack[stack.length - 1];
      if (text[j] === ':' && keys) {
        if (keys.has(str)) return str;
        keys.add(str);
      }
    }
  }
  return null;
}

export function readSafetensors(file: ArrayBuffer | Uint8Array, opts: ReadOptions = {}): { tensors: Map<string, StTensor>; metadata: Record<string, string> } {
  const u8 = file instanceof Uint8Array ? file : new Uint8Array(file);
  const maxHeader = opts.maxHeaderBytes ?? 100 * 1024 * 1024;
  if (u8.byteLength < 8) fail(`file is ${u8.byteLength} bytes, shorter than the 8-byte header length`);

  const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  const headerLen = hi * 2 ** 32 + lo; // exact while hi < 2^21; larger values fail the checks below
  if (headerLen > maxHeader) fail(`header length ${headerLen} exceeds the limit of ${maxHeader} bytes`);
  if (headerLen > u8.byteLength - 8) {
    fail(`header length ${headerLen} goes beyond the end of the file (${u8.byteLength - 8} bytes after the length)`);
  }

  let text: string;
  try {
    // ignoreBOM keeps a byte-order mark in the text, so it fails the '{' check below.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(u8.subarray(8, 8 + headerLen));
  } catch {
    fail('header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail(`header must start with '{', got ${show(text.slice(0, 16))}`);
  let header: unknown;
  try {
    header = JSON.parse(text); // JSON whitespace after the object (HF pads with spaces) is allowed
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(header)) fail('header is not a JSON object');
  const dup = checkDuplicateKeys(text);
  if (dup !== null) fail(`header repeats the key ${show(dup)}`);

  const dataStart = 8 + headerLen;
  const dataLen = u8.byteLength - dataStart;
  const metadata: Record<string, string> = {};
  const spans: Span[] = [];
  const entries = new Map<string, { dtype: StDType; shape: number[] }>();

  for (const [name, entry] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      if (!isPlainObject(entry)) fail(`__metadata__ must be an object of strings, got ${show(entry)}`);
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') fail(`__metadata__[${show(k)}] must be a string, got ${show(v)}`);
        // defineProperty: a key named "__proto__" must stay data, not reset the prototype.
        Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    const where = `tensor ${show(name)}`;
    if (!isPlainObject(entry)) fail(`${where}: entry must be an object, got ${show(entry)}`);
    for (const k of Object.keys(entry)) {
      if (!ENTRY_KEYS.includes(k)) fail(`${where}: unexpected field ${show(k)} (allowed: dtype, shape, data_offsets)`);
    }
    const { dtype, shape, data_offsets: offs } = entry;
    if (!isStDType(dtype)) fail(`${where}: unknown dtype ${show(dtype)}`);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1]) {
      fail(`${where}: data_offsets must be two non-negative integers [begin, end] with begin <= end, got ${show(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    if (end > dataLen) fail(`${where}: data_offsets ${show(offs)} go beyond the data section (${dataLen} bytes)`);
    const need = byteSize(where, shape, dtype);
    if (need !== end - begin) {
      const needStr = Number.isFinite(need) ? `${need}` : 'more than 2^53';
      fail(`${where}: ${dtype} ${show(shape)} needs ${needStr} bytes but data_offsets ${show(offs)} span ${end - begin}`);
    }
    spans.push({ name, begin, end });
    entries.set(name, { dtype, shape: (shape as number[]).slice() });
  }

  // Coverage: sorted by (begin, end), each tensor must start where the previous one ended.
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let prev = '(start of data)';
  for (const s of spans) {
    if (s.begin < cursor) fail(`tensor ${show(s.name)} [${s.begin}, ${s.end}) overlaps ${show(prev)} (which ends at ${cursor})`);
    if (s.begin > cursor) fail(`hole of ${s.begin - cursor} bytes in the data section between ${show(prev)} and ${show(s.name)} (at ${cursor})`);
    cursor = s.end;
    prev = s.name;
  }
  if (cursor !== dataLen) fail(`${dataLen - cursor} trailing bytes after the last tensor are not covered by any tensor`);

  const tensors = new Map<string, StTensor>();
  for (const s of spans) {
    const e = entries.get(s.name)!;
    tensors.set(s.name, { name: s.name, dtype: e.dtype, shape: e.shape, bytes: u8.subarray(dataStart + s.begin, dataStart + s.end) });
  }
  return { tensors, metadata };
}

/** An aligned typed-array view of the tensor bytes (copied only when the file offset is unaligned). */
function aligned<T>(t: StTensor, make: (buf: ArrayBuffer, off: number, n: number) => T): T {
  const size = ITEM_SIZE[t.dtype];
  const n = t.bytes.byteLength / size;
  if (t.bytes.byteOffset % size === 0) return make(t.bytes.buffer as ArrayBuffer, t.bytes.byteOffset, n);
  return make(t.bytes.slice().buffer, 0, n);
}

/** Converts any numeric tensor to f32 (64-bit integers above 2^24 lose precision, as f32 must). */
export function toFloat32(t: StTensor): Float32Array {
  const size = ITEM_SIZE[t.dtype];
  if (t.dtype === 'BOOL') fail(`tensor ${show(t.name)}: BOOL cannot be converted to float32`);
  if (size === undefined || t.bytes.byteLength % size !== 0) {
    fail(`tensor ${show(t.name)}: ${t.bytes.byteLength} bytes is not a whole number of ${t.dtype} items`);
  }
  const n = t.bytes.byteLength / size;
  const out = new Float32Array(n);
  if (!LITTLE_ENDIAN) {
    // Big-endian hosts: read element by element (never the case in today's browsers).
    const dv = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
    for (let i = 0; i < n; i++) out[i] = readLE(dv, t.dtype, i * size);
    return out;
  }
  switch (t.dtype) {
    case 'F32':
      out.set(aligned(t, (b, o, k) => new Float32Array(b, o, k)));
      break;
    case 'F64':
      out.set(aligned(t, (b, o, k) => new Float64Array(b, o, k)));
      break;
    case 'F16': {
      const bits = aligned(t, (b, o, k) => new Uint16Array(b, o, k));
      const table = f16DecodeTable();
      for (let i = 0; i < n; i++) out[i] = table[bits[i]];
      break;
    }
    case 'BF16': {
      const bits = aligned(t, (b, o, k) => new Uint16Array(b, o, k));
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = bits[i] << 16;
      break;
    }
    case 'I64': {
      const a = aligned(t, (b, o, k) => new BigInt64Array(b, o, k));
      for (let i = 0; i < n; i++) out[i] = Number(a[i]);
      break;
    }
    case 'U64': {
      const a = aligned(t, (b, o, k) => new BigUint64Array(b, o, k));
      for (let i = 0; i < n; i++) out[i] = Number(a[i]);
      break;
    }
    case 'I32':
      out.set(aligned(t, (b, o, k) => new Int32Array(b, o, k)));
      break;
    case 'U32':
      out.set(aligned(t, (b, o, k) => new Uint32Array(b, o, k)));
      break;
    case 'I16':
      out.set(aligned(t, (b, o, k) => new Int16Array(b, o, k)));
      break;
    case 'U16':
      out.set(aligned(t, (b, o, k) => new Uint16Array(b, o, k)));
      break;
    case 'I8':
      out.set(new Int8Array(t.bytes.buffer, t.bytes.byteOffset, n));
      break;
    case 'U8':
      out.set(t.bytes);
      break;
  }
  return out;
}

/**
 * Like toFloat32, but an F32 tensor that sits 4-byte aligned in its buffer (on a little-endian host)
 * comes back as a view of the file's bytes, without a copy. Trap: writing to the result writes
 * into the file; callers upload it and drop it. Alignment is of the address in the buffer: a file
 * whose data section starts 8-aligned (writers pad the header) still has its F32 tensors unaligned
 * after a BOOL/U8 buffer of odd size or an F16 tensor of odd length, and those are copied.
 */
export function asFloat32(t: StTensor): Float32Array {
  if (t.dtype === 'F32' && LITTLE_ENDIAN && t.bytes.byteOffset % 4 === 0) return new Float32Array(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength / 4);
  return toFloat32(t);
}

function readLE(dv: DataView, dtype: StDType, o: number): number {
  switch (dtype) {
    case 'F64':
      return dv.getFloat64(o, true);
    case 'F32':
      return dv.getFloat32(o, true);
    case 'F16':
      return f16DecodeTable()[dv.getUint16(o, true)];
    case 'BF16':
      return new Float32Array(new Uint32Array([dv.getUint16(o, true) << 16]).buffer)[0];
    case 'I64':
      return Number(dv.getBigInt64(o, true));
    case 'U64':
      return Number(dv.getBigUint64(o, true));
    case 'I32':
      return dv.getInt32(o, true);
    case 'U32':
      return dv.getUint32(o, true);
    case 'I16':
      return dv.getInt16(o, true);
    case 'U16':
      return dv.getUint16(o, true);
    case 'I8':
      return dv.getInt8(o);
    default:
      return dv.getUint8(o);
  }
}

/** Which dtypes each typed-array kind may carry. Byte views (Uint8Array, DataView) carry any dtype. */
const VIEW_DTYPES: Record<string, StDType[]> = {
  Float64Array: ['F64'],
  Float32Array: ['F32'],
  Float16Array: ['F16'],
  BigInt64Array: ['I64'],
  BigUint64Array: ['U64'],
  Int32Array: ['I32'],
  Uint32Array: ['U32'],
  Int16Array: ['I16'],
  Uint16Array: ['U16', 'F16', 'BF16'], // half floats travel as their bit patterns
  Int8Array: ['I8'],
};
const BYTE_VIEWS = ['Uint8Array', 'Uint8ClampedArray', 'DataView', 'Buffer'];

export interface WriteTensor {
  name: string;
  dtype: StDType;
  shape: number[];
  /** Little-endian element data: a typed array matching the dtype, or raw bytes (Uint8Array/DataView). */
  data: ArrayBufferView;
}

/**
 * Serialises tensors into one safetensors file. Data is laid out in name order (code-unit order),
 * the header is padded with spaces to a multiple of 8 so the data section starts 8-aligned.
 */
export function writeSafetensors(tensors: WriteTensor[], metadata?: Record<string, string>): Uint8Array {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) fail(`metadata must be an object of strings, got ${show(metadata)}`);
    const meta: Record<string, string> = {};
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') fail(`metadata[${show(k)}] must be a string, got ${show(v)}`);
      Object.defineProperty(meta, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
    if (Object.keys(meta).length > 0) header[METADATA_KEY] = meta;
  }
  const seen = new Set<string>();
  let offset = 0;
  const chunks: Uint8Array[] = [];
  for (const t of sorted) {
    const where = `tensor ${show(t.name)}`;
    if (typeof t.name !== 'string') fail(`tensor name must be a string, got ${show(t.name)}`);
    if (t.name === METADATA_KEY) fail(`"__metadata__" is reserved and cannot name a tensor`);
    if (seen.has(t.name)) fail(`${where} appears twice`);
    seen.add(t.name);
    if (!isStDType(t.dtype)) fail(`${where}: unknown dtype ${show(t.dtype)}`);
    const bytes = viewBytes(where, t.data, t.dtype);
    const need = byteSize(where, t.shape, t.dtype);
    if (need !== bytes.byteLength) {
      fail(`${where}: ${t.dtype} ${show(t.shape)} needs ${Number.isFinite(need) ? need : 'more than 2^53'} bytes but the data has ${bytes.byteLength}`);
    }
    if (t.dtype === 'BOOL' && bytes.some((b) => b > 1)) fail(`${where}: BOOL data must be bytes 0 or 1`);
    Object.defineProperty(header, t.name, {
      value: { dtype: t.dtype, shape: t.shape.slice(), data_offsets: [offset, offset + need] },
      enumerable: true,
      writable: true,
      configurable: true,
    });
    chunks.push(bytes);
    offset += need;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLen = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + headerLen + offset);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, headerLen % 2 ** 32, true);
  dv.setUint32(4, Math.floor(headerLen / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + headerLen); // space padding
  let p = 8 + headerLen;
  for (const c of chunks) {
    out.set(c, p);
    p += c.byteLength;
  }
  return out;
}

function viewBytes(where: string, data: ArrayBufferView, dtype: StDType): Uint8Array {
  if (!ArrayBuffer.isView(data)) fail(`${where}: data must be a typed array or DataView`);
  const kind = data.constructor.name;
  if (!BYTE_VIEWS.includes(kind)) {
    const ok = VIEW_DTYPES[kind];
    if (!ok || !ok.includes(dtype)) {
      fail(`${where}: data is a ${kind} but dtype is ${dtype} (pass raw little-endian bytes as a Uint8Array to reinterpret)`);
    }
    if (!LITTLE_ENDIAN) fail(`${where}: big-endian host; pass little-endian bytes as a Uint8Array`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
