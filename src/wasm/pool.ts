// The WebAssembly thread pool: N − 1 workers and the calling thread run one kernel export over
// disjoint parts of an index range, on one shared WebAssembly.Memory. Every worker instantiates the
// same compiled modules (src/wasm/load.ts, the *Shared builds) on that memory, so a pointer means the
// same bytes on every thread. Dispatch is synchronous: the caller writes the job into a control
// SharedArrayBuffer (not the wasm memory: the arena hands that out as tensors), wakes the workers with
// Atomics.notify, runs the first chunk itself and waits until every worker has counted itself done.
//
// Adopting it from a kernel caller is one line: instead of
//   e.kernels.rows.layerNorm(px, pw, pb, py, C, eps, 0, rows);
// write
//   e.parallelFor('rows', 'layerNorm', [px, pw, pb, py, C, eps], 0, rows);
// for a kernel whose last two parameters are a range [start, end) and which touches only memory its
// range owns (the range convention of wasm/*.ts). Options (ParallelOptions): `scratch` (one scratch
// area per thread, passed in the named argument), `batch` + `strides` (the call repeated over z with
// pointer arguments advanced by z·stride; the range split runs over batch × range), `align` (chunk
// boundaries on multiples, e.g. the matmul's 4-row strips) and `grain` (the least range units a
// thread is worth: fewer threads for small jobs, since waking one costs tens of microseconds).
// With one thread (WasmEngine threads = 1) the same call runs the export directly, with no pool.
//
// Traps:
// - Atomics.wait throws on a browser's main thread (vitest's browser tests run there); the caller then
//   spins on Atomics.load instead. Workers, Node's main thread and the lab's engine worker may wait.
// - A shared memory needs SharedArrayBuffer, which a browser gives only to a cross-origin-isolated page
//   (COOP same-origin + COEP require-corp; an embedded lab is not isolated): the engine checks first.
// - memory.grow on a shared memory does not detach the old buffer: memory.buffer becomes a new, longer
//   SharedArrayBuffer and old views keep the old length. The wasm code in the workers sees the new size
//   by itself; the workers hold no JS views of the memory, so nothing of theirs needs refreshing.
//   Only the calling thread allocates (and grows), always between dispatches.
// - A worker blocked in Atomics.wait processes no messages: the job goes through the control buffer,
//   errors come back through it (a trap in a worker is caught there, written as text, and thrown on the
//   caller after every chunk has finished), and destroy() terminates the workers.
// - Node workers are unref()'d once started (after their listeners: startWorkers), so a test or tool
//   exits while they wait.
import { WASM_FAMILIES, type WasmFamily, type WasmKernels, type WasmModules } from './load';

/** The export names of a family that are functions (what parallelFor may run). */
export type KernelName<F extends WasmFamily> = {
  [K in keyof WasmKernels[F]]: WasmKernels[F][K] extends (...args: never[]) => unknown ? K : never;
}[keyof WasmKernels[F]] &
  string;

export interface ParallelOptions {
  /** One scratch area of `bytes` per thread, passed as argument `arg` (an index into args). */
  scratch?: { arg: number; bytes: number };
  /** Repeat the call for z = 0 … batch − 1 (default 1), with args[i] + z·strides[i]; the split runs over batch × (end − start). */
  batch?: number;
  strides?: readonly number[];
  /** Chunk boundaries (in the flattened batch × range) on multiples of this (default 1). */
  align?: number;
  /** The least range units worth a thread of their own (default 1): a job of u units uses at most u / grain threads. */
  grain?: number;
}

/** Most arguments a kernel export takes before its range. */
export const MAX_ARGS = 30;
const MAX_TEXT = 1024;

// The control buffer (Int32Array): a header, then one slot per thread.
const PENDING = 0; // workers that have not finished the current job
const ERROR = 1; // 0, or the thread index (1 … threads − 1) of the first worker whose chunk threw
const STOP = 2; // 1: workers return
const FN = 3; // the function id (index into the pool's function table)
const NARGS = 4;
const BATCH = 5;
const START = 6; // the range's start
const UNITS = 7; // the range's length (units per z)
const SCRATCH_ARG = 8; // −1: none
const TEXT_LEN = 9; // the error text's length
const HEADER = 16;
// a slot: job sequence number (the worker waits on it), chunk [a, b) of the flattened range, scratch pointer
const SLOT = 16; // 64 bytes: slots on separate cache lines
const SEQ = 0,
  CHUNK_A = 1,
  CHUNK_B = 2,
  SCRATCH = 3;

/**
 * The worker's code, self-contained (no bundler, no loader: a Blob URL in browsers, eval'd by Node's
 * worker_threads). `PORT` is defined by a prefix for each runtime. It receives the compiled modules,
 * the memory and the control buffers, instantiates, answers { ready } and then serves jobs until STOP.
 * runChunk is the same loop as WasmPool.runChunk below.
 */
