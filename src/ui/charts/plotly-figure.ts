// The interactive Plotly figure of a chart (shown when learning is not running): the traces from
// the ring buffers, dashed reference lines across the data's x range, integer x ticks for counts,
// a log or to-zero y axis, and a horizontal legend under the plot when there is more than one line.
// The canvas renderer (draw-lines.ts) uses the same margins and colours.
import type { RingSeries } from '../ring';
import { MARGIN, MARKER_MAX_POINTS } from './draw-lines';

export interface FigureOptions {
  xTitle: string;
  yTitle: string;
  /** plot height without the legend */
  height: number;
  /** extra height for the legend under the plot */
  legendHeight: number;
  integerX: boolean;
  logY: boolean;
}

export function plotlyFigure(series: readonly RingSeries[], refs: readonly { name: string; y: number }[], o: FigureOptions) {
  // markers only while there are few points: hundreds of SVG markers make every redraw slower
  const data = series.map((s) => ({
    type: 'scatter' as const,
    mode: s.length > MARKER_MAX_POINTS ? ('lines' as const) : ('lines+markers' as const),
    name: s.name,
    ...s.toArrays(),
  }));
  const span = Math.max(1, ...data.map((d) => (d.x.length ? d.x[d.x.length - 1] - d.x[0] : 0)));
  const xs = data.flatMap((d) => (d.x.length ? [d.x[0], d.x[d.x.length - 1]] : []));
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const lines = refs.map((r) => ({
    type: 'scatter' as const,
    mode: 'lines' as const,
    name: r.name,
    x: [x0, x1],
    y: [r.y, r.y],
    line: { dash: 'dash' as const, width: 1.5 },
    hoverinfo: 'name+y' as const,
  }));
  // About ten integer ticks; Plotly's automatic ticks would put some at 0.5, 1.5, … for a few points.
  const xTicks = o.integerX ? { tickformat: 'd', dtick: Math.max(1, Math.ceil(span / 10)) } : {};
  const legend = o.legendHeight > 0;
  const layout = {
    height: o.height + o.legendHeight,
    margin: { l: MARGIN.l, r: MARGIN.r, t: MARGIN.t, b: MARGIN.b + o.legendHeight },
    xaxis: { title: { text: o.xTitle }, ...xTicks },
    yaxis: o.logY ? { title: { text: o.yTitle }, type: 'log' as const } : { title: { text: o.yTitle }, rangemode: 'tozero' as const },
    showlegend: legend,
    legend: { orientation: 'h' as const, x: 0, y: -0.3, yanchor: 'top' as const },
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
  };
  return { data: [...data, ...lines], layout };
}
