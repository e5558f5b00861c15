// The layer map's small multiples: every masked layer as a thumbnail of its confidence (white =
// uniform, blue = certain; red = a group flipped since the last evaluation), with its mean
// confidence, flips and agreement with the prior; a click opens the layer in the large map. The
// worker sends each thumbnail downsampled to a few thousand cells (src/lab/layer-map.ts); one
// canvas per layer, its 2D context made when the model's layers are known (during loading), not
// in a paint while learning runs (see MaskView.tsx).
import { memo, useEffect, useMemo, useRef } from 'react';
import type { LayerSummaryData } from '../../lab/worker-api';
import { cellOrigin, tileLayout, type Tiling } from '../layer-map';
import { paintCells } from '../layer-map-paint';

/** A thumbnail's box (CSS px). */
export const THUMB_BOX = { width: 132, maxHeight: 56 };

/** A masked layer's name without the model's prefix and `.weight`: h.0.attn.c_attn. */
export function shortName(site: string): string {
  return site.replace(/^(transformer|vit|model)\./, '').replace(/\.weight$/, '');
}

export function thumbLabel(l: LayerSummaryData, prior: string | null): string {
  const agree = l.agreement === null ? '' : `, ${(100 * l.agreement).toFixed(0)}% of groups agree with the ${prior ?? ''} prior`;
  return `${l.site}: mean confidence ${l.meanConfidence.toFixed(3)}, ${l.flips} groups flipped since the last evaluation${agree}`;
}

interface ThumbsProps {
  sites: readonly string[];
  layers: LayerSummaryData[] | null;
  prior: string | null;
  current: number;
  onOpen: (site: number) => void;
}

export const LayerMapThumbs = memo(function LayerMapThumbs({ sites, layers, prior, current, onOpen }: ThumbsProps) {
  const canvases = useRef<(HTMLCanvasElement | null)[]>([]);
  const key = sites.join('|');
  // the 2D contexts now (the layers are known at load, before learning), each with a first draw
  useEffect(() => {
    for (const c of canvases.current) {
      const ctx = c?.getContext('2d', { willReadFrequently: true });
      ctx?.putImageData(ctx.createImageData(1, 1), 0, 0);
    }
  }, [key]);
  const tilings = useMemo(() => (layers ?? []).map((l) => tileLayout(l.outRows, l.outCols, THUMB_BOX, { gapPx: 2, maxScale: 8 })), [layers]);
  // One thumbnail per animation frame, starting a while after the data came: the large map paints its
  // two canvases in the frames right after an evaluation, and a thumbnail's resize and upload in the
  // same frame made one long main-thread task in the lab e2e (its 50 ms budget while learning).
  useEffect(() => {
    if (!layers) return;
    let i = 0;
    let frame = 0;
    const next = () => {
      const t0 = performance.now();
      paintThumb(canvases.current[i], layers[i], tilings[i]);
      i++;
      if (i < layers.length) frame = requestAnimationFrame(next);
      else performance.measure('maskview:paint', { start: t0, detail: { what: 'thumbnails', layers: layers.length } });
    };
    const wait = setTimeout(() => (frame = requestAnimationFrame(next)), THUMBS_DELAY_MS);
    return () => {
      clearTimeout(wait);
      cancelAnimationFrame(frame);
    };
  }, [layers, tilings]);

  return (
    <ul className="layer-thumbs" aria-label="Every masked layer" data-testid="layer-thumbs">
      {sites.map((name, i) => {
        const l = layers?.[i] && layers[i].site === name ? layers[i] : null;
        const t = l ? tilings[i] : null;
        return (
          <li key={name}>
            <button
              type="button"
              className="layer-thumb"
              aria-pressed={i === current}
              onClick={() => onOpen(i)}
              aria-label={l ? `Open ${thumbLabel(l, prior)}` : `Open ${name}`}
              title={l ? thumbLabel(l, prior) : name}
              data-testid="layer-thumb"
              data-site={name}
              data-flips={l?.flips}
              data-confidence={l?.meanConfidence}
            >
              <span className="layer-thumb-name mono">{shortName(name)}</span>
              <span className="layer-thumb-box">
                <canvas
                  ref={(el) => {
                    canvases.current[i] = el;
                  }}
                  style={t ? { width: t.width * t.scale, height: t.height * t.scale } : { width: 0, height: 0 }}
                  aria-hidden="true"
                />
              </span>
              <span className="layer-thumb-stats small">
                {l ? (
                  <>
                    conf {l.meanConfidence.toFixed(2)} · <span className={l.flips ? 'flip-text' : undefined}>{l.flips} flips</span>
                    {l.agreement !== null && <> · prior {(100 * l.agreement).toFixed(0)}%</>}
                  </>
                ) : (
                  '…'
                )}
              </span>
            </button>
          </li>
        );
      })}
    </ul>
  );
});

const NO_PALETTE: [number, number, number][] = [[0, 0, 0]];
/** After the large map's paints (two frames) have passed. */
const THUMBS_DELAY_MS = 250;

function paintThumb(canvas: HTMLCanvasElement | null | undefined, l: LayerSummaryData, t: Tiling): void {
  if (!canvas) return;
  if (canvas.width !== t.width) canvas.width = t.width;
  if (canvas.height !== t.height) canvas.height = t.height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) return;
  const img = ctx.createImageData(t.width, t.height);
  paintCells(img.data, t, { perWeight: false, confidence: l.confidence, flips: l.flipped }, 'confidence', NO_PALETTE);
  // flipped blocks in red over the confidence
  const px = img.data;
  for (let r = 0; r < t.rows; r++)
    for (let c = 0; c < t.cols; c++) {
      if (!l.flipped[r * t.cols + c]) continue;
      const { x, y } = cellOrigin(t, r, c);
      const o = 4 * (y * t.width + x);
      px[o] = 220;
      px[o + 1] = 0;
      px[o + 2] = 0;
    }
  ctx.putImageData(img, 0, 0);
}
