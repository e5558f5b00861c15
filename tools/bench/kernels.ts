// Bench sections for the fused masked-weight load and the 2:4 compressed product.
import type { GpuEngine } from '../../src/backend/gpu';
import { matmul } from '../../src/ops/matmul';
import { mask24FromScores, packSparse24, sparse24Bytes, sparse24Matmul, unpackSparse24, uploadSparse24 } from '../../src/ops/sparse24';
import { applyMask } from '../../src/sparsity/gumbel';
import type { FusionRow, Sparse24Row } from './results';
import { median, timeRuns } from './timing';

const randu = (n: number, seed: number, lo = -1, hi = 1) => {
  const out = new Float32Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = lo + ((hi - lo) * (x >>> 0)) / 2 ** 32;
  }
  return out;
};

const maxRel = (got: ArrayLike<number>, want: ArrayLike<number>) => {
  let d = 0,
    s = 0;
  for (let i = 0; i < want.length; i++) {
    d = Math.max(d, Math.abs(got[i] - want[i]));
    s = Math.max(s, Math.abs(want[i]));
  }
  return d / (s || 1);
};

/** x · (W ⊙ m): an applyMask pass then a matmul, vs the matmul with the mask applied in its load. */
export async function benchFusion(e: GpuEngine, reps: number, log: (s: string) => void): Promise<FusionRow[]> {
  const rows: FusionRow[] = [];
  // GPT c_fc forward (W [in,out]) and ViT intermediate forward (W [out,in], transB)
  for (const [m, k, n, transB] of [
    [1024, 64, 256, false],
    [1088, 64, 256, true],
    [1024, 256, 64, false],
  ] as const) {
    const x = e.upload(randu(m * k, 1), [m, k]);
    const wShape = transB ? [n, k] : [k, n];
    const w = e.upload(randu(k * n, 2), wShape),
      mask = e.upload(randu(k * n, 3, 0, 1), wShape);
    const separate = async () => {
      const wm = applyMask(e, w, mask);
      const y = matmul(e, x, wm, { transB });
      await e.read(y);
      wm.dispose();
      y.dispose();
    };
    const fused = async () => {
      const y = matmul(e, x, w, { transB, bMask: mask });
      await e.read(y);
      y.dispose();
    };
    const sepMs = median(await timeRuns(separate, reps));
    const fusedMs = median(await timeRuns(fused, reps));
    const wm = applyMask(e, w, mask);
    const a = await e.read(matmul(e, x, wm, { transB }));
    const b = await e.read(matmul(e, x, w, { transB, bMask: mask }));
    const row = { shape: `${m}×${k}·${k}×${n}${transB ? 'ᵀ' : ''}`, separateMs: sepMs, fusedMs, maxRelDiff: maxRel(b, a) };
    rows.push(row);
    log(`fusion ${row.shape}: separate ${sepMs.toFixed(1)} ms, fused ${fusedMs.toFixed(1)} ms`);
    for (const t of [x, w, mask, wm]) t.dispose();
  }
  return rows;
}

/** Dense f32 masked matvec/matmul vs the compressed 2:4 product (f16 values + 2-bit indices). */
export async function benchSparse24(e: GpuEngine, reps: number, log: (s: string) => void): Promise<Sparse24Row[]> {
  const rows: Sparse24Row[] = [];
  for (const [m, k, n] of [
    [1, 768, 3072],
    [1, 3072, 768],
    [1, 64, 256],
    [8, 768, 3072],
  ] as const) {
    const wHost = randu(k * n, 4),
      mHost = mask24FromScores(randu(k * n, 5), k, n);
    const packed = packSparse24(wHost, mHost, k, n);
    const dense = e.upload(unpackSparse24(packed), [k, n]); // the same f16-rounded kept values, dense f32
    const comp = uploadSparse24(e, packed);
    const x = e.upload(randu(m * k, 6), [m, k]);
    // INNER products per timed run, one readback at the end: a lone matvec is too short to time
    // against the submit + readback round trip
    const INNER = 10;
    const inner = (f: () => ReturnType<typeof matmul>) => async () => {
      const ys = Array.from({ length: INNER }, f);
      await e.read(ys[INNER - 1]);
      for (const y of ys) y.dispose();
    };
    const denseMs =
      median(
        await timeRuns(
          inner(() => matmul(e, x, dense)),
          reps,
        ),
      ) / INNER;
    const compressedMs =
      median(
        await timeRuns(
          inner(() => sparse24Matmul(e, x, comp)),
          reps,
        ),
      ) / INNER;
    const err = maxRel(await e.read(sparse24Matmul(e, x, comp)), await e.read(matmul(e, x, dense)));
    const bytes = sparse24Bytes(k, n);
    const row = {
      shape: `${m}×${k}·${k}×${n}`,
      denseMs,
      compressedMs,
      denseWeightBytes: bytes.denseF32,
      compressedWeightBytes: bytes.compressed,
      maxRelErr: err,
    };
    rows.push(row);
    log(`2:4 ${row.shape}: dense ${denseMs.toFixed(2)} ms, compressed ${compressedMs.toFixed(2)} ms, err ${err.toExponential(1)}`);
    for (const t of [dense, comp.vals, comp.idx, x]) t.dispose();
  }
  return rows;
}
