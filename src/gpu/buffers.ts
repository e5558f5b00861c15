// A pool of storage buffers with explicit release and a live count that tests read.
//
// WebGPU trap: queue.writeBuffer() runs on the queue timeline immediately, *before* the command
// buffer we are still recording is submitted. If a buffer freed during recording were handed out
// again and written with writeBuffer, the earlier (still unsubmitted) dispatches would read the new
// data. So a released buffer goes to `pendingFree` and becomes reusable only after the next submit.

export const STORAGE_USAGE = GPUBufferUsageFlags();

function GPUBufferUsageFlags(): number {
  // GPUBufferUsage is a global in browsers and in Node's `webgpu` package after `globals` are set.
  const U = (globalThis as unknown as { GPUBufferUsage?: Record<string, number> }).GPUBufferUsage;
  if (!U) return 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST
  return U.STORAGE | U.COPY_SRC | U.COPY_DST;
}

/** Sizes are rounded up to a bucket so freed buffers can serve later requests of similar size. */
export function bucketSize(bytes: number): number {
  const b = Math.max(16, bytes);
  if (b <= 4096) return Math.ceil(b / 256) * 256;
  // power-of-two-ish buckets: 4 steps per octave keeps waste under 19%
  const p = 2 ** Math.floor(Math.log2(b));
  const step = p / 4;
  return Math.ceil(b / step) * step;
}

/** How many earlier buffers are remembered per request position (tensors kept across one step need 2). */
const REMEMBERED_PER_POSITION = 3;

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  /**
   * Stable placement: the k-th request since the last submit prefers a free buffer that served the
   * k-th request of an earlier command buffer. A repeated training step then gets the same buffers
   * every time (or alternates between two when a tensor lives into the next step), so its bind
   * groups come from the engine's cache instead of being created per dispatch. Without it, LIFO
   * reuse permutes the buffers from step to step.
   */
  private byPosition = new Map<number, GPUBuffer[]>();
  private position = 0;
  private pendingFree: GPUBuffer[] = [];
  private sizes = new WeakMap<GPUBuffer, number>();
  private live = 0;
  private liveBytes = 0;
  private pooledBytes = 0;
  // Memory statistics (src/lab/memory-plan.ts is checked against them): the most bytes handed out at
  // once, and the bytes of every buffer created and not destroyed (live + pending + pooled: what the
  // device holds; a buffer released inside a command buffer still counts until it is reused).
  private peakLiveBytes = 0;
  private allocatedBytes = 0;
  private peakAllocatedBytes = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly maxBufferSize: number,
  ) {}

  /** Buffers handed out and not yet released (pooled ones do not count). */
  get liveCount(): number {
    return this.live;
  }
  get liveByteCount(): number {
    return this.liveBytes;
  }
  get pooledByteCount(): number {
    return this.pooledBytes;
  }
  /** The most bytes live at once since creation or the last resetPeaks(). */
  get peakLiveByteCount(): number {
    return this.peakLiveBytes;
  }
  /** Bytes of all pool buffers that exist now (created and not destroyed by trim()). */
  get allocatedByteCount(): number {
    return this.allocatedBytes;
  }
  /** The most bytes allocated at once since creation or the last resetPeaks(). */
  get peakAllocatedByteCount(): number {
    return this.peakAllocatedBytes;
  }
  /** Restart both peaks from the current values. */
  resetPeaks(): void {
    this.peakLiveBytes = this.liveBytes;
    this.peakAllocatedBytes = this.allocatedBytes;
  }

  acquire(bytes: number, label?: string): GPUBuffer {
    const size = bucketSize(bytes);
    if (size > this.maxBufferSize) {
      throw new RangeError(
        `A GPU buffer of ${bytes} bytes was requested but this device allows at most ${this.maxBufferSize} bytes per buffer; use a smaller model or batch.`,
      );
    }
    const list = this.free.get(size);
    const pos = this.position++;
    let buf: GPUBuffer | undefined;
    if (list && list.length > 0) {
      const remembered = this.byPosition.get(pos);
      const at = remembered ? remembered.map((b) => list.lastIndexOf(b)).find((i) => i >= 0) : undefined;
      buf = at !== undefined ? list.splice(at, 1)[0] : list.pop();
    }
    if (buf) {
      this.pooledBytes -= size;
    } else {
      buf = this.device.createBuffer({ size, usage: STORAGE_USAGE, label });
      this.sizes.set(buf, size);
      this.allocatedBytes += size;
      if (this.allocatedBytes > this.peakAllocatedBytes) this.peakAllocatedBytes = this.allocatedBytes;
    }
    const mem = this.byPosition.get(pos);
    if (!mem) this.byPosition.set(pos, [buf]);
    else if (!mem.includes(buf)) {
      mem.unshift(buf);
      if (mem.length > REMEMBERED_PER_POSITION) mem.pop();
    }
    this.live++;
    this.liveBytes += size;
    if (this.liveBytes > this.peakLiveBytes) this.peakLiveBytes = this.liveBytes;
    return buf;
  }

  /** Give a buffer back; it becomes reusable after the next submit (see the trap above). */
  release(buf: GPUBuffer): void {
    this.live--;
    this.liveBytes -= this.sizes.get(buf) ?? 0;
    this.pendingFree.push(buf);
  }

  /** Called by the engine right after a queue submit. */
  afterSubmit(): void {
    for (const b of this.pendingFree) {
      const size = this.sizes.get(b)!;
      let list = this.free.get(size);
      if (!list) this.free.set(size, (list = []));
      list.push(b);
      this.pooledBytes += size;
    }
    this.pendingFree = [];
    this.position = 0;
  }

  /** Destroy every pooled (not live) buffer. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.byPosition.clear();
    this.allocatedBytes -= this.pooledBytes;
    this.pooledBytes = 0;
  }
}
