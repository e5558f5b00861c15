// Convergence charts as PNG data URLs for the CLI's run directory and the regression report: the
// charts the page shows (src/ui/charts/spec.ts: runCharts, per-layer curves with the mean on top),
// each drawn in an offscreen div with Plotly.newPlot and converted with Plotly.toImage.
import type { ModelSummary } from '../lab/session';
import type { LabMetricsSnapshot } from '../embed/types';
import { MARKER_MAX_POINTS } from '../ui/charts/draw-lines';
import { MEAN_OVER_LAYERS, runCharts, type ChartData } from '../ui/charts/spec';

/** The run's charts keyed by PNG file stem (mask-l1, max-prob, loss, kappa-tau, validation-*); empty without steps. */
export function chartFigures(m: LabMetricsSnapshot, model: ModelSummary | null): Record<string, ChartData> {
  return Object.fromEntries(runCharts(m, model).map((c) => [c.file, c]));
}

interface PlotlyLike {
  newPlot(el: HTMLElement, data: unknown[], layout: unknown, config: unknown): Promise<unknown>;
  toImage(el: HTMLElement, opts: { format: 'png'; width: number; height: number }): Promise<string>;
  purge(el: HTMLElement): void;
}

const DASHES = ['dot', 'dash', 'dashdot', 'longdash', 'longdashdot'];

/** Draws each figure offscreen and returns PNG data URLs keyed like the figures. */
export async function renderPng(figs: Record<string, ChartData>, width = 900, height = 480): Promise<Record<string, string>> {
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
        // the mean over layers drawn wide; few points (evaluations) get markers
        ...f.traces.map((t) => ({
          type: 'scatter',
          mode: t.x.length <= MARKER_MAX_POINTS ? 'lines+markers' : 'lines',
          name: t.name,
          x: t.x,
          y: t.y,
          line: { width: t.name === MEAN_OVER_LAYERS ? 4 : f.traces.length > 2 ? 1 : 2 },
        })),
        ...f.refs.map((r, i) => ({
          type: 'scatter',
          mode: 'lines',
          name: r.name,
          x: [x0, x1],
          y: [r.y, r.y],
          line: { dash: DASHES[i % DASHES.length], width: 1.5 },
        })),
      ];
      const layout = {
        title: { text: f.title },
        width,
        height,
        margin: { l: 70, r: 20, t: 50, b: 50 },
        xaxis: { title: { text: f.xTitle }, ...(f.integerX ? { tickformat: 'd' } : {}) },
        yaxis: { title: { text: f.yTitle }, type: f.logY ? 'log' : 'linear' },
        showlegend: data.length > 1,
        paper_bgcolor: 'white',
        plot_bgcolor: 'white',
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
