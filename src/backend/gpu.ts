import type { ShapeClass } from '../gpu/autotune';
import { acquireDevice, type AcquireOptions, type DeviceInfo } from '../gpu/device';
import { BindGroupCache } from '../gpu/bind-groups';
import { BufferPool } from '../gpu/buffers';
import { GpuError } from '../gpu/errors';
import { KernelCache, kernelKey, type Kernel } from '../gpu/kernel';
import { KernelProfiler } from '../gpu/profiler';
import type { EngineBase } from './engine';
import { f16WordCount, packF16, unpackF16 } from './f16';
import { RawTensor, arrayFor, sizeOf, storageBytes, type DType, type TypedArr } from './tensor';

export interface DispatchArgs {
  /** Uniform struct bytes (see gpu/params.ts), bound at @binding(0); omit for kernels without one. */
  params?: ArrayBuffer;
  /**
   * Storage bindings in order, at @binding(1), (2), ... (or from 0 when there are no params).
   * A `null` leaves a hole: with layout 'auto' a binding the entry point does not use is stripped
   * from its layout, and binding it anyway is a validation error.
   */
  bindings: (RawTensor | GPUBuffer | null)[];
  workgroups: [number, number?, number?];
}

/** Uniform slot size: every params struct of the kernels fits, so slots are rarely replaced. */
const UNIFORM_SLOT_BYTES = 256;
/** Free readback staging buffers kept for reuse, in bytes (larger reads get a fresh buffer). */
const STAGING_CACHE_BYTES = 16 * 2 ** 20;

export interface EngineStats {
  dispatches: number;
  submits: number;
  readbacks: number;
  /** readback staging buffers created (reads of a size seen before reuse a cached one) */
  stagingCreated: number;
}

/**
 * The GPU engine: records every op into one command encoder (one compute pass) and submits only
 * on flush()/read(), so a whole training step is one command buffer with no CPU round trip.
 */
export class GpuEngine implements EngineBase {
  readonly kind = 'gpu' as const;
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  readonly kernels: KernelCache;
  readonly stats: EngineStats = { dispatches: 0, submits: 0, readbacks: 0, stagingCreated: 0 };
  readonly bindGroups: BindGroupCache;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  /** Uniform buffers by position: the i-th dispatch since the last submit uses slot i. */
  private uniformSlots: GPUBuffer[] = [];
  // Readback staging buffers, reused by byte size (a metrics read every few steps would otherwise
  // create and destroy a MAP_READ buffer each time). Capped at STAGING_CACHE_BYTES in total.
  private stagingFree = new Map<number, GPUBuffer[]>();
  private stagingCachedBytes = 0;
  private uniformNext = 0;
  private lostError: GpuError | null = null;
  private errors: string[] = [];
  private lostListeners: ((e: GpuError) => void)[] = [];
  /**
   * Tests set this: every tensor from empty() starts as NaN, so an element a kernel forgets to write
   * shows up as NaN in the comparison with the CPU twin instead of passing by luck.
   */
  poisonAllocations = false;
  /** Set by collectKernels(): dispatches are recorded by kernel and not encoded. */
  private collecting: Map<string, Kernel> | null = null;
  /** Set by collectKernels() when asked: the shape classes of the ops with variants (autotuning). */
  private collectingClasses: Map<string, ShapeClass<string>> | null = null;
  /**
   * Kernel picks by shape class key (src/gpu/autotune.ts; LabSession tunes them on a real GPU): an op
   * with variants runs the pick for its class, else its built-in choice by shape.
   */
  readonly picks = new Map<string, string>();
  /** Set by startProfiling(): each dispatch then runs in its own timed pass. */
  private profiler: KernelProfiler | null = null;

