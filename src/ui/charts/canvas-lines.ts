// The pure parts of the canvas line-chart renderer used while learning runs: scales, tick choice,
// tick labels, the data's extent, min/max decimation per pixel column and the legend's layout.
// No DOM here, so tests/node/canvas-lines.test.ts runs it in Node. draw-lines.ts does the drawing.

/** A series read in place (RingSeries has xAt/yAt): no copy per redraw. x must not decrease. */
export interface PointSource {
  readonly length: number;
  xAt(i: number): number;
  yAt(i: number): number;
}

/** Plain arrays as a PointSource (tests, and the offscreen PNG path). */
export function arraySource(x: ArrayLike<number>, y: ArrayLike<number>): PointSource {
  if (x.length !== y.length) throw new RangeError(`arraySource: ${x.length} x values but ${y.length} y values`);
  return { length: x.length, xAt: (i) => x[i], yAt: (i) => y[i] };
}

// ---------------------------------------------------------------- scales

/** Maps data values to pixels; on a log scale through log10 (values ≤ 0 map to NaN). */
export interface Scale {
  /** the domain in scale space (log10 of the values for a log scale) */
  lo: number;
  hi: number;
  /** pixels for lo and hi (hi may be smaller: the y axis grows upwards) */
  r0: number;
  r1: number;
  log: boolean;
}

export function makeScale(d0: number, d1: number, r0: number, r1: number, log = false): Scale {
  if (log && !(d0 > 0 && d1 > 0)) throw new RangeError(`a log scale needs a positive domain, got [${d0}, ${d1}]`);
  return { lo: log ? Math.log10(d0) : d0, hi: log ? Math.log10(d1) : d1, r0, r1, log };
}

export function toPixel(s: Scale, v: number): number {
  const t = s.log ? (v > 0 ? Math.log10(v) : Number.NaN) : v;
  // a one-value domain draws in the middle instead of dividing by zero
  if (s.hi === s.lo) return (s.r0 + s.r1) / 2;
  return s.r0 + ((t - s.lo) / (s.hi - s.lo)) * (s.r1 - s.r0);
}

// ---------------------------------------------------------------- ticks

/** 1, 2 or 5 × 10^k: the smallest such step that cuts `span` into at most `target` intervals. */
export function niceStep(span: number, target: number): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, target);
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw * (1 - 1e-12)) return m * p;
  return 10 * p;
}

/** Round away the binary noise of k·step (0.30000000000000004 → 0.3). */
function clean(v: number): number {
  return Number(v.toPrecision(12));
}

/** Multiples of a nice step inside [lo, hi]; with `integer` the step is at least 1. */
export function linearTicks(lo: number, hi: number, target = 5, integer = false): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) return integer && !Number.isInteger(lo) ? [] : [lo];
  let step = niceStep(hi - lo, target);
  if (integer) step = Math.max(1, Math.round(step));
  const out: number[] = [];
  const k0 = Math.ceil(lo / step - 1e-9);
  // bounded: with |lo| ≫ the span, k·step stops moving in floating point
  for (let k = k0; k * step <= hi + step * 1e-9 && k - k0 <= 4 * target + 2; k++) out.push(clean(k * step));
  return out;
}

/**
 * Ticks for a log axis over [lo, hi] (both > 0): 1·10^k, plus 2 and 5 ·10^k when the range spans
 * few decades, every j-th decade when it spans many; within less than a decade, linear ticks.
 */
export function logTicks(lo: number, hi: number, target = 5): number[] {
  if (!(lo > 0 && hi > 0) || !Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi < lo) [lo, hi] = [hi, lo];
  const e0 = Math.floor(Math.log10(lo) + 1e-9);
  const e1 = Math.ceil(Math.log10(hi) - 1e-9);
  const inside = (v: number) => v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9);
  const decades = e1 - e0;
  if (decades > target) {
    const every = Math.ceil(decades / target);
    const out: number[] = [];
    for (let e = Math.ceil(e0 / every) * every; e <= e1; e += every) if (inside(10 ** e)) out.push(clean(10 ** e));
    return out;
  }
  const mults = decades * 3 <= target + 1 ? [1, 2, 5] : [1];
  const out: number[] = [];
  for (let e = e0; e <= e1; e++) for (const m of mults) if (inside(m * 10 ** e)) out.push(clean(m * 10 ** e));
  return out.length >= 2 ? out : linearTicks(lo, hi, target).filter((v) => v > 0);
}

/** A tick label: as many decimals as the step needs; exponent form for very large or small values. */
export function formatTick(v: number, step: number): string {
  if (v === 0) return '0';
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) {
    // 1e-4, 2.5e+6: trim the mantissa's trailing zeros
    const [m, e] = v.toExponential(2).split('e');
    return `${String(Number(m))}e${e}`;
  }
  const s = Math.abs(step) > 0 && Number.isFinite(step) ? Math.abs(step) : a;
  const decimals = Math.min(6, Math.max(0, -Math.floor(Math.log10(s) + 1e-9)));
  return v.toFixed(decimals);
}

