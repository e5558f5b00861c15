// The one-shot cache (src/lab/oneshot-cache.ts): a second load of the same model and settings takes
// the prior from the runner's cache instead of computing it, and learns exactly the same steps; other
// calibration data, another model or another engine computes it again. The cache's own budget and order.
import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import { DEFAULT_CONFIG, type ExperimentConfig } from '../../src/lab/config';
import { contentHash, OneShotCache } from '../../src/lab/oneshot-cache';
import { fixedEngine, LabRunner, type RunnerEvent } from '../../src/lab/runner';
import type { OneShotResult } from '../../src/sparsity/oneshot';
import { microAssets } from '../helpers/micro-assets';
import { testSeed } from '../helpers/random';

const seed = testSeed();
const base: ExperimentConfig = {
  ...DEFAULT_CONFIG,
  model: 'micro-gpt',
  batch: 2,
  steps: 3,
  evalEvery: 0,
  calibBatches: 2,
  evalWindows: 2,
  samplesPerStep: 1,
  prior: 'sparsegpt',
  seed,
};

const result = (bytes: number): OneShotResult => ({
  method: 'magnitude',
  update: false,
  masks: new Map([['w', new Uint8Array(bytes)]]),
  weights: new Map(),
});

describe('OneShotCache', () => {
  it('keeps results within its byte budget, dropping the least recently used first', () => {
    const c = new OneShotCache(100);
    c.set('a', result(40));
    c.set('b', result(40));
    expect(c.get('a')).toBeDefined(); // a is now the most recent
    c.set('c', result(40)); // over 100: b goes
    expect([c.get('a') !== undefined, c.get('b') !== undefined, c.get('c') !== undefined]).toEqual([true, false, true]);
    expect(c.bytes).toBe(80);
    c.set('huge', result(101)); // larger than the whole budget: not kept, nothing dropped
    expect(c.size).toBe(2);
    expect(c.admits(20)).toBe(true);
    expect(c.admits(21)).toBe(false);
  });

  it('hashes content: one changed byte anywhere, or moved between parts, changes the key', () => {
    const a = Uint8Array.from({ length: 97 }, (_, i) => (i * 31 + seed) & 255);
    const h = contentHash([a, new Uint32Array([1, 2])]);
    for (const i of [0, 48, 96]) {
      const b = a.slice();
      b[i] ^= 1;
      expect(contentHash([b, new Uint32Array([1, 2])])).not.toBe(h);
    }
    expect(contentHash([a, new Uint32Array([1, 3])])).not.toBe(h);
    expect(contentHash([a.subarray(0, 96), new Uint8Array([a[96]]), new Uint32Array([1, 2])])).toBe(h); // a chain of the same bytes
    expect(contentHash([a, new Uint32Array([1, 2])])).toBe(h);
  });
});

/** Loads `config` on the runner and takes 3 learning steps: the losses and whether the prior came from the cache. */
async function run(r: LabRunner, config: ExperimentConfig) {
  const events: RunnerEvent[] = [];
  const stop = r.watch((e) => events.push(e));
  await r.load(config);
  const priorEvents = events.filter((e) => e.type === 'progress' && e.phase === 'baselines');
  for (let i = 0; i < 3; i++) await r.step();
  stop();
  const losses = (await r.getMetrics()).rows.map((m) => m.loss);
  return { losses, cached: priorEvents.some((e) => e.type === 'progress' && /from the cache/.test(e.detail ?? '')), computed: priorEvents.length > 1 };
}

describe('a second load of the same model and settings takes the prior from the cache', () => {
  it('cached prior → the same learning steps; new calibration data or another engine → computed again', async () => {
    const e = new CpuEngine();
    const r = new LabRunner({ engine: fixedEngine(e), assets: microAssets(), store: null });
    const first = await run(r, base);
    expect([first.cached, first.computed]).toEqual([false, true]);
    expect(r.oneShotCache.size).toBeGreaterThanOrEqual(1); // and the baselines computed between the steps

    // another κ: the prior does not depend on it
    const again = await run(r, { ...base, kappaEnd: base.kappaEnd * 2 });
    expect([again.cached, again.computed]).toEqual([true, false]);
    const same = await run(r, base);
    expect(same.cached).toBe(true);
    expect(same.losses).toEqual(first.losses); // the cached prior starts exactly the same run

    // a fresh runner computes it: the same losses (the cache returns what would be computed)
    const fresh = await run(new LabRunner({ engine: fixedEngine(new CpuEngine()), assets: microAssets(), store: null }), base);
    expect(fresh.cached).toBe(false);
    expect(fresh.losses).toEqual(first.losses);

    // another seed draws other calibration batches: computed again
    const otherSeed = await run(r, { ...base, seed: (seed + 1) >>> 0 });
    expect([otherSeed.cached, otherSeed.computed]).toEqual([false, true]);

    // another engine: the cache is emptied
    r.adopt(new CpuEngine());
    expect(r.oneShotCache.size).toBe(0);
  });
});