const WORKER_BODY = `
'use strict';
const HEADER = ${HEADER}, SLOT = ${SLOT}, MAX_ARGS = ${MAX_ARGS}, MAX_TEXT = ${MAX_TEXT};
PORT.on(async (m) => {
  const { modules, memory, index, table } = m;
  const ctl = new Int32Array(m.ctl), f64 = new Float64Array(m.f64), text = new Uint16Array(m.text);
  const fns = [];
  try {
    const inst = {};
    for (const f of Object.keys(modules)) inst[f] = await WebAssembly.instantiate(modules[f], { env: { memory } });
    for (const [f, name] of table) fns.push(inst[f].exports[name]);
  } catch (e) {
    PORT.post({ error: String(e && e.stack || e) });
    return;
  }
  PORT.post({ ready: true });
  const slot = HEADER + index * SLOT;
  const args = [];
  let seen = 0;
  for (;;) {
    Atomics.wait(ctl, slot + ${SEQ}, seen);
    const s = Atomics.load(ctl, slot + ${SEQ});
    if (s === seen) continue;
    seen = s;
    if (Atomics.load(ctl, ${STOP})) return;
    try {
      const fn = fns[ctl[${FN}]], n = ctl[${NARGS}], batch = ctl[${BATCH}], start = ctl[${START}], units = ctl[${UNITS}];
      const sArg = ctl[${SCRATCH_ARG}], a = ctl[slot + ${CHUNK_A}], b = ctl[slot + ${CHUNK_B}];
      args.length = n + 2;
      for (let z = Math.floor(a / units); z < batch && z * units < b; z++) {
        for (let i = 0; i < n; i++) args[i] = f64[i] + z * f64[MAX_ARGS + i];
        if (sArg >= 0) args[sArg] = ctl[slot + ${SCRATCH}] >>> 0;
        args[n] = start + Math.max(a, z * units) - z * units;
        args[n + 1] = start + Math.min(b, (z + 1) * units) - z * units;
        fn.apply(null, args);
      }
    } catch (e) {
      if (Atomics.compareExchange(ctl, ${ERROR}, 0, index) === 0) {
        const msg = String(e && e.name ? e.name + ': ' + e.message : e).slice(0, MAX_TEXT);
        for (let i = 0; i < msg.length; i++) text[i] = msg.charCodeAt(i);
        ctl[${TEXT_LEN}] = msg.length;
      }
    }
    if (Atomics.sub(ctl, ${PENDING}, 1) === 1) Atomics.notify(ctl, ${PENDING});
  }
});
`;

const NODE_PORT = `const { parentPort } = require('node:worker_threads');
const PORT = { on: (f) => parentPort.once('message', f), post: (m) => parentPort.postMessage(m) };`;
const WEB_PORT = `const PORT = { on: (f) => { self.onmessage = (e) => { self.onmessage = null; f(e.data); }; }, post: (m) => self.postMessage(m) };`;

/** A started worker, either runtime's. */
interface PoolWorker {
  post(m: unknown): void;
  terminate(): void;
  /** Resolves at its first answer: { ready } (instantiated), else rejects naming why. */
  started: Promise<void>;
  /** Resolves once the worker has exited (Node's 'exit'; a browser worker at terminate()). */
  exited: Promise<void>;
}

type Answer = { ready?: boolean; error?: string } | undefined;
type NodeWorker = {
  postMessage(m: unknown): void;
  terminate(): Promise<number>;
  unref(): void;
  on(ev: string, f: (x: unknown) => void): void;
};

const startFailed = (why: unknown) => new Error(`WasmEngine: a pool worker failed to start: ${(why as { message?: string })?.message ?? String(why)}`);

/** Whether Atomics.wait may block this thread (not on a browser's main thread). */
function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0); // 'not-equal' at once
    return true;
  } catch {
    return false;
  }
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** Why a pool cannot start here, or null when it can (shared memory, Atomics and workers are there). */
export function poolUnavailable(): string | null {
  if (!isNode && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== true) {
    return 'the page is not cross-origin isolated (embedded or served without COOP/COEP), so one thread';
  }
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') return 'this runtime has no SharedArrayBuffer, so one thread';
  if (!isNode && typeof Worker === 'undefined') return 'this runtime has no Web Workers here, so one thread';
  return null;
}

