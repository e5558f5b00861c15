// The regression comparison, as pure functions: a run's per-cell metrics against the committed
// baseline (regress/baseline.json), with the tolerances stored in that file (docs/REGRESS.md).
//
// Metric names say how they are compared (the prefix before the first dot):
//   ppl.*       relative, lower is better: worse by more than pplRelative is a regression
//   accuracy.*  percentage points, higher is better: lower by more than accuracyPoints is a regression
//   maskL1.*    absolute, either direction beyond maskL1Absolute (a changed learning dynamic)
//   maxProb.*   absolute, either direction beyond maxProbAbsolute
// Anything else has no tolerance and is reported as such. A better-than-tolerance ppl/accuracy is a
// note (not a failure): the baseline should be updated on purpose.

export interface Tolerances {
  pplRelative: number;
  accuracyPoints: number;
  maskL1Absolute: number;
  maxProbAbsolute: number;
}

export const DEFAULT_TOLERANCES: Tolerances = { pplRelative: 0.02, accuracyPoints: 1, maskL1Absolute: 0.02, maxProbAbsolute: 0.02 };

export interface Cell {
  /** the settings that produced the metrics; a different one makes the comparison meaningless */
  config: string;
  metrics: Record<string, number>;
}

export interface Determinism {
  cell: string;
  identical: boolean;
  detail?: string;
}

export interface RegressResults {
  adapter: string;
  cells: Record<string, Cell>;
  determinism: Determinism | null;
}

export interface Baseline {
  version: 1;
  tolerances: Tolerances;
  adapter: string | null;
  cells: Record<string, Cell>;
  [extra: string]: unknown;
}

export type FindingKind = 'regression' | 'improvement' | 'missing' | 'new' | 'config' | 'no-tolerance' | 'determinism' | 'adapter';

export interface Finding {
  kind: FindingKind;
  cell: string;
  metric?: string;
  baseline?: number;
  current?: number;
  message: string;
}

export interface Comparison {
  ok: boolean;
  /** findings that fail the run */
  failures: Finding[];
  /** findings that are reported only */
  notes: Finding[];
}

export class BaselineError extends Error {}

const num = (x: unknown): x is number => typeof x === 'number';

