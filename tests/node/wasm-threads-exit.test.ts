// A Node process that made a WasmEngine with a thread pool, used it and never called destroy() still
// exits by itself: the pool's workers wait in Atomics.wait, unref()'d once started (src/wasm/pool.ts:
// unref'd before their 'message' listener, or left ref'd, they would keep Node alive for ever).
// Deterministic (no seed): kept out of wasm-threads.test.ts's seed sweep.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const SCRIPT = `
import { WasmEngine } from './src/backend/wasm.ts';
import { matmul } from './src/ops/matmul.ts';
const e = await WasmEngine.create({ variant: 'simd', threads: 2, splitSmall: true });
const a = e.upload(new Float32Array(64 * 32).fill(1), [64, 32]);
const y = matmul(e, a, a, { transB: true });
console.log(JSON.stringify({ threads: e.threads, split: e.threadStats.split, y: y.f32[0] }));
`;

describe('a Node process with a WasmEngine thread pool', () => {
  it('exits by itself when its work is done (no destroy)', async () => {
    const t0 = Date.now();
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', '--import', './tools/raw-loader.mjs', '--input-type=module', '-e', SCRIPT],
        { cwd: ROOT, timeout: 50_000 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
      );
    });
    expect(code, `stderr: ${stderr}`).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ threads: 2, split: 1, y: 32 });
    expect(Date.now() - t0).toBeLessThan(50_000);
  });
});
