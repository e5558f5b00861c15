// The WebAssembly row kernels (wasm/rows.ts via src/wasm/rows.ts) against their f64 CPU twins (the same
// op on a CpuEngine) on fresh seeded inputs: the fused lm-head cross-entropy forward and backward
// (one and several chunks, dx and/or dW), the plain cross-entropy, both GELUs, layer norm with its
// parameter gradients, softmax, and the elementwise ops (binary with every broadcast period, scale,
// axpyInto, sumRepeat) — widths that do not divide the 4-lane SIMD width, large logits (the max
// subtraction), NaN and ±Inf reaching the outputs they reach in the twin; then every kernel called
// directly over a range split at an odd point into NaN-poisoned outputs, so an element a range
// forgets, or one written by the wrong range, fails. Both modules where the runtime has relaxed SIMD.
import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import type { Engine } from '../../src/backend/engine';
import type { RawTensor } from '../../src/backend/tensor';
import { WasmEngine } from '../../src/backend/wasm';
import { gelu, geluBackward } from '../../src/ops/activation';
import { axpyInto, binary, scale, sumRepeat, type BinaryOp } from '../../src/ops/elementwise';
import { lmHeadBackward, lmHeadLoss } from '../../src/ops/lm-head';
import { crossEntropy, crossEntropyBackward } from '../../src/ops/loss';
import { layerNorm, layerNormBackward } from '../../src/ops/norm';
import { globalSumSquares, l1Distance, max, mean, sum, sumSquares } from '../../src/ops/reduce';
import { softmax, softmaxBackward } from '../../src/ops/softmax';
import { hasRelaxedSimd } from '../../src/wasm/load';
import { expectClose } from '../helpers/close';
import { randint, randn, testSeed } from '../helpers/random';

const TOL = 1e-5;

/**
 * The twin's non-finite values exactly (NaN where it has NaN, the same infinity where it has one),
 * and the finite rest within relative error `tol` (L2, expectClose).
 */
function expectTwin(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = TOL): void {
  expect(got.length, `${what} length`).toBe(want.length);
  const g: number[] = [],
    w: number[] = [];
  for (let i = 0; i < want.length; i++) {
    if (Number.isFinite(want[i]) && Number.isFinite(got[i])) {
      g.push(got[i]);
      w.push(want[i]);
    } else if (!Object.is(got[i], want[i])) expect.fail(`${what}: element ${i} is ${got[i]}, the twin's ${want[i]}`);
  }
  expectClose(g, w, tol, what);
}

const arr = (t: RawTensor | null) => (t ? Array.from(t.f32) : []);

/** Integer in [lo, hi] drawn from a seed. */
const draw = (seed: number, lo: number, hi: number) => lo + randint(1, seed, hi - lo + 1)[0];

/**
 * `n` values: randn·scale with, when `specials`, NaN, ±Inf and large values at seeded places. −1e20
 * only for elementwise ops (`elementwise`): a sum holding both ±1e20 cancels them after the small
 * terms were rounded away, so its value depends on the summation order even in the f64 twin.
 */
function values(n: number, seed: number, scale = 1, specials = false, elementwise = false): Float32Array {
  const v = randn(n, seed, scale);
  if (specials && n > 0) {
    const sp = [NaN, Infinity, -Infinity, 30, -30, 1e4, -1e4, 1e20, 0];
    if (elementwise) sp.push(-1e20);
    for (let k = 0; k < sp.length; k++) v[draw(seed + 100 + k, 0, n - 1)] = sp[k];
  }
  return v;
}

