// How the layer map lays a layer's cells out in its panel (pure: tests/node/layer-map-tiling.test.ts).
//
// A layer is a grid of `rows` × `cols` cells (per weight: output rows × inputs; downsampled: blocks of
// rows × blocks of groups). Drawn as it is, a tall thin layer (tiny-gpt's c_attn: 192 rows × 64
// inputs) is a strip at one side of a wide panel. So the grid is cut into bands:
//   - 'across': the rows are cut into `bands` bands of `bandRows` rows, placed side by side left to
//     right (rows 0 … bandRows−1 in the first band, the next rows in the second, …);
//   - 'down': the columns are cut into bands of `bandCols` columns (a multiple of `unit`, so a group
//     of m weights is never split), stacked top to bottom.
// Bands are separated by `gap` empty cells. The layout picks the direction and band count that give
// the largest square cells within the box (width, maxHeight), preferring fewer bands on a tie.
// Everything is in cell units; `scale` is CSS pixels per cell.

export interface Box {
  /** CSS pixels available across */
  width: number;
  /** CSS pixels the map may be tall */
  maxHeight: number;
}

export interface Tiling {
  rows: number;
  cols: number;
  direction: 'across' | 'down';
  bands: number;
  /** rows per band ('across': the last band may have fewer); 'down': rows */
  bandRows: number;
  /** columns per band ('down': the last band may have fewer); 'across': cols */
  bandCols: number;
  /** empty cells between bands */
  gap: number;
  /** the whole drawing in cells, gaps included */
  width: number;
  height: number;
  /** CSS pixels per cell */
  scale: number;
}

export interface TileOptions {
  /** columns that must stay together in 'down' bands (m for a per-weight map), default 1 */
  unit?: number;
  /** CSS pixels between bands (at least one cell), default 6 */
  gapPx?: number;
  /** at most this many bands, default 64 */
  maxBands?: number;
  /** cells are never drawn larger than this (CSS px), default 24 */
  maxScale?: number;
}

/** Pixels per cell: whole pixels when a cell is at least one pixel (crisp), else the exact fraction. */
function crisp(s: number): number {
  return s >= 1 ? Math.floor(s) : s;
}

function layoutFor(rows: number, cols: number, direction: 'across' | 'down', bands: number, unit: number, box: Box, gapPx: number, maxScale: number): Tiling {
  let bandRows = rows;
  let bandCols = cols;
  if (direction === 'across') bandRows = Math.ceil(rows / bands);
  else bandCols = Math.ceil(cols / unit / bands) * unit;
  // the real band count (rounding may leave fewer bands than asked)
  const real = direction === 'across' ? Math.ceil(rows / bandRows) : Math.ceil(cols / bandCols);
  // gap in cells: about gapPx at the scale without gaps (recomputed once with the gap)
  const fit = (gap: number) => {
    const w = direction === 'across' ? real * cols + (real - 1) * gap : bandCols;
    const h = direction === 'across' ? bandRows : real * rows + (real - 1) * gap;
    return { w, h, s: Math.min(box.width / w, box.maxHeight / h, maxScale) };
  };
  let gap = real > 1 ? 1 : 0;
  let f = fit(gap);
  if (real > 1) {
    gap = Math.max(1, Math.round(gapPx / Math.max(f.s, 1e-9)));
    f = fit(gap);
    // a gap too wide for the box (tiny scales): one cell
    if (!(f.s > 0)) f = fit((gap = 1));
  }
  return { rows, cols, direction, bands: real, bandRows, bandCols, gap, width: f.w, height: f.h, scale: crisp(f.s) };
}

/** The tiling of a rows × cols grid that draws the largest cells within `box`. */
export function tileLayout(rows: number, cols: number, box: Box, opts: TileOptions = {}): Tiling {
  if (![rows, cols].every((x) => Number.isInteger(x) && x >= 1)) throw new RangeError(`tileLayout: bad grid ${rows} × ${cols}`);
  const unit = Math.max(1, Math.floor(opts.unit ?? 1));
  if (cols % unit !== 0) throw new RangeError(`tileLayout: ${cols} columns are not a multiple of the unit ${unit}`);
  const gapPx = Math.max(0, opts.gapPx ?? 6);
  const maxBands = Math.max(1, Math.floor(opts.maxBands ?? 64));
  const maxScale = opts.maxScale ?? 24;
  const b = { width: Math.max(1, box.width), maxHeight: Math.max(1, box.maxHeight) };
  let best = layoutFor(rows, cols, 'across', 1, unit, b, gapPx, maxScale);
  const consider = (t: Tiling) => {
    // strictly larger cells win; equal cells keep the one with fewer bands (found first)
    if (t.scale > best.scale * (1 + 1e-9)) best = t;
  };
  for (let k = 2; k <= Math.min(maxBands, rows); k++) consider(layoutFor(rows, cols, 'across', k, unit, b, gapPx, maxScale));
  for (let k = 2; k <= Math.min(maxBands, cols / unit); k++) consider(layoutFor(rows, cols, 'down', k, unit, b, gapPx, maxScale));
  return best;
}

/** Where cell (row, col) is drawn, in cells from the top left of the drawing. */
export function cellOrigin(t: Tiling, row: number, col: number): { x: number; y: number } {
  if (t.direction === 'across') {
    const band = Math.floor(row / t.bandRows);
    return { x: band * (t.cols + t.gap) + col, y: row - band * t.bandRows };
  }
  const band = Math.floor(col / t.bandCols);
  return { x: col - band * t.bandCols, y: band * (t.rows + t.gap) + row };
}

/** The cell under a point of the drawing (in cells, fractional), or null over a gap or outside. */
export function cellAt(t: Tiling, x: number, y: number): { row: number; col: number } | null {
  if (!(x >= 0 && y >= 0 && x < t.width && y < t.height)) return null;
  const cx = Math.floor(x);
  const cy = Math.floor(y);
  if (t.direction === 'across') {
    const band = Math.floor(cx / (t.cols + t.gap));
    const col = cx - band * (t.cols + t.gap);
    const row = band * t.bandRows + cy;
    if (col >= t.cols || row >= t.rows || cy >= t.bandRows) return null;
    return { row, col };
  }
  const band = Math.floor(cy / (t.rows + t.gap));
  const row = cy - band * (t.rows + t.gap);
  const col = band * t.bandCols + cx;
  if (row >= t.rows || col >= t.cols || cx >= t.bandCols) return null;
  return { row, col };
}

/** In words, for the page: how the layer is tiled. */
export function describeTiling(t: Tiling, what: { rows: string; cols: string }): string {
  if (t.bands === 1) return `drawn as one ${t.rows} × ${t.cols} block`;
  if (t.direction === 'across')
    return `wrapped into ${t.bands} bands of ${t.bandRows} ${what.rows} side by side (left to right: ${what.rows} 0–${t.bandRows - 1}, ${t.bandRows}–${Math.min(t.rows, 2 * t.bandRows) - 1}, …)`;
  return `wrapped into ${t.bands} bands of ${t.bandCols} ${what.cols} stacked top to bottom`;
}
