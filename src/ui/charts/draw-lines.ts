// Draws a line chart onto a 2D canvas context: grid and tick labels, axis titles, dashed reference
// lines with their labels, the traces (decimated to the pixel columns: see canvas-lines.ts), small
// markers while a trace has few points, and a legend under the plot. The geometry follows the
// Plotly charts the page shows when learning is not running, so switching renderer does not jump.
// Only the context methods below are used: tests pass a recording stub (tests/node/canvas-lines.test.ts).
import { decimate, formatTick, legendLayout, linearTicks, logTicks, makeScale, toPixel, xExtent, yRange, type PointSource } from './canvas-lines';

export type Ctx2D = Pick<
  CanvasRenderingContext2D,
  | 'save'
  | 'restore'
  | 'clearRect'
  | 'fillRect'
  | 'beginPath'
  | 'moveTo'
  | 'lineTo'
  | 'stroke'
  | 'fill'
  | 'arc'
  | 'rect'
  | 'clip'
  | 'fillText'
  | 'measureText'
  | 'setLineDash'
  | 'translate'
  | 'rotate'
> & {
  fillStyle: CanvasRenderingContext2D['fillStyle'];
  strokeStyle: CanvasRenderingContext2D['strokeStyle'];
  lineWidth: number;
  font: string;
  textAlign: CanvasTextAlign;
  textBaseline: CanvasTextBaseline;
};

/** Plotly's default colour sequence, so a trace keeps its colour across the two renderers. */
export const COLORWAY = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export interface LineChartSpec {
  series: { name: string; src: PointSource }[];
  /** horizontal reference lines (dense and one-shot baselines), dashed */
  refs: { name: string; y: number }[];
  xTitle: string;
  yTitle: string;
  logY: boolean;
  /** ticks only at integers (steps, runs) */
  integerX: boolean;
  /** pixels under the x axis reserved for the legend (0: no legend) */
  legendHeight: number;
  /** fill colour behind everything (PNG export); transparent when absent */
  background?: string;
}

/** The same margins as the Plotly layout in Chart.tsx (l 56, r 16, t 8, b 44 + the legend). */
export const MARGIN = { l: 56, r: 16, t: 8, b: 44 };
/** A trace with at most this many points also gets markers (as the Plotly chart: 'lines+markers'). */
export const MARKER_MAX_POINTS = 60;

const TEXT = '#444';
const GRID = '#e5e5e5';
const ZERO = '#bbb';
const FONT = '11px system-ui, sans-serif';
const TITLE_FONT = '12px system-ui, sans-serif';

export interface DrawStats {
  /** vertices given to the canvas for the traces (moveTo + lineTo): bounded by the plot's width */
  vertices: number;
  /** markers drawn */
  markers: number;
}

