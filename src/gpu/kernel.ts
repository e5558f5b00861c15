// Kernels and the pipeline cache. A kernel is a WGSL module + entry point + override constants
// (workgroup size, tile shape, flags). Every specialisation is part of the cache key, so a pipeline
// is compiled once per (shader, entry, constants) and reused for every shape: shapes travel as uniforms.

export interface Kernel {
  /** Shader family name, e.g. 'matmul' (for messages and the cache key). */
  name: string;
  code: string;
  entry: string;
  /** WGSL `override` constants. */
  constants?: Record<string, number>;
}

export function kernelKey(k: Kernel): string {
  const c = k.constants
    ? Object.entries(k.constants)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([a, v]) => `${a}=${v}`)
        .join(',')
    : '';
  return `${k.name}:${k.entry}:${c}`;
}

export class KernelCache {
  private modules = new Map<string, GPUShaderModule>();
  private pipelines = new Map<string, GPUComputePipeline>();
  compiled = 0;

  constructor(private readonly device: GPUDevice) {}

  get size(): number {
    return this.pipelines.size;
  }

  /** The pipeline keys compiled so far. */
  keys(): string[] {
    return [...this.pipelines.keys()];
  }

  private module(k: Kernel): GPUShaderModule {
    let m = this.modules.get(k.code);
    if (!m) {
      m = this.device.createShaderModule({ code: k.code, label: k.name });
      this.modules.set(k.code, m);
    }
    return m;
  }

  pipeline(k: Kernel): GPUComputePipeline {
    const key = kernelKey(k);
    let p = this.pipelines.get(key);
    if (!p) {
      p = this.device.createComputePipeline({
        label: key,
        layout: 'auto',
        compute: { module: this.module(k), entryPoint: k.entry, constants: k.constants },
      });
      this.pipelines.set(key, p);
      this.compiled++;
    }
    return p;
  }

  /** Compile ahead of time with createComputePipelineAsync, reporting k of n (pipeline creation is slow). */
  async warm(kernels: Kernel[], progress?: (done: number, total: number) => void): Promise<void> {
    let done = 0;
    await Promise.all(
      kernels.map(async (k) => {
        const key = kernelKey(k);
        if (!this.pipelines.has(key)) {
          const p = await this.device.createComputePipelineAsync({
            label: key,
            layout: 'auto',
            compute: { module: this.module(k), entryPoint: k.entry, constants: k.constants },
          });
          this.pipelines.set(key, p);
          this.compiled++;
        }
        progress?.(++done, kernels.length);
      }),
    );
  }
}
