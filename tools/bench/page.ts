// The bench page (served by Vite, driven by tools/bench/run.ts in headless Chromium): every section
// runs in this one page on one adapter and returns plain JSON (see BenchResults in ./results.ts).
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { GpuEngine } from '../../src/backend/gpu';
import type { RawTensor } from '../../src/backend/tensor';
import { chooseMatmulVariant, matmul, matmulGeometry, MATMUL_VARIANTS, variantFits, variantSupported, type MatmulVariant } from '../../src/ops/matmul';
import { labShapes, shapeName } from './shapes';
import { median, timeRuns } from './timing';
import { CHAIN, type BenchOptions, type BenchResults, type MatmulRow } from './results';
import { benchStep } from './step';
import { benchFusion, benchSparse24 } from './kernels';

const log = (s: string) => {
  console.log(`[bench] ${s}`);
  document.getElementById('log')!.textContent += `\n${s}`;
};

const rand = (n: number, seed: number) => {
  // xorshift: cheap deterministic inputs (values in [-1, 1))
  const out = new Float32Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) / 2 ** 31 - 1;
  }
  return out;
};

// `chain` products per timed run, then a full readback of the last one — the same for ours and tfjs
// (chain 1: the latency of one product and its readback; chain CHAIN: throughput, as in a step).
async function tfMatmulTimes(backend: string, s: ReturnType<typeof labShapes>[number], reps: number, chain = 1): Promise<number[]> {
  await tf.setBackend(backend);
  await tf.ready();
  const a = tf.tensor2d(rand(s.m * s.k, 1), s.transA ? [s.k, s.m] : [s.m, s.k]);
  const b = tf.tensor2d(rand(s.k * s.n, 2), s.transB ? [s.n, s.k] : [s.k, s.n]);
  const t = await timeRuns(async () => {
    const cs = Array.from({ length: chain }, () => tf.matMul(a, b, s.transA, s.transB));
    await cs[chain - 1].data();
    for (const c of cs) c.dispose();
  }, reps);
  a.dispose();
  b.dispose();
  return t;
}

async function ourMatmulTimes(e: GpuEngine, s: ReturnType<typeof labShapes>[number], reps: number, variant?: MatmulVariant, chain = 1): Promise<number[]> {
  const a = e.upload(rand(s.m * s.k, 1), s.transA ? [s.k, s.m] : [s.m, s.k]);
  const b = e.upload(rand(s.k * s.n, 2), s.transB ? [s.n, s.k] : [s.k, s.n]);
  const t = await timeRuns(async () => {
    const cs: RawTensor[] = Array.from({ length: chain }, () => matmul(e, a, b, { transA: s.transA, transB: s.transB, variant }));
    await e.read(cs[chain - 1]);
    for (const c of cs) c.dispose();
  }, reps);
  a.dispose();
  b.dispose();
  return t;
}

/** GPU time of one product of ours by timestamp queries (ms per run; [] without the feature). */
async function ourKernelMs(e: GpuEngine, s: ReturnType<typeof labShapes>[number], reps: number, variant: MatmulVariant): Promise<number[]> {
  const a = e.upload(rand(s.m * s.k, 1), s.transA ? [s.k, s.m] : [s.m, s.k]);
  const b = e.upload(rand(s.k * s.n, 2), s.transB ? [s.n, s.k] : [s.k, s.n]);
  const out: number[] = [];
  for (let i = 0; i <= reps; i++) {
    if (!e.startProfiling()) break;
    const c = matmul(e, a, b, { transA: s.transA, transB: s.transB, variant });
    const times = await e.stopProfiling();
    c.dispose();
    if (i > 0) out.push(times.reduce((t, k) => t + k.ms, 0)); // run 0 is the warm-up
  }
  a.dispose();
  b.dispose();
  return out;
}

/** GPU time of one tf.matMul by timestamp queries (tf.time's kernelMs), or [] when tfjs has none. */
async function tfKernelMs(s: ReturnType<typeof labShapes>[number], reps: number): Promise<number[]> {
  await tf.setBackend('webgpu');
  await tf.ready();
  const a = tf.tensor2d(rand(s.m * s.k, 1), s.transA ? [s.k, s.m] : [s.m, s.k]);
  const b = tf.tensor2d(rand(s.k * s.n, 2), s.transB ? [s.n, s.k] : [s.k, s.n]);
  const out: number[] = [];
  for (let i = 0; i <= reps; i++) {
    let c: tf.Tensor | null = null;
    const info = await tf.time(() => {
      c = tf.matMul(a, b, s.transA, s.transB);
    });
    (c as tf.Tensor | null)?.dispose();
    if (typeof info.kernelMs !== 'number') break; // { error } without timestamp queries
    if (i > 0) out.push(info.kernelMs);
  }
  a.dispose();
  b.dispose();
  return out;
}

