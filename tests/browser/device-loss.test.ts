// Device loss mid-run (simulated with device.destroy()): the runner reports it, the engine's onLost
// fires with GpuError 'device-lost', and a new engine + session resumes from the last saved state,
// losing only the steps after the save; the resumed run ends exactly where an uninterrupted one does.
// The last test is the runner's own recovery, as headless.html runs it (memory store, engine factory).
import { describe, expect, it } from 'vitest';
import { GpuEngine } from '../../src/backend/gpu';
import { GpuError } from '../../src/gpu/errors';
import { DEFAULT_CONFIG, type ExperimentConfig } from '../../src/lab/config';
import { memoryStore } from '../../src/lab/persist';
import { explainFailure, isDeviceLost, lossOf } from '../../src/lab/recovery';
import { fixedEngine, LabRunner, MAX_AUTO_RECOVERIES, type Recovery, type RunnerEvent } from '../../src/lab/runner';
import type { LabSession, SessionEvent } from '../../src/lab/session';
import { getEngine } from '../helpers/gpu';
import { microAssets } from '../helpers/micro-assets';

const base: ExperimentConfig = {
  ...DEFAULT_CONFIG,
  model: 'micro-gpt',
  batch: 2,
  steps: 6,
  evalEvery: 3,
  calibBatches: 2,
  evalWindows: 2,
  samplesPerStep: 1,
  prior: 'magnitude',
};
const SAVE_AT = 2;
const LOSE_AFTER = 4;

async function poisoned(): Promise<GpuEngine> {
  const e = await GpuEngine.create();
  e.poisonAllocations = true;
  return e;
}

/** A runner without recovery (no engine factory) on a fresh engine, loaded. */
async function fresh() {
  const e = await poisoned();
  const events: SessionEvent[] = [];
  const r = new LabRunner({ engine: fixedEngine(e), assets: microAssets() });
  r.subscribe((ev) => events.push(ev));
  await r.load(base);
  return { e, r, s: r.session!, events };
}

async function reference(engine: GpuEngine, config: ExperimentConfig) {
  const ref = new LabRunner({ engine: fixedEngine(engine), assets: microAssets() });
  await ref.load(config);
  await ref.runToEnd();
  expect(ref.state).toBe('done');
  const want = await ref.session!.learner!.state();
  ref.session!.dispose();
  return want;
}

/** Destroys the device once the session reaches `step` (polled, as a driver reset would come). */
function loseAt(s: () => LabSession | null, e: () => GpuEngine, step: number): { stop(): number } {
  let destroyedAt = -1;
  const poll = setInterval(() => {
    const cur = s();
    if (destroyedAt < 0 && cur && cur.step >= step) {
      destroyedAt = cur.step;
      e().device.destroy();
    }
  }, 0);
  return {
    stop() {
      clearInterval(poll);
      return destroyedAt;
    },
  };
}

const g = await getEngine();

