// The WebAssembly SIMD engine: tensors live in one WebAssembly.Memory that JS owns and every kernel
// module imports (src/wasm/load.ts). Ops with a WebAssembly kernel call it with byte offsets into
// that memory (src/wasm/*.ts); the others run their CPU twin on the tensors' typed-array views.
//
// Threads: with `threads` > 1 the memory is a shared one and the kernels the shared builds; a pool of
// threads − 1 workers (src/wasm/pool.ts) runs the kernels' ranges beside the calling thread through
// parallelFor. That needs SharedArrayBuffer: in a browser only a cross-origin-isolated page has it
// (COOP/COEP, sent by vite.config.ts's servers); an embedded or non-isolated page runs on one thread
// and threadNote says why.
//
// Trap: memory.grow() detaches the old ArrayBuffer of an unshared memory, so a typed array taken
// before an allocation is empty after one that grew the memory. A shared memory's old buffer is not
// detached: memory.buffer becomes a new, longer SharedArrayBuffer and old views keep their old
// length. Either way memory.buffer is a new object after a grow: tensors hold a WasmStore (below),
// which re-creates its view when memory.buffer changed; code must take views (t.f32, t.data) after
// its allocations.
import { bucketSize } from '../gpu/buffers';
import {
  checkVariant,
  compileKernels,
  defaultVariant,
  instantiateKernels,
  SHARED_MAX_PAGES,
  type WasmFamily,
  type WasmKernels,
  type WasmVariant,
  WASM_FAMILIES,
} from '../wasm/load';
import { poolUnavailable, WasmPool, type KernelName, type ParallelOptions } from '../wasm/pool';
import type { EngineBase } from './engine';
import { HostEngineBase } from './host';
import { RawTensor, arrayFor, sizeOf, type DType, type HostStore, type TypedArr } from './tensor';

const PAGE = 65536;
/** WebAssembly memory32 holds at most 65,536 pages (4 GiB). */
const MAX_PAGES = 65536;
/** Offset 0 means "no tensor" to the kernels (absent bias or mask), so the arena starts above it. */
const ARENA_START = 256;

const ctor = { f32: Float32Array, u32: Uint32Array, i32: Int32Array } as const;

/** A tensor's block of the engine's memory; `array` is a view re-created after the memory grew. */
class WasmStore implements HostStore {
  private buffer: ArrayBuffer | null = null;
  private view: TypedArr | null = null;
  constructor(
    private readonly memory: WebAssembly.Memory,
    readonly byteOffset: number,
    private readonly length: number,
    private readonly dtype: DType,
  ) {}
  get array(): TypedArr {
    const buf = this.memory.buffer;
    if (buf !== this.buffer) {
      this.buffer = buf;
      this.view = new ctor[this.dtype as keyof typeof ctor](buf, this.byteOffset, this.length); // never 'f16': empty() refuses it
    }
    return this.view!;
  }
}

export interface WasmEngineOptions {
  /** Kernel variant; default: relaxed SIMD where the runtime validates it, else SIMD128. */
  variant?: WasmVariant;
  /** Initial memory in 64 KiB pages (default 256: 16 MiB). */
  initialPages?: number;
  /**
   * Threads, the calling one included (default: the cores — navigator.hardwareConcurrency or Node's
   * os.availableParallelism() — at most 8, where shared memory is usable, else 1). More than one
   * needs SharedArrayBuffer and workers; where they are missing the engine runs on one thread and
   * `threadNote` says why.
   */
  threads?: number;
  /** Tests: split every job over every thread however small (each kernel's grain is ignored). */
  splitSmall?: boolean;
}

/** The default thread count's ceiling. */
export const DEFAULT_MAX_THREADS = 8;
/** The most threads one engine takes (a setting beyond this is refused). */
export const MAX_THREADS = 64;

/** Logical cores of this machine (1 where the runtime does not say). */
export async function hardwareThreads(): Promise<number> {
  const hc = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  if (hc && hc > 0) return hc;
  if (typeof process !== 'undefined' && process.versions?.node) {
    const spec = 'node:os'; // a variable specifier, so no browser bundler tries to resolve it
    const os = (await import(/* @vite-ignore */ spec)) as { availableParallelism?: () => number; cpus(): unknown[] };
    return os.availableParallelism?.() ?? os.cpus().length;
  }
  return 1;
}

