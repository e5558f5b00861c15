import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import { crossEntropy, crossEntropyBackward } from '../../src/ops/loss';
import { expectClose } from '../helpers/close';
import { getEngine } from '../helpers/gpu';
import { randint, randn, testSeed } from '../helpers/random';

describe('loss.wgsl (mean cross-entropy) vs CPU twin', async () => {
  const g = await getEngine();
  const c = new CpuEngine();
  const seed = testSeed();
  // [N, V]: one row, one class, V past and not a multiple of the workgroup, N past the workgroup
  const cases: [number, number][] = [
    [1, 1],
    [1, 5],
    [3, 67],
    [70, 13],
    [5, 1000],
  ];

  it.runIf(g)('forward (loss, lse, rowLoss) and backward with dloss read on the GPU', async () => {
    for (const [N, V] of cases) {
      const x = randn(N * V, seed + V, 3),
        t = randint(N, seed + N, V);
      const dl = Float32Array.of(randn(1, seed + 5)[0]);
      const fc = crossEntropy(c, c.upload(x, [N, V]), c.upload(t, [N], 'u32'));
      const xg = g!.upload(x, [N, V]),
        tg = g!.upload(t, [N], 'u32');
      const fg = crossEntropy(g!, xg, tg);
      const what = `N=${N} V=${V} seed=${seed}`;
      expect(fg.loss.shape).toEqual([1]);
      expectClose(await g!.read(fg.loss), fc.loss.f32, 1e-5, `loss ${what}`);
      expectClose(await g!.read(fg.lse), fc.lse.f32, 1e-5, `lse ${what}`);
      expectClose(await g!.read(fg.rowLoss), fc.rowLoss.f32, 1e-5, `rowLoss ${what}`);
      const want = crossEntropyBackward(c, c.upload(dl, [1]), c.upload(x, [N, V]), c.upload(t, [N], 'u32'), fc.lse);
      const readsBefore = g!.stats.readbacks;
      const got = crossEntropyBackward(g!, g!.upload(dl, [1]), xg, tg, fg.lse);
      expect(g!.stats.readbacks).toBe(readsBefore); // dloss stays on the GPU
      expectClose(await g!.read(got), want.f32, 1e-5, `dlogits ${what}`);
    }
    expect(g!.takeErrors()).toEqual([]);
  });

  it.runIf(g)('stable for huge logits', async () => {
    const x = Float32Array.from([1e4, -1e4, 0, 3e38, -3e38, 1]);
    const t = Uint32Array.of(1, 2);
    const got = crossEntropy(g!, g!.upload(x, [2, 3]), g!.upload(t, [2], 'u32'));
    const want = crossEntropy(c, c.upload(x, [2, 3]), c.upload(t, [2], 'u32'));
    expectClose(await g!.read(got.rowLoss), want.rowLoss.f32, 1e-6, 'rowLoss with huge logits');
  });

  it.runIf(g)('out-of-range targets are clamped to V − 1 on the GPU (no out-of-bounds read)', async () => {
    const N = 4,
      V = 7;
    const x = randn(N * V, seed + 11);
    const bad = Uint32Array.of(3, 7, 0xffffffff, 6);
    const clamped = Uint32Array.of(3, 6, 6, 6);
    const fg = crossEntropy(g!, g!.upload(x, [N, V]), g!.upload(bad, [N], 'u32'));
    const fc = crossEntropy(c, c.upload(x, [N, V]), c.upload(clamped, [N], 'u32'));
    expectClose(await g!.read(fg.rowLoss), fc.rowLoss.f32, 1e-5, 'clamped rowLoss');
    const dg = crossEntropyBackward(g!, g!.upload([1], [1]), g!.upload(x, [N, V]), g!.upload(bad, [N], 'u32'), fg.lse);
    const dc = crossEntropyBackward(c, c.upload([1], [1]), c.upload(x, [N, V]), c.upload(clamped, [N], 'u32'), fc.lse);
    expectClose(await g!.read(dg), dc.f32, 1e-5, 'clamped dlogits');
    // the CPU twin refuses them
    expect(() => crossEntropy(c, c.upload(x, [N, V]), c.upload(bad, [N], 'u32'))).toThrow('crossEntropy: target 7 at row 1 is out of range [0, 7)');
  });
});
