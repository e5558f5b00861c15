// The WebAssembly matmul (wasm/matmul.ts via src/wasm/matmul.ts) against its f64 CPU twin on fresh
// seeded inputs: odd shapes that divide neither the 4×8 micro-kernel nor the K block (256) nor the row
// block (128), every layout flag combination, batched and folded geometry, poisoned `out`, NaN/Inf.
// The relaxed-SIMD module runs too where the runtime has it (Node 20: --experimental-wasm-relaxed-simd,
// checked in wasm-relaxed.test.ts by a child process; Chromium: tests/browser/wasm-matmul.test.ts).
import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import type { Engine } from '../../src/backend/engine';
import { WasmEngine } from '../../src/backend/wasm';
import { hasRelaxedSimd } from '../../src/wasm/load';
import { matmul, matmulFlat, type MatmulOpts } from '../../src/ops/matmul';
import { expectClose } from '../helpers/close';
import { randn, randu, testSeed } from '../helpers/random';
import { checkMatmulLayouts, MATMUL_CHECK_SHAPES } from '../helpers/wasm-matmul';

describe('WebAssembly matmul vs the CPU twin', async () => {
  const seed = testSeed();
  const cpu = new CpuEngine();
  const engines = [await WasmEngine.create({ variant: 'simd' })];
  if (hasRelaxedSimd()) engines.push(await WasmEngine.create({ variant: 'relaxed' }));

  for (const e of engines) {
    it(`${e.variant}: 2-D shapes × transA × transB × bias × bMask, poisoned out (seed ${seed})`, () => {
      checkMatmulLayouts(e, cpu, seed, MATMUL_CHECK_SHAPES);
    });

    it(`${e.variant}: batched [3, …] and folded [2, 5, …] operands, every layout (seed ${seed})`, () => {
      const [B, m, k, n] = [3, 17, 63, 13];
      let s = seed;
      for (const tA of [false, true])
        for (const tB of [false, true])
          for (const withMask of [false, true]) {
            const aS = [B, ...(tA ? [k, m] : [m, k])],
              bS = [B, ...(tB ? [n, k] : [k, n])];
            const a = randn(B * m * k, s++),
              b = randn(B * k * n, s++),
              mk = randu(B * k * n, s++, 0, 1),
              bias = randn(n, s++);
            const run = (x: Engine) =>
              matmul(x, x.upload(a, aS), x.upload(b, bS), {
                transA: tA,
                transB: tB,
                bias: x.upload(bias, [n]),
                bMask: withMask ? x.upload(mk, bS) : undefined,
              });
            const got = run(e),
              want = run(cpu);
            expect(got.shape).toEqual([B, m, n]);
            expectClose(got.f32, want.f32, 1e-5, `batched tA=${tA} tB=${tB} mask=${withMask} seed=${seed}`);
          }
      // folded: a [2, 5, K] · b [K, N] reads a as [10, K]; matmulFlat folds both operands
      const a = randn(2 * 5 * 130, s++),
        b = randn(130 * 9, s++);
      const fold = (x: Engine) => matmul(x, x.upload(a, [2, 5, 130]), x.upload(b, [130, 9]));
      expectClose(fold(e).f32, fold(cpu).f32, 1e-5, `folded seed=${seed}`);
      const g = randn(2 * 5 * 9, s);
      const flat = (x: Engine) => matmulFlat(x, x.upload(a, [2, 5, 130]), x.upload(g, [2, 5, 9]), { transA: true });
      const got = flat(e);
      expect(got.shape).toEqual([130, 9]);
      expectClose(got.f32, flat(cpu).f32, 1e-5, `matmulFlat transA seed=${seed}`);
    });

    it(`${e.variant}: NaN and Inf propagate to exactly the outputs they reach (seed ${seed})`, () => {
      const [m, k, n] = [9, 21, 11];
      const a = randn(m * k, seed),
        b = randn(k * n, seed + 1);
      const ri = seed % m,
        cj = (seed >>> 3) % n;
      a[ri * k + ((seed >>> 5) % k)] = NaN; // row ri of the output
      b[((seed >>> 7) % k) * n + cj] = Infinity; // column cj (±Inf, or NaN where 0·Inf or Inf − Inf)
      for (const tB of [false, true]) {
        const bS = tB ? [n, k] : [k, n];
        const bt = tB ? transpose(b, k, n) : b;
        const run = (x: Engine) => matmul(x, x.upload(a, [m, k]), x.upload(bt, bS), { transB: tB });
        const got = run(e).f32,
          want = run(cpu).f32;
        for (let i = 0; i < m * n; i++) {
          const r = Math.floor(i / n),
            c = i % n;
          if (r === ri) expect(Number.isNaN(got[i]), `(${r},${c}) is NaN`).toBe(true);
          else if (c === cj)
            expect(Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i])), `(${r},${c}) ${got[i]} vs ${want[i]}`).toBe(true);
          else expect(Number.isFinite(got[i]), `(${r},${c}) finite`).toBe(true);
        }
      }
    });
  }

  it('refuses a tensor of another engine and an out that overlaps an operand, naming them', async () => {
    const e = engines[0];
    const a = e.upload(randn(12, seed), [3, 4]);
    expect(() => matmul(e, a, cpu.upload(randn(8, seed), [4, 2]))).toThrow(/a tensor of another engine \(cpu\) was passed to this WebAssembly engine/);
    const sq = e.upload(randn(16, seed), [4, 4]);
    const opts: MatmulOpts = { out: sq.view([4, 4]) };
    expect(() => matmul(e, sq, sq, opts)).toThrow(/out must not share storage/);
  });
});

function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = x[r * cols + c];
  return t;
}
