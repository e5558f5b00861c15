// Per-kernel GPU timing with timestamp queries: while profiling, every dispatch gets its own
// compute pass with timestampWrites at its start and end. Chromium quantises timestamps unless
// developer features are on (to 100 µs), so single short kernels read coarse; sums over many
// dispatches are still useful. Without 'timestamp-query' the profiler is unavailable (the caller
// falls back to wall time around onSubmittedWorkDone and says so).

const MAX_QUERIES = 4096; // per query set (WebGPU limit)

interface PendingRead {
  labels: string[];
  readback: GPUBuffer;
}

export interface KernelTime {
  kernel: string;
  calls: number;
  ms: number;
}

export class KernelProfiler {
  private querySet: GPUQuerySet | null = null;
  private labels: string[] = [];
  private pending: PendingRead[] = [];
  private totals = new Map<string, KernelTime>();

  constructor(private readonly device: GPUDevice) {}

  /** Timestamp writes for the next dispatch's pass, or null when this flush's query set is full. */
  nextPass(label: string): GPUComputePassTimestampWrites | null {
    if (this.labels.length >= MAX_QUERIES / 2) return null;
    if (!this.querySet) this.querySet = this.device.createQuerySet({ type: 'timestamp', count: MAX_QUERIES });
    const i = this.labels.length;
    this.labels.push(label);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Before finishing the encoder: resolve this flush's queries into a mappable buffer. */
  resolve(encoder: GPUCommandEncoder): void {
    if (!this.querySet || this.labels.length === 0) return;
    const n = this.labels.length * 2;
    const resolved = this.device.createBuffer({ size: n * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const readback = this.device.createBuffer({ size: n * 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.resolveQuerySet(this.querySet, 0, n, resolved, 0);
    encoder.copyBufferToBuffer(resolved, 0, readback, 0, n * 8);
    this.pending.push({ labels: this.labels, readback });
    this.labels = [];
    this.querySet = null; // a new set per command buffer; the old one is garbage-collected
  }

  /** Wait for every resolved flush and add its times into the totals. */
  async collect(): Promise<KernelTime[]> {
    for (const p of this.pending) {
      await p.readback.mapAsync(GPUMapMode.READ);
      const t = new BigUint64Array(p.readback.getMappedRange());
      p.labels.forEach((label, i) => {
        const ns = Number(t[2 * i + 1] - t[2 * i]);
        const cur = this.totals.get(label) ?? { kernel: label, calls: 0, ms: 0 };
        cur.calls++;
        cur.ms += ns / 1e6;
        this.totals.set(label, cur);
      });
      p.readback.unmap();
      p.readback.destroy();
    }
    this.pending = [];
    return [...this.totals.values()].sort((a, b) => b.ms - a.ms);
  }

  reset(): void {
    this.totals.clear();
  }
}
