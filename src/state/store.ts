// Page state (zustand). The worker connection is module state, not React state: it is not data to
// render. Live series for charts are RingSeries, also outside the store (see ui/ring.ts).
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
import { setConnection } from './connection';
import { type SessionSlice, sessionSlice } from './session-slice';

export type Phase = 'connecting' | 'ready' | 'failed';

export interface SelfTestState {
  status: 'idle' | 'running' | 'done' | 'failed';
  seed: number | null;
  cases: SelfTestCaseInfo[];
  /** One slot per case; null until that case has reported in the current run. */
  rows: (SelfTestResult | null)[];
  engine: 'gpu' | 'cpu' | null;
  reference: 'cpu-f32' | 'cpu-f64' | null;
  totalMs: number | null;
  /** Completed runs since the page loaded. */
  runs: number;
  error: string | null;
}

export interface LabState extends SessionSlice {
  phase: Phase;
  init: InitResult | null;
  /** The worker itself failed (the page cannot do anything). */
  fatal: string | null;
  /** The GPU device was lost and is not (yet) recovered. */
  lost: EngineProblem | null;
  /** Automatic recovery from a lost device: in progress, done, or given up (see recoverFromLoss). */
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
  /**
   * Called when the device is lost: recreates the engine and, when a run was loaded, resumes it
   * from its last save (IndexedDB) and, if it was learning, goes on learning. At most
   * MAX_AUTO_RECOVERIES per minute; past that the banner's button is the way back.
   */
  recoverFromLoss(problem: EngineProblem): Promise<void>;
  dismissRecovery(): void;
  simulateDeviceLoss(): Promise<void>;
  reportError(message: string): void;
  dismissErrors(): void;
}

export interface Recovery {
  status: 'recovering' | 'recovered' | 'gave-up';
  /** What was lost (the device's reason and message). */
  detail: string;
  /** The run's step when the device was lost, and the saved step it resumed from (null: no run). */
  lostAtStep: number | null;
  resumedFromStep: number | null;
  /** The run was learning and learns again. */
  relaunched: boolean;
  note: string | null;
}

/** Losses within a minute that are recovered automatically; a device that keeps failing needs a person. */
export const MAX_AUTO_RECOVERIES = 3;
let lossTimes: number[] = [];

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

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export const useLab = create<LabState>()((set, get, store) => ({
  ...sessionSlice(set, get, store),
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
      await viaWorker(c, c.api.onLost(proxy((p: EngineProblem) => void get().recoverFromLoss(p))));
      await viaWorker(c, c.api.setListener(proxy((e: WorkerEvent) => get().onWorkerEvent(e))));
      const cases = await viaWorker(c, c.api.listSelfTests());
      set((s) => ({ selfTest: { ...s.selfTest, cases, rows: cases.map(() => null) } }));
      const init = await viaWorker(c, c.api.init());
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

  async recoverFromLoss(problem) {
    const c = conn;
    set({ lost: problem });
    if (!c) return;
    const now = Date.now();
    lossTimes = [...lossTimes.filter((t) => now - t < 60_000), now];
    const run = get().run;
    const base: Recovery = { status: 'recovering', detail: problem.detail, lostAtStep: get().loaded ? run.step : null, resumedFromStep: null, relaunched: false, note: null };
    if (lossTimes.length > MAX_AUTO_RECOVERIES) {
      set({ recovery: { ...base, status: 'gave-up', note: `The device was lost ${lossTimes.length} times within a minute: the lab stopped recreating it on its own. Recreate it with the button, or reload the page.` } });
      return;
    }
    // 'running' is what the page last heard; a step in flight fails on the lost device and the worker's loop stops
    const wasLearning = run.state === 'running' || (run.state === 'error' && run.failedWhileLearning);
    const hadRun = get().loaded !== null;
    set({ recovery: base });
    try {
      await viaWorker(c, c.api.pause()).catch(() => {});
      const init = await viaWorker(c, c.api.init());
      set({ init, phase: 'ready' });
      const onCpu = init.engine !== 'gpu' ? ' A new GPU device could not be created: the lab now runs on the CPU engine (slow).' : '';
      if (!hadRun) {
        set({ lost: null, recovery: { ...base, status: 'recovered', note: `The lab recreated the engine.${onCpu}` } });
        return;
      }
      await get().checkSaved();
      const offer = get().resume;
      if (!offer || !('info' in offer)) {
        const why = get().custom ? 'a model opened from disk is not saved for a reload' : 'no saved state was found';
        set({ lost: null, recovery: { ...base, status: 'recovered', note: `The run could not be resumed (${why}): press Run to start it again.${onCpu}` } });
        return;
      }
      await get().resumeSaved();
      set({ sessionError: null }); // the device-lost error of the failed step, now handled
      const from = get().run.step;
      if (wasLearning) await get().startRun();
      set({
        lost: null,
        recovery: { ...base, status: 'recovered', resumedFromStep: from, relaunched: wasLearning, note: onCpu || null },
      });
    } catch (e) {
      set({ recovery: { ...base, status: 'gave-up', note: `Recovery failed: ${message(e)}` } });
    }
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
