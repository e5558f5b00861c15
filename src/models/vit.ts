// ViT (Dosovitskiy et al. 2021) on the autograd engine, with Hugging Face ViTForImageClassification
// names and layouts: patch embedding (a stride-p Conv2d = a Linear on flattened patches), CLS token,
// learned positions, pre-LayerNorm encoder blocks, classifier on the CLS token. torch Linear
// weights are [out, in]. The MLP's GELU is the one config.hidden_act names: tanh form ("gelu_new",
// the lab's own checkpoints) or the exact erf form ("gelu", Google's checkpoints). With qkv_bias
// false the query/key/value Linears have no bias tensors at all (as in transformers).
import { attention } from '../autograd/fn/attention';
import { add } from '../autograd/fn/elementwise';
import { concatRows, embedding } from '../autograd/fn/embedding';
import { gelu } from '../autograd/fn/activation';
import { linear } from '../autograd/fn/linear';
import { layerNorm } from '../autograd/fn/norm';
import { crossEntropy } from '../autograd/fn/loss';
import { reshape } from '../autograd/fn/shape';
import type { Tape } from '../autograd/tape';
import { Tensor } from '../autograd/tensor';
import type { Engine } from '../backend/engine';
import type { VitConfig } from './config';
import { normalInit, streamOf } from './init';
import type { ForwardResult, ImageInput, LabModel, LinearProbe, MaskSite, ModelInput } from './model';
import { forwardWeight, packedWeightNames, readWeight, uploadParameter, type WeightStorage, type Weights } from './weights';

const L = (i: number) => `vit.encoder.layer.${i}.`;

export function vitPatchCount(c: VitConfig): number {
  return (c.imageSize / c.patchSize) ** 2;
}

export function vitParameterShapes(c: VitConfig): [string, number[]][] {
  const H = c.hiddenSize;
  const P = vitPatchCount(c);
  const out: [string, number[]][] = [
    ['vit.embeddings.cls_token', [1, 1, H]],
    ['vit.embeddings.position_embeddings', [1, P + 1, H]],
    ['vit.embeddings.patch_embeddings.projection.weight', [H, c.numChannels, c.patchSize, c.patchSize]],
    ['vit.embeddings.patch_embeddings.projection.bias', [H]],
  ];
  for (let i = 0; i < c.numLayers; i++) {
    const l = L(i);
    out.push([l + 'layernorm_before.weight', [H]], [l + 'layernorm_before.bias', [H]]);
    for (const q of ['query', 'key', 'value']) {
      out.push([`${l}attention.attention.${q}.weight`, [H, H]]);
      if (c.qkvBias) out.push([`${l}attention.attention.${q}.bias`, [H]]);
    }
    out.push(
      [l + 'attention.output.dense.weight', [H, H]],
      [l + 'attention.output.dense.bias', [H]],
      [l + 'layernorm_after.weight', [H]],
      [l + 'layernorm_after.bias', [H]],
      [l + 'intermediate.dense.weight', [c.intermediateSize, H]],
      [l + 'intermediate.dense.bias', [c.intermediateSize]],
      [l + 'output.dense.weight', [H, c.intermediateSize]],
      [l + 'output.dense.bias', [H]],
    );
  }
  out.push(['vit.layernorm.weight', [H]], ['vit.layernorm.bias', [H]], ['classifier.weight', [c.numLabels, H]], ['classifier.bias', [c.numLabels]]);
  return out;
}

export function vitMaskSites(c: VitConfig): MaskSite[] {
  const H = c.hiddenSize;
  const sites: MaskSite[] = [];
  for (let i = 0; i < c.numLayers; i++) {
    const l = L(i);
    for (const q of ['query', 'key', 'value']) sites.push({ name: `${l}attention.attention.${q}.weight`, shape: [H, H], layout: 'out_in' });
    sites.push(
      { name: l + 'attention.output.dense.weight', shape: [H, H], layout: 'out_in' },
      { name: l + 'intermediate.dense.weight', shape: [c.intermediateSize, H], layout: 'out_in' },
      { name: l + 'output.dense.weight', shape: [H, c.intermediateSize], layout: 'out_in' },
    );
  }
  return sites;
}

