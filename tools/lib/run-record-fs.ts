// Run directories on disk: writes and reads the run record of src/lab/run-record.ts (the file list
// and versions are described there). One writer for learn, regress and experiments.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EvaluationEvent, ModelSummary } from '../../src/lab/session';
import {
  decodeEvaluations,
  decodeJson,
  decodeMetrics,
  encodeJson,
  encodeJsonl,
  MASK_FILE_NAMES,
  RUN_FILES,
  upgradeConfig,
  upgradeSummary,
  type FileSizes,
  type MaskFileFormat,
  type RunConfigFile,
  type RunSummaryFile,
} from '../../src/lab/run-record';
import type { StepMetrics } from '../../src/sparsity/learner';

export interface RunRecordFiles {
  config: RunConfigFile;
  summary: RunSummaryFile;
  metrics: StepMetrics[];
  evaluations: EvaluationEvent[];
  model: ModelSummary | null;
  /** mask files to write (a format absent here may still have its size in `sizes`) */
  masks: Partial<Record<MaskFileFormat, Uint8Array>>;
  /** byte sizes for files.json; the sizes of `masks` are added */
  sizes?: FileSizes;
  /** other files (e.g. the PNG charts), by name */
  extra?: Record<string, Uint8Array>;
}

/**
 * Writes a finished run into `dir` (created if missing) and returns the names written, summary.json
 * last. A summary.json left from an earlier run goes first, so a write that dies half-way never
 * leaves a directory that looks finished.
 */
export function writeRunRecord(dir: string, r: RunRecordFiles): string[] {
  mkdirSync(dir, { recursive: true });
  rmSync(join(dir, RUN_FILES.summary), { force: true });
  const written: string[] = [];
  const put = (name: string, data: string | Uint8Array) => {
    writeFileSync(join(dir, name), data);
    written.push(name);
  };
  put(RUN_FILES.config, encodeJson(r.config));
  put(RUN_FILES.metrics, encodeJsonl(r.metrics));
  put(RUN_FILES.evaluations, encodeJsonl(r.evaluations));
  if (r.model) put(RUN_FILES.model, encodeJson(r.model));
  const sizes: FileSizes = { ...r.sizes };
  for (const [f, bytes] of Object.entries(r.masks) as [MaskFileFormat, Uint8Array][]) {
    put(MASK_FILE_NAMES[f], bytes);
    sizes[f] = bytes.length;
  }
  put(RUN_FILES.sizes, encodeJson(sizes));
  for (const [name, bytes] of Object.entries(r.extra ?? {})) put(name, bytes);
  put(RUN_FILES.summary, encodeJson(r.summary));
  return written;
}

const text = (dir: string, name: string): string | null => {
  const p = join(dir, name);
  return existsSync(p) ? readFileSync(p, 'utf8') : null;
};

/** config.json of `dir` in the current shape, or null when there is none; a malformed one throws RunRecordError. */
export function readRunConfig(dir: string): RunConfigFile | null {
  const t = text(dir, RUN_FILES.config);
  const where = join(dir, RUN_FILES.config);
  return t === null ? null : upgradeConfig(decodeJson(t, where), where);
}

/** files.json of `dir` (null when there is none). */
export function readFileSizes(dir: string): FileSizes | null {
  const t = text(dir, RUN_FILES.sizes);
  return t === null ? null : (decodeJson(t, join(dir, RUN_FILES.sizes)) as FileSizes);
}

/** A run directory read back: summary.json and config.json at once, the step rows on first use. */
export interface RunRecordRead {
  dir: string;
  config: RunConfigFile;
  summary: RunSummaryFile;
  evaluations: EvaluationEvent[];
  model: ModelSummary | null;
  sizes: FileSizes;
  /** metrics.jsonl, parsed on first use (it is the large file) */
  metrics(): StepMetrics[];
}

/** Reads a finished run directory; null when it is unfinished (no summary.json or config.json). Malformed files throw RunRecordError. */
export function readRunRecord(dir: string): RunRecordRead | null {
  const config = readRunConfig(dir);
  const s = text(dir, RUN_FILES.summary);
  if (!config || s === null) return null;
  const summaryWhere = join(dir, RUN_FILES.summary);
  const summary = upgradeSummary(decodeJson(s, summaryWhere), config, summaryWhere);
  const json = <T>(name: string): T | null => {
    const t = text(dir, name);
    return t === null ? null : (decodeJson(t, join(dir, name)) as T);
  };
  let metrics: StepMetrics[] | null = null;
  return {
    dir,
    config,
    summary,
    evaluations: decodeEvaluations(text(dir, RUN_FILES.evaluations) ?? '', join(dir, RUN_FILES.evaluations)),
    model: json<ModelSummary>(RUN_FILES.model),
    sizes: readFileSizes(dir) ?? {},
    metrics: () => (metrics ??= decodeMetrics(text(dir, RUN_FILES.metrics) ?? '', join(dir, RUN_FILES.metrics))),
  };
}
