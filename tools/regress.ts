// npm run regress [-- --update-baseline] [--quick]
// A fixed matrix of short headless runs (bundled models × magnitude / Wanda / SparseGPT / MaskLLM ×
// 2 seeds), compared with regress/baseline.json using the tolerances stored there (docs/REGRESS.md).
// Writes regress/report.json and regress/report.html (tables + charts inline); exits 1 naming the
// cell and metric of a regression, 2 on bad options.
//
// One MaskLLM session per (model, seed) yields every method's cell: the session computes all the
// one-shot baselines on the same calibration batches before learning, exactly as a one-shot run
// would (same seed → same calibration data), so running them separately would only repeat work.
// Determinism: the first (model, seed) run is repeated and must be bit-identical (metrics, evaluation
// table and the exported mask).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_CONFIG, type ExperimentConfig, type Method } from '../src/lab/config';
import type { ResultRow } from '../src/lab/session';
import { parseArgs, runMain, UsageError, type OptionSpec, helpText } from './lib/args';
import { HeadlessDriver, REPO_ROOT, type RunResult, type Versions } from './lib/headless-driver';
import {
  compareWithBaseline, DEFAULT_TOLERANCES, firstDifference, parseBaseline,
  type Baseline, type Cell, type Comparison, type Determinism, type RegressResults,
} from './lib/regress-compare';
import { describeMetrics, progressPrinter } from './learn';

type Schedule = Pick<ExperimentConfig, 'steps' | 'evalEvery' | 'batch' | 'calibBatches' | 'evalWindows' | 'samplesPerStep'>;

export const MATRIX = {
  models: ['tiny-gpt', 'tiny-vit'],
  methods: ['magnitude', 'wanda', 'sparsegpt', 'maskllm'] as Method[],
  seeds: [1, 2],
  schedule: { steps: 12, evalEvery: 6, batch: 8, calibBatches: 4, evalWindows: 16, samplesPerStep: 1 } as Schedule,
};
export const QUICK = {
  methods: ['magnitude', 'maskllm'] as Method[],
  seeds: [1],
  schedule: { steps: 3, evalEvery: 3, batch: 2, calibBatches: 2, evalWindows: 4, samplesPerStep: 1 } as Schedule,
};

const SPECS: OptionSpec[] = [
  { name: 'quick', type: 'flag', help: 'A small slice: one model, magnitude + MaskLLM, seed 1, 3 steps (runs inside npm test).' },
  { name: 'update-baseline', type: 'flag', help: 'Record this run as the baseline (on purpose); cells not run are kept.' },
  { name: 'compare-only', type: 'flag', help: 'Compare the existing <out>/report.json with the baseline without running.' },
  { name: 'baseline', type: 'string', help: 'Baseline file.', default: 'regress/baseline.json' },
  { name: 'out', type: 'string', help: 'Where report.json and report.html go.', default: 'regress' },
  { name: 'models', type: 'string', help: 'Comma-separated models (default: tiny-gpt,tiny-vit; --quick: the first).' },
  { name: 'public-dir', type: 'string', help: 'Folder served as the asset root (checkpoints/, data/).', default: 'public' },
  { name: 'engine', type: 'string', choices: ['gpu', 'cpu'], help: 'WebGPU engine or the CPU engine.', default: 'gpu' },
  { name: 'no-charts', type: 'flag', help: 'Skip the charts in the HTML report.' },
  { name: 'help', type: 'flag', help: 'Show this help.' },
];

export interface RegressReport extends RegressResults {
  version: 1;
  date: string;
  quick: boolean;
  versions: Versions | null;
  wallSeconds: number;
  runs: { model: string; seed: number; wallSeconds: number; table: ResultRow[]; charts: Record<string, string> }[];
  comparison?: Comparison;
}

