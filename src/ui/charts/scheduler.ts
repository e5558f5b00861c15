// One redraw scheduler for every chart on the page. A timer ticks REDRAW_HZ times per second:
// - every chart updates its bookkeeping (point count, empty state), drawn or not;
// - canvas redraws (a few ms each) are queued and run ONE PER ANIMATION FRAME, so even five charts
//   changing at once never add up to one long task;
// - at most one Plotly redraw per tick (tens of ms each on a slow machine), the chart waiting
//   longest first. Plotly only draws when learning is not running (Chart.tsx decides).
// Charts off screen are not drawn (flushAll draws their Plotly figures before an export: while
// learning runs that is one long task, on the user's click, and the figures stay hidden).

export const REDRAW_HZ = 10;

export interface ChartJob {
  /** on screen (IntersectionObserver) */
  visible: boolean;
  /** Cheap bookkeeping every tick. */
  annotate(): void;
  canvasDirty(): boolean;
  drawCanvas(): void;
  /** Plotly's figure is behind the data; `forExport` also while learning runs (flushAll). */
  plotlyDirty(forExport?: boolean): boolean;
  drawPlotly(): void;
  /** when Plotly last drew this chart: the least recently drawn dirty chart goes first */
  plotlyDrawnAt: number;
}

const jobs = new Set<ChartJob>();
const canvasQueue = new Set<ChartJob>();
let timer: ReturnType<typeof setInterval> | undefined;
let frame: number | undefined;

function drainOne(): void {
  frame = undefined;
  for (const j of canvasQueue) {
    canvasQueue.delete(j);
    // state may have moved on since it was queued (switched renderer, scrolled away, unmounted)
    if (jobs.has(j) && j.visible && j.canvasDirty()) {
      j.drawCanvas();
      break;
    }
  }
  if (canvasQueue.size) frame = requestAnimationFrame(drainOne);
}

/** Queue a canvas redraw for a coming animation frame (also used right after a renderer switch). */
export function requestCanvas(j: ChartJob): void {
  canvasQueue.add(j);
  frame ??= requestAnimationFrame(drainOne);
}

function tick(): void {
  let pick: ChartJob | null = null;
  for (const j of jobs) {
    j.annotate();
    if (!j.visible) continue;
    if (j.canvasDirty()) requestCanvas(j);
    if (j.plotlyDirty() && (!pick || j.plotlyDrawnAt < pick.plotlyDrawnAt)) pick = j;
  }
  pick?.drawPlotly();
}

export function registerChart(j: ChartJob): () => void {
  jobs.add(j);
  timer ??= setInterval(tick, 1000 / REDRAW_HZ);
  return () => {
    jobs.delete(j);
    canvasQueue.delete(j);
    if (jobs.size === 0) {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      if (frame !== undefined) cancelAnimationFrame(frame);
      frame = undefined;
    }
  };
}

/** Bring every chart's Plotly figure up to date now, on screen or not (before exporting images). */
export function flushAll(): void {
  for (const j of jobs) if (j.plotlyDirty(true)) j.drawPlotly();
}
