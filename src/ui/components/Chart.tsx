// A line chart fed by RingSeries, drawn by one of two renderers:
// - while learning runs (`still`): a small canvas renderer (src/ui/charts/draw-lines.ts). A redraw
//   costs a few ms whatever the series length (decimated to the pixel columns); a Plotly redraw
//   costs 13–86 ms of main-thread work on the CPU (SwiftShader) adapter, which broke the page's
//   50 ms long-task budget while learning;
// - otherwise: the interactive Plotly chart (zoom, hover, mode bar). Plotly (≈4.8 MB) is loaded
//   lazily; until it has drawn, the canvas shows the data.
// Data never passes through React state: pushing points only bumps the series' version, and the
// shared scheduler (src/ui/charts/scheduler.ts) redraws at most 10 times per second.
// The box carries data-points (the longest trace's length, read by the e2e tests) and
// data-renderer ('canvas' | 'plotly', which one is on screen).
import { useEffect, useRef, useState } from 'react';
import { chartElements } from '../../state/live';
import { drawLineChart } from '../charts/draw-lines';
import { plotlyFigure } from '../charts/plotly-figure';
import { flushAll, registerChart, requestCanvas, type ChartJob } from '../charts/scheduler';
import { loadPlotly } from '../charts/plotly-loader';
import type { RingSeries } from '../ring';

/** Bring every chart's Plotly figure up to date now, on screen or not (before exporting images). */
export const flushAllCharts = flushAll;

/** Height added under the plot for the legend when a chart has more than one line. */
const LEGEND_HEIGHT = 60;

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
  /** For tests and the PNG export (its Plotly element is registered in chartElements under this id). */
  testId?: string;
  /**
   * Learning runs: draw with the canvas renderer (no hover, zoom or mode bar; a redraw stays far
   * below the 50 ms long-task budget). Interactive Plotly again when the run pauses or ends.
   */
  still?: boolean;
}

const finite = (refs: ChartProps['refs']) => (refs ?? []).filter((r) => Number.isFinite(r.y));

