// The autotuner's choice logic and cache (src/gpu/autotune.ts) with a fake timer: the fastest
// candidate wins only by a clear margin over the built-in choice, noise never swaps equal kernels,
// failures and the time budget fall back to the built-in, and the cache is keyed by adapter and lab
// version, reused, completed for new classes, and never trusted beyond the candidates.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { autotune, choose, decodePicks, encodePicks, tuneCacheKey, tunedPicks, type ShapeClass, type TuneStorage } from '../../src/gpu/autotune';
import { CpuEngine } from '../../src/backend/cpu';
import type { GpuEngine } from '../../src/backend/gpu';
import { chooseMatmulVariant, matmul, matmulGeometry, matmulShapeClass, MATMUL_VARIANTS, variantSupported } from '../../src/ops/matmul';
import { testSeed } from '../helpers/random';

type V = 'a' | 'b' | 'c';
const cls = (key: string, builtIn: V = 'a', candidates: V[] = ['a', 'b', 'c']): ShapeClass<V> => ({ key, builtIn, candidates });
const seed = testSeed();

/** A timer that answers from a table (ms per class and variant) and counts calls; a clock that advances by the time "spent". */
function fakeTimer(table: Record<string, Partial<Record<V, number | 'throw'>>>) {
  let clock = 0;
  const calls: string[] = [];
  return {
    calls,
    now: () => clock,
    time: async (c: ShapeClass<V>, v: V) => {
      calls.push(`${c.key}:${v}`);
      const t = table[c.key]?.[v];
      if (t === 'throw' || t === undefined) throw new Error(`${v} cannot run ${c.key}`);
      clock += t;
      return t;
    },
  };
}

function memoryStorage(): TuneStorage & { data: Map<string, unknown>; sets: number } {
  const data = new Map<string, unknown>();
  const s = {
    data,
    sets: 0,
    get: async (k: string) => structuredClone(data.get(k)),
    set: async (k: string, v: unknown) => {
      s.sets++;
      data.set(k, structuredClone(v));
    },
  };
  return s;
}

describe('autotune: the choice', () => {
  it('the fastest candidate by more than the margin replaces the built-in; within the margin the built-in stays', async () => {
    const t = fakeTimer({ x: { a: 10, b: 5, c: 7 }, y: { a: 10, b: 9.5, c: 9.2 } });
    const picks = await autotune([cls('x'), cls('y')], t.time, { now: t.now, budgetMs: 1e9 });
    expect(picks.get('x')!.variant).toBe('b');
    expect(picks.get('x')!.ms).toEqual({ a: 10, b: 5, c: 7 });
    expect(picks.get('y')!.variant).toBe('a'); // 8% faster is not 10%
    // one warm-up and 3 timed runs per candidate
    expect(t.calls.filter((c) => c === 'x:b')).toHaveLength(4);
  });

  it('the median of the timed runs counts, not one lucky run', async () => {
    const runs: Record<V, number[]> = { a: [99, 10, 10, 10], b: [99, 1, 20, 20], c: [99, 30, 30, 30] };
    const picks = await autotune([cls('x')], async (_, v) => runs[v].shift()!, { budgetMs: 1e9 });
    expect(picks.get('x')!.ms).toEqual({ a: 10, b: 20, c: 30 });
    expect(picks.get('x')!.variant).toBe('a');
  });

  it('a candidate that throws is out; if the built-in throws, the fastest that ran; nothing ran: the built-in', async () => {
    const t = fakeTimer({ x: { a: 10, b: 'throw', c: 9.5 }, y: { a: 'throw', b: 12, c: 11 }, z: {} });
    const picks = await autotune([cls('x'), cls('y'), cls('z')], t.time, { now: t.now, budgetMs: 1e9 });
    expect(picks.get('x')!.ms.b).toBe(Infinity);
    expect(picks.get('x')!.variant).toBe('a');
    expect(picks.get('y')!.variant).toBe('c');
    expect(picks.get('z')!.variant).toBe('a');
  });

  it('past the time budget the remaining classes keep the built-in, untimed; progress counts every class', async () => {
    const t = fakeTimer({ x: { a: 100, b: 10, c: 100 }, y: { a: 100, b: 1, c: 100 } });
    const progress: string[] = [];
    const picks = await autotune([cls('x'), cls('y')], t.time, { now: t.now, budgetMs: 500, onProgress: (d, n, k) => progress.push(`${d}/${n} ${k}`) });
    expect(picks.get('x')!.variant).toBe('b');
    expect(picks.get('y')).toEqual({ variant: 'a', ms: {} });
    expect(t.calls.some((c) => c.startsWith('y:'))).toBe(false);
    expect(progress).toEqual(['1/2 x', '2/2 y']);
  });

  it('property: the pick is the built-in or a candidate at least `margin` faster than it, and never a failed one', () => {
    const time = fc.oneof(fc.double({ min: 0, max: 1000, noNaN: true }), fc.constant(Infinity));
    fc.assert(
      fc.property(time, time, time, fc.double({ min: 0, max: 0.5, noNaN: true }), (a, b, c, margin) => {
        const ms = { a, b, c };
        const v = choose(cls('x'), ms, margin);
        if (v !== 'a') {
          expect(Number.isFinite(ms[v])).toBe(true);
          if (Number.isFinite(a)) expect(ms[v]).toBeLessThanOrEqual(a * (1 - margin));
          expect(ms[v]).toBe(Math.min(a, b, c));
        }
      }),
      { seed, numRuns: 300 },
    );
  });

  it('refuses a built-in that is not a candidate and bad options', async () => {
    await expect(autotune([cls('x', 'c', ['a', 'b'])], async () => 1)).rejects.toThrow(/built-in c is not among the candidates/);
    await expect(autotune([cls('x')], async () => 1, { reps: 0 })).rejects.toThrow(/reps/);
    await expect(autotune([cls('x')], async () => 1, { margin: 1 })).rejects.toThrow(/margin/);
  });
});

