// The workgroup variants here run the shared tree reductions of shaders/workgroup_reduce.wgsl (prepended
// to norm, softmax, loss and attention): these GPU-vs-CPU comparisons on widths that do not divide the
// workgroup are its tests (softmax.test.ts, loss.test.ts and attention.test.ts cover the other users).
import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import { layerNorm, layerNormBackward } from '../../src/ops/norm';
import { expectClose } from '../helpers/close';
import { getEngine } from '../helpers/gpu';
import { randn, testSeed } from '../helpers/random';

describe('norm.wgsl (layerNorm) vs CPU twin', async () => {
  const g = await getEngine();
  const c = new CpuEngine();
  const seed = testSeed();
  // cols not a multiple of 4 or of the workgroup (64), a single column, a single row, rank 3
  const shapes: number[][] = [
    [1, 1],
    [7, 1],
    [1, 67],
    [5, 67],
    [3, 2, 130],
    [130, 3],
  ];

  for (const variant of ['row', 'workgroup'] as const) {
    it.runIf(g)(`forward: y, mean, rstd (${variant} kernel)`, async () => {
      for (const shape of shapes) {
        const C = shape[shape.length - 1];
        const n = shape.reduce((a, b) => a * b);
        // an offset and a scale so the two-pass variance matters
        const x = randn(n, seed, 2).map((v) => v + 3);
        const gamma = randn(C, seed + 1),
          beta = randn(C, seed + 2);
        const want = layerNorm(c, c.upload(x, shape), c.upload(gamma, [C]), c.upload(beta, [C]), 1e-5);
        const got = layerNorm(g!, g!.upload(x, shape), g!.upload(gamma, [C]), g!.upload(beta, [C]), 1e-5, variant);
        const what = `shape [${shape}] ${variant} seed=${seed}`;
        expect(got.y.shape).toEqual(shape);
        expectClose(await g!.read(got.y), want.y.f32, 1e-5, `y ${what}`);
        expectClose(await g!.read(got.mean), want.mean.f32, 1e-5, `mean ${what}`);
        expectClose(await g!.read(got.rstd), want.rstd.f32, 1e-5, `rstd ${what}`);
      }
      expect(g!.takeErrors()).toEqual([]);
    });

    it.runIf(g)(`backward: dx, dgamma, dbeta (and none when not asked) (${variant} kernel)`, async () => {
      for (const shape of shapes) {
        const C = shape[shape.length - 1];
        const n = shape.reduce((a, b) => a * b);
        const x = randn(n, seed + 3, 1.5).map((v) => v - 1);
        const gamma = randn(C, seed + 4),
          beta = randn(C, seed + 5),
          dy = randn(n, seed + 6);
        const fc = layerNorm(c, c.upload(x, shape), c.upload(gamma, [C]), c.upload(beta, [C]), 1e-5);
        const want = layerNormBackward(c, c.upload(dy, shape), c.upload(x, shape), c.upload(gamma, [C]), fc.mean, fc.rstd, true);
        const xg = g!.upload(x, shape),
          gg = g!.upload(gamma, [C]);
        const fg = layerNorm(g!, xg, gg, g!.upload(beta, [C]), 1e-5, variant);
        const got = layerNormBackward(g!, g!.upload(dy, shape), xg, gg, fg.mean, fg.rstd, true, variant);
        const what = `shape [${shape}] ${variant} seed=${seed}`;
        expectClose(await g!.read(got.dx), want.dx.f32, 1e-5, `dx ${what}`);
        expectClose(await g!.read(got.dgamma!), want.dgamma!.f32, 1e-5, `dgamma ${what}`);
        expectClose(await g!.read(got.dbeta!), want.dbeta!.f32, 1e-5, `dbeta ${what}`);
        const noParams = layerNormBackward(g!, g!.upload(dy, shape), xg, gg, fg.mean, fg.rstd, false, variant);
        expect(noParams.dgamma).toBeNull();
        expect(noParams.dbeta).toBeNull();
        expectClose(await g!.read(noParams.dx), want.dx.f32, 1e-5, `dx (no param grads) ${what}`);
      }
      expect(g!.takeErrors()).toEqual([]);
    });
  }

  it.runIf(g)('reductions are deterministic (bit-identical reruns)', async () => {
    const shape = [150, 77];
    const x = g!.upload(randn(150 * 77, seed + 7), shape),
      gamma = g!.upload(randn(77, seed + 8), [77]);
    const beta = g!.upload(randn(77, seed + 9), [77]),
      dy = g!.upload(randn(150 * 77, seed + 10), shape);
    const run = async () => {
      const f = layerNorm(g!, x, gamma, beta, 1e-5);
      const b = layerNormBackward(g!, dy, x, gamma, f.mean, f.rstd, true);
      return [...(await g!.read(f.y)), ...(await g!.read(b.dx)), ...(await g!.read(b.dgamma!))];
    };
    expect(await run()).toEqual(await run());
  });
});
