import type { DType, RawTensor, TypedArr } from './tensor';
import type { CpuEngine } from './cpu';
import type { GpuEngine } from './gpu';
import type { WasmEngine } from './wasm';

/**
 * The engines share this surface; ops branch on `kind` to pick the CPU twin, the WGSL kernel or the
 * WebAssembly kernel (an op without a WebAssembly kernel runs its CPU twin on the WasmEngine's arrays).
 */
export interface EngineBase {
  readonly kind: 'cpu' | 'gpu' | 'wasm';
  /** Uninitialised on the GPU (poison it in tests), zero on the CPU and WebAssembly engines. */
  empty(shape: readonly number[], dtype?: DType): RawTensor;
  zeros(shape: readonly number[], dtype?: DType): RawTensor;
  fill(shape: readonly number[], value: number, dtype?: DType): RawTensor;
  upload(data: ArrayLike<number> | TypedArr, shape: readonly number[], dtype?: DType): RawTensor;
  read(t: RawTensor): Promise<TypedArr>;
  /** Overwrite a tensor's contents from the host. */
  write(t: RawTensor, data: TypedArr): void;
  copy(src: RawTensor, dst: RawTensor): void;
  /** Copy `count` elements from src[srcOffset…] to dst[dstOffset…] (element offsets). */
  copyRegion(src: RawTensor, srcOffset: number, dst: RawTensor, dstOffset: number, count: number): void;
  release(t: RawTensor): void;
  /** Submit recorded GPU work (no-op on the CPU). */
  flush(): void;
  /** Wait for all submitted work. */
  sync(): Promise<void>;
  readonly liveTensors: number;
}

export type Engine = CpuEngine | GpuEngine | WasmEngine;
/** The engines whose tensors are host typed arrays (RawTensor.cpu): the CPU twins run on both. */
export type HostEngine = CpuEngine | WasmEngine;
