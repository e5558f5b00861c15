import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { elementIndex, groupLayout, type WeightLayout } from '../../src/sparsity/layout';
import { upperCholeskyOfInverse } from '../../src/sparsity/linalg';
import { HessianAccumulator, magnitudeMask, sparseGpt, wandaMask } from '../../src/sparsity/priors';
import { maxAbsDiff } from '../helpers/close';
import { randn, randu, testSeed } from '../helpers/random';

const PATTERNS: [number, number][] = [
  [2, 4],
  [1, 4],
  [2, 8],
  [4, 8],
];
const LAYOUTS: WeightLayout[] = ['out_in', 'in_out'];

function shapeOf(rows: number, cols: number, layout: WeightLayout): [number, number] {
  return layout === 'out_in' ? [rows, cols] : [cols, rows];
}
/** Flat index of (output row r, input col c), written independently of the code under test. */
function idx(layout: WeightLayout, rows: number, cols: number, r: number, c: number): number {
  return layout === 'out_in' ? r * cols + c : c * rows + r;
}
/** Re-stores an [out, in] matrix in `layout`. */
function fromOutIn(a: ArrayLike<number>, rows: number, cols: number, layout: WeightLayout): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[idx(layout, rows, cols, r, c)] = a[r * cols + c];
  return out;
}
function toOutIn(a: ArrayLike<number>, rows: number, cols: number, layout: WeightLayout): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = a[idx(layout, rows, cols, r, c)];
  return out;
}

function expectExactNM(mask: Uint8Array, shape: [number, number], layout: WeightLayout, n: number, m: number, what: string) {
  const g = groupLayout(shape, layout, m);
  expect(mask.length, what).toBe(g.rows * g.cols);
  let bad = 0;
  for (const v of mask) if (v !== 0 && v !== 1) bad++;
  expect(bad, `${what}: non-0/1 entries`).toBe(0);
  for (let q = 0; q < g.groups; q++) {
    let kept = 0;
    for (let k = 0; k < m; k++) kept += mask[elementIndex(g, q, k)];
    if (kept !== n) expect(kept, `${what}: group ${q} keeps ${kept}, want ${n}`).toBe(n);
  }
}

/**
 * Calibration inputs with strongly correlated channels, like real activations: 8 latent factors
 * mixed into all channels plus 0.3 independent noise (so H stays full rank).
 */
function correlatedInputs(tokens: number, cols: number, seed: number): Float32Array {
  const k = 8;
  const z = randn(tokens * k, seed);
  const b = randn(k * cols, seed + 1);
  const noise = randn(tokens * cols, seed + 2, 0.3);
  const x = new Float32Array(tokens * cols);
  for (let t = 0; t < tokens; t++) {
    for (let j = 0; j < cols; j++) {
      let s = noise[t * cols + j];
      for (let q = 0; q < k; q++) s += z[t * k + q] * b[q * cols + j];
      x[t * cols + j] = s;
    }
  }
  return x;
}

function hessianOf(x: Float32Array, tokens: number, cols: number): Float64Array {
  const acc = new HessianAccumulator(cols);
  acc.add(x, tokens);
  return acc.hessian();
}

/** ‖(W − Ŵ)Xᵀ‖_F with both weights as [out, in] and X as tokens × in. */
function reconstructionError(w: Float64Array, wHat: Float64Array, rows: number, cols: number, x: Float32Array, tokens: number): number {
  let s = 0;
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < tokens; t++) {
      let y = 0;
      for (let c = 0; c < cols; c++) y += (w[r * cols + c] - wHat[r * cols + c]) * x[t * cols + c];
      s += y * y;
    }
  }
  return Math.sqrt(s);
}

function masked(w: Float64Array, maskOutIn: Float64Array): Float64Array {
  return w.map((v, i) => v * maskOutIn[i]);
}

