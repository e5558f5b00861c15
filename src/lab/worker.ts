// The engine worker: WebGPU is detected and used here (Chromium exposes navigator.gpu in dedicated
// workers), with the CPU engine as the fallback. The page sees only LabApi (worker-api.ts).
import * as Comlink from 'comlink';
import { CpuEngine } from '../backend/cpu';
import type { Engine } from '../backend/engine';
import { GpuEngine } from '../backend/gpu';
import { describeAdapter, navigatorGpu } from '../gpu/device';
import { GpuError } from '../gpu/errors';
import { fetchLoader } from './assets';
import { DEFAULT_CONFIG, type ExperimentConfig } from './config';
import { clearRun, loadRun, saveRun } from './persist';
import { CASES, runSelfTest, SELFTEST_TOL } from './selftest';
import { LabSession, SessionError, type SessionEvent } from './session';
import type { AdapterSummary, CustomModel, EngineProblem, InitResult, LabApi, WorkerEvent } from './worker-api';

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
  if (engine?.kind === 'gpu' && !engine.isLost) engine.destroy();
  engine = null;
  const workerHasNavigatorGpu = navigatorGpu() !== undefined;
  const t0 = performance.now();
  try {
    const g = await GpuEngine.create();
    g.onLost((err) => {
      const p = problemOf(err);
      for (const f of lostListeners) f(p);
    });
    engine = g;
    return { engine: 'gpu', adapter: summarize(g), gpuProblem: null, workerHasNavigatorGpu, initMs: performance.now() - t0 };
  } catch (e) {
    engine = new CpuEngine();
    return { engine: 'cpu', adapter: null, gpuProblem: problemOf(e), workerHasNavigatorGpu, initMs: performance.now() - t0 };
  }
}

async function currentEngine(): Promise<Engine> {
  if (!ready) ready = createEngine();
  await ready;
  if (!engine) throw new Error('The engine is not initialised.');
  return engine;
}

// ---------------------------------------------------------------- the learning session
// The loop is driven here, one stepOnce() at a time, rather than by LabSession.run(): stepping
// reads the metrics back every step (a tiny readback) and, between steps, the learning state is
// consistent with the metrics, so what is saved to IndexedDB can be resumed with nothing lost.

/** Save the learning state every this many steps (and on pause). */
const SAVE_EVERY = 5;

let session: LabSession | null = null;
let custom: CustomModel | null = null;
let listener: ((e: WorkerEvent) => void) | null = null;
let looping = false;
let stopLoop = false;
let loopError = false;
let loopDone: Promise<void> | null = null;
let lastMessage: string | undefined;
let priorFile: Uint8Array | null = null;

function send(e: WorkerEvent): void {
  // a proxied call returns a promise; a closed page port must not become an unhandled rejection
  void Promise.resolve(listener?.(e)).catch(() => {});
}

function onSessionEvent(e: SessionEvent): void {
  // stepOnce() ends every step in 'paused': inside the loop that is not news
  if (looping && e.type === 'state' && e.state === 'paused' && !e.message) return;
  if (e.type === 'state') lastMessage = e.message;
  if (e.type === 'error') loopError = true;
  send(e);
}

/** Yield to the worker's message queue (comlink calls such as pause) between steps. */
const macrotask = () => new Promise<void>((r) => setTimeout(r, 0));

function need(): LabSession {
  if (!session || !session.config) throw new SessionError('No model is loaded: choose a model and press Load first.');
  return session;
}

async function save(): Promise<void> {
  const s = session;
  if (!s?.learner || !s.config || custom) return; // a model opened from disk is not stored: it cannot be reloaded
  try {
    const state = await s.exportMask('state');
    const bytes = await saveRun({ savedAt: Date.now(), config: s.config, step: s.step, state, metrics: s.metrics, evaluations: s.evaluations });
    send({ type: 'saved', step: s.step, bytes });
  } catch (e) {
    send({ type: 'persist-error', message: e instanceof Error ? e.message : String(e) });
  }
}