describe('device loss', () => {
  it.runIf(g)('detects the loss mid-run, recreates the engine and resumes from the last saved state', async () => {
    // reference: an uninterrupted run on the shared engine
    const want = await reference(g!, base);

    const a = await fresh();
    const lost = lossOf(a.e);
    for (let k = 0; k < SAVE_AT; k++) await a.r.step();
    const saved = await a.s.exportMask('state');
    // lose the device in the middle of the run, right after step LOSE_AFTER's progress event
    const loss = loseAt(
      () => a.s,
      () => a.e,
      LOSE_AFTER,
    );
    await a.r.runToEnd();
    const destroyedAt = loss.stop();
    expect(destroyedAt).toBeGreaterThanOrEqual(LOSE_AFTER);
    const err = await lost; // the engine's onLost fired
    expect(err).toBeInstanceOf(GpuError);
    expect(err.kind).toBe('device-lost');
    expect(a.e.isLost).toBe(true);
    // the run stopped and said why (not 'done': the final evaluation cannot run on a lost device)
    expect(a.r.state).toBe('error');
    const reported = a.events.filter((x): x is Extract<SessionEvent, { type: 'error' }> => x.type === 'error');
    expect(reported.length).toBeGreaterThan(0);
    const message = reported.at(-1)!.message;
    // Race in Chromium: the step's pending mapAsync may reject before device.lost resolves; the
    // runner reports through explainFailure, which waits for the loss and names it.
    expect(isDeviceLost(message), message).toBe(true);
    const explained = await explainFailure(a.e, new Error(message));
    expect(explained).toBeInstanceOf(GpuError);
    expect((explained as GpuError).kind).toBe('device-lost');
    expect((explained as GpuError).message).toMatch(/GPU device lost \(destroyed\)/);
    expect(isDeviceLost(explained)).toBe(true);

    // recreate: new engine, new session, same configuration, restore the saved state
    const b = await fresh();
    expect(b.r.state).toBe('ready');
    b.s.restore(saved);
    expect(b.s.step).toBe(SAVE_AT); // lost: only the steps after the save
    await b.r.runToEnd();
    expect(b.r.state).toBe('done');
    expect(b.s.step).toBe(base.steps);
    const got = await b.s.learner!.state();
    expect(got.map((x) => x.name)).toEqual(want.map((x) => x.name));
    // same GPU kernels, same RNG positions: the resumed run matches the uninterrupted one exactly
    got.forEach((x, i) => expect(Array.from(x.logits)).toEqual(Array.from(want[i].logits)));
    expect(b.e.takeErrors()).toEqual([]);
    b.s.dispose();
    b.e.destroy();
  });

  it.runIf(g)('a state from another configuration or a damaged one is refused with the reason', async () => {
    const ra = new LabRunner({ engine: fixedEngine(g!), assets: microAssets() });
    await ra.load(base);
    await ra.step();
    const saved = await ra.exportMask('state');
    ra.session!.dispose();
    const rb = new LabRunner({ engine: fixedEngine(g!), assets: microAssets() });
    await rb.load({ ...base, seed: base.seed + 1 });
    const b = rb.session!;
    expect(() => b.restore(saved)).toThrow(/seed = 1, this run has 2/);
    const bad = saved.slice();
    bad[bad.length - 3] ^= 0x10;
    expect(() => b.restore(bad)).toThrow(/CRC mismatch/);
    expect(b.step).toBe(0);
    b.dispose();
  });

  it.runIf(g)('the runner recovers on its own, as headless.html runs it: resumes from its last save, one metrics row per step', async () => {
    const config: ExperimentConfig = { ...base, steps: 10, evalEvery: 5 };
    const want = await reference(g!, config);
    const engines: GpuEngine[] = [await poisoned()];
    const r = new LabRunner({
      engine: fixedEngine(engines[0], async () => {
        engines.push(await poisoned());
        return engines.at(-1)!;
      }),
      assets: microAssets(),
      store: memoryStore(),
      saveEvery: 3,
    });
    const events: RunnerEvent[] = [];
    r.watch((e) => events.push(e));
    await r.load(config);
    const loss = loseAt(
      () => r.session,
      () => engines[0],
      5,
    );
    await r.runToEnd();
    const destroyedAt = loss.stop();
    expect(destroyedAt).toBeGreaterThanOrEqual(5);
    const recoveries = events.flatMap((e): Recovery[] => (e.type === 'recovery' ? [e.recovery] : []));
    expect(recoveries.map((x) => x.status)).toEqual(['recovering', 'recovered']);
    const done = recoveries[1];
    expect(done.detail).toMatch(/GPU device lost \(destroyed\)/);
    // saved at steps 3 (and 6 if the loss came later): resumed from the last save before the loss
    expect(done.resumedFromStep).toBe(3 * Math.floor(done.lostAtStep! / 3));
    expect(done.lostAtStep! - done.resumedFromStep!).toBeLessThan(3);
    expect(done.relaunched).toBe(true);
    expect(engines).toHaveLength(2);
    expect(r.state).toBe('done');
    expect(r.session!.engine).toBe(engines[1]);
    const m = await r.getMetrics();
    expect(
      m.rows.map((x) => x.step),
      'one metrics row per step, none lost or repeated',
    ).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(m.evaluations.map((x) => x.step)).toEqual([5, 10]);
    // the resumed run learns exactly what an uninterrupted one does
    const got = await r.session!.learner!.state();
    got.forEach((x, i) => expect(Array.from(x.logits)).toEqual(Array.from(want[i].logits)));
    expect(engines[1].takeErrors()).toEqual([]);
    r.session!.dispose();
    engines[1].destroy();
  });

  it.runIf(g)(`more than ${MAX_AUTO_RECOVERIES} losses within a minute stop the automatic recovery`, async () => {
    let current = await poisoned();
    const r = new LabRunner({ engine: fixedEngine(current, async () => (current = await poisoned())), assets: microAssets(), store: memoryStore() });
    const statuses: string[] = [];
    r.watch((e) => e.type === 'recovery' && statuses.push(e.recovery.status));
    await r.load(base);
    for (let k = 0; k <= MAX_AUTO_RECOVERIES; k++) {
      current.device.destroy();
      await new Promise((res) => setTimeout(res, 50));
      await r.settle();
    }
    expect(statuses).toEqual([...Array.from({ length: MAX_AUTO_RECOVERIES }, () => ['recovering', 'recovered']).flat(), 'gave-up']);
    r.session?.dispose();
  });
});