/** The damping and dead-input rule of the reference, written out again for the tests. */
function dampedHessian(h: Float64Array, cols: number, percDamp: number): Float64Array {
  const hd = Float64Array.from(h);
  for (let i = 0; i < cols; i++) if (hd[i * cols + i] === 0) hd[i * cols + i] = 1;
  let mean = 0;
  for (let i = 0; i < cols; i++) mean += hd[i * cols + i];
  for (let i = 0; i < cols; i++) hd[i * cols + i] += (percDamp * mean) / cols;
  return hd;
}

describe('one-shot masks are exactly N:M', () => {
  const seed = testSeed();
  for (const [n, m] of PATTERNS) {
    for (const layout of LAYOUTS) {
      it(`${n}:${m} ${layout} (seed ${seed})`, () => {
        for (const rows of [1, 5]) {
          const cols = 3 * m;
          const shape = shapeOf(rows, cols, layout);
          const w = randn(rows * cols, seed + rows);
          const norms = Float64Array.from(randu(cols, seed + 7, 0, 3));
          const x = correlatedInputs(40, cols, seed + 3);
          const h = hessianOf(x, 40, cols);
          expectExactNM(magnitudeMask(w, shape, layout, n, m), shape, layout, n, m, 'magnitude');
          expectExactNM(wandaMask(w, shape, layout, n, m, norms), shape, layout, n, m, 'wanda');
          for (const update of [false, true]) {
            const r = sparseGpt(w, shape, layout, h, { n, m, blockSize: 2 * m, update });
            expectExactNM(r.mask, shape, layout, n, m, `sparsegpt update=${update}`);
            // Pruned weights are zero after the update; mask-only returns the weights untouched.
            if (update) for (let i = 0; i < w.length; i++) if (!r.mask[i]) expect(r.weight[i]).toBe(0);
          }
        }
      });
    }
  }

  it(`gives the transposed mask for the transposed (in_out) weight (seed ${seed})`, () => {
    const rows = 6;
    const cols = 16;
    const wOutIn = randn(rows * cols, seed + 11);
    const wInOut = fromOutIn(wOutIn, rows, cols, 'in_out');
    const norms = Float64Array.from(randu(cols, seed + 12, 0.1, 2));
    const x = correlatedInputs(50, cols, seed + 13);
    const h = hessianOf(x, 50, cols);
    const pairs: [Uint8Array, Uint8Array][] = [
      [magnitudeMask(wOutIn, [rows, cols], 'out_in', 2, 4), magnitudeMask(wInOut, [cols, rows], 'in_out', 2, 4)],
      [wandaMask(wOutIn, [rows, cols], 'out_in', 2, 4, norms), wandaMask(wInOut, [cols, rows], 'in_out', 2, 4, norms)],
    ];
    const a = sparseGpt(wOutIn, [rows, cols], 'out_in', h, { n: 2, m: 4, blockSize: 8, update: true });
    const b = sparseGpt(wInOut, [cols, rows], 'in_out', h, { n: 2, m: 4, blockSize: 8, update: true });
    pairs.push([a.mask, b.mask]);
    for (const [p, q] of pairs) expect(Array.from(toOutIn(q, rows, cols, 'in_out'))).toEqual(Array.from(p));
    expect(Array.from(toOutIn(b.weight, rows, cols, 'in_out'))).toEqual(Array.from(a.weight));
    expect(b.error).toBe(a.error);
  });
});

