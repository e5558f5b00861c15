import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import type { GpuEngine } from '../../src/backend/gpu';
import { scale } from '../../src/ops/elementwise';
import { Gpt, gptInitialWeights } from '../../src/models/gpt';
import { MaskLearner } from '../../src/sparsity/learner';
import { PRESETS } from '../../src/sparsity/schedule';
import { expectClose } from '../helpers/close';
import { getEngine } from '../helpers/gpu';
import { BindGroupCache } from '../../src/gpu/bind-groups';
import { randn, testSeed } from '../helpers/random';
import { MICRO_GPT, microText } from '../helpers/tiny-models';

describe('bind groups and uniform slots', async () => {
  const g = await getEngine();
  const seed = testSeed();

  it.runIf(g)('many dispatches of one kernel with different uniforms in one command buffer each see their own value', async () => {
    const x = randn(37, seed);
    const c = new CpuEngine();
    let gx = g!.upload(x, [37]);
    let cx = c.upload(x, [37]);
    for (let i = 0; i < 40; i++) {
      const alpha = 1 + (i % 7) / 10;
      const gn = scale(g!, gx, alpha),
        cn = scale(c, cx, alpha);
      gx.dispose();
      gx = gn;
      cx = cn;
    }
    expectClose(await g!.read(gx), cx.f32, 1e-5, `40 chained scales, seed ${seed}`);
    gx.dispose();
    expect(g!.takeErrors()).toEqual([]);
  });

  it.runIf(g)('a repeated mask-learning step creates no bind group after warm-up, and still matches the CPU engine', async () => {
    async function run(e: GpuEngine | CpuEngine, check: boolean) {
      const model = new Gpt(e, MICRO_GPT, gptInitialWeights(MICRO_GPT, seed));
      const hyper = { ...PRESETS.tunedSmall, kappa: [5, 10] as [number, number], steps: 8, samplesPerStep: 1 };
      const learner = new MaskLearner(model, { n: 2, m: 4, hyper, seed }, 8);
      let createdAfterWarmup = 0;
      for (let s = 0; s < 8; s++) {
        if (s === 4 && e.kind === 'gpu') createdAfterWarmup = e.bindGroups.stats.created;
        await learner.learnStep([microText(seed + s)]);
      }
      const created = e.kind === 'gpu' ? e.bindGroups.stats.created - createdAfterWarmup : 0;
      const state = await learner.state();
      learner.dispose();
      model.dispose();
      if (check) expect(created, 'bind groups created in steps 5 to 8 (after a 4-step warm-up)').toBe(0);
      return state;
    }
    const before = g!.bindGroups.stats.hits;
    const gpu = await run(g!, true);
    expect(g!.bindGroups.stats.hits - before, 'bind groups reused').toBeGreaterThan(0);
    const cpu = await run(new CpuEngine(), false);
    cpu.forEach((s, i) => expectClose(gpu[i].logits, s.logits, 1e-5, `logits ${s.name} seed ${seed}`));
    expect(g!.takeErrors()).toEqual([]);
  });

  it.runIf(g)('the cache is bounded: at its cap the least recently used group goes, a hit keeps its group', () => {
    const d = g!.device;
    const module = d.createShaderModule({
      code: '@group(0) @binding(0) var<storage, read_write> x: array<f32>;\n@compute @workgroup_size(1) fn main() { x[0] = 1.0; }',
    });
    const pipeline = d.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const bufs = [0, 1, 2, 3].map(() => d.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE }));
    const cache = new BindGroupCache(d, 3);
    const at = (i: number) => cache.get(pipeline, [{ binding: 0, buffer: bufs[i] }]);
    const g0 = at(0),
      g1 = at(1);
    at(2);
    expect(at(0), 'a hit returns the cached group').toBe(g0);
    at(3); // full: evicts 1, the least recently used (0 was just used)
    expect(cache.size).toBe(3);
    expect(cache.stats).toEqual({ created: 4, hits: 1, evicted: 1 });
    expect(at(0)).toBe(g0);
    expect(at(1), 'the evicted key gets a new group').not.toBe(g1);
    expect(cache.stats.created).toBe(5);
    for (const b of bufs) b.destroy();
    expect(g!.takeErrors()).toEqual([]);
  });
});