/** The metrics a cell is judged on (see the metric families in regress-compare.ts). */
export function cellMetrics(r: RunResult, method: Method): Record<string, number> {
  const row = r.metrics.table.find((x) => x.key === method);
  if (!row) throw new Error(`the run has no "${method}" row in its table`);
  const out: Record<string, number> = {};
  const m = row.metrics;
  if (m.en) out['ppl.en'] = m.en.ppl;
  if (m.code) out['ppl.code'] = m.code.ppl;
  if (m.val) out['accuracy.val'] = 100 * m.val.accuracy;
  if (m.test) out['accuracy.test'] = 100 * m.test.accuracy;
  if (method === 'maskllm') {
    const last = r.metrics.rows.at(-1);
    if (!last) throw new Error('the MaskLLM run recorded no step metrics');
    out['maskL1.final'] = last.meanMaskL1;
    out['maxProb.final'] = last.meanMaxProbClean;
    out['maxProb.noisyFinal'] = last.meanMaxProb;
  }
  return out;
}

export const cellId = (model: string, method: string, seed: number, quick: boolean) => `${model}/${method}/seed${seed}${quick ? '/quick' : ''}`;

function cellConfig(c: ExperimentConfig, method: Method): string {
  const { method: _m, ...rest } = c;
  void _m;
  // one-shot cells do not depend on the learning schedule
  if (method !== 'maskllm') return JSON.stringify({ model: rest.model, n: rest.n, m: rest.m, seed: rest.seed, calibBatches: rest.calibBatches, batch: rest.batch, evalWindows: rest.evalWindows });
  return JSON.stringify(rest);
}