describe('magnitude and Wanda on hand-made weights', () => {
  it('magnitude keeps the n largest |w| per group, ties to the lower index', () => {
    // out_in [2, 8], 2:4. Row 0: groups [0.1, −3, 2, 0.5] and [1, 1, 1, 1] (all tied).
    // Row 1: [−5, 0, 0, 4] and [0.2, −0.3, 0.25, 0.1].
    const w = Float32Array.from([0.1, -3, 2, 0.5, 1, 1, 1, 1, -5, 0, 0, 4, 0.2, -0.3, 0.25, 0.1]);
    const want = [0, 1, 1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 0, 1, 1, 0];
    expect(Array.from(magnitudeMask(w, [2, 8], 'out_in', 2, 4))).toEqual(want);
    // 1:4 and 4:8 on the same row
    expect(Array.from(magnitudeMask(w, [2, 8], 'out_in', 1, 4))).toEqual([0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0]);
    expect(Array.from(magnitudeMask(w, [2, 8], 'out_in', 4, 8))).toEqual([0, 1, 1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 0, 1, 1, 0]);
  });

  it('magnitude groups run along the input dimension in the in_out layout', () => {
    // in_out [4 in, 2 out]: column r holds output row r's 4 inputs (stride 2).
    const w = Float32Array.from([
      1,
      -9, // input 0
      -4,
      8, // input 1
      3,
      1, // input 2
      2,
      0.5, // input 3
    ]);
    expect(Array.from(magnitudeMask(w, [4, 2], 'in_out', 2, 4))).toEqual([0, 1, 1, 1, 1, 0, 0, 0]);
  });

  it('Wanda weighs |W| by the input norm and chooses differently from magnitude', () => {
    const w = Float32Array.from([1, 2, 3, 4, -4, 3, 2, 1]); // out_in [2, 4]
    const norms = Float64Array.from([10, 1, 1, 0.5]); // scores row 0: 10, 2, 3, 2; row 1: 40, 3, 2, 0.5
    expect(Array.from(magnitudeMask(w, [2, 4], 'out_in', 2, 4))).toEqual([0, 0, 1, 1, 1, 1, 0, 0]);
    expect(Array.from(wandaMask(w, [2, 4], 'out_in', 2, 4, norms))).toEqual([1, 0, 1, 0, 1, 1, 0, 0]);
    // Equal norms reduce Wanda to magnitude.
    const ones = new Float64Array(4).fill(1);
    expect(Array.from(wandaMask(w, [2, 4], 'out_in', 2, 4, ones))).toEqual([0, 0, 1, 1, 1, 1, 0, 0]);
    // in_out storage of the same weight gives the same decisions.
    const wT = fromOutIn(w, 2, 4, 'in_out');
    expect(Array.from(toOutIn(wandaMask(wT, [4, 2], 'in_out', 2, 4, norms), 2, 4, 'in_out'))).toEqual([1, 0, 1, 0, 1, 1, 0, 0]);
  });

  it('rejects bad input with specific messages', () => {
    const w = new Float32Array(8);
    expect(() => magnitudeMask(w, [2, 4], 'out_in', 3, 2)).toThrow(/n must be an integer in \[1, m=2\], got 3/);
    expect(() => magnitudeMask(w, [2, 4], 'out_in', 0, 4)).toThrow(/n must be an integer/);
    expect(() => magnitudeMask(w, [3, 4], 'out_in', 2, 4)).toThrow(/magnitudeMask: weight has 8 elements/);
    expect(() => magnitudeMask(w, [4, 2], 'out_in', 2, 4)).toThrow(/magnitudeMask: .*not a multiple of m=4/);
    expect(() => magnitudeMask(Float32Array.from([1, NaN, 0, 0]), [1, 4], 'out_in', 2, 4)).toThrow(/score is NaN at row 0, input 1/);
    expect(() => wandaMask(w, [2, 4], 'out_in', 2, 4, new Float64Array(3))).toThrow(/colNorms has 3 entries but the weight has 4 input channels/);
    expect(() => wandaMask(w, [2, 4], 'out_in', 2, 4, Float64Array.from([1, -1, 1, 1]))).toThrow(/colNorms\[1\] = -1/);
  });
});

