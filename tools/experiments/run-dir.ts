// What identifies an experiment run (its configuration plus, for a prior file, which run and which
// bytes), whether an existing run directory can be reused, and reading one back for the report.
// The directory itself is the lab's run record (src/lab/run-record.ts, tools/lib/run-record-fs.ts);
// the committed results/ directories predate it and are read in their first shape.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MASK_FILE_NAMES, RUN_FILES, RunRecordError, type RunConfigFile } from '../../src/lab/run-record';
import { readFileSizes, readRunConfig, readRunRecord } from '../lib/run-record-fs';
import type { RunDef, RunRecord, RunStore } from './types';

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

/** A stored config.json as one flat object: the configuration, the adapter and the prior's provenance. */
export function flatConfig(c: RunConfigFile): Record<string, unknown> & RunConfigFile['config'] {
  return {
    ...c.config,
    adapter: c.adapter,
    ...(c.priorFrom !== undefined ? { priorFrom: c.priorFrom } : {}),
    ...(c.priorSha256 !== undefined ? { priorSha256: c.priorSha256 } : {}),
  };
}

/** Keys of `wanted` whose stored value differs (extra stored keys such as `adapter` do not count). */
export function configDiffs(stored: Record<string, unknown>, wanted: Record<string, unknown>): string[] {
  return Object.keys(wanted).filter((k) => JSON.stringify(stored[k]) !== JSON.stringify(wanted[k]));
}

/** Files a reusable directory must have, given the extra exports asked for. */
export function requiredFiles(def: RunDef): string[] {
  const files: string[] = [RUN_FILES.config, RUN_FILES.summary, MASK_FILE_NAMES.safetensors, RUN_FILES.evaluations, RUN_FILES.metrics];
  if (def.exports?.includes('packed')) files.push(MASK_FILE_NAMES.packed);
  if (def.exports?.length) files.push(RUN_FILES.sizes);
  return files;
}

/** Whether `dir` already holds this run: same identity, every file there, the state size recorded. */
export function reuseCheck(dir: string, def: RunDef, identity: Record<string, unknown>): { reuse: boolean; why: string } {
  let stored: RunConfigFile | null;
  try {
    stored = readRunConfig(dir);
  } catch (e) {
    if (!(e instanceof RunRecordError)) throw e;
    return { reuse: false, why: `config.json is unreadable (${e.message})` };
  }
  if (!stored) return { reuse: false, why: 'not run yet' };
  const diffs = configDiffs(flatConfig(stored), identity);
  if (diffs.length) return { reuse: false, why: `config differs in ${diffs.join(', ')}` };
  const missing = requiredFiles(def).filter((f) => !existsSync(join(dir, f)));
  if (missing.length) return { reuse: false, why: `missing ${missing.join(', ')}` };
  if (def.exports?.includes('state')) {
    let state: unknown;
    try {
      state = readFileSizes(dir)?.state;
    } catch (e) {
      if (!(e instanceof RunRecordError)) throw e;
    }
    if (typeof state !== 'number') return { reuse: false, why: 'files.json lacks the state size' };
  }
  return { reuse: true, why: 'config matches' };
}

/** Reads a finished run directory (null without summary.json or config.json; a malformed record throws). */
export function readRun(runsRoot: string, def: RunDef): RunRecord | null {
  const rec = readRunRecord(join(runsRoot, def.name));
  if (!rec) return null;
  const config = flatConfig(rec.config);
  // the prior's hash is checked when running; for the report, the configuration is what matters
  const wanted: Record<string, unknown> = { ...def.config, ...(def.priorFrom ? { priorFrom: def.priorFrom } : {}) };
  return {
    name: def.name,
    dir: rec.dir,
    config,
    rows: rec.summary.table,
    seconds: rec.summary.wallSeconds,
    adapter: rec.summary.adapter,
    evaluations: rec.evaluations,
    model: rec.model,
    files: rec.sizes,
    differs: configDiffs(config, wanted),
    metrics: rec.metrics,
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
