// The run record: what a finished lab run leaves in its run directory, for `npm run learn`,
// `npm run regress` (its runs under <out>/runs/) and `npm run experiments` (results/). Pure: the
// schema, encoding and validation; reading and writing directories is tools/lib/run-dir.ts.
//
// A run directory holds
//   config.json        RunConfigFile: the ExperimentConfig and where the run came from
//   metrics.jsonl      one StepMetrics row per learning step
//   evaluations.jsonl  one EvaluationEvent per hard-mask evaluation
//   model.json         the session's ModelSummary (when the model loaded)
//   files.json         byte sizes of the exported mask files (FileSizes)
//   mask.safetensors, mask.packed, state.bin   the exported mask files (which ones: the tool's choice)
//   summary.json       RunSummaryFile, written last: a directory without it is unfinished
//
// Versions: the files written now carry `version: 1`. Directories written before the record existed
// (committed in results/) have no version and one of two older shapes; they are read as they are
// (upgradeConfig / upgradeSummary recognise them), never rewritten:
//   experiments, v0: config.json = { ...ExperimentConfig, adapter, priorFrom?, priorSha256? }
//                    summary.json = { rows, seconds, adapter }
//   learn, v0:       config.json = { config, seed, adapter, engine, versions, model, priorFile }
//                    summary.json = { model, method, pattern, prior, steps, table, wallSeconds, adapter }
import type { ExperimentConfig } from './config';
import type { EvaluationEvent, GpuMemoryUse, ModelSummary, ResultRow } from './session';
import type { StepMetrics } from '../sparsity/learner';
import type { EngineKind } from './names';

export const RUN_RECORD_VERSION = 1;

/** File names inside a run directory. */
export const RUN_FILES = {
  config: 'config.json',
  summary: 'summary.json',
  metrics: 'metrics.jsonl',
  evaluations: 'evaluations.jsonl',
  model: 'model.json',
  sizes: 'files.json',
} as const;

/** Exported mask files by format (the names the page's downloads use too). */
export const MASK_FILE_NAMES = { safetensors: 'mask.safetensors', packed: 'mask.packed', state: 'state.bin' } as const;
export type MaskFileFormat = keyof typeof MASK_FILE_NAMES;

export type RunTool = 'learn' | 'regress' | 'experiments';

/** Where a model given as a directory (or a bundled name) came from (learn). */
export type ModelSource = { source: 'directory'; path: string } | { source: 'bundled'; name: string; publicDir: string };

/** config.json */
export interface RunConfigFile {
  version: number;
  /** the tool that wrote it ('unknown' for a v0 directory of unclear origin) */
  tool: RunTool | 'unknown';
  config: ExperimentConfig;
  /** config.seed, repeated at the top for a reader who looks for it */
  seed: number;
  adapter: string;
  engine?: EngineKind;
  /** lab, git, node, vite, chromium (headless runs) */
  versions?: Record<string, string | null>;
  model?: ModelSource;
  /** path of the prior mask file given on the command line (learn) */
  priorFile?: string | null;
  /** the run whose mask.safetensors was the prior, and the SHA-256 of its bytes (experiments) */
  priorFrom?: string;
  priorSha256?: string;
}

/** The model as summary.json describes it: the ModelSummary with the number of mask sites. */
export type ModelBrief = Omit<ModelSummary, 'sites'> & { sites: number };

/** summary.json */
export interface RunSummaryFile {
  version: number;
  /** the evaluation table: dense, the one-shot baselines and the method's row */
  table: ResultRow[];
  /** seconds from start to finish of the run */
  wallSeconds: number;
  adapter: string;
  model: ModelBrief | null;
  method: string;
  /** 'n:m' */
  pattern: string;
  prior: string | null;
  steps: number;
  /** GPU runs: the memory plan's total and the buffer pool's peak (absent in older records and CPU runs) */
  gpuMemory?: GpuMemoryUse;
}

/** files.json: byte sizes of the exported mask files (state: its size only, when the file is not kept). */
export type FileSizes = Partial<Record<MaskFileFormat, number>>;

export class RunRecordError extends Error {}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(where: string, what: string): never {
  throw new RunRecordError(`${where}: ${what}`);
}

