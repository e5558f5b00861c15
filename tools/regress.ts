// npm run regress [-- --update-baseline] [--quick]
// A fixed matrix of short headless runs (bundled models × magnitude / Wanda / SparseGPT / MaskLLM ×
// 2 seeds), compared with regress/baseline.json using the tolerances stored there (docs/REGRESS.md).
// Writes regress/report.json and regress/report.html (tables + charts inline) and each run's record
// (src/lab/run-record.ts) under regress/runs/<model>-seed<N>/; exits 1 naming the cell and metric of
// a regression, 2 on bad options.
//
// One MaskLLM session per (model, seed) yields every method's cell: the session computes all the
// one-shot baselines on the same calibration batches before learning, exactly as a one-shot run
// would (same seed → same calibration data), so running them separately would only repeat work.
// Determinism: the first (model, seed) run is repeated and must be bit-identical (metrics, evaluation
// table and the exported mask).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs, runMain, UsageError, type OptionSpec, helpText } from './lib/args';
import { HeadlessDriver, REPO_ROOT } from './lib/headless-driver';
import { compareWithBaseline, DEFAULT_TOLERANCES, parseBaseline, type Baseline } from './regress/compare';
import { MATRIX, runMatrix, type RegressReport } from './regress/matrix';
import { reportHtml } from './regress/report-html';
import { ENGINE_OPTIONS, engineRequestFrom } from './lib/engine-options';

const SPECS: OptionSpec[] = [
  { name: 'quick', type: 'flag', help: 'A small slice: one model, magnitude + MaskLLM, seed 1, 3 steps (runs inside npm test).' },
  { name: 'update-baseline', type: 'flag', help: 'Record this run as the baseline (on purpose); cells not run are kept.' },
  { name: 'compare-only', type: 'flag', help: 'Compare the existing <out>/report.json with the baseline without running.' },
  { name: 'baseline', type: 'string', help: 'Baseline file.', default: 'regress/baseline.json' },
  { name: 'out', type: 'string', help: 'Where report.json, report.html and the runs/ records go.', default: 'regress' },
  { name: 'models', type: 'string', help: 'Comma-separated models (default: tiny-gpt,tiny-vit; --quick: the first).' },
  { name: 'public-dir', type: 'string', help: 'Folder served as the asset root (checkpoints/, data/).', default: 'public' },
  // a baseline is compared like for like: regress/baseline.json was recorded on WebGPU
  ...ENGINE_OPTIONS.map((o) =>
    o.name === 'engine' ? { ...o, default: 'gpu', help: `${o.help} Default gpu: the engine regress/baseline.json was recorded on.` } : o,
  ),
  { name: 'no-charts', type: 'flag', help: 'Skip the charts in the HTML report.' },
  { name: 'help', type: 'flag', help: 'Show this help.' },
];

function readBaseline(path: string): Baseline | null {
  if (!existsSync(path)) return null;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`${path} is not valid JSON (${(e as Error).message})`);
  }
  return parseBaseline(json);
}

async function main(): Promise<void> {
  const { opts, positional } = parseArgs(process.argv.slice(2), SPECS);
  if (opts.help) {
    console.log(helpText('usage: npm run regress [-- --update-baseline] [--quick]', SPECS));
    return;
  }
  if (positional.length) throw new UsageError(`unexpected argument "${positional[0]}" (see --help)`);
  const quick = !!opts.quick;
  const update = !!opts['update-baseline'];
  const baselinePath = resolve(opts.baseline as string);
  const out = resolve(opts.out as string);
  const publicDir = resolve(opts['public-dir'] as string);
  let models = opts.models
    ? String(opts.models)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : MATRIX.models;
  if (quick) models = models.slice(0, 1);
  if (!models.length) throw new UsageError('--models needs at least one model name');
  if (update && opts['compare-only']) throw new UsageError('--update-baseline and --compare-only exclude each other');

  const baseline = readBaseline(baselinePath);
  if (!baseline && !update) throw new UsageError(`no baseline at ${baselinePath}: record one on purpose with --update-baseline`);

  let report: RegressReport;
  if (opts['compare-only']) {
    const p = join(out, 'report.json');
    if (!existsSync(p)) throw new UsageError(`--compare-only: ${p} does not exist (run without it first)`);
    report = JSON.parse(readFileSync(p, 'utf8')) as RegressReport;
  } else {
    for (const m of models) {
      if (!existsSync(join(publicDir, 'checkpoints', m, 'model.safetensors')))
        throw new UsageError(`model ${m}: ${join(publicDir, 'checkpoints', m, 'model.safetensors')} is missing`);
    }
    const driver = await HeadlessDriver.start({ publicDir, engine: engineRequestFrom(opts) });
    try {
      report = await runMatrix(driver, models, quick, !opts['no-charts'], join(out, 'runs'));
    } finally {
      await driver.close();
    }
  }
  mkdirSync(out, { recursive: true });

  if (update) {
    const next: Baseline = {
      version: 1,
      tolerances: baseline?.tolerances ?? { ...DEFAULT_TOLERANCES },
      adapter: report.adapter,
      note: 'Written by npm run regress -- --update-baseline; tolerances are documented in docs/REGRESS.md.',
      updated: report.date,
      versions: report.versions,
      cells: { ...(baseline?.cells ?? {}), ...report.cells },
    };
    if (report.determinism && !report.determinism.identical)
      throw new Error(`refusing to record a baseline: ${report.determinism.cell} is not deterministic (${report.determinism.detail})`);
    mkdirSync(resolve(baselinePath, '..'), { recursive: true });
    writeFileSync(baselinePath, JSON.stringify(next, null, 2) + '\n');
    writeFileSync(join(out, 'report.json'), JSON.stringify(report, null, 2) + '\n');
    writeFileSync(join(out, 'report.html'), reportHtml(report, next));
    console.log(`baseline updated: ${Object.keys(report.cells).length} cells → ${baselinePath}`);
    return;
  }

  report.comparison = compareWithBaseline(baseline!, report, { requireAll: !quick });
  writeFileSync(join(out, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  writeFileSync(join(out, 'report.html'), reportHtml(report, baseline));
  for (const n of report.comparison.notes) console.log(`note: ${n.message}`);
  for (const f of report.comparison.failures) console.log(`REGRESSION [${f.kind}] ${f.message}`);
  const nCells = Object.keys(report.cells).length;
  if (!report.comparison.ok) {
    const f = report.comparison.failures;
    throw new Error(`${f.length} regression(s) in ${nCells} cells, first: ${f[0].message} (report: ${join(out, 'report.html')})`);
  }
  console.log(
    `PASS: ${nCells} cells within tolerance, determinism ${report.determinism ? (report.determinism.identical ? 'ok' : 'FAILED') : 'not checked'} (report: ${join(out, 'report.html')})`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(REPO_ROOT, 'tools/regress.ts')) runMain(main);
