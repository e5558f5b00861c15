// The WebAssembly matmul in Chromium: the kernels load through the browser's path (the base64 module
// bundled by Vite, compiled asynchronously as the main thread requires) and pass the same layout check
// as in Node (tests/helpers/wasm-matmul.ts), with SIMD128 and with relaxed SIMD, which Chromium has.
import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import { WasmEngine } from '../../src/backend/wasm';
import { matmul } from '../../src/ops/matmul';
import { hasRelaxedSimd, moduleBytes } from '../../src/wasm/load';
import { expectClose } from '../helpers/close';
import { randn, testSeed } from '../helpers/random';
import { checkMatmulLayouts, MATMUL_CHECK_SHAPES } from '../helpers/wasm-matmul';

describe('WebAssembly matmul in Chromium', async () => {
  const seed = testSeed();
  const cpu = new CpuEngine();

  it('Chromium has relaxed SIMD, and the engine picks it by default', async () => {
    expect(hasRelaxedSimd()).toBe(true);
    expect(WebAssembly.validate(moduleBytes('matmul', 'relaxed'))).toBe(true);
    expect((await WasmEngine.create()).variant).toBe('relaxed');
  });

  for (const variant of ['simd', 'relaxed'] as const) {
    it(`${variant}: every layout against the CPU twin (seed ${seed})`, async () => {
      checkMatmulLayouts(await WasmEngine.create({ variant }), cpu, seed, MATMUL_CHECK_SHAPES);
    });
  }

  it(`relaxed and SIMD modules give the same numbers within f32 rounding (seed ${seed})`, async () => {
    const [simd, relaxed] = await Promise.all([WasmEngine.create({ variant: 'simd' }), WasmEngine.create({ variant: 'relaxed' })]);
    const [m, k, n] = [67, 300, 45];
    const a = randn(m * k, seed),
      b = randn(k * n, seed + 1);
    const run = (e: WasmEngine) => matmul(e, e.upload(a, [m, k]), e.upload(b, [n, k]), { transB: true }).f32;
    expectClose(run(relaxed), run(simd), 1e-5, `seed=${seed}`);
  });
});