export function Chart({ title, series, xTitle, yTitle, emptyText, height = 240, integerX = false, refs, logY = false, testId, still = false }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plotDiv = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  // reference lines change rarely: read through a ref so a new table does not restart the chart
  const refsRef = useRef(refs);
  const refsVersion = useRef(0);
  // (a ref written during render on purpose: the chart's effect reads the latest lines without restarting)
  /* eslint-disable react-hooks/refs */
  if (refsRef.current !== refs) {
    refsRef.current = refs;
    refsVersion.current++;
  }
  /* eslint-enable react-hooks/refs */
  const liveRef = useRef(still);
  const setLive = useRef<((live: boolean) => void) | null>(null);
  const [empty, setEmpty] = useState(() => series.every((s) => s.length === 0));
  const [loadError, setLoadError] = useState<string | null>(null);
  const legendHeight = series.length + finite(refs).length > 1 ? LEGEND_HEIGHT : 0;

  useEffect(() => {
    const el = box.current;
    const pd = plotDiv.current;
    const cv = canvas.current;
    if (!el || !pd || !cv) return;
    let cancelled = false;
    const name = testId ?? title;
    const none = () => series.map(() => -1);
    // what each renderer last drew: series versions, reference-line version (and the canvas' size)
    let canvasDrawn = none();
    let canvasRefs = -1;
    let canvasSize = '';
    let plotDrawn = none();
    let plotRefs = -1;
    /** the Plotly element holds a figure of the current series (not one from before a reset) */
    let plotValid = false;
    let showing: 'canvas' | 'plotly' = 'canvas';
    let plotly: typeof import('plotly.js-dist-min').default | null = null;
    // the box's size in CSS pixels, from a ResizeObserver (reading it in a redraw would force layout)
    let cssW = 0;
    let cssH = 0;
    if (testId) chartElements.set(testId, pd);
    // the context is made now (before any run), not in the first redraw while learning
    // willReadFrequently asks for a CPU-backed canvas: an accelerated 2D canvas shares the GPU
    // process with the learning's WebGPU work, and a draw or resize then blocks the main thread
    // while that process is busy (on a software adapter: 130–200 ms tasks at the start of learning).
    const ctx = cv.getContext('2d', { willReadFrequently: true });

    const behind = (drawn: number[]) => series.some((s, i) => s.version !== drawn[i]);
    const isEmpty = () => series.every((s) => s.length === 0);
    const sizeKey = () => `${cssW}x${cssH}@${window.devicePixelRatio || 1}`;
    const show = (r: 'canvas' | 'plotly') => {
      showing = r;
      if (el.dataset.renderer !== r) el.dataset.renderer = r;
    };
    show('canvas');

    const job: ChartJob = {
      visible: true,
      plotlyDrawnAt: 0,
      annotate() {
        const n = Math.max(0, ...series.map((s) => s.length));
        if (el.dataset.points !== String(n)) el.dataset.points = String(n);
        setEmpty(n === 0);
      },
      canvasDirty: () =>
        showing === 'canvas' && cssW > 0 && cssH > 0 && (behind(canvasDrawn) || canvasRefs !== refsVersion.current || canvasSize !== sizeKey()),
      drawCanvas() {
        canvasDrawn = series.map((s) => s.version);
        canvasRefs = refsVersion.current;
        canvasSize = sizeKey();
        if (isEmpty() || !ctx) return;
        const t0 = performance.now();
        const dpr = window.devicePixelRatio || 1;
        const bw = Math.round(cssW * dpr);
        const bh = Math.round(cssH * dpr);
        // setting width/height clears the canvas and reallocates it: only when the size changed
        if (cv.width !== bw || cv.height !== bh) {
          cv.width = bw;
          cv.height = bh;
        }
        ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
        const lines = finite(refsRef.current);
        drawLineChart(
          ctx,
          {
            series: series.map((s) => ({ name: s.name, src: s })),
            refs: lines,
            xTitle,
            yTitle,
            logY,
            integerX,
            legendHeight: series.length + lines.length > 1 ? LEGEND_HEIGHT : 0,
          },
          cssW,
          cssH,
        );
        // User Timing entry (DevTools' performance panel; the lab e2e test reads them)
        performance.measure('chart:draw', { start: t0, detail: { chart: name, renderer: 'canvas' } });
      },
      plotlyDirty: (forExport = false) => plotly !== null && (forExport || !liveRef.current) && (behind(plotDrawn) || plotRefs !== refsVersion.current),
      drawPlotly() {
        if (!plotly) return;
        // data arrived but React has not shown the box yet: Plotly must measure a laid-out element
        // (in display:none it would size the figure 700 px wide); the next tick draws it
        if (el.hidden && !isEmpty()) return;
        plotDrawn = series.map((s) => s.version);
        plotRefs = refsVersion.current;
        job.plotlyDrawnAt = performance.now();
        if (isEmpty()) {
          // nothing to plot (a reset): the old figure must not reappear with the next data
          plotValid = false;
          show('canvas');
          return;
        }
        const lines = finite(refsRef.current);
        const fig = plotlyFigure(series, lines, { xTitle, yTitle, height, legendHeight: series.length + lines.length > 1 ? LEGEND_HEIGHT : 0, integerX, logY });
        const t0 = performance.now();
        const done = plotly.react(pd, fig.data, fig.layout, { displaylogo: false, responsive: true });
        // the synchronous part of a redraw, the one that blocks the main thread
        performance.measure('chart:draw', { start: t0, detail: { chart: name, renderer: 'plotly' } });
        void done.then(
          () => {
            if (cancelled) return;
            plotValid = true;
            // learning may have started again meanwhile: the canvas stays then
            if (!liveRef.current) show('plotly');
          },
          (e: unknown) => console.error(`chart "${name}": Plotly failed to draw`, e),
        );
      },
    };

    setLive.current = (live: boolean) => {
      liveRef.current = live;
      if (live) {
        show('canvas');
        if (job.canvasDirty()) requestCanvas(job); // next frame, not the next tick: the canvas may be stale
      } else if (plotValid && !job.plotlyDirty()) {
        show('plotly'); // nothing new since Plotly last drew
      }
      // else the canvas stays until the scheduler's next Plotly draw resolves
    };

    const unregister = registerChart(job);
    const resize = new ResizeObserver((entries) => {
      const r = entries[entries.length - 1].contentRect;
      cssW = r.width;
      cssH = r.height;
      if (job.visible && job.canvasDirty()) requestCanvas(job);
    });
    resize.observe(el);
    const onScreen = new IntersectionObserver((entries) => {
      for (const e of entries) job.visible = e.isIntersecting;
    });
    onScreen.observe(el.parentElement ?? el);

    loadPlotly()
      .then((m) => {
        if (!cancelled) plotly = m; // the next tick draws it (when learning is not running)
      })
      .catch((e: unknown) =>
        setLoadError(`The interactive chart library failed to load (${e instanceof Error ? e.message : String(e)}); the plain chart stays.`),
      );

    return () => {
      cancelled = true;
      setLive.current = null;
      unregister();
      resize.disconnect();
      onScreen.disconnect();
      if (plotly) plotly.purge(pd);
      if (testId && chartElements.get(testId) === pd) chartElements.delete(testId);
    };
  }, [series, xTitle, yTitle, height, integerX, logY, testId, title]);

  useEffect(() => {
    if (setLive.current) setLive.current(still);
    else liveRef.current = still;
  }, [still]);

  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      {loadError && <p className="chart-note error-text">{loadError}</p>}
      {empty && <p className="chart-note">{emptyText}</p>}
      <div ref={box} className="chart-box" role="img" aria-label={title} hidden={empty} data-testid={testId} style={{ height: height + legendHeight }}>
        <div ref={plotDiv} className="chart-plotly" hidden={empty} />
        <canvas ref={canvas} className="chart-canvas" aria-hidden="true" />
      </div>
    </figure>
  );
}