/** A shared memory of `initial` pages: the largest maximum the runtime reserves, from 4 GiB down. */
function sharedMemory(initial: number): { memory: WebAssembly.Memory; maximum: number } {
  let err: unknown = null;
  // a shared memory cannot move when it grows, so its whole maximum is reserved up front (address
  // space, not RAM); a 32-bit or constrained runtime may refuse 4 GiB: ask for less (the modules
  // declare SHARED_MAX_PAGES, and a smaller maximum matches their import)
  for (const maximum of [SHARED_MAX_PAGES, SHARED_MAX_PAGES / 4, SHARED_MAX_PAGES / 16]) {
    if (maximum < initial) break;
    try {
      return { memory: new WebAssembly.Memory({ initial, maximum, shared: true }), maximum };
    } catch (e) {
      err = e;
    }
  }
  throw new RangeError(`WasmEngine: could not create a shared memory of ${initial} pages: ${(err as Error | null)?.message ?? 'too large'}`);
}

/** Arena statistics (tests: a repeated step, once warm, creates no blocks and grows nothing). */
export interface WasmArenaStats {
  /** Blocks carved from the top of the arena so far (a reused free block does not count). */
  blocksCreated: number;
  /** memory.grow calls so far. */
  grows: number;
  /** Bytes of memory now. */
  memoryBytes: number;
  /** Bytes of the blocks handed out now: live tensors and the kernels' scratch. */
  liveBytes: number;
}

export class WasmEngine extends HostEngineBase implements EngineBase {
  readonly kind = 'wasm' as const;
  private live = 0;
  /** The first free byte above every block ever created. */
  private top = ARENA_START;
  /** Free blocks by bucket size (src/gpu/buffers.ts bucketSize, as the GPU pool). */
  private free = new Map<number, number[]>();
  /** Live block offset → its bucket size. */
  private blocks = new Map<number, number>();
  private stats = { blocksCreated: 0, grows: 0, liveBytes: 0 };
  /** Kernel scratch (packed panels): one block, replaced by a larger one when a call needs more. */
  private scratchAt = 0;
  private scratchSize = 0;

  /** The memory's maximum in pages (a shared memory's may be below 4 GiB: sharedMemory). */
  private readonly maxPages: number;
  private destroyed = false;
  /** WasmEngineOptions.splitSmall. */
  private splitSmall = false;

  /** The kernels callers run: `plain`, or timed wrappers of it while profiling. */
  private active: WasmKernels;
  /** Milliseconds and calls per kernel export while profiling (startProfiling), else null. */
  private profile: Map<string, { ms: number; calls: number }> | null = null;

  private constructor(
    readonly memory: WebAssembly.Memory,
    private readonly plain: WasmKernels,
    private readonly pool: WasmPool | null,
    /** Why the engine runs on one thread where more were asked or the default would be more; else null. */
    readonly threadNote: string | null,
    maxPages: number,
  ) {
    super();
    this.maxPages = maxPages;
    this.active = plain;
  }

  /** The kernel exports by family (byte-offset pointers into `memory`). */
  get kernels(): WasmKernels {
    return this.active;
  }

  /**
   * Times every kernel call until stopProfiling (the bench's table of where a step's time goes):
   * direct export calls through timed wrappers, pool jobs in parallelFor (their wall time, every
   * thread's chunk included). Wrapping costs about a microsecond per call.
   */
  startProfiling(): void {
    const profile = (this.profile = new Map());
    const add = (key: string, ms: number) => {
      const r = profile.get(key) ?? { ms: 0, calls: 0 };
      r.ms += ms;
      r.calls++;
      profile.set(key, r);
    };
    const wrapped: Record<string, unknown> = { variant: this.plain.variant };
    for (const family of WASM_FAMILIES) {
      const o: Record<string, unknown> = {};
      for (const [name, f] of Object.entries(this.plain[family] as unknown as Record<string, unknown>)) {
        if (typeof f !== 'function') {
          o[name] = f;
          continue;
        }
        const key = `${family}.${name}`;
        o[name] = (...a: number[]) => {
          const t0 = performance.now();
          try {
            return (f as (...x: number[]) => unknown)(...a);
          } finally {
            add(key, performance.now() - t0);
          }
        };
      }
      wrapped[family] = o;
    }
    this.active = wrapped as unknown as WasmKernels;
  }