/** Validates a parsed baseline file; throws a BaselineError naming what is wrong. */
export function parseBaseline(json: unknown): Baseline {
  const fail = (what: string): never => {
    throw new BaselineError(`baseline file: ${what}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('not a JSON object');
  const b = json as Record<string, unknown>;
  if (b.version !== 1) fail(`unsupported version ${JSON.stringify(b.version)} (expected 1)`);
  const t = b.tolerances as Record<string, unknown> | undefined;
  if (typeof t !== 'object' || t === null) fail('missing "tolerances"');
  for (const k of Object.keys(DEFAULT_TOLERANCES)) {
    const v = t![k];
    if (!num(v) || !(v >= 0) || !Number.isFinite(v)) fail(`tolerances.${k} must be a finite number ≥ 0 (got ${JSON.stringify(v)})`);
  }
  if (typeof b.cells !== 'object' || b.cells === null || Array.isArray(b.cells)) fail('missing "cells" object');
  for (const [id, c] of Object.entries(b.cells as Record<string, unknown>)) {
    const cell = c as Record<string, unknown>;
    if (typeof cell !== 'object' || cell === null || typeof cell.config !== 'string' || typeof cell.metrics !== 'object' || cell.metrics === null)
      fail(`cell ${id} needs "config" (string) and "metrics" (object)`);
    for (const [m, v] of Object.entries(cell.metrics as Record<string, unknown>)) if (!num(v)) fail(`cell ${id} metric ${m} is not a number`);
  }
  if (b.adapter !== null && b.adapter !== undefined && typeof b.adapter !== 'string') fail('"adapter" must be a string or null');
  return {
    ...(b as object),
    version: 1,
    tolerances: t as unknown as Tolerances,
    adapter: (b.adapter as string | null) ?? null,
    cells: b.cells as Record<string, Cell>,
  } as Baseline;
}

function compareMetric(tol: Tolerances, cell: string, metric: string, base: number, cur: number): Finding | null {
  const f = (kind: FindingKind, message: string): Finding => ({ kind, cell, metric, baseline: base, current: cur, message: `${cell} ${metric}: ${message}` });
  if (!Number.isFinite(cur)) return f('regression', `is ${cur} (baseline ${base})`);
  const family = metric.split('.')[0];
  switch (family) {
    case 'ppl': {
      const rel = (cur - base) / Math.abs(base);
      if (rel > tol.pplRelative)
        return f(
          'regression',
          `${cur.toPrecision(6)} is ${(100 * rel).toFixed(2)}% worse than the baseline ${base.toPrecision(6)} (tolerance ${100 * tol.pplRelative}%)`,
        );
      if (-rel > tol.pplRelative)
        return f(
          'improvement',
          `${cur.toPrecision(6)} is ${(-100 * rel).toFixed(2)}% better than the baseline ${base.toPrecision(6)}; update the baseline if intended`,
        );
      return null;
    }
    case 'accuracy': {
      const d = cur - base;
      if (-d > tol.accuracyPoints)
        return f(
          'regression',
          `${cur.toFixed(2)}% is ${(-d).toFixed(2)} points below the baseline ${base.toFixed(2)}% (tolerance ${tol.accuracyPoints} points)`,
        );
      if (d > tol.accuracyPoints)
        return f('improvement', `${cur.toFixed(2)}% is ${d.toFixed(2)} points above the baseline ${base.toFixed(2)}%; update the baseline if intended`);
      return null;
    }
    case 'maskL1':
    case 'maxProb': {
      const limit = family === 'maskL1' ? tol.maskL1Absolute : tol.maxProbAbsolute;
      const d = Math.abs(cur - base);
      return d > limit ? f('regression', `${cur.toFixed(4)} differs from the baseline ${base.toFixed(4)} by ${d.toFixed(4)} (tolerance ±${limit})`) : null;
    }
    default:
      return f('no-tolerance', `no tolerance is defined for metrics named "${family}.*"`);
  }
}

/**
 * Compares a run with the baseline. `requireAll`: every baseline cell must have been run (the full
 * matrix); a partial run (--quick) compares only what it ran.
 */
export function compareWithBaseline(baseline: Baseline, run: RegressResults, opts: { requireAll: boolean }): Comparison {
  const failures: Finding[] = [];
  const notes: Finding[] = [];
  const tol = baseline.tolerances;
  if (baseline.adapter && run.adapter !== baseline.adapter) {
    notes.push({
      kind: 'adapter',
      cell: '*',
      message: `the baseline was recorded on "${baseline.adapter}", this run used "${run.adapter}": exact determinism only holds on one adapter`,
    });
  }
  for (const [id, cur] of Object.entries(run.cells)) {
    const base = baseline.cells[id];
    if (!base) {
      failures.push({ kind: 'new', cell: id, message: `${id}: not in the baseline (run with --update-baseline to record it)` });
      continue;
    }
    if (base.config !== cur.config) {
      failures.push({
        kind: 'config',
        cell: id,
        message: `${id}: run with a different configuration than the baseline (${cur.config} vs ${base.config}); update the baseline on purpose`,
      });
      continue;
    }
    for (const [metric, b] of Object.entries(base.metrics)) {
      const c = cur.metrics[metric];
      if (c === undefined) {
        failures.push({ kind: 'missing', cell: id, metric, baseline: b, message: `${id} ${metric}: missing from this run` });
        continue;
      }
      const f = compareMetric(tol, id, metric, b, c);
      if (!f) continue;
      (f.kind === 'improvement' ? notes : failures).push(f);
    }
  }
  if (opts.requireAll) {
    for (const id of Object.keys(baseline.cells)) {
      if (!run.cells[id]) failures.push({ kind: 'missing', cell: id, message: `${id}: in the baseline but not run` });
    }
  }
  if (run.determinism && !run.determinism.identical) {
    failures.push({
      kind: 'determinism',
      cell: run.determinism.cell,
      message: `${run.determinism.cell}: two runs with the same seed, config and adapter differ (${run.determinism.detail ?? 'no detail'})`,
    });
  }
  return { ok: failures.length === 0, failures, notes };
}

/** The first place two JSON-like values differ, as a path (null when identical; -0 ≠ 0, NaN = NaN). */
export function firstDifference(a: unknown, b: unknown, path = ''): string | null {
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b) ? null : `${path || '.'}: ${a} vs ${b}`;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object')
    return a === b ? null : `${path || '.'}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
  if (Array.isArray(a) !== Array.isArray(b)) return `${path || '.'}: array vs object`;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return `${path || '.'}: ${ka.length} vs ${kb.length} entries`;
  for (const k of ka) {
    const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}${Array.isArray(a) ? `[${k}]` : `.${k}`}`);
    if (d) return d;
  }
  return null;
}
