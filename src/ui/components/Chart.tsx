// A Plotly line chart fed by RingSeries. Data never passes through React state: pushing points
// only bumps the series' version, and a timer redraws at most REDRAW_HZ times per second when a
// version changed. Plotly (≈4.8 MB) is loaded lazily so the page shows before it arrives.
import { useEffect, useRef, useState } from 'react';
import type { RingSeries } from '../ring';

const REDRAW_HZ = 10;

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
}

export function Chart({ title, series, xTitle, yTitle, emptyText, height = 240, integerX = false }: ChartProps) {
  const div = useRef<HTMLDivElement>(null);
  const [empty, setEmpty] = useState(() => series.every((s) => s.length === 0));
  const [loadError, setLoadError] = useState<string | null>(null);

  useEffect(() => {
    const el = div.current;
    if (!el) return;
    let cancelled = false;
    let drawn: number[] = series.map(() => -1);
    let timer: ReturnType<typeof setInterval> | undefined;
    let plotly: typeof import('plotly.js-dist-min').default | null = null;

    const draw = () => {
      const versions = series.map((s) => s.version);
      if (versions.every((v, i) => v === drawn[i])) return;
      drawn = versions;
      const isEmpty = series.every((s) => s.length === 0);
      setEmpty(isEmpty);
      if (!plotly || isEmpty) return;
      const data = series.map((s) => ({ type: 'scatter' as const, mode: 'lines+markers' as const, name: s.name, ...s.toArrays() }));
      const span = Math.max(1, ...data.map((d) => (d.x.length ? d.x[d.x.length - 1] - d.x[0] : 0)));
      // About ten integer ticks; Plotly's automatic ticks would put some at 0.5, 1.5, … for a few points.
      const xTicks = integerX ? { tickformat: 'd', dtick: Math.max(1, Math.ceil(span / 10)) } : {};
      void plotly.react(el, data, {
        height,
        margin: { l: 56, r: 16, t: 8, b: 44 },
        xaxis: { title: { text: xTitle }, ...xTicks },
        yaxis: { title: { text: yTitle }, rangemode: 'tozero' },
        showlegend: series.length > 1,
        paper_bgcolor: 'rgba(0,0,0,0)',
        plot_bgcolor: 'rgba(0,0,0,0)',
      }, { displaylogo: false, responsive: true });
    };

    import('plotly.js-dist-min')
      .then((m) => {
        if (cancelled) return;
        plotly = m.default;
        drawn = series.map(() => -1);
        draw();
        timer = setInterval(draw, 1000 / REDRAW_HZ);
      })
      .catch((e: unknown) => setLoadError(`The chart library failed to load: ${e instanceof Error ? e.message : String(e)}`));

    return () => {
      cancelled = true;
      if (timer !== undefined) clearInterval(timer);
      if (plotly) plotly.purge(el);
    };
  }, [series, xTitle, yTitle, height, integerX]);

  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      {loadError && <p className="chart-note error-text">{loadError}</p>}
      {empty && !loadError && <p className="chart-note">{emptyText}</p>}
      <div ref={div} role="img" aria-label={title} hidden={empty} style={{ minHeight: empty ? 0 : height }} />
    </figure>
  );
}
