import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import { applyMask, hardMask, nextSamplePosition, sampleMaskedWeight, sampleSoftMask, softMaskBackward } from '../../src/sparsity/gumbel';
import { elementIndex, groupLayout, type WeightLayout } from '../../src/sparsity/layout';
import { nmPattern } from '../../src/sparsity/patterns';
import { expectClose, maxAbsDiff } from '../helpers/close';
import { getEngine } from '../helpers/gpu';
import { randint, randn, testSeed } from '../helpers/random';

const LAYOUTS: WeightLayout[] = ['out_in', 'in_out'];

/**
 * The f32 bound for a soft mask (and y) against the f64 twin: every probability is divided by a sum
 * of C exponentials, whose f32 rounding grows with C (up to ~C ulps), and a mask element sums the
 * probabilities of the candidates that keep it. So C · 2⁻²³, at least 1e-6: 2:4 (C = 6) 1e-6,
 * 2:8 (28) 3.3e-6, 4:8 (70) 8.3e-6. A fresh seed measured 1.01e-6 for 4:8 with κ = 300, τ = 2.025.
 */
const softTol = (C: number) => Math.max(1e-6, C * 2 ** -23);

/** rows × groupsPerRow groups; 13 × 5 = 65 does not divide the workgroup (64); 1 × 1 is the size-1 edge. */
function setup(n: number, m: number, layout: WeightLayout, rows: number, groupsPerRow: number) {
  const p = nmPattern(n, m);
  const shape = layout === 'out_in' ? [rows, groupsPerRow * m] : [groupsPerRow * m, rows];
  return { p, shape, g: groupLayout(shape, layout, m), C: p.candidates.length };
}