/** Reading back an already computed product of `size` floats: copy to a staging buffer, submit, map. */
async function readbackTimes(e: GpuEngine, size: number, reps: number): Promise<number[]> {
  const c = e.upload(rand(size, 3), [size]);
  await e.read(c);
  const t = await timeRuns(async () => {
    await e.read(c);
  }, reps);
  c.dispose();
  return t;
}

async function runBench(opts: BenchOptions): Promise<BenchResults> {
  const t0 = performance.now();
  setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');
  const e = await GpuEngine.create();
  const info = e.info.adapterInfo;
  log(`adapter: ${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
  const reps = opts.reps;
  const shapes = labShapes().filter((_, i) => !opts.maxShapes || i < opts.maxShapes);
  const rows: MatmulRow[] = [];
  for (const s of shapes) {
    const flops = 2 * s.m * s.k * s.n;
    const gf = (ms: number[]) => flops / (median(ms) * 1e6);
    const g = matmulGeometry(s.transA ? [s.k, s.m] : [s.m, s.k], s.transB ? [s.n, s.k] : [s.k, s.n], s);
    const chosen = chooseMatmulVariant(g, s);
    const variants: Record<string, number> = {};
    for (const v of MATMUL_VARIANTS) {
      if (!variantFits(v, g, s) || !variantSupported(v, e.info.features) || (!opts.allVariants && v !== chosen && v !== 'matmul_4x4')) continue;
      variants[v] = gf(await ourMatmulTimes(e, s, reps, v));
    }
    const webgpu = opts.tfjs ? gf(await tfMatmulTimes('webgpu', s, reps)) : null;
    const wasm = opts.tfjs ? gf(await tfMatmulTimes('wasm', s, reps)) : null;
    const gfc = (ms: number[]) => (CHAIN * flops) / (median(ms) * 1e6);
    const chained = {
      ours: gfc(await ourMatmulTimes(e, s, reps, chosen, CHAIN)),
      plain: gfc(await ourMatmulTimes(e, s, reps, 'matmul_4x4', CHAIN)),
      tfjsWebgpu: opts.tfjs ? gfc(await tfMatmulTimes('webgpu', s, reps, CHAIN)) : null,
      tfjsWasm: opts.tfjs ? gfc(await tfMatmulTimes('wasm', s, reps, CHAIN)) : null,
    };
    const kOurs = await ourKernelMs(e, s, reps, chosen);
    const kTf = opts.tfjs ? await tfKernelMs(s, reps) : [];
    const kPlain = await ourKernelMs(e, s, reps, 'matmul_4x4');
    const kernelMs = kOurs.length ? { ours: median(kOurs), plain: median(kPlain), tfjsWebgpu: kTf.length ? median(kTf) : null } : undefined;
    const row: MatmulRow = {
      ...s,
      shape: shapeName(s),
      chosen,
      ours: variants[chosen],
      variants,
      tfjsWebgpu: webgpu,
      tfjsWasm: wasm,
      chained,
      kernelMs,
      readbackMs: median(await readbackTimes(e, s.m * s.n, reps)),
    };
    rows.push(row);
    log(
      `${row.shape.padEnd(22)} ours(${chosen})=${row.ours.toFixed(2)} tfjs-webgpu=${webgpu?.toFixed(3)} tfjs-wasm=${wasm?.toFixed(2)} GFLOP/s; chained ×${CHAIN}: ours ${chained.ours.toFixed(2)} webgpu ${chained.tfjsWebgpu?.toFixed(3)} wasm ${chained.tfjsWasm?.toFixed(2)}`,
    );
  }
  if (opts.tfjs) await tf.setBackend('webgpu'); // leave tfjs idle on its own device
  const fusion = opts.fusion ? await benchFusion(e, reps, log) : [];
  const sparse24 = opts.sparse24 ? await benchSparse24(e, reps, log) : [];
  const steps = [];
  for (const which of opts.steps) steps.push(await benchStep(e, which, opts.stepReps, log));
  const errors = e.takeErrors();
  return {
    env: {
      userAgent: navigator.userAgent,
      adapter: info,
      timestampQuery: e.info.features.timestampQuery,
      tfjs: tf.version.tfjs,
      tfjsWasmThreads: opts.tfjs ? String(tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? 'multi-thread capable' : '1 thread') : 'not run',
      crossOriginIsolated: globalThis.crossOriginIsolated ?? false,
      hardwareConcurrency: navigator.hardwareConcurrency,
    },
    options: opts,
    matmul: rows,
    fusion,
    sparse24,
    steps,
    errors,
    pageSeconds: (performance.now() - t0) / 1000,
  };
}

(window as unknown as { runBench: typeof runBench }).runBench = runBench;