async function startWorkers(count: number): Promise<PoolWorker[]> {
  const made: PoolWorker[] = [];
  if (isNode) {
    // a variable specifier, so no browser bundler tries to resolve it
    const spec = 'node:worker_threads';
    const { Worker: NW } = (await import(/* @vite-ignore */ spec)) as { Worker: new (code: string, o: { eval: true; execArgv: string[] }) => NodeWorker };
    for (let i = 0; i < count; i++) {
      // execArgv []: the worker's code is plain CommonJS (require); inheriting the process's options
      // (--input-type=module, --import tsx) would make it a module without require, and load loaders
      // it does not need. V8 flags (relaxed SIMD) are the process's either way.
      const w = new NW(`${NODE_PORT}\n${WORKER_BODY}`, { eval: true, execArgv: [] });
      // the 'error' listener stays: an unhandled 'error' event would throw in this thread
      const started = new Promise<void>((resolve, reject) => {
        w.on('message', (d) => ((d as Answer)?.ready ? resolve() : reject(startFailed((d as Answer)?.error))));
        w.on('error', (e) => reject(startFailed(e)));
      });
      const exited = new Promise<void>((r) => w.on('exit', () => r()));
      // Trap: unref() once started, after the listeners — adding a 'message' listener refs the
      // worker's port again, and a ref'd worker blocked in Atomics.wait keeps Node from exiting; but
      // before it answers, an unref'd worker would let Node exit while create() awaits it
      void started.then(() => w.unref()).catch(() => {});
      made.push({ post: (m) => w.postMessage(m), terminate: () => void w.terminate(), started, exited });
    }
  } else {
    const url = URL.createObjectURL(new Blob([`${WEB_PORT}\n${WORKER_BODY}`], { type: 'text/javascript' }));
    for (let i = 0; i < count; i++) {
      const w = new Worker(url, { name: `wasm-pool-${i + 1}` });
      const started = new Promise<void>((resolve, reject) => {
        w.onmessage = (e: MessageEvent<Answer>) => (e.data?.ready ? resolve() : reject(startFailed(e.data?.error)));
        w.onerror = (e) => {
          e.preventDefault();
          reject(startFailed(e.message));
        };
      });
      made.push({ post: (m) => w.postMessage(m), terminate: () => w.terminate(), started, exited: Promise.resolve() });
    }
    // every worker has fetched its script once started
    void Promise.allSettled(made.map((w) => w.started)).then(() => URL.revokeObjectURL(url));
  }
  return made;
}

export class WasmPool {
  private readonly ctl: Int32Array<SharedArrayBuffer>;
  private readonly f64: Float64Array<SharedArrayBuffer>;
  private readonly text: Uint16Array<SharedArrayBuffer>;
  private readonly ids = new Map<string, number>();
  private readonly fns: ((...a: number[]) => void)[] = [];
  private readonly block = canBlock();
  private readonly args: number[] = [];
  private destroyed = false;
  /** Jobs run, and those that ran on more than one thread (tests, the bench). */
  readonly stats = { jobs: 0, split: 0 };

  private constructor(
    /** Threads, the caller's included. */
    readonly threads: number,
    private readonly workers: PoolWorker[],
    bufs: { ctl: SharedArrayBuffer; f64: SharedArrayBuffer; text: SharedArrayBuffer },
    table: [WasmFamily, string][],
    kernels: WasmKernels,
  ) {
    this.ctl = new Int32Array(bufs.ctl);
    this.f64 = new Float64Array(bufs.f64);
    this.text = new Uint16Array(bufs.text);
    table.forEach(([f, name], i) => {
      this.ids.set(`${f}.${name}`, i);
      this.fns.push((kernels[f] as unknown as Record<string, (...a: number[]) => void>)[name]);
    });
  }

  /**
   * Start threads − 1 workers on `memory` (shared) with `modules` (compiled for a shared memory);
   * `kernels` are the calling thread's instances of the same modules on the same memory.
   */
  static async create(threads: number, memory: WebAssembly.Memory, modules: WasmModules, kernels: WasmKernels): Promise<WasmPool> {
    const why = poolUnavailable();
    if (why) throw new Error(`WasmEngine: no thread pool: ${why}`);
    const table: [WasmFamily, string][] = WASM_FAMILIES.flatMap((f) =>
      WebAssembly.Module.exports(modules[f])
        .filter((d) => d.kind === 'function')
        .map((d) => [f, d.name] as [WasmFamily, string]),
    );
    const bufs = {
      ctl: new SharedArrayBuffer((HEADER + threads * SLOT) * 4),
      f64: new SharedArrayBuffer(2 * MAX_ARGS * 8),
      text: new SharedArrayBuffer(MAX_TEXT * 2),
    };
    const workers = await startWorkers(threads - 1);
    // each worker builds the imports kernelImports() builds: { env: { memory } }
    workers.forEach((w, i) => w.post({ modules, memory, index: i + 1, table, ...bufs }));
    const pool = new WasmPool(threads, workers, bufs, table, kernels);
    try {
      await Promise.all(workers.map((w) => w.started));
    } catch (err) {
      pool.destroy();
      throw err;
    }
    return pool;
  }

