// The page ↔ worker contract. The engine (and later the mask-learning session) lives in a dedicated
// Web Worker so long GPU work never blocks the page; the page talks to it through comlink.
// Everything that crosses must be structured-cloneable: no GPU objects, no GPUSupportedLimits
// (a platform object that postMessage refuses), only plain data.
import * as Comlink from 'comlink';
import type { GpuErrorKind } from '../gpu/errors';
import type { LabMetricsSnapshot, LabStateSnapshot, MaskFormat } from '../embed/types';
import type { ExperimentConfig } from './config';
import type { SelfTestReport, SelfTestResult } from './selftest';
import type { SessionEvent } from './session';

export type { SelfTestReport, SelfTestResult } from './selftest';

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
  engine: 'gpu' | 'cpu';
  adapter: AdapterSummary | null;
  /** Why the GPU engine is missing (null when engine is 'gpu'). */
  gpuProblem: EngineProblem | null;
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

/** Session events plus the worker's own persistence notices. */
export type WorkerEvent =
  | SessionEvent
  | { type: 'saved'; step: number; bytes: number }
  | { type: 'persist-error'; message: string };

/** A Hugging Face checkpoint opened from disk. */
export interface CustomModel {
  name: string;
  safetensors: Uint8Array;
  config: unknown;
}

/** One site of the mask view (see LabSession.maskView). */
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

export interface SavedRunInfo {
  model: string;
  step: number;
  totalSteps: number;
  savedAt: number;
  metricsRows: number;
}

export type SavedLookup = { saved: SavedRunInfo } | { corrupt: string } | { none: true; unavailable?: string };

export interface LabApi {
  /** Creates the engine: the GpuEngine, or the CpuEngine when WebGPU is unavailable. Safe to call again (recreates a lost device). */
  init(): Promise<InitResult>;
  /** `listener` must be wrapped with Comlink.proxy(); it is called for every engine's device loss. */
  onLost(listener: (p: EngineProblem) => void): void;
  listSelfTests(): SelfTestCaseInfo[];
  /** `onResult`, when given, must be wrapped with Comlink.proxy(). */
  runSelfTest(seed: number, onResult?: (r: SelfTestResult, index: number) => void): Promise<SelfTestReport>;
  /** Destroys the GPU device to exercise the device-lost path; false on the CPU engine. */
  simulateDeviceLoss(): Promise<boolean>;

  // ---- the mask-learning session (one at a time) ----
  /** `listener` must be wrapped with Comlink.proxy(); it receives every session event. */
  setListener(listener: (e: WorkerEvent) => void): void;
  /** Load a model (bundled, fetched under assetBase, or `custom`), its data and baselines. */
  load(config: ExperimentConfig, assetBase: string, custom?: CustomModel): Promise<void>;
  /** Start or resume learning; resolves once the loop started. */
  run(): Promise<void>;
  /** Resolves once the loop stopped (after the current step). */
  pause(): Promise<void>;
  step(): Promise<void>;
  reset(): Promise<void>;
  exportMask(format: MaskFormat): Promise<Uint8Array>;
  maskView(site: number): Promise<MaskViewData>;
  setPriorFile(bytes: Uint8Array): void;
  snapshot(): LabStateSnapshot;
  metrics(): LabMetricsSnapshot;
  /** What IndexedDB holds (a corrupt entry is reported once and deleted). */
  savedRun(): Promise<SavedLookup>;
  /** Load the saved run's model and configuration and restore its state, metrics and step. */
  resumeSaved(assetBase: string): Promise<void>;
  discardSaved(): Promise<void>;
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
