// Quick per-variant matmul timing in Node (Dawn + SwiftShader), for tuning the shape-based choice.
// VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json node --import tsx --import ./tools/raw-loader.mjs tools/bench/node-variants.ts [reps]
import { matmul, MATMUL_VARIANTS, matmulGeometry, variantFits, chooseMatmulVariant } from '../../src/ops/matmul';
import { nodeGpuEngine } from '../node-gpu';

const reps = Number(process.argv[2] ?? 3);
const shapes: [number, number, number, boolean, boolean][] = [
  [1024, 64, 192, false, false],
  [1024, 192, 64, false, true],
  [64, 1024, 192, true, false],
  [1024, 256, 64, false, false],
  [1088, 64, 256, false, true],
  [256, 1088, 64, true, false],
  [512, 512, 512, false, false],
  [1, 768, 3072, false, false],
];
const e = await nodeGpuEngine();
const rand = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
for (const [m, k, n, tA, tB] of shapes) {
  const a = e.upload(rand(m * k), tA ? [k, m] : [m, k]);
  const b = e.upload(rand(k * n), tB ? [n, k] : [k, n]);
  const g = matmulGeometry(a.shape, b.shape, { transA: tA, transB: tB });
  const line: string[] = [`${m}×${k}×${n}${tA ? ' tA' : ''}${tB ? ' tB' : ''}`.padEnd(20)];
  let ref: ArrayLike<number> | null = null;
  const fns: [string, () => Promise<{ ms: number; out: ReturnType<typeof matmul> }>][] = [];
  for (const v of MATMUL_VARIANTS) {
    if (!variantFits(v, g, { transA: tA, transB: tB })) continue;
    const once = async () => {
      const t0 = performance.now();
      const out = matmul(e, a, b, { transA: tA, transB: tB, variant: v });
      await e.sync();
      const ms = performance.now() - t0;
      return { ms, out };
    };
    const w = await once();
    const got = await e.read(w.out);
    if (!ref) ref = got;
    else { let d = 0; for (let i = 0; i < got.length; i++) d = Math.max(d, Math.abs(got[i] - ref[i])); if (d > 1e-3) line.push(`MISMATCH ${d}`); }
    w.out.dispose();
    fns.push([v, once]);
  }
  // interleave the variants and keep each one's best run: on a shared machine the minimum is the
  // least disturbed measurement, and interleaving spreads load changes over all variants
  const best = new Map<string, number>();
  for (let i = 0; i < reps; i++) {
    for (const [v, once] of fns) {
      const r = await once();
      r.out.dispose();
      best.set(v, Math.min(best.get(v) ?? Infinity, r.ms));
    }
  }
  for (const [v, ms] of best) line.push(`${v}=${((2 * m * k * n) / (ms * 1e6)).toFixed(2)}`);
  {
  }
  line.push(`pick=${chooseMatmulVariant(g, { transA: tA, transB: tB })}`);
  console.log(line.join('  '));
}
console.log(e.takeErrors());
process.exit(0);
