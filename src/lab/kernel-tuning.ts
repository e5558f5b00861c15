// Kernel choice by measurement on the user's adapter (the logic is src/gpu/autotune.ts): after a
// session has recorded its run (GpuEngine.collectKernels), each matmul and attention shape class it
// uses is timed with every variant that fits (attention: the row or workgroup kernels against the
// fused one-pass kernels, forward and backward together, as a step runs them), and the engine runs
// the picks from then on. The picks are cached by
// adapter and lab version (IndexedDB on the page, a JSON file in Node, memory otherwise), so only
// the first visit on a new adapter, driver or lab version pays for the measurement.
//
// CPU adapters (SwiftShader, llvmpipe, WARP) are not tuned: their built-in picks were chosen by
// measurement (docs/PERFORMANCE.md) and timing every variant there costs seconds per class, on the
// time to the first step.
import type { GpuEngine } from '../backend/gpu';
import { tuneCacheKey, tunedPicks, type Picks, type ShapeClass, type TuneStorage } from '../gpu/autotune';
import type { DeviceInfo } from '../gpu/device';
import attentionWgsl from '../../shaders/attention.wgsl?raw';
import attentionFusedWgsl from '../../shaders/attention_fused.wgsl?raw';
import attentionMatmulWgsl from '../../shaders/attention_matmul.wgsl?raw';
import type { RawTensor } from '../backend/tensor';
import { attention, attentionBackward, type AttentionShapeClass, type AttentionVariant } from '../ops/attention';
import { matmulWith, MATMUL_WGSL, type MatmulShapeClass, type MatmulVariant } from '../ops/matmul';
import { MATMUL_SUBGROUP_WGSL, variantSupported } from '../ops/matmul-subgroup';
import { crc32 } from '../sparsity/maskfile';

/** Bumped with changes to how the lab measures (2: attention classes); the kernels' CRCs cover kernel changes. */
const TUNER_VERSION = 2;
/** A changed matmul or attention kernel (any variant, the subgroup module too) invalidates the cached picks. */
const KERNELS_CRC = [MATMUL_WGSL + MATMUL_SUBGROUP_WGSL, attentionWgsl + attentionFusedWgsl + attentionMatmulWgsl]
  .map((t) => crc32(new TextEncoder().encode(t)).toString(16))
  .join(' ');

/** An adapter that is a CPU rasteriser (SwiftShader, llvmpipe/lavapipe, WARP): not tuned. */
export function isCpuAdapter(info: Pick<DeviceInfo, 'adapterInfo'> & { isFallbackAdapter?: boolean }): boolean {
  if (info.isFallbackAdapter) return true;
  const a = info.adapterInfo;
  return /swiftshader|llvmpipe|lavapipe|warp|basic render/i.test(`${a.vendor} ${a.architecture} ${a.device} ${a.description}`);
}

/** Picks kept for the life of the page or process (tests, headless runs without storage). */
export function memoryTuneStorage(): TuneStorage {
  const m = new Map<string, unknown>();
  return {
    get: async (k) => m.get(k),
    set: async (k, v) => void m.set(k, structuredClone(v)),
  };
}

type TunedClass = MatmulShapeClass | AttentionShapeClass;
const isAttention = (c: ShapeClass<string>): c is AttentionShapeClass => c.key.startsWith('attention:');

export interface TuneResult {
  /** picks by class key (only classes where a variant other than the built-in won change anything) */
  picks: Picks<string>;
  /** read from the storage (nothing was timed) */
  cached: boolean;
  /** classes measured or read */
  classes: number;
}

/**
 * Times the matmul and attention classes on `engine` (wall clock around a submit and its
 * completion, medians of 3 after a warm-up), stores the picks and installs them in `engine.picks`.
 */
