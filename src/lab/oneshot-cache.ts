// One-shot results (a prior's or a baseline's masks and weights) kept between the runs of one page
// or process, so a second Run of the same model — another κ, τ or learning rate — starts learning
// without computing the prior again. Keyed by what the result depends on: the checkpoint's bytes
// (CRC-32), the calibration batches' tokens or pixels (CRC-32), the method, n:m and the weight
// storage; never by names, so a changed file or dataset misses. Held in memory only, up to a byte
// budget (least recently used dropped first): the bundled models fit many times, GPT-2 small's
// masks and weights (~0.4 GB) do not and are never kept. The runner clears it when the engine
// changes (results differ in the last bits between engines).
import type { OneShotResult } from '../sparsity/oneshot';
import { crc32 } from '../sparsity/maskfile';

/** Default budget: 64 MiB of masks and weights. */
export const ONE_SHOT_CACHE_BYTES = 64 * 2 ** 20;

const resultBytes = (r: OneShotResult): number => {
  let n = 0;
  for (const m of r.masks.values()) n += m.byteLength;
  for (const w of r.weights.values()) n += w.byteLength;
  return n;
};

/** CRC-32 over byte arrays (typed arrays read as their bytes), chained in order. */
export function contentHash(parts: readonly ArrayBufferView[]): string {
  let crc = 0;
  for (const p of parts) crc = crc32(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), crc);
  return (crc >>> 0).toString(16).padStart(8, '0');
}

export class OneShotCache {
  private readonly entries = new Map<string, { result: OneShotResult; bytes: number }>();
  private held = 0;
  hits = 0;

  constructor(readonly maxBytes = ONE_SHOT_CACHE_BYTES) {}

  /** Whether a model of this many parameters could be kept (masks 1 B + weights 4 B per parameter bound the size). */
  admits(parameters: number): boolean {
    return 5 * parameters <= this.maxBytes;
  }

  get(key: string): OneShotResult | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    // most recently used last (Map order is insertion order)
    this.entries.delete(key);
    this.entries.set(key, e);
    this.hits++;
    return e.result;
  }

  set(key: string, result: OneShotResult): void {
    const bytes = resultBytes(result);
    if (bytes > this.maxBytes) return;
    const old = this.entries.get(key);
    if (old) {
      this.held -= old.bytes;
      this.entries.delete(key);
    }
    while (this.held + bytes > this.maxBytes) {
      const [k, e] = this.entries.entries().next().value!;
      this.entries.delete(k);
      this.held -= e.bytes;
    }
    this.entries.set(key, { result, bytes });
    this.held += bytes;
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.held;
  }

  clear(): void {
    this.entries.clear();
    this.held = 0;
  }
}
