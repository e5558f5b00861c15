// The WebAssembly sampling kernels (wasm/sampling.ts via src/wasm/sampling.ts) against their CPU twins
// on fresh seeded inputs: the counter RNG bit for bit; Gumbel-softmax sampling (alone and fused with
// W ⊙ m), its backward and the hard mask for 2:4, 1:4, 2:8, 4:8 and 1:3 (an odd candidate count) in both
// layouts, group counts that divide neither the SIMD width nor the kernel's noise chunk, schedules from
// κ = 1 to the LLM recipe's end (κ = 500, τ = 0.05); the mask metrics, AdamW, the embedding row ops and
// the 2:4 compressed product. Outputs are NaN-poisoned and the kernels called over split ranges; NaN
// and Inf reach what they reach in the twin. Both modules: relaxed SIMD is switched on in this process
// (Node 20 keeps it behind a V8 flag) where the runtime has it.
//
// Tolerances by construction: the RNG, the hard mask, AdamW, the backward and the row ops do the twin's
// f64 (or integer) operations in its order, so they are compared bit for bit (the backward at 1e-12);
// the sample and the metrics differ from the twin only by the hand-written log/exp (a few f64 ulp),
// which moves an f32 result by at most one f32 ulp where its f64 value sits on a rounding boundary:
// F32_TOL; the f32-accumulating 2:4 product is held to the 1e-5 contract. A MaskLearner's logits after
// a few steps on WasmEngine match CpuEngine's.
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import type { Engine } from '../../src/backend/engine';
import type { RawTensor } from '../../src/backend/tensor';
import { WasmEngine } from '../../src/backend/wasm';
import type { GptConfig } from '../../src/models/config';
import { Gpt, gptInitialWeights } from '../../src/models/gpt';
import { adamwStep, type AdamWHyper } from '../../src/ops/adamw';
import { concatRows, gatherRows, scatterAddRows, sliceRows } from '../../src/ops/embedding';
import { rngBits, rngBitsCpu, rngUniform, rngUniformCpu } from '../../src/ops/rng';
import { mask24FromScores, packSparse24, sparse24Matmul, toHalfBits, uploadSparse24 } from '../../src/ops/sparse24';
import { hardMask, sampleMaskedWeight, sampleSoftMask, softMaskBackward } from '../../src/sparsity/gumbel';
import { groupLayout, type WeightLayout } from '../../src/sparsity/layout';
import { MaskLearner } from '../../src/sparsity/learner';
import { countFlips, logitStats, maskL1, meanMaxProb, meanMaxProbClean } from '../../src/sparsity/metrics';
import { nmPattern } from '../../src/sparsity/patterns';
import { PRESETS } from '../../src/sparsity/schedule';
import { hasRelaxedSimd } from '../../src/wasm/load';
import { expectClose } from '../helpers/close';
import { randint, randn, randu, testSeed } from '../helpers/random';
import { microText } from '../helpers/tiny-models';

// the relaxed module too (what tools/bench/wasm.ts's enableRelaxedSimd does); compiled after this
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

/** 4 f32 ulp (norm-wise): an f32 output rounded from an f64 a few f64 ulp off the twin's, or W ⊙ m of such an m. */
const F32_TOL = 4 * 2 ** -24;

const LAYOUTS: WeightLayout[] = ['out_in', 'in_out'];
const PATTERNS: [number, number][] = [
  [2, 4],
  [1, 4],
  [2, 8],
  [4, 8],
  [1, 3],
];
/** [rows, groups per row]: 1 group; 35 (not a multiple of 2 or 4); 377 (2:4: 2262 noise elements, past the 1024-element chunk). */
const GROUPS: [number, number][] = [
  [1, 1],
  [7, 5],
  [13, 29],
];
/** [κ, τ, logit scale]: the LLM schedule's start, middle and end (σ0 = 0.01 and a trained layer's 0.3), and κ = τ = 1. */
const REGIMES: [number, number, number][] = [
  [100, 4, 0.01],
  [300, 2.025, 0.05],
  [500, 0.05, 0.01],
  [500, 0.05, 0.3],
  [1, 1, 1],
];

function setup(n: number, m: number, layout: WeightLayout, rows: number, per: number) {
  const p = nmPattern(n, m);
  const shape = layout === 'out_in' ? [rows, per * m] : [per * m, rows];
  return { p, shape, g: groupLayout(shape, layout, m), C: p.candidates.length };
}

