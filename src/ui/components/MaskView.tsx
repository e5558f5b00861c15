// The layer map (the "mask view" panel): small multiples of every masked layer (LayerMapThumbs), and
// one layer large — its cells tiled to fill the panel's width (src/ui/layer-map.ts: a tall thin layer
// is wrapped into bands side by side), coloured by the kept weights with |w| as intensity, the
// confidence softmax(κπ), the chosen candidate or the disagreement with the prior; groups flipped
// since the last evaluation are marked in red on an overlay that blinks when an evaluation brings
// new flips. Hovering a cell describes it; a click selects its group for the group view above
// (linked views: the store's selectGroup, which GroupView reads). The data is computed and
// downsampled in the worker (src/lab/layer-map.ts): the page gets only the cells it draws, one per
// weight when the layer fits the budget. Paints are ImageData into canvases, one per frame.
import { useEffect, useMemo, useRef, useState, type MouseEvent } from 'react';
import { nmPattern } from '../../sparsity/patterns';
import type { LayerMapData, LayerSummariesData } from '../../lab/worker-api';
import { useLab } from '../../state/store';
import { cellAt, cellOrigin, describeTiling, tileLayout, type Tiling } from '../layer-map';
import { paintCells, type MapMode } from '../layer-map-paint';
import { LayerMapThumbs, shortName } from './LayerMapThumbs';

// Colour-blind-safe categorical palette (Okabe–Ito) for up to 8 candidates, then repeats.
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];

function hex(c: string): [number, number, number] {
  return [parseInt(c.slice(1, 3), 16), parseInt(c.slice(3, 5), 16), parseInt(c.slice(5, 7), 16)];
}

const PALETTE_RGB = PALETTE.map(hex);

/** Cells the large map asks the worker for (one per weight when the layer has at most this many weights). */
const MAP_CELLS = 1 << 17;
/** Cells per thumbnail. */
const THUMB_CELLS = 4096;

const MODES: { value: MapMode; label: string }[] = [
  { value: 'weights', label: 'kept weights (|w|)' },
  { value: 'confidence', label: 'confidence' },
  { value: 'candidate', label: 'chosen candidate' },
  { value: 'prior', label: 'differs from the prior' },
];

/** A confidence byte back to softmax(κπ) of the choice (approximately: 255 steps between 1/C and 1). */
const confOf = (b: number, C: number) => 1 / C + (1 - 1 / C) * (b / 255);

/** What the cell under the pointer is, and the group a click selects. */
export interface CellInfo {
  text: string;
  group: number;
  row: number;
  /** the group's first weight column (input) */
  col: number;
}

/** Describes cell (row, col) of the map; fx, fy in [0, 1) place the pointer inside a block. */
export function describeCell(d: LayerMapData, row: number, col: number, fx: number, fy: number, C: number): CellInfo {
  const i = row * d.outCols + col;
  const flips = d.flips[i];
  if (d.perWeight) {
    const gcol = Math.floor(col / d.m);
    const k = col % d.m;
    const group = row * d.perRow + gcol;
    const kept = Array.from({ length: d.m }, (_, j) => d.kept[row * d.outCols + gcol * d.m + j]);
    const keptNames = kept.flatMap((v, j) => (v ? [`w${j}`] : [])).join(', ');
    const absW = (d.weight[i] / 255) * d.scale;
    const text =
      `${d.site} · output ${row}, group ${group} (inputs ${gcol * d.m}–${gcol * d.m + d.m - 1}) · keeps ${keptNames} (${kept.map((v) => (v ? '■' : '□')).join('')})` +
      ` · w${k} ${kept[k] ? 'kept' : 'pruned'}, |w| ${d.weight[i] === 255 ? '≥' : '≈'} ${absW.toPrecision(2)} · confidence ≈ ${confOf(d.confidence[i], C).toFixed(2)}` +
      (d.differs && d.differs[i] ? ` · differs from the ${d.prior} prior` : '') +
      (flips ? ' · flipped since the last evaluation' : '');
    return { text, group, row, col: gcol * d.m };
  }
  const r0 = row * d.fr;
  const r1 = Math.min(d.rows, r0 + d.fr) - 1;
  const g0 = col * d.fg;
  const g1 = Math.min(d.perRow, g0 + d.fg) - 1;
  const r = Math.min(r1, r0 + Math.floor(fy * (r1 - r0 + 1)));
  const gc = Math.min(g1, g0 + Math.floor(fx * (g1 - g0 + 1)));
  const group = r * d.perRow + gc;
  const text =
    `${d.site} · outputs ${r0}–${r1} × groups ${g0}–${g1} along the input (${(r1 - r0 + 1) * (g1 - g0 + 1)} groups): mean confidence ≈ ${confOf(d.confidence[i], C).toFixed(2)}, ` +
    `${(100 * (d.kept[i] / 255)).toFixed(0)}% of |w| kept, ${flips} flipped` +
    (d.differs ? `, ${(100 * (d.differs[i] / 255)).toFixed(0)}% differ from the ${d.prior} prior` : '') +
    ` · a click shows output ${r}, group ${group}`;
  return { text, group, row: r, col: gc * d.m };
}