describe('HessianAccumulator', () => {
  it('accumulates H = (2/n) Σ x xᵀ and ‖X_j‖ over several batches', () => {
    const seed = testSeed();
    const cols = 5;
    const x = randn(7 * cols, seed);
    const acc = new HessianAccumulator(cols);
    acc.add(x.subarray(0, 3 * cols), 3);
    acc.add(x.subarray(3 * cols), 4);
    acc.add(new Float32Array(0), 0);
    expect(acc.count).toBe(7);
    const h = acc.hessian();
    const want = new Float64Array(cols * cols);
    const norms = new Float64Array(cols);
    for (let i = 0; i < cols; i++) {
      for (let j = 0; j < cols; j++) {
        let s = 0;
        for (let t = 0; t < 7; t++) s += x[t * cols + i] * x[t * cols + j];
        want[i * cols + j] = (2 / 7) * s;
      }
      norms[i] = Math.sqrt(want[i * cols + i] * 3.5);
    }
    expect(maxAbsDiff(h, want), `seed ${seed}`).toBeLessThan(1e-12);
    expect(maxAbsDiff(acc.colNorms(), norms), `seed ${seed}`).toBeLessThan(1e-12);
  });

  it('gives the same H for one batch of 300 rows (crosses the 256-row chunk) as for row-by-row adds', () => {
    const seed = testSeed();
    const cols = 3;
    const x = randn(300 * cols, seed);
    const big = new HessianAccumulator(cols);
    big.add(x, 300);
    const single = new HessianAccumulator(cols);
    for (let t = 0; t < 300; t++) single.add(x.subarray(t * cols, (t + 1) * cols), 1);
    expect(big.count).toBe(300);
    expect(maxAbsDiff(big.hessian(), single.hessian()), `seed ${seed}`).toBeLessThan(1e-12);
    expect(maxAbsDiff(big.colNorms(), single.colNorms()), `seed ${seed}`).toBeLessThan(1e-12);
  });

  it('rejects bad input with specific messages', () => {
    expect(() => new HessianAccumulator(0)).toThrow(/cols must be a positive integer, got 0/);
    const acc = new HessianAccumulator(3);
    expect(() => acc.hessian()).toThrow(/no activations added yet/);
    expect(() => acc.add(new Float32Array(5), 2)).toThrow(/got 5 values, expected rows×cols = 2×3 = 6/);
    expect(() => acc.add(Float32Array.from([0, Infinity, 0]), 1)).toThrow(/row 0, channel 1 is Infinity/);
  });
});

