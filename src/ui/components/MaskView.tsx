// The mask view of one masked Linear: one pixel per group (output rows down, groups along the input
// across), coloured by the chosen candidate, and a second map of its confidence; groups whose
// choice flipped since the last evaluation are drawn in red on the confidence map. Zoom scales
// the pixels (nearest neighbour) inside a scrolling box.
import { useEffect, useRef, useState, type MouseEvent } from 'react';
import { nmPattern } from '../../sparsity/patterns';
import type { MaskViewData } from '../../lab/worker-api';
import { useLab } from '../../state/store';

// Colour-blind-safe categorical palette (Okabe–Ito) for up to 8 candidates, then repeats.
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];

function hex(c: string): [number, number, number] {
  return [parseInt(c.slice(1, 3), 16), parseInt(c.slice(3, 5), 16), parseInt(c.slice(5, 7), 16)];
}

const PALETTE_RGB = PALETTE.map(hex);

/**
 * One pixel per group. Runs on the main thread after every evaluation, so it writes the bytes
 * straight into the ImageData (no per-pixel arrays: a GPT-2-sized layer has ~600k groups).
 */
function paint(canvas: HTMLCanvasElement | null, v: MaskViewData, what: 'choice' | 'confidence', C: number): void {
  if (!canvas) return;
  const t0 = performance.now();
  const perRow = v.groups / v.rows;
  // assigning width or height reallocates the bitmap even when the value is the same
  if (canvas.width !== perRow) canvas.width = perRow;
  if (canvas.height !== v.rows) canvas.height = v.rows;
  // willReadFrequently: a CPU-backed canvas. A GPU-backed 2D canvas talks to the GPU process, which
  // is busy with the learning (on a software adapter it is the CPU): the main thread then waits.
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) return;
  const img = ctx.createImageData(perRow, v.rows);
  const px = img.data;
  const nCols = PALETTE_RGB.length;
  const floor = 1 / C;
  for (let g = 0, o = 0; g < v.groups; g++, o += 4) {
    if (what === 'choice') {
      const c = PALETTE_RGB[v.choice[g] % nCols];
      px[o] = c[0];
      px[o + 1] = c[1];
      px[o + 2] = c[2];
    } else if (v.flipped[g]) {
      px[o] = 220;
      px[o + 1] = 0;
      px[o + 2] = 0;
    } else {
      // confidence 1/C (uniform) → white, 1 → dark blue
      const t = Math.max(0, Math.min(1, (v.confidence[g] - floor) / (1 - floor)));
      px[o] = 255 - 230 * t;
      px[o + 1] = 255 - 200 * t;
      px[o + 2] = 255 - 100 * t;
    }
    px[o + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  // User Timing entry (the lab e2e lists these next to the chart draws)
  performance.measure('maskview:paint', { start: t0, detail: { what, groups: v.groups } });
}

export function MaskView() {
  const model = useLab((s) => s.model);
  const loaded = useLab((s) => s.loaded);
  const evaluations = useLab((s) => s.run.evaluations);
  const maskView = useLab((s) => s.maskView);
  const selectGroup = useLab((s) => s.selectGroup);
  // the step only matters while paused (Step once): while learning, re-rendering every step is waste
  const pausedStep = useLab((s) => (s.run.state === 'paused' ? s.run.step : -1));
  const state = useLab((s) => s.run.state);
  const [site, setSite] = useState(0);
  const [zoom, setZoom] = useState(4);
  const [data, setData] = useState<MaskViewData | null>(null);
  const [error, setError] = useState<string | null>(null);
  const choiceRef = useRef<HTMLCanvasElement>(null);
  const confRef = useRef<HTMLCanvasElement>(null);
  const C = loaded ? nmPattern(loaded.n, loaded.m).candidates.length : 6;
  const available = !!model && loaded?.method === 'maskllm' && state !== 'loading' && state !== 'idle';

  const refresh = async () => {
    if (!available) return;
    try {
      setData(await maskView(site));
      setError(null);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  // refresh on a new evaluation (flips are counted against it), a new site, and when a run pauses
  // refresh() sets state only after awaiting the worker, not synchronously in the effect
  useEffect(() => {
    // eslint-disable-next-line react-hooks/set-state-in-effect
    void refresh();
  }, [site, evaluations, available, pausedStep]); // eslint-disable-line react-hooks/exhaustive-deps

  // Make both 2D contexts now, on mount, not in the first paint: that paint comes right when learning
  // starts, and creating a canvas context then waited ~180 ms on a GPU process busy with the
  // learning's WebGPU work (one long animation frame in the lab e2e). Same reason as in Chart.tsx.
  useEffect(() => {
    for (const c of [choiceRef.current, confRef.current]) {
      const ctx = c?.getContext('2d', { willReadFrequently: true });
      ctx?.putImageData(ctx.createImageData(1, 1), 0, 0); // the first draw, too, before any learning
    }
  }, []);

  // One map per animation frame: each paint resizes a canvas and uploads its pixels, and both
  // together right after an evaluation (or at the start of learning) made one long main-thread task.
  useEffect(() => {
    if (!data) return;
    let second = 0;
    const first = requestAnimationFrame(() => {
      paint(choiceRef.current, data, 'choice', C);
      second = requestAnimationFrame(() => paint(confRef.current, data, 'confidence', C));
    });
    return () => {
      cancelAnimationFrame(first);
      cancelAnimationFrame(second);
    };
  }, [data, C]);

  // a click on a cell selects its group for the group view (linked views)
  const pick = (ev: MouseEvent<HTMLCanvasElement>) => {
    if (!data) return;
    const box = ev.currentTarget.getBoundingClientRect();
    const perRowNow = data.groups / data.rows;
    const gx = Math.floor(((ev.clientX - box.left) / box.width) * perRowNow);
    const gy = Math.floor(((ev.clientY - box.top) / box.height) * data.rows);
    if (gx < 0 || gy < 0 || gx >= perRowNow || gy >= data.rows) return;
    selectGroup(site, gy * perRowNow + gx);
  };

  const flips = data ? data.flipped.reduce((a, b) => a + b, 0) : 0;
  const meanConf = data ? data.confidence.reduce((a, b) => a + b, 0) / Math.max(1, data.groups) : 0;
  const perRow = data ? data.groups / data.rows : 0;
  const style = data ? { width: perRow * zoom, height: data.rows * zoom } : undefined;

  return (
    <section className="panel panel-wide" aria-labelledby="maskview-title" data-testid="mask-view">
      <div className="panel-head">
        <h2 id="maskview-title">Mask view</h2>
        <div className="inline-controls">
          <label htmlFor="mask-site">Layer</label>
          <select id="mask-site" value={site} onChange={(e) => setSite(Number(e.target.value))} disabled={!model}>
            {(model?.sites ?? []).map((s, i) => (
              <option key={s.name} value={i}>
                {s.name}
              </option>
            ))}
          </select>
          <label htmlFor="mask-zoom">Zoom</label>
          <select id="mask-zoom" value={zoom} onChange={(e) => setZoom(Number(e.target.value))}>
            {[1, 2, 4, 8, 16].map((z) => (
              <option key={z} value={z}>
                {z}×
              </option>
            ))}
          </select>
          <button type="button" className="secondary" onClick={() => void refresh()} disabled={!available}>
            Refresh
          </button>
        </div>
      </div>
      {!available && <p className="chart-note">The mask view shows a MaskLLM run once its model is loaded.</p>}
      {error && <p className="error-text small">{error}</p>}
      {data && available && (
        <p className="small" data-testid="mask-view-summary">
          {data.site} at step {data.step}: {data.rows} output rows × {perRow} groups of {loaded?.m} inputs; mean confidence {meanConf.toFixed(3)};{' '}
          <span className="flip-text">{flips} groups flipped</span> since the last evaluation.
        </p>
      )}
      {/* The canvases stay mounted (hidden until there is a map) so their 2D contexts exist before learning starts: see the mount effect. */}
      <div className="maps" hidden={!(data && available)}>
        <figure>
          <figcaption>Chosen candidate per group</figcaption>
          <div className="map-scroll" data-scroll-container>
            <canvas
              ref={choiceRef}
              style={style}
              role="img"
              aria-label={`Chosen candidate per group of ${data?.site ?? 'the layer'}; click a cell to see its group up close`}
              onClick={pick}
              data-testid="mask-choice-map"
            />
          </div>
          {loaded && (
            <ul className="legend" aria-label="Candidates">
              {nmPattern(loaded.n, loaded.m)
                .candidates.slice(0, PALETTE.length)
                .map((c, i) => (
                  <li key={i}>
                    <span className="swatch" style={{ background: PALETTE[i] }} />
                    <span className="mono">{candidateText(c)}</span>
                  </li>
                ))}
              {C > PALETTE.length && (
                <li className="small">
                  (colours repeat after {PALETTE.length} of {C} candidates)
                </li>
              )}
            </ul>
          )}
        </figure>
        <figure>
          <figcaption>Confidence softmax(κπ) of the choice (white = uniform, blue = certain; red = flipped)</figcaption>
          <div className="map-scroll" data-scroll-container>
            <canvas
              ref={confRef}
              style={style}
              role="img"
              aria-label={`Confidence per group of ${data?.site ?? 'the layer'}, flipped groups in red; click a cell to see its group up close`}
              onClick={pick}
            />
          </div>
        </figure>
      </div>
    </section>
  );
}

/** A candidate as kept (■) and pruned (□) positions. */
function candidateText(c: Uint8Array): string {
  return Array.from(c, (v) => (v ? '■' : '□')).join('');
}
