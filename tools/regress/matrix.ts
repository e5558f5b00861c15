// The regression matrix (npm run regress): one headless MaskLLM session per (model, seed) yields
// every method's cell, the first run repeated for the determinism check, and each run's record.
import { join } from 'node:path';
import { DEFAULT_CONFIG, sanitizeConfig, type ExperimentConfig, type Method } from '../../src/lab/config';
import type { ResultRow } from '../../src/lab/session';
import type { HeadlessDriver, RunResult, Versions } from '../lib/headless-driver';
import { writeHeadlessRun } from '../lib/headless-record';
import { progressPrinter } from '../lib/progress';
import { firstDifference, type Cell, type Comparison, type Determinism, type RegressResults } from './compare';

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

export interface RegressReport extends RegressResults {
  version: 1;
  date: string;
  quick: boolean;
  versions: Versions | null;
  wallSeconds: number;
  runs: { model: string; seed: number; wallSeconds: number; table: ResultRow[]; charts: Record<string, string> }[];
  comparison?: Comparison;
}

/** The metrics a cell is judged on (see the metric families in compare.ts). */
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
  if (method !== 'maskllm')
    return JSON.stringify({
      model: rest.model,
      n: rest.n,
      m: rest.m,
      seed: rest.seed,
      calibBatches: rest.calibBatches,
      batch: rest.batch,
      evalWindows: rest.evalWindows,
    });
  return JSON.stringify(rest);
}

export async function runMatrix(driver: HeadlessDriver, models: string[], quick: boolean, charts: boolean, runsDir: string): Promise<RegressReport> {
  const plan = quick ? QUICK : MATRIX;
  const t0 = performance.now();
  const report: RegressReport = {
    version: 1,
    date: new Date().toISOString(),
    quick,
    versions: driver.versions,
    adapter: '',
    cells: {},
    determinism: null,
    wallSeconds: 0,
    runs: [],
  };
  const total = models.length * plan.seeds.length + 1;
  let k = 0;
  let first: RunResult | null = null;
  for (const model of models) {
    for (const seed of plan.seeds) {
      k++;
      console.log(`[${k}/${total}] ${model}, seed ${seed}: baselines + ${plan.schedule.steps} MaskLLM steps`);
      const config = sanitizeConfig({ ...plan.schedule, model, seed, method: 'maskllm', prior: 'sparsegpt' }, DEFAULT_CONFIG, { strict: true }).config;
      const r = await driver.run({ config: { ...config }, exports: ['safetensors'], charts, onEvent: progressPrinter() });
      report.adapter = r.adapter;
      for (const method of plan.methods) {
        report.cells[cellId(model, method, seed, quick)] = { config: cellConfig(r.config, method), metrics: cellMetrics(r, method) } satisfies Cell;
      }
      report.runs.push({ model, seed, wallSeconds: r.wallSeconds, table: r.metrics.table, charts: r.charts });
      writeHeadlessRun(join(runsDir, `${model}-seed${seed}`), 'regress', r, { versions: { ...driver.versions } });
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
