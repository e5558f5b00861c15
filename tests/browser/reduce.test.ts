import { describe, expect, it } from 'vitest';
import * as FR from '../../src/autograd/fn/reduce';
import { Tape } from '../../src/autograd/tape';
import { param } from '../../src/autograd/tensor';
import { CpuEngine } from '../../src/backend/cpu';
import * as R from '../../src/ops/reduce';
import { expectClose } from '../helpers/close';
import { getEngine } from '../helpers/gpu';
import { randn, testSeed } from '../helpers/random';

describe('reduce.wgsl vs CPU twin (f64)', async () => {
  const g = await getEngine();
  const c = new CpuEngine();
  const seed = testSeed();
  // 1, block edges (4096 elements per workgroup per level) and sizes that need 1 or 2 levels (3 levels
  // start past 16.7M elements, too slow for SwiftShader; the level loop is the same code)
  const sizes = [1, 63, 65, 4095, 4097, 100_000, 3_000_000];
  // an offset keeps the sums away from 0, so a relative tolerance is meaningful
  const data = (n: number, s: number) => randn(n, s).map((v) => v + 0.3);

  it.runIf(g)('sum, mean, max, sumSquares, l1Distance for any n (results stay on the device)', async () => {
    for (const n of sizes) {
      const a = data(n, seed + n);
      // the JS RNG is slow: for the big case b is a reversed copy of a, shifted
      const b = n > 100_000 ? a.map((_, i) => a[n - 1 - i] + 0.1) : data(n, seed + n + 1);
      const ag = g!.upload(a, [n]),
        bg = g!.upload(b, [n]);
      const ac = c.upload(a, [n]),
        bc = c.upload(b, [n]);
      const reads = g!.stats.readbacks;
      const outs = {
        sum: [R.sum(g!, ag), R.sum(c, ac)],
        mean: [R.mean(g!, ag), R.mean(c, ac)],
        max: [R.max(g!, ag), R.max(c, ac)],
        sumSquares: [R.sumSquares(g!, ag), R.sumSquares(c, ac)],
        l1Distance: [R.l1Distance(g!, ag, bg), R.l1Distance(c, ac, bc)],
      };
      expect(g!.stats.readbacks, 'no readback while reducing').toBe(reads);
      for (const [name, [og, oc]] of Object.entries(outs)) {
        expect(og.shape, name).toEqual([1]);
        expectClose(await g!.read(og), oc.f32, 1e-5, `${name} n=${n} seed=${seed}`);
        og.dispose();
      }
      ag.dispose();
      bg.dispose();
    }
    expect(g!.takeErrors()).toEqual([]);
  });

  it.runIf(g)('max is exact across blocks, with all-negative values and the max in the last element', async () => {
    for (const n of [2, 1025, 70_000]) {
      const a = randn(n, seed + 7).map((v) => -Math.abs(v) - 1);
      a[n - 1] = -0.5;
      expect(Array.from(await g!.read(R.max(g!, g!.upload(a, [n]))))).toEqual([-0.5]);
    }
  });

  it.runIf(g)('globalSumSquares over a tensor set, clipScale on a known norm, no leaked buffers', async () => {
    await g!.sync();
    const live = g!.liveTensors;
    const shapes = [[1], [63], [0], [5, 205], [70_001], [2, 3]];
    const xs = shapes.map((s, k) =>
      randn(
        s.reduce((p, q) => p * q, 1),
        seed + 20 + k,
      ),
    );
    const gs = xs.map((x, k) => g!.upload(x, shapes[k]));
    const got = R.globalSumSquares(g!, gs);
    const want = R.globalSumSquares(
      c,
      xs.map((x, k) => c.upload(x, shapes[k])),
    );
    expectClose(await g!.read(got), want.f32, 1e-5, `globalSumSquares seed=${seed}`);
    // known norm: 100·1² + 25·2² + 100·0.5² = 225 = 15²
    const known = [g!.fill([100], 1), g!.fill([25], 2), g!.fill([4, 25], 0.5)];
    const sq = R.globalSumSquares(g!, known);
    expect(Array.from(await g!.read(sq))).toEqual([225]);
    expectClose(await g!.read(R.clipScale(g!, sq, 1)), [1 / (15 + 1e-6)], 1e-6, 'clip 1');
    expect(Array.from(await g!.read(R.clipScale(g!, sq, 30)))).toEqual([1]);
    expect(Number.isNaN((await g!.read(R.clipScale(g!, g!.upload([NaN], [1]), 1)))[0])).toBe(true);
    expect(Array.from(await g!.read(R.globalSumSquares(g!, [])))).toEqual([0]);
    expect(Array.from(await g!.read(R.sum(g!, g!.empty([0]))))).toEqual([0]);
    for (const t of [...gs, ...known, got, sq]) t.dispose();
    await g!.sync();
    // only the small tensors made inline above (clip outputs, NaN input, empty-input results) remain
    expect(g!.liveTensors - live).toBe(7);
    expect(g!.takeErrors()).toEqual([]);
  });

  it.runIf(g)('sum / mean backward broadcast the [1] gradient on the device', async () => {
    const n = 67;
    for (const [name, f, div] of [
      ['sum', FR.sum, 1],
      ['mean', FR.mean, n],
    ] as const) {
      const x = param(g!.upload(randn(n, seed + 30), [1, n]));
      const tape = new Tape(g!);
      const y = f(tape, x);
      const reads = g!.stats.readbacks;
      tape.backward(y, g!.upload([2.5], [1]));
      expect(g!.stats.readbacks, 'no readback in backward').toBe(reads);
      expect(x.grad!.shape).toEqual([1, n]);
      expectClose(await g!.read(x.grad!), new Float32Array(n).fill(2.5 / div), 1e-7, name);
      tape.dispose();
    }
    const s = g!.upload([-3], [1]);
    expectClose(await g!.read(R.broadcastScalar(g!, s, [1], 3)), [-1], 0, 'size-1 broadcast');
    expectClose(await g!.read(R.broadcastScalar(g!, s, [70_000], 1)), new Float32Array(70_000).fill(-3), 0, '2-D grid broadcast');
    expect(g!.takeErrors()).toEqual([]);
  });
});
