// Convergence charts as PNG data URLs for the CLI's run directory and the regression report.
// chartFigures() is pure (metrics → Plotly figure descriptions); renderPng() draws each in an
// offscreen div with Plotly.newPlot and converts it with Plotly.toImage.
import type { ResultRow, ModelSummary } from '../lab/session';
import type { LabMetricsSnapshot } from '../embed/types';

export interface Trace {
  name: string;
  x: number[];
  y: number[];
  mode?: 'lines' | 'lines+markers';
  line?: { width?: number; dash?: string };
  yaxis?: 'y2';
}

export interface Figure {
  title: string;
  xTitle: string;
  yTitle: string;
  y2Title?: string;
  logY?: boolean;
  traces: Trace[];
  /** horizontal reference lines (baselines) */
  refs: { name: string; y: number }[];
}

/** Figures keyed by file stem (mask-l1, max-prob, loss, kappa-tau, validation-*); empty without steps. */
export function chartFigures(m: LabMetricsSnapshot, model: ModelSummary | null): Record<string, Figure> {
  const rows = m.rows;
  if (!rows.length) return {};
  const steps = rows.map((r) => r.step);
  const siteNames = model?.sites.map((s) => s.name) ?? rows[0].sites.map((_, i) => `site ${i}`);
  const out: Record<string, Figure> = {};
  out['mask-l1'] = {
    title: 'Mask L1 distance between consecutive sampled masks', xTitle: 'step', yTitle: 'L1 distance', refs: [],
    traces: [
      ...siteNames.map((name, i) => ({ name, x: steps, y: rows.map((r) => r.sites[i]?.maskL1 ?? NaN), line: { width: 1 } })),
      // last, so the mean is drawn on top of the per-layer lines
      { name: 'mean over layers', x: steps, y: rows.map((r) => r.meanMaskL1), line: { width: 4 } },
    ],
  };
  out['max-prob'] = {
    title: 'Max probability per group (mean over layers)', xTitle: 'step', yTitle: 'max probability', refs: [],
    traces: [
      { name: 'noisy sample', x: steps, y: rows.map((r) => r.meanMaxProb) },
      { name: 'clean softmax(κπ)', x: steps, y: rows.map((r) => r.meanMaxProbClean), line: { dash: 'dash' } },
    ],
  };
  out.loss = { title: 'Training loss (soft masks)', xTitle: 'step', yTitle: 'loss', refs: [], traces: [{ name: 'loss', x: steps, y: rows.map((r) => r.loss) }] };
  out['kappa-tau'] = {
    title: 'Schedules: κ and τ', xTitle: 'step', yTitle: 'κ', y2Title: 'τ', refs: [],
    traces: [
      { name: 'κ', x: steps, y: rows.map((r) => r.kappa) },
      { name: 'τ', x: steps, y: rows.map((r) => r.tau), yaxis: 'y2' },
    ],
  };
  const ev = m.evaluations;
  const baselineRows = m.table.filter((r) => r.key !== 'maskllm');
  const refsFor = (pick: (r: ResultRow) => number | undefined) =>
    baselineRows.flatMap((r) => {
      const y = pick(r);
      return y === undefined || !Number.isFinite(y) ? [] : [{ name: r.label, y }];
    });
  const evSteps = ev.map((e) => e.step);
  if (model?.kind === 'vit' || ev.some((e) => e.metrics.val)) {
    out['validation-accuracy'] = {
      title: 'Hard-mask validation accuracy', xTitle: 'step', yTitle: 'accuracy', refs: refsFor((r) => r.metrics.val?.accuracy),
      traces: [{ name: 'MaskLLM (hard mask)', x: evSteps, y: ev.map((e) => e.metrics.val?.accuracy ?? NaN), mode: 'lines+markers' }],
    };
  } else {
    for (const d of ['en', 'code'] as const) {
      out[`validation-ppl-${d}`] = {
        title: `Hard-mask validation perplexity (${d})`, xTitle: 'step', yTitle: 'perplexity', logY: true,
        refs: refsFor((r) => r.metrics[d]?.ppl),
        traces: [{ name: 'MaskLLM (hard mask)', x: evSteps, y: ev.map((e) => e.metrics[d]?.ppl ?? NaN), mode: 'lines+markers' }],
      };
    }
  }
  return out;
}

interface PlotlyLike {
  newPlot(el: HTMLElement, data: unknown[], layout: unknown, config: unknown): Promise<unknown>;
  toImage(el: HTMLElement, opts: { format: 'png'; width: number; height: number }): Promise<string>;
  purge(el: HTMLElement): void;
}

const DASHES = ['dot', 'dash', 'dashdot', 'longdash', 'longdashdot'];

/** Draws each figure offscreen and returns PNG data URLs keyed like the figures. */
export async function renderPng(figs: Record<string, Figure>, width = 900, height = 480): Promise<Record<string, string>> {
  const keys = Object.keys(figs);
  if (!keys.length) return {};
  const Plotly = (await import('plotly.js-dist-min')).default as unknown as PlotlyLike;
  const host = document.createElement('div');
  // Offscreen but laid out: Plotly measures the div, so display:none would give a 0×0 plot.
  host.style.cssText = `position:absolute;left:-10000px;top:0;width:${width}px;height:${height}px`;
  document.body.appendChild(host);
  const out: Record<string, string> = {};
  try {
    for (const k of keys) {
      const f = figs[k];
      const xs = f.traces.flatMap((t) => t.x);
      const x0 = xs.length ? Math.min(...xs) : 0;
      const x1 = xs.length ? Math.max(...xs) : 1;
      const data = [
        ...f.traces.map((t) => ({ type: 'scatter', mode: t.mode ?? 'lines', name: t.name, x: t.x, y: t.y, line: t.line, yaxis: t.yaxis })),
        ...f.refs.map((r, i) => ({ type: 'scatter', mode: 'lines', name: r.name, x: [x0, x1], y: [r.y, r.y], line: { dash: DASHES[i % DASHES.length], width: 1.5 } })),
      ];
      const layout = {
        title: { text: f.title }, width, height, margin: { l: 70, r: f.y2Title ? 70 : 20, t: 50, b: 50 },
        xaxis: { title: { text: f.xTitle } },
        yaxis: { title: { text: f.yTitle }, type: f.logY ? 'log' : 'linear' },
        ...(f.y2Title ? { yaxis2: { title: { text: f.y2Title }, overlaying: 'y', side: 'right' } } : {}),
        showlegend: data.length > 1, paper_bgcolor: 'white', plot_bgcolor: 'white',
      };
      await Plotly.newPlot(host, data, layout, { staticPlot: true });
      out[k] = await Plotly.toImage(host, { format: 'png', width, height });
      Plotly.purge(host);
    }
  } finally {
    host.remove();
  }
  return out;
}
