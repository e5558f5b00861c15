// npm run learn -- --model tiny-gpt --method maskllm --prior sparsegpt --steps 300 --out DIR
// One lab run in headless Chromium (the same engine and session as the page), with progress on the
// terminal. Writes a run record into --out (src/lab/run-record.ts): config.json, metrics.jsonl,
// evaluations.jsonl, model.json, files.json, summary.json, mask.safetensors + mask.packed (every
// method), state.bin (MaskLLM) and the PNG charts (MaskLLM).
// Every ExperimentConfig field is an option (kebab-case of its name); --help lists them.
// A model directory and a prior mask file are checked here (sizes against USER_FILE_LIMITS, before
// anything is read) and streamed to the page from disk by the driver's file routes, never read
// whole into this process.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MaskFormat } from '../src/embed/types';
import { ConfigValueError, DEFAULT_CONFIG, FIELDS, sanitizeConfig, type ExperimentConfig, type FieldSpec } from '../src/lab/config';
import { checkUserFile, FileSizeError, USER_FILE_LIMITS, type UserFileKind } from '../src/lab/files';
import { describeKernelTuning } from '../src/lab/kernel-picks';
import { formatBytes } from '../src/lab/memory-plan';
import { INDEX_SUFFIX } from '../src/models/sharded';
import { parseArgs, runMain, UsageError, type OptionSpec } from './lib/args';
import { writeHeadlessRun } from './lib/headless-record';
import { describeMetrics, duration, progressPrinter } from './lib/progress';
import { ENGINE_OPTIONS, engineRequestFrom } from './lib/engine-options';
import type { EngineRequest } from '../src/lab/engine-choice';
// The driver (vite, playwright-core) is imported lazily in main(): --help and option errors stay fast.

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** One option per config field, then the tool's own. */
export const FIELD_OPTIONS: (OptionSpec & { field: FieldSpec })[] = FIELDS.map((f) => ({
  name: kebab(f.key),
  type: f.kind === 'bool' ? 'flag' : f.kind === 'int' ? 'int' : f.kind === 'number' ? 'number' : 'string',
  choices: f.kind === 'choice' ? [...f.choices!] : undefined,
  help:
    f.key === 'model'
      ? 'The frozen model: a bundled name (tiny-gpt, tiny-vit) or a directory holding model.safetensors (or model.safetensors.index.json and its shards) + config.json.'
      : f.help,
  field: f,
}));

const TOOL_OPTIONS: OptionSpec[] = [
  { name: 'out', type: 'string', help: 'Output directory (created if missing). Required.' },
  {
    name: 'prior-file',
    type: 'string',
    help: 'Mask file (mask.safetensors or mask.packed) of an earlier run, used as the prior (transfer); implies --prior file.',
  },
  { name: 'public-dir', type: 'string', help: 'Folder served as the asset root (checkpoints/, data/).', default: 'public' },
  ...ENGINE_OPTIONS,
  { name: 'no-charts', type: 'flag', help: 'Skip the PNG charts.' },
  { name: 'timeout-min', type: 'number', help: 'Give up after this many minutes.', default: 600 },
  { name: 'help', type: 'flag', help: 'Show this help.' },
];

const USAGE = 'usage: npm run learn -- --model <name|dir> --method <maskllm|magnitude|wanda|sparsegpt> [options] --out DIR';

function help(): string {
  const lines = [USAGE, '', 'Experiment options (defaults from the lab; --preset changes the hyper-parameter defaults):'];
  const row = (name: string, val: string, text: string) => {
    const head = `  --${name}${val}`;
    lines.push(head.length < 36 ? head.padEnd(36) + text : `${head}\n${' '.repeat(36)}${text}`);
  };
  for (const o of FIELD_OPTIONS) {
    const d = DEFAULT_CONFIG[o.field.key];
    const val = o.type === 'flag' ? '[=false]' : o.choices ? ` <${o.choices.join('|')}>` : ` <${o.type}>`;
    const range = o.field.min !== undefined ? ` [${o.field.min}..${o.field.max}]` : '';
    row(o.name, val, `${o.help}${range} (default ${d})`);
  }
  lines.push('', 'Run options:');
  for (const o of TOOL_OPTIONS)
    row(
      o.name,
      o.type === 'flag' ? '' : o.choices ? ` <${o.choices.join('|')}>` : ` <${o.type}>`,
      o.help + (o.default !== undefined ? ` (default ${o.default})` : ''),
    );
  return lines.join('\n');
}

export interface LearnPlan {
  config: ExperimentConfig;
  out: string;
  publicDir: string;
  engine: EngineRequest;
  charts: boolean;
  timeoutMs: number;
  /** A model directory: its weight files (paths: model.safetensors, or the shard index then its shards) and parsed config.json. */
  custom: { dir: string; files: string[]; config: unknown } | null;
  /** The path of the prior mask file. */
  priorFile: string | null;
}

