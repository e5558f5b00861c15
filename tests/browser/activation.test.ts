import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import { gelu, geluBackward } from '../../src/ops/activation';
import { expectClose } from '../helpers/close';
import { getEngine } from '../helpers/gpu';
import { randn, testSeed } from '../helpers/random';

// GELU(x) for x < −10 lies below f32's smallest normal number and a GPU may flush it to 0, which a
// one-element relative comparison would call a 100% error; the random tests stay inside ±9.5 and the
// extreme-input test covers the rest.
function clampTail(x: Float32Array): Float32Array {
  return x.map((v) => Math.max(-9.5, Math.min(9.5, v)));
}

/** Largest per-element relative error (NaN counts as infinite). */
function worstRelative(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const r = Math.abs(got[i] - want[i]) / Math.abs(want[i]);
    worst = Number.isNaN(r) ? Infinity : Math.max(worst, r);
  }
  return worst;
}

describe('activation.wgsl (GELU, tanh form) vs CPU twin', async () => {
  const g = await getEngine();
  const c = new CpuEngine();
  const seed = testSeed();
  const shapes: number[][] = [[1], [67], [3, 131]];

  it.runIf(g)('forward and backward on odd sizes', async () => {
    for (const shape of shapes) {
      const n = shape.reduce((a, b) => a * b);
      const x = clampTail(randn(n, seed, 3)),
        dy = randn(n, seed + 1);
      expectClose(await g!.read(gelu(g!, g!.upload(x, shape))), gelu(c, c.upload(x, shape)).f32, 1e-5, `gelu [${shape}] seed=${seed}`);
      const want = geluBackward(c, c.upload(dy, shape), c.upload(x, shape)).f32;
      expectClose(await g!.read(geluBackward(g!, g!.upload(dy, shape), g!.upload(x, shape))), want, 1e-5, `gelu' [${shape}] seed=${seed}`);
    }
    expect(g!.takeErrors()).toEqual([]);
  });

  it.runIf(g)('extreme inputs stay finite (tanh overflow trap) and match the twin', async () => {
    const x = Float32Array.from([-1e30, -1e6, -60, -10, -5, -1e-3, 0, 1e-3, 5, 10, 60, 1e6, 1e30]);
    const dy = new Float32Array(x.length).fill(1);
    const want = gelu(c, c.upload(x, [x.length])).f32;
    const got = await g!.read(gelu(g!, g!.upload(x, [x.length])));
    expect(Array.from(got).every(Number.isFinite)).toBe(true);
    expectClose(got, want, 1e-6, 'gelu extremes');
    const gb = await g!.read(geluBackward(g!, g!.upload(dy, [x.length]), g!.upload(x, [x.length])));
    expectClose(gb, geluBackward(c, c.upload(dy, [x.length]), c.upload(x, [x.length])).f32, 1e-6, "gelu' extremes");
    // GPT-2 reference values of gelu_new
    expect(got[6]).toBe(0);
    expect(got[8]).toBeCloseTo(4.999999770820381, 5);
  });
});

describe('activation.wgsl exact GELU (gelu_erf) vs CPU twin', async () => {
  const { getEngine } = await import('../helpers/gpu');
  const { CpuEngine } = await import('../../src/backend/cpu');
  const ops = await import('../../src/ops/activation');
  const { randn, testSeed } = await import('../helpers/random');
  const { expectClose } = await import('../helpers/close');
  const g = await getEngine();
  const c = new CpuEngine();
  it.runIf(g)('forward and backward, odd sizes, large inputs', async () => {
    const seed = testSeed();
    for (const n of [1, 67, 1000]) {
      const x = clampTail(randn(n, seed, 3));
      x[0] = n > 1 ? 40 : x[0];
      const dy = randn(n, seed + 1);
      expectClose(await g!.read(ops.gelu(g!, g!.upload(x, [n]), true)), ops.gelu(c, c.upload(x, [n]), true).f32, 1e-5, `gelu_erf n=${n} seed=${seed}`);
      expectClose(
        await g!.read(ops.geluBackward(g!, g!.upload(dy, [n]), g!.upload(x, [n]), true)),
        ops.geluBackward(c, c.upload(dy, [n]), c.upload(x, [n]), true).f32,
        1e-5,
        `gelu_erf_backward n=${n}`,
      );
    }
    expect(g!.takeErrors()).toEqual([]);
  });
});

describe('GELU on the negative tail: each element keeps its relative accuracy (no 1 + tanh / 1 + erf cancellation)', async () => {
  const g = await getEngine();
  const c = new CpuEngine();
  // a regression from CI: exact GELU(−5.63) came out 0 instead of −5e-8
  const x = Float32Array.from([-9.5, -9, -8, -7, -6, -5.632928371429443, -5, -4, -3, -2]);
  for (const exact of [false, true]) {
    it.runIf(g)(exact ? 'exact (erf) form' : 'tanh form', async () => {
      const got = await g!.read(gelu(g!, g!.upload(x, [x.length]), exact));
      const want = gelu(c, c.upload(x, [x.length]), exact).f32;
      expect(worstRelative(got, want), `forward: got ${Array.from(got)} want ${Array.from(want)}`).toBeLessThan(2e-5);
      const dy = new Float32Array(x.length).fill(1);
      const gb = await g!.read(geluBackward(g!, g!.upload(dy, [x.length]), g!.upload(x, [x.length]), exact));
      const wb = geluBackward(c, c.upload(dy, [x.length]), c.upload(x, [x.length]), exact).f32;
      expect(worstRelative(gb, wb), `backward: got ${Array.from(gb)} want ${Array.from(wb)}`).toBeLessThan(2e-5);
      expect(g!.takeErrors()).toEqual([]);
    });
  }
});
