// Painting the layer map's cells into an ImageData's bytes (one pixel per cell, bands and gaps as the
// tiling says; the canvas is scaled up by CSS). The colour of a cell is chosen per mode from the
// worker's per-cell bytes (src/lab/layer-map.ts). No per-pixel allocations: a map is up to 2^18 cells
// and is painted on the main thread.
import type { Tiling } from './layer-map';

export type MapMode = 'weights' | 'confidence' | 'candidate' | 'prior';

/** The per-cell bytes a paint reads (LayerMapData's, or a thumbnail's). */
export interface CellBytes {
  perWeight: boolean;
  weight?: Uint8Array;
  kept?: Uint8Array;
  confidence: Uint8Array;
  choice?: Uint8Array;
  differs?: Uint8Array | null;
  /** flips per cell (0: none) */
  flips: Uint8Array;
}

const lerp = (a: number, b: number, t: number) => a + (b - a) * t;

/** Writes one cell's colour at byte offset o. */
type Shade = (i: number, px: Uint8ClampedArray, o: number) => void;

function shader(mode: MapMode, c: CellBytes, palette: readonly (readonly [number, number, number])[]): Shade {
  if (mode === 'weights' && c.weight && c.kept) {
    const { weight, kept } = c;
    if (c.perWeight)
      return (i, px, o) => {
        const t = weight[i] / 255;
        if (kept[i]) {
          // kept: blue, darker for a larger |w| (never as light as a pruned cell)
          px[o] = lerp(170, 8, t);
          px[o + 1] = lerp(200, 48, t);
          px[o + 2] = lerp(235, 107, t);
        } else {
          // pruned: grey, darker for a larger |w| (a dark grey cell is a large weight pruned)
          const v = lerp(248, 150, t);
          px[o] = v;
          px[o + 1] = v;
          px[o + 2] = v;
        }
      };
    return (i, px, o) => {
      const t = weight[i] / 255;
      px[o] = lerp(235, 8, t);
      px[o + 1] = lerp(242, 48, t);
      px[o + 2] = lerp(250, 107, t);
    };
  }
  if (mode === 'candidate' && c.choice) {
    const { choice } = c;
    return (i, px, o) => {
      const p = palette[choice[i] % palette.length];
      px[o] = p[0];
      px[o + 1] = p[1];
      px[o + 2] = p[2];
    };
  }
  if (mode === 'prior' && c.differs) {
    const { differs } = c;
    return (i, px, o) => {
      const t = differs[i] / (c.perWeight ? 1 : 255);
      px[o] = lerp(236, 230, t);
      px[o + 1] = lerp(236, 97, t);
      px[o + 2] = lerp(236, 1, t);
    };
  }
  const { confidence } = c;
  // confidence: white (uniform over the candidates) → dark blue (certain)
  return (i, px, o) => {
    const t = confidence[i] / 255;
    px[o] = 255 - 230 * t;
    px[o + 1] = 255 - 200 * t;
    px[o + 2] = 255 - 100 * t;
  };
}

/**
 * Paints every cell of a tiling (t.rows × t.cols cells, row-major in the arrays) into `px`, an
 * ImageData of t.width × t.height pixels: the mode's colours, or with `flipsOnly` only the flipped
 * cells in red on transparent (the flip overlay). Gaps stay transparent.
 */
export function paintCells(
  px: Uint8ClampedArray,
  t: Tiling,
  c: CellBytes,
  mode: MapMode,
  palette: readonly (readonly [number, number, number])[],
  flipsOnly = false,
): void {
  px.fill(0);
  const shade = flipsOnly ? null : shader(mode, c, palette);
  const W = t.width;
  for (let r = 0; r < t.rows; r++) {
    for (let col = 0; col < t.cols; col++) {
      let x: number;
      let y: number;
      if (t.direction === 'across') {
        const band = Math.floor(r / t.bandRows);
        x = band * (t.cols + t.gap) + col;
        y = r - band * t.bandRows;
      } else {
        const band = Math.floor(col / t.bandCols);
        x = col - band * t.bandCols;
        y = band * (t.rows + t.gap) + r;
      }
      const i = r * t.cols + col;
      const o = 4 * (y * W + x);
      if (shade) {
        shade(i, px, o);
        px[o + 3] = 255;
      } else if (c.flips[i]) {
        px[o] = 220;
        px[o + 1] = 0;
        px[o + 2] = 0;
        px[o + 3] = 255;
      }
    }
  }
}
