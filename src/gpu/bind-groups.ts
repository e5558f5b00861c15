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
}

export class BindGroupCache {
  private groups = new Map<string, GPUBindGroup>();
  readonly stats: BindGroupStats = { created: 0, hits: 0 };

  /** At this many entries the cache is cleared (a run that never repeats should not grow without bound). */
  constructor(private readonly device: GPUDevice, private readonly maxEntries = 8192) {}

  get size(): number {
    return this.groups.size;
  }

  get(pipeline: GPUComputePipeline, entries: { binding: number; buffer: GPUBuffer }[]): GPUBindGroup {
    let key = String(objectId(pipeline));
    for (const e of entries) key += `|${e.binding}:${objectId(e.buffer)}`;
    const have = this.groups.get(key);
    if (have) {
      this.stats.hits++;
      return have;
    }
    if (this.groups.size >= this.maxEntries) this.groups.clear();
    const group = this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
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
