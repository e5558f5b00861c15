// Fresh seeded random inputs for tests: the seed is printed on failure through the test name.
import { rngUniformCpu } from '../../src/ops/rng';

export function randn(n: number, seed: number, scale = 1): Float32Array {
  const u = rngUniformCpu({ seed, stream: 7, offset: 0 }, 2 * n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = scale * Math.sqrt(-2 * Math.log(u[2 * i])) * Math.cos(2 * Math.PI * u[2 * i + 1]);
  }
  return out;
}

export function randu(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const u = rngUniformCpu({ seed, stream: 11, offset: 0 }, n);
  return u.map((x) => lo + (hi - lo) * x);
}

export function randint(n: number, seed: number, hi: number): Uint32Array {
  const u = rngUniformCpu({ seed, stream: 13, offset: 0 }, n);
  return Uint32Array.from(u, (x) => Math.min(hi - 1, Math.floor(x * hi)));
}

declare const __TEST_SEED__: string | undefined;

/** A seed given as TEST_SEED (Node: the environment; browser tests: compiled in by vitest.config.ts), or ''. */
function fixedSeed(): string {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.TEST_SEED;
  if (env) return env;
  return typeof __TEST_SEED__ === 'string' ? __TEST_SEED__ : '';
}

/** A new seed per test run unless TEST_SEED is set, so inputs are fresh but reproducible. */
export function testSeed(): number {
  const fixed = fixedSeed();
  if (fixed) return Number(fixed) >>> 0;
  return (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;
}
