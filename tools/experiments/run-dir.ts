// Run directories on disk, without the GPU: what identifies a run (its configuration plus, for a
// prior file, which run and which bytes), whether an existing directory can be reused, and reading
// one back for the report.
//
// A run directory holds config.json (the ExperimentConfig plus `adapter`, and `priorFrom` /
// `priorSha256` for a prior file), metrics.jsonl, evaluations.jsonl, summary.json ({ rows, seconds,
// adapter }: the shape the first version of the tool wrote, kept so its runs are reused),
// mask.safetensors, and from this version on model.json (the session's ModelSummary), files.json
// (exported byte sizes) and mask.packed when asked for. summary.json is written last: a run that
// died half-way has none and is never reused.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentConfig } from '../../src/lab/config';
import type { EvaluationEvent, ModelSummary, ResultRow } from '../../src/lab/session';
import type { StepMetrics } from '../../src/sparsity/learner';
import type { FileSizes, RunDef, RunRecord, RunStore } from './types';

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The values a stored config.json must hold for the directory to count as this run. */
export function runIdentity(def: RunDef, priorBytes?: Uint8Array): Record<string, unknown> {
  const id: Record<string, unknown> = { ...def.config };
  if (def.priorFrom) {
    if (!priorBytes) throw new Error(`${def.name}: the prior file from ${def.priorFrom} is needed to identify the run`);
    id.priorFrom = def.priorFrom;
    id.priorSha256 = sha256(priorBytes);
  }
  return id;
}

/** Keys of `wanted` whose stored value differs (extra stored keys such as `adapter` do not count). */
export function configDiffs(stored: Record<string, unknown>, wanted: Record<string, unknown>): string[] {
  return Object.keys(wanted).filter((k) => JSON.stringify(stored[k]) !== JSON.stringify(wanted[k]));
}

/** Files a reusable directory must have, given the extra exports asked for. */
export function requiredFiles(def: RunDef): string[] {
  const files = ['config.json', 'summary.json', 'mask.safetensors', 'evaluations.jsonl', 'metrics.jsonl'];
  if (def.exports?.includes('packed')) files.push('mask.packed');
  if (def.exports?.length) files.push('files.json');
  return files;
}

/** Whether `dir` already holds this run: same identity, every file there, the state size recorded. */
export function reuseCheck(dir: string, def: RunDef, identity: Record<string, unknown>): { reuse: boolean; why: string } {
  if (!existsSync(join(dir, 'config.json'))) return { reuse: false, why: 'not run yet' };
  let stored: Record<string, unknown>;
  try {
    stored = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  } catch {
    return { reuse: false, why: 'config.json is unreadable' };
  }
  const diffs = configDiffs(stored, identity);
  if (diffs.length) return { reuse: false, why: `config differs in ${diffs.join(', ')}` };
  const missing = requiredFiles(def).filter((f) => !existsSync(join(dir, f)));
  if (missing.length) return { reuse: false, why: `missing ${missing.join(', ')}` };
  if (def.exports?.includes('state')) {
    const sizes = readJson<FileSizes>(join(dir, 'files.json'));
    if (!sizes || typeof sizes.state !== 'number') return { reuse: false, why: 'files.json lacks the state size' };
  }
  return { reuse: true, why: 'config matches' };
}

function readJson<T>(path: string): T | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return null;
  }
}

function readJsonl<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

/** Reads a finished run directory (null without summary.json or config.json). */
export function readRun(runsRoot: string, def: RunDef): RunRecord | null {
  const dir = join(runsRoot, def.name);
  const summary = readJson<{ rows: ResultRow[]; seconds: number; adapter: string }>(join(dir, 'summary.json'));
  const config = readJson<ExperimentConfig & Record<string, unknown>>(join(dir, 'config.json'));
  if (!summary || !config || !Array.isArray(summary.rows)) return null;
  // the prior's hash is checked when running; for the report, the configuration is what matters
  const wanted: Record<string, unknown> = { ...def.config, ...(def.priorFrom ? { priorFrom: def.priorFrom } : {}) };
  let metrics: StepMetrics[] | null = null;
  return {
    name: def.name,
    dir,
    config,
    rows: summary.rows,
    seconds: summary.seconds,
    adapter: summary.adapter,
    evaluations: readJsonl<EvaluationEvent>(join(dir, 'evaluations.jsonl')),
    model: readJson<ModelSummary>(join(dir, 'model.json')),
    files: readJson<FileSizes>(join(dir, 'files.json')) ?? {},
    differs: configDiffs(config, wanted),
    metrics: () => (metrics ??= readJsonl<StepMetrics>(join(dir, 'metrics.jsonl'))),
  };
}

/** A RunStore over a runs root that remembers every run the report looked at (for the runtime line). */
export class DirStore implements RunStore {
  readonly seen = new Map<string, RunRecord | null>();
  readonly defs = new Map<string, RunDef>();
  constructor(readonly runsRoot: string) {}

  get(def: RunDef): RunRecord | null {
    if (!this.seen.has(def.name)) {
      this.seen.set(def.name, readRun(this.runsRoot, def));
      this.defs.set(def.name, def);
    }
    return this.seen.get(def.name)!;
  }
}
