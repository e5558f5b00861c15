// A cache of bind groups keyed by (pipeline, buffer identities), so that a training step that
// repeats the same dispatches on the same buffers creates no bind group after its first run.
//
// Why it hits: the buffer pool hands buffers back in a deterministic order (same ops → same
// buffers), and uniforms come from per-position slots (the i-th dispatch of a command buffer always
// uses uniform slot i), so step k+1 asks for exactly the bind groups step k made.
//
// WebGPU trap: a cached bind group keeps its buffers referenced from JS; a bind group whose buffer
// was destroyed is a validation error at submit. Buffers are only destroyed by pool trims and
// engine teardown, which clear this cache (and ids are never reused, so a stale key cannot match).

let nextId = 1;
const ids = new WeakMap<object, number>();

/** A process-unique id for a GPU object (pipelines, buffers). */
export function objectId(o: object): number {
  let id = ids.get(o);
  if (id === undefined) {
    id = nextId++;
    ids.set(o, id);
  }
  return id;
}

export interface BindGroupStats {
  created: number;
  hits: number;
  /** least recently used entries dropped at the size cap */
  evicted: number;
}

/**
 * Default cap. A mask-learning step of the bundled models binds a few hundred distinct groups; a
 * whole session (evaluations, metric reads, the odd reshuffle of the buffer pool) creates a few new
 * ones per step. Each entry holds a native bind group and its key, so the cap bounds that memory
 * (a soak showed ~10 KiB per step of native growth while a cap of 8,192 was filling).
 */
export const BIND_GROUP_CACHE_ENTRIES = 2048;

export class BindGroupCache {
  // Map iteration order is insertion order: a hit re-inserts its key, so the first key is the least
  // recently used one and eviction is O(1).
  private groups = new Map<string, GPUBindGroup>();
  // getBindGroupLayout() returns a new wrapper object on every call: ask once per pipeline
  private layouts = new WeakMap<GPUComputePipeline, GPUBindGroupLayout>();
  readonly stats: BindGroupStats = { created: 0, hits: 0, evicted: 0 };

  constructor(
    private readonly device: GPUDevice,
    private readonly maxEntries = BIND_GROUP_CACHE_ENTRIES,
  ) {}

  get size(): number {
    return this.groups.size;
  }

  get(pipeline: GPUComputePipeline, entries: { binding: number; buffer: GPUBuffer }[]): GPUBindGroup {
    let key = String(objectId(pipeline));
    for (const e of entries) key += `|${e.binding}:${objectId(e.buffer)}`;
    const have = this.groups.get(key);
    if (have) {
      this.stats.hits++;
      this.groups.delete(key);
      this.groups.set(key, have);
      return have;
    }
    if (this.groups.size >= this.maxEntries) {
      this.groups.delete(this.groups.keys().next().value!);
      this.stats.evicted++;
    }
    let layout = this.layouts.get(pipeline);
    if (!layout) this.layouts.set(pipeline, (layout = pipeline.getBindGroupLayout(0)));
    const group = this.device.createBindGroup({
      layout,
      entries: entries.map((e) => ({ binding: e.binding, resource: { buffer: e.buffer } })),
    });
    this.groups.set(key, group);
    this.stats.created++;
    return group;
  }

  clear(): void {
    this.groups.clear();
  }
}
