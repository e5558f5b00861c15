// Seeded parameter initialisation from the counter RNG (same numbers on every machine).
import { rngUniformCpu } from '../ops/rng';

/** Normal(0, std²) via Box–Muller on open-interval uniforms (never log(0)). */
export function normalInit(n: number, std: number, seed: number, stream: number): Float32Array {
  const u = rngUniformCpu({ seed, stream, offset: 0 }, 2 * Math.ceil(n / 2));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u[i]));
    const th = 2 * Math.PI * u[i + 1];
    out[i] = std * r * Math.cos(th);
    if (i + 1 < n) out[i + 1] = std * r * Math.sin(th);
  }
  return out;
}

/** A stable stream id per parameter name (FNV-1a), so adding a parameter does not shift the others. */
export function streamOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
