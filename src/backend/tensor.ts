// RawTensor: a shaped, typed block of memory owned by one engine (host arrays or a GPU buffer).
// Everything is row-major and contiguous; views are not supported on purpose (ops say what they
// transpose). The autograd Tensor in src/autograd wraps a RawTensor.

/**
 * 'f16': packed half-precision storage of frozen weights (issue 21; src/backend/f16.ts), GPU engine
 * only — two values per u32 word; `size` and `shape` stay the logical element count, read() returns
 * the values as f32, and ops that take one say so (the Gumbel sample, its backward, W ⊙ m, unpackF16).
 */
export type DType = 'f32' | 'u32' | 'i32' | 'f16';
export type TypedArr = Float32Array | Uint32Array | Int32Array;

export interface EngineLike {
  readonly kind: 'cpu' | 'gpu' | 'wasm';
  release(t: RawTensor): void;
}

/**
 * Host memory whose typed-array view can be replaced: a tensor in a WebAssembly memory, whose
 * ArrayBuffer is detached when the memory grows. `array` is read on every access of RawTensor.cpu,
 * so a view taken before an allocation must not be used after it (take views after allocating).
 */
export interface HostStore {
  readonly array: TypedArr;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`Bad dimension ${d} in shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

export function arrayFor(dtype: DType, n: number): TypedArr {
  if (dtype === 'f16') throw new Error("packed f16 tensors live on the GPU engine only (weightStorage 'f16'); the host engines hold f32");
  return dtype === 'f32' ? new Float32Array(n) : dtype === 'u32' ? new Uint32Array(n) : new Int32Array(n);
}

/** Bytes of storage for n elements: 4 each, or 2 each packed in whole u32 words for 'f16'. */
export function storageBytes(dtype: DType, n: number): number {
  return dtype === 'f16' ? 4 * Math.ceil(n / 2) : 4 * n;
}

export class RawTensor {
  readonly size: number;
  private disposed = false;
  private readonly array: TypedArr | null;
  private readonly host: HostStore | null;
  constructor(
    readonly engine: EngineLike,
    readonly shape: readonly number[],
    readonly dtype: DType,
    /** Set on the host engines: a typed array (CPU engine) or a store whose view may change (WasmEngine). */
    store: TypedArr | HostStore | null,
    /** Set on the GPU engine (from the pool; its byte size may exceed size*4). */
    readonly gpu: GPUBuffer | null,
    /** False for a view made by view(): disposing it leaves the storage to its base. */
    readonly ownsStorage = true,
  ) {
    this.size = sizeOf(shape);
    const isArray = store === null || ArrayBuffer.isView(store);
    this.array = isArray ? (store as TypedArr | null) : null;
    this.host = isArray ? null : (store as HostStore);
  }
  /** Host data (CPU and WebAssembly engines), null on the GPU engine. */
  get cpu(): TypedArr | null {
    return this.host ? this.host.array : this.array;
  }
  /**
   * The same storage under another shape of the same size (a reshape). The view must not outlive
   * its base: dispose the base, not the view.
   */
  view(shape: readonly number[]): RawTensor {
    if (sizeOf(shape) !== this.size) throw new Error(`view: cannot view [${this.shape.join(', ')}] as [${shape.join(', ')}]`);
    return new RawTensor(this.engine, [...shape], this.dtype, this.host ?? this.array, this.gpu, false);
  }
  get isDisposed(): boolean {
    return this.disposed;
  }
  /** Host data; throws on a GPU tensor (read it with engine.read()). */
  get data(): TypedArr {
    const d = this.cpu;
    if (!d) throw new Error('RawTensor.data is only available on the CPU and WebAssembly engines; use engine.read(t).');
    return d;
  }
  /** Host data of an f32 tensor (a Float64Array on an f64 CPU engine; both index the same way). */
  get f32(): Float32Array {
    const d = this.cpu;
    if (!d || this.dtype !== 'f32') throw new Error(`Expected an f32 host tensor, got ${this.dtype} on ${this.engine.kind}`);
    return d as Float32Array;
  }
  get buffer(): GPUBuffer {
    if (!this.gpu) throw new Error('RawTensor.buffer is only available on the GPU engine.');
    return this.gpu;
  }
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.ownsStorage) this.engine.release(this);
  }
}

/**
 * Whether two tensors' storage overlaps: the same GPU buffer, or overlapping bytes of one host
 * buffer (the WebAssembly engine keeps every tensor in one memory, so the buffer alone says nothing).
 */
export function sharesStorage(a: RawTensor, b: RawTensor): boolean {
  if (a.gpu || b.gpu) return a.gpu === b.gpu;
  const x = a.cpu,
    y = b.cpu;
  if (!x || !y || x.buffer !== y.buffer) return false;
  return x.byteOffset < y.byteOffset + y.byteLength && y.byteOffset < x.byteOffset + x.byteLength;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function assertShape(what: string, got: readonly number[], want: readonly number[]): void {
  if (!sameShape(got, want)) throw new Error(`${what}: expected shape [${want.join(', ')}], got [${got.join(', ')}]`);
}