export async function tuneKernels(
  engine: GpuEngine,
  classes: readonly ShapeClass<string>[],
  storage: TuneStorage,
  onProgress?: (done: number, total: number) => void,
): Promise<TuneResult> {
  // attention first: few classes, and the larger win where the fused pass helps
  // a matmul class names only variants this device can run (matmulShapeClass with the engine's
  // features); filtered again in case it came from elsewhere: the subgroup variant does not compile without `subgroups`
  const matmuls = classes
    .filter((c): c is MatmulShapeClass => c.key.startsWith('matmul:'))
    .map((c) => ({ ...c, candidates: c.candidates.filter((v) => variantSupported(v, engine.info.features)) }));
  const tuned: TunedClass[] = [...classes.filter(isAttention), ...matmuls];
  const key = tuneCacheKey(engine.info.adapterInfo, `tuner ${TUNER_VERSION}, kernels ${KERNELS_CRC}`);
  const operands = new Map<string, Record<string, RawTensor | undefined>>();
  try {
    const { picks, cached } = await tunedPicks(storage, key, tuned, (cls, v) => timeOnce(engine, cls as TunedClass, v, operands), {
      // a few hundred ms of kernels on a real GPU, plus compiling each variant's pipeline once
      budgetMs: 2000,
      onProgress: (done, total) => onProgress?.(done, total),
    });
    for (const [k, p] of picks) engine.picks.set(k, p.variant);
    return { picks, cached, classes: tuned.length };
  } finally {
    for (const o of operands.values()) for (const t of Object.values(o)) t?.dispose();
    engine.flush();
  }
}

function allocate(e: GpuEngine, cls: TunedClass): Record<string, RawTensor | undefined> {
  if (isAttention(cls)) {
    const { B, T, C } = cls.dims;
    return { qkv: e.zeros([B, T, 3 * C]), dout: e.zeros([B, T, C]) };
  }
  const { g, opts } = cls;
  // zeros: the values do not change a kernel's time, and a zero product cannot overflow
  const b = e.zeros([(g.batchedB ? g.batch : 1) * g.k * g.n]);
  return {
    a: e.zeros([(g.batchedA ? g.batch : 1) * g.m * g.k]),
    b,
    bias: opts.bias ? e.zeros([g.n]) : undefined,
    bMask: opts.mask ? e.zeros([b.size]) : undefined,
    out: e.empty([g.batch * g.m * g.n]),
  };
}

async function timeOnce(e: GpuEngine, cls: TunedClass, v: string, operands: Map<string, Record<string, RawTensor | undefined>>): Promise<number> {
  let o = operands.get(cls.key);
  if (!o) operands.set(cls.key, (o = allocate(e, cls)));
  await e.sync();
  const t0 = performance.now();
  if (isAttention(cls)) {
    // forward and backward, as a learning step runs them (the fused pass trades a lighter forward for a heavier backward)
    const opts = { heads: cls.dims.H, causal: cls.causal, variant: v as AttentionVariant };
    const { out, probs } = attention(e, o.qkv!, opts);
    attentionBackward(e, o.dout!, o.qkv!, probs, opts, out).dispose();
    out.dispose();
    probs.dispose();
  } else {
    matmulWith(e, o.a!, o.b!, cls.g, {
      transA: cls.opts.transA,
      transB: cls.opts.transB,
      bias: o.bias,
      bMask: o.bMask,
      out: o.out,
      variant: v as MatmulVariant,
    });
  }
  await e.sync();
  const errors = e.takeErrors();
  if (errors.length) throw new Error(errors.join('; '));
  return performance.now() - t0;
}

/**
 * Picks in IndexedDB (the page's worker): a database of their own, so the saved-run store's schema
 * is untouched. Unavailable IndexedDB (private mode, an opaque origin) rejects: tunedPicks then
 * treats the cache as empty and tunes again next time.
 */
export function indexedDbTuneStorage(dbName = 'maskllm-lab-kernels'): TuneStorage {
  const STORE = 'picks';
  const open = () =>
    new Promise<IDBDatabase>((resolve, reject) => {
      if (typeof indexedDB === 'undefined') return reject(new Error('IndexedDB is not available'));
      const req = indexedDB.open(dbName, 1);
      req.onupgradeneeded = () => void req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error ?? new Error('IndexedDB could not be opened'));
    });
  const run = async <T>(mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> => {
    const db = await open();
    try {
      return await new Promise<T>((resolve, reject) => {
        const tx = db.transaction(STORE, mode);
        const req = f(tx.objectStore(STORE));
        tx.oncomplete = () => resolve(req.result);
        tx.onerror = tx.onabort = () => reject(tx.error ?? new Error(`IndexedDB ${mode} failed`));
      });
    } finally {
      db.close();
    }
  };
  return {
    get: (key) => run('readonly', (s) => s.get(key)),
    set: async (key, value) => void (await run('readwrite', (s) => s.put(value, key))),
  };
}
