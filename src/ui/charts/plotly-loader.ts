// One shared, early import of plotly.js. Evaluating its ~3.5 MB bundle is a single main-thread task
// of 1–3 s on a slow machine that cannot be split: main.tsx starts it right after the first render,
// so it runs while the page is idle, before any run can be learning (loading a model and compiling
// its shaders take longer), instead of in the middle of one when the first chart appears.
type PlotlyModule = typeof import('plotly.js-dist-min');

let pending: Promise<PlotlyModule['default']> | null = null;

export function loadPlotly(): Promise<PlotlyModule['default']> {
  pending ??= import('plotly.js-dist-min').then((m) => m.default);
  return pending;
}

/** Starts the import after the first paint (errors surface where a chart awaits loadPlotly()). */
export function preloadPlotly(): void {
  setTimeout(() => void loadPlotly().catch(() => {}), 0);
}
