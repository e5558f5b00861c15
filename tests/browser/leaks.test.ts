// 50 run/reset cycles (micro GPT, 1 step each) must return the GPU engine's live buffers to their
// baseline exactly, and the JS heap to within a stated bound.
import { describe, expect, it } from 'vitest';
import { cdp } from 'vitest/browser';
import { DEFAULT_CONFIG, type ExperimentConfig } from '../../src/lab/config';
import { fixedEngine, LabRunner } from '../../src/lab/runner';
import { getEngine } from '../helpers/gpu';
import { microAssets } from '../helpers/micro-assets';

const CYCLES = 50;
/** Heap growth allowed over 50 cycles after a forced GC: far below what leaking one copy of the
 * model's state per cycle (weights + logits, ~40 KB each) would add, above allocator noise. */
const HEAP_BOUND_BYTES = 1.5 * 2 ** 20;

const base: ExperimentConfig = {
  ...DEFAULT_CONFIG,
  model: 'micro-gpt',
  batch: 2,
  steps: 1,
  evalEvery: 1,
  calibBatches: 2,
  evalWindows: 2,
  samplesPerStep: 1,
  prior: 'magnitude',
};

/**
 * Used JS heap after a full GC. Chromium does not expose gc() to pages by default and
 * performance.memory is quantized without --enable-precise-memory-info, so ask the DevTools protocol
 * (Vitest's cdp(), Chromium + Playwright only) to collect garbage and report the exact heap usage.
 */
async function heap(): Promise<{ used: number | null; reason: string }> {
  let session: ReturnType<typeof cdp>;
  try {
    session = cdp();
  } catch (e) {
    return { used: null, reason: `no DevTools protocol session (${(e as Error).message})` };
  }
  // two collections: the first may only schedule finalizers (FinalizationRegistry, GPU wrappers)
  await session.send('HeapProfiler.collectGarbage');
  await new Promise((r) => setTimeout(r, 50));
  await session.send('HeapProfiler.collectGarbage');
  const u = (await session.send('Runtime.getHeapUsage')) as { usedSize: number };
  return { used: u.usedSize, reason: '' };
}

const g = await getEngine();

describe('leaks', () => {
  it.runIf(g)(`${CYCLES} run/reset cycles return live GPU buffers and the JS heap to baseline`, async () => {
    const e = g!;
    const startLive = e.liveTensors;
    const r = new LabRunner({ engine: fixedEngine(e), assets: microAssets() });
    await r.load(base);
    const s = r.session!;
    // one cycle first: pipelines, pooled buffers and lazily built tables are not leaks
    await r.runToEnd();
    await r.reset();
    const baseLive = e.liveTensors;
    const baseBytes = e.pool.liveByteCount;
    const h0 = await heap();
    const liveAfter: number[] = [];
    for (let c = 0; c < CYCLES; c++) {
      await r.runToEnd();
      expect(r.state).toBe('done');
      await r.reset();
      expect(r.state).toBe('ready');
      liveAfter.push(e.liveTensors);
    }
    // every cycle, not only the last, ends at the baseline
    expect(liveAfter).toEqual(new Array(CYCLES).fill(baseLive));
    expect(e.pool.liveByteCount).toBe(baseBytes);
    const h1 = await heap();
    if (h0.used === null || h1.used === null) {
      console.warn(`JS heap check skipped: ${h0.reason || h1.reason}`);
    } else {
      console.log(`JS heap: ${h0.used} → ${h1.used} bytes after ${CYCLES} cycles (bound ${HEAP_BOUND_BYTES})`);
      expect(h1.used - h0.used).toBeLessThan(HEAP_BOUND_BYTES);
    }
    // and disposing the session returns to where the engine started
    s.dispose();
    expect(e.liveTensors).toBe(startLive);
    expect(e.takeErrors()).toEqual([]);
  });
});
