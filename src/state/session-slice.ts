// The mask-learning part of the page store: the configuration being edited, the loaded model, run
// progress, the results table and the saved-run offer. Live series are not here (see live.ts).
// It mirrors the events of the worker's LabRunner and calls the runner for every command.
import * as Comlink from 'comlink';
import type { StateCreator } from 'zustand';
import { DEFAULT_CONFIG, sanitizeConfig, type ExperimentConfig, type PresetName } from '../lab/config';
import { describeWeightFiles, shardListProblem, sortModelFiles, weightFilesName } from '../lab/model-files';
import type { ModelSummary, ProgressPhase, ResultRow, SessionState } from '../lab/session';
import { viaWorker, type CustomModelFiles, type MaskViewData, type SavedLookup, type SavedRunInfo, type WorkerEvent } from '../lab/worker-api';
import type { MaskFormat } from '../embed/types';
import type { KernelTuning } from '../lab/kernel-picks';
import type { ResultKey } from '../lab/names';
import { parseShardIndex, type NamedFile } from '../models/sharded';
import { live, publishEvent } from './live';
import { connection } from './connection';
import type { LabState } from './store';

export interface LoadingInfo {
  phase: ProgressPhase;
  done: number;
  total: number;
  detail?: string;
  /** time left in this phase, once its rate is known (src/lab/eta.ts) */
  etaSeconds?: number;
}

export interface RunInfo {
  state: SessionState;
  step: number;
  total: number;
  stepsPerSecond: number | null;
  etaSeconds: number | null;
  loading: LoadingInfo | null;
  /** Why the run paused or failed (NaN, errors). */
  message: string | null;
  /** The command in flight, if any ('Loading', 'Resetting', …); controls are disabled meanwhile. */
  busy: string | null;
  savedStep: number | null;
  persistNote: string | null;
  evaluations: number;
}

export type ResumeOffer = { info: SavedRunInfo } | { corrupt: string } | null;

export interface SessionSlice {
  draft: ExperimentConfig;
  loaded: ExperimentConfig | null;
  warnings: string[];
  model: ModelSummary | null;
  /**
   * A checkpoint opened from disk: its name, which files were taken ("model.safetensors", "index + 2
   * shards") and the weights' bytes; the bytes themselves stay in module state.
   */
  custom: { name: string; files: string; bytes: number } | null;
  table: ResultRow[];
  /** rows still being computed while learning runs (the session defers the baselines), in order */
  tablePending: ResultKey[];
  /** what the `kernels` setting did for the loaded run (GPU engine; the Engine panel shows it) */
  kernelTuning: KernelTuning | null;
  run: RunInfo;
  resume: ResumeOffer;
  /** IndexedDB was checked for a saved run (after start-up). */
  resumeChecked: boolean;
  sessionError: string | null;
  setField<K extends keyof ExperimentConfig>(key: K, value: ExperimentConfig[K]): void;
  applyPreset(name: PresetName): void;
  /** Validate and merge a partial config into the draft (invalid fields fall back with warnings). */
  mergeDraft(partial: Record<string, unknown>): { config: ExperimentConfig; warnings: string[] };
  loadModel(): Promise<void>;
  openFiles(files: File[]): Promise<void>;
  chooseBundled(name: string): void;
  startRun(): Promise<void>;
  pauseRun(): Promise<void>;
  stepRun(): Promise<void>;
  resetRun(): Promise<void>;
  exportMask(format: MaskFormat): Promise<Uint8Array>;
  maskView(site: number): Promise<MaskViewData>;
  /** A mask file for prior "file" (used by the next load). */
  setPriorFile(bytes: Uint8Array): Promise<void>;
  checkSaved(): Promise<void>;
  resumeSaved(): Promise<void>;
  discardSaved(): Promise<void>;
  dismissSessionError(): void;
  /** Every event from the worker goes through here. */
  onWorkerEvent(e: WorkerEvent): void;
}

