// The matmul shapes the bench measures: forward and both backward products of every Linear of the
// bundled models at the mask-learning batch, plus 256³, 512³ and a 1×768·768×3072 matvec.
import { TINY_GPT, TINY_VIT } from '../../src/models/presets';

export interface BenchShape {
  /** where it comes from, e.g. "gpt c_fc fwd" */
  label: string;
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
}

/** Mask-learning batch (rows through every Linear). */
export const GPT_BATCH = 8; // × 128 tokens
export const VIT_BATCH = 64; // images

/** The three products of y = x·W for a Linear over `rows` rows; W stored [in,out] or [out,in]. */
function linearProducts(tag: string, rows: number, inF: number, outF: number, layout: 'in_out' | 'out_in'): BenchShape[] {
  const io = layout === 'in_out';
  return [
    // y [R,out] = x [R,in] · W
    { label: `${tag} fwd`, m: rows, k: inF, n: outF, transA: false, transB: !io },
    // dX [R,in] = G [R,out] · Wᵀ
    { label: `${tag} dX`, m: rows, k: outF, n: inF, transA: false, transB: io },
    // dW: in_out → [in,out] = Xᵀ·G; out_in → [out,in] = Gᵀ·X
    io
      ? { label: `${tag} dW`, m: inF, k: rows, n: outF, transA: true, transB: false }
      : { label: `${tag} dW`, m: outF, k: rows, n: inF, transA: true, transB: false },
  ];
}

export function labShapes(): BenchShape[] {
  const C = TINY_GPT.nEmbd,
    R = GPT_BATCH * TINY_GPT.nPositions;
  const H = TINY_VIT.hiddenSize,
    I = TINY_VIT.intermediateSize;
  const patches = (TINY_VIT.imageSize / TINY_VIT.patchSize) ** 2;
  const RV = VIT_BATCH * (patches + 1);
  const list: BenchShape[] = [
    ...linearProducts('gpt c_attn', R, C, 3 * C, 'in_out'),
    ...linearProducts('gpt attn.c_proj', R, C, C, 'in_out'),
    ...linearProducts('gpt c_fc', R, C, 4 * C, 'in_out'),
    ...linearProducts('gpt mlp.c_proj', R, 4 * C, C, 'in_out'),
    // tied LM head: logits = x · wteᵀ, wte [V, C] (out_in)
    ...linearProducts('gpt lm_head', R, C, TINY_GPT.vocabSize, 'out_in'),
    ...linearProducts('vit q/k/v/out', RV, H, H, 'out_in'),
    ...linearProducts('vit intermediate', RV, H, I, 'out_in'),
    ...linearProducts('vit output', RV, I, H, 'out_in'),
    // patch embedding: a Linear on flattened 7×7 patches (its input needs no gradient)
    ...linearProducts('vit patch', VIT_BATCH * patches, TINY_VIT.patchSize ** 2, H, 'out_in').filter((s) => !s.label.endsWith('dX')),
    { label: '256³', m: 256, k: 256, n: 256, transA: false, transB: false },
    { label: '512³', m: 512, k: 512, n: 512, transA: false, transB: false },
    { label: 'matvec 1×768·768×3072', m: 1, k: 768, n: 3072, transA: false, transB: false },
  ];
  // one entry per distinct problem; labels of duplicates are merged
  const seen = new Map<string, BenchShape>();
  for (const s of list) {
    const key = `${s.m},${s.k},${s.n},${+s.transA},${+s.transB}`;
    const prev = seen.get(key);
    if (prev) prev.label += `, ${s.label}`;
    else seen.set(key, { ...s });
  }
  return [...seen.values()];
}

export const shapeName = (s: BenchShape) => `${s.m}×${s.k}${s.transA ? 'ᵀ' : ''}·${s.k}×${s.n}${s.transB ? 'ᵀ' : ''}`;
