// The page ↔ worker contract. The engine and the lab's LabRunner live in a dedicated Web Worker so
// long GPU work never blocks the page; the page talks to it through comlink.
// Everything that crosses must be structured-cloneable: no GPU objects, no GPUSupportedLimits
// (a platform object that postMessage refuses), only plain data.
import * as Comlink from 'comlink';
import type { GpuErrorKind } from '../gpu/errors';
import type { LabRunner, RunnerEvent } from './runner';
import type { SelfTestReport, SelfTestResult } from './selftest';
import type { EngineKind } from './names';
import type { EnginePreference, EngineRequest } from './engine-choice';

export type { SelfTestReport, SelfTestResult } from './selftest';
export type { CustomModelFiles, MaskViewData } from './runner';
export type { LayerMapData, LayerSummariesData, LayerSummaryData } from './layer-map';
export type { SavedLookup, SavedRunInfo } from './persist';

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** describeAdapter(): one line naming the adapter and its optional features. */
  summary: string;
  features: { timestampQuery: boolean; shaderF16: boolean; subgroups: boolean };
  /** Key limits of the device the engine got (bytes or counts). */
  limits: Record<string, number>;
}

export interface EngineProblem {
  kind: GpuErrorKind | 'unknown';
  /** What happened, without the hint. */
  detail: string;
  /** What to try. */
  hint: string;
}

export interface InitResult {
  engine: EngineKind;
  /** What was asked for (engine= in the URL, or the Engine panel); 'auto' by default. */
  preference: EnginePreference;
  /** Why the engine asked for could not start (then `auto` chose this one); null when it did. */
  requestError: string | null;
  /** One line: the engine, its adapter or threads, and why it was chosen (engine-choice.ts). */
  description: string;
  adapter: AdapterSummary | null;
  /** Why the GPU engine is missing (null when engine is 'gpu', or when WebGPU was not asked for). */
  gpuProblem: EngineProblem | null;
  /** The WebAssembly engine's variant and threads (null on the other engines). */
  wasm: { variant: 'simd' | 'relaxed'; threads: number; threadNote: string | null; crossOriginIsolated: boolean } | null;
  /** Whether navigator.gpu exists in the worker (where WebGPU is detected and used). */
  workerHasNavigatorGpu: boolean;
  /** Time to get the adapter and device (or to fail), in ms. */
  initMs: number;
}

export interface SelfTestCaseInfo {
  name: string;
  family: string;
  shapes: string;
  /** Pass threshold on the relative error. */
  tol: number;
}

/** Everything the runner reports (session events, saves, recovery). */
export type WorkerEvent = RunnerEvent;

/** What the page calls on the worker's LabRunner (its LabControl part and the page's extras). */
export type RunnerApi = Pick<
  LabRunner,
  | 'setConfig'
  | 'load'
  | 'run'
  | 'pause'
  | 'step'
  | 'reset'
  | 'getState'
  | 'getMetrics'
  | 'exportMask'
  | 'maskView'
  | 'groupView'
  | 'layerMap'
  | 'layerSummaries'
  | 'setCustomModel'
  | 'setPriorFile'
  | 'savedRun'
  | 'resumeSaved'
  | 'discardSaved'
>;

export interface LabApi {
  /**
   * Creates the engine (engine-choice.ts: WebGPU, else WebAssembly, unless `req` asks for one). Safe
   * to call again: recreates a lost device, or switches engine (the run is reset). `req` is kept for
   * later recreations.
   */
  init(req?: EngineRequest): Promise<InitResult>;
  /** `listener` must be wrapped with Comlink.proxy(); it is called for every engine's device loss. */
  onLost(listener: (p: EngineProblem) => void): void;
  listSelfTests(): SelfTestCaseInfo[];
  /** `onResult`, when given, must be wrapped with Comlink.proxy(). */
  runSelfTest(seed: number, onResult?: (r: SelfTestResult, index: number) => void): Promise<SelfTestReport>;
  /** Destroys the GPU device to exercise the device-lost path; false on the CPU engine. */
  simulateDeviceLoss(): Promise<boolean>;

  /** The last init() (or recreation after a device loss): which engine runs now. */
  engineInfo(): InitResult | null;
  /** The URL that checkpoints/ and data/ are fetched under. */
  setAssetBase(base: string): void;

  // ---- the learning run ----
  /** `listener` must be wrapped with Comlink.proxy(); it receives every runner event. */
  setListener(listener: (e: WorkerEvent) => void): void;
  /** The lab's one LabRunner: comlink calls its methods in place (`await api.runner.run()`). */
  runner: RunnerApi & Comlink.ProxyMarked;
}

export interface LabConnection {
  api: Comlink.Remote<LabApi>;
  /** Rejects when the worker fails to load or throws outside a call (comlink calls would hang). */
  failed: Promise<never>;
  terminate(): void;
}

export function connectWorker(): LabConnection {
  // This exact form lets Vite bundle the worker (and its WGSL imports) as a separate ES module.
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'maskllm-lab-engine' });
  const api = Comlink.wrap<LabApi>(worker);
  const failed = new Promise<never>((_, reject) => {
    worker.addEventListener('error', (ev) => {
      ev.preventDefault();
      reject(new Error(`The engine worker failed: ${ev.message || 'it could not be loaded (see the browser console)'}`));
    });
    worker.addEventListener('messageerror', () => reject(new Error('The engine worker sent a message the page could not read.')));
  });
  failed.catch(() => {}); // handled by whoever races against it
  return {
    api,
    failed,
    terminate() {
      api[Comlink.releaseProxy]();
      worker.terminate();
    },
  };
}

/** Runs a worker call, failing fast if the worker itself dies. */
export function viaWorker<T>(conn: LabConnection, call: Promise<T>): Promise<T> {
  return Promise.race([call, conn.failed]);
}

export const proxy = Comlink.proxy;