/** Elementwise: NaN where the twin has NaN, ±Inf equal, else within tol relative (norm-wise via expectClose first). */
function expectSame(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  expect(got.length, `${what} length`).toBe(want.length);
  const gf: number[] = [],
    wf: number[] = [];
  for (let i = 0; i < want.length; i++) {
    if (Number.isFinite(want[i])) {
      gf.push(got[i]);
      wf.push(want[i]);
    } else if (!Object.is(got[i], want[i])) expect.fail(`${what}: element ${i} is ${got[i]}, the twin ${want[i]}`);
  }
  expectClose(gf, wf, tol, what);
}

const bitsEqual = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  a.length === b.length && Array.prototype.every.call(a, (x: number, i: number) => Object.is(x, b[i]));

describe('WebAssembly sampling kernels vs the CPU twins', async () => {
  const seed = testSeed();
  const cpu = new CpuEngine();
  const engines = [await WasmEngine.create({ variant: 'simd' })];
  if (hasRelaxedSimd()) engines.push(await WasmEngine.create({ variant: 'relaxed' }));

  it('both modules are tested where the runtime has relaxed SIMD', () => {
    expect(engines.map((e) => e.variant)).toEqual(hasRelaxedSimd() ? ['simd', 'relaxed'] : ['simd']);
  });

  for (const e of engines) {
    const k = e.kernels.sampling;

    it(`${e.variant}: rngBits and rngUniform are bit-identical to the CPU twins (odd lengths, any offset, the u32 wrap) (seed ${seed})`, async () => {
      let s = seed;
      for (const [offset, n] of [
        [0, 1],
        [0, 2],
        [seed % 1000, 7],
        [(seed >>> 3) % 1000, 37],
        [0xfffffff0, 101],
        [seed >>> 0, 1030],
      ]) {
        const pos = { seed: s++ >>> 0, stream: (seed >>> 5) % 97, offset: offset >>> 0 };
        const bits = await e.read(rngBits(e, pos, n));
        expect(bitsEqual(bits, rngBitsCpu(pos, n)), `bits at ${JSON.stringify(pos)} n=${n}`).toBe(true);
        const u = await e.read(rngUniform(e, pos, n));
        expect(bitsEqual(u, rngUniformCpu(pos, n)), `uniform at ${JSON.stringify(pos)} n=${n}`).toBe(true);
      }
      // the known answer of src/lab/selftest.ts
      expect(Array.from(await e.read(rngBits(e, { seed: 0, stream: 0, offset: 0 }, 2)))).toEqual([0x6b200159, 0x99ba4efe]);
    });

    it(`${e.variant}: the RNG kernels over split ranges write exactly their elements (seed ${seed})`, () => {
      const n = 77;
      const pos = { seed, stream: 3, offset: 17 };
      const want = rngBitsCpu(pos, n),
        wantU = rngUniformCpu(pos, n);
      const out = e.fill([n], 0xdeadbeef, 'u32'),
        outU = e.fill([n], NaN);
      const cuts = [0, 1 + (seed % 9), 10 + ((seed >>> 4) % 30), 41 + ((seed >>> 9) % 30), n];
      for (let c = cuts.length - 2; c >= 0; c--) {
        k.rngBits(e.ptr(out), pos.seed, pos.stream, pos.offset, cuts[c], cuts[c + 1]);
        k.rngUniform(e.ptr(outU), pos.seed, pos.stream, pos.offset, cuts[c], cuts[c + 1]);
      }
      expect(bitsEqual(out.data, want), `cuts ${cuts}`).toBe(true);
      expect(bitsEqual(outU.f32, wantU), `cuts ${cuts}`).toBe(true);
      // an empty range writes nothing
      const guard = e.fill([4], 7, 'u32');
      k.rngBits(e.ptr(guard), 1, 2, 3, 2, 2);
      expect(Array.from(guard.data)).toEqual([7, 7, 7, 7]);
    });

    it(`${e.variant}: soft mask, y and W ⊙ m match the twin (N:M patterns × layouts × group counts × κ, τ) (seed ${seed})`, () => {
      let s = seed;
      for (const [n, m] of PATTERNS)
        for (const layout of LAYOUTS)
          for (const [rows, per] of GROUPS) {
            const { p, shape, g, C } = setup(n, m, layout, rows, per);
            const [kappa, tau, scale] = REGIMES[s % REGIMES.length];
            const L = randn(g.groups * C, s++, scale),
              W = randn(g.rows * g.cols, s++);
            const a = { kappa, tau, rng: { seed: s++ >>> 0, stream: s % 5, offset: (s >>> 2) % 5000 } };
            const run = (x: Engine) => {
              const f = sampleMaskedWeight(x, x.upload(L, [g.groups, C]), x.upload(W, shape), g, p, a);
              const u = sampleSoftMask(x, x.upload(L, [g.groups, C]), g, p, a);
              return { y: f.y.f32.slice(), mask: f.mask.f32.slice(), weff: f.weff.f32.slice(), y2: u.y.f32.slice(), mask2: u.mask.f32.slice() };
            };
            const got = run(e),
              want = run(cpu);
            const what = `${n}:${m} ${layout} G=${g.groups} κ=${kappa} τ=${tau} seed=${seed}`;
            expectSame(got.y, want.y, F32_TOL, `y ${what}`);
            expectSame(got.mask, want.mask, F32_TOL, `mask ${what}`);
            expectSame(got.weff, want.weff, F32_TOL, `weff ${what}`);
            // the unfused path is the same sample
            expect(bitsEqual(got.y2, got.y) && bitsEqual(got.mask2, got.mask), `unfused ${what}`).toBe(true);
          }
    });

    it(`${e.variant}: every κ/τ regime on one 2:4 layer of each layout (seed ${seed})`, () => {
      let s = seed + 100;
      for (const layout of LAYOUTS)
        for (const [kappa, tau, scale] of REGIMES) {
          const { p, shape, g, C } = setup(2, 4, layout, 13, 29);
          const L = randn(g.groups * C, s++, scale),
            W = randn(g.rows * g.cols, s++);
          const a = { kappa, tau, rng: { seed: s++ >>> 0, stream: 1, offset: 0 } };
          const run = (x: Engine) => sampleMaskedWeight(x, x.upload(L, [g.groups, C]), x.upload(W, shape), g, p, a);
          const got = run(e),
            want = run(cpu);
          const what = `${layout} κ=${kappa} τ=${tau} scale=${scale} seed=${seed}`;
          expectSame(got.y.f32, want.y.f32, F32_TOL, `y ${what}`);
          expectSame(got.mask.f32, want.mask.f32, F32_TOL, `mask ${what}`);
          expectSame(got.weff.f32, want.weff.f32, F32_TOL, `weff ${what}`);
        }
    });

    it(`${e.variant}: sample over split group ranges writes every output (NaN-poisoned first) (seed ${seed})`, () => {
      for (const layout of LAYOUTS) {
        const { p, shape, g, C } = setup(2, 4, layout, 11, 37); // 407 groups
        const L = randn(g.groups * C, seed, 0.05),
          W = randn(g.rows * g.cols, seed + 1);
        const a = { kappa: 300, tau: 0.5, rng: { seed, stream: 2, offset: 9 } };
        const want = sampleMaskedWeight(cpu, cpu.upload(L, [g.groups, C]), cpu.upload(W, shape), g, p, a);
        const logits = e.upload(L, [g.groups, C]),
          w = e.upload(W, shape);
        const y = e.fill([g.groups, C], NaN),
          mask = e.fill(shape, NaN),
          weff = e.fill(shape, NaN);
        const scratch = e.scratch(k.sampleScratchBytes(p.n, C));
        const cut = 1 + (seed % (g.groups - 1));
        for (const [lo, hi] of [
          [cut, g.groups],
          [0, cut],
        ]) {
          k.sample(
            e.ptr(logits),
            e.ptr(w),
            e.ptr(y),
            e.ptr(mask),
            e.ptr(weff),
            scratch,
            g.rows,
            g.cols,
            +(layout === 'in_out'),
            p.n,
            p.m,
            a.rng.seed,
            a.rng.stream,
            a.rng.offset,
            a.kappa,
            a.tau,
            lo,
            hi,
          );
        }
        expectSame(y.f32, want.y.f32, F32_TOL, `y ${layout} cut=${cut}`);
        expectSame(mask.f32, want.mask.f32, F32_TOL, `mask ${layout} cut=${cut}`);
        expectSame(weff.f32, want.weff.f32, F32_TOL, `weff ${layout} cut=${cut}`);
      }
    });

    it(`${e.variant}: NaN and ±Inf logits and NaN weights reach what they reach in the twin (seed ${seed})`, () => {
      for (const layout of LAYOUTS) {
        const { p, shape, g, C } = setup(2, 4, layout, 5, 7);
        const L = randn(g.groups * C, seed, 0.05),
          W = randn(g.rows * g.cols, seed + 1);
        const pick = (j: number) => ((seed >>> j) % g.groups) * C + ((seed >>> (j + 3)) % C);
        L[pick(0)] = NaN; // its group: NaN
        L[pick(5)] = Infinity; // e^(Inf − Inf): NaN
        L[pick(10)] = -Infinity; // y = 0 for that candidate
        for (let c = 0; c < C; c++) L[((seed >>> 15) % g.groups) * C + c] = -Infinity; // a whole group: NaN
        W[(seed >>> 7) % W.length] = NaN;
        const a = { kappa: 100, tau: 0.7, rng: { seed, stream: 0, offset: 0 } };
        const run = (x: Engine) => sampleMaskedWeight(x, x.upload(L, [g.groups, C]), x.upload(W, shape), g, p, a);
        const got = run(e),
          want = run(cpu);
        expect(want.y.f32.some(Number.isNaN), 'the twin has NaN groups').toBe(true);
        expectSame(got.y.f32, want.y.f32, F32_TOL, `y ${layout}`);
        expectSame(got.mask.f32, want.mask.f32, F32_TOL, `mask ${layout}`);
        expectSame(got.weff.f32, want.weff.f32, F32_TOL, `weff ${layout}`);
      }
    });

    it(`${e.variant}: the backward matches the twin (patterns × layouts; λ; accumulate; poisoned out over split ranges) (seed ${seed})`, () => {
      let s = seed + 7;
      for (const [n, m] of PATTERNS)
        for (const layout of LAYOUTS)
          for (const [rows, per] of GROUPS) {
            const { p, shape, g, C } = setup(n, m, layout, rows, per);
            const smp = sampleSoftMask(cpu, cpu.upload(randn(g.groups * C, s++, 0.3), [g.groups, C]), g, p, {
              kappa: 1,
              tau: 1,
              rng: { seed: s++, stream: 2, offset: 0 },
            });
            const nW = g.rows * g.cols;
            const gw = randn(nW, s++),
              w = randn(nW, s++),
              acc = randn(g.groups * C, s++);
            const [kappa, tau, lambda] = [
              [100, 4, 1e-5],
              [500, 0.05, 0.3],
              [2, 0.7, 0],
            ][s % 3];
            const a = { kappa, tau, lambda };
            const run = (x: Engine, accumulate: boolean) => {
              const args = [x.upload(gw, shape), x.upload(w, shape), x.upload(smp.mask.f32, shape), x.upload(smp.y.f32, [g.groups, C])] as const;
              return softMaskBackward(x, ...args, g, p, a, accumulate ? x.upload(acc, [g.groups, C]) : undefined).f32.slice();
            };
            const what = `${n}:${m} ${layout} G=${g.groups} κ=${kappa} τ=${tau} λ=${lambda} seed=${seed}`;
            expectSame(run(e, false), run(cpu, false), 1e-12, what);
            expectSame(run(e, true), run(cpu, true), 1e-12, `accumulate ${what}`);
            // the kernel over two ranges into a NaN-poisoned output
            const out = e.fill([g.groups, C], NaN);
            const args = [e.upload(gw, shape), e.upload(w, shape), e.upload(smp.mask.f32, shape), e.upload(smp.y.f32, [g.groups, C])];
            const scratch = e.scratch(k.groupScratchBytes(p.n, C));
            const cut = g.groups > 1 ? 1 + (s % (g.groups - 1)) : 1;
            for (const [lo, hi] of [
              [cut, g.groups],
              [0, cut],
            ]) {
              k.backward(
                ...(args.map((t) => e.ptr(t)) as [number, number, number, number]),
                e.ptr(out),
                scratch,
                g.rows,
                g.cols,
                +(layout === 'in_out'),
                p.n,
                p.m,
                kappa / tau,
                2 * lambda,
                0,
                lo,
                Math.min(hi, g.groups),
              );
            }
            expectSame(out.f32, run(cpu, false), 1e-12, `split ${what}`);
          }
    });

    it(`${e.variant}: NaN in gradW reaches its group's logits only (seed ${seed})`, () => {
      const { p, shape, g, C } = setup(2, 4, 'in_out', 5, 3);
      const smp = sampleSoftMask(cpu, cpu.upload(randn(g.groups * C, seed, 0.3), [g.groups, C]), g, p, {
        kappa: 1,
        tau: 1,
        rng: { seed, stream: 2, offset: 0 },
      });
      const gw = randn(g.rows * g.cols, seed + 1),
        w = randn(g.rows * g.cols, seed + 2);
      gw[seed % gw.length] = NaN;
      const run = (x: Engine) =>
        softMaskBackward(x, x.upload(gw, shape), x.upload(w, shape), x.upload(smp.mask.f32, shape), x.upload(smp.y.f32, [g.groups, C]), g, p, {
          kappa: 3,
          tau: 0.5,
          lambda: 0.1,
        }).f32;
      const want = run(cpu);
      expect(want.filter(Number.isNaN).length).toBe(C);
      expectSame(run(e), want, 1e-12, 'NaN gradW');
    });

    it(`${e.variant}: hardMask gives the twin's mask and choice (ties keep the lower index, NaN logits) (seed ${seed})`, () => {
      let s = seed + 3;
      for (const [n, m] of PATTERNS)
        for (const layout of LAYOUTS)
          for (const [rows, per] of GROUPS) {
            const { p, shape, g, C } = setup(n, m, layout, rows, per);
            // few distinct values: many ties; and a NaN
            const L = Float32Array.from(randint(g.groups * C, s++, 3), (v) => v - 1);
            L[s % L.length] = NaN;
            const run = (x: Engine) => hardMask(x, x.upload(L, [g.groups, C]), g, p);
            const got = run(e),
              want = run(cpu);
            const what = `${n}:${m} ${layout} G=${g.groups}`;
            expect(got.mask.shape).toEqual(shape);
            expect(bitsEqual(got.mask.f32, want.mask.f32), `mask ${what}`).toBe(true);
            expect(bitsEqual(got.choice.data, want.choice.data), `choice ${what}`).toBe(true);
          }
    });

    it(`${e.variant}: the mask metrics match the twin (odd sizes, κ from 0 to 500) (seed ${seed})`, async () => {
      let s = seed + 11;
      const one = async (t: RawTensor, x: Engine) => Array.from(await x.read(t));
      for (const [G, C] of [
        [1, 6],
        [3, 6],
        [37, 6],
        [1001, 6],
        [5, 28],
        [2, 3],
      ]) {
        const y = randu(G * C, s++, 0, 1),
          L = randn(G * C, s++, 0.05),
          b = randu(G * C, s++, 0, 1);
        const chA = randint(G, s++, 6),
          chB = randint(G, s++, 6);
        for (const kappa of [0, 1, 500]) {
          const run = async (x: Engine) => [
            ...(await one(meanMaxProb(x, x.upload(y, [G, C])), x)),
            ...(await one(meanMaxProbClean(x, x.upload(L, [G, C]), kappa), x)),
            ...(await one(maskL1(x, x.upload(y, [G, C]), x.upload(b, [G, C])), x)),
            ...(await one(logitStats(x, x.upload(L, [G, C])), x)),
            ...(await one(countFlips(x, x.upload(chA, [G], 'u32'), x.upload(chB, [G], 'u32')), x)),
          ];
          const got = await run(e),
            want = await run(cpu);
          for (let i = 0; i < want.length; i++) expectClose([got[i]], [want[i]], F32_TOL, `metric ${i} G=${G} C=${C} κ=${kappa} seed=${seed}`);
        }
      }
    });

    it(`${e.variant}: a NaN makes the metric NaN as in the twin; the kernels' partials add up over split ranges (seed ${seed})`, async () => {
      const [G, C] = [29, 6];
      const y = randu(G * C, seed, 0, 1),
        L = randn(G * C, seed + 1, 0.05);
      y[seed % y.length] = NaN;
      L[(seed >>> 4) % L.length] = NaN;
      for (const x of [e, cpu]) {
        expect(Number.isNaN((await x.read(meanMaxProb(x, x.upload(y, [G, C]))))[0])).toBe(true);
        expect(Number.isNaN((await x.read(meanMaxProbClean(x, x.upload(L, [G, C]), 100)))[0])).toBe(true);
        expect(Number.isNaN((await x.read(maskL1(x, x.upload(y, [G, C]), x.upload(L, [G, C]))))[0])).toBe(true);
        const st = await x.read(logitStats(x, x.upload(L, [G, C])));
        expect(Number.isNaN(st[0]) && Number.isNaN(st[1])).toBe(true);
      }
      const yy = e.upload(randu(G * C, seed + 2, 0, 1), [G, C]),
        ll = e.upload(
          L.map((v) => (Number.isNaN(v) ? 0 : v)),
          [G, C],
        );
      const cut = 1 + (seed % (G - 1));
      const whole = [k.maxProbSum(e.ptr(yy), C, 0, G), k.maxProbCleanSum(e.ptr(ll), C, 50, 0, G), k.powerSum(e.ptr(ll), 0.1, 2, 0, G * C)];
      const split = [
        k.maxProbSum(e.ptr(yy), C, 0, cut) + k.maxProbSum(e.ptr(yy), C, cut, G),
        k.maxProbCleanSum(e.ptr(ll), C, 50, 0, cut) + k.maxProbCleanSum(e.ptr(ll), C, 50, cut, G),
        k.powerSum(e.ptr(ll), 0.1, 2, 0, cut * C + 1) + k.powerSum(e.ptr(ll), 0.1, 2, cut * C + 1, G * C),
      ];
      expectClose(split, whole, 1e-12, `cut=${cut}`); // f64 sums of ≤ 174 terms in another order
    });

    it(`${e.variant}: AdamW is bit-identical to the twin (with and without gradScale, several steps, odd sizes; NaN stays in its element) (seed ${seed})`, () => {
      let s = seed + 13;
      for (const n of [1, 2, 5, 63, 1002]) {
        const p0 = randn(n, s++, 0.1),
          grads = [randn(n, s++), randn(n, s++, 3), randn(n, s++, 1e-4)];
        if (n > 2) grads[1][s % n] = NaN;
        for (const scaled of [false, true]) {
          const run = (x: Engine) => {
            const p = x.upload(p0, [n]),
              m = x.zeros([n]),
              v = x.zeros([n]);
            const scale = scaled ? x.upload([0.37], [1]) : undefined;
            grads.forEach((gr, i) => {
              const h: AdamWHyper = { lr: 2e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: i + 1 };
              adamwStep(x, p, x.upload(gr, [n]), m, v, h, scale);
            });
            return [p.f32.slice(), m.f32.slice(), v.f32.slice()];
          };
          const got = run(e),
            want = run(cpu);
          for (let i = 0; i < 3; i++) expect(bitsEqual(got[i], want[i]), `${['param', 'm', 'v'][i]} n=${n} scaled=${scaled} seed=${seed}`).toBe(true);
        }
      }
    });

    it(`${e.variant}: gatherRows, scatterAddRows, concatRows and sliceRows match the twin (seed ${seed})`, () => {
      let s = seed + 17;
      for (const [V, C, N] of [
        [1, 1, 1],
        [7, 3, 11],
        [37, 13, 64],
        [5, 8, 9],
        [256, 64, 200],
      ]) {
        const table = randn(V * C, s++),
          idx = randint(N, s++, V),
          grad = randn(N * C, s++);
        const run = (x: Engine) => {
          const t = x.upload(table, [V, C]),
            i = x.upload(idx, [N], 'u32');
          const tu = x.upload(randint(V * C, s, 1 << 30), [V, C], 'u32');
          return {
            gather: gatherRows(x, t, i).f32.slice(),
            gatherU: gatherRows(x, tu, i).data.slice(),
            scatter: scatterAddRows(x, x.upload(grad, [N, C]), i, V).f32.slice(),
            concat: concatRows(x, t, x.upload(grad, [N, C])).f32.slice(),
            slice: sliceRows(x, x.upload(grad, [N, C]), N >> 2, N - (N >> 2) - (N >> 3)).f32.slice(),
          };
        };
        const got = run(e),
          want = run(cpu);
        for (const key of Object.keys(want) as (keyof typeof want)[])
          expect(bitsEqual(got[key], want[key]), `${key} V=${V} C=${C} N=${N} seed=${seed}`).toBe(true);
      }
      // other ranks and dtypes for the row copies; empty results
      const a = randn(2 * 3 * 5, s++),
        b = randn(4 * 3 * 5, s++);
      const rows = (x: Engine) => [
        concatRows(x, x.upload(a, [2, 3, 5]), x.upload(b, [4, 3, 5])).f32.slice(),
        sliceRows(x, x.upload(b, [4, 3, 5]), 1, 2).f32.slice(),
        concatRows(x, x.upload([1, 2], [2], 'i32'), x.upload([3], [1], 'i32')).data.slice(),
        sliceRows(x, x.upload(b, [4, 3, 5]), 4, 0).f32.slice(),
        scatterAddRows(x, x.upload(new Float32Array(0), [0, 4]), x.upload([], [0], 'u32'), 3).f32.slice(),
      ];
      const got = rows(e),
        want = rows(cpu);
      want.forEach((w, i) => expect(bitsEqual(got[i], w), `rows ${i}`).toBe(true));
    });

    it(`${e.variant}: the embedding kernels over split ranges; out-of-range indices refused as by the twin; NaN stays in its row (seed ${seed})`, () => {
      const [V, C, N] = [23, 11, 41];
      const table = randn(V * C, seed),
        idx = randint(N, seed + 1, V),
        grad = randn(N * C, seed + 2);
      grad[((seed >>> 3) % N) * C + (seed % C)] = NaN;
      const t = e.upload(table, [V, C]),
        i = e.upload(idx, [N], 'u32'),
        gr = e.upload(grad, [N, C]);
      const gOut = e.fill([N, C], NaN),
        sOut = e.fill([V, C], NaN);
      const scratch = e.scratch(k.scatterScratchBytes(N, V));
      const cutN = 1 + (seed % (N - 1)),
        cutV = 1 + (seed % (V - 1));
      for (const [lo, hi] of [
        [cutN, N],
        [0, cutN],
      ])
        k.gatherRows(e.ptr(t), e.ptr(i), e.ptr(gOut), C, lo, hi);
      for (const [lo, hi] of [
        [cutV, V],
        [0, cutV],
      ])
        k.scatterAddRows(e.ptr(gr), e.ptr(i), e.ptr(sOut), scratch, N, V, C, lo, hi);
      expect(bitsEqual(gOut.f32, gatherRows(cpu, cpu.upload(table, [V, C]), cpu.upload(idx, [N], 'u32')).f32)).toBe(true);
      const want = scatterAddRows(cpu, cpu.upload(grad, [N, C]), cpu.upload(idx, [N], 'u32'), V).f32;
      expect(want.filter(Number.isNaN).length).toBe(1);
      expect(bitsEqual(sOut.f32, want)).toBe(true);
      const bad = Uint32Array.from(idx);
      bad[seed % N] = V + (seed % 5);
      for (const x of [e, cpu] as Engine[]) {
        const bi = x.upload(bad, [N], 'u32');
        expect(() => gatherRows(x, x.upload(table, [V, C]), bi)).toThrow(
          `gatherRows: index ${bad[seed % N]} at position ${seed % N} is out of range for ${V} rows`,
        );
        expect(() => scatterAddRows(x, x.upload(grad, [N, C]), bi, V)).toThrow(
          `scatterAddRows: index ${bad[seed % N]} at position ${seed % N} is out of range for ${V} rows`,
        );
      }
    });

    it(`${e.variant}: sparse24Matmul matches the twin on odd shapes (columns % 4, rows % 4, batched x; f16 subnormals and large values) (seed ${seed})`, () => {
      let s = seed + 19;
      for (const [M, K, N] of [
        [1, 4, 1],
        [3, 8, 3],
        [5, 36, 4],
        [9, 132, 7],
        [4, 64, 17],
        [13, 256, 33],
      ]) {
        const w = randn(K * N, s++);
        // some tiny (f16 subnormal) and large weights
        for (let j = 0; j < w.length; j += 7) w[j] *= j % 2 ? 2e-5 : 3000;
        const mask = mask24FromScores(randn(K * N, s++), K, N, s % 3 === 0 ? 1 : 2);
        const x = randn(M * K, s++);
        const packed = packSparse24(w, mask, K, N);
        const shape = M % 2 === 0 && M > 2 ? [2, M / 2, K] : [M, K];
        const run = (en: Engine) => sparse24Matmul(en, en.upload(x, shape), uploadSparse24(en, packed));
        const got = run(e),
          want = run(cpu);
        expect(got.shape).toEqual(want.shape);
        expectClose(got.f32, want.f32, 1e-5, `M=${M} K=${K} N=${N} seed=${seed}`);
      }
    });

    it(`${e.variant}: sparse24 over split row ranges (poisoned out); Inf weights and NaN inputs reach exactly their columns (seed ${seed})`, () => {
      const [M, K, N] = [11, 40, 13];
      const w = randn(K * N, seed),
        x = randn(M * K, seed + 1);
      const mask = mask24FromScores(randn(K * N, seed + 2), K, N);
      const want = sparse24Matmul(cpu, cpu.upload(x, [M, K]), uploadSparse24(cpu, packSparse24(w, mask, K, N))).f32;
      const xs = e.upload(x, [M, K]),
        ws = uploadSparse24(e, packSparse24(w, mask, K, N));
      const out = e.fill([M, N], NaN);
      const scratch = e.scratch(k.sparse24ScratchBytes(K));
      const cut = 1 + (seed % (M - 1));
      for (const [lo, hi] of [
        [cut, M],
        [0, cut],
      ])
        k.sparse24(e.ptr(xs), e.ptr(ws.vals), e.ptr(ws.idx), e.ptr(out), scratch, K, N, lo, hi);
      expectClose(out.f32, want, 1e-5, `cut=${cut}`);
      // an Inf kept weight (f16 overflow): its column as the twin (±Inf, or NaN where it meets 0 or −Inf)
      const cj = (seed >>> 3) % N;
      let pr = 0;
      while (mask[pr * N + cj] !== 1) pr++;
      const wi = Float32Array.from(w);
      wi[pr * N + cj] = 1e6;
      expect(toHalfBits(1e6)).toBe(0x7c00);
      const inf = (en: Engine) => sparse24Matmul(en, en.upload(x, [M, K]), uploadSparse24(en, packSparse24(wi, mask, K, N))).f32;
      expectSame(inf(e), inf(cpu), 1e-5, 'Inf weight');
      // NaN in x[ri, p]: the compressed product reads only kept pairs (as the GPU), so out[ri, j] is NaN
      // exactly where column j keeps row p; the other columns equal the twin with that x being 0
      const ri = seed % M,
        p = (seed >>> 5) % K;
      const xn = Float32Array.from(x),
        x0 = Float32Array.from(x);
      xn[ri * K + p] = NaN;
      x0[ri * K + p] = 0;
      const pk = packSparse24(w, mask, K, N);
      const got = sparse24Matmul(e, e.upload(xn, [M, K]), uploadSparse24(e, pk)).f32;
      const ref = sparse24Matmul(cpu, cpu.upload(x0, [M, K]), uploadSparse24(cpu, pk)).f32;
      const gf: number[] = [],
        rf: number[] = [];
      for (let i = 0; i < M; i++)
        for (let j = 0; j < N; j++) {
          const nan = i === ri && mask[p * N + j] === 1;
          if (nan) expect(Number.isNaN(got[i * N + j]), `(${i}, ${j}) NaN`).toBe(true);
          else {
            gf.push(got[i * N + j]);
            rf.push(ref[i * N + j]);
          }
        }
      expectClose(gf, rf, 1e-5, 'the finite outputs');
    });

    it(`${e.variant}: a warm sample + backward + metrics + AdamW creates no arena blocks beyond their outputs`, () => {
      const { p, shape, g, C } = setup(2, 4, 'in_out', 16, 8);
      const logits = e.upload(randn(g.groups * C, seed, 0.01), [g.groups, C]),
        w = e.upload(randn(g.rows * g.cols, seed + 1), shape);
      const m = e.zeros([g.groups, C]),
        v = e.zeros([g.groups, C]);
      const step = (i: number) => {
        const f = sampleMaskedWeight(e, logits, w, g, p, { kappa: 100, tau: 4, rng: { seed, stream: 0, offset: i * 100 } });
        const gr = softMaskBackward(e, f.weff, w, f.mask, f.y, g, p, { kappa: 100, tau: 4, lambda: 1e-5 });
        const mt = [meanMaxProb(e, f.y), meanMaxProbClean(e, logits, 100), maskL1(e, f.mask, w), logitStats(e, logits)];
        adamwStep(e, logits, gr, m, v, { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: i + 1 });
        for (const t of [f.mask, f.y, f.weff, gr, ...mt]) t.dispose();
      };
      step(0);
      const before = e.arena.blocksCreated;
      step(1);
      expect(e.arena.blocksCreated).toBe(before);
    });
  }
});

