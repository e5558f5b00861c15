// Attention kernels: the row kernels ('row' / 'workgroup' by T), attention as matmuls ('matmul', the
// built-in) and attention in one pass ('fused'), forward and forward + backward, on GPT-2 small's
// shapes (12 heads of 64, causal):
// batch 8 × T 128 and batch 1 × T 1024. Used by `npm run bench -- --only attention` (Node engine,
// printed) and by `npm run bench:device` (a section of bench/device.json). Time per pass: the GPU time
// from timestamp queries where the adapter has them, else wall time to `sync()`; median of `reps`
// after one warm-up (which compiles the pipelines and checks matmul and fused against rows).
import type { GpuEngine } from '../../src/backend/gpu';
import type { RawTensor } from '../../src/backend/tensor';
import { ATTN_ROW_MAX_T, attention, attentionBackward, type AttentionOpts } from '../../src/ops/attention';
import { median } from './timing';

export interface AttentionShape {
  label: string;
  batch: number;
  heads: number;
  T: number;
  D: number;
  causal: boolean;
}

export type AttentionPass = 'forward' | 'forward+backward';
type Variant = 'rows' | 'matmul' | 'fused';
const VARIANTS: readonly Variant[] = ['rows', 'matmul', 'fused'];

export interface AttentionBenchRow extends AttentionShape {
  pass: AttentionPass;
  rowsMs: number;
  matmulMs: number;
  fusedMs: number;
  /** rowsMs / fusedMs: above 1, fused is faster (the target: ≥ 3 at GPT-2 small's shape) */
  ratio: number;
  /** the largest |variant − rows| of the pass's outputs (out, or dqkv), over matmul and fused */
  maxAbsDiff: number;
  timing: 'gpu' | 'wall';
}

/** GPT-2 small's attention (--quick: 2 heads, shorter T, for checking the script on SwiftShader). */
export function attentionShapes(quick: boolean): AttentionShape[] {
  const gpt = (label: string, batch: number, heads: number, T: number): AttentionShape => ({ label, batch, heads, T, D: 64, causal: true });
  return quick
    ? [gpt('gpt2-small quick, B 2', 2, 2, 128), gpt('gpt2-small quick, T 256', 1, 2, 256)]
    : [gpt('gpt2-small B 8 × T 128', 8, 12, 128), gpt('gpt2-small B 1 × T 1024', 1, 12, 1024)];
}

const rand = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);

/** One pass; returns what to read and everything to dispose. */
function runPass(e: GpuEngine, qkv: RawTensor, dout: RawTensor, s: AttentionShape, v: Variant, pass: AttentionPass): { result: RawTensor; made: RawTensor[] } {
  // 'rows': the per-row kernels up to T 512, the workgroup ones above
  const opts: AttentionOpts = { heads: s.heads, causal: s.causal, variant: v === 'rows' ? (s.T <= ATTN_ROW_MAX_T ? 'row' : 'workgroup') : v };
  const f = attention(e, qkv, opts);
  if (pass === 'forward') return { result: f.out, made: [f.out, f.probs] };
  const d = attentionBackward(e, dout, qkv, f.probs, opts, f.out);
  return { result: d, made: [f.out, f.probs, d] };
}

async function timeOnce(e: GpuEngine, run: () => RawTensor[]): Promise<{ ms: number; timing: 'gpu' | 'wall' }> {
  if (e.startProfiling()) {
    const made = run();
    const times = await e.stopProfiling();
    for (const t of made) t.dispose();
    return { ms: times.reduce((a, k) => a + k.ms, 0), timing: 'gpu' };
  }
  const t0 = performance.now();
  const made = run();
  await e.sync();
  const ms = performance.now() - t0;
  for (const t of made) t.dispose();
  return { ms, timing: 'wall' };
}

/** The three variants on each shape, both passes; interleaved so load changes hit all of them. */
export async function benchAttention(e: GpuEngine, shapes: AttentionShape[], reps: number, log: (s: string) => void): Promise<AttentionBenchRow[]> {
  const rows: AttentionBenchRow[] = [];
  for (const s of shapes) {
    const C = s.heads * s.D;
    const qkv = e.upload(rand(s.batch * s.T * 3 * C), [s.batch, s.T, 3 * C]);
    const dout = e.upload(rand(s.batch * s.T * C), [s.batch, s.T, C]);
    for (const pass of ['forward', 'forward+backward'] as const) {
      const outs: ArrayLike<number>[] = [];
      for (const v of VARIANTS) {
        const { result, made } = runPass(e, qkv, dout, s, v, pass);
        outs.push(await e.read(result));
        for (const t of made) t.dispose();
      }
      let maxAbsDiff = 0;
      for (const o of outs.slice(1)) for (let i = 0; i < outs[0].length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(outs[0][i] - o[i]));
      const ms: Record<Variant, number[]> = { rows: [], matmul: [], fused: [] };
      let timing: 'gpu' | 'wall' = 'wall';
      for (let i = 0; i < reps; i++) {
        for (const v of VARIANTS) {
          const r = await timeOnce(e, () => runPass(e, qkv, dout, s, v, pass).made);
          ms[v].push(r.ms);
          timing = r.timing;
        }
      }
      const row: AttentionBenchRow = {
        ...s,
        pass,
        rowsMs: median(ms.rows),
        matmulMs: median(ms.matmul),
        fusedMs: median(ms.fused),
        ratio: median(ms.rows) / median(ms.fused),
        maxAbsDiff,
        timing,
      };
      rows.push(row);
      log(
        `${s.label.padEnd(26)} ${pass.padEnd(17)} rows ${row.rowsMs.toFixed(2).padStart(9)} ms  matmul ${row.matmulMs.toFixed(2).padStart(9)} ms  fused ${row.fusedMs.toFixed(2).padStart(9)} ms  ` +
          `rows/fused ${row.ratio.toFixed(2)}  (max |Δ| ${maxAbsDiff.toExponential(1)}, ${timing} time)`,
      );
    }
    qkv.dispose();
    dout.dispose();
  }
  return rows;
}

/** The markdown table of benchAttention's rows. */
export function attentionTable(rows: AttentionBenchRow[]): string[] {
  const out = [
    '| shape (B × heads × T × D, causal) | pass | rows ms | matmul ms | fused ms | rows / matmul | rows / fused |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    out.push(
      `| ${r.batch} × ${r.heads} × ${r.T} × ${r.D} | ${r.pass} | ${r.rowsMs.toFixed(2)} | ${r.matmulMs.toFixed(2)} | ${r.fusedMs.toFixed(2)} | ${(r.rowsMs / r.matmulMs).toFixed(2)} | ${r.ratio.toFixed(2)} |`,
    );
  }
  return out;
}
