// Every matmul kernel variant forced on shapes that divide neither its block nor its workgroup tile,
// the shape-based choice, and the fused masked-weight load (b ⊙ bMask) — all against the CPU twin.
import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import type { Engine } from '../../src/backend/engine';
import { chooseMatmulVariant, matmul, matmulGeometry, MATMUL_VARIANTS, type MatmulVariant } from '../../src/ops/matmul';
import { expectClose } from '../helpers/close';
import { getEngine } from '../helpers/gpu';
import { randn, randu, testSeed } from '../helpers/random';

const size = (s: number[]) => s.reduce((x, y) => x * y, 1);

describe('matmul variants vs CPU twin', async () => {
  const g = await getEngine();
  const c = new CpuEngine();
  const seed = testSeed();

  async function check(
    aShape: number[],
    bShape: number[],
    o: { transA?: boolean; transB?: boolean; bias?: boolean; mask?: boolean; variant?: MatmulVariant },
    what: string,
  ) {
    const a = randn(size(aShape), seed),
      b = randn(size(bShape), seed + 1);
    const n = o.transB ? bShape[bShape.length - 2] : bShape[bShape.length - 1];
    const bias = o.bias ? randn(n, seed + 2) : null;
    const mask = o.mask ? randu(size(bShape), seed + 3, 0, 1) : null;
    const run = (e: Engine, variant?: MatmulVariant) =>
      matmul(e, e.upload(a, aShape), e.upload(b, bShape), {
        transA: o.transA,
        transB: o.transB,
        variant,
        bias: bias ? e.upload(bias, [n]) : undefined,
        bMask: mask ? e.upload(mask, bShape) : undefined,
      });
    const want = run(c);
    const got = run(g!, o.variant);
    expect(got.shape, what).toEqual(want.shape);
    expectClose(await g!.read(got), want.f32, 1e-5, `${what} ${JSON.stringify(o)} seed=${seed}`);
  }

  // (M, K, N) with N % 4 == 0 (the vec4 variants need it) but M, K odd; size-1 rows and K
  const shapes: [number, number, number][] = [
    [1, 37, 4],
    [3, 1, 8],
    [9, 13, 36],
    [67, 33, 44],
    [130, 5, 260],
  ];
  for (const variant of MATMUL_VARIANTS.filter((v) => v !== 'matmul_4x4_dot')) {
    it.runIf(g)(`${variant}: 2-D shapes × transA × bias × mask`, async () => {
      for (const [m, k, n] of shapes) {
        for (const transA of [false, true])
          for (const bias of [false, true])
            for (const mask of [false, true]) {
              await check(transA ? [k, m] : [m, k], [k, n], { transA, bias, mask, variant }, `${m}×${k}×${n}`);
            }
      }
      await check([3, 5, 7], [3, 7, 12], { variant, bias: true }, 'batched');
      await check([2, 6, 9], [9, 8], { variant, mask: true }, 'folded rows');
      expect(g!.takeErrors()).toEqual([]);
    });
  }

  it.runIf(g)('matmul_4x4_dot: transposed b, K % 4 == 0, M and N odd × bias × mask', async () => {
    const variant = 'matmul_4x4_dot';
    for (const [m, k, n] of [
      [1, 4, 1],
      [5, 8, 3],
      [67, 36, 45],
      [33, 4, 66],
      [9, 128, 130],
    ]) {
      for (const bias of [false, true])
        for (const mask of [false, true]) {
          await check([m, k], [n, k], { transB: true, bias, mask, variant }, `${m}×${k}×${n}`);
        }
    }
    await check([3, 17, 12], [3, 13, 12], { transB: true, mask: true, variant }, 'batched');
    await check([2, 6, 8], [5, 8], { transB: true, bias: true, variant }, 'folded rows');
    expect(g!.takeErrors()).toEqual([]);
  });

  for (const variant of ['matmul_4x4', 'matmul_8x8', 'matmul_16x8'] as const) {
    it.runIf(g)(`scalar ${variant} with a transposed, masked b and N % 4 ≠ 0`, async () => {
      await check([67, 33], [45, 33], { transB: true, mask: true, bias: true, variant }, 'transB');
      await check([33, 67], [45, 33], { transA: true, transB: true, bias: true, variant }, 'transA transB');
      await check([3, 17, 9], [3, 13, 9], { transB: true, mask: true, variant }, 'batched transB');
      // N = 5 and 13: the second 4-wide segment of an 8-wide block starts past N (the store guard)
      await check([19, 7], [7, 5], { bias: true, variant }, 'N = 5');
      await check([35, 9], [13, 9], { transB: true, variant }, 'N = 13');
      expect(g!.takeErrors()).toEqual([]);
    });
  }

  it.runIf(g)('vec4 variants refuse a transposed b or N % 4 ≠ 0 with a specific error', () => {
    const e = g!;
    const a = e.zeros([4, 6]);
    expect(() => matmul(e, a, e.zeros([6, 5]), { variant: 'matmul_4x4_v4' })).toThrow(/N % 4 == 0, got M×K×N = 4×6×5/);
    expect(() => matmul(e, a, e.zeros([8, 6]), { transB: true, variant: 'matvec_v4' })).toThrow(/transB = true/);
    expect(() => matmul(e, e.zeros([4, 5]), e.zeros([8, 5]), { transB: true, variant: 'matmul_4x4_dot' })).toThrow(/K % 4 == 0.*4×5×8/);
    expect(() => matmul(e, a, e.zeros([6, 8]), { bMask: e.zeros([8, 6]) })).toThrow(/bMask must have b's shape \[6, 8\]/);
  });
});

describe('matmul shape-based choice', () => {
  const pick = (m: number, k: number, n: number, transB = false, transA = false) =>
    chooseMatmulVariant(matmulGeometry(transA ? [k, m] : [m, k], transB ? [n, k] : [k, n], { transA, transB }), { transA, transB });
  it('16×8 from 16 rows, 8×8 from 8, then dot / vec4 / matvec / scalar 4×4 by layout', () => {
    expect(pick(1024, 64, 192)).toBe('matmul_16x8');
    expect(pick(1024, 192, 64, true)).toBe('matmul_16x8');
    expect(pick(64, 1024, 192, false, true)).toBe('matmul_16x8');
    expect(pick(1024, 64, 257)).toBe('matmul_16x8');
    expect(pick(15, 64, 192)).toBe('matmul_8x8');
    expect(pick(8, 49, 64, true, true)).toBe('matmul_8x8');
    expect(pick(1, 768, 3072)).toBe('matvec_v4');
    expect(pick(5, 64, 192)).toBe('matmul_4x4_v4');
    expect(pick(7, 192, 64, true)).toBe('matmul_4x4_dot');
    expect(pick(7, 49, 64, true)).toBe('matmul_4x4');
    expect(pick(3, 64, 257)).toBe('matmul_4x4');
  });
});
