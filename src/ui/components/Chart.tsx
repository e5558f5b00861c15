// A Plotly line chart fed by RingSeries. Data never passes through React state: pushing points
// only bumps the series' version, and a timer redraws at most REDRAW_HZ times per second when a
// version changed. Plotly (≈4.8 MB) is loaded lazily so the page shows before it arrives.
import { useEffect, useRef, useState } from 'react';
import { chartElements } from '../../state/live';
import type { RingSeries } from '../ring';

const REDRAW_HZ = 10;

// One scheduler for all charts: each tick redraws at most ONE chart (the one waiting longest), and
// only charts on screen. A Plotly redraw is tens of ms of main-thread work on a slow machine; with
// five charts updating every step, drawing them all at once would make one long task.
interface Drawable {
  dirty(): boolean;
  /** Cheap bookkeeping every tick (point count, empty state), drawn or not. */
  annotate(): void;
  visible: boolean;
  draw(): void;
  /** when it was last drawn: the least recently drawn dirty chart goes first */
  waitingSince: number;
}
const drawables = new Set<Drawable>();
let schedulerTimer: ReturnType<typeof setInterval> | undefined;

function tick(): void {
  let pick: Drawable | null = null;
  for (const d of drawables) {
    d.annotate();
    if (!d.visible || !d.dirty()) continue;
    if (!pick || d.waitingSince < pick.waitingSince) pick = d;
  }
  if (pick) pick.draw();
}

function register(d: Drawable): () => void {
  drawables.add(d);
  schedulerTimer ??= setInterval(tick, 1000 / REDRAW_HZ);
  return () => {
    drawables.delete(d);
    if (drawables.size === 0 && schedulerTimer !== undefined) {
      clearInterval(schedulerTimer);
      schedulerTimer = undefined;
    }
  };
}

/** Draw every chart now, on screen or not (before exporting images). */
export function flushAllCharts(): void {
  for (const d of drawables) if (d.dirty()) d.draw();
}

export interface ChartProps {
  /** Accessible name of the chart (also its visible title). */
  title: string;
  series: RingSeries[];
  xTitle: string;
  yTitle: string;
  /** Shown instead of the chart while every series is empty. */
  emptyText: string;
  height?: number;
  /** x values are counts (steps, runs): ticks only at integers. */
  integerX?: boolean;
  /** Horizontal reference lines (dense, baselines), drawn dashed across the data's x range. */
  refs?: { name: string; y: number }[];
  /** y axis on a log scale (perplexity) */
  logY?: boolean;
  /** For tests and the PNG export (registered in chartElements under this id). */
  testId?: string;
  /**
   * A static plot (no hover, zoom or mode bar): much cheaper to redraw. Used while learning, so a
   * redraw stays a short main-thread task; interactive again when the run pauses or ends.
   */
  still?: boolean;
}