describe('gumbel_mask.wgsl vs CPU twin', async () => {
  const gpu = await getEngine();
  const cpu = new CpuEngine();
  const seed = testSeed();

  // κ, τ at the start and the middle of the LLM schedule; logits at the init scale σ0 = 0.01 and
  // larger (a trained layer). Max abs difference ≤ softTol(C) here.
  const regimes: [number, number, number][] = [
    [100, 4, 0.01],
    [300, 2.025, 0.01],
    [300, 2.025, 0.05],
    [1, 1, 1],
  ];

  it.runIf(gpu)('soft mask and y match within the f32 bound softTol(C) (2:4, 2:8, 4:8; both layouts; G = 65 and 1)', async () => {
    const g = gpu!;
    for (const [n, m] of [
      [2, 4],
      [2, 8],
      [4, 8],
    ]) {
      for (const layout of LAYOUTS) {
        for (const [rows, per] of [
          [13, 5],
          [1, 1],
        ]) {
          const { p, shape, g: gl, C } = setup(n, m, layout, rows, per);
          for (const [kappa, tau, scale] of regimes) {
            const L = randn(gl.groups * C, seed + kappa, scale);
            const rng = { seed, stream: 3 + m, offset: 1000 };
            const a = { kappa, tau, rng };
            const want = sampleSoftMask(cpu, cpu.upload(L, [gl.groups, C]), gl, p, a);
            const got = sampleSoftMask(g, g.upload(L, [gl.groups, C]), gl, p, a);
            expect(got.mask.shape).toEqual(shape);
            const what = `${n}:${m} ${layout} G=${gl.groups} κ=${kappa} τ=${tau} seed=${seed}`;
            const mask = await g.read(got.mask),
              y = await g.read(got.y);
            expect(maxAbsDiff(mask, want.mask.f32), `mask ${what}`).toBeLessThanOrEqual(softTol(C));
            expect(maxAbsDiff(y, want.y.f32), `y ${what}`).toBeLessThanOrEqual(softTol(C));
            for (let grp = 0; grp < gl.groups; grp++) {
              let s = 0;
              for (let k = 0; k < m; k++) s += mask[elementIndex(gl, grp, k)];
              expect(Math.abs(s - n), `group ${grp} sums to ${s}, ${what}`).toBeLessThan(1e-5);
            }
          }
        }
      }
    }
    expect(g.takeErrors()).toEqual([]);
  });

  it.runIf(gpu)('end of schedule (κ = 500, τ = 0.05): within 2e-5, the f32 rounding of z = (κπ + g)/τ', async () => {
    // |z| reaches ~10² here and one f32 ulp of z moves y by up to ~y(1−y)·|z|·6e-8: the GPU cannot
    // be closer to the f64 twin than that (measured ~3e-6 on SwiftShader).
    const g = gpu!;
    for (const [n, m] of [
      [2, 4],
      [2, 8],
    ]) {
      for (const layout of LAYOUTS) {
        const { p, g: gl, C } = setup(n, m, layout, 13, 5);
        const L = randn(gl.groups * C, seed + 7, 0.01);
        const a = { kappa: 500, tau: 0.05, rng: { seed, stream: 1, offset: 0 } };
        const want = sampleSoftMask(cpu, cpu.upload(L, [gl.groups, C]), gl, p, a);
        const got = sampleSoftMask(g, g.upload(L, [gl.groups, C]), gl, p, a);
        expect(maxAbsDiff(await g.read(got.mask), want.mask.f32), `${n}:${m} ${layout} seed=${seed}`).toBeLessThanOrEqual(2e-5);
      }
    }
  });

  it.runIf(gpu)('consecutive samples use fresh noise; the same position the same noise', async () => {
    const g = gpu!;
    const { p, g: gl, C } = setup(2, 4, 'in_out', 13, 5);
    const logits = g.upload(randn(gl.groups * C, seed, 0.01), [gl.groups, C]);
    const pos = { seed, stream: 0, offset: 0 };
    const a = await g.read(sampleSoftMask(g, logits, gl, p, { kappa: 100, tau: 4, rng: pos }).mask);
    const b = await g.read(sampleSoftMask(g, logits, gl, p, { kappa: 100, tau: 4, rng: pos }).mask);
    const c = await g.read(sampleSoftMask(g, logits, gl, p, { kappa: 100, tau: 4, rng: nextSamplePosition(pos, gl, p) }).mask);
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(maxAbsDiff(a, c)).toBeGreaterThan(0.01);
  });

  it.runIf(gpu)('backward to the logits matches (same y, mask; both layouts; accumulate)', async () => {
    const g = gpu!;
    for (const [n, m] of [
      [2, 4],
      [2, 8],
      [4, 8],
    ]) {
      for (const layout of LAYOUTS) {
        for (const [rows, per] of [
          [13, 5],
          [1, 1],
        ]) {
          const { p, shape, g: gl, C } = setup(n, m, layout, rows, per);
          for (const [kappa, tau, lambda] of [
            [100, 4, 1e-5],
            [500, 0.05, 0.3],
            [2, 0.7, 0],
          ]) {
            const L = randn(gl.groups * C, seed + 1, 0.3);
            const s = sampleSoftMask(cpu, cpu.upload(L, [gl.groups, C]), gl, p, { kappa: 1, tau: 1, rng: { seed, stream: 2, offset: 0 } });
            const nW = gl.rows * gl.cols;
            const gw = randn(nW, seed + 2),
              w = randn(nW, seed + 3);
            const a = { kappa, tau, lambda };
            const want = softMaskBackward(cpu, cpu.upload(gw, shape), cpu.upload(w, shape), s.mask, s.y, gl, p, a);
            const args = [g.upload(gw, shape), g.upload(w, shape), g.upload(s.mask.f32, shape), g.upload(s.y.f32, [gl.groups, C])] as const;
            const got = softMaskBackward(g, ...args, gl, p, a);
            const what = `${n}:${m} ${layout} G=${gl.groups} κ=${kappa} τ=${tau} λ=${lambda} seed=${seed}`;
            // one group (G = 1): a norm over C numbers, so f32 rounding does not average out over
            // groups; 2:8 has 28 candidates, each summing M = 8 products (a seed gave 1.6e-5)
            expectClose(await g.read(got), want.f32, gl.groups === 1 ? 5e-5 : 1e-5, what);
            // accumulate: add into an existing gradient
            const base = randn(gl.groups * C, seed + 4);
            const acc = g.upload(base, [gl.groups, C]);
            expect(softMaskBackward(g, ...args, gl, p, a, acc)).toBe(acc);
            expectClose(
              await g.read(acc),
              base.map((x, i) => x + want.f32[i]),
              // as above: one group's few values make the relative error coarse (seed 523966053 gave 1.6e-5)
              gl.groups === 1 ? 5e-5 : 1e-5,
              `accumulate ${what}`,
            );
          }
        }
      }
    }
    expect(g.takeErrors()).toEqual([]);
  });

  it.runIf(gpu)('hard mask: argmax with ties to the lowest index, both layouts', async () => {
    const g = gpu!;
    for (const [n, m] of [
      [2, 4],
      [2, 8],
      [4, 8],
    ]) {
      for (const layout of LAYOUTS) {
        for (const [rows, per] of [
          [13, 5],
          [1, 1],
        ]) {
          const { p, g: gl, C } = setup(n, m, layout, rows, per);
          // small integers: many ties within a group
          const L = Float32Array.from(randint(gl.groups * C, seed + m, 3));
          const want = hardMask(cpu, cpu.upload(L, [gl.groups, C]), gl, p);
          const got = hardMask(g, g.upload(L, [gl.groups, C]), gl, p);
          const what = `${n}:${m} ${layout} G=${gl.groups} seed=${seed}`;
          expect(Array.from(await g.read(got.choice)), what).toEqual(Array.from(want.choice.data));
          expect(Array.from(await g.read(got.mask)), what).toEqual(Array.from(want.mask.f32));
        }
      }
    }
    // explicit ties: the lowest index wins
    const { p, g: gl } = setup(2, 4, 'out_in', 1, 2);
    const got = hardMask(g, g.upload([0, 7, 7, 7, 0, 0, 5, 5, 5, 5, 5, 5], [2, 6]), gl, p);
    expect(Array.from(await g.read(got.choice))).toEqual([1, 0]);
    expect(Array.from(await g.read(got.mask))).toEqual([1, 0, 1, 0, 1, 1, 0, 0]);
    expect(g.takeErrors()).toEqual([]);
  });

  it.runIf(gpu)(
    'fused sample_masked: mask and y as the CPU twin (softTol(C)), W ⊙ m bit-identical to the unfused pair, no NaN (2:4, 1:4, 4:8; both layouts)',
    async () => {
      const g = gpu!;
      for (const [n, m] of [
        [2, 4],
        [1, 4],
        [4, 8],
      ]) {
        for (const layout of LAYOUTS) {
          // 13 × 5 groups: not a multiple of the workgroup size (64)
          const { p, shape, g: gl, C } = setup(n, m, layout, 13, 5);
          const L = randn(gl.groups * C, seed + 7 * m + n, 0.05);
          const W = randn(shape[0] * shape[1], seed + 99);
          const a = { kappa: 300, tau: 2.025, rng: { seed, stream: 11, offset: 77 } };
          const what = `${n}:${m} ${layout} seed=${seed}`;
          const want = sampleMaskedWeight(cpu, cpu.upload(L, [gl.groups, C]), cpu.upload(W, shape), gl, p, a);
          const lg = g.upload(L, [gl.groups, C]),
            wg = g.upload(W, shape);
          const got = sampleMaskedWeight(g, lg, wg, gl, p, a); // outputs are poisoned at allocation in tests
          const mask = await g.read(got.mask),
            y = await g.read(got.y),
            weff = await g.read(got.weff);
          expect(maxAbsDiff(mask, want.mask.f32), `mask ${what}`).toBeLessThanOrEqual(softTol(C));
          expect(maxAbsDiff(y, want.y.f32), `y ${what}`).toBeLessThanOrEqual(softTol(C));
          expect(weff.every(Number.isFinite), `W ⊙ m finite ${what}`).toBe(true);
          expectClose(weff, want.weff.f32, 1e-6, `W ⊙ m vs CPU ${what}`);
          // the reference path on the same GPU: sample, then the separate W ⊙ m pass
          const ref = sampleSoftMask(g, lg, gl, p, a);
          const refW = await g.read(applyMask(g, wg, ref.mask));
          expect(Array.from(weff), `fused = unfused, bit for bit, ${what}`).toEqual(Array.from(refW));
          expect(Array.from(mask)).toEqual(Array.from(await g.read(ref.mask)));
        }
      }
      expect(() =>
        sampleMaskedWeight(g, g.upload(new Float32Array(6), [1, 6]), g.upload(new Float32Array(8), [2, 4]), groupLayout([1, 4], 'out_in', 4), nmPattern(2, 4), {
          kappa: 1,
          tau: 1,
          rng: { seed: 1, stream: 0, offset: 0 },
        }),
      ).toThrow(/w: .*shape|shape/);
      expect(g.takeErrors()).toEqual([]);
    },
  );

  it.runIf(gpu)('applyMask = W ⊙ m', async () => {
    const g = gpu!;
    const w = randn(65 * 8, seed),
      m = randn(65 * 8, seed + 1);
    const want = applyMask(cpu, cpu.upload(w, [65, 8]), cpu.upload(m, [65, 8]));
    expectClose(await g.read(applyMask(g, g.upload(w, [65, 8]), g.upload(m, [65, 8]))), want.f32, 1e-6, 'applyMask');
  });
});