describe('SparseGPT', () => {
  it('with the update, beats magnitude and mask-only SparseGPT on the layer reconstruction error', () => {
    const seed = testSeed();
    const rows = 12;
    const cols = 32;
    const tokens = 256;
    const x = correlatedInputs(tokens, cols, seed);
    const h = hessianOf(x, tokens, cols);
    for (const layout of LAYOUTS) {
      const shape = shapeOf(rows, cols, layout);
      const w = randn(rows * cols, seed + 5);
      const wOI = toOutIn(w, rows, cols, layout);
      const mag = magnitudeMask(w, shape, layout, 2, 4);
      const only = sparseGpt(w, shape, layout, h, { n: 2, m: 4, blockSize: 16, update: false });
      const upd = sparseGpt(w, shape, layout, h, { n: 2, m: 4, blockSize: 16, update: true });
      const eMag = reconstructionError(wOI, masked(wOI, toOutIn(mag, rows, cols, layout)), rows, cols, x, tokens);
      const eOnly = reconstructionError(wOI, masked(wOI, toOutIn(only.mask, rows, cols, layout)), rows, cols, x, tokens);
      const eUpd = reconstructionError(wOI, toOutIn(upd.weight, rows, cols, layout), rows, cols, x, tokens);
      const what = `seed ${seed} ${layout}: magnitude ${eMag.toFixed(2)}, mask-only ${eOnly.toFixed(2)}, update ${eUpd.toFixed(2)}`;
      expect(eUpd, what).toBeLessThan(0.8 * eMag);
      expect(eUpd, what).toBeLessThan(0.8 * eOnly);
    }
  });

  it('reports error = ½ Σ_rows δᵀ H_damped δ with δ = W − Ŵ (OBS errors add up exactly)', () => {
    const seed = testSeed();
    const rows = 4;
    const cols = 24;
    const x = correlatedInputs(60, cols, seed);
    const h = hessianOf(x, 60, cols);
    const w = randn(rows * cols, seed + 1);
    // blockSize 8 < cols exercises the lazy update of later blocks.
    const r = sparseGpt(w, [rows, cols], 'out_in', h, { n: 2, m: 4, blockSize: 8, percDamp: 0.05, update: true });
    const hd = dampedHessian(h, cols, 0.05);
    let want = 0;
    for (let o = 0; o < rows; o++) {
      for (let i = 0; i < cols; i++) {
        for (let j = 0; j < cols; j++) {
          const di = w[o * cols + i] - r.weight[o * cols + i];
          const dj = w[o * cols + j] - r.weight[o * cols + j];
          want += (di * hd[i * cols + j] * dj) / 2;
        }
      }
    }
    // Ŵ is rounded to f32, so allow for that rounding.
    expect(Math.abs(r.error - want) / want, `seed ${seed}: error ${r.error} vs ${want}`).toBeLessThan(1e-5);
  });

  it('without the update leaves the weights alone and keeps the largest w²/U_ii² per group', () => {
    const seed = testSeed();
    const rows = 5;
    const cols = 16;
    const x = correlatedInputs(40, cols, seed);
    const h = hessianOf(x, 40, cols);
    for (const [n, m] of PATTERNS) {
      const w = randn(rows * cols, seed + 10 * n + m);
      const before = Float32Array.from(w);
      const r = sparseGpt(w, [cols, rows], 'in_out', h, { n, m, update: false });
      expect(Array.from(w), 'input not mutated').toEqual(Array.from(before));
      expect(Array.from(r.weight), 'weights unchanged').toEqual(Array.from(before));
      expect(r.weight).not.toBe(w);
      const u = upperCholeskyOfInverse(dampedHessian(h, cols, 0.01), cols);
      let wantErr = 0;
      for (let o = 0; o < rows; o++) {
        for (let c0 = 0; c0 < cols; c0 += m) {
          const ranked = Array.from({ length: m }, (_, k) => {
            const c = c0 + k;
            const v = w[idx('in_out', rows, cols, o, c)];
            return { c, s: (v * v) / u[c * cols + c] ** 2 };
          }).sort((a, b) => b.s - a.s || a.c - b.c);
          ranked.forEach(({ c, s }, rank) => {
            const kept = rank < n ? 1 : 0;
            if (!kept) wantErr += s / 2;
            const got = r.mask[idx('in_out', rows, cols, o, c)];
            if (got !== kept) expect(got, `seed ${seed} ${n}:${m} row ${o} col ${c}`).toBe(kept);
          });
        }
      }
      expect(Math.abs(r.error - wantErr) / wantErr, `seed ${seed} ${n}:${m} error`).toBeLessThan(1e-9);
    }
  });

  it('breaks ties in w²/U_ii² towards the lower input, like magnitude', () => {
    // H = I → all U_ii equal; equal weights in each group tie exactly.
    const h = new Float64Array(64);
    for (let i = 0; i < 8; i++) h[i * 8 + i] = 1;
    const w = Float32Array.from([2, 2, 2, 2, -1, 0.5, -1, 0.5]);
    for (const update of [false, true]) {
      const r = sparseGpt(w, [1, 8], 'out_in', h, { n: 2, m: 4, update });
      expect(Array.from(r.mask), `update=${update}`).toEqual([1, 1, 0, 0, 1, 0, 1, 0]);
    }
  });

  it('handles dead inputs (diag H = 0) like the reference: weight zeroed, pruned first', () => {
    const seed = testSeed();
    const rows = 3;
    const cols = 8;
    const x = correlatedInputs(30, cols, seed);
    for (let t = 0; t < 30; t++) x[t * cols + 2] = 0; // input 2 never fires
    const h = hessianOf(x, 30, cols);
    const w = randn(rows * cols, seed + 1, 3);
    for (const update of [false, true]) {
      const r = sparseGpt(w, [rows, cols], 'out_in', h, { n: 2, m: 4, update });
      for (let o = 0; o < rows; o++) {
        expect(r.mask[o * cols + 2], `seed ${seed} update=${update} row ${o}`).toBe(0);
        if (update) expect(r.weight[o * cols + 2]).toBe(0);
      }
      expect(Number.isFinite(r.error)).toBe(true);
    }
  });

  it('rejects bad input with specific messages', () => {
    const w = new Float32Array(16);
    const h = new Float64Array(64).fill(0);
    for (let i = 0; i < 8; i++) h[i * 8 + i] = 1;
    expect(() => sparseGpt(w, [2, 8], 'out_in', new Float64Array(9), { n: 2, m: 4, update: true })).toThrow(
      /Hessian has 9 elements, expected in×in = 8×8 = 64/,
    );
    expect(() => sparseGpt(w, [2, 8], 'out_in', h, { n: 2, m: 4, blockSize: 6, update: true })).toThrow(/blockSize 6 must be a positive multiple of m=4/);
    expect(() => sparseGpt(w, [2, 8], 'out_in', h, { n: 5, m: 4, update: true })).toThrow(/n must be an integer in \[1, m=4\]/);
    const neg = Float64Array.from(h);
    neg[0] = -1;
    expect(() => sparseGpt(w, [2, 8], 'out_in', neg, { n: 2, m: 4, update: true })).toThrow(/Hessian diagonal 0 is -1/);
    const indefinite = Float64Array.from(h);
    indefinite[1] = indefinite[8] = 5; // |H_01| > sqrt(H_00 H_11)
    expect(() => sparseGpt(w, [2, 8], 'out_in', indefinite, { n: 2, m: 4, percDamp: 0, update: true })).toThrow(
      /damped Hessian is not positive definite.*pivot 1/,
    );
  });
});

