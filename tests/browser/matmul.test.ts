import { describe, expect, it } from 'vitest';
import { mul } from '../../src/autograd/fn/elementwise';
import { linear } from '../../src/autograd/fn/linear';
import { Tape } from '../../src/autograd/tape';
import { constant, param, type Tensor } from '../../src/autograd/tensor';
import { CpuEngine } from '../../src/backend/cpu';
import type { Engine } from '../../src/backend/engine';
import { matmul, matmulFlat } from '../../src/ops/matmul';
import { expectClose } from '../helpers/close';
import { getEngine } from '../helpers/gpu';
import { randn, testSeed } from '../helpers/random';

const sa = (m: number, k: number, t: boolean) => (t ? [k, m] : [m, k]);
const sb = (k: number, n: number, t: boolean) => (t ? [n, k] : [k, n]);
const size = (s: number[]) => s.reduce((x, y) => x * y, 1);

describe('matmul.wgsl vs CPU twin', async () => {
  const g = await getEngine();
  const c = new CpuEngine();
  const seed = testSeed();

  /** Run the same matmul on both engines from the same random inputs and compare. */
  async function check(aShape: number[], bShape: number[], tA: boolean, tB: boolean, withBias: boolean, what: string) {
    const a = randn(size(aShape), seed),
      b = randn(size(bShape), seed + 1);
    const n = tB ? bShape[bShape.length - 2] : bShape[bShape.length - 1];
    const bias = withBias ? randn(n, seed + 2) : null;
    const run = (e: Engine) => matmul(e, e.upload(a, aShape), e.upload(b, bShape), { transA: tA, transB: tB, bias: bias ? e.upload(bias, [n]) : undefined });
    const want = run(c);
    const got = run(g!);
    expect(got.shape, what).toEqual(want.shape);
    expectClose(await g!.read(got), want.f32, 1e-5, `${what} tA=${tA} tB=${tB} bias=${withBias} seed=${seed}`);
  }

  // (M, K, N): size-1 edges, a matvec, sizes that divide neither 4 nor the 32×32 workgroup tile
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [1, 37, 29],
    [5, 7, 3],
    [67, 33, 45],
    [33, 1, 66],
    [4, 8, 32],
  ];
  it.runIf(g)('2-D shapes × every transpose combination × bias', async () => {
    for (const [m, k, n] of shapes) {
      for (const tA of [false, true])
        for (const tB of [false, true])
          for (const bias of [false, true]) {
            await check(sa(m, k, tA), sb(k, n, tB), tA, tB, bias, `${m}×${k}×${n}`);
          }
    }
    expect(g!.takeErrors()).toEqual([]);
  });

  it.runIf(g)('batched 3×17×9×13 (batch on the z grid) × every transpose combination × bias', async () => {
    const [B, m, k, n] = [3, 17, 9, 13];
    for (const tA of [false, true])
      for (const tB of [false, true])
        for (const bias of [false, true]) {
          await check([B, ...sa(m, k, tA)], [B, ...sb(k, n, tB)], tA, tB, bias, 'batched');
        }
    await check([2, 1, 1, 5, 6], [2, 1, 1, 3, 6], false, true, true, 'rank-5 batched');
    expect(g!.takeErrors()).toEqual([]);
  });

  it.runIf(g)('leading dims of a fold into rows ([3,5,7]·[7,6]), matmulFlat, and K = 0', async () => {
    for (const tB of [false, true]) for (const bias of [false, true]) await check([3, 5, 7], sb(7, 6, tB), false, tB, bias, 'fold');
    const x = randn(3 * 5 * 7, seed + 3),
      y = randn(3 * 5 * 6, seed + 4);
    const flat = (e: Engine) => matmulFlat(e, e.upload(x, [3, 5, 7]), e.upload(y, [3, 5, 6]), { transA: true });
    expectClose(await g!.read(flat(g!)), flat(c).f32, 1e-5, `matmulFlat seed=${seed}`);
    await check([4, 0], [0, 5], false, false, true, 'K = 0 (out = bias)');
    await check([4, 0], [0, 5], false, false, false, 'K = 0 (out = 0)');
    expect(g!.takeErrors()).toEqual([]);
  });

  it.runIf(g)('one pipeline per specialisation, reused across shapes', async () => {
    const before = g!.kernels.compiled;
    await check([7, 5], [5, 9], false, false, false, 'first');
    await check([70, 50], [50, 19], false, false, false, 'other shape, same flags');
    expect(g!.kernels.compiled - before).toBeLessThanOrEqual(1); // 0 if an earlier test compiled it
  });
});

describe('2-layer MLP from linear + mul: GPU gradients vs CPU', async () => {
  const g = await getEngine();
  const seed = testSeed();

  /** y = linear(h ⊙ h, W2 [6,4] in_out, b2), h = linear(x, W1 ⊙ M1 [6,5] out_in, b1); L = Σ y ⊙ r. */
  function run(e: Engine) {
    const up = (shape: number[], k: number) => e.upload(randn(size(shape), seed + k), shape);
    const x = constant(up([2, 3, 5], 0));
    const ps: Record<string, Tensor> = {
      W1: param(up([6, 5], 1)),
      M1: param(up([6, 5], 2)),
      b1: param(up([6], 3)),
      W2: param(up([6, 4], 4)),
      b2: param(up([4], 5)),
    };
    const tape = new Tape(e);
    const h = linear(tape, x, mul(tape, ps.W1, ps.M1), ps.b1, 'out_in');
    const y = linear(tape, mul(tape, h, h), ps.W2, ps.b2, 'in_out');
    tape.keep(y);
    tape.backward(y, tape.own(up([2, 3, 4], 6)));
    tape.dispose();
    return { y: y.raw, ps, x };
  }

  it.runIf(g)('every parameter gradient and the output agree to 1e-5', async () => {
    const cpu = run(new CpuEngine());
    const gpu = run(g!);
    expectClose(await g!.read(gpu.y), cpu.y.f32, 1e-5, `output seed=${seed}`);
    for (const name of Object.keys(cpu.ps)) {
      expect(gpu.ps[name].grad?.shape, name).toEqual(cpu.ps[name].shape);
      expectClose(await g!.read(gpu.ps[name].grad!), cpu.ps[name].grad!.f32, 1e-5, `grad ${name} seed=${seed}`);
    }
    expect(gpu.x.grad).toBeNull();
    expect(g!.takeErrors()).toEqual([]);
  });
});