function paint(canvas: HTMLCanvasElement | null, d: LayerMapData, t: Tiling, mode: MapMode, flipsOnly: boolean): void {
  if (!canvas) return;
  const t0 = performance.now();
  // assigning width or height reallocates the bitmap even when the value is the same
  if (canvas.width !== t.width) canvas.width = t.width;
  if (canvas.height !== t.height) canvas.height = t.height;
  // willReadFrequently: a CPU-backed canvas. A GPU-backed 2D canvas talks to the GPU process, which
  // is busy with the learning (on a software adapter it is the CPU): the main thread then waits.
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) return;
  const img = ctx.createImageData(t.width, t.height);
  paintCells(img.data, t, d, mode, PALETTE_RGB, flipsOnly);
  ctx.putImageData(img, 0, 0);
  // User Timing entry (the lab e2e lists these next to the chart draws)
  performance.measure('maskview:paint', { start: t0, detail: { what: flipsOnly ? 'flips' : mode, cells: d.outRows * d.outCols } });
}

const reducedMotion = () => globalThis.matchMedia?.('(prefers-reduced-motion: reduce)').matches ?? false;

export function MaskView() {
  const model = useLab((s) => s.model);
  const loaded = useLab((s) => s.loaded);
  const evaluations = useLab((s) => s.run.evaluations);
  const fetchMap = useLab((s) => s.layerMap);
  const fetchSummaries = useLab((s) => s.layerSummaries);
  const selectGroup = useLab((s) => s.selectGroup);
  const selected = useLab((s) => s.selectedGroup);
  // the step only matters while paused (Step once): while learning, re-rendering every step is waste
  const pausedStep = useLab((s) => (s.run.state === 'paused' ? s.run.step : -1));
  const state = useLab((s) => s.run.state);
  const [site, setSite] = useState(0);
  const [mode, setMode] = useState<MapMode>('weights');
  const [showFlips, setShowFlips] = useState(true);
  const [zoom, setZoom] = useState(1);
  const [data, setData] = useState<LayerMapData | null>(null);
  const [sums, setSums] = useState<LayerSummariesData | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [width, setWidth] = useState(600);
  const mapRef = useRef<HTMLCanvasElement>(null);
  const flipRef = useRef<HTMLCanvasElement>(null);
  const boxRef = useRef<HTMLDivElement>(null);
  const hoverRef = useRef<HTMLParagraphElement>(null);
  const C = loaded ? nmPattern(loaded.n, loaded.m).candidates.length : 6;
  const available = !!model && loaded?.method === 'maskllm' && state !== 'loading' && state !== 'idle';
  const sites = useMemo(() => (model?.sites ?? []).map((s) => s.name), [model]);

  // a group selected elsewhere on another layer (a load, the group view's own choice): show that layer
  useEffect(() => {
    // eslint-disable-next-line react-hooks/set-state-in-effect
    if (selected.site < sites.length) setSite(selected.site);
  }, [selected.site, sites.length]);

  const refresh = async () => {
    if (!available) return;
    try {
      const s = Math.min(site, Math.max(0, sites.length - 1));
      const [d, sum] = await Promise.all([fetchMap(s, MAP_CELLS), fetchSummaries(THUMB_CELLS)]);
      setData(d);
      setSums(sum);
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

  // the panel's width decides the tiling
  useEffect(() => {
    const el = boxRef.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(Math.max(120, Math.floor(el.clientWidth) - 4))); // less the scroll box's border
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // Make both 2D contexts now, on mount, not in the first paint: that paint comes right when learning
  // starts, and creating a canvas context then waited ~180 ms on a GPU process busy with the
  // learning's WebGPU work (one long animation frame in the lab e2e). Same reason as in Chart.tsx.
  useEffect(() => {
    for (const c of [mapRef.current, flipRef.current]) {
      const ctx = c?.getContext('2d', { willReadFrequently: true });
      ctx?.putImageData(ctx.createImageData(1, 1), 0, 0); // the first draw, too, before any learning
    }
  }, []);

  const maxHeight = Math.max(160, Math.min(440, Math.round((globalThis.innerHeight ?? 800) * 0.5)));
  const tiling = useMemo(
    () =>
      data
        ? tileLayout(
            data.outRows,
            data.outCols,
            { width: width * zoom, maxHeight: maxHeight * zoom },
            { unit: data.perWeight ? data.m : 1, maxScale: 16 * zoom },
          )
        : null,
    [data, width, zoom, maxHeight],
  );

  // One canvas per animation frame: each paint resizes a canvas and uploads its pixels, and both
  // together right after an evaluation (or at the start of learning) made one long main-thread task.
  useEffect(() => {
    if (!data || !tiling) return;
    let second = 0;
    const first = requestAnimationFrame(() => {
      paint(mapRef.current, data, tiling, mode, false);
      second = requestAnimationFrame(() => paint(flipRef.current, data, tiling, mode, true));
    });
    return () => {
      cancelAnimationFrame(first);
      cancelAnimationFrame(second);
    };
  }, [data, tiling, mode]);

  // new flips: the overlay blinks a few times (a compositor animation of its opacity, no repaint)
  const lastFlipStep = useRef(-1);
  useEffect(() => {
    if (!data || !data.flipped || !showFlips || data.step === lastFlipStep.current) return;
    lastFlipStep.current = data.step;
    if (reducedMotion()) return;
    flipRef.current?.animate?.([{ opacity: 1 }, { opacity: 0.1 }, { opacity: 1 }], { duration: 600, iterations: 4, easing: 'ease-in-out' });
  }, [data, showFlips]);

  const locate = (ev: MouseEvent<HTMLCanvasElement>): CellInfo | null => {
    if (!data || !tiling) return null;
    const box = ev.currentTarget.getBoundingClientRect();
    const x = ((ev.clientX - box.left) / box.width) * tiling.width;
    const y = ((ev.clientY - box.top) / box.height) * tiling.height;
    const cell = cellAt(tiling, x, y);
    if (!cell) return null;
    return describeCell(data, cell.row, cell.col, x - Math.floor(x), y - Math.floor(y), C);
  };
  // hover: the description is written into one element directly (no React render per mouse move)
  const hoverFrame = useRef(0);
  const onMove = (ev: MouseEvent<HTMLCanvasElement>) => {
    const info = locate(ev);
    cancelAnimationFrame(hoverFrame.current);
    hoverFrame.current = requestAnimationFrame(() => {
      const el = hoverRef.current;
      if (!el) return;
      el.textContent = info ? info.text : HOVER_HINT;
      el.dataset.group = info ? String(info.group) : '';
    });
  };
  const onLeave = () => {
    cancelAnimationFrame(hoverFrame.current);
    if (hoverRef.current) {
      hoverRef.current.textContent = HOVER_HINT;
      hoverRef.current.dataset.group = '';
    }
  };
  // a click on a cell selects its group for the group view (linked views)
  const pick = (ev: MouseEvent<HTMLCanvasElement>) => {
    const info = locate(ev);
    if (!info || !data) return;
    selectGroup(data.siteIndex, info.group);
    if (hoverRef.current) hoverRef.current.textContent = `${info.text} — shown in “One group, up close” above.`;
  };

  const layerSum = sums?.layers[data?.siteIndex ?? -1];
  const meanConf = layerSum?.meanConfidence;
  const marker = data && tiling && selected.site === data.siteIndex ? markerBox(data, tiling, selected.group) : null;
  const showing = !!(data && available && tiling);
  const cssW = tiling ? tiling.width * tiling.scale : 0;
  const cssH = tiling ? tiling.height * tiling.scale : 0;

  return (
    <section className="panel panel-wide" aria-labelledby="maskview-title" data-testid="mask-view">
      <div className="panel-head">
        <h2 id="maskview-title">Layer map</h2>
        <div className="inline-controls">
          <label htmlFor="mask-site">Layer</label>
          <select id="mask-site" value={site} onChange={(e) => setSite(Number(e.target.value))} disabled={!model}>
            {sites.map((s, i) => (
              <option key={s} value={i}>
                {s}
              </option>
            ))}
          </select>
          <label htmlFor="mask-mode">Colour</label>
          <select id="mask-mode" value={mode} onChange={(e) => setMode(e.target.value as MapMode)} data-testid="layer-map-mode">
            {MODES.map((m) => (
              <option key={m.value} value={m.value} disabled={m.value === 'prior' && !!data && !data.differs}>
                {m.label}
              </option>
            ))}
          </select>
          <label className="inline-check">
            <input type="checkbox" checked={showFlips} onChange={(e) => setShowFlips(e.target.checked)} /> flips
          </label>
          <label htmlFor="mask-zoom">Zoom</label>
          <select id="mask-zoom" value={zoom} onChange={(e) => setZoom(Number(e.target.value))}>
            {[1, 2, 4].map((z) => (
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
      {!available && <p className="chart-note">The layer map shows a MaskLLM run once its model is loaded.</p>}
      {error && <p className="error-text small">{error}</p>}
      {/* Mounted as soon as the model's layers are known (during loading), with an empty thumbnail each:
          their canvases' 2D contexts are made then, not when learning has started (see the mount effect). */}
      {sites.length > 0 && (loaded?.method ?? 'maskllm') === 'maskllm' && (
        <LayerMapThumbs sites={sites} layers={sums?.layers ?? null} prior={sums?.prior ?? null} current={data?.siteIndex ?? site} onOpen={(i) => setSite(i)} />
      )}
      {showing && data && tiling && (
        <p className="small" data-testid="mask-view-summary">
          <span className="mono">{shortName(data.site)}</span> at step {data.step}: {data.rows} output rows × {data.perRow} groups of {data.m} inputs,{' '}
          {data.perWeight ? 'one cell per weight' : `one cell per block of ${data.fr} rows × ${data.fg} groups`},{' '}
          {describeTiling(tiling, { rows: 'output rows', cols: data.perWeight ? 'inputs' : 'group blocks' })}
          {meanConf !== undefined && <>; mean confidence {meanConf.toFixed(3)}</>}; <span className="flip-text">{data.flipped} groups flipped</span> since the
          last evaluation
          {layerSum && layerSum.agreement !== null && (
            <>
              ; {(100 * layerSum.agreement).toFixed(1)}% of groups keep the {data.prior} prior&apos;s choice
            </>
          )}
          .
        </p>
      )}
      {/* The canvases stay mounted (hidden until there is a map) so their 2D contexts exist before learning starts: see the mount effect. */}
      <div ref={boxRef} className="layer-map-box" hidden={!showing}>
        <div className="map-scroll layer-map-scroll" data-scroll-container>
          <div className="layer-map-stack" style={{ width: cssW, height: cssH }}>
            <canvas
              ref={mapRef}
              style={{ width: cssW, height: cssH }}
              role="img"
              aria-label={`${MODES.find((m) => m.value === mode)?.label} of ${data?.site ?? 'the layer'}; hover a cell to read it, click it to see its group up close`}
              onClick={pick}
              onMouseMove={onMove}
              onMouseLeave={onLeave}
              data-testid="layer-map-canvas"
              data-direction={tiling?.direction}
              data-bands={tiling?.bands}
              data-band-rows={tiling?.bandRows}
              data-band-cols={tiling?.bandCols}
              data-gap={tiling?.gap}
              data-grid-width={tiling?.width}
              data-grid-height={tiling?.height}
              data-rows={data?.outRows}
              data-cols={data?.outCols}
              data-per-weight={data ? String(data.perWeight) : undefined}
              data-m={data?.m}
              data-site={data?.site}
            />
            <canvas
              ref={flipRef}
              className="layer-map-flips"
              style={{ width: cssW, height: cssH }}
              hidden={!showFlips}
              aria-hidden="true"
              data-testid="layer-map-flips"
            />
            {marker && (
              <span
                className="layer-map-marker"
                style={{
                  left: marker.x * tiling!.scale - 2,
                  top: marker.y * tiling!.scale - 2,
                  width: marker.w * tiling!.scale + 4,
                  height: tiling!.scale + 4,
                }}
                aria-hidden="true"
                data-testid="layer-map-marker"
              />
            )}
          </div>
        </div>
        <p className="small layer-map-hover" ref={hoverRef} data-testid="layer-map-hover">
          {HOVER_HINT}
        </p>
        <Legend mode={mode} C={C} n={loaded?.n ?? 2} m={loaded?.m ?? 4} prior={data?.prior ?? null} />
      </div>
    </section>
  );
}

const HOVER_HINT = 'Hover a cell to read it; click it to see its group up close in the group view.';

/** Where the selected group is drawn (cells): per weight its m cells, else its block's cell. */
function markerBox(d: LayerMapData, t: Tiling, group: number): { x: number; y: number; w: number } | null {
  const row = Math.floor(group / d.perRow);
  const gcol = group % d.perRow;
  if (row >= d.rows) return null;
  if (d.perWeight) return { ...cellOrigin(t, row, gcol * d.m), w: d.m };
  return { ...cellOrigin(t, Math.floor(row / d.fr), Math.floor(gcol / d.fg)), w: 1 };
}

function Legend({ mode, C, n, m, prior }: { mode: MapMode; C: number; n: number; m: number; prior: string | null }) {
  if (mode === 'candidate') {
    return (
      <ul className="legend" aria-label="Candidates">
        {nmPattern(n, m)
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
        <FlipKey />
      </ul>
    );
  }
  const keys: [string, string][] =
    mode === 'weights'
      ? [
          ['linear-gradient(90deg, rgb(170,200,235), rgb(8,48,107))', 'kept, small → large |w|'],
          ['linear-gradient(90deg, rgb(248,248,248), rgb(150,150,150))', 'pruned, small → large |w|'],
        ]
      : mode === 'confidence'
        ? [['linear-gradient(90deg, #fff, rgb(25,55,155))', `softmax(κπ) of the choice: 1/${C} (uniform) → 1 (certain)`]]
        : [
            ['rgb(236,236,236)', `same choice as the ${prior ?? ''} prior`],
            ['rgb(230,97,1)', 'a different choice'],
          ];
  return (
    <ul className="legend" aria-label="Colours">
      {keys.map(([bg, label]) => (
        <li key={label}>
          <span className="swatch swatch-wide" style={{ background: bg }} />
          <span className="small">{label}</span>
        </li>
      ))}
      <FlipKey />
    </ul>
  );
}

function FlipKey() {
  return (
    <li>
      <span className="swatch" style={{ background: 'rgb(220,0,0)' }} />
      <span className="small">flipped since the last evaluation</span>
    </li>
  );
}

/** A candidate as kept (■) and pruned (□) positions. */
function candidateText(c: Uint8Array): string {
  return Array.from(c, (v) => (v ? '■' : '□')).join('');
}