async function loop(s: LabSession): Promise<void> {
  looping = true;
  stopLoop = false;
  loopError = false;
  send({ type: 'state', state: 'running' });
  try {
    while (!stopLoop && !loopError && s.step < s.config!.steps) {
      await s.stepOnce();
      if (s.state === 'error' || s.state === 'done') break;
      if (s.step % SAVE_EVERY === 0) await save();
      await macrotask();
    }
  } catch (e) {
    send({ type: 'error', message: e instanceof Error ? e.message : String(e), step: s.step });
  } finally {
    looping = false;
  }
  if (s.state === 'done') {
    await clearRun().catch(() => {});
  } else if (s.state === 'paused') {
    send({ type: 'state', state: 'paused', message: loopError ? lastMessage : undefined });
    await save();
  }
}

async function stopLooping(): Promise<void> {
  stopLoop = true;
  await loopDone;
}

async function loadSession(config: ExperimentConfig, assetBase: string, c?: CustomModel): Promise<LabSession> {
  await stopLooping();
  const e = await currentEngine();
  session?.dispose();
  custom = c ?? null;
  const s = new LabSession(e, fetchLoader(assetBase), onSessionEvent);
  session = s;
  if (priorFile) s.setPriorFile(priorFile);
  await s.load(config, c ? { safetensors: c.safetensors, config: c.config } : undefined);
  return s;
}

const api: LabApi = {
  init() {
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

  setListener(l) {
    listener = l;
  },
  async load(config, assetBase, c) {
    await loadSession(config, assetBase, c);
  },
  async run() {
    const s = need();
    if (looping) return;
    if (s.state !== 'ready' && s.state !== 'paused') throw new SessionError(`Cannot run from state "${s.state}".`);
    loopDone = loop(s);
  },
  async pause() {
    await stopLooping();
  },
  async step() {
    const s = need();
    if (looping) throw new SessionError('Pause before stepping once.');
    await s.stepOnce();
    if (s.state === 'paused') await save();
  },
  async reset() {
    const s = need();
    await stopLooping();
    await clearRun().catch(() => {});
    await s.reset();
  },
  async exportMask(format) {
    const bytes = await need().exportMask(format);
    return Comlink.transfer(bytes, [bytes.buffer]);
  },
  async maskView(site) {
    const s = need();
    const v = await s.maskView(site);
    return { ...v, step: s.step };
  },
  setPriorFile(bytes) {
    priorFile = bytes;
    session?.setPriorFile(bytes);
  },
  snapshot() {
    const s = session;
    return {
      state: s ? (looping ? 'running' : s.state) : 'idle',
      step: s?.step ?? 0,
      totalSteps: s?.config?.steps ?? 0,
      config: s?.config ?? DEFAULT_CONFIG,
      model: s?.summary ?? null,
      engine: engine?.kind === 'gpu' ? 'gpu' : 'cpu',
      message: lastMessage,
    };
  },
  metrics() {
    const s = session;
    return { rows: s?.metrics ?? [], evaluations: s?.evaluations ?? [], table: s?.table ?? [] };
  },
  async savedRun() {
    try {
      const r = await loadRun();
      if (!r) return { none: true };
      if ('corrupt' in r) return r;
      const { run } = r;
      return { saved: { model: run.config.model, step: run.step, totalSteps: run.config.steps, savedAt: run.savedAt, metricsRows: run.metrics.length } };
    } catch (e) {
      return { none: true, unavailable: e instanceof Error ? e.message : String(e) };
    }
  },
  async resumeSaved(assetBase) {
    const r = await loadRun();
    if (!r) throw new SessionError('There is no saved run to resume.');
    if ('corrupt' in r) throw new SessionError(`The saved run could not be used: ${r.corrupt}`);
    const { run } = r;
    const s = await loadSession(run.config, assetBase);
    if (!s.learner) throw new SessionError('The saved run is not a MaskLLM run.');
    s.restore(run.state);
    s.metrics = run.metrics.slice();
    s.evaluations = run.evaluations.slice();
    if (run.metrics.length) send({ type: 'metrics', rows: run.metrics });
    for (const ev of run.evaluations) send({ type: 'evaluation', evaluation: ev });
    send({ type: 'progress', phase: 'learning', done: s.step, total: run.config.steps });
  },
  async discardSaved() {
    await clearRun();
  },
};

Comlink.expose(api);
