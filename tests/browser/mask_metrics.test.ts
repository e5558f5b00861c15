import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import { countFlips, logitStats, maskL1, meanMaxProb, meanMaxProbClean } from '../../src/sparsity/metrics';
import { expectClose } from '../helpers/close';
import { getEngine } from '../helpers/gpu';
import { randint, randn, randu, testSeed } from '../helpers/random';

/** Rows of a [G, C] probability table (softmax of random logits). */
function probs(G: number, C: number, seed: number): Float32Array {
  const z = randn(G * C, seed, 2);
  const out = new Float32Array(G * C);
  for (let g = 0; g < G; g++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += out[g * C + c] = Math.exp(z[g * C + c]);
    for (let c = 0; c < C; c++) out[g * C + c] /= s;
  }
  return out;
}

describe('mask_metrics.wgsl vs CPU twin', async () => {
  const gpu = await getEngine();
  const cpu = new CpuEngine();
  const seed = testSeed();
  // 1 (size-1 edge), 257 (one past the 256-thread workgroup), 3001 (many strides, not a multiple)
  const sizes = [1, 257, 3001];

  it.runIf(gpu)('maskL1 = mean |a − b|', async () => {
    const g = gpu!;
    for (const n of sizes) {
      const a = randu(n, seed, 0, 1),
        b = randu(n, seed + 1, 0, 1);
      const want = maskL1(cpu, cpu.upload(a, [n]), cpu.upload(b, [n])).f32;
      const got = maskL1(g, g.upload(a, [n]), g.upload(b, [n]));
      expect(got.shape).toEqual([1]);
      expectClose(await g.read(got), want, 1e-5, `maskL1 n=${n} seed=${seed}`);
    }
  });

  it.runIf(gpu)('meanMaxProb and meanMaxProbClean', async () => {
    const g = gpu!;
    for (const G of sizes) {
      for (const C of [6, 28, 70]) {
        const y = probs(G, C, seed + C);
        expectClose(await g.read(meanMaxProb(g, g.upload(y, [G, C]))), meanMaxProb(cpu, cpu.upload(y, [G, C])).f32, 1e-5, `meanMaxProb G=${G} C=${C}`);
        const L = randn(G * C, seed + 2 * C, 0.01);
        for (const kappa of [100, 500]) {
          const want = meanMaxProbClean(cpu, cpu.upload(L, [G, C]), kappa).f32;
          expect(want[0]).toBeGreaterThan(1 / C);
          expectClose(await g.read(meanMaxProbClean(g, g.upload(L, [G, C]), kappa)), want, 1e-5, `meanMaxProbClean G=${G} C=${C} κ=${kappa} seed=${seed}`);
        }
      }
    }
    expect(g.takeErrors()).toEqual([]);
  });

  it.runIf(gpu)('logitStats = [mean, std], also with a large mean', async () => {
    const g = gpu!;
    for (const n of sizes) {
      for (const shift of [0, 3]) {
        const L = randn(n, seed + n, 0.5).map((x) => x + shift);
        const want = logitStats(cpu, cpu.upload(L, [n])).f32;
        const got = logitStats(g, g.upload(L, [n]));
        expect(got.shape).toEqual([2]);
        expectClose(await g.read(got), want, 1e-5, `logitStats n=${n} shift=${shift} seed=${seed}`);
      }
    }
  });

  it.runIf(gpu)('countFlips counts differing choices', async () => {
    const g = gpu!;
    for (const n of sizes) {
      const a = randint(n, seed, 6),
        b = randint(n, seed + 1, 6);
      const want = countFlips(cpu, cpu.upload(a, [n], 'u32'), cpu.upload(b, [n], 'u32')).f32;
      const got = await g.read(countFlips(g, g.upload(a, [n], 'u32'), g.upload(b, [n], 'u32')));
      expect(Array.from(got), `n=${n}`).toEqual(Array.from(want));
      expect(Array.from(await g.read(countFlips(g, g.upload(a, [n], 'u32'), g.upload(a, [n], 'u32'))))).toEqual([0]);
    }
    expect(g.takeErrors()).toEqual([]);
  });

  it('bad inputs name what is wrong', () => {
    expect(() => maskL1(cpu, cpu.zeros([4]), cpu.zeros([5]))).toThrow(/maskL1: b: expected shape \[4\]/);
    expect(() => meanMaxProb(cpu, cpu.zeros([6]))).toThrow(/\[groups, candidates\]/);
    expect(() => countFlips(cpu, cpu.zeros([3]), cpu.zeros([3]))).toThrow(/choices must be u32/);
    expect(() => meanMaxProbClean(cpu, cpu.zeros([2, 6]), Number.NaN)).toThrow(/kappa/);
  });
});
