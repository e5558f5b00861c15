// The numbers behind the report's sentences: formatting with seed spread, paired comparisons that
// decide whether the miniature shows the paper's direction of effect, the fraction of a gap closed
// and where one curve overtakes a reference. Pure functions (tests/node/experiments-report.test.ts).

export type Better = 'lower' | 'higher';

export const fmt = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : '—');

export function mean(xs: readonly number[]): number {
  const f = xs.filter(Number.isFinite);
  return f.length ? f.reduce((a, b) => a + b, 0) / f.length : Number.NaN;
}

/** "mean (min–max)" over the finite values; just the value for one; "—" for none. */
export function meanSpread(xs: readonly number[], d = 2): string {
  const f = xs.filter(Number.isFinite);
  if (!f.length) return '—';
  if (f.length === 1) return fmt(f[0], d);
  return `${fmt(mean(f), d)} (${fmt(Math.min(...f), d)}–${fmt(Math.max(...f), d)})`;
}

/** a is better than b */
export const beats = (a: number, b: number, better: Better): boolean => (better === 'lower' ? a < b : a > b);

export type Verdict = 'shown' | 'mixed' | 'not shown' | 'no data';

export interface Comparison {
  /** seeds (pairs) where a beats b */
  wins: number;
  /** pairs with both values finite */
  total: number;
  meanA: number;
  meanB: number;
  /** meanA − meanB */
  diff: number;
  /** the larger seed range (max − min) of the two groups; 0 with one seed */
  spread: number;
  verdict: Verdict;
  /** |diff| does not exceed the seed spread (only decided with ≥ 2 seeds) */
  withinNoise: boolean;
}

/** Paired per seed (index i of a with index i of b): does a beat b? */
export function compare(a: readonly number[], b: readonly number[], better: Better): Comparison {
  const pairs: [number, number][] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (Number.isFinite(a[i]) && Number.isFinite(b[i])) pairs.push([a[i], b[i]]);
  const as = pairs.map((p) => p[0]);
  const bs = pairs.map((p) => p[1]);
  const wins = pairs.filter(([x, y]) => beats(x, y, better)).length;
  const range = (xs: number[]) => (xs.length ? Math.max(...xs) - Math.min(...xs) : 0);
  const meanA = mean(as);
  const meanB = mean(bs);
  const spread = Math.max(range(as), range(bs));
  const total = pairs.length;
  const verdict: Verdict = total === 0 ? 'no data' : wins === total ? 'shown' : wins === 0 ? 'not shown' : 'mixed';
  return { wins, total, meanA, meanB, diff: meanA - meanB, spread, verdict, withinNoise: total >= 2 && Math.abs(meanA - meanB) <= spread };
}

/**
 * One sentence on a comparison: the verdict, its seeds, both means and whether it is within noise.
 * `verb` says "a is better than b" (default: beats).
 */
export function verdictText(c: Comparison, a: string, b: string, d = 2, verb = 'beats'): string {
  if (c.verdict === 'no data') return `no data yet (${a} vs ${b} not run)`;
  const seeds = `${c.total} seed${c.total === 1 ? '' : 's'}`;
  const head =
    c.verdict === 'shown'
      ? `**shown**: ${a} ${verb} ${b} in ${c.wins} of ${seeds}`
      : c.verdict === 'not shown'
        ? `**not shown**: ${a} ${verb} ${b} in 0 of ${seeds}`
        : `**mixed**: ${a} ${verb} ${b} in ${c.wins} of ${seeds}`;
  const noise = c.total < 2 ? '; one seed, so the noise is unknown' : c.withinNoise ? `; the difference is within the seed spread (${fmt(c.spread, d)})` : '';
  return `${head} (mean ${fmt(c.meanA, d)} vs ${fmt(c.meanB, d)})${noise}.`;
}

export const BELOW = 'is below';
export const ABOVE = 'is above';

/**
 * Fraction of the gap between a baseline and the dense model that a method closes:
 * (baseline − method) / (baseline − dense). The same formula serves lower-is-better (perplexity) and
 * higher-is-better (accuracy) metrics. NaN when the baseline is not worse than dense (no gap to close).
 */
export function gapClosed(dense: number, baseline: number, method: number, better: Better): number {
  if (!beats(dense, baseline, better)) return Number.NaN;
  return (baseline - method) / (baseline - dense);
}

/**
 * The first x from which the curve beats `ref` at every later point as well (it has overtaken and
 * stays ahead), or null when it never does. Points must be in increasing x; non-finite y never beat.
 */
export function overtakeAt(curve: readonly { x: number; y: number }[], ref: number, better: Better): number | null {
  if (!Number.isFinite(ref)) return null;
  let at: number | null = null;
  for (const p of curve) {
    if (Number.isFinite(p.y) && beats(p.y, ref, better)) at ??= p.x;
    else at = null;
  }
  return at;
}

/** Mean of ys over the first (`from: 'start'`) or last fraction of the points (at least one point). */
export function windowMean(ys: readonly number[], fraction: number, from: 'start' | 'end'): number {
  if (!ys.length) return Number.NaN;
  const k = Math.max(1, Math.round(ys.length * fraction));
  return mean(from === 'start' ? ys.slice(0, k) : ys.slice(ys.length - k));
}

/** Element-wise mean of several equally long curves (seeds), NaN where none is finite. */
export function meanCurve(curves: readonly (readonly number[])[]): number[] {
  const n = Math.min(...curves.map((c) => c.length));
  if (!Number.isFinite(n)) return [];
  return Array.from({ length: n }, (_, i) => mean(curves.map((c) => c[i])));
}

/**
 * Whether a log axis helps: positive values spanning at least a decade. (Within less than a decade
 * the canvas renderer's log ticks fall back to linear values but label them with too few decimals.)
 */
export function spansDecade(values: readonly number[]): boolean {
  const f = values.filter(Number.isFinite);
  return f.length > 0 && f.every((v) => v > 0) && Math.max(...f) / Math.min(...f) >= 10;
}
