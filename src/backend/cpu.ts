import type { EngineBase } from './engine';
import { HostEngineBase } from './host';
import { RawTensor, arrayFor, sizeOf, type DType, type TypedArr } from './tensor';

/** The CPU engine: plain typed arrays. Ops compute in f64 and store f32, as the twins of the kernels. */
export class CpuEngine extends HostEngineBase implements EngineBase {
  readonly kind = 'cpu' as const;
  private live = 0;
  /**
   * f64 mode stores 'f32' tensors in Float64Array: used by finite-difference gradient checks, where
   * f32 rounding would swamp the difference quotient.
   */
  constructor(readonly f64 = false) {
    super();
  }

  get liveTensors(): number {
    return this.live;
  }
  empty(shape: readonly number[], dtype: DType = 'f32'): RawTensor {
    this.live++;
    const n = sizeOf(shape);
    const data = this.f64 && dtype === 'f32' ? (new Float64Array(n) as unknown as TypedArr) : arrayFor(dtype, n);
    return new RawTensor(this, [...shape], dtype, data, null);
  }
  release(_t: RawTensor): void {
    this.live--;
  }
}
