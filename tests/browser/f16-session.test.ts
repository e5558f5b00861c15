// weightStorage 'f16' through a whole session on the WebGPU engine (deterministic: fixed seeds):
// the masked layers load packed, the pipelines are compiled ahead as for f32 (the f16 entry points
// included: nothing compiles while learning), the one-shot baselines read the weights back, the
// group view reads packed elements, every row of the table is finite, the pool's peak stays within
// the memory plan, and the plan counts 2 bytes per masked weight.
import { describe, expect, it } from 'vitest';
import { roundToF16 } from '../../src/backend/f16';
import { DEFAULT_CONFIG, type ExperimentConfig } from '../../src/lab/config';
import { fixedEngine, LabRunner } from '../../src/lab/runner';
import { elementIndex, groupLayout } from '../../src/sparsity/layout';
import { getEngine } from '../helpers/gpu';
import { microAssets } from '../helpers/micro-assets';

const g = await getEngine();

describe("weightStorage 'f16': a session on the GPU", () => {
  for (const model of ['micro-gpt', 'micro-vit']) {
    it.runIf(g)(`${model}: baselines, 3 steps, evaluations, group view; the plan's weights shrink`, async () => {
      const base: ExperimentConfig = {
        ...DEFAULT_CONFIG,
        model,
        batch: 2,
        steps: 3,
        evalEvery: 3,
        calibBatches: 2,
        evalWindows: 2,
        samplesPerStep: 1,
        prior: 'sparsegpt',
        kernels: 'built-in',
      };
      const live = g!.liveTensors;
      const planned: Record<string, number> = {};
      const tables: Record<string, number[]> = {};
      for (const weightStorage of ['f32', 'f16'] as const) {
        const r = new LabRunner({ engine: fixedEngine(g!), assets: microAssets() });
        await r.load({ ...base, weightStorage });
        const s = r.session!;
        const m = s.model!;
        for (const site of m.maskSites) expect(m.weights.get(site.name)!.raw.dtype, site.name).toBe(weightStorage);
        planned[weightStorage] = s.memoryPlan!.parts.find((p) => p.key === 'weights')!.bytes;
        const before = new Set(g!.kernels.keys());
        await r.runToEnd();
        expect(r.state).toBe('done');
        expect(
          g!.kernels.keys().filter((k) => !before.has(k)),
          `${weightStorage}: pipelines compiled during learning`,
        ).toEqual([]);
        const use = s.gpuMemory()!;
        expect(use.peakBytes, `${weightStorage}: pool peak within the plan`).toBeLessThanOrEqual(use.plannedBytes);
        // every row of the final table is finite
        const values = s.table.flatMap((row) => Object.values(row.metrics).map((x) => x!.loss));
        expect(values.length).toBeGreaterThan(4);
        expect(values.every(Number.isFinite), `${weightStorage} table ${values}`).toBe(true);
        tables[weightStorage] = values;
        // the group view reads a packed weight's elements: the stored (rounded) values
        const site = m.maskSites.length - 1;
        const ms = m.maskSites[site];
        const gl = groupLayout(ms.shape, ms.layout, base.m);
        const group = gl.groups - 1; // the last group: its elements end in the last word
        const v = await r.groupView(site, group);
        const w = (await g!.read(m.weights.get(ms.name)!.raw)) as Float32Array;
        expect(v.weights).toEqual([0, 1, 2, 3].map((k) => w[elementIndex(gl, group, k)]));
        if (weightStorage === 'f16') expect(Array.from(roundToF16(w))).toEqual(Array.from(w));
        s.dispose();
      }
      expect(planned.f16).toBeLessThan(planned.f32);
      // how far f16 storage moved the table's losses here (printed, not asserted: docs/ARCHITECTURE.md)
      const shift = Math.max(...tables.f16.map((x, i) => Math.abs(x - tables.f32[i])));
      console.log(`${model}: the table's losses, f16 storage vs f32: max |Δ| ${shift.toExponential(2)}`);
      expect(g!.liveTensors, 'GPU tensors left after dispose').toBe(live);
      expect(g!.takeErrors()).toEqual([]);
    });
  }
});