export function Chart({ title, series, xTitle, yTitle, emptyText, height = 240, integerX = false, refs, logY = false, testId, still = false }: ChartProps) {
  const div = useRef<HTMLDivElement>(null);
  // reference lines change rarely: read through a ref so a new table does not restart the chart
  const refsRef = useRef(refs);
  const refsVersion = useRef(0);
  const stillRef = useRef(still);
  if (refsRef.current !== refs || stillRef.current !== still) {
    refsRef.current = refs;
    stillRef.current = still;
    refsVersion.current++;
  }
  const [empty, setEmpty] = useState(() => series.every((s) => s.length === 0));
  const [loadError, setLoadError] = useState<string | null>(null);

  useEffect(() => {
    const el = div.current;
    if (!el) return;
    let cancelled = false;
    let drawn: number[] = series.map(() => -1);
    let drawnRefs = -1;
    if (testId) chartElements.set(testId, el);
    let unregister: (() => void) | undefined;
    let observer: IntersectionObserver | undefined;
    let plotly: typeof import('plotly.js-dist-min').default | null = null;

    const dirty = () => series.some((s, i) => s.version !== drawn[i]) || drawnRefs !== refsVersion.current;
    const annotate = () => {
      const n = Math.max(0, ...series.map((s) => s.length));
      if (el.dataset.points !== String(n)) el.dataset.points = String(n);
      setEmpty(n === 0);
    };
    const me: Drawable = { dirty, annotate, visible: true, waitingSince: 0, draw: () => draw() };
    const draw = () => {
      const versions = series.map((s) => s.version);
      if (!dirty()) return;
      me.waitingSince = performance.now();
      drawn = versions;
      drawnRefs = refsVersion.current;
      const isEmpty = series.every((s) => s.length === 0);
      setEmpty(isEmpty);
      if (!plotly || isEmpty) return;
      // markers only while there are few points: hundreds of SVG markers make every redraw slower
      const data = series.map((s) => ({ type: 'scatter' as const, mode: s.length > 60 ? ('lines' as const) : ('lines+markers' as const), name: s.name, ...s.toArrays() }));
      el.dataset.points = String(Math.max(...data.map((d) => d.x.length)));
      const span = Math.max(1, ...data.map((d) => (d.x.length ? d.x[d.x.length - 1] - d.x[0] : 0)));
      const xs = data.flatMap((d) => (d.x.length ? [d.x[0], d.x[d.x.length - 1]] : []));
      const x0 = Math.min(...xs);
      const x1 = Math.max(...xs);
      const lines = (refsRef.current ?? []).filter((r) => Number.isFinite(r.y)).map((r) => ({
        type: 'scatter' as const, mode: 'lines' as const, name: r.name, x: [x0, x1], y: [r.y, r.y], line: { dash: 'dash' as const, width: 1.5 }, hoverinfo: 'name+y' as const,
      }));
      // About ten integer ticks; Plotly's automatic ticks would put some at 0.5, 1.5, … for a few points.
      const xTicks = integerX ? { tickformat: 'd', dtick: Math.max(1, Math.ceil(span / 10)) } : {};
      const legend = series.length + lines.length > 1;
      const t0 = performance.now();
      void plotly.react(el, [...data, ...lines], {
        height: legend ? height + 60 : height,
        margin: { l: 56, r: 16, t: 8, b: legend ? 104 : 44 },
        xaxis: { title: { text: xTitle }, ...xTicks },
        yaxis: logY ? { title: { text: yTitle }, type: 'log' } : { title: { text: yTitle }, rangemode: 'tozero' },
        showlegend: legend,
        legend: { orientation: 'h', x: 0, y: -0.3, yanchor: 'top' },
        paper_bgcolor: 'rgba(0,0,0,0)',
        plot_bgcolor: 'rgba(0,0,0,0)',
      }, stillRef.current ? { staticPlot: true, responsive: true } : { displaylogo: false, responsive: true });
      // User Timing entry (DevTools' performance panel; the e2e test reads them): the synchronous part of a redraw
      performance.measure('chart:draw', { start: t0, detail: testId ?? title });
    };

    import('plotly.js-dist-min')
      .then((m) => {
        if (cancelled) return;
        plotly = m.default;
        drawn = series.map(() => -1);
        draw();
        unregister = register(me);
        const box = el.parentElement ?? el;
        observer = new IntersectionObserver((entries) => {
          for (const e of entries) me.visible = e.isIntersecting;
        });
        observer.observe(box);
      })
      .catch((e: unknown) => setLoadError(`The chart library failed to load: ${e instanceof Error ? e.message : String(e)}`));

    return () => {
      cancelled = true;
      unregister?.();
      observer?.disconnect();
      if (plotly) plotly.purge(el);
      if (testId && chartElements.get(testId) === el) chartElements.delete(testId);
    };
  }, [series, xTitle, yTitle, height, integerX, logY, testId]);

  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      {loadError && <p className="chart-note error-text">{loadError}</p>}
      {empty && !loadError && <p className="chart-note">{emptyText}</p>}
      <div ref={div} role="img" aria-label={title} hidden={empty} data-testid={testId} style={{ minHeight: empty ? 0 : height }} />
    </figure>
  );
}
