// The one runner of the lab: the run's state machine, the step loop, the metrics readback cadence,
// saving, and recovery from a lost GPU device. It implements LabControl itself and is the very same
// object in the page's engine worker (exposed with comlink, worker.ts), in headless.html (window.lab),
// in the experiments, the soak run and the tests. LabSession (session.ts) does the work of one step;
// the runner decides when steps happen and what the run's state is.
//
// States (SESSION_STATES): idle → loading → ready ⇄ running ⇄ paused → done; any → error.
//
// Per step: learn (its metrics row stays on the GPU), read the rows back when one is due (every
// `readEvery` steps, at save points, evaluations, the last step, a single step and a pause), report
// progress, evaluate the hard mask when due, save every `saveEvery` steps when there is a store.
//
// A lost device (GpuEngine.onLost) is recovered when an engine factory is given: the loop stops,
// a new engine is created, the run's configuration is loaded on it, the last save is restored (only
// the steps after it are learned again) and, if the run was learning, it learns on. More than
// MAX_AUTO_RECOVERIES losses within a minute stop the automatic recovery: a device that keeps failing
// needs a person.
import { OneShotCache } from './oneshot-cache';
import type { Engine } from '../backend/engine';
import type { LabControl, LabMetricsSnapshot, LabStateSnapshot, MaskFormat } from '../embed/types';
import type { GpuError } from '../gpu/errors';
import type { TuneStorage } from '../gpu/autotune';
import type { CheckpointFileSet } from '../models/checkpoint';
import type { GroupData } from '../sparsity/group-view';
import type { AssetLoader } from './assets';
import { DEFAULT_CONFIG, sanitizeConfig, type ExperimentConfig } from './config';
import type { RunStore, SavedLookup, SavedRun } from './persist';
import { layerMapOf, layerSummariesOf, type LayerMapData, type LayerSummariesData } from './layer-map';
import { explainFailure } from './recovery';
import { LabSession, SessionError, type NonFinite, type SessionEvent, type SessionState } from './session';

/** Metrics rows are read back from the GPU every this many steps (and at the points named above). */
export const READ_EVERY = 5;
/** With a store, the learning state is saved every this many steps (and on pause). */
export const SAVE_EVERY = 5;
/** Device losses within RECOVERY_WINDOW_MS that are recovered automatically. */
export const MAX_AUTO_RECOVERIES = 3;
const RECOVERY_WINDOW_MS = 60_000;

export const RECOVERY_STATUSES = ['recovering', 'recovered', 'gave-up'] as const;
export type RecoveryStatus = (typeof RECOVERY_STATUSES)[number];

export interface Recovery {
  status: RecoveryStatus;
  /** What was lost (the device's reason and message). */
  detail: string;
  /** The run's step when the device was lost, and the saved step it resumed from (null: no run). */
  lostAtStep: number | null;
  resumedFromStep: number | null;
  /** The run was learning and learns again. */
  relaunched: boolean;
  note: string | null;
}

/** Session events plus the runner's own: saves and device-loss recovery. */
export type RunnerEvent =
  SessionEvent | { type: 'saved'; step: number; bytes: number } | { type: 'persist-error'; message: string } | { type: 'recovery'; recovery: Recovery };

const RUNNER_ONLY: ReadonlySet<RunnerEvent['type']> = new Set(['saved', 'persist-error', 'recovery']);

/** Where the runner's engine comes from. */
export interface EngineSource {
  /** The engine to load a run on. */
  current(): Promise<Engine>;
  /** A fresh engine after a device loss; without it a loss ends the run in 'error' (no recovery). */
  recreate?(): Promise<Engine>;
}

/** An engine that is never replaced (tools, tests), optionally with a factory for recovery. */
export function fixedEngine(engine: Engine, recreate?: () => Promise<Engine>): EngineSource {
  let e = engine;
  return {
    current: async () => e,
    recreate: recreate && (async () => (e = await recreate())),
  };
}

/**
 * A Hugging Face checkpoint opened from files instead of a bundled model name: config.json and one
 * .safetensors, or model.safetensors.index.json and its shards (the page's picker, headless URLs).
 */
export type CustomModelFiles = CheckpointFileSet;

