import type { EngineBase } from './engine';
import { RawTensor, arrayFor, sizeOf, type DType, type TypedArr } from './tensor';

/** The CPU engine: plain typed arrays. Ops compute in f64 and store f32, as the twins of the kernels. */
export class CpuEngine implements EngineBase {
  readonly kind = 'cpu' as const;
  private live = 0;
  /**
   * f64 mode stores 'f32' tensors in Float64Array: used by finite-difference gradient checks, where
   * f32 rounding would swamp the difference quotient.
   */
  constructor(readonly f64 = false) {}

  get liveTensors(): number {
    return this.live;
  }
  empty(shape: readonly number[], dtype: DType = 'f32'): RawTensor {
    this.live++;
    const n = sizeOf(shape);
    const data = this.f64 && dtype === 'f32' ? (new Float64Array(n) as unknown as TypedArr) : arrayFor(dtype, n);
    return new RawTensor(this, [...shape], dtype, data, null);
  }
  zeros(shape: readonly number[], dtype: DType = 'f32'): RawTensor {
    return this.empty(shape, dtype);
  }
  fill(shape: readonly number[], value: number, dtype: DType = 'f32'): RawTensor {
    const t = this.empty(shape, dtype);
    t.data.fill(value);
    return t;
  }
  upload(data: ArrayLike<number>, shape: readonly number[], dtype: DType = 'f32'): RawTensor {
    const t = this.empty(shape, dtype);
    if (data.length !== t.size) throw new Error(`upload: ${data.length} values for shape [${shape.join(', ')}] (${t.size})`);
    t.data.set(data as ArrayLike<number>);
    return t;
  }
  async read(t: RawTensor): Promise<TypedArr> {
    return t.data.slice();
  }
  write(t: RawTensor, data: TypedArr): void {
    if (data.length !== t.size) throw new Error(`write: ${data.length} values for a tensor of ${t.size}`);
    t.data.set(data);
  }
  copy(src: RawTensor, dst: RawTensor): void {
    dst.data.set(src.data);
  }
  copyRegion(src: RawTensor, srcOffset: number, dst: RawTensor, dstOffset: number, count: number): void {
    if (srcOffset + count > src.size || dstOffset + count > dst.size) throw new RangeError('copyRegion: out of bounds');
    dst.data.set(src.data.subarray(srcOffset, srcOffset + count), dstOffset);
  }
  release(_t: RawTensor): void {
    this.live--;
  }
  flush(): void {}
  async sync(): Promise<void> {}
}
