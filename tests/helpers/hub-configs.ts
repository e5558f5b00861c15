// The architectures of published checkpoints (GPT-2 small, ViT-B/16) as lab model configs, for
// tests of names, shapes and memory plans at real scale (no weights); the hub's config.json files
// and checkpoint file layouts (single and sharded) for the loader tests.
import type { GptConfig, VitConfig } from '../../src/models/config';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../src/models/dtype';
import { gptParameterShapes } from '../../src/models/gpt';
import { writeSafetensors, type WriteTensor } from '../../src/models/safetensors';
import type { NamedFile } from '../../src/models/sharded';

export const GPT2_SMALL: GptConfig = {
  kind: 'gpt2',
  vocabSize: 50257,
  nPositions: 1024,
  nEmbd: 768,
  nLayer: 12,
  nHead: 12,
  layerNormEps: 1e-5,
  tieWordEmbeddings: true,
};
export const VIT_B16: VitConfig = {
  kind: 'vit',
  hiddenSize: 768,
  numLayers: 12,
  numHeads: 12,
  intermediateSize: 3072,
  imageSize: 224,
  patchSize: 16,
  numChannels: 3,
  numLabels: 1000,
  layerNormEps: 1e-12,
  qkvBias: true,
  labels: Array.from({ length: 1000 }, (_, i) => `c${i}`),
};

// ------------------------------------------------------------------------------------------------
// config.json files as published on the hub (verbatim, keys in the hub's order), and checkpoint
// files in the hub's layout, for the loader tests.

const GPT2_COMMON = {
  activation_function: 'gelu_new',
  architectures: ['GPT2LMHeadModel'],
  attn_pdrop: 0.1,
  bos_token_id: 50256,
  embd_pdrop: 0.1,
  eos_token_id: 50256,
  initializer_range: 0.02,
  layer_norm_epsilon: 1e-5,
  model_type: 'gpt2',
  n_ctx: 1024,
  n_embd: 768,
  n_head: 12,
  n_layer: 12,
  n_positions: 1024,
  resid_pdrop: 0.1,
  summary_activation: null,
  summary_first_dropout: 0.1,
  summary_proj_to_labels: true,
  summary_type: 'cls_index',
  summary_use_proj: true,
  task_specific_params: { 'text-generation': { do_sample: true, max_length: 50 } },
  vocab_size: 50257,
};

/** openai-community/gpt2 config.json. */
export const GPT2_CONFIG_JSON: Record<string, unknown> = { ...GPT2_COMMON };

/** distilbert/distilgpt2 config.json: 6 layers, and a leftover one-label classification head config. */
export const DISTILGPT2_CONFIG_JSON: Record<string, unknown> = {
  _num_labels: 1,
  ...GPT2_COMMON,
  id2label: { '0': 'LABEL_0' },
  label2id: { LABEL_0: 0 },
  n_layer: 6,
};

/** openai-community/gpt2-medium config.json: 1024 wide, 24 layers, 16 heads. */
export const GPT2_MEDIUM_CONFIG_JSON: Record<string, unknown> = {
  ...GPT2_COMMON,
  n_embd: 1024,
  n_head: 16,
  n_layer: 24,
  n_special: 0,
  predict_special_tokens: true,
};

/** A GPT-2 fine-tune written by a recent transformers save_pretrained (every key it writes, F16 weights). */
export const GPT2_SAVED_CONFIG_JSON: Record<string, unknown> = {
  _name_or_path: 'openai-community/gpt2',
  ...GPT2_COMMON,
  n_inner: null,
  reorder_and_upcast_attn: false,
  scale_attn_by_inverse_layer_idx: false,
  scale_attn_weights: true,
  torch_dtype: 'float16',
  transformers_version: '4.44.2',
  use_cache: true,
};

/** How a hub file stores GPT-2's causal-mask buffers: none (transformers ≥ 4.3x), F32 (the original upload), or bytes. */
export type MaskBuffers = 'none' | 'F32' | 'BOOL' | 'U8';

export interface HubGptOptions {
  /** dtype of the weights (the buffers keep theirs) */
  dtype: 'F32' | 'F16' | 'BF16';
  buffers: MaskBuffers;
  /** also write `h.N.attn.masked_bias` [] = -1e4 (older files) */
  maskedBias?: boolean;
  /** a tied model's file carries lm_head.weight = wte (transformers' safetensors conversions often do) */
  tiedHead?: boolean;
}