  private constructor(readonly info: DeviceInfo) {
    this.device = info.device;
    this.pool = new BufferPool(this.device, info.limits.maxBufferSize);
    this.kernels = new KernelCache(this.device);
    this.bindGroups = new BindGroupCache(this.device);
    this.device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      this.errors.push(ev.error.message);
    };
    info.lost.then((l) => {
      this.lostError = new GpuError('device-lost', `GPU device lost (${l.reason}): ${l.message || 'no message'}.`);
      for (const f of this.lostListeners) f(this.lostError);
    });
  }

  static async create(opts: AcquireOptions = {}): Promise<GpuEngine> {
    return new GpuEngine(await acquireDevice(opts));
  }

  get liveTensors(): number {
    return this.pool.liveCount;
  }
  get isLost(): boolean {
    return this.lostError !== null;
  }
  onLost(f: (e: GpuError) => void): void {
    this.lostListeners.push(f);
  }
  /** Uncaptured WebGPU errors since the last call (tests assert this is empty). */
  takeErrors(): string[] {
    const e = this.errors;
    this.errors = [];
    return e;
  }

  private check(): void {
    if (this.lostError) throw this.lostError;
  }

  empty(shape: readonly number[], dtype: DType = 'f32'): RawTensor {
    this.check();
    const n = sizeOf(shape);
    const bytes = storageBytes(dtype, n);
    const buf = this.pool.acquire(bytes);
    // poison: f32 NaN per word, or two f16 NaNs per word for packed f16
    if (this.poisonAllocations && n > 0) this.device.queue.writeBuffer(buf, 0, new Uint32Array(bytes / 4).fill(dtype === 'f16' ? 0x7e007e00 : 0x7fc00000));
    return new RawTensor(this, [...shape], dtype, null, buf);
  }
  zeros(shape: readonly number[], dtype: DType = 'f32'): RawTensor {
    const t = this.empty(shape, dtype);
    this.endPass();
    this.enc().clearBuffer(t.buffer, 0, storageBytes(dtype, t.size) || 4);
    return t;
  }
  fill(shape: readonly number[], value: number, dtype: DType = 'f32'): RawTensor {
    const a = dtype === 'f16' ? new Float32Array(sizeOf(shape)) : arrayFor(dtype, sizeOf(shape));
    a.fill(value);
    return this.upload(a, shape, dtype);
  }
  upload(data: ArrayLike<number> | TypedArr, shape: readonly number[], dtype: DType = 'f32'): RawTensor {
    const t = this.empty(shape, dtype);
    if (data.length !== t.size) throw new Error(`upload: ${data.length} values for shape [${shape.join(', ')}] (${t.size})`);
    if (dtype === 'f16') {
      // packed on the host, rounded to nearest even (src/backend/f16.ts); a value beyond f16's range throws
      let words: Uint32Array;
      try {
        words = packF16(data, `upload [${shape.join(', ')}]`);
      } catch (err) {
        t.dispose();
        throw err;
      }
      if (words.length > 0) this.device.queue.writeBuffer(t.buffer, 0, words.buffer, words.byteOffset, words.byteLength);
      return t;
    }
    const arr = ArrayBuffer.isView(data) && (data as TypedArr).constructor === arrayFor(dtype, 0).constructor ? (data as TypedArr) : arrayFor(dtype, t.size);
    if (arr !== data) arr.set(data as ArrayLike<number>);
    // Safe: the buffer came from the pool only after every earlier use of it was submitted.
    if (t.size > 0) this.device.queue.writeBuffer(t.buffer, 0, arr.buffer, arr.byteOffset, t.size * 4);
    return t;
  }
  write(t: RawTensor, data: TypedArr): void {
    if (data.length !== t.size) throw new Error(`write: ${data.length} values for a tensor of ${t.size}`);
    // writeBuffer runs before any recorded-but-unsubmitted work: submit that work first so it sees the old data.
    this.flush();
    if (t.dtype === 'f16') {
      const words = packF16(data, 'write');
      if (words.length > 0) this.device.queue.writeBuffer(t.buffer, 0, words.buffer, words.byteOffset, words.byteLength);
      return;
    }
    this.device.queue.writeBuffer(t.buffer, 0, data.buffer, data.byteOffset, t.size * 4);
  }
  copy(src: RawTensor, dst: RawTensor): void {
    if ((src.dtype === 'f16') !== (dst.dtype === 'f16'))
      throw new Error(`copy: cannot copy ${src.dtype} into ${dst.dtype} (packed f16 storage: unpackF16 makes f32)`);
    this.endPass();
    this.enc().copyBufferToBuffer(src.buffer, 0, dst.buffer, 0, storageBytes(src.dtype, src.size));
  }
  copyRegion(src: RawTensor, srcOffset: number, dst: RawTensor, dstOffset: number, count: number): void {
    if (src.dtype === 'f16' || dst.dtype === 'f16')
      throw new Error('copyRegion: element offsets of packed f16 storage are not word offsets; read the tensor, or unpackF16 it first');
    if (srcOffset + count > src.size || dstOffset + count > dst.size) throw new RangeError('copyRegion: out of bounds');
    if (count === 0) return;
    this.endPass();
    this.enc().copyBufferToBuffer(src.buffer, srcOffset * 4, dst.buffer, dstOffset * 4, count * 4);
  }
  release(t: RawTensor): void {
    if (t.gpu) this.pool.release(t.gpu);
  }

  async read(t: RawTensor): Promise<TypedArr> {
    this.check();
    const bytes = Math.max(4, storageBytes(t.dtype, t.size));
    const staging = this.takeStaging(bytes);
    this.endPass();
    this.enc().copyBufferToBuffer(t.buffer, 0, staging, 0, bytes);
    this.flush();
    this.stats.readbacks++;
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      staging.destroy();
      // After device.destroy() the map can fail before device.lost resolves: give the loss a moment
      // so the caller sees 'device-lost' rather than an unmapped-buffer error.
      await Promise.race([this.info.lost, new Promise((r) => setTimeout(r, 250))]);
      this.check();
      throw e;
    }
    let out: TypedArr;
    if (t.dtype === 'f16') {
      // packed f16 comes back as its f32 values (exact)
      out = unpackF16(new Uint32Array(staging.getMappedRange().slice(0, f16WordCount(t.size) * 4)), t.size);
    } else {
      out = arrayFor(t.dtype, t.size);
      out.set(new (out.constructor as { new (b: ArrayBuffer): TypedArr })(staging.getMappedRange().slice(0, t.size * 4)));
    }
    staging.unmap();
    this.giveBackStaging(staging);
    return out;
  }

  /** A MAP_READ buffer of exactly `bytes`, from the cache when one is free (never shared by two reads in flight). */
  private takeStaging(bytes: number): GPUBuffer {
    const free = this.stagingFree.get(bytes);
    const reused = free?.pop();
    if (reused) {
      this.stagingCachedBytes -= bytes;
      return reused;
    }
    this.stats.stagingCreated++;
    return this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }
  private giveBackStaging(buf: GPUBuffer): void {
    if (this.stagingCachedBytes + buf.size > STAGING_CACHE_BYTES) {
      buf.destroy();
      return;
    }
    const list = this.stagingFree.get(buf.size) ?? [];
    list.push(buf);
    this.stagingFree.set(buf.size, list);
    this.stagingCachedBytes += buf.size;
  }

  private enc(): GPUCommandEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    return this.encoder;
  }
  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  private uniform(data: ArrayBuffer): GPUBuffer {
    // Each dispatch of a command buffer gets its own uniform buffer: writeBuffer lands before the
    // submit, so sharing one buffer between dispatches of the same command buffer would give all of
    // them the last value. Slots are reused by position after the submit (queue order makes that
    // safe), so a repeated step binds the same buffers and its bind groups come from the cache.
    const i = this.uniformNext++;
    let u = this.uniformSlots[i];
    if (!u || u.size < data.byteLength) {
      u?.destroy();
      u = this.device.createBuffer({
        size: Math.max(UNIFORM_SLOT_BYTES, Math.ceil(data.byteLength / 16) * 16),
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      });
      this.uniformSlots[i] = u;
    }
    this.device.queue.writeBuffer(u, 0, data);
    return u;
  }

  /** Record one compute dispatch. */
  dispatch(kernel: Kernel, args: DispatchArgs): void {
    this.check();
    const [x, y = 1, z = 1] = args.workgroups;
    const maxWg = this.info.limits.maxComputeWorkgroupsPerDimension;
    if (x > maxWg || y > maxWg || z > maxWg) {
      throw new RangeError(`${kernel.name}: ${x}×${y}×${z} workgroups exceed the device limit of ${maxWg} per dimension`);
    }
    if (x === 0 || y === 0 || z === 0) return; // nothing to do (an empty tensor)
    if (this.collecting) {
      this.collecting.set(kernelKey(kernel), kernel);
      return;
    }
    const pipeline = this.kernels.pipeline(kernel);
    const entries: { binding: number; buffer: GPUBuffer }[] = [];
    let b = 0;
    if (args.params) entries.push({ binding: b++, buffer: this.uniform(args.params) });
    for (const t of args.bindings) {
      if (t === null) {
        b++;
        continue;
      }
      if (t instanceof RawTensor && t.isDisposed) throw new Error(`${kernel.name}: binding ${b} uses a disposed tensor`);
      entries.push({ binding: b++, buffer: t instanceof RawTensor ? t.buffer : t });
    }
    const bindGroup = this.bindGroups.get(pipeline, entries);
    const timestampWrites = this.profiler?.nextPass(kernelKey(kernel).replace(/:$/, ''));
    if (timestampWrites) {
      this.endPass();
      this.pass = this.enc().beginComputePass({ timestampWrites });
    }
    if (!this.pass) this.pass = this.enc().beginComputePass();
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(x, y, z);
    if (timestampWrites) this.endPass();
    this.stats.dispatches++;
  }

  flush(): void {
    this.endPass();
    if (!this.encoder) {
      // Nothing recorded since the last submit, so no unsubmitted command uses a buffer released
      // since then: they can be reused now (an evaluation frees a batch's tape after its readback and
      // the next batch should reuse those buffers instead of allocating a second set).
      this.pool.afterSubmit();
      return;
    }
    this.profiler?.resolve(this.encoder);
    const cb = this.encoder.finish();
    this.encoder = null;
    this.device.queue.submit([cb]);
    this.stats.submits++;
    this.pool.afterSubmit();
    this.uniformNext = 0;
  }

  /**
   * Run `fn` without executing any kernel, and return every kernel it dispatched (once each), e.g.
   * to compile a run's pipelines ahead of time with progress (KernelCache.warm). Buffers are still
   * allocated and uploads still happen; whatever `fn` reads back is meaningless (nothing ran).
   * With `shapeClasses`, the shape classes of the ops with variants are added to it (autotuning).
   */
  async collectKernels(fn: () => void | Promise<void>, shapeClasses?: Map<string, ShapeClass<string>>): Promise<Kernel[]> {
    this.flush();
    const seen = new Map<string, Kernel>();
    this.collecting = seen;
    this.collectingClasses = shapeClasses ?? null;
    try {
      await fn();
    } finally {
      this.collecting = null;
      this.collectingClasses = null;
    }
    return [...seen.values()];
  }

  /** Inside collectKernels(fn, classes): ops report their shape classes. */
  get isCollecting(): boolean {
    return this.collectingClasses !== null;
  }

  /** Whether ops should name their shape class: while collecting them, or when picks exist. */
  get wantsShapeClasses(): boolean {
    return this.collectingClasses !== null || this.picks.size > 0;
  }

  /** An op with variants reports its shape class (kept only inside collectKernels(fn, classes)). */
  noteShapeClass(cls: ShapeClass<string>): void {
    this.collectingClasses?.set(cls.key, cls);
  }

  /** Time every following dispatch with timestamp queries (needs the 'timestamp-query' feature). */
  startProfiling(): boolean {
    if (!this.info.features.timestampQuery) return false;
    this.flush();
    this.profiler = new KernelProfiler(this.device);
    return true;
  }
  /** Stop profiling and return the time per kernel (pipeline key), largest first. */
  async stopProfiling(): Promise<import('../gpu/profiler').KernelTime[]> {
    const p = this.profiler;
    if (!p) return [];
    this.flush();
    this.profiler = null;
    return p.collect();
  }

  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.check();
  }

  destroy(): void {
    for (const list of this.stagingFree.values()) for (const b of list) b.destroy();
    this.stagingFree.clear();
    this.stagingCachedBytes = 0;
    this.bindGroups.clear();
    this.pool.trim();
    this.device.destroy();
  }
}