describe('SparseGPT against the independent numpy reference (tests/python/sparsegpt_ref.py)', () => {
  const script = fileURLToPath(new URL('../python/sparsegpt_ref.py', import.meta.url));

  function runReference(req: object): { mask: number[]; weight: number[]; error: number } {
    const p = spawnSync('python3', [script], { input: JSON.stringify(req), encoding: 'utf8', maxBuffer: 1 << 26 });
    if (p.error) {
      throw new Error(`cannot run python3 for the SparseGPT cross-check (${p.error.message}); install Debian packages python3 and python3-numpy`);
    }
    if (p.status !== 0) {
      if (/No module named .?numpy/.test(p.stderr)) {
        throw new Error('python3 has no numpy: the SparseGPT cross-check needs the Debian package python3-numpy');
      }
      throw new Error(`sparsegpt_ref.py failed (exit ${p.status}): ${p.stderr}`);
    }
    return JSON.parse(p.stdout);
  }

  const cases = [
    { n: 2, m: 4, blockSize: 8, update: true },
    { n: 2, m: 8, blockSize: 16, update: true }, // last block is partial (24 = 16 + 8)
    { n: 2, m: 4, blockSize: 128, update: false },
  ];
  for (const c of cases) {
    it(`16×24, ${c.n}:${c.m}, blockSize ${c.blockSize}, update ${c.update}: same mask, weights within 1e-6`, () => {
      const seed = testSeed();
      const rows = 16;
      const cols = 24;
      const x = correlatedInputs(64, cols, seed);
      for (let t = 0; t < 64; t++) x[t * cols + 5] = 0; // one dead input
      const h = hessianOf(x, 64, cols);
      const w = randn(rows * cols, seed + 1);
      const got = sparseGpt(w, [rows, cols], 'out_in', h, { ...c, percDamp: 0.01 });
      const ref = runReference({ rows, cols, ...c, percDamp: 0.01, w: Array.from(w), h: Array.from(h) });
      expect(Array.from(got.mask), `seed ${seed} mask`).toEqual(ref.mask);
      expect(maxAbsDiff(got.weight, ref.weight), `seed ${seed} weights`).toBeLessThan(1e-6);
      expect(Math.abs(got.error - ref.error) / ref.error, `seed ${seed} error ${got.error} vs ${ref.error}`).toBeLessThan(1e-9);
    });
  }
});
