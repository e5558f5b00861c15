// GPT-2 (Radford et al. 2019) on the autograd engine: learned positions, pre-LayerNorm blocks,
// causal multi-head attention, GELU (tanh) MLP of width n_inner (4·d unless the config says),
// final LayerNorm, LM head tied to the token embedding or, with tie_word_embeddings: false, a
// [vocab, d] `lm_head.weight` of its own. Weight names and layouts are Hugging Face's
// GPT2LMHeadModel (Conv1D = [in, out]; `lm_head` is a torch Linear, [out, in] = [vocab, d]).
import { attention } from '../autograd/fn/attention';
import { add } from '../autograd/fn/elementwise';
import { embedding } from '../autograd/fn/embedding';
import { gelu } from '../autograd/fn/activation';
import { linear, matmul } from '../autograd/fn/linear';
import { layerNorm } from '../autograd/fn/norm';
import { lmHeadLoss } from '../autograd/fn/lm-head';
import { reshape } from '../autograd/fn/shape';
import type { Tape } from '../autograd/tape';
import { Tensor } from '../autograd/tensor';
import type { Engine } from '../backend/engine';
import { gptInnerSize, type GptConfig } from './config';
import { normalInit, streamOf } from './init';
import type { ForwardResult, LabModel, LinearProbe, MaskSite, ModelInput, TextInput } from './model';
import { forwardWeight, packedWeightNames, readWeight, uploadParameter, type WeightStorage, type Weights } from './weights';

export const GPT_PREFIX = 'transformer.';

/** The weight the logits are computed with, [vocab, n_embd]: wte when tied, else HF's `lm_head.weight` (no prefix). */
export function gptHeadWeightName(c: GptConfig): string {
  return c.tieWordEmbeddings ? 'transformer.wte.weight' : 'lm_head.weight';
}

/** Every GPT-2 parameter name (with the `transformer.` prefix; `lm_head.weight` when untied) and its shape. */
export function gptParameterShapes(c: GptConfig): [string, number[]][] {
  const C = c.nEmbd;
  const I = gptInnerSize(c);
  const out: [string, number[]][] = [
    ['transformer.wte.weight', [c.vocabSize, C]],
    ['transformer.wpe.weight', [c.nPositions, C]],
  ];
  for (let i = 0; i < c.nLayer; i++) {
    const h = `transformer.h.${i}.`;
    out.push(
      [h + 'ln_1.weight', [C]],
      [h + 'ln_1.bias', [C]],
      [h + 'attn.c_attn.weight', [C, 3 * C]],
      [h + 'attn.c_attn.bias', [3 * C]],
      [h + 'attn.c_proj.weight', [C, C]],
      [h + 'attn.c_proj.bias', [C]],
      [h + 'ln_2.weight', [C]],
      [h + 'ln_2.bias', [C]],
      [h + 'mlp.c_fc.weight', [C, I]],
      [h + 'mlp.c_fc.bias', [I]],
      [h + 'mlp.c_proj.weight', [I, C]],
      [h + 'mlp.c_proj.bias', [C]],
    );
  }
  out.push(['transformer.ln_f.weight', [C]], ['transformer.ln_f.bias', [C]]);
  if (!c.tieWordEmbeddings) out.push(['lm_head.weight', [c.vocabSize, C]]);
  return out;
}

export function gptMaskSites(c: GptConfig): MaskSite[] {
  const C = c.nEmbd;
  const I = gptInnerSize(c);
  const sites: MaskSite[] = [];
  for (let i = 0; i < c.nLayer; i++) {
    const h = `transformer.h.${i}.`;
    sites.push(
      { name: h + 'attn.c_attn.weight', shape: [C, 3 * C], layout: 'in_out' },
      { name: h + 'attn.c_proj.weight', shape: [C, C], layout: 'in_out' },
      { name: h + 'mlp.c_fc.weight', shape: [C, I], layout: 'in_out' },
      { name: h + 'mlp.c_proj.weight', shape: [I, C], layout: 'in_out' },
    );
  }
  return sites;
}