describe('autotune: the cache', () => {
  const adapter = { vendor: 'nvidia', architecture: 'hopper', device: 'H100', description: 'driver 1' };

  it('measures once per adapter and lab version, then reads the picks back without timing', async () => {
    const storage = memoryStorage();
    const key = tuneCacheKey(adapter, '0.1.0');
    const t = fakeTimer({ x: { a: 10, b: 5, c: 7 } });
    const first = await tunedPicks(storage, key, [cls('x')], t.time, { now: t.now, budgetMs: 1e9 });
    expect(first.cached).toBe(false);
    expect(first.picks.get('x')!.variant).toBe('b');
    const n = t.calls.length;
    const second = await tunedPicks(storage, key, [cls('x')], t.time, { now: t.now, budgetMs: 1e9 });
    expect(second.cached).toBe(true);
    expect(second.picks).toEqual(first.picks);
    expect(t.calls.length).toBe(n);
    // another driver, another lab version: tuned again
    for (const k of [tuneCacheKey({ ...adapter, description: 'driver 2' }, '0.1.0'), tuneCacheKey(adapter, '0.2.0')]) {
      expect(k).not.toBe(key);
      expect((await tunedPicks(storage, k, [cls('x')], t.time, { now: t.now, budgetMs: 1e9 })).cached).toBe(false);
    }
  });

  it('a new class is measured alone and added to what is stored', async () => {
    const storage = memoryStorage();
    const key = tuneCacheKey(adapter, '0.1.0');
    const t = fakeTimer({ x: { a: 10, b: 5, c: 7 }, y: { a: 1, b: 5, c: 7 } });
    await tunedPicks(storage, key, [cls('x')], t.time, { now: t.now, budgetMs: 1e9 });
    t.calls.length = 0;
    const r = await tunedPicks(storage, key, [cls('x'), cls('y')], t.time, { now: t.now, budgetMs: 1e9 });
    expect(r.cached).toBe(false);
    expect(t.calls.every((c) => c.startsWith('y:'))).toBe(true);
    expect(Object.keys(storage.data.get(key) as object).sort()).toEqual(['x', 'y']);
    expect(r.picks.get('x')!.variant).toBe('b');
  });

  it('classes the time budget did not reach are not stored: the next load times them, the timed ones come from the cache', async () => {
    const storage = memoryStorage();
    const key = tuneCacheKey(adapter, '0.1.0');
    const t = fakeTimer({ x: { a: 100, b: 10, c: 100 }, y: { a: 100, b: 1, c: 100 } });
    const first = await tunedPicks(storage, key, [cls('x'), cls('y')], t.time, { now: t.now, budgetMs: 500 });
    expect(first.picks.get('y')).toEqual({ variant: 'a', ms: {} });
    expect(Object.keys(storage.data.get(key) as object)).toEqual(['x']);
    t.calls.length = 0;
    const second = await tunedPicks(storage, key, [cls('x'), cls('y')], t.time, { now: t.now, budgetMs: 500 });
    expect(t.calls.every((c) => c.startsWith('y:'))).toBe(true);
    expect(second.picks.get('x')!.variant).toBe('b');
    expect(second.picks.get('y')!.variant).toBe('b');
    expect(Object.keys(storage.data.get(key) as object).sort()).toEqual(['x', 'y']);
    t.calls.length = 0;
    const third = await tunedPicks(storage, key, [cls('x'), cls('y')], t.time, { now: t.now, budgetMs: 500 });
    expect(third.cached).toBe(true);
    expect(t.calls).toEqual([]);
  });

  it('a stored pick that is no longer a candidate, or malformed entries, are ignored (measured again), never run', () => {
    const classes = [cls('x', 'a', ['a', 'b']), cls('y'), cls('z')];
    const stored = {
      x: { variant: 'c', ms: {} }, // c is not a candidate of x any more
      y: { variant: 'b', ms: { a: 3, b: 1, c: null, evil: 1 } },
      z: 'nonsense',
      __proto__: { variant: 'a' },
    };
    const picks = decodePicks(JSON.parse(JSON.stringify(stored)), classes);
    expect([...picks.keys()]).toEqual(['y']);
    expect(picks.get('y')).toEqual({ variant: 'b', ms: { a: 3, b: 1, c: Infinity } });
    for (const bad of [null, 3, 'x', [], [{ variant: 'a' }]]) expect(decodePicks(bad, classes).size).toBe(0);
    // a round trip keeps failures as failures (JSON has no Infinity)
    const enc = JSON.parse(JSON.stringify(encodePicks(picks)));
    expect(decodePicks(enc, classes)).toEqual(picks);
  });

  it('storage that fails to read or write: tuned, picks returned, nothing thrown', async () => {
    const t = fakeTimer({ x: { a: 10, b: 5, c: 7 } });
    const broken: TuneStorage = {
      get: async () => {
        throw new Error('IndexedDB unavailable');
      },
      set: async () => {
        throw new Error('quota exceeded');
      },
    };
    const r = await tunedPicks(broken, 'k', [cls('x')], t.time, { now: t.now, budgetMs: 1e9 });
    expect(r.cached).toBe(false);
    expect(r.picks.get('x')!.variant).toBe('b');
  });
});