// ---------------------------------------------------------------- extent

/** A y value a chart can place: finite, and positive on a log axis. */
export function plottable(y: number, log: boolean): boolean {
  return Number.isFinite(y) && (!log || y > 0);
}

/** [min, max] of the finite x over all sources, or null without any point. */
export function xExtent(sources: readonly PointSource[]): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of sources) {
    for (let i = 0; i < s.length; i++) {
      const x = s.xAt(i);
      if (!Number.isFinite(x)) continue;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
  }
  return lo <= hi ? [lo, hi] : null;
}

/**
 * The y range drawn: every plottable value and reference line, padded by 5 % of the span (in log
 * space on a log axis). A linear axis reaches down (or up) to zero like Plotly's rangemode
 * 'tozero', and is not padded beyond zero. null when nothing is plottable.
 */
export function yRange(sources: readonly PointSource[], refs: readonly number[], log: boolean): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  const take = (y: number) => {
    if (!plottable(y, log)) return;
    const t = log ? Math.log10(y) : y;
    if (t < lo) lo = t;
    if (t > hi) hi = t;
  };
  for (const s of sources) for (let i = 0; i < s.length; i++) take(s.yAt(i));
  for (const r of refs) take(r);
  if (!(lo <= hi)) return null;
  if (log) {
    const pad = hi > lo ? (hi - lo) * 0.05 : 0.1;
    return [10 ** (lo - pad), 10 ** (hi + pad)];
  }
  lo = Math.min(lo, 0);
  hi = Math.max(hi, 0);
  if (hi === lo) return [-1, 1]; // only zeros
  const pad = (hi - lo) * 0.05;
  return [lo < 0 ? lo - pad : lo, hi > 0 ? hi + pad : hi];
}

// ---------------------------------------------------------------- decimation

/**
 * Indices of the points to draw, oldest first, with -1 where the line breaks (a point that cannot
 * be placed: non-finite, or ≤ 0 on a log axis). Points are grouped by the pixel column their x falls
 * in (floor of the x pixel); each column keeps its first, lowest, highest and last point, in order.
 * A polyline through those rasterises like one through every point (the column's vertical extent
 * and its joins to the neighbours are kept), with at most 4 vertices per column: a redraw costs the
 * canvas width, not the series length.
 */
export function decimate(src: PointSource, xs: Scale, logY: boolean): number[] {
  const out: number[] = [];
  let col = Number.NaN;
  let first = -1;
  let last = -1;
  let lowest = -1;
  let highest = -1;
  let yLow = 0;
  let yHigh = 0;
  const flush = () => {
    if (first < 0) return;
    // the four in index order, each once
    const keep = [first, lowest, highest, last].sort((a, b) => a - b);
    for (let k = 0; k < keep.length; k++) if (k === 0 || keep[k] !== keep[k - 1]) out.push(keep[k]);
    first = -1;
  };
  for (let i = 0; i < src.length; i++) {
    const x = src.xAt(i);
    const y = src.yAt(i);
    if (!Number.isFinite(x) || !plottable(y, logY)) {
      flush();
      col = Number.NaN;
      if (out.length && out[out.length - 1] !== -1) out.push(-1);
      continue;
    }
    const c = Math.floor(toPixel(xs, x));
    if (c !== col || first < 0) {
      flush();
      col = c;
      first = last = lowest = highest = i;
      yLow = yHigh = y;
      continue;
    }
    last = i;
    if (y < yLow) {
      yLow = y;
      lowest = i;
    }
    if (y > yHigh) {
      yHigh = y;
      highest = i;
    }
  }
  flush();
  if (out.length && out[out.length - 1] === -1) out.pop();
  return out;
}

// ---------------------------------------------------------------- legend

export interface LegendSlot {
  x: number;
  /** row number from 0 */
  row: number;
}

/**
 * Legend entries left to right, wrapping into rows of `width` pixels. `itemWidth(i)` is the width
 * of entry i (swatch + label); entries are separated by `gap`. An entry wider than a row gets a
 * row of its own.
 */
export function legendLayout(count: number, itemWidth: (i: number) => number, width: number, gap = 14): { slots: LegendSlot[]; rows: number } {
  const slots: LegendSlot[] = [];
  let x = 0;
  let row = 0;
  for (let i = 0; i < count; i++) {
    const w = itemWidth(i);
    if (x > 0 && x + w > width) {
      row++;
      x = 0;
    }
    slots.push({ x, row });
    x += w + gap;
  }
  return { slots, rows: count ? row + 1 : 0 };
}
