// Every matmul kernel variant forced on shapes that divide neither its block nor its workgroup tile,
// the shape-based choice, and the fused masked-weight load (b ⊙ bMask) — all against the CPU twin.
import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import type { Engine } from '../../src/backend/engine';
import type { RawTensor } from '../../src/backend/tensor';
import {
  chooseMatmulVariant,
  matmul,
  matmulGeometry,
  matmulWith,
  MATMUL_VARIANTS,
  TILED_MATMUL,
  variantSupported,
  type MatmulGeometry,
  type MatmulVariant,
} from '../../src/ops/matmul';
import { expectClose } from '../helpers/close';
import { getEngine, poisoned } from '../helpers/gpu';
import { randn, randu, testSeed } from '../helpers/random';

const size = (s: number[]) => s.reduce((x, y) => x * y, 1);

describe('matmul variants vs CPU twin', async () => {
  const g = await getEngine();
  const c = new CpuEngine();
  const seed = testSeed();

  async function check(
    aShape: number[],
    bShape: number[],
    o: { transA?: boolean; transB?: boolean; bias?: boolean; mask?: boolean; variant?: MatmulVariant; out?: boolean },
    what: string,
    /** run this geometry through matmulWith (e.g. a B shared by every z) instead of matmul's own */
    geo?: MatmulGeometry,
  ) {
    const a = randn(size(aShape), seed),
      b = randn(size(bShape), seed + 1);
    const n = o.transB ? bShape[bShape.length - 2] : bShape[bShape.length - 1];
    const bias = o.bias ? randn(n, seed + 2) : null;
    const mask = o.mask ? randu(size(bShape), seed + 3, 0, 1) : null;
    const run = (e: Engine, variant?: MatmulVariant, out?: RawTensor) => {
      const opts = {
        transA: o.transA,
        transB: o.transB,
        variant,
        bias: bias ? e.upload(bias, [n]) : undefined,
        bMask: mask ? e.upload(mask, bShape) : undefined,
        out,
      };
      const [ta, tb] = [e.upload(a, aShape), e.upload(b, bShape)];
      return geo ? matmulWith(e, ta, tb, geo, opts) : matmul(e, ta, tb, opts);
    };
    const want = run(c);
    // `out`: a NaN-filled output tensor (every allocation is poisoned too: getEngine sets poisonAllocations)
    const out = o.out ? poisoned(g!, [...want.shape]) : undefined;
    const got = run(g!, o.variant, out);
    if (out) expect(got).toBe(out);
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
  // matmul_subgroup only where the device has `subgroups` (its own tests: matmul-subgroup.test.ts)
  const runs = (v: MatmulVariant) => !!g && variantSupported(v, g.info.features);
  for (const variant of MATMUL_VARIANTS.filter((v) => v !== 'matmul_4x4_dot')) {
    it.runIf(runs(variant))(`${variant}: 2-D shapes × transA × bias × mask`, async () => {
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

  for (const variant of ['matmul_4x4', 'matmul_8x8', 'matmul_16x8', 'matmul_tiled_64x64', 'matmul_subgroup'] as const) {
    it.runIf(runs(variant))(`scalar ${variant} with a transposed, masked b and N % 4 ≠ 0`, async () => {
      await check([67, 33], [45, 33], { transB: true, mask: true, bias: true, variant }, 'transB');
      await check([33, 67], [45, 33], { transA: true, transB: true, bias: true, variant }, 'transA transB');
      await check([3, 17, 9], [3, 13, 9], { transB: true, mask: true, variant }, 'batched transB');
      // N = 5 and 13: the second 4-wide segment of an 8-wide block starts past N (the store guard)
      await check([19, 7], [7, 5], { bias: true, variant }, 'N = 5');
      await check([35, 9], [13, 9], { transB: true, variant }, 'N = 13');
      expect(g!.takeErrors()).toEqual([]);
    });
  }

  describe('matmul_tiled_64x64 (workgroup-memory tiles)', () => {
    const variant: MatmulVariant = 'matmul_tiled_64x64';
    const { tile, tileK } = TILED_MATMUL;
    const layouts = [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const;
    const aOf = (m: number, k: number, transA: boolean, lead: number[] = []) => [...lead, ...(transA ? [k, m] : [m, k])];
    const bOf = (k: number, n: number, transB: boolean, lead: number[] = []) => [...lead, ...(transB ? [n, k] : [k, n])];

    it.runIf(g)('fits the WebGPU default limits and the device', () => {
      expect(TILED_MATMUL.storageBytes).toBe(8448);
      expect(TILED_MATMUL.storageBytes).toBeLessThanOrEqual(16384);
      expect(TILED_MATMUL.storageBytes).toBeLessThanOrEqual(g!.device.limits.maxComputeWorkgroupStorageSize);
      expect(TILED_MATMUL.invocations).toBeLessThanOrEqual(Math.min(256, g!.device.limits.maxComputeInvocationsPerWorkgroup));
      expect(g!.poisonAllocations).toBe(true);
    });

    // (M, K, N): 1×1×1; smaller than a tile; one exact tile (K a multiple of the K step); larger than a
    // tile in every dimension with K not a multiple of the K step; a long K with N % 4 ≠ 0
    const shapes: [number, number, number][] = [
      [1, 1, 1],
      [3, 5, 2],
      [tile, 2 * tileK, tile],
      [130, 70, 150],
      [7, 9 * tileK + 3, 65],
    ];
    for (const [m, k, n] of shapes) {
      it.runIf(g)(`${m}×${k}×${n}: every layout × bias × mask`, async () => {
        for (const [transA, transB] of layouts)
          for (const bias of [false, true])
            for (const mask of [false, true]) {
              await check(aOf(m, k, transA), bOf(k, n, transB), { transA, transB, bias, mask, variant }, `${m}×${k}×${n}`);
            }
        expect(g!.takeErrors()).toEqual([]);
      });
    }

    it.runIf(g)('batched, shared B, shared A and folded rows in every layout; a poisoned out', async () => {
      const [z, m, k, n] = [3, 66, 17, 65];
      for (const [transA, transB] of layouts) {
        const o = { transA, transB, bias: true, mask: true, variant };
        const what = `transA=${transA} transB=${transB}`;
        await check(aOf(m, k, transA, [z]), bOf(k, n, transB, [z]), o, `batched ${what}`);
        const geo = (batchedA: boolean, batchedB: boolean): MatmulGeometry => ({ batch: z, m, k, n, batchedA, batchedB, outShape: [z, m, n] });
        await check(aOf(m, k, transA, [z]), bOf(k, n, transB), o, `shared B ${what}`, geo(true, false));
        await check(aOf(m, k, transA), bOf(k, n, transB, [z]), o, `shared A ${what}`, geo(false, true));
        if (!transA) await check([2, 35, k], bOf(k, n, transB), o, `folded rows ${what}`);
        await check(aOf(m, k, transA, [z]), bOf(k, n, transB, [z]), { ...o, out: true }, `batched into out ${what}`);
      }
      expect(g!.takeErrors()).toEqual([]);
    });

    it.runIf(g)('a NaN in A spoils its row only, a NaN in B its column only', async () => {
      const [m, k, n] = [130, 70, 150];
      const [r, p, col] = [seed % m, (seed >>> 8) % k, (seed >>> 16) % n];
      for (const [transA, transB] of layouts) {
        const a = randn(m * k, seed),
          b = randn(k * n, seed + 1),
          mask = randu(k * n, seed + 3, 0, 1);
        a[transA ? p * m + r : r * k + p] = Number.NaN;
        b[transB ? col * k + p : p * n + col] = Number.NaN;
        const run = (e: Engine) =>
          matmul(e, e.upload(a, aOf(m, k, transA)), e.upload(b, bOf(k, n, transB)), {
            transA,
            transB,
            bMask: e.upload(mask, bOf(k, n, transB)),
            variant: e.kind === 'gpu' ? variant : undefined,
          });
        const want = run(c).f32;
        const got = await g!.read(run(g!));
        const what = `transA=${transA} transB=${transB} NaN at A[${r}, ${p}], B[${p}, ${col}] seed=${seed}`;
        const spoilt = (i: number) => Math.floor(i / n) === r || i % n === col;
        const all = [...Array(m * n).keys()];
        expect(
          all.filter((i) => Number.isNaN(got[i])),
          what,
        ).toEqual(all.filter(spoilt));
        const rest = (x: ArrayLike<number>) =>
          Float64Array.from(
            all.filter((i) => !spoilt(i)),
            (i) => x[i],
          );
        expectClose(rest(got), rest(want), 1e-5, what);
      }
      expect(g!.takeErrors()).toEqual([]);
    });
  });

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
  it('never picks the tiled or the subgroup variant (for real GPUs; an autotuner may choose them)', () => {
    for (const [m, k, n] of [
      [1, 768, 3072],
      [7, 192, 64],
      [64, 64, 64],
      [2048, 768, 2304],
    ])
      for (const transA of [false, true])
        for (const transB of [false, true]) expect(['matmul_tiled_64x64', 'matmul_subgroup']).not.toContain(pick(m, k, n, transB, transA));
  });
});
