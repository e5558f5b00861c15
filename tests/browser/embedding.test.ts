import { describe, expect, it } from 'vitest';
import * as FE from '../../src/autograd/fn/embedding';
import { Tape } from '../../src/autograd/tape';
import { param } from '../../src/autograd/tensor';
import { CpuEngine } from '../../src/backend/cpu';
import * as Emb from '../../src/ops/embedding';
import { expectClose } from '../helpers/close';
import { getEngine } from '../helpers/gpu';
import { randint, randn, testSeed } from '../helpers/random';

describe('embedding.wgsl vs CPU twin', async () => {
  const g = await getEngine();
  const c = new CpuEngine();
  const seed = testSeed();
  // [V, C, N]: size-1 edges, sizes that do not divide the workgroup (64), many repeats (V < N)
  const cases: [number, number, number][] = [
    [1, 1, 1],
    [37, 5, 50],
    [7, 67, 300],
    [101, 3, 1],
    [5, 1, 129],
  ];

  it.runIf(g)('gatherRows', async () => {
    for (const [V, C, N] of cases) {
      const table = randn(V * C, seed + V),
        idx = randint(N, seed + N, V);
      const got = Emb.gatherRows(g!, g!.upload(table, [V, C]), g!.upload(idx, [N], 'u32'));
      expect(got.shape).toEqual([N, C]);
      expectClose(await g!.read(got), Emb.gatherRows(c, c.upload(table, [V, C]), c.upload(idx, [N], 'u32')).f32, 0, `V=${V} C=${C} N=${N} seed=${seed}`);
    }
    // u32 rows are copied bit for bit (denormal-sized words included)
    const words = Uint32Array.from([1, 0x7fc00001, 3, 4]);
    const out = await g!.read(Emb.gatherRows(g!, g!.upload(words, [2, 2], 'u32'), g!.upload([1, 0], [2], 'u32')));
    expect(Array.from(out)).toEqual([3, 4, 1, 0x7fc00001]);
    expect(g!.takeErrors()).toEqual([]);
  });

  it.runIf(g)('out-of-range indices: the GPU writes zero rows (gather) and skips them (scatter); the CPU throws', async () => {
    const V = 4,
      C = 3;
    const table = randn(V * C, seed + 1);
    const idx = [2, 4, 0, 0xffffffff];
    const got = await g!.read(Emb.gatherRows(g!, g!.upload(table, [V, C]), g!.upload(idx, [4], 'u32')));
    expect(Array.from(got.slice(0, 3))).toEqual(Array.from(table.slice(6, 9)));
    expect(Array.from(got.slice(3, 6))).toEqual([0, 0, 0]);
    expect(Array.from(got.slice(9, 12))).toEqual([0, 0, 0]);
    expect(() => Emb.gatherRows(c, c.upload(table, [V, C]), c.upload(idx, [4], 'u32'))).toThrow(/index 4 at position 1 is out of range for 4 rows/);
    const grad = randn(4 * C, seed + 2);
    const sc = await g!.read(Emb.scatterAddRows(g!, g!.upload(grad, [4, C]), g!.upload(idx, [4], 'u32'), V));
    const want = new Float32Array(V * C);
    for (let j = 0; j < C; j++) {
      want[2 * C + j] = grad[j];
      want[0 * C + j] = grad[2 * C + j];
    }
    expectClose(sc, want, 0, 'scatter skips out-of-range positions');
  });

  it.runIf(g)('scatterAddRows: repeated indices, unused rows zero, deterministic bits', async () => {
    for (const [V, C, N] of cases) {
      const grad = randn(N * C, seed + 3 * N),
        idx = randint(N, seed + N + 5, V);
      const gg = g!.upload(grad, [N, C]),
        ig = g!.upload(idx, [N], 'u32');
      const a = await g!.read(Emb.scatterAddRows(g!, gg, ig, V));
      const want = Emb.scatterAddRows(c, c.upload(grad, [N, C]), c.upload(idx, [N], 'u32'), V).f32;
      expectClose(a, want, 1e-6, `V=${V} C=${C} N=${N} seed=${seed}`);
      const b = await g!.read(Emb.scatterAddRows(g!, gg, ig, V));
      expect(Array.from(b), 'same bits on a second run').toEqual(Array.from(a));
    }
    // all positions on one row (the longest chain), and more rows than indices
    const N = 200,
      C = 3,
      grad = randn(N * C, seed + 9);
    const one = new Uint32Array(N).fill(6);
    const got = await g!.read(Emb.scatterAddRows(g!, g!.upload(grad, [N, C]), g!.upload(one, [N], 'u32'), 9));
    expectClose(got, Emb.scatterAddRows(c, c.upload(grad, [N, C]), c.upload(one, [N], 'u32'), 9).f32, 1e-6, 'one row');
    expect(g!.takeErrors()).toEqual([]);
  });

  it.runIf(g)('concatRows and sliceRows (f32 and u32, empty sides)', async () => {
    for (const [na, nb, C] of [
      [3, 5, 7],
      [0, 2, 3],
      [4, 0, 1],
      [1, 1, 65],
    ]) {
      const a = randn(na * C, seed + na),
        b = randn(nb * C, seed + nb + 11);
      const got = Emb.concatRows(g!, g!.upload(a, [na, C]), g!.upload(b, [nb, C]));
      expect(got.shape).toEqual([na + nb, C]);
      const want = Emb.concatRows(c, c.upload(a, [na, C]), c.upload(b, [nb, C])).f32;
      expectClose(await g!.read(got), want, 0, `concat ${na}+${nb} x ${C}`);
      expectClose(await g!.read(Emb.sliceRows(g!, got, na, nb)), b, 0, 'slice b');
      expectClose(await g!.read(Emb.sliceRows(g!, got, 0, na)), a, 0, 'slice a');
    }
    const u = await g!.read(Emb.concatRows(g!, g!.upload([1, 2], [1, 2], 'u32'), g!.upload([0xffffffff, 5], [1, 2], 'u32')));
    expect(u).toBeInstanceOf(Uint32Array);
    expect(Array.from(u)).toEqual([1, 2, 0xffffffff, 5]);
    expect(g!.takeErrors()).toEqual([]);
  });

  it.runIf(g)('autograd on the GPU: embedding + concatRows backward match the CPU', async () => {
    const V = 11,
      C = 6,
      N = 70,
      P = 3;
    const table = randn(V * C, seed + 40),
      extra = randn(P * C, seed + 41),
      idx = randint(N, seed + 42, V);
    const seedGrad = randn((N + P) * C, seed + 43);
    const run = async (e: typeof g | CpuEngine) => {
      const eng = e!;
      const w = param(eng.upload(table, [V, C])),
        x = param(eng.upload(extra, [P, C]));
      const tape = new Tape(eng);
      const y = FE.concatRows(tape, FE.embedding(tape, w, tape.constant(eng.upload(idx, [N], 'u32'))), x);
      tape.backward(y, tape.own(eng.upload(seedGrad, [N + P, C])));
      const out = [await eng.read(w.grad!), await eng.read(x.grad!)];
      tape.dispose();
      return out;
    };
    const [gw, gx] = await run(g);
    const [cw, cx] = await run(c);
    expectClose(gw, cw, 1e-6, `table grad seed=${seed}`);
    expectClose(gx, cx, 0, 'extra grad');
  });
});
