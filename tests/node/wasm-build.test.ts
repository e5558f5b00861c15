// The committed WebAssembly kernels (src/wasm/generated/*.ts, base64) are what `npm run build:wasm`
// builds from wasm/*.ts with the pinned AssemblyScript: rebuilt here and compared byte for byte.
// Deterministic (no seed): a file of its own so seed sweeps do not repeat it.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('WebAssembly build', () => {
  it('src/wasm/generated matches a fresh build of wasm/ byte for byte', { timeout: 300_000 }, () => {
    let out = '';
    try {
      out = execFileSync(process.execPath, ['tools/build-wasm.mjs', '--check'], { cwd: process.cwd(), encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string };
      expect.fail(`tools/build-wasm.mjs --check failed:\n${e.stderr ?? ''}${e.stdout ?? ''}`);
    }
    expect(out).toBe('');
  });
});
