// The one description of a run's convergence charts: which charts, their titles and axes, which
// series each shows and where a point goes on the x axis. Pure. Drawn three ways: on the page by the
// canvas renderer (draw-lines.ts) while learning runs and by Plotly (plotly-figure.ts) otherwise,
// fed from ring buffers (src/state/live.ts); as PNG files by the headless page (src/headless/charts.ts,
// for learn and regress); the experiments' comparison charts use the same x convention.
//
// The x axis counts steps taken. A metrics row `{ step: k }` is measured during optimizer step k
// (0-based: the first step is row 0) and describes the model after that step, so it is drawn at
// x = k + 1 (stepX). An evaluation's `step` is already the number of steps taken when it ran (an
// evaluation every 10 steps is at 10, 20, …), so it is drawn at x = step (evaluationX). Both curves of
// a run then share one axis: the last row of a 100-step run and its final evaluation are both at 100.
import type { EvalMetrics, ModelSummary, ResultRow } from '../../lab/session';
import type { StepMetrics } from '../../sparsity/learner';
import { TEXT_DOMAINS, type TextDomainName } from '../../lab/names';

/** x of a metrics row: the steps taken once its step ran (row k → k + 1). */
export const stepX = (row: Pick<StepMetrics, 'step'>): number => row.step + 1;
/** x of an evaluation: its step is the number of steps taken. */
export const evaluationX = (ev: { step: number }): number => ev.step;

/** Validation sets: per domain for a GPT (perplexity), 'val' for a ViT (accuracy). */
export type EvalKey = TextDomainName | 'val';
export const evalKeys = (kind: ModelSummary['kind']): EvalKey[] => (kind === 'vit' ? ['val'] : [...TEXT_DOMAINS]);

/** The plotted value of an evaluation: perplexity, or accuracy in percent. */
export function evalValue(m: EvalMetrics, key: EvalKey): number | undefined {
  if (key === 'val') return m.val ? 100 * m.val.accuracy : undefined;
  return m[key]?.ppl;
}

/** Dense and one-shot baselines of the results table as horizontal reference lines (finite ones). */
export function baselineRefs(table: readonly ResultRow[], key: EvalKey): { name: string; y: number }[] {
  return table.flatMap((r) => {
    const y = r.key === 'maskllm' ? undefined : evalValue(r.metrics, key);
    return y === undefined || !Number.isFinite(y) ? [] : [{ name: r.label, y }];
  });
}

export interface LayerGroup {
  label: string;
  /** indices into the model's mask sites */
  sites: number[];
}

/** Sites grouped by transformer block ("layer 0", …) from the number in their name. */
export function groupByLayer(names: string[]): LayerGroup[] {
  const groups = new Map<string, number[]>();
  names.forEach((n, i) => {
    const m = /\.(\d+)\./.exec(n);
    const label = m ? `layer ${m[1]}` : 'other';
    groups.set(label, [...(groups.get(label) ?? []), i]);
  });
  return [...groups].map(([label, sites]) => ({ label, sites }));
}

/** The mean of a per-site metric over a layer's sites present in the row (undefined: none present). */
export function layerMean(row: StepMetrics, group: LayerGroup, field: 'maskL1' | 'maxProb'): number | undefined {
  const ok = group.sites.filter((s) => row.sites[s]);
  return ok.length ? ok.reduce((a, s) => a + row.sites[s][field], 0) / ok.length : undefined;
}

/** Series drawn from the metrics rows: name and value of a row. */
export interface RowSeries {
  name: string;
  y: (row: StepMetrics) => number;
}

export const MEAN_OVER_LAYERS = 'mean over layers';
export const HARD_MASK_SERIES = 'MaskLLM (hard mask)';

export const ROW_SERIES = {
  loss: { name: 'loss', y: (r) => r.loss },
  kappa: { name: 'κ', y: (r) => r.kappa },
  tau: { name: 'τ', y: (r) => r.tau },
  meanMaskL1: { name: MEAN_OVER_LAYERS, y: (r) => r.meanMaskL1 },
  meanMaxProb: { name: MEAN_OVER_LAYERS, y: (r) => r.meanMaxProb },
} satisfies Record<string, RowSeries>;

