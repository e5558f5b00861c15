// The session compiles the run's pipelines ahead of time with progress (k of n) before the
// baselines, and that set is complete: learning and evaluation compile nothing more.
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type ExperimentConfig } from '../../src/lab/config';
import { fixedEngine, LabRunner } from '../../src/lab/runner';
import type { SessionEvent } from '../../src/lab/session';
import { getEngine } from '../helpers/gpu';
import { microAssets } from '../helpers/micro-assets';

const g = await getEngine();

describe('shader compilation ahead of the run', () => {
  for (const model of ['micro-gpt', 'micro-vit']) {
    it.runIf(g)(`${model}: progress k of n, then no pipeline compiled while learning`, async () => {
      const config: ExperimentConfig = {
        ...DEFAULT_CONFIG,
        model,
        batch: 2,
        steps: 3,
        evalEvery: 3,
        calibBatches: 2,
        evalWindows: 2,
        samplesPerStep: 1,
        prior: 'magnitude',
      };
      const events: SessionEvent[] = [];
      const live = g!.liveTensors;
      const r = new LabRunner({ engine: fixedEngine(g!), assets: microAssets() });
      r.subscribe((ev) => events.push(ev));
      await r.load(config);
      const s = r.session!;
      const compiling = events.filter((e): e is Extract<SessionEvent, { type: 'progress' }> => e.type === 'progress' && e.phase === 'compiling');
      expect(compiling.length).toBeGreaterThan(1);
      const total = compiling[0].total;
      expect(total).toBeGreaterThan(5);
      expect(compiling.map((e) => e.done)).toEqual(Array.from({ length: total + 1 }, (_, i) => i));
      // the compile phase comes before the baselines
      const firstBaseline = events.findIndex((e) => e.type === 'progress' && e.phase === 'baselines');
      if (firstBaseline >= 0) expect(events.indexOf(compiling[compiling.length - 1])).toBeLessThan(firstBaseline);
      const before = new Set(g!.kernels.keys());
      await r.runToEnd();
      expect(r.state).toBe('done');
      expect(
        g!.kernels.keys().filter((k) => !before.has(k)),
        'pipelines compiled during learning and the final evaluation',
      ).toEqual([]);
      s.dispose();
      expect(g!.liveTensors, 'GPU tensors left after dispose (the dry run must free its own)').toBe(live);
      expect(g!.takeErrors()).toEqual([]);
    });
  }
});
