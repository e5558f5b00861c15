// The engine worker: WebGPU is detected and used here (Chromium exposes navigator.gpu in dedicated
// workers), with the WebAssembly engine as the fallback (engine-choice.ts; the CPU engine only when
// WebAssembly SIMD is missing too). The page sees only LabApi (worker-api.ts): engine creation, the
// self-test, and the lab's one LabRunner.
import * as Comlink from 'comlink';
import type { Engine } from '../backend/engine';
import { GpuEngine } from '../backend/gpu';
import { describeAdapter, navigatorGpu } from '../gpu/device';
import { chooseEngine, type EngineChoice, type EngineRequest } from './engine-choice';
import { GpuError } from '../gpu/errors';
import { fetchLoader } from './assets';
import { indexedDbStore } from './persist';
import { LabRunner } from './runner';
import { CASES, runSelfTest, SELFTEST_TOL } from './selftest';
import type { AdapterSummary, EngineProblem, InitResult, LabApi } from './worker-api';
import { indexedDbTuneStorage } from './kernel-tuning';

const KEY_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

let engine: Engine | null = null;
let ready: Promise<InitResult> | null = null;
let lastInit: InitResult | null = null;
/** The page's last engine request (engine=, threads=, the Engine panel): a recreation keeps it. */
let request: EngineRequest = {};
const lostListeners: ((p: EngineProblem) => void)[] = [];

function problemOf(e: unknown): EngineProblem {
  if (e instanceof GpuError) return { kind: e.kind, detail: e.message.replace(e.hint, '').trim(), hint: e.hint };
  return { kind: 'unknown', detail: e instanceof Error ? e.message : String(e), hint: 'Reload the page; if it persists, report the message.' };
}

function summarize(g: GpuEngine): AdapterSummary {
  const limits: Record<string, number> = {};
  // GPUSupportedLimits cannot be posted to the page: copy the numbers out.
  for (const k of KEY_LIMITS) limits[k] = (g.info.limits as unknown as Record<string, number>)[k];
  return { ...g.info.adapterInfo, summary: describeAdapter(g.info), features: { ...g.info.features }, limits };
}

async function createEngine(): Promise<InitResult> {
  if (engine && !(engine.kind === 'gpu' && engine.isLost)) {
    await runner.unload(); // its model lives on this engine
    runner.retire(engine); // replaced on purpose: not a loss to recover from
    if (engine.kind !== 'cpu') engine.destroy();
  }
  engine = null;
  const workerHasNavigatorGpu = navigatorGpu() !== undefined;
  const t0 = performance.now();
  let choice: EngineChoice;
  let requestError: string | null = null;
  try {
    choice = await chooseEngine({ cpuAdapter: 'gpu', ...request }, () => GpuEngine.create());
  } catch (e) {
    // the engine asked for (engine=gpu without an adapter, …) cannot start: say so and run on what can
    requestError = e instanceof Error ? e.message : String(e);
    choice = await chooseEngine({ cpuAdapter: 'gpu', ...request, preference: 'auto' }, () => GpuEngine.create());
  }
  const e = choice.engine;
  if (e.kind === 'gpu')
    e.onLost((err) => {
      const p = problemOf(err);
      for (const f of lostListeners) f(p);
    });
  engine = e;
  runner.adopt(e);
  return (lastInit = {
    engine: choice.kind,
    preference: request.preference ?? 'auto',
    requestError,
    description: choice.description,
    adapter: e.kind === 'gpu' ? summarize(e) : null,
    gpuProblem: choice.gpuError === null ? null : problemOf(choice.gpuError),
    workerHasNavigatorGpu,
    wasm:
      e.kind === 'wasm'
        ? { variant: e.variant, threads: e.threads, threadNote: e.threadNote, crossOriginIsolated: globalThis.crossOriginIsolated === true }
        : null,
    initMs: performance.now() - t0,
  });
}

async function currentEngine(): Promise<Engine> {
  if (!ready) ready = createEngine();
  await ready;
  if (!engine) throw new Error('The engine is not initialised.');
  return engine;
}

// ---------------------------------------------------------------- the learning run
// The one LabRunner (runner.ts), saving to IndexedDB and recreating the engine after a device loss;
// the page drives it through `api.runner` (comlink calls methods on it in place).
const runner = new LabRunner({
  engine: { current: currentEngine, recreate: () => recreateEngine() },
  assets: fetchLoader(new URL('/', self.location.href).href),
  store: indexedDbStore,
  tuneStorage: indexedDbTuneStorage(),
});

async function recreateEngine(): Promise<Engine> {
  ready = createEngine();
  await ready;
  return currentEngine();
}

const api: LabApi = {
  init(req) {
    if (req) request = { ...req };
    ready = createEngine();
    return ready;
  },
  onLost(listener) {
    lostListeners.push(listener);
  },
  listSelfTests() {
    return CASES.map((c) => ({ name: c.name, family: c.family, shapes: c.shapes, tol: c.tol ?? SELFTEST_TOL }));
  },
  async runSelfTest(seed, onResult) {
    try {
      const e = await currentEngine();
      return await runSelfTest(e, { seed, onResult: onResult ? (r, i) => void onResult(r, i) : undefined });
    } finally {
      // The callback arrived as a comlink proxy (a MessagePort per run): close it, or every run leaks one.
      (onResult as unknown as Partial<Comlink.Remote<object>> | undefined)?.[Comlink.releaseProxy]?.();
    }
  },
  async simulateDeviceLoss() {
    const e = await currentEngine();
    if (e.kind !== 'gpu') return false;
    // destroy() resolves device.lost with reason 'destroyed': the same path as a driver reset.
    e.device.destroy();
    return true;
  },

  engineInfo() {
    return lastInit;
  },
  setAssetBase(base) {
    runner.setAssets(fetchLoader(base));
  },
  setListener(l) {
    runner.watch(l);
  },
  // marked as a proxy: the page calls into the object rather than receiving a copy
  runner: Comlink.proxy(runner),
};

Comlink.expose(api);
