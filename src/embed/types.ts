// The control surface of a running lab, shared by everything that drives it from outside the UI:
// the postMessage host (src/embed/host.ts), the in-page automation hooks (window.lab, used by the
// headless CLI, regression runs and Playwright) and the page's own store. One implementation:
// LabRunner (src/lab/runner.ts), in the page's worker and in the headless entry alike.
import type { ExperimentConfig } from '../lab/config';
import type { EvaluationEvent, GpuMemoryUse, KernelTuning, ModelSummary, ResultRow, SessionEvent, SessionState } from '../lab/session';
import type { StepMetrics } from '../sparsity/learner';
import type { EngineKind, MaskFormat } from '../lab/names';

export interface LabStateSnapshot {
  state: SessionState;
  step: number;
  totalSteps: number;
  config: ExperimentConfig;
  model: ModelSummary | null;
  /** 'gpu' or 'cpu' (no WebGPU) */
  engine: EngineKind;
  message?: string;
  /** GPU engine, model loaded: the memory plan's total and the buffer pool's peak since the load */
  gpuMemory?: GpuMemoryUse | null;
  /** GPU engine, model loaded: what the `kernels` setting did (tuned picks per matmul shape class) */
  kernelTuning?: KernelTuning | null;
}

export interface LabMetricsSnapshot {
  rows: StepMetrics[];
  evaluations: EvaluationEvent[];
  table: ResultRow[];
}

export type { MaskFormat };

export interface LabControl {
  /** Validate and apply (part of) a configuration; invalid fields fall back with warnings. Loads the model if it changed. */
  setConfig(partial: Record<string, unknown>): Promise<{ config: ExperimentConfig; warnings: string[] }>;
  /** Start (or resume) learning; resolves once started, not when done. */
  run(): Promise<void>;
  pause(): Promise<void>;
  step(): Promise<void>;
  reset(): Promise<void>;
  getState(): Promise<LabStateSnapshot>;
  getMetrics(): Promise<LabMetricsSnapshot>;
  exportMask(format: MaskFormat): Promise<Uint8Array>;
  /** Session events as they happen; returns the unsubscribe function. */
  subscribe(listener: (e: SessionEvent) => void): () => void;
}