function checkVersion(j: Json, where: string): number {
  if (j.version === undefined) return 0;
  if (!Number.isInteger(j.version) || (j.version as number) < 1) fail(where, `"version" must be a positive integer (got ${JSON.stringify(j.version)})`);
  if ((j.version as number) > RUN_RECORD_VERSION)
    fail(where, `written by a newer lab (record version ${j.version as number}; this one reads up to ${RUN_RECORD_VERSION})`);
  return j.version as number;
}

function checkExperimentConfig(c: unknown, where: string): ExperimentConfig {
  if (!isObject(c)) fail(where, '"config" must be an object (the experiment configuration)');
  for (const k of ['model', 'method'] as const) if (typeof c[k] !== 'string') fail(where, `config.${k} must be a string (got ${JSON.stringify(c[k])})`);
  for (const k of ['n', 'm', 'seed', 'steps'] as const) if (typeof c[k] !== 'number') fail(where, `config.${k} must be a number (got ${JSON.stringify(c[k])})`);
  return c as unknown as ExperimentConfig;
}

const PROVENANCE = ['adapter', 'priorFrom', 'priorSha256'];

/** A config.json of any version → the current shape; a malformed one throws RunRecordError naming the field. */
export function upgradeConfig(json: unknown, where: string = RUN_FILES.config): RunConfigFile {
  if (!isObject(json)) fail(where, 'not a JSON object');
  const version = checkVersion(json, where);
  let out: Json;
  if (version === 0 && !isObject(json.config)) {
    // experiments v0: the configuration flat, provenance beside it
    const config: Json = {};
    for (const [k, v] of Object.entries(json)) if (!PROVENANCE.includes(k)) config[k] = v;
    out = { tool: 'experiments', config, seed: config.seed, adapter: json.adapter, priorFrom: json.priorFrom, priorSha256: json.priorSha256 };
  } else {
    out = { ...json, tool: version === 0 ? 'learn' : json.tool };
  }
  const config = checkExperimentConfig(out.config, where);
  // records written before `context` existed ran every GPT window at the model's n_positions
  if (config.context === undefined) config.context = 0;
  // … and before `memoryBudget`, under the 4 GiB budget that was then fixed
  if (config.memoryBudget === undefined) config.memoryBudget = 4;
  // … and before `kernels`, with the built-in kernel picks
  if (config.kernels === undefined) config.kernels = 'built-in';
  // … and before `weightStorage`, with f32 weights
  if (config.weightStorage === undefined) config.weightStorage = 'f32';
  if (typeof out.adapter !== 'string') fail(where, `"adapter" must be a string (got ${JSON.stringify(out.adapter)})`);
  if (!['learn', 'regress', 'experiments'].includes(out.tool as string))
    fail(where, `"tool" must be learn, regress or experiments (got ${JSON.stringify(out.tool)})`);
  for (const k of ['priorFrom', 'priorSha256'] as const) if (out[k] !== undefined && typeof out[k] !== 'string') fail(where, `"${k}" must be a string`);
  const file: RunConfigFile = { ...(out as unknown as RunConfigFile), version, config, seed: typeof out.seed === 'number' ? out.seed : config.seed };
  for (const k of ['priorFrom', 'priorSha256'] as const) if (file[k] === undefined) delete file[k];
  return file;
}