describe('WebAssembly row kernels vs the CPU twins', async () => {
  const seed = testSeed();
  const cpu = new CpuEngine();
  const engines = [await WasmEngine.create({ variant: 'simd' })];
  if (hasRelaxedSimd()) engines.push(await WasmEngine.create({ variant: 'relaxed' }));

  for (const e of engines) {
    const both = <T>(f: (x: Engine) => T): { got: T; want: T } => ({ got: f(e), want: f(cpu) });

    describe(`${e.variant} (seed ${seed})`, () => {
      // (N, C, V, chunk): one chunk, chunks that do not divide V, a chunk of 1, tiny-gpt's shape
      const LM: [number, number, number, number | undefined][] = [
        [1, 1, 2, undefined],
        [5, 7, 13, 4],
        [17, 9, 37, 5],
        [3, 5, 130, 64],
        [9, 3, 6, 1],
        [64, 64, 256, undefined],
      ];

      it('lmHeadLoss and lmHeadBackward: loss, lse, dx, dW (and dx or dW alone)', () => {
        let s = seed;
        for (const [N, C, V, chunk] of LM) {
          const xs = values(N * C, s++),
            Ws = values(V * C, s++, 0.5),
            ts = randint(N, s++, V),
            dl = randn(1, s++)[0];
          const what = `N=${N} C=${C} V=${V} chunk=${chunk}`;
          const { got, want } = both((x) => {
            const [xt, Wt, tt] = [x.upload(xs, [N, C]), x.upload(Ws, [V, C]), x.upload(ts, [N], 'u32')];
            const f = lmHeadLoss(x, xt, Wt, tt, { chunk });
            const d = x.upload([dl], [1]);
            const g = lmHeadBackward(x, d, xt, Wt, tt, f.lse, { dx: true, dW: true }, { chunk });
            const gx = lmHeadBackward(x, d, xt, Wt, tt, f.lse, { dx: true, dW: false }, { chunk });
            const gw = lmHeadBackward(x, d, xt, Wt, tt, f.lse, { dx: false, dW: true }, { chunk });
            expect(gx.dW, 'dW not asked').toBeNull();
            expect(gw.dx, 'dx not asked').toBeNull();
            return { loss: arr(f.loss), lse: arr(f.lse), dx: arr(g.dx), dW: arr(g.dW), dxOnly: arr(gx.dx), dWOnly: arr(gw.dW) };
          });
          for (const k of ['loss', 'lse', 'dx', 'dW', 'dxOnly', 'dWOnly'] as const) expectTwin(got[k], want[k], `${k} ${what}`);
        }
      });

      it('lmHead with V = 1: loss 0, zero gradients', () => {
        // softmax of one logit is 1: loss and gradients are 0 exactly (here: 0 − the twin's f32
        // rounding noise of lse, so compared with an absolute bound, not relatively)
        const [N, C] = [3, 5];
        const xs = values(N * C, seed),
          Ws = values(C, seed + 1);
        const { got, want } = both((x) => {
          const [xt, Wt, tt] = [x.upload(xs, [N, C]), x.upload(Ws, [1, C]), x.zeros([N], 'u32')];
          const f = lmHeadLoss(x, xt, Wt, tt);
          const g = lmHeadBackward(x, x.upload([1], [1]), xt, Wt, tt, f.lse, { dx: true, dW: true });
          return { loss: arr(f.loss), lse: arr(f.lse), d: [...arr(g.dx), ...arr(g.dW)] };
        });
        expect(got.loss[0]).toBe(0);
        expectTwin(got.lse, want.lse, 'lse');
        for (let i = 0; i < got.d.length; i++) expect(Math.abs(got.d[i] - want.d[i]), `gradient ${i}`).toBeLessThanOrEqual(1e-6);
      });

      it('lmHeadLoss: leading dims fold into rows; logits far past exp’s range (the max subtraction)', () => {
        const [B, T, C, V] = [2, 5, 16, 37];
        const xs = values(B * T * C, seed, 8),
          Ws = values(V * C, seed + 1, 2),
          ts = randint(B * T, seed + 2, V);
        const { got, want } = both((x) => {
          const [xt, Wt, tt] = [x.upload(xs, [B, T, C]), x.upload(Ws, [V, C]), x.upload(ts, [B * T], 'u32')];
          const f = lmHeadLoss(x, xt, Wt, tt, { chunk: 8 });
          const g = lmHeadBackward(x, x.upload([1], [1]), xt, Wt, tt, f.lse, { dx: true, dW: true }, { chunk: 8 });
          expect(g.dx!.shape).toEqual([B, T, C]);
          return { loss: arr(f.loss), lse: arr(f.lse), dx: arr(g.dx), dW: arr(g.dW) };
        });
        // logits of std ≈ 8·2·4 = 64: e^z overflows f32 without the max subtraction. The f32
        // matmul's |z|·2⁻²⁴ error moves the softmax by that much: hence 1e-4 on the gradients.
        expectTwin(got.loss, want.loss, 'loss');
        expectTwin(got.lse, want.lse, 'lse');
        expectTwin(got.dx, want.dx, 'dx', 1e-4);
        expectTwin(got.dW, want.dW, 'dW', 1e-4);
      });

      it('lmHead: a NaN in one row of x reaches its loss, lse and dx row, and every dW; out-of-range targets throw', () => {
        const [N, C, V] = [7, 5, 11];
        const xs = values(N * C, seed),
          Ws = values(V * C, seed + 1),
          ts = randint(N, seed + 2, V);
        const r = draw(seed + 3, 0, N - 1);
        xs[r * C + draw(seed + 4, 0, C - 1)] = NaN;
        const { got, want } = both((x) => {
          const [xt, Wt, tt] = [x.upload(xs, [N, C]), x.upload(Ws, [V, C]), x.upload(ts, [N], 'u32')];
          const f = lmHeadLoss(x, xt, Wt, tt, { chunk: 3 });
          const g = lmHeadBackward(x, x.upload([0.5], [1]), xt, Wt, tt, f.lse, { dx: true, dW: true }, { chunk: 3 });
          return { loss: arr(f.loss), lse: arr(f.lse), dx: arr(g.dx), dW: arr(g.dW) };
        });
        expect(got.loss[0]).toBeNaN();
        expect(got.lse.map((v, i) => Number.isNaN(v) === (i === r)).every(Boolean), 'lse NaN exactly at the row').toBe(true);
        expect(got.dx.map((v, i) => Number.isNaN(v) === (Math.floor(i / C) === r)).every(Boolean), 'dx NaN exactly in the row').toBe(true);
        expect(got.dW.every(Number.isNaN), 'dW all NaN').toBe(true);
        for (const k of ['loss', 'lse', 'dx', 'dW'] as const) expectTwin(got[k], want[k], k);
        const bad = e.upload([0, V, 1, 2, 3, 4, 5], [N], 'u32');
        expect(() => lmHeadLoss(e, e.upload(xs, [N, C]), e.upload(Ws, [V, C]), bad)).toThrow(/target 11 at row 1 is out of range \[0, 11\)/);
        expect(() => lmHeadBackward(e, e.upload([1], [1]), e.upload(xs, [N, C]), e.upload(Ws, [V, C]), bad, e.zeros([N]), { dx: true, dW: false })).toThrow(
          /out of range/,
        );
      });

      it('crossEntropy forward and backward: odd widths, large logits, NaN and ±Inf', () => {
        let s = seed;
        // [shape, logit scale, specials]
        const cases: [number[], number, boolean][] = [
          [[1, 1], 1, false],
          [[3, 5], 1, false],
          [[7, 130], 2, false],
          [[2, 3, 17], 1, false],
          [[4, 9], 200, false],
          [[6, 13], 1, true],
        ];
        for (const [shape, sc, sp] of cases) {
          const V = shape[shape.length - 1],
            N = shape.reduce((a, b) => a * b, 1) / V;
          const xs = values(N * V, s++, sc, sp),
            ts = randint(N, s++, V),
            dl = randn(1, s++)[0];
          const { got, want } = both((x) => {
            const [lt, tt] = [x.upload(xs, shape), x.upload(ts, [N], 'u32')];
            const f = crossEntropy(x, lt, tt);
            const d = crossEntropyBackward(x, x.upload([dl], [1]), lt, tt, f.lse);
            return { loss: arr(f.loss), lse: arr(f.lse), rowLoss: arr(f.rowLoss), d: arr(d) };
          });
          const what = `[${shape}] scale=${sc} specials=${sp}`;
          // logits of scale 200: the twin's own f32 rounding of z − lse is |z|·2⁻²⁴ ≈ 1e-5 relative
          const tol = sc > 10 ? 1e-4 : TOL;
          for (const k of ['loss', 'lse', 'rowLoss', 'd'] as const) expectTwin(got[k], want[k], `${k} ${what}`, tol);
        }
      });

      it('gelu (tanh and erf) forward and backward: odd sizes, NaN, ±Inf, large |x|', () => {
        let s = seed;
        for (const exact of [false, true])
          for (const shape of [[1], [3], [5, 7], [130, 257], [2, 3, 33]]) {
            const n = shape.reduce((a, b) => a * b, 1);
            for (const sp of n >= 33 ? [false, true] : [false]) {
              const xs = values(n, s++, 3, sp, true),
                dys = values(n, s++);
              const { got, want } = both((x) => {
                const xt = x.upload(xs, shape);
                return { y: arr(gelu(x, xt, exact)), dx: arr(geluBackward(x, x.upload(dys, shape), xt, exact)) };
              });
              const what = `exact=${exact} [${shape}] specials=${sp}`;
              expectTwin(got.y, want.y, `y ${what}`);
              expectTwin(got.dx, want.dx, `dx ${what}`);
            }
          }
      });

      it('gelu (tanh and erf): every x on a fine grid over [−12, 12], elementwise within 1e-5 of the largest |value|', () => {
        // per element, not L2: a wrong branch (u < 0, w < 0) or a bad erfc tail shows here
        const xs = Float32Array.from({ length: 4801 }, (_, i) => -12 + i / 200);
        const dys = new Float32Array(xs.length).fill(1);
        for (const exact of [false, true]) {
          const { got, want } = both((x) => {
            const xt = x.upload(xs, [xs.length]);
            return { y: arr(gelu(x, xt, exact)), dx: arr(geluBackward(x, x.upload(dys, [xs.length]), xt, exact)) };
          });
          for (const k of ['y', 'dx'] as const) {
            let worst = 0;
            for (let i = 0; i < xs.length; i++) worst = Math.max(worst, Math.abs(got[k][i] - want[k][i]) / Math.max(1, Math.abs(want[k][i])));
            expect(worst, `${k} exact=${exact}`).toBeLessThanOrEqual(TOL);
          }
        }
      });

      it('layerNorm forward and backward (dx, dγ, dβ): odd widths, many rows, a large common offset, NaN and ±Inf', () => {
        let s = seed;
        // [shape, offset, specials]
        const cases: [number[], number, boolean][] = [
          [[1, 1], 0, false],
          [[3, 3], 0, false],
          [[5, 5], 0, false],
          [[9, 64], 0, false],
          [[2, 7, 67], 0, false],
          [[1031, 13], 0, false],
          [[11, 130], 1000, false],
          [[6, 21], 0, true],
        ];
        for (const [shape, offset, sp] of cases) {
          const cols = shape[shape.length - 1],
            n = shape.reduce((a, b) => a * b, 1);
          const xs = values(n, s++, 2, sp).map((v) => v + offset),
            gs = values(cols, s++),
            bs = values(cols, s++),
            dys = values(n, s++);
          const eps = [1e-5, 1e-6, 0.1][s % 3];
          const { got, want } = both((x) => {
            const [xt, gt] = [x.upload(xs, shape), x.upload(gs, [cols])];
            const f = layerNorm(x, xt, gt, x.upload(bs, [cols]), eps);
            const b = layerNormBackward(x, x.upload(dys, shape), xt, gt, f.mean, f.rstd, true);
            const bNoParams = layerNormBackward(x, x.upload(dys, shape), xt, gt, f.mean, f.rstd, false);
            expect(bNoParams.dgamma).toBeNull();
            return { y: arr(f.y), mean: arr(f.mean), rstd: arr(f.rstd), dx: arr(b.dx), dgamma: arr(b.dgamma), dbeta: arr(b.dbeta) };
          });
          const what = `[${shape}] offset=${offset} eps=${eps} specials=${sp}`;
          for (const k of ['y', 'mean', 'rstd', 'dx', 'dgamma', 'dbeta'] as const) expectTwin(got[k], want[k], `${k} ${what}`);
        }
      });

      it('softmax forward and backward: odd widths, large logits, NaN and ±Inf', () => {
        let s = seed;
        const cases: [number[], number, boolean][] = [
          [[1, 1], 1, false],
          [[3, 5], 1, false],
          [[4, 130], 3, false],
          [[2, 3, 7], 1, false],
          [[5, 11], 300, false],
          [[7, 19], 1, true],
        ];
        for (const [shape, sc, sp] of cases) {
          const n = shape.reduce((a, b) => a * b, 1);
          const xs = values(n, s++, sc, sp),
            dys = values(n, s++);
          const { got, want } = both((x) => {
            const y = softmax(x, x.upload(xs, shape));
            return { y: arr(y), dx: arr(softmaxBackward(x, x.upload(dys, shape), y)) };
          });
          const what = `[${shape}] scale=${sc} specials=${sp}`;
          const tol = sc > 10 ? 1e-4 : TOL; // |x|·2⁻²⁴ of the f32 logits themselves
          expectTwin(got.y, want.y, `y ${what}`, tol);
          expectTwin(got.dx, want.dx, `dx ${what}`, tol);
        }
      });

      it('binary (every broadcast period), scale, axpyInto, sumRepeat: odd sizes, NaN and ±Inf', () => {
        let s = seed;
        for (const [shape, bShape] of [
          [[1], [1]],
          [[7], [7]],
          [[7], [1]],
          [[5, 3], [3]],
          [[9, 13], [13]],
          [
            [4, 6, 10],
            [6, 10],
          ],
          [[130, 17], [17]],
          [[33], [33]],
        ] as [number[], number[]][]) {
          const n = shape.reduce((a, b) => a * b, 1),
            nb = bShape.reduce((a, b) => a * b, 1);
          const as = values(n, s++, 1, n >= 13),
            bs = values(nb, s++, 1, nb >= 13),
            alpha = randn(1, s++)[0];
          const what = `a [${shape}] b [${bShape}]`;
          for (const op of ['add', 'sub', 'mul'] as BinaryOp[]) {
            const { got, want } = both((x) => arr(binary(x, op, x.upload(as, shape), x.upload(bs, bShape))));
            expectTwin(got, want, `${op} ${what}`);
          }
          const { got, want } = both((x) => {
            const y = x.upload(bs.length === n ? bs : values(n, s, 1), shape);
            axpyInto(x, y, x.upload(as, shape), alpha);
            return { scale: arr(scale(x, x.upload(as, shape), alpha)), axpy: arr(y), sumRepeat: arr(sumRepeat(x, x.upload(as, shape), bShape)) };
          });
          for (const k of ['scale', 'axpy', 'sumRepeat'] as const) expectTwin(got[k], want[k], `${k} ${what}`);
        }
      });

      it('reductions (sum, mean, sumSquares, max, l1Distance, globalSumSquares): odd sizes, NaN and ±Inf, max’s NaN rule', () => {
        let s = seed;
        for (const n of [1, 3, 4, 7, 130, 4099])
          for (const sp of n >= 13 ? [false, true] : [false]) {
            const as = values(n, s++, 1, sp),
              bs = values(n, s++, 1, sp),
              cs = values(draw(s++, 1, 40), s++);
            const { got, want } = both((x) => {
              const [a, b] = [x.upload(as, [n]), x.upload(bs, [n])];
              return [sum, mean, sumSquares, max]
                .map((f) => f(x, a).f32[0])
                .concat(l1Distance(x, a, b).f32[0], globalSumSquares(x, [a, x.upload(cs, [cs.length]), x.zeros([0])]).f32[0]);
            });
            expectTwin(got, want, `n=${n} specials=${sp}`);
          }
        // max: a NaN first makes it NaN; a NaN later is skipped (the twin's x > m)
        const v = Float32Array.from(values(9, seed), (x, i) => (i === 0 ? NaN : x));
        expect(max(e, e.upload(v, [9])).f32[0]).toBeNaN();
        v[0] = 0;
        v[draw(seed + 1, 1, 8)] = NaN;
        expect(max(e, e.upload(v, [9])).f32[0]).toBe(max(cpu, cpu.upload(v, [9])).f32[0]);
        expect(sum(e, e.zeros([0])).f32[0]).toBe(0);
      });

      it('every kernel over a range split at an odd point writes exactly its outputs (NaN-poisoned first)', () => {
        const k = e.kernels.rows;
        const [N, C, V] = [13, 7, 23];
        const cut = (n: number, salt: number) => draw(seed + salt, 1, n - 1); // [0, cut) and [cut, n)
        const split = (n: number, salt: number, f: (a: number, b: number) => void) => {
          const c = cut(n, salt);
          f(c, n);
          f(0, c);
        };
        const xs = values(N * C, seed, 2),
          Ws = values(V * C, seed + 1),
          ts = randint(N, seed + 2, V),
          logits = values(N * V, seed + 3, 2),
          dys = values(N * V, seed + 4),
          gs = values(V, seed + 5),
          bs = values(V, seed + 6);
        const up = (x: Engine, v: Float32Array, shape: number[]) => x.upload(v, shape);
        const poison = (shape: number[]) => e.fill(shape, NaN);

        // cross-entropy: lmChunkLse + lmFinish + lmDlogits on one chunk, into poisoned lse / rowLoss / dz
        {
          const lt = up(e, logits, [N, V]),
            tt = e.upload(ts, [N], 'u32');
          const lse = poison([N]),
            rowLoss = poison([N]),
            dz = poison([N, V]);
          const state = e.ptr(e.empty([N * 6])); // N × three f64
          let total = 0;
          split(N, 10, (a, b) => k.lmChunkLse(e.ptr(lt), e.ptr(tt), state, V, 0, a, b));
          split(N, 11, (a, b) => (total += k.lmFinish(state, e.ptr(lse), e.ptr(rowLoss), a, b)));
          split(N, 12, (a, b) => k.lmDlogits(e.ptr(lt), e.ptr(dz), e.ptr(tt), e.ptr(lse), 0.25, V, 0, a, b));
          const c = crossEntropy(cpu, up(cpu, logits, [N, V]), cpu.upload(ts, [N], 'u32'));
          const d = crossEntropyBackward(cpu, cpu.upload([0.25 * N], [1]), up(cpu, logits, [N, V]), cpu.upload(ts, [N], 'u32'), c.lse);
          expectTwin([total / N], arr(c.loss), 'loss');
          expectTwin(arr(lse), arr(c.lse), 'lse');
          expectTwin(arr(rowLoss), arr(c.rowLoss), 'rowLoss');
          expectTwin(arr(dz), arr(d), 'dlogits');
        }
        // gelu, both forms
        for (const exact of [0, 1]) {
          const xt = up(e, logits, [N * V]),
            dyt = up(e, dys, [N * V]);
          const y = poison([N * V]),
            dx = poison([N * V]);
          split(N * V, 20 + exact, (a, b) => k.geluForward(e.ptr(xt), e.ptr(y), exact, a, b));
          split(N * V, 22 + exact, (a, b) => k.geluBackward(e.ptr(dyt), e.ptr(xt), e.ptr(dx), exact, a, b));
          const xc = up(cpu, logits, [N * V]);
          expectTwin(arr(y), arr(gelu(cpu, xc, !!exact)), `gelu exact=${exact}`);
          expectTwin(arr(dx), arr(geluBackward(cpu, up(cpu, dys, [N * V]), xc, !!exact)), `geluBackward exact=${exact}`);
        }
        // layer norm over rows of V: y, mean, rstd, dx by rows; dγ, dβ by columns
        {
          const [xt, gt, bt, dyt] = [up(e, logits, [N, V]), up(e, gs, [V]), up(e, bs, [V]), up(e, dys, [N, V])];
          const [y, mean, rstd, dx, dg, db] = [poison([N, V]), poison([N]), poison([N]), poison([N, V]), poison([V]), poison([V])];
          split(N, 30, (a, b) => k.layerNormForward(e.ptr(xt), e.ptr(gt), e.ptr(bt), e.ptr(y), e.ptr(mean), e.ptr(rstd), V, 1e-5, a, b));
          split(N, 31, (a, b) => k.layerNormBackwardDx(e.ptr(dyt), e.ptr(xt), e.ptr(gt), e.ptr(mean), e.ptr(rstd), e.ptr(dx), V, a, b));
          split(V, 32, (a, b) => k.layerNormParamGrads(e.ptr(dyt), e.ptr(xt), e.ptr(mean), e.ptr(rstd), e.ptr(dg), e.ptr(db), N, V, a, b));
          const [xc, gc] = [up(cpu, logits, [N, V]), up(cpu, gs, [V])];
          const f = layerNorm(cpu, xc, gc, up(cpu, bs, [V]), 1e-5);
          const g = layerNormBackward(cpu, up(cpu, dys, [N, V]), xc, gc, f.mean, f.rstd, true);
          for (const [name, a, b] of [
            ['y', y, f.y],
            ['mean', mean, f.mean],
            ['rstd', rstd, f.rstd],
            ['dx', dx, g.dx],
            ['dgamma', dg, g.dgamma],
            ['dbeta', db, g.dbeta],
          ] as [string, RawTensor, RawTensor][])
            expectTwin(arr(a), arr(b), `layerNorm ${name}`);
        }
        // softmax
        {
          const [xt, dyt] = [up(e, logits, [N, V]), up(e, dys, [N, V])];
          const [y, dx] = [poison([N, V]), poison([N, V])];
          split(N, 40, (a, b) => k.softmaxForward(e.ptr(xt), e.ptr(y), V, a, b));
          split(N, 41, (a, b) => k.softmaxBackward(e.ptr(y), e.ptr(dyt), e.ptr(dx), V, a, b));
          const yc = softmax(cpu, up(cpu, logits, [N, V]));
          expectTwin(arr(y), arr(yc), 'softmax');
          expectTwin(arr(dx), arr(softmaxBackward(cpu, up(cpu, dys, [N, V]), yc)), 'softmaxBackward');
        }
        // elementwise over N·V elements, b of period V; sumRepeat's columns
        {
          const [at, bt, yt] = [up(e, logits, [N, V]), up(e, gs, [V]), up(e, dys, [N, V])];
          const [ac, bc] = [up(cpu, logits, [N, V]), up(cpu, gs, [V])];
          for (const [op, code] of [
            ['add', 0],
            ['sub', 1],
            ['mul', 2],
          ] as [BinaryOp, number][]) {
            const out = poison([N, V]);
            split(N * V, 50 + code, (a, b) => k.binary(code, e.ptr(at), e.ptr(bt), e.ptr(out), V, a, b));
            expectTwin(arr(out), arr(binary(cpu, op, ac, bc)), `binary ${op}`);
          }
          const out = poison([N, V]);
          split(N * V, 60, (a, b) => k.scale(e.ptr(at), e.ptr(out), 0.75, a, b));
          expectTwin(arr(out), arr(scale(cpu, ac, 0.75)), 'scale');
          split(N * V, 61, (a, b) => k.axpy(e.ptr(yt), e.ptr(at), -1.5, a, b));
          const yc = up(cpu, dys, [N, V]);
          axpyInto(cpu, yc, ac, -1.5);
          expectTwin(arr(yt), arr(yc), 'axpy');
          const sr = poison([V]);
          split(V, 62, (a, b) => k.sumRepeat(e.ptr(at), e.ptr(sr), V, N, a, b));
          expectTwin(arr(sr), arr(sumRepeat(cpu, ac, [V])), 'sumRepeat');
          // reductions: the ranges' results combine to the whole's
          const parts = { sum: 0, sq: 0, l1: 0 };
          split(N * V, 63, (a, b) => {
            parts.sum += k.reduceSum(e.ptr(at), 0, a, b);
            parts.sq += k.reduceSum(e.ptr(at), 1, a, b);
            parts.l1 += k.absDiffSum(e.ptr(at), e.ptr(yt), a, b);
          });
          expectTwin(
            [parts.sum, parts.sq, parts.l1 / (N * V)],
            [sum(cpu, ac).f32[0], sumSquares(cpu, ac).f32[0], l1Distance(cpu, ac, yc).f32[0]],
            'reductions',
          );
        }
        // the lm-head's kernels on chunks that split V, each chunk's rows split too
        {
          const [xt, tt] = [up(e, xs, [N, C]), e.upload(ts, [N], 'u32')];
          const chunk = 6;
          const z = e.empty([N, chunk]),
            lse = poison([N]);
          const state = e.ptr(e.empty([N * 6]));
          for (let v0 = 0; v0 < V; v0 += chunk) {
            const vc = Math.min(chunk, V - v0);
            const Wc = up(e, Ws.subarray(v0 * C, (v0 + vc) * C), [vc, C]);
            e.kernels.matmul.matmul(e.ptr(xt), e.ptr(Wc), 0, 0, e.ptr(z), e.scratch(e.kernels.matmul.scratchBytes(C, vc)), N, C, vc, 0, 1, 0, N);
            split(N, 70 + v0, (a, b) => k.lmChunkLse(e.ptr(z), e.ptr(tt), state, vc, v0, a, b));
          }
          let total = 0;
          split(N, 90, (a, b) => (total += k.lmFinish(state, e.ptr(lse), 0, a, b)));
          const want = lmHeadLoss(cpu, up(cpu, xs, [N, C]), up(cpu, Ws, [V, C]), cpu.upload(ts, [N], 'u32'), { chunk });
          expectTwin([total / N], arr(want.loss), 'lm loss');
          expectTwin(arr(lse), arr(want.lse), 'lm lse');
        }
      });

      it('a warm lm-head forward + backward creates no arena blocks beyond its outputs', () => {
        const [N, C, V] = [9, 5, 37];
        const [xt, Wt, tt] = [e.upload(values(N * C, seed), [N, C]), e.upload(values(V * C, seed + 1), [V, C]), e.upload(randint(N, seed + 2, V), [N], 'u32')];
        const dl = e.upload([1], [1]);
        const step = () => {
          const f = lmHeadLoss(e, xt, Wt, tt, { chunk: 8 });
          const g = lmHeadBackward(e, dl, xt, Wt, tt, f.lse, { dx: true, dW: true }, { chunk: 8 });
          for (const t of [f.loss, f.lse, g.dx!, g.dW!]) t.dispose();
        };
        step();
        const before = e.arena.blocksCreated;
        step();
        expect(e.arena.blocksCreated).toBe(before);
      });
    });
  }
});
