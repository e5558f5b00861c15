// Shared GPU engine for browser tests. With REQUIRE_WEBGPU=1 (CI) a missing adapter throws, failing
// every GPU test; otherwise `gpuAvailable` is false and suites skip with the reason printed.
import { GpuEngine } from '../../src/backend/gpu';
import type { RawTensor } from '../../src/backend/tensor';

declare const __REQUIRE_WEBGPU__: boolean;

let enginePromise: Promise<GpuEngine | null> | null = null;
export let gpuSkipReason = '';

export function getEngine(): Promise<GpuEngine | null> {
  if (!enginePromise) {
    enginePromise = GpuEngine.create()
      .then((e) => {
        e.poisonAllocations = true;
        return e;
      })
      .catch((e: Error) => {
        if (__REQUIRE_WEBGPU__) throw new Error(`REQUIRE_WEBGPU=1 but no WebGPU device: ${e.message}`);
        gpuSkipReason = `GPU tests skipped: ${e.message}`;
        console.warn(gpuSkipReason);
        return null;
      });
  }
  return enginePromise;
}

/** Fill a GPU tensor with NaN bits so any element a kernel forgets to write fails the comparison. */
export function poison(e: GpuEngine, t: RawTensor): RawTensor {
  const a = new Uint32Array(t.size).fill(0x7fc00000);
  e.device.queue.writeBuffer(t.buffer, 0, a);
  return t;
}

/** An output tensor pre-filled with NaN. */
export function poisoned(e: GpuEngine, shape: number[], dtype: 'f32' | 'u32' | 'i32' = 'f32'): RawTensor {
  return poison(e, e.empty(shape, dtype));
}
