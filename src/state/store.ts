// Page state (zustand). The worker connection is module state, not React state: it is not data to
// render. Live series for charts are RingSeries, also outside the store (see ui/ring.ts). The run
// itself (and recovery from a lost device) is the worker's LabRunner: the store mirrors its events.
import { create } from 'zustand';
import { RingSeries } from '../ui/ring';
import {
  connectWorker,
  proxy,
  viaWorker,
  type EngineProblem,
  type InitResult,
  type LabConnection,
  type SelfTestCaseInfo,
  type SelfTestResult,
  type WorkerEvent,
} from '../lab/worker-api';
import type { Recovery } from '../lab/runner';
import { setConnection } from './connection';
import { assetBase, type SessionSlice, sessionSlice } from './session-slice';
import { groupSlice, type GroupSlice } from './group-slice';
import { tourSlice, type TourSlice } from './tour-slice';
import type { EngineKind } from '../lab/names';
import { parseEnginePreference, parseThreads, type EngineRequest } from '../lab/engine-choice';

export type { Recovery } from '../lab/runner';

export type Phase = 'connecting' | 'ready' | 'failed';

export interface SelfTestState {
  status: 'idle' | 'running' | 'done' | 'failed';
  seed: number | null;
  cases: SelfTestCaseInfo[];
  /** One slot per case; null until that case has reported in the current run. */
  rows: (SelfTestResult | null)[];
  engine: EngineKind | null;
  reference: 'cpu-f32' | 'cpu-f64' | null;
  totalMs: number | null;
  /** Completed runs since the page loaded. */
  runs: number;
  error: string | null;
}

export interface LabState extends SessionSlice, GroupSlice, TourSlice {
  phase: Phase;
  init: InitResult | null;
  /** The worker itself failed (the page cannot do anything). */
  fatal: string | null;
  /** The GPU device was lost and is not (yet) recovered. */
  lost: EngineProblem | null;
  /** The runner's automatic recovery from a lost device: in progress, done, or given up. */
  recovery: Recovery | null;
  /** Uncaught errors on the page, shown so that nothing fails silently. */
  pageErrors: string[];
  selfTest: SelfTestState;
  /**
   * Panels and controls named by the URL's hide= (src/ui/visibility.ts says what each covers): they
   * are not rendered. Set once at start-up; hidden fields keep their values and setConfig still sets them.
   */
  hidden: readonly string[];
  start(): Promise<void>;
  runSelfTest(seed?: number): Promise<void>;
  recreateEngine(): Promise<void>;
  /** The Engine panel's choice (WebGPU, WebAssembly and its threads): the worker replaces its engine; a loaded run is reset. */
  switchEngine(req: EngineRequest): Promise<void>;
  /**
   * Mirrors the runner's recovery event (LabRunner recreates the engine and resumes the run from
   * its last save; past MAX_AUTO_RECOVERIES a minute the banner's button is the way back).
   */
  mirrorRecovery(r: Recovery): void;
  dismissRecovery(): void;
  simulateDeviceLoss(): Promise<void>;
  reportError(message: string): void;
  dismissErrors(): void;
}

/** Total self-test time per run, for the timing chart. */
export const selfTestTimings = new RingSeries('self-test total (ms)', 500);

let conn: LabConnection | null = null;

function freshSeed(): number {
  return (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) >>> 0;
}

/**
 * `?selftest=123` in the URL reproduces a self-test run (the seed of each run is shown on the page);
 * `?selftest` alone runs it with a fresh seed. (`seed=` is the experiment's seed, not the self-test's.)
 */
function seedFromUrl(): number | null {
  const s = new URLSearchParams(globalThis.location?.search ?? '').get('selftest');
  if (s === null || s.trim() === '') return null;
  const n = Number(s);
  return Number.isInteger(n) && n >= 0 ? n >>> 0 : null;
}

