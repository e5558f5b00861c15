// Kernel choice by measurement on the user's own adapter. For each shape class a model uses (a
// matmul's layout and rounded sizes, an attention shape, …) the candidates are timed a few times and
// the fastest kept; the built-in choice (what the engine picks by shape, tuned on SwiftShader) stays
// unless another candidate is faster by a clear margin, so noise never swaps a kernel for an equal
// one. The picks are cached by adapter and lab version (IndexedDB on the page, a file in Node): a
// driver update or a new lab version tunes again.
//
// This file is the logic only: the timer is injected (the engine's timestamp queries on a real
// adapter, a fake clock in tests) and so is the cache's storage.

/** One class of problems that share a kernel choice, with the kernels that can run it. */
export interface ShapeClass<V extends string> {
  /** stable text key, e.g. "matmul:nt:m1024:k64:n256" */
  key: string;
  /** what the engine picks without tuning (always among the candidates) */
  builtIn: V;
  candidates: readonly V[];
}

export interface TunedPick<V extends string> {
  variant: V;
  /** median milliseconds per candidate (Infinity: failed or not timed) */
  ms: Partial<Record<V, number>>;
}

export interface TuneOptions {
  /** timed runs per candidate after one untimed warm-up; the median counts (default 3) */
  reps?: number;
  /** a candidate replaces the built-in choice only when at least this much faster (default 0.1 = 10%) */
  margin?: number;
  /** stop timing after this many milliseconds of the clock (the rest keep the built-in; default 800) */
  budgetMs?: number;
  /** wall clock for the budget (default performance.now) */
  now?: () => number;
  onProgress?: (done: number, total: number, key: string) => void;
}

/** Picks by class key. */
export type Picks<V extends string> = Map<string, TunedPick<V>>;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

/**
 * Times every candidate of every class with `time` (milliseconds of one run; it may throw: the
 * candidate is then out) and returns the picks. Classes not reached within the budget keep their
 * built-in choice (and say so: no timings).
 */
export async function autotune<V extends string>(
  classes: readonly ShapeClass<V>[],
  time: (cls: ShapeClass<V>, variant: V) => Promise<number>,
  opts: TuneOptions = {},
): Promise<Picks<V>> {
  const reps = opts.reps ?? 3;
  const margin = opts.margin ?? 0.1;
  const budget = opts.budgetMs ?? 800;
  const now = opts.now ?? (() => performance.now());
  if (!(Number.isInteger(reps) && reps >= 1)) throw new RangeError(`autotune: reps must be a whole number ≥ 1, got ${reps}`);
  if (!(margin >= 0 && margin < 1)) throw new RangeError(`autotune: margin must be in [0, 1), got ${margin}`);
  const picks: Picks<V> = new Map();
  const t0 = now();
  let done = 0;
  for (const cls of classes) {
    if (!cls.candidates.includes(cls.builtIn)) throw new Error(`autotune: ${cls.key}: the built-in ${cls.builtIn} is not among the candidates`);
    const ms: Partial<Record<V, number>> = {};
    if (now() - t0 <= budget) {
      for (const v of cls.candidates) {
        try {
          await time(cls, v); // warm-up: pipeline creation, first-use allocations
          const runs: number[] = [];
          for (let r = 0; r < reps; r++) runs.push(await time(cls, v));
          const m = median(runs);
          ms[v] = Number.isFinite(m) && m >= 0 ? m : Infinity;
        } catch {
          ms[v] = Infinity;
        }
      }
    }
    picks.set(cls.key, { variant: choose(cls, ms, margin), ms });
    opts.onProgress?.(++done, classes.length, cls.key);
  }
  return picks;
}

/**
 * The built-in choice unless a candidate is faster by `margin` (of the built-in's time); when the
 * built-in failed, the fastest candidate that ran; when nothing was timed, the built-in.
 */
