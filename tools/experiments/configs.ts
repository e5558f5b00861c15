// The configurations the sections share: the main table's (unchanged from the first version of the
// tool, so the run directories it wrote are reused) and the shorter ablation schedule on tiny-gpt
// whose "base" run (SparseGPT prior, 2:4, mixed data) is the reference of sections 2–8.
import { DEFAULT_CONFIG, sanitizeConfig, type ExperimentConfig } from '../../src/lab/config';
import type { ResultKey } from '../../src/lab/names';
import type { EvalMetrics, ResultRow } from '../../src/lab/session';
import type { Better } from './stats';
import type { PlanOptions, RunDef, RunRecord } from './types';

/** The defaults, then `partial` through sanitizeConfig (strict: a bad run definition is an error). */
const experimentConfig = (partial: Partial<ExperimentConfig>): ExperimentConfig => sanitizeConfig(partial, DEFAULT_CONFIG, { strict: true }).config;

/** Section 1: exactly the fields the first version used (quick: micro schedule). */
export function mainConfig(o: PlanOptions, model: string, seed: number): ExperimentConfig {
  const isVit = model === 'tiny-vit';
  return experimentConfig({
    preset: 'tunedSmall',
    model,
    method: 'maskllm',
    prior: 'sparsegpt',
    seed,
    steps: o.steps ?? (o.quick ? 3 : 200),
    batch: o.quick ? 2 : isVit ? 64 : 8,
    evalEvery: o.quick ? 3 : 50,
    calibBatches: o.quick ? 1 : 8,
    evalWindows: o.quick ? 4 : 0,
  });
}

export const ABLATION_MODEL = 'tiny-gpt';

/**
 * Sections 2–8: tiny-gpt, 100 steps of 4 × 128 bytes (a fifth of the main table's data), an
 * evaluation every 10 steps on the first 16 validation windows per domain, one-shot masks calibrated
 * on 4 batches. Quick: 4 steps of one sequence, 2 windows.
 */
export function ablationConfig(o: PlanOptions, seed: number, over: Partial<ExperimentConfig> = {}): ExperimentConfig {
  return experimentConfig({
    preset: 'tunedSmall',
    model: ABLATION_MODEL,
    method: 'maskllm',
    prior: 'sparsegpt',
    seed,
    steps: o.steps ?? (o.quick ? 4 : 100),
    batch: o.quick ? 1 : 4,
    evalEvery: o.quick ? 2 : 10,
    calibBatches: o.quick ? 1 : 4,
    evalWindows: o.quick ? 2 : 16,
    trainDomain: 'mixed',
    ...over,
  });
}

/** The shared reference run: SparseGPT prior, 2:4, mixed data; exports every mask format (section 8). */
export function baseRun(o: PlanOptions, seed: number): RunDef {
  return { name: `base/${ABLATION_MODEL}-seed${seed}`, config: ablationConfig(o, seed), exports: ['packed', 'state'] };
}

/** The headline metric of a model: English validation perplexity (GPT), test accuracy in % (ViT). */
export function metricOf(m: EvalMetrics | undefined, model: string): number {
  if (!m) return Number.NaN;
  if (model === 'tiny-vit') return 100 * (m.test?.accuracy ?? m.val?.accuracy ?? Number.NaN);
  return m.en?.ppl ?? Number.NaN;
}

export const betterOf = (model: string): Better => (model === 'tiny-vit' ? 'higher' : 'lower');

/** A row's metric by key (RESULT_KEYS). */
export function rowMetric(r: RunRecord | null, key: ResultKey, pick: (m: EvalMetrics) => number | undefined): number {
  const row: ResultRow | undefined = r?.rows.find((x) => x.key === key);
  const v = row ? pick(row.metrics) : undefined;
  return v ?? Number.NaN;
}

export const enPpl = (m: EvalMetrics) => m.en?.ppl;
export const codePpl = (m: EvalMetrics) => m.code?.ppl;

/** "`results/x` (3.2 min)" for each run found, "`x` (not run)" for the others. */
export function runList(runsOf: { def: RunDef; rec: RunRecord | null }[]): string {
  return runsOf
    .map(({ def, rec }) =>
      rec
        ? `\`${rec.dir}\` (${(rec.seconds / 60).toFixed(1)} min${rec.differs.length ? `; differs from the current definition in ${rec.differs.join(', ')}` : ''})`
        : `\`${def.name}\` (not run)`,
    )
    .join(', ');
}

/** A one-line summary of a config for the report. */
/** How a cell aggregates seeds, as a sentence: "Mean over seeds 1, 2 (min–max)." */
export const seedNote = (seeds: readonly number[]): string =>
  seeds.length === 1 ? `Seed ${seeds[0]} only (one seed: no spread).` : `Mean over seeds ${seeds.join(', ')} (min–max).`;

/** 1e-5 rather than 0.00001 */
export const num = (x: number): string => (x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential().replace('e-', 'e−') : String(x));

export function describeSchedule(c: ExperimentConfig): string {
  const isVit = c.model === 'tiny-vit';
  return `${c.steps} steps of batch ${c.batch}${isVit ? ' images' : ' × 128 bytes'}, ${c.n}:${c.m}, κ ${c.kappaStart} → ${c.kappaEnd}, τ ${c.tauStart} → ${c.tauEnd}, lr ${num(c.lr)} → ${num(c.lrMin)}, λ ${num(c.lambda)}${c.lambdaDecay ? ' decaying' : ''}, one-shot calibration ${c.calibBatches} batch${c.calibBatches === 1 ? '' : 'es'}, hard-mask evaluation every ${c.evalEvery} steps${isVit ? '' : ` on ${c.evalWindows || 'all'} validation windows (128 bytes) per domain`}`;
}