/** `engine=gpu|wasm|cpu|auto` and `threads=N` in the URL (docs/EMBED.md); absent: auto, the engine's threads. */
function engineRequestFromUrl(): EngineRequest {
  const q = new URLSearchParams(globalThis.location?.search ?? '');
  return { preference: parseEnginePreference(q.get('engine')) ?? 'auto', threads: parseThreads(q.get('threads')) ?? undefined };
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export const useLab = create<LabState>()((set, get, store) => ({
  ...sessionSlice(set, get, store),
  ...groupSlice(set, get, store),
  ...tourSlice(set, get, store),
  phase: 'connecting',
  init: null,
  fatal: null,
  lost: null,
  recovery: null,
  pageErrors: [],
  selfTest: { status: 'idle', seed: null, cases: [], rows: [], engine: null, reference: null, totalMs: null, runs: 0, error: null },
  hidden: [],

  async start() {
    if (conn) return;
    try {
      conn = connectWorker();
      setConnection(conn);
      const c = conn;
      await viaWorker(c, c.api.onLost(proxy((p: EngineProblem) => set({ lost: p }))));
      await viaWorker(c, c.api.setAssetBase(assetBase()));
      await viaWorker(c, c.api.setListener(proxy((e: WorkerEvent) => get().onWorkerEvent(e))));
      const cases = await viaWorker(c, c.api.listSelfTests());
      set((s) => ({ selfTest: { ...s.selfTest, cases, rows: cases.map(() => null) } }));
      const init = await viaWorker(c, c.api.init(engineRequestFromUrl()));
      set({ init, phase: 'ready' });
    } catch (e) {
      set({ phase: 'failed', fatal: message(e) });
      return;
    }
    await get().checkSaved();
    // The self-test (about a minute on a software GPU) runs on request, or at start with ?selftest or ?selftest=N.
    const q = new URLSearchParams(globalThis.location?.search ?? '');
    if (q.has('selftest')) await get().runSelfTest(seedFromUrl() ?? undefined);
  },

  async runSelfTest(seed) {
    const c = conn;
    if (!c || get().phase !== 'ready' || get().selfTest.status === 'running') return;
    if (get().run.busy || get().run.state === 'running') {
      get().reportError('Pause the mask-learning run before the self-test: both use the same engine.');
      return;
    }
    const s0 = seed ?? freshSeed();
    set((s) => ({ selfTest: { ...s.selfTest, status: 'running', seed: s0, rows: s.selfTest.cases.map(() => null), totalMs: null, error: null } }));
    const onResult = proxy((r: SelfTestResult, i: number) => {
      set((s) => {
        const rows = s.selfTest.rows.slice();
        rows[i] = r;
        return { selfTest: { ...s.selfTest, rows } };
      });
    });
    try {
      const report = await viaWorker(c, c.api.runSelfTest(s0, onResult));
      const runs = get().selfTest.runs + 1;
      selfTestTimings.push(runs, report.totalMs);
      set((s) => ({
        selfTest: { ...s.selfTest, status: 'done', rows: report.results, engine: report.engine, reference: report.reference, totalMs: report.totalMs, runs },
      }));
    } catch (e) {
      set((s) => ({ selfTest: { ...s.selfTest, status: 'failed', error: message(e) } }));
    }
  },

  async recreateEngine() {
    const c = conn;
    if (!c || get().selfTest.status === 'running') return;
    set({ phase: 'connecting' });
    try {
      const init = await viaWorker(c, c.api.init());
      set({ init, lost: null, recovery: null, phase: 'ready' });
    } catch (e) {
      set({ phase: 'failed', fatal: message(e) });
      return;
    }
    await get().runSelfTest();
  },

  async switchEngine(req) {
    const c = conn;
    if (!c || get().phase !== 'ready' || get().selfTest.status === 'running') return;
    set({ phase: 'connecting' });
    try {
      const init = await viaWorker(c, c.api.init(req));
      set({ init, lost: null, recovery: null, phase: 'ready' });
    } catch (e) {
      // the worker is still there: say why and keep the page usable (the old engine was replaced)
      set({ phase: 'ready' });
      get().reportError(`Switching the engine failed: ${message(e)}`);
    }
  },

  mirrorRecovery(r) {
    set({ recovery: r });
    if (r.status !== 'recovered') return;
    // the engine was recreated (it may now be the CPU engine); a resumed run's failed step is handled
    set({ lost: null, ...(r.resumedFromStep !== null ? { sessionError: null } : {}) });
    const c = conn;
    if (c)
      void viaWorker(c, c.api.engineInfo()).then(
        (init) => init && set({ init, phase: 'ready' }),
        () => {},
      );
  },

  dismissRecovery() {
    set({ recovery: null });
  },

  async simulateDeviceLoss() {
    const c = conn;
    if (!c) return;
    try {
      await viaWorker(c, c.api.simulateDeviceLoss());
    } catch (e) {
      get().reportError(message(e));
    }
  },

  reportError(msg) {
    set((s) => ({ pageErrors: [...s.pageErrors.slice(-4), msg] }));
  },
  dismissErrors() {
    set({ pageErrors: [] });
  },
}));