/** How a chart looks: title, axes, and its names as a PNG file stem and a page test id. */
export interface ChartLook {
  title: string;
  xTitle: string;
  yTitle: string;
  logY: boolean;
  /** x values are counts (steps): ticks only at integers */
  integerX: boolean;
  /** PNG file stem (learn's run directory, the regression report) */
  file: string;
  /** data-testid on the page */
  testId: string;
  /** shown on the page while there is nothing to draw */
  emptyText: string;
}

const NO_STEPS = 'No steps yet.';
const look = (file: string, testId: string, title: string, yTitle: string, logY = false, emptyText = NO_STEPS): ChartLook => ({
  title,
  xTitle: 'step',
  yTitle,
  logY,
  integerX: true,
  file,
  testId,
  emptyText,
});

export const CHARTS = {
  maskL1: look('mask-l1', 'chart-maskl1', 'Mask L1 distance between consecutive steps', 'L1 per weight'),
  maxProb: look('max-prob', 'chart-maxprob', 'Max candidate probability', 'probability'),
  loss: look('loss', 'chart-loss', 'Training loss (soft masks)', 'loss'),
  schedule: look('kappa-tau', 'chart-schedule', 'Schedules: logit scale κ and temperature τ', 'value (log)', true),
} satisfies Record<string, ChartLook>;

const DOMAIN_NAME = { en: 'English', code: 'code' } as const;

/** The hard-mask validation chart of one validation set. */
export function evaluationChart(key: EvalKey): ChartLook {
  const empty = 'No evaluation yet (every “Evaluate every” steps).';
  return key === 'val'
    ? look('validation-accuracy', 'chart-eval', 'Validation accuracy with the hard mask (%)', 'accuracy %', false, empty)
    : look(`validation-ppl-${key}`, 'chart-eval', `Validation perplexity with the hard mask (${DOMAIN_NAME[key]})`, 'perplexity', false, empty);
}

export interface Trace {
  name: string;
  x: number[];
  y: number[];
}

/** A whole chart with its data, for drawing once (PNG). */
export interface ChartData extends ChartLook {
  traces: Trace[];
  refs: { name: string; y: number }[];
}

/**
 * Every chart of a finished (or paused) run with its data, as the page shows them with "per layer"
 * curves and the mean on top; keyed by file stem. Empty without metrics rows.
 */
export function runCharts(
  m: { rows: StepMetrics[]; evaluations: { step: number; metrics: EvalMetrics }[]; table: ResultRow[] },
  model: ModelSummary | null,
): ChartData[] {
  const rows = m.rows;
  if (!rows.length) return [];
  const xs = rows.map(stepX);
  const trace = (s: RowSeries): Trace => ({ name: s.name, x: xs, y: rows.map(s.y) });
  const names = model?.sites.map((s) => s.name) ?? rows[0].sites.map((_, i) => `site ${i}`);
  const layers = groupByLayer(names);
  const perLayer = (field: 'maskL1' | 'maxProb'): Trace[] => layers.map((g) => ({ name: g.label, x: xs, y: rows.map((r) => layerMean(r, g, field) ?? NaN) }));
  const out: ChartData[] = [
    // the mean last, so it is drawn on top of the per-layer lines
    { ...CHARTS.maskL1, traces: [...perLayer('maskL1'), trace(ROW_SERIES.meanMaskL1)], refs: [] },
    { ...CHARTS.maxProb, traces: [...perLayer('maxProb'), trace(ROW_SERIES.meanMaxProb)], refs: [] },
    { ...CHARTS.loss, traces: [trace(ROW_SERIES.loss)], refs: [] },
    { ...CHARTS.schedule, traces: [trace(ROW_SERIES.kappa), trace(ROW_SERIES.tau)], refs: [] },
  ];
  const kind = model?.kind ?? (m.evaluations.some((e) => e.metrics.val) ? 'vit' : 'gpt2');
  for (const key of evalKeys(kind)) {
    const ev = m.evaluations;
    out.push({
      ...evaluationChart(key),
      traces: [{ name: HARD_MASK_SERIES, x: ev.map(evaluationX), y: ev.map((e) => evalValue(e.metrics, key) ?? NaN) }],
      refs: baselineRefs(m.table, key),
    });
  }
  return out;
}