// widths that divide neither the 4-lane SIMD width nor the noise chunk; 2 blocks, 4 heads of 10
const GPT: GptConfig = { kind: 'gpt2', vocabSize: 37, nPositions: 19, nEmbd: 40, nLayer: 2, nHead: 4, layerNormEps: 1e-5, tieWordEmbeddings: true };

describe('a MaskLearner on WasmEngine vs CpuEngine', async () => {
  const seed = testSeed();
  const wasm = await WasmEngine.create({ variant: 'simd' });

  // The model's forward and backward differ between the engines at f32 rounding (~1e-7, not this
  // file's kernels), and Adam's step lr·m̂/(√v̂ + ε) amplifies a gradient's error by up to lr/ε = 2e5 in
  // the elements whose gradient is within a few ε of 0 (a group's unlikely candidates): the logits then
  // differ by ~1e-5 of their norm (measured 1.6e-6 … 2.1e-5 over 24 seeds), hence 1e-4. A wrong
  // sampling, backward or AdamW kernel moves them by ~lr per element, ~1e-2 of their norm.
  it(`the logits after 4 steps (2 samples each) agree within 1e-4 (seed ${seed})`, async () => {
    const run = async (e: Engine) => {
      const model = new Gpt(e, GPT, gptInitialWeights(GPT, seed));
      const learner = new MaskLearner(model, { n: 2, m: 4, hyper: { ...PRESETS.tunedSmall, steps: 4 }, seed }, 4);
      for (let s = 0; s < 4; s++) await learner.learnStep([microText(seed + 10 + s, 2, 17, GPT.vocabSize), microText(seed + 20 + s, 2, 17, GPT.vocabSize)]);
      const logits = await Promise.all(learner.sites.map(async (st) => Float32Array.from(await e.read(st.logits))));
      learner.dispose();
      return logits;
    };
    const want = await run(new CpuEngine());
    const got = await run(wasm);
    expect(got.length).toBe(want.length);
    want.forEach((w, i) => expectClose(got[i], w, 1e-4, `site ${i} seed=${seed}`));
  });
});