/** A summary.json of any version → the current shape (v0 experiments summaries lack the description: it comes from `config`). */
export function upgradeSummary(json: unknown, config: RunConfigFile | null, where: string = RUN_FILES.summary): RunSummaryFile {
  if (!isObject(json)) fail(where, 'not a JSON object');
  const version = checkVersion(json, where);
  const table = version === 0 && json.table === undefined ? json.rows : json.table;
  if (!Array.isArray(table) || !table.every((r) => isObject(r) && typeof r.key === 'string' && isObject(r.metrics))) {
    fail(where, `"${version === 0 && json.table === undefined ? 'rows' : 'table'}" must be an array of result rows ({ key, label, metrics, bitsPerWeight })`);
  }
  const wallSeconds = version === 0 && json.wallSeconds === undefined ? json.seconds : json.wallSeconds;
  if (typeof wallSeconds !== 'number' || !(wallSeconds >= 0))
    fail(where, `"wallSeconds" must be a non-negative number of seconds (got ${JSON.stringify(wallSeconds)})`);
  const adapter = json.adapter ?? config?.adapter;
  if (typeof adapter !== 'string') fail(where, `"adapter" must be a string (got ${JSON.stringify(adapter)})`);
  const described = config ? describeRun(config.config, null) : null;
  return {
    version,
    table: table as ResultRow[],
    wallSeconds,
    adapter,
    model: isObject(json.model) ? (json.model as unknown as ModelBrief) : null,
    method: typeof json.method === 'string' ? json.method : (described?.method ?? ''),
    pattern: typeof json.pattern === 'string' ? json.pattern : (described?.pattern ?? ''),
    prior: typeof json.prior === 'string' || json.prior === null ? (json.prior as string | null) : (described?.prior ?? null),
    steps: typeof json.steps === 'number' ? json.steps : (described?.steps ?? 0),
    ...(isObject(json.gpuMemory) && typeof json.gpuMemory.plannedBytes === 'number' && typeof json.gpuMemory.peakBytes === 'number'
      ? { gpuMemory: { plannedBytes: json.gpuMemory.plannedBytes, peakBytes: json.gpuMemory.peakBytes } }
      : {}),
  };
}

/** The descriptive fields of summary.json for a run of `c`. */
export function describeRun(c: ExperimentConfig, model: ModelSummary | null): Pick<RunSummaryFile, 'model' | 'method' | 'pattern' | 'prior' | 'steps'> {
  return {
    model: model ? { ...model, sites: model.sites.length } : null,
    method: c.method,
    pattern: `${c.n}:${c.m}`,
    prior: c.method === 'maskllm' ? c.prior : null,
    steps: c.method === 'maskllm' ? c.steps : 0,
  };
}

/** The config.json of a new run. */
export function runConfigFile(
  tool: RunTool,
  config: ExperimentConfig,
  adapter: string,
  extra: Omit<Partial<RunConfigFile>, 'version' | 'tool' | 'config' | 'seed' | 'adapter'> = {},
): RunConfigFile {
  return { version: RUN_RECORD_VERSION, tool, config: { ...config }, seed: config.seed, adapter, ...extra };
}

/** The summary.json of a finished run. */
export function runSummaryFile(
  config: ExperimentConfig,
  table: ResultRow[],
  wallSeconds: number,
  adapter: string,
  model: ModelSummary | null,
  gpuMemory?: GpuMemoryUse | null,
): RunSummaryFile {
  return { version: RUN_RECORD_VERSION, table, wallSeconds, adapter, ...describeRun(config, model), ...(gpuMemory ? { gpuMemory } : {}) };
}

/** JSON files of the record: two-space indentation and a final newline. */
export const encodeJson = (v: unknown): string => JSON.stringify(v, null, 2) + '\n';

/** One JSON value per line, a newline after each (an empty list is an empty file). */
export const encodeJsonl = (rows: readonly unknown[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');

/** Parses a .jsonl file; a bad line throws naming the file and line. */
export function decodeJsonl<T>(text: string, where: string): T[] {
  const out: T[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as T);
    } catch (e) {
      fail(`${where} line ${i + 1}`, `not JSON (${(e as Error).message})`);
    }
  });
  return out;
}

/** Parses a JSON file's text, naming the file when it is not JSON. */
export function decodeJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    return fail(where, `not valid JSON (${(e as Error).message})`);
  }
}

/** metrics.jsonl rows, each checked to be a step row. */
export function decodeMetrics(text: string, where: string = RUN_FILES.metrics): StepMetrics[] {
  const rows = decodeJsonl<StepMetrics>(text, where);
  rows.forEach((r, i) => {
    if (!isObject(r) || !Number.isInteger(r.step) || !Array.isArray(r.sites))
      fail(`${where} row ${i + 1}`, 'a step row needs an integer "step" and a "sites" array');
  });
  return rows;
}

/** evaluations.jsonl events, each checked to have a step and metrics. */
export function decodeEvaluations(text: string, where: string = RUN_FILES.evaluations): EvaluationEvent[] {
  const rows = decodeJsonl<EvaluationEvent>(text, where);
  rows.forEach((r, i) => {
    if (!isObject(r) || !Number.isInteger(r.step) || !isObject(r.metrics))
      fail(`${where} row ${i + 1}`, 'an evaluation needs an integer "step" and a "metrics" object');
  });
  return rows;
}