/**
 * The checkpoint opened from disk, until the next load sends it to the worker. It is moved there
 * (comlink transfer), not copied, so a large checkpoint is not held twice; the worker's LabRunner
 * keeps it for every later load until a bundled model is chosen.
 */
let customModel: CustomModelFiles | null = null;

export function assetBase(): string {
  return new URL(import.meta.env.BASE_URL, globalThis.location.href).href;
}

/** The worker connection and its LabRunner. */
function api() {
  const c = connection();
  if (!c) throw new Error('The engine worker is not connected yet.');
  return { c, a: c.api.runner };
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

const INITIAL_RUN: RunInfo = {
  state: 'idle',
  step: 0,
  total: 0,
  stepsPerSecond: null,
  etaSeconds: null,
  loading: null,
  message: null,
  busy: null,
  savedStep: null,
  persistNote: null,
  evaluations: 0,
};

/** Fields whose change needs the model reloaded (or the learner rebuilt) to take effect. */
export function needsLoad(a: ExperimentConfig | null, b: ExperimentConfig): boolean {
  if (!a) return true;
  return (Object.keys(b) as (keyof ExperimentConfig)[]).some((k) => a[k] !== b[k]);
}

/**
 * Checks the files a user opened (names and sizes only, before reading a byte): config.json with
 * one .safetensors checkpoint, or with model.safetensors.index.json and its shards, none too large
 * (lab/model-files.ts). Returns the problem, or null.
 */
export function checkModelFiles(files: { name: string; size: number }[]): string | null {
  const r = sortModelFiles(files);
  return typeof r === 'string' ? r : null;
}

export const sessionSlice: StateCreator<LabState, [], [], SessionSlice> = (set, get) => {
  /** Runs a worker command with `busy` set; errors land in sessionError, never unhandled. */
  async function command(label: string, f: () => Promise<void>): Promise<void> {
    if (get().run.busy) throw new Error(`Wait: ${get().run.busy} is in progress.`);
    set((s) => ({ run: { ...s.run, busy: label }, sessionError: null }));
    try {
      await f();
    } catch (e) {
      set({ sessionError: message(e) });
      throw e;
    } finally {
      set((s) => ({ run: { ...s.run, busy: null } }));
    }
  }

  return {
    draft: { ...DEFAULT_CONFIG },
    loaded: null,
    warnings: [],
    model: null,
    custom: null,
    table: [],
    tablePending: [],
    kernelTuning: null,
    run: INITIAL_RUN,
    resume: null,
    resumeChecked: false,
    sessionError: null,

    setField(key, value) {
      // a preset resets the hyper-parameters (sanitizeConfig expands it); other fields are set as given
      set({ draft: key === 'preset' ? sanitizeConfig({ preset: value }, get().draft).config : { ...get().draft, [key]: value } });
    },
    applyPreset(name) {
      set((s) => ({ draft: sanitizeConfig({ preset: name }, s.draft).config }));
    },
    mergeDraft(partial) {
      // a preset given with explicit values: the preset first, then the explicit fields on top (sanitizeConfig)
      const r = sanitizeConfig(partial, get().draft);
      set({ draft: r.config, warnings: r.warnings });
      return r;
    },

    chooseBundled(name) {
      customModel = null;
      set((s) => ({ custom: null, draft: { ...s.draft, model: name } }));
    },

    async openFiles(files) {
      // typed, so that a call ends the function for the type checker too
      const problem: (m: string) => never = (m) => {
        set({ sessionError: m });
        throw new Error(m);
      };
      const picked = sortModelFiles(files);
      if (typeof picked === 'string') problem(picked);
      const { config: cfg, index, weights } = picked;
      let config: unknown;
      try {
        config = JSON.parse(await cfg.text());
      } catch (e) {
        problem(`${cfg.name} is not valid JSON: ${message(e)}`);
      }
      // a sharded checkpoint: the small index first, so a shard it names that was not opened is
      // reported before the large shards are read
      const read: NamedFile[] = [];
      if (index) {
        const bytes = new Uint8Array(await index.arrayBuffer());
        let weightMap: Map<string, string>;
        try {
          weightMap = parseShardIndex(bytes, index.name);
        } catch (e) {
          problem(message(e));
        }
        const missing = shardListProblem(
          index.name,
          weightMap,
          weights.map((f) => f.name),
        );
        if (missing) problem(missing);
        read.push({ name: index.name, bytes });
      }
      for (const f of weights) read.push({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) });
      const name = weightFilesName(picked) + ' (from disk)';
      customModel = { name, files: read, config };
      const bytes = weights.reduce((sum, f) => sum + f.size, 0);
      set((s) => ({ custom: { name, files: describeWeightFiles(picked), bytes }, draft: { ...s.draft, model: name.slice(0, 200) }, sessionError: null }));
    },

    async loadModel() {
      const { c, a } = api();
      const config = get().draft;
      await command('Loading', async () => {
        // a new run replaces the saved one at its first save: the offer no longer applies
        set((s) => ({
          loaded: null,
          model: null,
          table: [],
          tablePending: [],
          resume: null,
          run: { ...INITIAL_RUN, busy: s.run.busy, state: 'loading', total: config.steps },
        }));
        live.reset(null);
        if (customModel) {
          const files = customModel;
          customModel = null;
          await viaWorker(
            c,
            a.setCustomModel(
              Comlink.transfer(files, [...new Set(files.files.map((f) => (f.bytes instanceof Uint8Array ? f.bytes.buffer : f.bytes) as ArrayBuffer))]),
            ),
          );
        }
        // opened from disk: what the runner holds (undefined keeps it); bundled: none (null)
        await viaWorker(c, a.load(config, get().custom ? undefined : null));
        set({ loaded: config });
      });
    },

    async startRun() {
      const s = get();
      // a changed configuration before the first step: reload so the run uses what is on screen
      if (s.run.state === 'idle' || s.run.state === 'error' || (s.run.step === 0 && needsLoad(s.loaded, s.draft))) await get().loadModel();
      if (get().run.state === 'done') throw new Error('The run is finished: press Reset to learn again.');
      const { c, a } = api();
      await command('Starting', () => viaWorker(c, a.run()));
    },
    async pauseRun() {
      const { c, a } = api();
      await viaWorker(c, a.pause());
    },
    async stepRun() {
      if (get().run.state === 'idle') await get().loadModel();
      const { c, a } = api();
      await command('Stepping', () => viaWorker(c, a.step()));
    },
    async resetRun() {
      const { c, a } = api();
      await command('Resetting', async () => {
        await viaWorker(c, a.pause());
        const m = get().model;
        live.reset(m);
        set((s) => ({ run: { ...s.run, step: 0, savedStep: null, stepsPerSecond: null, etaSeconds: null, evaluations: 0 } }));
        await viaWorker(c, a.reset());
      });
    },
    async exportMask(format) {
      const { c, a } = api();
      return viaWorker(c, a.exportMask(format));
    },
    async maskView(site) {
      const { c, a } = api();
      return viaWorker(c, a.maskView(site));
    },
    async setPriorFile(bytes) {
      const { c, a } = api();
      await viaWorker(c, a.setPriorFile(bytes));
    },

    async checkSaved() {
      const { c, a } = api();
      const r: SavedLookup = await viaWorker(c, a.savedRun() as Promise<SavedLookup>);
      if ('saved' in r) set({ resume: { info: r.saved } });
      else if ('corrupt' in r) set({ resume: { corrupt: r.corrupt } });
      else {
        set({ resume: null });
        if (r.unavailable) set((s) => ({ run: { ...s.run, persistNote: r.unavailable ?? null } }));
      }
      set({ resumeChecked: true });
    },
    async resumeSaved() {
      const { c, a } = api();
      const offer = get().resume;
      await command('Resuming', async () => {
        set((s) => ({ loaded: null, model: null, table: [], tablePending: [], resume: null, run: { ...INITIAL_RUN, busy: s.run.busy, state: 'loading' } }));
        customModel = null;
        live.reset(null);
        await viaWorker(c, a.resumeSaved());
        const snap = await viaWorker(c, a.getState());
        set((s) => ({
          loaded: snap.config,
          draft: snap.config,
          custom: null,
          run: { ...s.run, step: snap.step, total: snap.totalSteps, savedStep: offer && 'info' in offer ? offer.info.step : null },
        }));
      });
    },
    async discardSaved() {
      const { c, a } = api();
      set({ resume: null });
      await viaWorker(c, a.discardSaved());
    },
    dismissSessionError() {
      set({ sessionError: null });
    },
    onWorkerEvent(e) {
      if (e.type === 'recovery') get().mirrorRecovery(e.recovery);
      else handleWorkerEvent(e, set);
    },
  };
};