const fileSize = (p: string): number | null => {
  try {
    const st = statSync(p);
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
};

/** checkUserFile as a UsageError naming the option. */
function checkSize(option: string, path: string, size: number, kind: UserFileKind): void {
  try {
    checkUserFile({ name: path, size }, kind);
  } catch (e) {
    if (e instanceof FileSizeError) throw new UsageError(`${option}: ${e.message}`);
    throw e;
  }
}

/** A small JSON file (config.json, the shard index), its size checked before it is read (USER_FILE_LIMITS.config / .index). */
function readJson(option: string, path: string, size: number): unknown {
  if (basename(path) === 'config.json') checkSize(option, path, size, 'config');
  else if (size > USER_FILE_LIMITS.index)
    throw new UsageError(`${option}: ${basename(path)} is ${size} bytes; a shard index is a few KiB (at most ${USER_FILE_LIMITS.index} bytes)`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`${option}: ${basename(path)} is not valid JSON (${(e as Error).message})`);
  }
}

/**
 * The files of a model directory: config.json and model.safetensors, or (when there is no
 * model.safetensors) model.safetensors.index.json and the shards its weight_map names. Sizes are
 * checked against USER_FILE_LIMITS (each shard and their sum against the checkpoint limit); no
 * weights are read.
 */
export function modelDirFiles(dir: string, option: string): { files: string[]; config: unknown } {
  const single = join(dir, 'model.safetensors');
  const index = join(dir, `model${INDEX_SUFFIX}`);
  const cj = join(dir, 'config.json');
  const cjSize = fileSize(cj);
  const singleSize = fileSize(single);
  const indexSize = fileSize(index);
  if (cjSize === null || (singleSize === null && indexSize === null))
    throw new UsageError(`${option}: the directory needs model.safetensors (or model.safetensors.index.json and its shards) and config.json`);
  const config = readJson(option, cj, cjSize);
  if (singleSize !== null) {
    checkSize(option, single, singleSize, 'safetensors');
    return { files: [single], config };
  }
  const idx = readJson(option, index, indexSize!) as { weight_map?: unknown };
  const map = idx?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map))
    throw new UsageError(`${option}: ${basename(index)} has no "weight_map" object (tensor name → shard file)`);
  const shards = [...new Set(Object.values(map as Record<string, unknown>))].sort();
  if (shards.length === 0) throw new UsageError(`${option}: ${basename(index)} names no shard files`);
  let total = 0;
  const files = [index];
  for (const s of shards) {
    if (typeof s !== 'string' || !/^[\w.-]+\.safetensors$/.test(s) || s.startsWith('.'))
      throw new UsageError(`${option}: ${basename(index)} names ${JSON.stringify(s)}, not a .safetensors file in the directory`);
    const p = join(dir, s);
    const size = fileSize(p);
    if (size === null) throw new UsageError(`${option}: ${basename(index)} names ${s}, which is missing`);
    checkSize(option, p, size, 'safetensors');
    total += size;
    files.push(p);
  }
  if (total > USER_FILE_LIMITS.safetensors)
    throw new UsageError(
      `${option}: the ${shards.length} shards hold ${total} bytes; the lab takes checkpoints of at most ${USER_FILE_LIMITS.safetensors} bytes (a browser tab cannot hold the weights and the learning state)`,
    );
  return { files, config };
}

/**
 * The experiment configuration of parsed options: the explicit field options through sanitizeConfig
 * (strict: the preset first, explicit fields on top, bounds and cross-field rules), with
 * `--prior-file` implying `--prior file`. Every problem is a one-line UsageError.
 */
export function configFromOptions(opts: Record<string, unknown>): ExperimentConfig {
  const explicit: Record<string, unknown> = {};
  for (const o of FIELD_OPTIONS) if (opts[o.name] !== undefined) explicit[o.field.key] = opts[o.name];
  if (opts['prior-file'] !== undefined) {
    if (explicit.prior !== undefined && explicit.prior !== 'file')
      throw new UsageError(`--prior-file needs --prior file (got --prior ${String(explicit.prior)})`);
    explicit.prior = 'file';
  } else if (explicit.prior === 'file') throw new UsageError('--prior file needs --prior-file FILE');
  try {
    return sanitizeConfig(explicit, DEFAULT_CONFIG, { strict: true }).config;
  } catch (e) {
    if (!(e instanceof ConfigValueError)) throw e;
    const option = FIELD_OPTIONS.find((o) => o.field.key === e.field);
    throw new UsageError(option ? `--${option.name}: ${e.message}` : e.message);
  }
}

