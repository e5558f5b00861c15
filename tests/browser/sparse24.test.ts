// 2:4 compressed product on the GPU vs the CPU twin and vs the dense masked product (f16 weights).
import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import { matmul } from '../../src/ops/matmul';
import { mask24FromScores, packSparse24, sparse24Matmul, unpackSparse24, uploadSparse24 } from '../../src/ops/sparse24';
import { expectClose } from '../helpers/close';
import { getEngine } from '../helpers/gpu';
import { randn, testSeed } from '../helpers/random';

describe('sparse24.wgsl vs CPU', async () => {
  const g = await getEngine();
  const c = new CpuEngine();
  const seed = testSeed();

  // (M, K, N): matvec, N not a multiple of 4 or 8 or the 256-column workgroup, size-1 edges
  const shapes: [number, number, number, number][] = [
    [1, 4, 1, 2],
    [1, 36, 29, 2],
    [3, 8, 259, 2],
    [5, 64, 17, 1],
    [2, 12, 8, 0],
  ];
  it.runIf(g)('compressed product = CPU twin = dense masked product (weights rounded to f16)', async () => {
    for (const [m, k, n, keep] of shapes) {
      const what = `${m}×${k}×${n} keep=${keep} seed=${seed}`;
      const w = randn(k * n, seed),
        mask = mask24FromScores(randn(k * n, seed + 1), k, n, keep);
      const packed = packSparse24(w, mask, k, n);
      const x = randn(m * k, seed + 2);
      const got = await g!.read(sparse24Matmul(g!, g!.upload(x, [m, k]), uploadSparse24(g!, packed)));
      const twin = sparse24Matmul(c, c.upload(x, [m, k]), uploadSparse24(c, packed));
      expectClose(got, twin.f32, 1e-5, `twin ${what}`);
      const dense = matmul(c, c.upload(x, [m, k]), c.upload(unpackSparse24(packed), [k, n]));
      expectClose(got, dense.f32, 1e-5, `dense ${what}`);
    }
    expect(g!.takeErrors()).toEqual([]);
  });

  it.runIf(g)('rank-3 input and K = 0', async () => {
    const [k, n] = [16, 12];
    const packed = packSparse24(randn(k * n, seed), mask24FromScores(randn(k * n, seed + 1), k, n), k, n);
    const x = randn(2 * 3 * k, seed + 2);
    const got = sparse24Matmul(g!, g!.upload(x, [2, 3, k]), uploadSparse24(g!, packed));
    expect(got.shape).toEqual([2, 3, n]);
    expectClose(await g!.read(got), sparse24Matmul(c, c.upload(x, [2, 3, k]), uploadSparse24(c, packed)).f32, 1e-5, `rank-3 seed=${seed}`);
    const empty = packSparse24([], [], 0, 5);
    expectClose(await g!.read(sparse24Matmul(g!, g!.zeros([2, 0]), uploadSparse24(g!, empty))), new Float32Array(10), 0, 'K = 0');
    expect(g!.takeErrors()).toEqual([]);
  });
});
