import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import * as ew from '../../src/ops/elementwise';
import { expectClose } from '../helpers/close';
import { getEngine, poison } from '../helpers/gpu';
import { randn, testSeed } from '../helpers/random';

describe('elementwise.wgsl vs CPU twin', async () => {
  const g = await getEngine();
  const c = new CpuEngine();
  const seed = testSeed();
  // sizes that are not multiples of the workgroup (64), size 1, and a broadcast over rows
  const cases: [number, number][] = [
    [1, 1],
    [67, 67],
    [130 * 3, 3],
    [1000, 8],
  ];
  it.runIf(g)('add / sub / mul with modulo broadcasting', async () => {
    for (const [n, nb] of cases) {
      const a = randn(n, seed),
        b = randn(nb, seed + 1);
      for (const op of ['add', 'sub', 'mul'] as const) {
        const want = ew.binary(c, op, c.upload(a, [n]), c.upload(b, [nb])).f32;
        const out = ew.binary(g!, op, g!.upload(a, [n]), g!.upload(b, [nb]));
        expectClose(await g!.read(out), want, 1e-6, `${op} n=${n} nb=${nb} seed=${seed}`);
      }
    }
  });
  it.runIf(g)('scale, axpyInto, sumRepeat', async () => {
    for (const [n, nb] of cases) {
      const a = randn(n, seed + 2),
        y = randn(n, seed + 3);
      expectClose(await g!.read(ew.scale(g!, g!.upload(a, [n]), -0.7)), ew.scale(c, c.upload(a, [n]), -0.7).f32, 1e-6, 'scale');
      const yg = g!.upload(y, [n]);
      ew.axpyInto(g!, yg, g!.upload(a, [n]), 0.3);
      const yc = c.upload(y, [n]);
      ew.axpyInto(c, yc, c.upload(a, [n]), 0.3);
      expectClose(await g!.read(yg), yc.f32, 1e-6, 'axpy');
      const sg = ew.sumRepeat(g!, g!.upload(a, [n]), [nb]);
      expectClose(await g!.read(sg), ew.sumRepeat(c, c.upload(a, [n]), [nb]).f32, 1e-5, `sumRepeat n=${n}`);
    }
    expect(g!.takeErrors()).toEqual([]);
  });
  it.runIf(g)('outputs start poisoned and are fully overwritten', async () => {
    const n = 131;
    const out = g!.empty([n]);
    expect(Number.isNaN((await g!.read(out))[5])).toBe(true); // the poison really is NaN
    poison(g!, out);
    const a = g!.upload(randn(n, seed), [n]);
    const r = ew.scale(g!, a, 2);
    const vals = await g!.read(r);
    expect(vals.every((v) => Number.isFinite(v))).toBe(true);
  });
});