// The matmul side of the tuner's input: a class's candidates are the variants the device can run.
describe('matmul shape classes and device features', () => {
  const cpu = new CpuEngine();
  it('matmul_subgroup is a candidate only with `subgroups`, for every shape and layout; the built-in never changes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 300 }),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        (z, m, k, n, transA, transB, bias) => {
          const lead = z > 1 ? [z] : [];
          const geo = matmulGeometry([...lead, ...(transA ? [k, m] : [m, k])], [...lead, ...(transB ? [n, k] : [k, n])], { transA, transB });
          const opts = { transA, transB, bias: bias ? cpu.zeros([n]) : undefined };
          const none = matmulShapeClass(geo, opts);
          const off = matmulShapeClass(geo, opts, { subgroups: false });
          const on = matmulShapeClass(geo, opts, { subgroups: true });
          expect(none.candidates).not.toContain('matmul_subgroup');
          expect(off.candidates).toEqual(none.candidates);
          // the same candidates plus the subgroup variant (MATMUL_VARIANTS' order), the same built-in and key
          expect(on.candidates).toEqual(MATMUL_VARIANTS.filter((v) => v === 'matmul_subgroup' || none.candidates.includes(v)));
          for (const c of [none, off, on]) {
            expect(c.builtIn).toBe(chooseMatmulVariant(geo, { transA, transB }));
            expect(c.candidates).toContain(c.builtIn);
            expect(c.key).toBe(none.key);
          }
        },
      ),
      { seed, numRuns: 200 },
    );
    expect(MATMUL_VARIANTS.filter((v) => !variantSupported(v, {}))).toEqual(['matmul_subgroup']);
    expect(MATMUL_VARIANTS.every((v) => variantSupported(v, { subgroups: true }))).toBe(true);
  });

  it('forcing matmul_subgroup on a GPU engine without `subgroups` throws a clear error before any dispatch', () => {
    const c = new CpuEngine();
    const calls: string[] = [];
    // only what the op touches before it would dispatch; anything further is recorded and fails the test
    const fake = new Proxy(
      { kind: 'gpu', info: { features: { timestampQuery: false, shaderF16: false, subgroups: false } }, wantsShapeClasses: false },
      {
        get(t, p) {
          if (p in t) return t[p as keyof typeof t];
          calls.push(String(p));
          return () => {
            throw new Error(`fake engine: ${String(p)}`);
          };
        },
      },
    ) as unknown as GpuEngine;
    const a = c.upload(new Float32Array(6), [2, 3]),
      b = c.upload(new Float32Array(12), [3, 4]);
    expect(() => matmul(fake, a, b, { variant: 'matmul_subgroup' })).toThrow(
      "matmul: variant matmul_subgroup needs the WebGPU 'subgroups' feature, which this device does not have (use another variant)",
    );
    expect(calls).toEqual([]);
  });
});