/** Draws `spec` into a `width` × `height` (CSS pixels) area; the caller has set the device-pixel transform. */
export function drawLineChart(ctx: Ctx2D, spec: LineChartSpec, width: number, height: number): DrawStats {
  const stats: DrawStats = { vertices: 0, markers: 0 };
  if (spec.background) {
    ctx.fillStyle = spec.background;
    ctx.fillRect(0, 0, width, height);
  } else {
    ctx.clearRect(0, 0, width, height);
  }
  const left = MARGIN.l;
  const right = Math.max(left + 1, width - MARGIN.r);
  const top = MARGIN.t;
  const bottom = Math.max(top + 1, height - MARGIN.b - spec.legendHeight);
  const sources = spec.series.map((s) => s.src);
  const xr = xExtent(sources);
  const refYs = spec.refs.map((r) => r.y);
  const yr = yRange(sources, refYs, spec.logY);
  if (!xr || !yr) return stats;
  // one point, or all at one x: a unit-wide window around it
  const [x0, x1] = xr[0] === xr[1] ? [xr[0] - 1, xr[1] + 1] : xr;
  const xs = makeScale(x0, x1, left, right);
  const ys = makeScale(yr[0], yr[1], bottom, top, spec.logY);

  ctx.font = FONT;
  ctx.lineWidth = 1;
  ctx.setLineDash([]);

  // grid and tick labels
  const xTicks = linearTicks(x0, x1, Math.max(2, Math.floor((right - left) / 70)), spec.integerX);
  const yTarget = Math.max(2, Math.floor((bottom - top) / 40));
  const yTicks = spec.logY ? logTicks(yr[0], yr[1], yTarget) : linearTicks(yr[0], yr[1], yTarget);
  const xStep = xTicks.length > 1 ? xTicks[1] - xTicks[0] : 1;
  const yStep = yTicks.length > 1 ? yTicks[1] - yTicks[0] : Math.abs(yTicks[0] ?? 1);
  ctx.strokeStyle = GRID;
  ctx.beginPath();
  for (const t of xTicks) {
    const px = Math.round(toPixel(xs, t)) + 0.5;
    ctx.moveTo(px, top);
    ctx.lineTo(px, bottom);
  }
  for (const t of yTicks) {
    const py = Math.round(toPixel(ys, t)) + 0.5;
    ctx.moveTo(left, py);
    ctx.lineTo(right, py);
  }
  ctx.stroke();
  if (!spec.logY && yr[0] < 0 && yr[1] > 0) {
    const py = Math.round(toPixel(ys, 0)) + 0.5;
    ctx.strokeStyle = ZERO;
    ctx.beginPath();
    ctx.moveTo(left, py);
    ctx.lineTo(right, py);
    ctx.stroke();
  }
  ctx.fillStyle = TEXT;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of xTicks) ctx.fillText(formatTick(t, xStep), toPixel(xs, t), bottom + 4);
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  // on a log axis the labels need the decimals of the smallest gap between neighbouring ticks (a log
  // axis over less than a decade falls back to linear ticks like 11.6, 11.8, 12.0: using the tick's
  // own size would label them all "12")
  const yLabelStep = spec.logY ? smallestGap(yTicks) : yStep;
  for (const t of yTicks) ctx.fillText(formatTick(t, yLabelStep), left - 4, toPixel(ys, t));

  // axis titles
  ctx.font = TITLE_FONT;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  ctx.fillText(spec.xTitle, (left + right) / 2, bottom + MARGIN.b - 4);
  ctx.save();
  ctx.translate(12, (top + bottom) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = 'middle';
  ctx.fillText(spec.yTitle, 0, 0);
  ctx.restore();
  ctx.font = FONT;

  // everything data-driven stays inside the plot area
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, right - left, bottom - top);
  ctx.clip();

  // reference lines: dashed, labelled at the right end (a label too close to the previous one is
  // left to the legend)
  const colorOf = (i: number) => COLORWAY[i % COLORWAY.length];
  ctx.lineWidth = 1.5;
  ctx.setLineDash([6, 4]);
  ctx.textAlign = 'right';
  ctx.textBaseline = 'bottom';
  const labelled: number[] = [];
  spec.refs.forEach((r, k) => {
    const py = toPixel(ys, r.y);
    if (!Number.isFinite(py)) return;
    const c = colorOf(spec.series.length + k);
    ctx.strokeStyle = c;
    ctx.beginPath();
    ctx.moveTo(left, py);
    ctx.lineTo(right, py);
    ctx.stroke();
    if (labelled.every((q) => Math.abs(q - py) >= 12)) {
      ctx.fillStyle = c;
      ctx.fillText(r.name, right - 4, py - 2);
      labelled.push(py);
    }
  });
  ctx.setLineDash([]);

  // traces
  ctx.lineWidth = 2;
  spec.series.forEach((s, k) => {
    const c = colorOf(k);
    const idx = decimate(s.src, xs, spec.logY);
    ctx.strokeStyle = c;
    ctx.beginPath();
    let pen = false;
    for (const i of idx) {
      if (i < 0) {
        pen = false;
        continue;
      }
      const px = toPixel(xs, s.src.xAt(i));
      const py = toPixel(ys, s.src.yAt(i));
      if (pen) ctx.lineTo(px, py);
      else ctx.moveTo(px, py);
      pen = true;
      stats.vertices++;
    }
    ctx.stroke();
    if (s.src.length <= MARKER_MAX_POINTS) {
      ctx.fillStyle = c;
      for (const i of idx) {
        if (i < 0) continue;
        ctx.beginPath();
        ctx.arc(toPixel(xs, s.src.xAt(i)), toPixel(ys, s.src.yAt(i)), 3, 0, 2 * Math.PI);
        ctx.fill();
        stats.markers++;
      }
    }
  });
  ctx.restore();

  // legend: a short line (dashed for reference lines) and the name, wrapped into rows
  if (spec.legendHeight > 0) {
    const names = [...spec.series.map((s) => s.name), ...spec.refs.map((r) => r.name)];
    const swatch = 22;
    const { slots } = legendLayout(names.length, (i) => swatch + 4 + ctx.measureText(names[i]).width, right - left);
    const rowHeight = 16;
    const y0 = bottom + MARGIN.b + 2;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    ctx.lineWidth = 2;
    slots.forEach((slot, i) => {
      const y = y0 + slot.row * rowHeight + rowHeight / 2;
      if (y > height) return; // more entries than rows: the rest are named in the interactive chart
      const x = left + slot.x;
      const c = colorOf(i);
      ctx.setLineDash(i >= spec.series.length ? [4, 3] : []);
      ctx.strokeStyle = c;
      ctx.beginPath();
      ctx.moveTo(x, y);
      ctx.lineTo(x + swatch, y);
      ctx.stroke();
      ctx.fillStyle = TEXT;
      ctx.fillText(names[i], x + swatch + 4, y);
    });
    ctx.setLineDash([]);
  }
  return stats;
}

/** The smallest positive difference between neighbouring ticks (the label precision they need). */
export function smallestGap(ticks: number[]): number {
  let g = Infinity;
  for (let i = 1; i < ticks.length; i++) {
    const d = Math.abs(ticks[i] - ticks[i - 1]);
    if (d > 0 && d < g) g = d;
  }
  return Number.isFinite(g) ? g : Math.abs(ticks[0] ?? 1);
}