  /** The calls since startProfiling, slowest first; profiling stops. */
  stopProfiling(): { kernel: string; ms: number; calls: number }[] {
    const rows = [...(this.profile ?? new Map<string, { ms: number; calls: number }>())].map(([kernel, r]) => ({ kernel, ...r }));
    this.profile = null;
    this.active = this.plain;
    return rows.sort((a, b) => b.ms - a.ms);
  }

  /** Async because Chromium compiles modules over 4 KB on the main thread only asynchronously. */
  static async create(opts: WasmEngineOptions = {}): Promise<WasmEngine> {
    const variant = opts.variant ?? defaultVariant();
    const initial = opts.initialPages ?? 256;
    checkVariant(variant);
    if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 1 && opts.threads <= MAX_THREADS)) {
      throw new RangeError(`WasmEngine: threads must be a whole number from 1 to ${MAX_THREADS}, not ${opts.threads}`);
    }
    const wanted = opts.threads ?? Math.min(await hardwareThreads(), DEFAULT_MAX_THREADS);
    let note = wanted > 1 ? poolUnavailable() : null;
    if (wanted > 1 && !note) {
      let pool: WasmPool | null = null;
      try {
        const { memory, maximum } = sharedMemory(initial);
        const modules = await compileKernels(variant, true);
        const kernels = await instantiateKernels(memory, modules, variant);
        pool = await WasmPool.create(wanted, memory, modules, kernels);
        return new WasmEngine(memory, kernels, pool, null, maximum).setSplitSmall(opts.splitSmall);
      } catch (err) {
        pool?.destroy();
        note = `the thread pool could not start (${(err as Error).message}), so one thread`;
      }
    }
    const memory = new WebAssembly.Memory({ initial, maximum: MAX_PAGES });
    return new WasmEngine(memory, await instantiateKernels(memory, await compileKernels(variant, false), variant), null, note, MAX_PAGES);
  }

  private setSplitSmall(on = false): this {
    this.splitSmall = on;
    return this;
  }

  /** Jobs parallelFor ran on the pool, and those that ran on more than one thread (null: no pool). */
  get threadStats(): { jobs: number; split: number } | null {
    return this.pool ? { ...this.pool.stats } : null;
  }

  /** Threads the kernels run on (the calling one included). */
  get threads(): number {
    return this.pool?.threads ?? 1;
  }

  /** Terminate the pool's workers (idempotent); kernels that would use it refuse afterwards. */
  destroy(): void {
    this.destroyed = true;
    this.pool?.destroy();
  }

  /** Resolves when the pool's workers have exited (at once without a pool). Tests. */
  get workersExited(): Promise<void> {
    return this.pool?.exited ?? Promise.resolve();
  }

  /**
   * Run kernel export `fn` of `family` over the range [start, end) — its last two parameters — split
   * into contiguous chunks over the engine's threads (src/wasm/pool.ts: the options, and how a caller
   * adopts it). Synchronous: returns when every chunk is done; a trap on any thread is thrown here.
   * `args` are the export's parameters before the range (byte offsets for pointers).
   */
  parallelFor<F extends WasmFamily>(family: F, fn: KernelName<F>, args: readonly number[], start: number, end: number, opts: ParallelOptions = {}): void {
    if (this.destroyed) throw new Error('WasmEngine: the engine was destroyed');
    if (this.pool) {
      const t0 = this.profile ? performance.now() : 0;
      this.pool.run(family, fn, args, start, end, this.splitSmall ? { ...opts, grain: 1 } : opts, (each, threads) => this.scratch(each * threads));
      if (this.profile) {
        const key = `${family}.${fn}`;
        const r = this.profile.get(key) ?? { ms: 0, calls: 0 };
        r.ms += performance.now() - t0;
        r.calls++;
        this.profile.set(key, r);
      }
      return;
    }
    // one thread: the export itself, over the whole range of every z
    const kernel = (this.kernels[family] as unknown as Record<string, (...a: number[]) => void>)[fn];
    const all = [...args, start, end];
    const scratch = opts.scratch ? this.scratch(opts.scratch.bytes) : 0;
    const batch = opts.batch ?? 1;
    for (let z = 0; z < batch; z++) {
      if (z > 0 && opts.strides) for (let i = 0; i < args.length; i++) all[i] = args[i] + z * (opts.strides[i] ?? 0);
      if (opts.scratch) all[opts.scratch.arg] = scratch;
      kernel(...all);
    }
  }

  get variant(): WasmVariant {
    return this.kernels.variant;
  }
  get liveTensors(): number {
    return this.live;
  }
  get arena(): WasmArenaStats {
    return { ...this.stats, memoryBytes: this.memory.buffer.byteLength };
  }

  /** A block of at least `bytes` (its offset, 256-byte aligned): a free one of the same bucket, else a new one. */
  private alloc(bytes: number): number {
    const size = bucketSize(bytes);
    const at = this.free.get(size)?.pop() ?? this.carve(size, bytes);
    this.blocks.set(at, size);
    this.stats.liveBytes += size;
    return at;
  }

  private carve(size: number, asked: number): number {
    const at = this.top;
    const end = at + size;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      // grow by at least half the memory, so a growing model reaches its size in a few grows
      const need = Math.ceil((end - have) / PAGE);
      const cur = have / PAGE;
      const pages = Math.min(Math.max(need, Math.ceil(cur / 2)), this.maxPages - cur);
      if (pages < need) {
        throw new RangeError(
          `WasmEngine: ${asked} bytes asked (a block of ${size}) need the memory to grow to ${Math.ceil(end / PAGE)} pages (${(end / 2 ** 20).toFixed(1)} MiB), over the ${this.maxPages === MAX_PAGES ? '4 GiB' : `${(this.maxPages * PAGE) / 2 ** 20} MiB`} (${this.maxPages} pages) this WebAssembly memory can hold`,
        );
      }
      try {
        this.memory.grow(pages);
      } catch (err) {
        throw new RangeError(
          `WasmEngine: could not grow the memory by ${pages} pages (${((pages * PAGE) / 2 ** 20).toFixed(1)} MiB) to ${((have + pages * PAGE) / 2 ** 20).toFixed(1)} MiB for ${asked} bytes asked: ${(err as Error).message}`,
          { cause: err },
        );
      }
      this.stats.grows++;
    }
    this.top = end;
    this.stats.blocksCreated++;
    return at;
  }

  private freeBlock(at: number): void {
    const size = this.blocks.get(at);
    if (size === undefined) throw new Error(`WasmEngine: no live block at offset ${at} (released twice?)`);
    this.blocks.delete(at);
    this.stats.liveBytes -= size;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(at);
  }

  /** Byte offset of a tensor of this engine (what the kernels take). */
  ptr(t: RawTensor): number {
    if (t.engine !== this) throw new Error(`WasmEngine: a tensor of another engine (${t.engine.kind}) was passed to this WebAssembly engine`);
    return t.cpu!.byteOffset;
  }

  /** A scratch area of at least `bytes` for one kernel call (reused; valid until the next call asks for more). */
  scratch(bytes: number): number {
    if (bytes > this.scratchSize) {
      if (this.scratchAt) this.freeBlock(this.scratchAt);
      this.scratchAt = this.alloc(bytes);
      this.scratchSize = this.blocks.get(this.scratchAt)!;
    }
    return this.scratchAt;
  }

  empty(shape: readonly number[], dtype: DType = 'f32'): RawTensor {
    arrayFor(dtype, 0); // refuses 'f16' (GPU only) with its message
    const n = sizeOf(shape);
    const at = this.alloc(n * 4);
    this.live++;
    const t = new RawTensor(this, [...shape], dtype, new WasmStore(this.memory, at, n, dtype), null);
    // zero, as on the CPU engine: a reused block holds an earlier tensor's values
    t.data.fill(0);
    return t;
  }
  release(t: RawTensor): void {
    this.live--;
    this.freeBlock(t.cpu!.byteOffset);
  }
}