async function runMatrix(driver: HeadlessDriver, models: string[], quick: boolean, charts: boolean): Promise<RegressReport> {
  const plan = quick ? QUICK : MATRIX;
  const t0 = performance.now();
  const report: RegressReport = {
    version: 1, date: new Date().toISOString(), quick, versions: driver.versions, adapter: '', cells: {}, determinism: null, wallSeconds: 0, runs: [],
  };
  const total = models.length * plan.seeds.length + 1;
  let k = 0;
  let first: RunResult | null = null;
  for (const model of models) {
    for (const seed of plan.seeds) {
      k++;
      console.log(`[${k}/${total}] ${model}, seed ${seed}: baselines + ${plan.schedule.steps} MaskLLM steps`);
      const config = { ...DEFAULT_CONFIG, ...plan.schedule, model, seed, method: 'maskllm' as const, prior: 'sparsegpt' as const };
      const r = await driver.run({ config: { ...config }, exports: ['safetensors'], charts, onEvent: progressPrinter() });
      report.adapter = r.adapter;
      for (const method of plan.methods) {
        report.cells[cellId(model, method, seed, quick)] = { config: cellConfig(r.config, method), metrics: cellMetrics(r, method) } satisfies Cell;
      }
      report.runs.push({ model, seed, wallSeconds: r.wallSeconds, table: r.metrics.table, charts: r.charts });
      if (!first) first = r;
    }
  }
  // determinism: the first run again, bit for bit
  k++;
  const f = first!;
  const id = cellId(f.config.model, 'maskllm', f.config.seed, quick);
  console.log(`[${k}/${total}] determinism: ${id} again`);
  const again = await driver.run({ config: { ...f.config }, exports: ['safetensors'], onEvent: progressPrinter() });
  const pick = (r: RunResult) => ({ rows: r.metrics.rows, evaluations: r.metrics.evaluations, table: r.metrics.table });
  let detail = firstDifference(pick(f), pick(again));
  if (!detail && Buffer.compare(Buffer.from(f.files.safetensors!), Buffer.from(again.files.safetensors!)) !== 0) detail = 'the exported masks differ';
  report.determinism = { cell: id, identical: detail === null, ...(detail ? { detail } : {}) } satisfies Determinism;
  report.wallSeconds = (performance.now() - t0) / 1000;
  return report;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export function reportHtml(r: RegressReport, baseline: Baseline | null): string {
  const failed = new Map<string, string>();
  for (const f of r.comparison?.failures ?? []) failed.set(`${f.cell}|${f.metric ?? ''}`, f.message);
  const rows = Object.entries(r.cells).map(([id, c]) => {
    const b = baseline?.cells[id];
    return Object.entries(c.metrics).map(([m, v]) => {
      const bad = failed.get(`${id}|${m}`) ?? failed.get(`${id}|`);
      const bv = b?.metrics[m];
      return `<tr class="${bad ? 'bad' : ''}"><td>${esc(id)}</td><td>${esc(m)}</td><td>${v.toPrecision(6)}</td><td>${bv === undefined ? '–' : bv.toPrecision(6)}</td><td>${bad ? esc(bad) : 'ok'}</td></tr>`;
    }).join('\n');
  }).join('\n');
  const status = r.comparison ? (r.comparison.ok ? '<p class="ok">PASS</p>' : `<p class="bad">FAIL: ${r.comparison.failures.length} finding(s)</p>`) : '<p>not compared</p>';
  const findings = [...(r.comparison?.failures ?? []), ...(r.comparison?.notes ?? [])].map((f) => `<li>${esc(`[${f.kind}] ${f.message}`)}</li>`).join('');
  const runs = r.runs.map((run) => {
    const table = run.table.map((row) => `<tr><td>${esc(row.label)}</td><td>${esc(describeMetrics(row.metrics))}</td></tr>`).join('');
    const imgs = Object.entries(run.charts).map(([k, url]) => `<figure><img alt="${esc(k)}" src="${url}" width="600"><figcaption>${esc(k)}</figcaption></figure>`).join('');
    return `<h2>${esc(run.model)}, seed ${run.seed} (${run.wallSeconds.toFixed(1)} s)</h2><table><tr><th>method</th><th>metrics</th></tr>${table}</table><div class="charts">${imgs}</div>`;
  }).join('\n');
  const det = r.determinism ? `${esc(r.determinism.cell)}: ${r.determinism.identical ? 'identical' : `DIFFERENT (${esc(r.determinism.detail ?? '')})`}` : 'not checked';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>MaskLLM lab regression report</title>
<style>body{font-family:system-ui,sans-serif;margin:1.5rem}table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}
.bad{color:#a00;font-weight:600}.ok{color:#070;font-weight:600}.charts{display:flex;flex-wrap:wrap;gap:.5rem}figure{margin:0}</style></head><body>
<h1>MaskLLM lab regression report${r.quick ? ' (quick)' : ''}</h1>${status}
<p>${esc(r.date)} · ${esc(r.adapter)} · ${r.wallSeconds.toFixed(0)} s · ${esc(JSON.stringify(r.versions))}</p>
<p>Determinism (same seed + config + adapter, run twice): ${det}</p>
<p>Tolerances: ${esc(JSON.stringify(baseline?.tolerances ?? DEFAULT_TOLERANCES))} (docs/REGRESS.md)</p>
<ul>${findings}</ul>
<table><tr><th>cell</th><th>metric</th><th>this run</th><th>baseline</th><th>status</th></tr>${rows}</table>
${runs}</body></html>
`;
}

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
  let models = opts.models ? String(opts.models).split(',').map((s) => s.trim()).filter(Boolean) : MATRIX.models;
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
      if (!existsSync(join(publicDir, 'checkpoints', m, 'model.safetensors'))) throw new UsageError(`model ${m}: ${join(publicDir, 'checkpoints', m, 'model.safetensors')} is missing`);
    }
    const driver = await HeadlessDriver.start({ publicDir, engine: opts.engine as 'gpu' | 'cpu' });
    try {
      report = await runMatrix(driver, models, quick, !opts['no-charts']);
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
    if (report.determinism && !report.determinism.identical) throw new Error(`refusing to record a baseline: ${report.determinism.cell} is not deterministic (${report.determinism.detail})`);
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
  console.log(`PASS: ${nCells} cells within tolerance, determinism ${report.determinism ? (report.determinism.identical ? 'ok' : 'FAILED') : 'not checked'} (report: ${join(out, 'report.html')})`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(REPO_ROOT, 'tools/regress.ts')) runMain(main);
