// A headless run (tools/lib/headless-driver.ts) as a run record: learn writes one into --out,
// regress one per (model, seed) under <out>/runs/.
import { RunRecordError, runConfigFile, runSummaryFile, type RunConfigFile, type RunTool } from '../../src/lab/run-record';
import type { RunResult } from './headless-driver';
import { writeRunRecord } from './run-record-fs';

/** Writes `r` into `dir` (mask files as exported, PNG charts as <key>.png); returns the file names written. */
export function writeHeadlessRun(
  dir: string,
  tool: RunTool,
  r: RunResult,
  extra: Omit<Partial<RunConfigFile>, 'version' | 'tool' | 'config' | 'seed' | 'adapter'>,
  /** the run's time from the tool's start (browser start included); the driver's own by default */
  wallSeconds = r.wallSeconds,
): string[] {
  const charts: Record<string, Uint8Array> = {};
  for (const [k, url] of Object.entries(r.charts)) {
    const m = /^data:image\/png;base64,(.*)$/s.exec(url);
    if (!m) throw new RunRecordError(`chart ${k} is not a PNG data URL`);
    charts[`${k}.png`] = new Uint8Array(Buffer.from(m[1], 'base64'));
  }
  return writeRunRecord(dir, {
    config: runConfigFile(tool, r.config, r.adapter, { engine: r.state.engine, ...extra }),
    summary: runSummaryFile(r.config, r.metrics.table, wallSeconds, r.adapter, r.state.model, r.state.gpuMemory),
    metrics: r.metrics.rows,
    evaluations: r.metrics.evaluations,
    model: r.state.model,
    masks: r.files,
    extra: charts,
  });
}
