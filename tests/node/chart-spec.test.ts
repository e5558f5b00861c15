// The one chart description (src/ui/charts/spec.ts): the x convention (a metrics row of step k at
// k + 1, an evaluation at its step), the series, the baseline lines and the PNG file stems — and the
// page's live buffers (src/state/live.ts) and the headless PNG figures (src/headless/charts.ts)
// reading it the same way.
import { describe, expect, it } from 'vitest';
import { chartFigures } from '../../src/headless/charts';
import type { EvaluationEvent, ModelSummary, ResultRow } from '../../src/lab/session';
import type { StepMetrics } from '../../src/sparsity/learner';
import { live } from '../../src/state/live';
import { baselineRefs, CHARTS, evaluationChart, evaluationX, evalValue, groupByLayer, runCharts, stepX } from '../../src/ui/charts/spec';

const siteNames = ['h.0.attn.w', 'h.0.mlp.w', 'h.1.attn.w', 'h.1.mlp.w'];
const model: ModelSummary = {
  name: 'm',
  kind: 'gpt2',
  parameters: 1,
  layers: 2,
  maskedWeights: 4,
  learningStateBytes: 0,
  sites: siteNames.map((name) => ({ name, shape: [4, 4], layout: 'in_out' })),
};
const row = (step: number): StepMetrics => ({
  step,
  loss: 3 - step / 10,
  kappa: 100 + step,
  tau: 4 - step / 10,
  lr: 1e-3,
  lambda: 0,
  sites: siteNames.map((_, i) => ({ maskL1: i + step, maxProb: 0.1 * i, maxProbClean: 0.5, logitMean: 0, logitStd: 0 })),
  meanMaskL1: 1.5 + step,
  meanMaxProb: 0.15,
  meanMaxProbClean: 0.5,
});
const ppl = (p: number) => ({ loss: Math.log(p), ppl: p, bitsPerToken: 1, tokens: 10 });
const rows = [0, 1, 2, 3].map(row);
const evaluations: EvaluationEvent[] = [
  { step: 2, metrics: { en: ppl(9), code: ppl(12) }, flips: null },
  { step: 4, metrics: { en: ppl(8), code: ppl(11) }, flips: 3 },
];
const table: ResultRow[] = [
  { key: 'dense', label: 'Dense', metrics: { en: ppl(6), code: ppl(7) }, bitsPerWeight: null },
  { key: 'magnitude', label: 'Magnitude', metrics: { en: ppl(NaN), code: ppl(10) }, bitsPerWeight: 0.6 },
  { key: 'maskllm', label: 'MaskLLM', metrics: { en: ppl(8), code: ppl(11) }, bitsPerWeight: 0.6 },
];

describe('the x convention', () => {
  it('row k is drawn at k + 1, an evaluation at its step: a run’s last row and final evaluation share x', () => {
    expect(stepX({ step: 0 })).toBe(1);
    expect(evaluationX({ step: 4 })).toBe(4);
    expect(stepX(rows.at(-1)!)).toBe(evaluationX(evaluations.at(-1)!));
  });
});

describe('runCharts', () => {
  const charts = runCharts({ rows, evaluations, table }, model);
  const byFile = Object.fromEntries(charts.map((c) => [c.file, c]));

  it('names the PNG files learn writes, with the page’s titles', () => {
    expect(charts.map((c) => c.file)).toEqual(['mask-l1', 'max-prob', 'loss', 'kappa-tau', 'validation-ppl-en', 'validation-ppl-code']);
    expect(byFile['mask-l1'].title).toBe(CHARTS.maskL1.title);
    expect(byFile['validation-ppl-code'].title).toBe(evaluationChart('code').title);
    expect(byFile['kappa-tau'].logY).toBe(true);
  });

  it('per-layer curves with the mean last; every step curve at x = step + 1', () => {
    const l1 = byFile['mask-l1'];
    expect(l1.traces.map((t) => t.name)).toEqual(['layer 0', 'layer 1', 'mean over layers']);
    for (const c of charts.slice(0, 4)) for (const t of c.traces) expect(t.x).toEqual([1, 2, 3, 4]);
    expect(l1.traces[0].y).toEqual([0.5, 1.5, 2.5, 3.5]);
    expect(l1.traces[1].y).toEqual([2.5, 3.5, 4.5, 5.5]);
    expect(byFile['kappa-tau'].traces.map((t) => t.name)).toEqual(['κ', 'τ']);
  });

  it('hard-mask evaluations at their steps, baselines as finite reference lines without the MaskLLM row', () => {
    const en = byFile['validation-ppl-en'];
    expect(en.traces).toEqual([{ name: 'MaskLLM (hard mask)', x: [2, 4], y: [9, 8] }]);
    expect(en.refs).toEqual([{ name: 'Dense', y: 6 }]);
    expect(byFile['validation-ppl-code'].refs).toEqual([
      { name: 'Dense', y: 7 },
      { name: 'Magnitude', y: 10 },
    ]);
  });

  it('a ViT gets one accuracy chart in percent; no rows, no charts', () => {
    const vit: ModelSummary = { ...model, kind: 'vit' };
    const acc = { loss: 0.5, accuracy: 0.8, images: 10 };
    const c = runCharts(
      {
        rows,
        evaluations: [{ step: 4, metrics: { val: acc } }],
        table: [{ key: 'dense', label: 'Dense', metrics: { val: { ...acc, accuracy: 0.9 } }, bitsPerWeight: null }],
      },
      vit,
    );
    expect(c.map((x) => x.file).at(-1)).toBe('validation-accuracy');
    expect(c.at(-1)!.traces[0].y).toEqual([80]);
    expect(c.at(-1)!.refs).toEqual([{ name: 'Dense', y: 90 }]);
    expect(evalValue({ val: acc }, 'val')).toBe(80);
    expect(runCharts({ rows: [], evaluations, table }, model)).toEqual([]);
  });

  it('the headless PNG figures are these charts, keyed by file', () => {
    expect(chartFigures({ rows, evaluations, table }, model)).toEqual(byFile);
  });
});

describe('the page’s live buffers read the same description', () => {
  it('rows at k + 1, evaluations at their step, in the same units', () => {
    live.reset(model);
    live.pushRows(rows);
    for (const e of evaluations) live.pushEvaluation(e);
    expect(live.loss.toArrays()).toEqual({ x: [1, 2, 3, 4], y: rows.map((r) => r.loss) });
    expect(live.layerMaskL1.map((s) => s.name)).toEqual(['layer 0', 'layer 1']);
    expect(live.layerMaskL1[1].toArrays().y).toEqual([2.5, 3.5, 4.5, 5.5]);
    expect(live.evals.get('en')!.toArrays()).toEqual({ x: [2, 4], y: [9, 8] });
    expect(baselineRefs(table, 'en')).toEqual([{ name: 'Dense', y: 6 }]);
    expect(groupByLayer(['a', 'b.3.c'])).toEqual([
      { label: 'other', sites: [0] },
      { label: 'layer 3', sites: [1] },
    ]);
  });
});
