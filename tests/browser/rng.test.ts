import { describe, expect, it } from 'vitest';
import { rngBits, rngBitsCpu, rngUniform, rngUniformCpu } from '../../src/ops/rng';
import { getEngine } from '../helpers/gpu';
import { testSeed } from '../helpers/random';

describe('rng_fill.wgsl: GPU stream is bit-identical to the TypeScript twin', async () => {
  const e = await getEngine();
  it.runIf(e)('bits and uniforms match for odd sizes and offsets', async () => {
    for (const n of [1, 63, 1001]) {
      const pos = { seed: testSeed(), stream: n, offset: 12345 };
      const g = await e!.read(rngBits(e!, pos, n));
      expect(Array.from(g)).toEqual(Array.from(rngBitsCpu(pos, n)));
      const u = await e!.read(rngUniform(e!, pos, n));
      expect(Array.from(u)).toEqual(Array.from(rngUniformCpu(pos, n)));
    }
    expect(e!.takeErrors()).toEqual([]);
  });
});
