// What the two host-memory engines (CpuEngine: plain typed arrays; WasmEngine: views of one
// WebAssembly memory) do alike: everything but allocation, over RawTensor.data.
import { sizeOf, type DType, type RawTensor, type TypedArr } from './tensor';

export abstract class HostEngineBase {
  /** A new tensor, zero-filled. */
  abstract empty(shape: readonly number[], dtype?: DType): RawTensor;

  zeros(shape: readonly number[], dtype: DType = 'f32'): RawTensor {
    return this.empty(shape, dtype);
  }
  fill(shape: readonly number[], value: number, dtype: DType = 'f32'): RawTensor {
    const t = this.empty(shape, dtype);
    t.data.fill(value);
    return t;
  }
  upload(data: ArrayLike<number>, shape: readonly number[], dtype: DType = 'f32'): RawTensor {
    const n = sizeOf(shape);
    if (data.length !== n) throw new Error(`upload: ${data.length} values for shape [${shape.join(', ')}] (${n})`);
    const t = this.empty(shape, dtype);
    t.data.set(data);
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
    // TypedArray.set copies overlapping ranges of one buffer (the WebAssembly memory) as a memmove
    dst.data.set(src.data.subarray(srcOffset, srcOffset + count), dstOffset);
  }
  flush(): void {}
  async sync(): Promise<void> {}
}
