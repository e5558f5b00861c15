// `npm run bench -- --only matmul|variants`: matmul timings on the Node engine (Dawn through the
// `webgpu` package; SwiftShader on machines without a GPU), printed, nothing written. For tuning
// and quick checks; the report's numbers come from the page bench (Chromium). Each run is timed to
// `await sync()` after one warm-up; SwiftShader shares the CPU cores, so a loaded machine reads
// several times slower.
import type { GpuEngine } from '../../src/backend/gpu';
import { chooseMatmulVariant, matmul, MATMUL_VARIANTS, matmulGeometry, variantFits, variantSupported } from '../../src/ops/matmul';
import { labShapes, shapeName, type BenchShape } from './shapes';
import { median, timeRuns } from './timing';

const shape = (label: string, m: number, k: number, n: number, transA = false, transB = false): BenchShape => ({ label, m, k, n, transA, transB });

/** --only matmul --quick: a square product, two GPT Linear shapes and the matvec. */
export const QUICK_MATMUL_SHAPES: BenchShape[] = [
  shape('512³', 512, 512, 512),
  shape('gpt c_attn fwd, batch 16', 2048, 64, 192),
  shape('gpt mlp.c_proj fwd, batch 16', 2048, 256, 64),
  shape('matvec', 1, 768, 3072),
];

/** --only variants: the products the shape-based variant choice was tuned on (--quick: the first two). */
export const VARIANT_SHAPES: BenchShape[] = [
  shape('', 1024, 64, 192),
  shape('', 1024, 192, 64, false, true),
  shape('', 64, 1024, 192, true, false),
  shape('', 1024, 256, 64),
  shape('', 1088, 64, 256, false, true),
  shape('', 256, 1088, 64, true, false),
  shape('', 512, 512, 512),
  shape('', 1, 768, 3072),
];

const rand = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
const gflops = (s: BenchShape, ms: number) => (2 * s.m * s.k * s.n) / (ms * 1e6);

function operands(e: GpuEngine, s: BenchShape) {
  const a = e.upload(rand(s.m * s.k), s.transA ? [s.k, s.m] : [s.m, s.k]);
  const b = e.upload(rand(s.k * s.n), s.transB ? [s.n, s.k] : [s.k, s.n]);
  return { a, b, opts: { transA: s.transA, transB: s.transB } };
}

/** The variant the lab picks, per shape: median ms of `reps` runs and GFLOP/s (2·M·K·N / time). */
export async function benchMatmulNode(e: GpuEngine, shapes: BenchShape[], reps: number, log: (s: string) => void): Promise<void> {
  for (const s of shapes) {
    const { a, b, opts } = operands(e, s);
    const ms = median(
      await timeRuns(async () => {
        const out = matmul(e, a, b, opts);
        await e.sync();
        out.dispose();
      }, reps),
    );
    const pick = chooseMatmulVariant(matmulGeometry(a.shape, b.shape, opts), opts);
    log(
      `${shapeName(s).padEnd(22)} ${ms.toFixed(2).padStart(9)} ms ${gflops(s, ms).toFixed(2).padStart(8)} GFLOP/s  ${pick}${s.label ? `  (${s.label})` : ''}`,
    );
    a.dispose();
    b.dispose();
  }
}

/**
 * Every variant that fits each shape, GFLOP/s of its best of `reps` runs, and the lab's pick. The
 * variants are interleaved: on a shared machine the minimum is the least disturbed measurement, and
 * interleaving spreads load changes over all of them. Outputs are compared with the first variant's.
 * MATMUL_VARIANTS includes matmul_tiled_64x64, the workgroup-memory tiled kernel meant for real GPUs:
 * on SwiftShader (no fast workgroup memory, barriers split the workgroup) it is expected to be slower;
 * and matmul_subgroup (A shared by subgroup shuffles), only where the adapter has `subgroups`.
 */
export async function benchVariantsNode(e: GpuEngine, shapes: BenchShape[], reps: number, log: (s: string) => void): Promise<void> {
  for (const s of shapes) {
    const { a, b, opts } = operands(e, s);
    const g = matmulGeometry(a.shape, b.shape, opts);
    const line = [shapeName(s).padEnd(22)];
    const variants = MATMUL_VARIANTS.filter((v) => variantFits(v, g, opts) && variantSupported(v, e.info.features));
    let ref: ArrayLike<number> | null = null;
    for (const v of variants) {
      const out = matmul(e, a, b, { ...opts, variant: v });
      const got = await e.read(out);
      out.dispose();
      if (!ref) ref = got;
      else {
        let d = 0;
        for (let i = 0; i < got.length; i++) d = Math.max(d, Math.abs(got[i] - ref[i]));
        if (d > 1e-3) line.push(`${v} MISMATCH ${d.toExponential(1)}`);
      }
    }
    const best = new Map<string, number>();
    for (let i = 0; i < reps; i++) {
      for (const v of variants) {
        const t0 = performance.now();
        const out = matmul(e, a, b, { ...opts, variant: v });
        await e.sync();
        best.set(v, Math.min(best.get(v) ?? Infinity, performance.now() - t0));
        out.dispose();
      }
    }
    for (const [v, ms] of best) line.push(`${v}=${gflops(s, ms).toFixed(2)}`);
    line.push(`pick=${chooseMatmulVariant(g, opts)}`);
    log(line.join('  '));
    a.dispose();
    b.dispose();
  }
}

/** Shapes for --only matmul: the quick four, or every product of the page bench. */
export const matmulShapes = (quick: boolean): BenchShape[] => (quick ? QUICK_MATMUL_SHAPES : labShapes());
