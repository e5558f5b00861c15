import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import { softmax, softmaxBackward } from '../../src/ops/softmax';
import { expectClose } from '../helpers/close';
import { getEngine } from '../helpers/gpu';
import { randn, testSeed } from '../helpers/random';

describe('softmax.wgsl vs CPU twin', async () => {
  const g = await getEngine();
  const c = new CpuEngine();
  const seed = testSeed();
  const shapes: number[][] = [
    [1, 1],
    [4, 1],
    [1, 67],
    [5, 130],
    [2, 3, 200],
  ];

  it.runIf(g)('forward and backward over the last dim', async () => {
    for (const shape of shapes) {
      const n = shape.reduce((a, b) => a * b);
      const x = randn(n, seed, 4),
        dy = randn(n, seed + 1);
      const yc = softmax(c, c.upload(x, shape));
      const yg = softmax(g!, g!.upload(x, shape));
      const what = `[${shape}] seed=${seed}`;
      expectClose(await g!.read(yg), yc.f32, 1e-5, `softmax ${what}`);
      const want = softmaxBackward(c, c.upload(dy, shape), yc).f32;
      expectClose(await g!.read(softmaxBackward(g!, g!.upload(dy, shape), yg)), want, 1e-5, `softmax' ${what}`);
    }
    expect(g!.takeErrors()).toEqual([]);
  });

  it.runIf(g)('stable for large logits (max subtracted)', async () => {
    const x = Float32Array.from([1000, 999, -1000, 88.8, 89, 90, -3e38, 0, 3e38]);
    const got = await g!.read(softmax(g!, g!.upload(x, [3, 3])));
    expect(Array.from(got).every(Number.isFinite)).toBe(true);
    expectClose(got, softmax(c, c.upload(x, [3, 3])).f32, 1e-6, 'softmax large');
  });
});
