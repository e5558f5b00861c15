// The live-chart canvas renderer's pure parts (src/ui/charts/canvas-lines.ts) and its drawing
// routine against a recording stub context (draw-lines.ts): scales, ticks, labels, extents,
// min/max decimation per pixel column, legend wrapping, and that a redraw's canvas work is bounded
// by the plot's width rather than the series length.
import { describe, expect, it } from 'vitest';
import {
  arraySource,
  decimate,
  formatTick,
  legendLayout,
  linearTicks,
  logTicks,
  makeScale,
  niceStep,
  toPixel,
  yRange,
  type PointSource,
} from '../../src/ui/charts/canvas-lines';
import { drawLineChart, MARGIN, type Ctx2D } from '../../src/ui/charts/draw-lines';
import { RingSeries } from '../../src/ui/ring';

/** A small seeded generator in [0, 1) (mulberry32), so failures reproduce. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 1, 2 or 5 × 10^k, up to a relative `tol` (a difference of two large ticks carries rounding). */
const isNice = (step: number, tol = 1e-9) => {
  const m = step / 10 ** Math.floor(Math.log10(step) + 1e-6);
  return [1, 2, 5, 10].some((k) => Math.abs(m - k) < k * tol);
};

describe('scales', () => {
  it('a linear scale maps the domain ends to the range ends and is affine in between', () => {
    const s = makeScale(10, 30, 100, 500);
    expect(toPixel(s, 10)).toBe(100);
    expect(toPixel(s, 30)).toBe(500);
    expect(toPixel(s, 25)).toBe(400);
    expect(toPixel(s, 40)).toBe(700); // outside the domain: extrapolated (the plot clips)
    // the y axis: range reversed
    const y = makeScale(0, 1, 200, 8);
    expect(toPixel(y, 0)).toBe(200);
    expect(toPixel(y, 1)).toBe(8);
    expect(toPixel(y, 0.5)).toBe(104);
  });

  it('a log scale puts each decade at the same distance; values ≤ 0 cannot be placed', () => {
    const s = makeScale(0.01, 100, 0, 400, true);
    expect(toPixel(s, 0.01)).toBeCloseTo(0, 9);
    expect(toPixel(s, 0.1)).toBeCloseTo(100, 9);
    expect(toPixel(s, 1)).toBeCloseTo(200, 9);
    expect(toPixel(s, 100)).toBeCloseTo(400, 9);
    expect(toPixel(s, 0)).toBeNaN();
    expect(toPixel(s, -3)).toBeNaN();
    expect(() => makeScale(0, 10, 0, 1, true)).toThrow(RangeError);
  });

  it('a one-value domain maps to the middle of the range', () => {
    expect(toPixel(makeScale(5, 5, 0, 100), 5)).toBe(50);
  });
});

