// Relaxed SIMD in Node: a child Node started with --experimental-wasm-relaxed-simd (as a user would
// start it; NODE_OPTIONS does not take the flag) finds it with the probe, picks
// the relaxed module by default and matches the CPU twin. Fixed inputs (seed 1): the relaxed module's
// randomized checks run in Chromium (tests/browser/wasm-matmul.test.ts) and in any Node started with
// the flag (tests/node/wasm-matmul.test.ts runs every module the runtime has).
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('relaxed SIMD in Node', () => {
  it('the probe finds it, the relaxed module is chosen and matches the twin', () => {
    const script = `
      import { WasmEngine } from './src/backend/wasm.ts';
      import { CpuEngine } from './src/backend/cpu.ts';
      import { hasRelaxedSimd, moduleBytes } from './src/wasm/load.ts';
      import { matmul } from './src/ops/matmul.ts';
      import { relError } from './tests/helpers/close.ts';
      import { randn } from './tests/helpers/random.ts';
      const e = await WasmEngine.create(), c = new CpuEngine();
      let worst = 0, s = 1;
      for (const [m, k, n] of [[5, 7, 3], [63, 130, 17], [130, 513, 33]])
        for (const transA of [false, true]) for (const transB of [false, true]) {
          const a = randn(m * k, s++), b = randn(k * n, s++), bias = randn(n, s++);
          const run = (x) => matmul(x, x.upload(a, transA ? [k, m] : [m, k]), x.upload(b, transB ? [n, k] : [k, n]), { transA, transB, bias: x.upload(bias, [n]) });
          worst = Math.max(worst, relError(run(e).f32, run(c).f32));
        }
      console.log(JSON.stringify({ probe: hasRelaxedSimd(), valid: WebAssembly.validate(moduleBytes('matmul', 'relaxed')), variant: e.variant, worst }));
    `;
    const out = execFileSync(
      process.execPath,
      ['--experimental-wasm-relaxed-simd', '--import', 'tsx', '--import', './tools/raw-loader.mjs', '--input-type=module', '-e', script],
      {
        cwd: process.cwd(),
        encoding: 'utf8',
      },
    );
    const r = JSON.parse(out.trim().split('\n').pop()!);
    expect(r.probe).toBe(true);
    expect(r.valid).toBe(true);
    expect(r.variant).toBe('relaxed');
    expect(r.worst, 'relative error').toBeLessThanOrEqual(1e-5);
  });
});