/** Parses and checks everything before a browser starts; every problem is a one-line UsageError. */
export function planFromArgs(argv: string[]): LearnPlan | 'help' {
  const { opts, positional } = parseArgs(argv, [...FIELD_OPTIONS, ...TOOL_OPTIONS]);
  if (opts.help) return 'help';
  if (positional.length) throw new UsageError(`unexpected argument "${positional[0]}" (options start with --; see --help)`);
  const config = configFromOptions(opts);
  const priorPath = opts['prior-file'] as string | undefined;

  const outOpt = opts.out as string | undefined;
  if (!outOpt) throw new UsageError('--out DIR is required (where the run writes its files)');
  const publicDir = resolve(opts['public-dir'] as string);
  if (!existsSync(publicDir) || !statSync(publicDir).isDirectory()) throw new UsageError(`--public-dir ${publicDir} is not a directory`);

  let custom: LearnPlan['custom'] = null;
  const model = config.model;
  const asDir = resolve(model);
  if (existsSync(asDir) && statSync(asDir).isDirectory()) {
    custom = { dir: asDir, ...modelDirFiles(asDir, `--model ${model}`) };
    config.model = basename(asDir).slice(0, 200) || 'custom';
  } else if (!/^[a-z0-9][a-z0-9._-]*$/i.test(model)) {
    throw new UsageError(`--model ${model}: no such directory, and not a bundled model name`);
  } else if (!existsSync(join(publicDir, 'checkpoints', model, 'model.safetensors'))) {
    const bundled = model === 'tiny-gpt' || model === 'tiny-vit';
    throw new UsageError(
      bundled
        ? `--model ${model}: ${join(publicDir, 'checkpoints', model, 'model.safetensors')} is missing (train it first: npm run train -- ${model})`
        : `--model ${model}: not a bundled model (tiny-gpt, tiny-vit) in ${publicDir}/checkpoints and not a directory`,
    );
  }

  let priorFile: LearnPlan['priorFile'] = null;
  if (priorPath !== undefined) {
    const p = resolve(priorPath);
    const size = fileSize(p);
    if (size === null) throw new UsageError(`--prior-file ${priorPath}: no such file`);
    checkSize(`--prior-file ${priorPath}`, p, size, 'mask');
    priorFile = p;
  }
  const timeoutMin = opts['timeout-min'] as number;
  if (!(timeoutMin > 0)) throw new UsageError(`--timeout-min must be positive (got ${timeoutMin})`);
  return {
    config,
    out: resolve(outOpt),
    publicDir,
    engine: engineRequestFrom(opts),
    charts: !opts['no-charts'],
    timeoutMs: timeoutMin * 60_000,
    custom,
    priorFile,
  };
}

export function exportsFor(c: ExperimentConfig): MaskFormat[] {
  return c.method === 'maskllm' ? ['safetensors', 'packed', 'state'] : ['safetensors', 'packed'];
}

async function main(): Promise<void> {
  const plan = planFromArgs(process.argv.slice(2));
  if (plan === 'help') {
    console.log(help());
    return;
  }
  mkdirSync(plan.out, { recursive: true });
  const c = plan.config;
  console.log(`${c.method} on ${c.model}, ${c.n}:${c.m}${c.method === 'maskllm' ? `, prior ${c.prior}, ${c.steps} steps` : ''}, seed ${c.seed} → ${plan.out}`);
  const t0 = performance.now();
  const { HeadlessDriver } = await import('./lib/headless-driver');
  const driver = await HeadlessDriver.start({ publicDir: plan.publicDir, engine: plan.engine });
  try {
    const r = await driver.run({
      config: { ...c },
      customModel: plan.custom ? { files: plan.custom.files, config: plan.custom.config } : undefined,
      priorFile: plan.priorFile ?? undefined,
      exports: exportsFor(c),
      charts: plan.charts && c.method === 'maskllm',
      timeoutMs: plan.timeoutMs,
      onEvent: progressPrinter(),
    });
    const wallSeconds = (performance.now() - t0) / 1000;
    const files = writeHeadlessRun(
      plan.out,
      'learn',
      r,
      {
        versions: { ...driver.versions },
        model: plan.custom
          ? { source: 'directory', path: plan.custom.dir }
          : { source: 'bundled', name: c.model, publicDir: plan.publicDir === resolve(REPO_ROOT, 'public') ? 'public' : plan.publicDir },
        priorFile: plan.priorFile,
      },
      wallSeconds,
    );
    console.log('');
    for (const row of r.metrics.table) console.log(`  ${row.label.padEnd(40)} ${describeMetrics(row.metrics)}`);
    const mem = r.state.gpuMemory;
    if (mem) console.log(`\nGPU memory: peak ${formatBytes(mem.peakBytes)} in the lab's buffers (the plan: ${formatBytes(mem.plannedBytes)})`);
    const kt = r.state.kernelTuning;
    if (kt) console.log(`GPU kernels: ${describeKernelTuning(kt)}`);
    console.log(`\ndone in ${duration(wallSeconds)} on ${r.adapter}; wrote ${files.join(', ')}`);
  } finally {
    await driver.close();
  }
}

// Run only as a script (the tests import planFromArgs).
if (process.argv[1] && resolve(process.argv[1]) === resolve(REPO_ROOT, 'tools/learn.ts')) runMain(main);