  /** Run `fn` of `family` over [start, end) on up to `threads` threads; returns when all are done. */
  run(
    family: WasmFamily,
    fn: string,
    args: readonly number[],
    start: number,
    end: number,
    opts: ParallelOptions,
    scratch: (bytesEach: number, threads: number) => number,
  ): void {
    if (this.destroyed) throw new Error('WasmEngine: the thread pool was destroyed');
    const id = this.ids.get(`${family}.${fn}`);
    if (id === undefined) throw new Error(`WasmEngine: no kernel export ${family}.${fn}`);
    const n = args.length;
    if (n > MAX_ARGS) throw new Error(`WasmEngine: ${family}.${fn} takes ${n} arguments, the pool at most ${MAX_ARGS}`);
    const batch = opts.batch ?? 1,
      units = end - start,
      total = batch * units;
    if (total <= 0) return;
    const align = Math.max(1, opts.align ?? 1);
    const blocks = Math.ceil(total / align);
    const used = Math.max(1, Math.min(this.threads, blocks, Math.floor(total / Math.max(1, opts.grain ?? 1))));
    const stride = opts.scratch ? Math.ceil(opts.scratch.bytes / 256) * 256 : 0;
    const scratchBase = opts.scratch ? scratch(stride, used) : 0;
    const ctl = this.ctl,
      f64 = this.f64;
    for (let i = 0; i < n; i++) {
      f64[i] = args[i];
      f64[MAX_ARGS + i] = opts.strides?.[i] ?? 0;
    }
    ctl[FN] = id;
    ctl[NARGS] = n;
    ctl[BATCH] = batch;
    ctl[START] = start;
    ctl[UNITS] = units;
    ctl[SCRATCH_ARG] = opts.scratch ? opts.scratch.arg : -1;
    const bound = (t: number) => Math.min(total, Math.floor((blocks * t) / used) * align);
    let pending = 0;
    for (let t = 1; t < used; t++) if (bound(t + 1) > bound(t)) pending++;
    Atomics.store(ctl, PENDING, pending);
    this.stats.jobs++;
    if (pending) this.stats.split++;
    for (let t = 1; t < used; t++) {
      const a = bound(t),
        b = bound(t + 1);
      if (b <= a) continue;
      const slot = HEADER + t * SLOT;
      ctl[slot + CHUNK_A] = a;
      ctl[slot + CHUNK_B] = b;
      ctl[slot + SCRATCH] = scratchBase + t * stride;
      Atomics.add(ctl, slot + SEQ, 1);
      Atomics.notify(ctl, slot + SEQ, 1);
    }
    let mine: unknown = null;
    try {
      this.runChunk(this.fns[id], args, opts, 0, bound(1), units, start, batch, scratchBase);
    } catch (err) {
      mine = err;
    }
    // wait for every worker, also when our own chunk threw (the next job must not overlap this one)
    let p: number;
    while ((p = Atomics.load(ctl, PENDING)) !== 0) if (this.block) Atomics.wait(ctl, PENDING, p);
    const bad = Atomics.load(ctl, ERROR);
    let msg = '';
    if (bad) {
      for (let i = 0; i < ctl[TEXT_LEN]; i++) msg += String.fromCharCode(this.text[i]);
      Atomics.store(ctl, ERROR, 0); // cleared for the next job either way
    }
    if (mine) throw mine;
    if (bad) throw new Error(`WasmEngine: ${family}.${fn} failed on pool thread ${bad}: ${msg}`);
  }

  /** The caller's chunk [a, b) of the flattened batch × range: the worker's loop (WORKER_BODY). */
  private runChunk(
    fn: (...a: number[]) => void,
    args: readonly number[],
    opts: ParallelOptions,
    a: number,
    b: number,
    units: number,
    start: number,
    batch: number,
    scratch: number,
  ): void {
    const n = args.length,
      all = this.args;
    all.length = n + 2;
    for (let z = Math.floor(a / units); z < batch && z * units < b; z++) {
      for (let i = 0; i < n; i++) all[i] = args[i] + z * (opts.strides?.[i] ?? 0);
      if (opts.scratch) all[opts.scratch.arg] = scratch;
      all[n] = start + Math.max(a, z * units) - z * units;
      all[n + 1] = start + Math.min(b, (z + 1) * units) - z * units;
      fn(...all);
    }
  }

  /** Stop and terminate every worker (idempotent). The pool refuses jobs afterwards. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    Atomics.store(this.ctl, STOP, 1);
    for (let t = 1; t < this.threads; t++) {
      const slot = HEADER + t * SLOT;
      Atomics.add(this.ctl, slot + SEQ, 1);
      Atomics.notify(this.ctl, slot + SEQ);
    }
    for (const w of this.workers) w.terminate();
  }

  /** Resolves when every worker has exited (tests: destroy() terminates them). */
  get exited(): Promise<void> {
    return Promise.all(this.workers.map((w) => w.exited)).then(() => {});
  }
}