/** GPT-2's initialisation: N(0, 0.02²), residual projections scaled by 1/√(2·layers), LN = (1, 0). */
export function gptInitialWeights(c: GptConfig, seed: number): Map<string, Float32Array> {
  const w = new Map<string, Float32Array>();
  for (const [name, shape] of gptParameterShapes(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (name.endsWith('.bias')) w.set(name, new Float32Array(n));
    else if (/ln_\w+\.weight$/.test(name)) w.set(name, new Float32Array(n).fill(1));
    else {
      const std = name.endsWith('c_proj.weight') ? 0.02 / Math.sqrt(2 * c.nLayer) : 0.02;
      w.set(name, normalInit(n, std, seed, streamOf(name)));
    }
  }
  return w;
}

export class Gpt implements LabModel {
  readonly weights = new Map<string, Tensor>();
  readonly maskSites: MaskSite[];
  readonly parameterCount: number;
  /** The LM head's weight [vocab, n_embd] (gptHeadWeightName): the logits are xf · headᵀ. */
  readonly headWeightName: string;

  /**
   * `values`: a Map, or a WeightSource read (converted) and uploaded one tensor at a time.
   * `weightStorage` 'f16': the masked layers' frozen weights packed as f16 (GPU engine only; weights.ts).
   */
  constructor(
    readonly engine: Engine,
    readonly config: GptConfig,
    values: Weights,
    trainable = false,
    weightStorage: WeightStorage = 'f32',
  ) {
    const packed = packedWeightNames(engine, gptMaskSites(config), weightStorage, trainable);
    let count = 0;
    for (const [name, shape] of gptParameterShapes(config)) {
      const v = readWeight(values, name);
      if (!v) throw new Error(`GPT-2 weights: missing ${name}`);
      const n = shape.reduce((a, b) => a * b, 1);
      if (v.length !== n) throw new Error(`GPT-2 weights: ${name} has ${v.length} values, expected [${shape.join(', ')}]`);
      this.weights.set(name, new Tensor(uploadParameter(engine, v, shape, name, packed.has(name)), trainable, null, name));
      count += n;
    }
    this.parameterCount = count;
    this.maskSites = gptMaskSites(config);
    this.headWeightName = gptHeadWeightName(config);
  }

  private w(name: string, override?: Map<string, Tensor>): Tensor {
    const t = override?.get(name) ?? this.weights.get(name);
    if (!t) throw new Error(`GPT-2: no weight ${name}`);
    return t;
  }

  forward(tape: Tape, input: ModelInput, override?: Map<string, Tensor>, probe?: LinearProbe): ForwardResult {
    const xf = this.trunk(tape, input, override, probe);
    // LM head + mean cross-entropy fused, in chunks of vocabulary rows: no [B·T, vocab] logits tensor
    // is kept for the backward (autograd/fn/lm-head.ts); head = wte when tied
    const targets = tape.constant(this.engine.upload((input as TextInput).targets, [xf.shape[0]], 'u32'), 'targets');
    return { loss: lmHeadLoss(tape, xf, this.w(this.headWeightName, override), targets) };
  }

  /** The logits [B·T, vocab] = xf · headᵀ, unfused (tests and inspection; the loss never builds them). */
  logits(tape: Tape, input: ModelInput, override?: Map<string, Tensor>): Tensor {
    return matmul(tape, this.trunk(tape, input, override), this.w(this.headWeightName, override), { transB: true });
  }

  /** Embeddings, the blocks and the final LayerNorm: xf [B·T, n_embd]. */
  private trunk(tape: Tape, input: ModelInput, override?: Map<string, Tensor>, probe?: LinearProbe): Tensor {
    let x = this.embed(tape, input, override);
    for (let i = 0; i < this.config.nLayer; i++) x = this.block(tape, i, x, input, override, probe);
    const xl = x;
    const c = this.config;
    return tape.stage(() => layerNorm(tape, xl, this.w('transformer.ln_f.weight', override), this.w('transformer.ln_f.bias', override), c.layerNormEps), [xl]);
  }

  get blockCount(): number {
    return this.config.nLayer;
  }

  /** Token + position embeddings: the residual stream before block 0, [B·T, n_embd]. */
  embed(tape: Tape, input: ModelInput, override?: Map<string, Tensor>): Tensor {
    const { B, T } = this.shapeOf(input);
    const e = this.engine;
    const W = (n: string) => this.w(n, override);
    return tape.stage(() => {
      const tokens = tape.constant(e.upload((input as TextInput).inputs, [B * T], 'u32'), 'tokens');
      const positions = tape.constant(
        e.upload(
          Uint32Array.from({ length: T }, (_, i) => i),
          [T],
          'u32',
        ),
        'positions',
      );
      return add(tape, embedding(tape, W('transformer.wte.weight'), tokens), embedding(tape, W('transformer.wpe.weight'), positions));
    });
  }

  /**
   * Block i on the residual stream x: x + attention, then + MLP. Half a block per stage: without
   * gradients (an evaluation) each stage's intermediates are freed when it ends (Tape.stage), so the
   * peak is the attention half's, not the whole forward's. x is freed with the first stage when this
   * tape made it.
   */
  block(tape: Tape, i: number, x: Tensor, input: ModelInput, override?: Map<string, Tensor>, probe?: LinearProbe): Tensor {
    const c = this.config;
    const { B, T } = this.shapeOf(input);
    const W = (n: string) => this.w(n, override);
    // a Linear on a masked site: report its input to the probe first (a packed f16 weight, not
    // overridden, is unpacked into a transient f32 tensor for this stage)
    const site = (v: Tensor, name: string, bias: string) => {
      probe?.(name, v);
      return linear(tape, v, forwardWeight(tape, W(name)), W(bias), 'in_out');
    };
    const h = `transformer.h.${i}.`;
    const x1 = tape.stage(() => {
      const a = layerNorm(tape, x, W(h + 'ln_1.weight'), W(h + 'ln_1.bias'), c.layerNormEps);
      const qkv = site(a, h + 'attn.c_attn.weight', h + 'attn.c_attn.bias');
      const att = attention(tape, reshape(tape, qkv, [B, T, 3 * c.nEmbd]), { heads: c.nHead, causal: true });
      const proj = site(reshape(tape, att, [B * T, c.nEmbd]), h + 'attn.c_proj.weight', h + 'attn.c_proj.bias');
      return add(tape, x, proj);
    }, [x]);
    return tape.stage(() => {
      const m = layerNorm(tape, x1, W(h + 'ln_2.weight'), W(h + 'ln_2.bias'), c.layerNormEps);
      const f = gelu(tape, site(m, h + 'mlp.c_fc.weight', h + 'mlp.c_fc.bias'));
      return add(tape, x1, site(f, h + 'mlp.c_proj.weight', h + 'mlp.c_proj.bias'));
    }, [x1]);
  }

  private shapeOf(input: ModelInput): { B: number; T: number } {
    if (input.kind !== 'text') throw new Error('GPT-2 takes text input (token ids)');
    const { batch: B, context: T } = input;
    if (T > this.config.nPositions) throw new Error(`context ${T} exceeds the model's ${this.config.nPositions} positions`);
    if (input.inputs.length !== B * T || input.targets.length !== B * T) throw new Error(`GPT-2: expected ${B * T} tokens per batch`);
    return { B, T };
  }

  dispose(): void {
    for (const t of this.weights.values()) {
      t.raw.dispose();
      t.zeroGrad();
    }
    this.weights.clear();
  }
}
