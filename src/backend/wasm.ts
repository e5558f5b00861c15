// The WebAssembly SIMD engine: tensors live in one WebAssembly.Memory that JS owns and every kernel
// module imports (src/wasm/load.ts). Ops with a WebAssembly kernel call it with byte offsets into
// that memory (src/wasm/*.ts); the others run their CPU twin on the tensors' typed-array views.
//
// Trap: memory.grow() detaches the old ArrayBuffer, so a typed array taken before an allocation is
// empty after one that grew the memory. Tensors hold a WasmStore (below), which re-creates its view
// when memory.buffer changed; code must take views (t.f32, t.data) after its allocations.
import { bucketSize } from '../gpu/buffers';
import { loadKernels, type WasmKernels, type WasmVariant } from '../wasm/load';
import type { EngineBase } from './engine';
import { HostEngineBase } from './host';
import { RawTensor, sizeOf, type DType, type HostStore, type TypedArr } from './tensor';

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
      this.view = new ctor[this.dtype](buf, this.byteOffset, this.length);
    }
    return this.view!;
  }
}

export interface WasmEngineOptions {
  /** Kernel variant; default: relaxed SIMD where the runtime validates it, else SIMD128. */
  variant?: WasmVariant;
  /** Initial memory in 64 KiB pages (default 256: 16 MiB). */
  initialPages?: number;
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

  private constructor(
    readonly memory: WebAssembly.Memory,
    readonly kernels: WasmKernels,
  ) {
    super();
  }

  /** Async because Chromium compiles modules over 4 KB on the main thread only asynchronously. */
  static async create(opts: WasmEngineOptions = {}): Promise<WasmEngine> {
    const memory = new WebAssembly.Memory({ initial: opts.initialPages ?? 256, maximum: MAX_PAGES });
    return new WasmEngine(memory, await loadKernels(memory, opts.variant));
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
      const pages = Math.min(Math.max(need, Math.ceil(cur / 2)), MAX_PAGES - cur);
      if (pages < need) {
        throw new RangeError(
          `WasmEngine: ${asked} bytes asked (a block of ${size}) need the memory to grow to ${Math.ceil(end / PAGE)} pages (${(end / 2 ** 20).toFixed(1)} MiB), over the 4 GiB (${MAX_PAGES} pages) a WebAssembly memory can hold`,
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