export function vitInitialWeights(c: VitConfig, seed: number): Map<string, Float32Array> {
  const w = new Map<string, Float32Array>();
  for (const [name, shape] of vitParameterShapes(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (name.endsWith('.bias')) w.set(name, new Float32Array(n));
    else if (/layernorm(_before|_after)?\.weight$/.test(name)) w.set(name, new Float32Array(n).fill(1));
    else w.set(name, normalInit(n, 0.02, seed, streamOf(name)));
  }
  return w;
}

/**
 * Images [B, C·H·W] (channel-major, as pixel_values) → patches [B·P, C·p·p] in the order of the
 * Conv2d kernel [hidden, C, p, p]: patch (py, px) is number py·(W/p)+px. Done on the host: images
 * are inputs, not parameters, so no gradient flows here.
 */
export function patchify(images: Float32Array, batch: number, c: VitConfig): Float32Array {
  const { numChannels: C, imageSize: S, patchSize: p } = c;
  const g = S / p;
  const P = g * g;
  const D = C * p * p;
  if (images.length !== batch * C * S * S) throw new Error(`patchify: expected ${batch}×${C}×${S}×${S} pixels, got ${images.length}`);
  const out = new Float32Array(batch * P * D);
  for (let b = 0; b < batch; b++)
    for (let py = 0; py < g; py++)
      for (let px = 0; px < g; px++) {
        const row = (b * P + py * g + px) * D;
        for (let ch = 0; ch < C; ch++)
          for (let ky = 0; ky < p; ky++)
            for (let kx = 0; kx < p; kx++) out[row + ch * p * p + ky * p + kx] = images[((b * C + ch) * S + py * p + ky) * S + px * p + kx];
      }
  return out;
}

export class Vit implements LabModel {
  readonly weights = new Map<string, Tensor>();
  readonly maskSites: MaskSite[];
  readonly parameterCount: number;

  /**
   * `values`: a Map, or a WeightSource read (converted) and uploaded one tensor at a time.
   * `weightStorage` 'f16': the masked layers' frozen weights packed as f16 (GPU engine only; weights.ts).
   */
  constructor(
    readonly engine: Engine,
    readonly config: VitConfig,
    values: Weights,
    trainable = false,
    weightStorage: WeightStorage = 'f32',
  ) {
    if (config.imageSize % config.patchSize !== 0) throw new Error(`image_size ${config.imageSize} is not a multiple of patch_size ${config.patchSize}`);
    const packed = packedWeightNames(engine, vitMaskSites(config), weightStorage, trainable);
    let count = 0;
    for (const [name, shape] of vitParameterShapes(config)) {
      const v = readWeight(values, name);
      if (!v) throw new Error(`ViT weights: missing ${name}`);
      const n = shape.reduce((a, b) => a * b, 1);
      if (v.length !== n) throw new Error(`ViT weights: ${name} has ${v.length} values, expected [${shape.join(', ')}]`);
      this.weights.set(name, new Tensor(uploadParameter(engine, v, shape, name, packed.has(name)), trainable, null, name));
      count += n;
    }
    this.parameterCount = count;
    this.maskSites = vitMaskSites(config);
  }

  private w(name: string, override?: Map<string, Tensor>): Tensor {
    const t = override?.get(name) ?? this.weights.get(name);
    if (!t) throw new Error(`ViT: no weight ${name}`);
    return t;
  }

  logits(tape: Tape, input: ModelInput, override?: Map<string, Tensor>): Tensor {
    return this.forward(tape, input, override).logits!;
  }

  get blockCount(): number {
    return this.config.numLayers;
  }

  private shapeOf(input: ModelInput): { B: number; T: number } {
    if (input.kind !== 'images') throw new Error('ViT takes image input');
    return { B: input.batch, T: vitPatchCount(this.config) + 1 };
  }

  /** Patch embeddings with [CLS] and positions: the residual stream before block 0, [B·T, hidden]. */
  embed(tape: Tape, input: ModelInput, override?: Map<string, Tensor>): Tensor {
    const c = this.config;
    const e = this.engine;
    const { B, T } = this.shapeOf(input);
    const H = c.hiddenSize;
    const P = T - 1;
    const D = c.numChannels * c.patchSize * c.patchSize;
    const W = (n: string) => this.w(n, override);
    const images = (input as ImageInput).images;
    return tape.stage(() => {
      const patches = tape.constant(e.upload(patchify(images, B, c), [B * P, D]), 'patches');
      const projW = reshape(tape, W('vit.embeddings.patch_embeddings.projection.weight'), [H, D]);
      const pe = linear(tape, patches, projW, W('vit.embeddings.patch_embeddings.projection.bias'), 'out_in');
      // [CLS; patches of image 0; …] then gather rows into [B·T, H] with CLS first in every image
      const table = concatRows(tape, reshape(tape, W('vit.embeddings.cls_token'), [1, H]), pe);
      const order = new Uint32Array(B * T);
      for (let b = 0; b < B; b++) for (let t = 1; t < T; t++) order[b * T + t] = 1 + b * P + (t - 1);
      const rows = embedding(tape, table, tape.constant(e.upload(order, [B * T], 'u32'), 'cls-order'));
      return add(tape, rows, reshape(tape, W('vit.embeddings.position_embeddings'), [T, H]));
    });
  }

  /**
   * Block i on the residual stream x, half a block per stage: without gradients each stage's
   * intermediates are freed when it ends (Tape.stage), so an evaluation holds one stage's
   * activations, not the whole forward's. x is freed with the first stage when this tape made it.
   */
  block(tape: Tape, i: number, x: Tensor, input: ModelInput, override?: Map<string, Tensor>, probe?: LinearProbe): Tensor {
    const c = this.config;
    const { B, T } = this.shapeOf(input);
    const H = c.hiddenSize;
    // a packed f16 weight (a masked layer's, not overridden) is unpacked into a transient f32 tensor for its stage
    const W = (n: string) => forwardWeight(tape, this.w(n, override));
    const l = L(i);
    const x1 = tape.stage(() => {
      const a = layerNorm(tape, x, W(l + 'layernorm_before.weight'), W(l + 'layernorm_before.bias'), c.layerNormEps);
      for (const q of ['query', 'key', 'value']) probe?.(`${l}attention.attention.${q}.weight`, a);
      // q, k, v stacked into one [3H, H] Linear: rows keep their own groups, so masks stay per weight
      const qk = concatRows(tape, W(l + 'attention.attention.query.weight'), W(l + 'attention.attention.key.weight'));
      const wqkv = concatRows(tape, qk, W(l + 'attention.attention.value.weight'));
      const col = (n: string) => reshape(tape, W(n), [H, 1]);
      let bqkv: Tensor | null = null;
      if (c.qkvBias) {
        const bqk = concatRows(tape, col(l + 'attention.attention.query.bias'), col(l + 'attention.attention.key.bias'));
        bqkv = reshape(tape, concatRows(tape, bqk, col(l + 'attention.attention.value.bias')), [3 * H]);
      }
      const qkv = linear(tape, a, wqkv, bqkv, 'out_in');
      const att = attention(tape, reshape(tape, qkv, [B, T, 3 * H]), { heads: c.numHeads, causal: false });
      const attFlat = reshape(tape, att, [B * T, H]);
      probe?.(l + 'attention.output.dense.weight', attFlat);
      const o = linear(tape, attFlat, W(l + 'attention.output.dense.weight'), W(l + 'attention.output.dense.bias'), 'out_in');
      return add(tape, x, o);
    }, [x]);
    return tape.stage(() => {
      const m = layerNorm(tape, x1, W(l + 'layernorm_after.weight'), W(l + 'layernorm_after.bias'), c.layerNormEps);
      probe?.(l + 'intermediate.dense.weight', m);
      const f = gelu(tape, linear(tape, m, W(l + 'intermediate.dense.weight'), W(l + 'intermediate.dense.bias'), 'out_in'), c.hiddenAct === 'gelu');
      probe?.(l + 'output.dense.weight', f);
      return add(tape, x1, linear(tape, f, W(l + 'output.dense.weight'), W(l + 'output.dense.bias'), 'out_in'));
    }, [x1]);
  }

  forward(tape: Tape, input: ModelInput, override?: Map<string, Tensor>, probe?: LinearProbe): ForwardResult & { logits: Tensor } {
    const c = this.config;
    const e = this.engine;
    const { B, T } = this.shapeOf(input);
    const W = (n: string) => this.w(n, override);
    let x = this.embed(tape, input, override);
    for (let i = 0; i < c.numLayers; i++) x = this.block(tape, i, x, input, override, probe);
    const xf = layerNorm(tape, x, W('vit.layernorm.weight'), W('vit.layernorm.bias'), c.layerNormEps);
    const clsRows = tape.constant(
      e.upload(
        Uint32Array.from({ length: B }, (_, b) => b * T),
        [B],
        'u32',
      ),
      'cls-rows',
    );
    const cls = embedding(tape, xf, clsRows);
    const logits = linear(tape, cls, W('classifier.weight'), W('classifier.bias'), 'out_in');
    const labels = tape.constant(e.upload((input as ImageInput).labels, [B], 'u32'), 'labels');
    return { loss: crossEntropy(tape, logits, labels), logits };
  }

  dispose(): void {
    for (const t of this.weights.values()) {
      t.raw.dispose();
      t.zeroGrad();
    }
    this.weights.clear();
  }
}