describe('ticks', () => {
  it('niceStep is 1, 2 or 5 × 10^k and gives at most `target` intervals', () => {
    expect(niceStep(10, 5)).toBe(2);
    expect(niceStep(1, 5)).toBeCloseTo(0.2, 12);
    expect(niceStep(7, 5)).toBe(2);
    expect(niceStep(100, 4)).toBe(50);
    expect(niceStep(0.003, 3)).toBeCloseTo(0.001, 15);
    const rand = mulberry32(11);
    for (let k = 0; k < 500; k++) {
      const span = 10 ** (rand() * 12 - 6);
      const target = 2 + Math.floor(rand() * 10);
      const step = niceStep(span, target);
      expect(isNice(step), `step ${step} for span ${span}`).toBe(true);
      expect(span / step).toBeLessThanOrEqual(target * (1 + 1e-9));
      // the next smaller nice step would give too many intervals
      const smaller = step / (isNice(step / 2) ? 2 : 2.5);
      expect(span / smaller).toBeGreaterThan(target * (1 - 1e-9));
    }
  });

  it('linear ticks: clean multiples of the step inside the range', () => {
    expect(linearTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(linearTicks(0.13, 0.91, 4)).toEqual([0.2, 0.4, 0.6, 0.8]);
    expect(linearTicks(-3, 3, 3)).toEqual([-2, 0, 2]);
    expect(linearTicks(5, 5)).toEqual([5]);
    expect(linearTicks(1, Number.NaN)).toEqual([]);
    const rand = mulberry32(12);
    for (let k = 0; k < 300; k++) {
      const lo = (rand() - 0.5) * 10 ** (rand() * 8 - 3);
      const hi = lo + 10 ** (rand() * 8 - 4);
      const target = 2 + Math.floor(rand() * 8);
      const t = linearTicks(lo, hi, target);
      expect(t.length).toBeGreaterThanOrEqual(1);
      expect(t.length).toBeLessThanOrEqual(target + 1);
      for (const v of t) expect(v >= lo - (hi - lo) * 1e-9 && v <= hi + (hi - lo) * 1e-9, `${v} in [${lo}, ${hi}]`).toBe(true);
      if (t.length > 1) {
        const step = t[1] - t[0];
        expect(isNice(step, 1e-6), `step ${step} of ${t.join(', ')}`).toBe(true);
        for (let i = 2; i < t.length; i++) expect(t[i] - t[i - 1]).toBeCloseTo(step, 6);
      }
    }
  });

  it('integer ticks never fall between counts', () => {
    expect(linearTicks(1, 3, 10, true)).toEqual([1, 2, 3]);
    expect(linearTicks(1, 20, 10, true)).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
    expect(linearTicks(0, 2000, 5, true)).toEqual([0, 500, 1000, 1500, 2000]);
    expect(linearTicks(0.5, 0.5, 5, true)).toEqual([]);
    for (let hi = 2; hi < 200; hi += 7) for (const v of linearTicks(1, hi, 8, true)) expect(Number.isInteger(v), `${v} (1..${hi})`).toBe(true);
  });

  it('log ticks: 1-2-5 over a few decades, powers of ten over more, thinned over many', () => {
    expect(logTicks(1, 100, 5)).toEqual([1, 2, 5, 10, 20, 50, 100]);
    expect(logTicks(1, 1000, 5)).toEqual([1, 10, 100, 1000]);
    expect(logTicks(0.03, 700, 5)).toEqual([0.1, 1, 10, 100]);
    expect(logTicks(1e-6, 1e6, 5)).toEqual([1e-6, 0.001, 1, 1000, 1e6]);
    // within one decade: linear ticks
    expect(logTicks(3, 8, 5)).toEqual([3, 4, 5, 6, 7, 8]);
    expect(logTicks(0, 10)).toEqual([]);
  });

  it('tick labels carry the decimals the step needs, exponents for extreme values', () => {
    expect(formatTick(0.2, 0.2)).toBe('0.2');
    expect(formatTick(1, 0.2)).toBe('1.0');
    expect(formatTick(0.05, 0.05)).toBe('0.05');
    expect(formatTick(1500, 500)).toBe('1500');
    expect(formatTick(-2, 1)).toBe('-2');
    expect(formatTick(0, 0.1)).toBe('0');
    expect(formatTick(1e-4, 1e-4)).toBe('1e-4');
    expect(formatTick(250000, 50000)).toBe('2.5e+5');
    // a tick at 0.30000000000000004 (3 × 0.1) still reads 0.3
    expect(formatTick(3 * 0.1, 0.1)).toBe('0.3');
  });
});

describe('extent', () => {
  const src = (ys: number[]) =>
    arraySource(
      ys.map((_, i) => i),
      ys,
    );

  it('a linear axis reaches zero, is padded by 5 % away from it and takes the reference lines in', () => {
    expect(yRange([src([2, 4, 3])], [], false)).toEqual([0, 4.2]);
    const [lo, hi] = yRange([src([2, 4, 3])], [10], false)!;
    expect(lo).toBe(0);
    expect(hi).toBeCloseTo(10.5, 12);
    const neg = yRange([src([-5, 5])], [], false)!;
    expect(neg[0]).toBeCloseTo(-5.5, 12);
    expect(neg[1]).toBeCloseTo(5.5, 12);
    expect(yRange([src([0, 0])], [], false)).toEqual([-1, 1]);
  });

  it('a log axis skips values ≤ 0 and pads in log space', () => {
    const [lo, hi] = yRange([src([0, -1, 1, 100])], [], true)!;
    expect(Math.log10(lo)).toBeCloseTo(-0.1, 12);
    expect(Math.log10(hi)).toBeCloseTo(2.1, 12);
  });

  it('nothing plottable gives null', () => {
    expect(yRange([src([Number.NaN, Number.POSITIVE_INFINITY])], [Number.NaN], false)).toBeNull();
    expect(yRange([src([-1, 0])], [], true)).toBeNull();
    expect(yRange([], [], false)).toBeNull();
  });
});

describe('decimation to pixel columns', () => {
  /** Pixel column of each point, as decimate computes it. */
  const columnOf = (s: PointSource, xs: ReturnType<typeof makeScale>, i: number) => Math.floor(toPixel(xs, s.xAt(i)));

  it('keeps every point when there are fewer points than columns', () => {
    const s = arraySource([1, 2, 3, 4, 5], [5, 3, 4, 1, 2]);
    expect(decimate(s, makeScale(1, 5, 0, 400), false)).toEqual([0, 1, 2, 3, 4]);
  });

  it('keeps the first, lowest, highest and last point of each column, in order, at most 4 per column', () => {
    const rand = mulberry32(21);
    for (const [n, width] of [
      [5000, 300],
      [20000, 640],
      [777, 50],
    ]) {
      const x = Array.from({ length: n }, (_, i) => i + 1);
      const y = Array.from({ length: n }, () => rand() * 2 - 1 + Math.sin(rand()));
      const s = arraySource(x, y);
      const xs = makeScale(1, n, 56, 56 + width);
      const kept = decimate(s, xs, false);
      expect(kept.length).toBeLessThanOrEqual(4 * (width + 1));
      for (let k = 1; k < kept.length; k++) expect(kept[k]).toBeGreaterThan(kept[k - 1]);
      const keptSet = new Set(kept);
      // every column's extremes and ends survive
      const cols = new Map<number, number[]>();
      for (let i = 0; i < n; i++) {
        const c = columnOf(s, xs, i);
        cols.set(c, [...(cols.get(c) ?? []), i]);
      }
      for (const [c, idx] of cols) {
        const ys = idx.map((i) => y[i]);
        const lo = Math.min(...ys);
        const hi = Math.max(...ys);
        const keptHere = idx.filter((i) => keptSet.has(i));
        expect(keptHere.length, `column ${c}`).toBeLessThanOrEqual(4);
        expect(keptHere[0], `first of column ${c}`).toBe(idx[0]);
        expect(keptHere.at(-1), `last of column ${c}`).toBe(idx.at(-1));
        expect(
          keptHere.some((i) => y[i] === lo),
          `min of column ${c}`,
        ).toBe(true);
        expect(
          keptHere.some((i) => y[i] === hi),
          `max of column ${c}`,
        ).toBe(true);
      }
    }
  });

  it('breaks the line at points that cannot be placed, never at the ends', () => {
    const nan = Number.NaN;
    const xs = makeScale(0, 6, 0, 600);
    expect(decimate(arraySource([0, 1, 2, 3, 4, 5, 6], [1, nan, 3, 4, nan, nan, 7]), xs, false)).toEqual([0, -1, 2, 3, -1, 6]);
    expect(decimate(arraySource([0, 1, 2, 3], [nan, 1, 2, nan]), xs, false)).toEqual([1, 2]);
    // on a log axis, y ≤ 0 is a gap
    expect(decimate(arraySource([0, 1, 2, 3], [1, 0, -2, 5]), xs, true)).toEqual([0, -1, 3]);
    expect(decimate(arraySource([], []), xs, false)).toEqual([]);
  });
});

describe('legend layout', () => {
  it('wraps entries into rows of the given width', () => {
    const w = [50, 50, 50, 120, 10];
    const { slots, rows } = legendLayout(w.length, (i) => w[i], 150, 10);
    expect(slots).toEqual([
      { x: 0, row: 0 },
      { x: 60, row: 0 },
      { x: 0, row: 1 },
      { x: 0, row: 2 },
      { x: 130, row: 2 },
    ]);
    expect(rows).toBe(3);
    expect(legendLayout(0, () => 10, 100).rows).toBe(0);
    // wider than a row: alone on its row
    expect(legendLayout(2, () => 500, 100).slots.map((s) => s.row)).toEqual([0, 1]);
  });
});

/** A 2D context that records what a redraw asks of the canvas. */
function recordingContext() {
  const calls = { moveTo: 0, lineTo: 0, arc: 0, stroke: 0, text: [] as string[], dashes: [] as number[][] };
  const ctx: Ctx2D = {
    fillStyle: '',
    strokeStyle: '',
    lineWidth: 1,
    font: '',
    textAlign: 'left',
    textBaseline: 'alphabetic',
    save() {},
    restore() {},
    clearRect() {},
    fillRect() {},
    beginPath() {},
    moveTo() {
      calls.moveTo++;
    },
    lineTo() {
      calls.lineTo++;
    },
    stroke() {
      calls.stroke++;
    },
    fill() {},
    arc() {
      calls.arc++;
    },
    rect() {},
    clip() {},
    fillText(t: string) {
      calls.text.push(t);
    },
    measureText: (t: string) => ({ width: 6 * t.length }) as TextMetrics,
    setLineDash(d: number[]) {
      calls.dashes.push([...d]);
    },
    translate() {},
    rotate() {},
  };
  return { ctx, calls };
}

function ring(name: string, n: number, f: (i: number) => number, capacity = n): RingSeries {
  const r = new RingSeries(name, capacity);
  for (let i = 0; i < n; i++) r.push(i + 1, f(i));
  return r;
}

describe('drawLineChart', () => {
  const base = { refs: [], xTitle: 'step', yTitle: 'loss', logY: false, integerX: true, legendHeight: 0 };

  it('gives the canvas a number of vertices bounded by the plot width, not the series length', () => {
    const width = 400;
    const plotWidth = width - MARGIN.l - MARGIN.r;
    const big = ring('loss', 20_000, (i) => Math.exp(-i / 5000) + 0.1 * Math.sin(i));
    const { ctx } = recordingContext();
    const stats = drawLineChart(ctx, { ...base, series: [{ name: 'loss', src: big }] }, width, 240);
    expect(stats.vertices).toBeGreaterThan(plotWidth); // every column is drawn
    expect(stats.vertices).toBeLessThanOrEqual(4 * (plotWidth + 1));
    expect(stats.markers).toBe(0); // too many points for markers
    const small = ring('loss', 20, (i) => i);
    expect(drawLineChart(recordingContext().ctx, { ...base, series: [{ name: 'loss', src: small }] }, width, 240).markers).toBe(20);
  });

  it('reads a wrapped ring buffer oldest first', () => {
    const r = ring('s', 5, (i) => 10 * i, 3); // keeps pushes 3, 4, 5
    expect([0, 1, 2].map((k) => [r.xAt(k), r.yAt(k)])).toEqual([
      [3, 20],
      [4, 30],
      [5, 40],
    ]);
    expect(r.toArrays()).toEqual({ x: [3, 4, 5], y: [20, 30, 40] });
  });

  it('draws reference lines dashed with their labels, and a legend naming every line', () => {
    const { ctx, calls } = recordingContext();
    const s = ring('MaskLLM (hard mask)', 2, (i) => 40 - 5 * i);
    drawLineChart(
      ctx,
      {
        ...base,
        series: [{ name: s.name, src: s }],
        refs: [
          { name: 'dense', y: 20 },
          { name: 'magnitude', y: 80 },
        ],
        legendHeight: 60,
      },
      500,
      300,
    );
    expect(calls.dashes).toContainEqual([6, 4]);
    expect(calls.text.filter((t) => t === 'dense')).toHaveLength(2); // at the line and in the legend
    expect(calls.text.filter((t) => t === 'magnitude')).toHaveLength(2);
    expect(calls.text.filter((t) => t === 'MaskLLM (hard mask)')).toHaveLength(1);
    expect(calls.text).toContain('step');
    expect(calls.text).toContain('loss');
  });

  it('labels a log axis at powers of ten and a linear one at plain numbers', () => {
    const k = ring('κ', 100, (i) => 10 ** (i / 33)); // 1 … 1000
    const { ctx, calls } = recordingContext();
    drawLineChart(ctx, { ...base, series: [{ name: 'κ', src: k }], logY: true }, 500, 300);
    expect(calls.text).toEqual(expect.arrayContaining(['1', '10', '100', '1000']));
    expect(calls.text).not.toContain('500');
    const lin = recordingContext();
    drawLineChart(lin.ctx, { ...base, series: [{ name: 'κ', src: k }] }, 500, 300);
    expect(lin.calls.text).toEqual(expect.arrayContaining(['0', '1000']));
    expect(lin.calls.text).not.toContain('10');
  });

  it('draws nothing but the background without a plottable point', () => {
    const { ctx, calls } = recordingContext();
    const stats = drawLineChart(ctx, { ...base, series: [{ name: 'e', src: arraySource([1], [Number.NaN]) }] }, 400, 240);
    expect(stats.vertices).toBe(0);
    expect(calls.text).toEqual([]);
  });

  // The fastest of several redraws: on a busy machine preemption only adds time, so the minimum is
  // the routine's own cost (decimation, ticks, text) — the canvas' raster work is not in a stub.
  // (A wall-clock bound here failed under load: the work is bounded by counting what reaches the
  // canvas instead; time per redraw belongs in a benchmark.)
  it('keeps its own work small for thousands of points: canvas calls bounded by the plot width, per series', () => {
    const width = 600;
    const plotWidth = width - MARGIN.l - MARGIN.r;
    const series = ['a', 'b', 'c'].map((n, k) => ({ name: n, src: ring(n, 5000, (i) => Math.sin(i / (50 + k)) + k) }));
    const { ctx, calls } = recordingContext();
    const stats = drawLineChart(ctx, { ...base, series, legendHeight: 60 }, width, 300);
    expect(stats.vertices).toBeLessThanOrEqual(3 * 4 * (plotWidth + 1));
    // the traces' vertices, plus the axes' and grid lines' few
    expect(calls.moveTo + calls.lineTo).toBeLessThan(stats.vertices + 200);
    expect(calls.arc).toBe(0); // no markers at this density
  });
});

describe('log-axis labels', () => {
  it('ticks within one decade get distinct labels (11.6, 11.8, … not all "12")', async () => {
    const { smallestGap } = await import('../../src/ui/charts/draw-lines');
    const { formatTick, logTicks } = await import('../../src/ui/charts/canvas-lines');
    const ticks = logTicks(11.6, 12.0);
    const labels = ticks.map((t) => formatTick(t, smallestGap(ticks)));
    expect(new Set(labels).size).toBe(labels.length);
    const decades = logTicks(1, 1000);
    expect(decades.map((t) => formatTick(t, smallestGap(decades)))).toContain('1000');
  });
});
