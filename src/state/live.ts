// Live run data outside React state: ring buffers for the charts (pushing a point re-renders
// nothing; charts poll `version` at ≤ 10 Hz), the full metrics rows and evaluations for export,
// and the subscribers of LabControl.subscribe.
import type { EvaluationEvent, ModelSummary, SessionEvent } from '../lab/session';
import type { StepMetrics } from '../sparsity/learner';
import {
  evalKeys,
  evalValue,
  evaluationX,
  groupByLayer,
  HARD_MASK_SERIES,
  layerMean,
  ROW_SERIES,
  stepX,
  type EvalKey,
  type LayerGroup,
} from '../ui/charts/spec';
import { RingSeries } from '../ui/ring';

/** Points kept per chart series (the last ones win). */
export const RING_CAPACITY = 20_000;

class LiveData {
  // series names, values and x: the chart description (src/ui/charts/spec.ts)
  loss = new RingSeries(ROW_SERIES.loss.name, RING_CAPACITY);
  kappa = new RingSeries(ROW_SERIES.kappa.name, RING_CAPACITY);
  tau = new RingSeries(ROW_SERIES.tau.name, RING_CAPACITY);
  meanMaskL1 = new RingSeries(ROW_SERIES.meanMaskL1.name, RING_CAPACITY);
  meanMaxProb = new RingSeries(ROW_SERIES.meanMaxProb.name, RING_CAPACITY);
  layers: LayerGroup[] = [];
  layerMaskL1: RingSeries[] = [];
  layerMaxProb: RingSeries[] = [];
  /** hard-mask validation: 'en', 'code' (GPT perplexity) or 'val' (ViT accuracy, %) */
  evals = new Map<EvalKey, RingSeries>();
  rows: StepMetrics[] = [];
  evaluations: EvaluationEvent[] = [];
  /** Bumped when the set of series changes (a new model); charts rebuild their traces. */
  layout = 0;

  /**
   * Clear every series. The series objects are kept (charts hold them) unless the model's layers or
   * evaluation keys differ, in which case new ones are made and `layout` is bumped.
   */
  reset(model: ModelSummary | null): void {
    for (const s of [this.loss, this.kappa, this.tau, this.meanMaskL1, this.meanMaxProb, ...this.layerMaskL1, ...this.layerMaxProb, ...this.evals.values()])
      s.clear();
    this.rows = [];
    this.evaluations = [];
    if (!model) return;
    const layers = groupByLayer(model.sites.map((s) => s.name));
    const keys = evalKeys(model.kind);
    const same = JSON.stringify(layers) === JSON.stringify(this.layers) && keys.join() === [...this.evals.keys()].join();
    if (same) return;
    this.layers = layers;
    this.layerMaskL1 = layers.map((l) => new RingSeries(l.label, RING_CAPACITY));
    this.layerMaxProb = layers.map((l) => new RingSeries(l.label, RING_CAPACITY));
    this.evals = new Map(keys.map((k) => [k, new RingSeries(HARD_MASK_SERIES, RING_CAPACITY)]));
    this.layout++;
  }

  pushRows(rows: StepMetrics[]): void {
    for (const r of rows) {
      // a resumed run replays its rows; never draw a step twice
      const last = this.rows.at(-1);
      if (last && r.step <= last.step) continue;
      this.rows.push(r);
      const x = stepX(r);
      this.loss.push(x, ROW_SERIES.loss.y(r));
      this.kappa.push(x, ROW_SERIES.kappa.y(r));
      this.tau.push(x, ROW_SERIES.tau.y(r));
      this.meanMaskL1.push(x, ROW_SERIES.meanMaskL1.y(r));
      this.meanMaxProb.push(x, ROW_SERIES.meanMaxProb.y(r));
      this.layers.forEach((l, i) => {
        const l1 = layerMean(r, l, 'maskL1');
        if (l1 === undefined) return;
        this.layerMaskL1[i].push(x, l1);
        this.layerMaxProb[i].push(x, layerMean(r, l, 'maxProb')!);
      });
    }
  }

  pushEvaluation(ev: EvaluationEvent): void {
    const last = this.evaluations.at(-1);
    if (last && ev.step <= last.step) return;
    this.evaluations.push(ev);
    for (const [k, s] of this.evals) {
      const y = evalValue(ev.metrics, k);
      if (y !== undefined) s.push(evaluationX(ev), y);
    }
  }
}

export const live = new LiveData();

// ---------------------------------------------------------------- subscribers (LabControl.subscribe)
const listeners = new Set<(e: SessionEvent) => void>();

export function subscribeEvents(f: (e: SessionEvent) => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

export function publishEvent(e: SessionEvent): void {
  for (const f of listeners) {
    try {
      f(e);
    } catch (err) {
      console.error('a session event listener threw', err);
    }
  }
}

// ---------------------------------------------------------------- chart elements (PNG export)
export const chartElements = new Map<string, HTMLElement>();

/** Metrics rows as CSV: one row per step, per-site columns after the means. */
export function metricsCsv(rows: StepMetrics[], siteNames: string[]): string {
  const head = ['step', 'loss', 'kappa', 'tau', 'lr', 'lambda', 'meanMaskL1', 'meanMaxProb', 'meanMaxProbClean'];
  const per = ['maskL1', 'maxProb', 'maxProbClean', 'logitMean', 'logitStd'] as const;
  const cols = [...head, ...siteNames.flatMap((n) => per.map((p) => `${n}:${p}`))];
  const lines = [cols.join(',')];
  for (const r of rows) {
    const v: number[] = [r.step, r.loss, r.kappa, r.tau, r.lr, r.lambda, r.meanMaskL1, r.meanMaxProb, r.meanMaxProbClean];
    for (let i = 0; i < siteNames.length; i++) for (const p of per) v.push(r.sites[i]?.[p] ?? Number.NaN);
    lines.push(v.map((x) => String(x)).join(','));
  }
  return lines.join('\n') + '\n';
}
