// RawTensor: a shaped, typed block of memory owned by one engine (CPU arrays or a GPU buffer).
// Everything is row-major and contiguous; views are not supported on purpose (ops say what they
// transpose). The autograd Tensor in src/autograd wraps a RawTensor.

export type DType = 'f32' | 'u32' | 'i32';
export type TypedArr = Float32Array | Uint32Array | Int32Array;

export interface EngineLike {
  readonly kind: 'cpu' | 'gpu';
  release(t: RawTensor): void;
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
  return dtype === 'f32' ? new Float32Array(n) : dtype === 'u32' ? new Uint32Array(n) : new Int32Array(n);
}

export class RawTensor {
  readonly size: number;
  private disposed = false;
  constructor(
    readonly engine: EngineLike,
    readonly shape: readonly number[],
    readonly dtype: DType,
    /** Set on the CPU engine. */
    readonly cpu: TypedArr | null,
    /** Set on the GPU engine (from the pool; its byte size may exceed size*4). */
    readonly gpu: GPUBuffer | null,
    /** False for a view made by view(): disposing it leaves the storage to its base. */
    readonly ownsStorage = true,
  ) {
    this.size = sizeOf(shape);
  }
  /**
   * The same storage under another shape of the same size (a reshape). The view must not outlive
   * its base: dispose the base, not the view.
   */
  view(shape: readonly number[]): RawTensor {
    if (sizeOf(shape) !== this.size) throw new Error(`view: cannot view [${this.shape.join(', ')}] as [${shape.join(', ')}]`);
    return new RawTensor(this.engine, [...shape], this.dtype, this.cpu, this.gpu, false);
  }
  get isDisposed(): boolean {
    return this.disposed;
  }
  /** CPU data; throws on a GPU tensor (read it with engine.read()). */
  get data(): TypedArr {
    if (!this.cpu) throw new Error('RawTensor.data is only available on the CPU engine; use engine.read(t).');
    return this.cpu;
  }
  /** CPU data of an f32 tensor (a Float64Array on an f64 CPU engine; both index the same way). */
  get f32(): Float32Array {
    if (!this.cpu || this.dtype !== 'f32') throw new Error(`Expected an f32 CPU tensor, got ${this.dtype} on ${this.engine.kind}`);
    return this.cpu as Float32Array;
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

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function assertShape(what: string, got: readonly number[], want: readonly number[]): void {
  if (!sameShape(got, want)) throw new Error(`${what}: expected shape [${want.join(', ')}], got [${got.join(', ')}]`);
}
