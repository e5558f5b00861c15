// Shared shapes of `npm run experiments`: what a section asks to run (RunDef), what a finished run
// directory holds (RunRecord), and what a section hands to the report (SectionReport).
import type { ExperimentConfig } from '../../src/lab/config';
import type { EvaluationEvent, ModelSummary, ResultRow } from '../../src/lab/session';
import type { FileSizes } from '../../src/lab/run-record';
import type { StepMetrics } from '../../src/sparsity/learner';
import type { Trace } from '../../src/ui/charts/spec';

/** Mask files exported besides mask.safetensors (always written). */
export type ExtraExport = 'packed' | 'state';

/** One run: a configuration that goes into the run directory `<runs>/<name>/`. */
export interface RunDef {
  /** run directory relative to the runs root, e.g. 'main/tiny-gpt-seed1' */
  name: string;
  config: ExperimentConfig;
  /** prior 'file': the run whose mask.safetensors is the prior (it must be planned earlier) */
  priorFrom?: string;
  /** packed: written as mask.packed; state: exported, only its size recorded (it is large) */
  exports?: ExtraExport[];
}

/** What the options say about the whole invocation. */
export interface PlanOptions {
  quick: boolean;
  seeds: number[];
  /** models of the main table (sections 2–8 use tiny-gpt) */
  models: string[];
  /** MaskLLM steps for every run (overrides each section's default) */
  steps?: number;
}

/** Byte sizes of the exported mask files (files.json). */
export type { FileSizes } from '../../src/lab/run-record';

/** A finished run directory as read back for the report. */
export interface RunRecord {
  name: string;
  dir: string;
  /** config.json as stored (the experiment config plus adapter and prior provenance) */
  config: ExperimentConfig & Record<string, unknown>;
  rows: ResultRow[];
  seconds: number;
  adapter: string;
  evaluations: EvaluationEvent[];
  /** model.json (absent in run directories written before it existed) */
  model: ModelSummary | null;
  files: FileSizes;
  /** config keys whose stored value differs from the current definition (empty: it matches) */
  differs: string[];
  /** metrics.jsonl, parsed on first use */
  metrics(): StepMetrics[];
}

/** Looks run directories up for a section's report. */
export interface RunStore {
  /** the run directory of `def`, or null when it has not been run (yet) */
  get(def: RunDef): RunRecord | null;
}

/** One curve of a comparison chart (x by the lab's convention: src/ui/charts/spec.ts). */
export type ChartSeries = Trace;

/** A PNG line chart, drawn by the lab's own canvas renderer (src/ui/charts/draw-lines.ts). */
export interface ChartSpec {
  /** file name under the charts folder, e.g. 'kappa-mask-l1.png' */
  file: string;
  title: string;
  xTitle: string;
  yTitle: string;
  logY: boolean;
  integerX: boolean;
  series: ChartSeries[];
  refs: { name: string; y: number }[];
}

export interface SectionReport {
  /** markdown lines after the section heading */
  lines: string[];
  charts: ChartSpec[];
}

export interface Section {
  id: number;
  /** short name for --only */
  key: string;
  title: string;
  runs(o: PlanOptions): RunDef[];
  report(o: PlanOptions, store: RunStore, chartLink: (file: string) => string): SectionReport;
}