/** One site of the mask view (see LabSession.maskView), at `step`. */
export interface MaskViewData {
  site: string;
  layout: string;
  /** chosen candidate per group (argmax of the logits) */
  choice: Uint8Array;
  /** its noise-free probability softmax(κπ) at the current κ */
  confidence: Float32Array;
  /** 1 where the choice differs from the last evaluation's */
  flipped: Uint8Array;
  groups: number;
  rows: number;
  cols: number;
  step: number;
}

export interface RunnerOptions {
  engine: EngineSource;
  assets: AssetLoader;
  /** Saves of the run (IndexedDB on the page, memory headless); none: nothing is saved or resumed. */
  store?: RunStore | null;
  readEvery?: number;
  saveEvery?: number;
  /** Where tuned kernel picks are kept (IndexedDB on the page, a file in Node); default: memory. */
  tuneStorage?: TuneStorage;
}

const macrotask = () => new Promise<void>((r) => setTimeout(r, 0));
const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class LabRunner implements LabControl {
  state: SessionState = 'idle';
  /** The session of the current run (null before the first load). */
  session: LabSession | null = null;
  readonly readEvery: number;
  readonly saveEvery: number;
  private message: string | undefined;
  private config: ExperimentConfig = { ...DEFAULT_CONFIG };
  private assets: AssetLoader;
  private readonly engines: EngineSource;
  private readonly store: RunStore | null;
  private readonly tuneStorage: TuneStorage | undefined;
  /** priors and baselines of earlier loads on this engine (a second Run of the same model reuses them) */
  readonly oneShotCache = new OneShotCache();
  private engine: Engine | null = null;
  private readonly listeners = new Set<(e: RunnerEvent) => void>();

  // loading
  private loading: Promise<void> | null = null;
  private loadsInFlight = 0;
  private loadError: Error | null = null;
  private loadedKey: string | null = null;
  private custom: CustomModelFiles | null = null;
  private inputsVersion = 0;
  private priorFile: Uint8Array | null = null;

  // the loop
  private loop: Promise<void> | null = null;
  private looping = false;
  private stopRequested = false;
  private failedWhileLearning = false;
  private readonly betweenSteps: (() => Promise<void>)[] = [];
  private savedStep: number | null = null;

  // device loss
  private recovering: Promise<void> | null = null;
  private lossTimes: number[] = [];
  private readonly watched = new WeakSet<Engine>();
  private readonly retired = new WeakSet<Engine>();

  constructor(opts: RunnerOptions) {
    this.engines = opts.engine;
    this.assets = opts.assets;
    this.store = opts.store ?? null;
    this.tuneStorage = opts.tuneStorage;
    this.readEvery = opts.readEvery ?? READ_EVERY;
    this.saveEvery = opts.saveEvery ?? SAVE_EVERY;
    if (!(Number.isInteger(this.readEvery) && this.readEvery >= 1)) throw new SessionError(`readEvery must be a whole number ≥ 1 (got ${this.readEvery})`);
    if (!(Number.isInteger(this.saveEvery) && this.saveEvery >= 1)) throw new SessionError(`saveEvery must be a whole number ≥ 1 (got ${this.saveEvery})`);
  }

  // ------------------------------------------------------------------ events
  /** Every event, the runner's own included; returns the unsubscribe function. */
  watch(listener: (e: RunnerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** LabControl: session events only (saves and recovery are the runner's, see watch). */
  subscribe(listener: (e: SessionEvent) => void): () => void {
    return this.watch((e) => {
      if (!RUNNER_ONLY.has(e.type)) listener(e as SessionEvent);
    });
  }

  private emit(e: RunnerEvent): void {
    for (const f of this.listeners) {
      try {
        // a comlink-proxied listener returns a promise: a closed page port must not become an unhandled rejection
        void Promise.resolve(f(e) as unknown).catch(() => {});
      } catch (err) {
        console.error('a lab event listener threw', err);
      }
    }
  }

  private setState(state: SessionState, message?: string): void {
    this.state = state;
    this.message = message;
    this.emit({ type: 'state', state, message });
  }

  private fail(e: unknown): void {
    const message = messageOf(e);
    this.setState('error', message);
    this.emit({ type: 'error', message });
  }

  // ------------------------------------------------------------------ engine
  /** Makes `engine` the one new runs load on and watches it for a device loss. */
  adopt(engine: Engine): void {
    if (engine !== this.engine) this.oneShotCache.clear(); // another engine's results differ in the last bits
    this.engine = engine;
    if (engine.kind !== 'gpu' || this.watched.has(engine)) return;
    this.watched.add(engine);
    engine.onLost((err) => void this.deviceLost(engine, err));
  }

  /** An engine about to be destroyed on purpose: its loss is not a failure to recover from. */
  retire(engine: Engine): void {
    this.retired.add(engine);
  }

  /**
   * Before the engine is replaced on purpose (the page switching engine): stops learning and drops
   * the loaded model, whose tensors live on the old engine; the next setConfig or load loads it on
   * the new one. A saved run stays saved (resumable on the new engine).
   */
  async unload(): Promise<void> {
    await this.halt();
    await this.loading;
    this.session?.dispose();
    this.session = null;
    this.loadedKey = null;
    this.savedStep = null;
    this.setState('idle');
  }

  /** Where assets (checkpoints/, data/) are loaded from by the next load. */
  setAssets(assets: AssetLoader): void {
    this.assets = assets;
    this.loadedKey = null;
  }

  // ------------------------------------------------------------------ configuration and loading
  /** A model opened from files instead of a bundled name (null: bundled); applied by the next load. */
  setCustomModel(files: CustomModelFiles | null): void {
    this.custom = files;
    this.inputsVersion++;
  }

  /** A mask file for prior "file"; applied by the next load. */
  setPriorFile(bytes: Uint8Array): void {
    this.priorFile = bytes;
    this.inputsVersion++;
    this.session?.setPriorFile(bytes);
  }

  /**
   * LabControl: validate and apply a configuration. Loading starts in the background and the call
   * returns at once, so a driver can poll events (loading, baselines) meanwhile; run, step and
   * exportMask wait for it.
   */
  async setConfig(partial: Record<string, unknown>): Promise<{ config: ExperimentConfig; warnings: string[] }> {
    if (this.learning) throw new SessionError('pause the run before changing the configuration');
    await this.loop;
    await this.loading;
    const { config, warnings } = sanitizeConfig(partial, this.config);
    this.config = config;
    if (this.keyOf(config) !== this.loadedKey) this.startLoad(config).catch(() => {});
    return { config, warnings };
  }

  /** Loads a configuration (with `custom` files, or a bundled model for null) and waits for it. */
  async load(config: ExperimentConfig, custom?: CustomModelFiles | null): Promise<void> {
    if (custom !== undefined) this.setCustomModel(custom);
    await this.startLoad(config);
  }

  private keyOf(config: ExperimentConfig): string {
    return JSON.stringify([config, this.inputsVersion]);
  }

  private startLoad(config: ExperimentConfig): Promise<void> {
    const p = this.doLoad(config);
    this.loadsInFlight++;
    this.loadError = null;
    this.loadedKey = this.keyOf(config);
    this.loading = p
      .then(
        () => {},
        (e: unknown) => {
          this.loadError = e instanceof Error ? e : new Error(String(e));
          this.loadedKey = null;
        },
      )
      .finally(() => {
        this.loadsInFlight--;
      });
    return p;
  }

  private async doLoad(config: ExperimentConfig): Promise<void> {
    await this.halt();
    this.config = config;
    this.savedStep = null;
    this.session?.dispose();
    this.session = null;
    this.setState('loading');
    try {
      const engine = await this.engines.current();
      this.adopt(engine);
      const s = new LabSession(engine, this.assets, (e) => this.emit(e), {
        readEvery: this.readEvery,
        deferBaselines: true,
        tuneStorage: this.tuneStorage,
        oneShotCache: this.oneShotCache,
      });
      this.session = s;
      if (this.priorFile) s.setPriorFile(this.priorFile);
      await s.load(config, this.custom ?? undefined);
      this.prepared(s);
    } catch (e) {
      this.fail(e);
      throw e;
    }
  }

  /** After the baselines: ready to learn, or done (a one-shot method has nothing to learn). */
  private prepared(s: LabSession): void {
    if (s.learner) this.setState('ready');
    else {
      this.setState('done');
      this.emit({ type: 'done', rows: s.table });
    }
  }

  /** The loaded session, after any load in flight; a specific error when there is none. */
  private async loaded(): Promise<LabSession> {
    await this.loading;
    if (this.loadError) throw new SessionError(`loading failed: ${this.loadError.message}`);
    if (!this.session?.config) throw new SessionError('No model is loaded: apply a configuration (setConfig, or Load on the page) first.');
    return this.session;
  }

  // ------------------------------------------------------------------ running
  /** LabControl: start (or resume) learning; resolves once started. See runToEnd. */
  async run(): Promise<void> {
    const s = await this.loaded();
    if (this.learning) return;
    await this.loop; // a loop asked to stop may still be saving
    if (this.learning) return; // another run() started it meanwhile
    if (this.state !== 'ready' && this.state !== 'paused') throw new SessionError(`cannot run from state ${this.state}`);
    this.stopRequested = false;
    this.failedWhileLearning = false;
    this.looping = true;
    this.setState('running');
    this.loop = this.learnLoop(s).finally(() => {
      this.loop = null;
    });
  }

  /** Learns until the loop stops (done, paused on a NaN, or failed) and any recovery is over. */
  async runToEnd(): Promise<void> {
    await this.run();
    await this.settle();
  }

  /** Resolves once nothing is in flight: no load, no learning loop, no recovery. */
  async settle(): Promise<void> {
    for (;;) {
      const p = this.recovering ?? this.loop ?? (this.loadsInFlight > 0 ? this.loading : null);
      if (!p) return;
      await p;
    }
  }

  /** LabControl: resolves once the loop stopped (after the current step). */
  async pause(): Promise<void> {
    await this.halt();
  }

  /** The loop runs and nobody asked it to stop (a stopping loop reports 'paused' before its last save). */
  private get learning(): boolean {
    return this.looping && !this.stopRequested;
  }

  private async halt(): Promise<void> {
    if (this.looping) this.stopRequested = true;
    await this.loop;
  }

  /** LabControl: exactly one optimizer step (from ready or paused); its metrics row is read back. */
  async step(): Promise<void> {
    const s = await this.loaded();
    if (this.learning) throw new SessionError('pause the run before stepping once');
    await this.loop; // a loop asked to stop may still be saving
    if (this.state !== 'ready' && this.state !== 'paused') throw new SessionError(`cannot step from state ${this.state}`);
    try {
      if (!(await this.oneStep(s, true, s.step, performance.now()))) return;
      if (s.step >= s.config!.steps) await this.finish(s);
      else {
        this.setState('paused');
        await this.save(s);
      }
    } catch (e) {
      this.fail(await explainFailure(s.engine, e));
    }
  }

  private readDue(step: number): boolean {
    return step % this.readEvery === 0 || (this.store !== null && step % this.saveEvery === 0);
  }

  private async learnLoop(s: LabSession): Promise<void> {
    const steps = s.config!.steps;
    const t0 = performance.now();
    const s0 = s.step;
    // the table's deferred rows (LabSession deferBaselines) share the loop's time with learning:
    // the next row is computed once learning has had at least as much time as the rows so far
    let learnMs = 0;
    let baselineMs = 0;
    try {
      while (s.step < steps && !this.stopRequested) {
        const t = performance.now();
        if (!(await this.oneStep(s, false, s0, t0))) return;
        if (s.step % this.saveEvery === 0 && s.step < steps) await this.save(s);
        await this.drain();
        learnMs += performance.now() - t;
        if (s.baselinesPending > 0 && baselineMs <= learnMs && !this.stopRequested && s.step < steps) {
          const tb = performance.now();
          await s.computeNextBaseline();
          baselineMs += performance.now() - tb;
          await this.drain();
        }
        await macrotask(); // let pause / getState calls in
      }
      if (s.step >= steps) await this.finish(s);
      else {
        const bad = await s.readMetrics();
        if (bad) return this.pauseOn(bad);
        this.setState('paused');
        await this.save(s);
      }
    } catch (e) {
      this.failedWhileLearning = true;
      // a device loss can surface first as a failed mapAsync: report the loss itself
      this.fail(await explainFailure(s.engine, e));
    } finally {
      this.looping = false;
      await this.drain();
    }
  }

  /** One step: learn, read back when due, progress, evaluation. False when it paused on a NaN/Inf. */
  private async oneStep(s: LabSession, single: boolean, s0: number, t0: number): Promise<boolean> {
    const bad = await s.learnStep(single || this.readDue(s.step + 1));
    if (bad) {
      this.pauseOn(bad);
      return false;
    }
    const c = s.config!;
    const secs = (performance.now() - t0) / 1000;
    this.emit({ type: 'progress', phase: 'learning', done: s.step, total: c.steps, stepsPerSecond: secs > 0 ? (s.step - s0) / secs : undefined });
    if (s.evaluationDue) await s.evaluateHardMask();
    return true;
  }

  private pauseOn(bad: NonFinite): void {
    // the last good save stays: a state holding the NaN is not worth resuming
    this.stopRequested = true;
    this.setState('paused', bad.stateMessage);
    this.emit({ type: 'error', message: bad.message, step: bad.step, site: bad.site });
  }

  private async finish(s: LabSession): Promise<void> {
    const rows = await s.finalEvaluation();
    this.setState('done');
    this.emit({ type: 'table', rows });
    this.emit({ type: 'done', rows });
    this.savedStep = null;
    await this.store?.clear().catch(() => {}); // a finished run is not kept for a reload
  }

  /** Runs `f` now, or between two steps while the loop runs (never interleaved with a step). */
  private between<T>(f: () => Promise<T>): Promise<T> {
    if (!this.looping) return f();
    return new Promise<T>((resolve, reject) => this.betweenSteps.push(() => f().then(resolve, reject)));
  }

  private async drain(): Promise<void> {
    while (this.betweenSteps.length) await this.betweenSteps.shift()!();
  }

  private async save(s: LabSession): Promise<void> {
    // a model opened from files is not saved: it could not be loaded again from its name
    if (!this.store || !s.learner || !s.config || this.custom) return;
    try {
      const state = await s.exportMask('state');
      const bytes = await this.store.save({ savedAt: Date.now(), config: s.config, step: s.step, state, metrics: s.metrics, evaluations: s.evaluations });
      this.savedStep = s.step;
      this.emit({ type: 'saved', step: s.step, bytes });
    } catch (e) {
      this.emit({ type: 'persist-error', message: messageOf(e) });
    }
  }

  /** LabControl: back to step 0 with the same model, data and baselines; the save is dropped. */
  async reset(): Promise<void> {
    await this.halt();
    await this.loading;
    this.savedStep = null;
    await this.store?.clear().catch(() => {});
    const s = this.session;
    if (!s?.config || !s.model) return;
    try {
      await s.reset();
      this.prepared(s);
    } catch (e) {
      this.fail(e);
      throw e;
    }
  }

  // ------------------------------------------------------------------ reading
  async getState(): Promise<LabStateSnapshot> {
    const s = this.session;
    const engine = this.engine ?? (await this.engines.current());
    return {
      state: this.state,
      step: s?.step ?? 0,
      totalSteps: this.config.steps,
      config: { ...this.config },
      model: s?.summary ?? null,
      engine: engine.kind,
      message: this.message,
      gpuMemory: s?.gpuMemory() ?? null,
      kernelTuning: s?.kernelTuning ?? null,
    };
  }

  async getMetrics(): Promise<LabMetricsSnapshot> {
    const s = this.session;
    return { rows: s?.metrics ?? [], evaluations: s?.evaluations ?? [], table: s?.table ?? [] };
  }

  /** LabControl: the mask file; while learning it is taken between two steps. */
  async exportMask(format: MaskFormat): Promise<Uint8Array> {
    const s = await this.loaded();
    return this.between(() => s.exportMask(format));
  }

  async maskView(site: number): Promise<MaskViewData> {
    const s = await this.loaded();
    return this.between(async () => ({ ...(await s.maskView(site)), step: s.step }));
  }

  /** One group of one masked layer up close (LabSession.groupView), taken between two steps. */
  async groupView(site: number, group: number): Promise<GroupData> {
    const s = await this.loaded();
    return this.between(() => s.groupView(site, group));
  }

  /** The large layer map of one masked layer within `maxCells` cells (src/lab/layer-map.ts), taken between two steps. */
  async layerMap(site: number, maxCells: number): Promise<LayerMapData> {
    const s = await this.loaded();
    return this.between(() => layerMapOf(s, site, maxCells));
  }

  /** Every masked layer's summary and thumbnail for the layer map's small multiples, taken between two steps. */
  async layerSummaries(maxCells: number): Promise<LayerSummariesData> {
    const s = await this.loaded();
    return this.between(() => layerSummariesOf(s, maxCells));
  }

  // ------------------------------------------------------------------ saved runs
  /** What the store holds (a corrupt record is reported once and deleted). */
  async savedRun(): Promise<SavedLookup> {
    if (!this.store) return { none: true, unavailable: 'this lab keeps no saved runs' };
    try {
      const r = await this.store.load();
      if (!r) return { none: true };
      if ('corrupt' in r) return r;
      const { run } = r;
      return { saved: { model: run.config.model, step: run.step, totalSteps: run.config.steps, savedAt: run.savedAt, metricsRows: run.metrics.length } };
    } catch (e) {
      return { none: true, unavailable: messageOf(e) };
    }
  }

  /** Loads the saved run's configuration and restores its state, metrics and step (paused). */
  async resumeSaved(): Promise<void> {
    const r = await this.store?.load();
    if (!r) throw new SessionError('There is no saved run to resume.');
    if ('corrupt' in r) throw new SessionError(`The saved run could not be used: ${r.corrupt}`);
    await this.resumeFrom(r.run);
  }

  async discardSaved(): Promise<void> {
    await this.store?.clear();
  }

  private async resumeFrom(run: SavedRun): Promise<void> {
    await this.load(run.config, null);
    const s = this.session!;
    if (!s.learner) throw new SessionError('The saved run is not a MaskLLM run.');
    s.restore(run.state);
    s.metrics = run.metrics.slice();
    s.evaluations = run.evaluations.slice();
    this.savedStep = run.step;
    this.setState('paused');
    if (run.metrics.length) this.emit({ type: 'metrics', rows: run.metrics });
    for (const ev of run.evaluations) this.emit({ type: 'evaluation', evaluation: ev });
    this.emit({ type: 'progress', phase: 'learning', done: s.step, total: run.config.steps });
  }

  // ------------------------------------------------------------------ device loss
  private async deviceLost(engine: Engine, err: GpuError): Promise<void> {
    if (this.retired.has(engine) || engine !== this.engine) return;
    const now = Date.now();
    this.lossTimes = [...this.lossTimes.filter((t) => now - t < RECOVERY_WINDOW_MS), now];
    const s = this.session;
    const hadRun = s?.learner != null;
    // the loop may already have stopped on the failed step: it was learning all the same
    const wasLearning = this.looping || (this.state === 'error' && this.failedWhileLearning);
    const detail = err.hint ? err.message.replace(err.hint, '').trim() : err.message;
    const base: Recovery = { status: 'recovering', detail, lostAtStep: hadRun ? s.step : null, resumedFromStep: null, relaunched: false, note: null };
    const report = (r: Partial<Recovery>) => this.emit({ type: 'recovery', recovery: { ...base, ...r } });
    if (!this.engines.recreate) {
      this.stopRequested = true;
      return report({ status: 'gave-up', note: 'This lab cannot recreate its engine: start it again.' });
    }
    if (this.lossTimes.length > MAX_AUTO_RECOVERIES) {
      this.stopRequested = true;
      return report({
        status: 'gave-up',
        note: `The device was lost ${this.lossTimes.length} times within a minute: the lab stopped recreating it on its own. Recreate it with the button, or reload the page.`,
      });
    }
    const recreate = this.engines.recreate;
    report({});
    const p = (async () => {
      try {
        await this.halt(); // the step in flight fails on the lost device
        await this.loading;
        const fresh = await recreate.call(this.engines);
        this.adopt(fresh);
        const onCpu = fresh.kind !== 'gpu' ? ' A new GPU device could not be created: the lab now runs on the CPU engine (slow).' : '';
        if (!hadRun) return report({ status: 'recovered', note: `The lab recreated the engine.${onCpu}` });
        const saved = this.savedStep !== null && this.store ? await this.store.load() : null;
        if (!saved || !('run' in saved)) {
          // nothing to resume: the same configuration, loaded again on the new engine, from step 0
          const why = this.custom ? 'a model opened from disk is not saved for a reload' : 'no saved state was found';
          await this.load(this.config);
          return report({ status: 'recovered', note: `The run could not be resumed (${why}): press Run to start it again.${onCpu}` });
        }
        await this.resumeFrom(saved.run);
        const from = this.session!.step;
        if (wasLearning) await this.run();
        report({ status: 'recovered', resumedFromStep: from, relaunched: wasLearning, note: onCpu || null });
      } catch (e) {
        report({ status: 'gave-up', note: `Recovery failed: ${messageOf(e)}` });
      }
    })();
    this.recovering = p;
    await p;
    if (this.recovering === p) this.recovering = null;
  }
}
