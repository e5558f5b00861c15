// The WebAssembly matmul's layout check, shared by tests/node/wasm-matmul.test.ts and the browser's
// tests/browser/wasm-matmul.test.ts (the same check, loaded through each runtime's path).
import { expect } from 'vitest';
import type { CpuEngine } from '../../src/backend/cpu';
import type { WasmEngine } from '../../src/backend/wasm';
import type { Engine } from '../../src/backend/engine';
import { matmul } from '../../src/ops/matmul';
import { randn, randu } from './random';

/**
 * (M, K, N): size-1 edges, matvecs, sizes that divide neither the 4×8 micro-kernel, the 128-row block
 * nor the 256-deep K block (K = 257 and 513 cross one and two block edges), and K = 0.
 */
export const MATMUL_CHECK_SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 37, 29],
  [3, 5, 17],
  [5, 7, 3],
  [17, 63, 8],
  [63, 130, 5],
  [130, 257, 17],
  [6, 513, 33],
  [4, 0, 9],
];

/**
 * Every transA × transB × bias × bMask combination on each shape: the WebAssembly result written into
 * an `out` filled with NaN (so an element never written fails) and, for every other combination, a
 * fresh output; both against the f64 CPU twin, each element within 1e-5 of the magnitude it sums
 * (Σ_k |a_ik|·|b_kj|·mask + |bias_j|, the forward-error scale of a dot product). Relative to the
 * result itself an f32 product fails by chance where the terms cancel (a 1×1×1 a·b + bias ≈ 0).
 */
export function checkMatmulLayouts(e: WasmEngine, cpu: CpuEngine, seed: number, shapes: [number, number, number][]): void {
  let s = seed;
  let combo = 0;
  for (const [m, k, n] of shapes)
    for (const tA of [false, true])
      for (const tB of [false, true])
        for (const withBias of [false, true])
          for (const withMask of [false, true]) {
            const aS = tA ? [k, m] : [m, k],
              bS = tB ? [n, k] : [k, n];
            const a = randn(m * k, s++),
              b = randn(k * n, s++),
              bias = randn(n, s++),
              mk = randu(k * n, s++, 0, 1);
            const poisoned = combo++ % 2 === 0;
            const run = (x: Engine, out?: boolean) =>
              matmul(x, x.upload(a, aS), x.upload(b, bS), {
                transA: tA,
                transB: tB,
                bias: withBias ? x.upload(bias, [n]) : undefined,
                bMask: withMask ? x.upload(mk, bS) : undefined,
                out: out ? x.fill([m, n], NaN) : undefined,
              });
            const what = `${m}×${k}×${n} tA=${tA} tB=${tB} bias=${withBias} mask=${withMask} out=${poisoned} seed=${seed}`;
            const got = run(e, poisoned),
              want = run(cpu);
            expect(got.shape, what).toEqual([m, n]);
            const abs = (v: Float32Array) => v.map(Math.abs);
            const scale = matmul(cpu, cpu.upload(abs(a), aS), cpu.upload(abs(b), bS), {
              transA: tA,
              transB: tB,
              bias: withBias ? cpu.upload(abs(bias), [n]) : undefined,
              bMask: withMask ? cpu.upload(mk, bS) : undefined,
            }).f32;
            // a NaN left in the poisoned out fails (NaN ≤ x is false)
            got.f32.forEach((v, i) => {
              const err = Math.abs(v - want.f32[i]);
              if (!(err <= 1e-5 * scale[i])) expect.fail(`${what}: element ${i} is ${v}, the twin ${want.f32[i]} (error ${err} > 1e-5 × ${scale[i]})`);
            });
            got.dispose();
          }
}