// ---------------------------------------------------------------- events from the worker
/** Recent (time, step) pairs for steps/s over the last few seconds. */
let rateWindow: { t: number; step: number }[] = [];

type SetState = Parameters<StateCreator<LabState, [], [], SessionSlice>>[0];

function handleWorkerEvent(e: Exclude<WorkerEvent, { type: 'recovery' }>, set: SetState): void {
  switch (e.type) {
    case 'state':
      if (e.state === 'running') rateWindow = [];
      // a finished run is not kept for a reload (the worker clears it)
      set((s) => ({
        run: {
          ...s.run,
          state: e.state,
          message: e.message ?? null,
          loading: e.state === 'running' ? null : s.run.loading,
          savedStep: e.state === 'done' ? null : s.run.savedStep,
        },
      }));
      if (e.state === 'error' && e.message) set({ sessionError: e.message });
      break;
    case 'progress':
      if (e.phase === 'learning') {
        const now = performance.now();
        rateWindow.push({ t: now, step: e.done });
        while (rateWindow.length > 2 && now - rateWindow[0].t > 15_000) rateWindow.shift();
        const first = rateWindow[0];
        const dt = (now - first.t) / 1000;
        const rate = rateWindow.length > 1 && dt > 0 ? (e.done - first.step) / dt : (e.stepsPerSecond ?? null);
        const eta = rate && rate > 0 ? (e.total - e.done) / rate : null;
        set((s) => ({ run: { ...s.run, step: e.done, total: e.total, stepsPerSecond: rate, etaSeconds: eta, loading: null } }));
      } else {
        set((s) => ({ run: { ...s.run, loading: { phase: e.phase, done: e.done, total: e.total, detail: e.detail, etaSeconds: e.etaSeconds } } }));
      }
      break;
    case 'model':
      live.reset(e.summary);
      set({ model: e.summary });
      break;
    case 'metrics':
      live.pushRows(e.rows);
      break;
    case 'evaluation':
      live.pushEvaluation(e.evaluation);
      set((s) => ({ run: { ...s.run, evaluations: s.run.evaluations + 1 } }));
      break;
    case 'table':
    case 'done':
      set({ table: e.rows, tablePending: e.type === 'table' ? (e.pending ?? []) : [] });
      if (e.type === 'done') set((s) => ({ run: { ...s.run, loading: null } }));
      break;
    case 'kernels':
      set({ kernelTuning: e.tuning });
      break;
    case 'error':
      set({ sessionError: e.message });
      break;
    case 'saved':
      set((s) => ({ run: { ...s.run, savedStep: e.step, persistNote: null } }));
      break;
    case 'persist-error':
      set((s) => ({ run: { ...s.run, persistNote: `The run could not be saved for a reload: ${e.message}` } }));
      break;
  }
  if (e.type !== 'saved' && e.type !== 'persist-error') publishEvent(e);
}