export function choose<V extends string>(cls: ShapeClass<V>, ms: Partial<Record<V, number>>, margin: number): V {
  const base = ms[cls.builtIn];
  if (base === undefined) return cls.builtIn;
  let best: V = cls.builtIn;
  let bestMs = base;
  for (const v of cls.candidates) {
    const t = ms[v];
    if (t !== undefined && t < bestMs) {
      best = v;
      bestMs = t;
    }
  }
  if (best === cls.builtIn || !Number.isFinite(base)) return best;
  return bestMs <= base * (1 - margin) ? best : cls.builtIn;
}

/** The adapter fields that identify where picks were measured. */
export interface AdapterIdentity {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

/** Cache key: the adapter and the lab version (a new driver description or lab version tunes again). */
export function tuneCacheKey(adapter: AdapterIdentity, labVersion: string): string {
  return JSON.stringify([labVersion, adapter.vendor, adapter.architecture, adapter.device, adapter.description]);
}

/** Where picks are kept between visits (IndexedDB on the page, a JSON file in Node, a Map in tests). */
export interface TuneStorage {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
}

/** Picks as stored: plain JSON. */
export function encodePicks<V extends string>(picks: Picks<V>): Record<string, TunedPick<V>> {
  const out: Record<string, TunedPick<V>> = {};
  for (const [k, p] of picks)
    out[k] = { variant: p.variant, ms: Object.fromEntries(Object.entries(p.ms).map(([v, t]) => [v, Number.isFinite(t) ? t : null])) as never };
  return out;
}

/**
 * Stored picks back, keeping only entries for classes asked about whose variant is still a
 * candidate (a cache from an older build or a hand-edited file cannot make the engine run a kernel
 * that does not exist or does not fit). Anything malformed is dropped, never thrown.
 */
export function decodePicks<V extends string>(stored: unknown, classes: readonly ShapeClass<V>[]): Picks<V> {
  const out: Picks<V> = new Map();
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) return out;
  const rec = stored as Record<string, unknown>;
  for (const cls of classes) {
    const e = Object.prototype.hasOwnProperty.call(rec, cls.key) ? rec[cls.key] : undefined;
    if (typeof e !== 'object' || e === null) continue;
    const variant = (e as { variant?: unknown }).variant;
    if (typeof variant !== 'string' || !cls.candidates.includes(variant as V)) continue;
    const msIn = (e as { ms?: unknown }).ms;
    const ms: Partial<Record<V, number>> = {};
    if (typeof msIn === 'object' && msIn !== null)
      for (const v of cls.candidates) {
        const t = (msIn as Record<string, unknown>)[v];
        if (typeof t === 'number' && t >= 0) ms[v] = t;
        else if (t === null) ms[v] = Infinity;
      }
    out.set(cls.key, { variant: variant as V, ms });
  }
  return out;
}

/**
 * Picks for these classes: from the storage when every class is there for this adapter and lab
 * version, else measured (only the missing classes, within the budget) and stored. `cached` says
 * which happened.
 */
export async function tunedPicks<V extends string>(
  storage: TuneStorage,
  cacheKey: string,
  classes: readonly ShapeClass<V>[],
  time: (cls: ShapeClass<V>, variant: V) => Promise<number>,
  opts: TuneOptions = {},
): Promise<{ picks: Picks<V>; cached: boolean }> {
  // an unreadable cache is an empty one
  const stored: unknown = await storage.get(cacheKey).catch(() => null);
  const known = decodePicks(stored, classes);
  const missing = classes.filter((c) => !known.has(c.key));
  if (missing.length === 0) return { picks: known, cached: true };
  const fresh = await autotune(missing, time, opts);
  const all: Picks<V> = new Map([...known, ...fresh]);
  const previous = typeof stored === 'object' && stored !== null && !Array.isArray(stored) ? (stored as Record<string, unknown>) : {};
  // classes the budget did not reach are not stored: the next load times them (tuning goes on across loads)
  const timed: Picks<V> = new Map([...fresh].filter(([, p]) => Object.keys(p.ms).length > 0));
  try {
    if (timed.size > 0) await storage.set(cacheKey, { ...previous, ...encodePicks(timed) });
  } catch {
    // not stored (quota, private mode): tuned again next time
  }
  return { picks: all, cached: false };
}