function encode(v: Float32Array, dtype: HubGptOptions['dtype']): { data: ArrayBufferView; decoded: Float32Array } {
  if (dtype === 'F32') return { data: v, decoded: v };
  const bits = Uint16Array.from(v, (x) => (dtype === 'F16' ? f32ToF16(x) : f32ToBf16(x)));
  return { data: bits, decoded: Float32Array.from(bits, (b) => (dtype === 'F16' ? f16ToF32(b) : bf16ToF32(b))) };
}

/**
 * A GPT-2 checkpoint's tensors as the hub stores them: names without `transformer.`, Conv1D weights
 * [in, out] (the lab's canonical layout is the same), optional causal-mask buffers
 * `h.N.attn.bias` [1, 1, P, P] (lower-triangular ones). `expected` holds the canonical f32 values a
 * loader must produce (the written values after rounding to the dtype). The order is the
 * state_dict's (module order), which is how transformers fills its shards.
 */
export function hubGptTensors(
  c: GptConfig,
  weights: Map<string, Float32Array>,
  o: HubGptOptions,
): { tensors: WriteTensor[]; expected: Map<string, Float32Array> } {
  const tensors: WriteTensor[] = [];
  const expected = new Map<string, Float32Array>();
  const P = c.nPositions;
  for (const [name, shape] of gptParameterShapes(c)) {
    const { data, decoded } = encode(weights.get(name)!, o.dtype);
    tensors.push({ name: name.replace(/^transformer\./, ''), dtype: o.dtype, shape, data });
    expected.set(name, decoded);
    const block = /^transformer\.(h\.\d+)\.ln_1\.bias$/.exec(name);
    if (block && o.buffers !== 'none') {
      const tril = new Uint8Array(P * P).map((_, i) => (i % P <= Math.floor(i / P) ? 1 : 0));
      const data = o.buffers === 'F32' ? Float32Array.from(tril) : tril;
      tensors.push({ name: `${block[1]}.attn.bias`, dtype: o.buffers, shape: [1, 1, P, P], data });
    }
    if (block && o.maskedBias) tensors.push({ name: `${block[1]}.attn.masked_bias`, dtype: 'F32', shape: [], data: new Float32Array([-1e4]) });
  }
  if (o.tiedHead && c.tieWordEmbeddings) {
    tensors.push({ name: 'lm_head.weight', dtype: o.dtype, shape: [c.vocabSize, c.nEmbd], data: encode(weights.get('transformer.wte.weight')!, o.dtype).data });
  }
  return { tensors, expected };
}

const pad5 = (i: number) => String(i).padStart(5, '0');

/**
 * Files of a sharded checkpoint as transformers' save_pretrained writes them: tensors in state_dict
 * order, a new shard whenever the next tensor would take the current one past maxShardBytes (a
 * tensor larger than that gets a shard of its own), shards named model-0000i-of-0000n.safetensors
 * with metadata {format: pt}, and model.safetensors.index.json = {metadata: {total_size}, weight_map}
 * with sorted keys, indent 2 and a final newline (json.dumps(index, indent=2, sort_keys=True) + "\n").
 */
export function shardLikeTransformers(tensors: WriteTensor[], maxShardBytes: number): NamedFile[] {
  const groups: WriteTensor[][] = [];
  let size = 0;
  for (const t of tensors) {
    const bytes = t.data.byteLength;
    if (groups.length === 0 || (size + bytes > maxShardBytes && groups[groups.length - 1].length > 0)) {
      groups.push([]);
      size = 0;
    }
    groups[groups.length - 1].push(t);
    size += bytes;
  }
  const n = groups.length;
  const files: NamedFile[] = [];
  const weightMap: Record<string, string> = {};
  let total = 0;
  groups.forEach((g, i) => {
    const name = `model-${pad5(i + 1)}-of-${pad5(n)}.safetensors`;
    files.push({ name, bytes: writeSafetensors(g, { format: 'pt' }) });
    for (const t of g) {
      weightMap[t.name] = name;
      total += t.data.byteLength;
    }
  });
  const sorted = Object.fromEntries(Object.entries(weightMap).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const index = JSON.stringify({ metadata: { total_size: total }, weight_map: sorted }, null, 2) + '\n';
  files.push({ name: 'model.safetensors.index.json', bytes: new TextEncoder().encode(index) });
  return files;
}
