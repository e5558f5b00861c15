// Hugging Face config.json for the two architectures the lab runs: GPT-2 (GPT2LMHeadModel) and ViT
// (ViTForImageClassification). Parsing is strict: a missing, wrong-typed or absurd value is a
// ConfigError naming the key and the value, and options that would change the network in ways our
// models do not implement (cross-attention, per-layer attention scaling, other activations) are refused.
// Keys that only matter to training or generation in transformers (dropout, summary_*, task_specific_params,
// bos/eos ids, use_cache, torch_dtype, …) are ignored, so a config.json from the hub parses verbatim.
//
// GPT-2 decisions:
// - activation_function "gelu_new", "gelu_pytorch_tanh" and "gelu_fast" are one function (the tanh
//   approximation, written three ways in transformers); the exact "gelu" and anything else is refused.
// - reorder_and_upcast_attn only changes numerics in half precision (transformers then computes the
//   attention scores in f32, scaled before the product); the lab computes attention in f32 always,
//   so either value is accepted.
// - n_inner null (or absent) means 4·n_embd; any other positive width is kept in GptConfig.nInner,
//   which is left out when it equals 4·n_embd so that two configs of one network compare equal.
//
// Note: ViT checkpoints from Google say hidden_act "gelu" (the exact erf form; also HF's default when
// the key is absent) while the lab's own ViTs use the tanh form ("gelu_new"); VitConfig.hiddenAct
// records which, and the model computes that one.

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface GptConfig {
  kind: 'gpt2';
  vocabSize: number;
  nPositions: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  layerNormEps: number;
  /** false: the LM head is a tensor of its own, `lm_head.weight` [vocab, n_embd]; true: logits use wte. */
  tieWordEmbeddings: boolean;
  /** The MLP width (n_inner) when it is not 4·n_embd; absent = 4·n_embd. Read it through gptInnerSize. */
  nInner?: number;
}

/** GPT-2's MLP width: n_inner, or 4·n_embd when the config leaves it null. */
export function gptInnerSize(c: GptConfig): number {
  return c.nInner ?? 4 * c.nEmbd;
}

export interface VitConfig {
  kind: 'vit';
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  imageSize: number;
  patchSize: number;
  numChannels: number;
  numLabels: number;
  layerNormEps: number;
  qkvBias: boolean;
  labels: string[];
  /** MLP activation: 'gelu' = exact erf form (HF's default, Google's checkpoints), 'gelu_new' = tanh form (ours). Absent = 'gelu_new'. */
  hiddenAct?: 'gelu' | 'gelu_new';
}

export type ModelConfig = GptConfig | VitConfig;

/** Upper bounds well above any model the lab could hold; beyond them a value is a typo or garbage. */
export const CONFIG_LIMITS = {
  vocab: 1_000_000,
  positions: 65_536,
  width: 65_536,
  layers: 1_024,
  heads: 1_024,
  imageSize: 8_192,
  channels: 64,
  labels: 1_000_000,
} as const;

function show(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}

function fail(msg: string): never {
  throw new ConfigError(`config.json: ${msg}`);
}

type Json = Record<string, unknown>;

function has(o: Json, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key) && o[key] !== undefined;
}

function int(o: Json, key: string, max: number, fallback?: number): number {
  if (!has(o, key)) {
    if (fallback !== undefined) return fallback;
    fail(`missing required key "${key}"`);
  }
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0 || v > max) {
    fail(`"${key}" must be an integer in 1..${max}, got ${show(v)}`);
  }
  return v;
}

function eps(o: Json, key: string, fallback: number): number {
  if (!has(o, key)) return fallback;
  const v = o[key];
  // A LayerNorm epsilon is tiny; ≥ 0.1 would dominate unit-variance activations.
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v >= 0.1) {
    fail(`"${key}" must be a number in (0, 0.1), got ${show(v)}`);
  }
  return v;
}

function bool(o: Json, key: string, fallback: boolean): boolean {
  if (!has(o, key)) return fallback;
  const v = o[key];
  if (typeof v !== 'boolean') fail(`"${key}" must be true or false, got ${show(v)}`);
  return v;
}

/** Keys whose non-default values change the network; `ok(v)` says which values we support. */
function refuse(o: Json, key: string, ok: (v: unknown) => boolean, what: string): void {
  if (has(o, key) && !ok(o[key])) fail(`"${key}" = ${show(o[key])} is not supported (${what})`);
}

function divides(heads: number, headsKey: string, width: number, widthKey: string): void {
  if (width % heads !== 0) fail(`"${headsKey}" = ${heads} does not divide "${widthKey}" = ${width}`);
}

/** transformers' names for the tanh approximation of GELU (GPT-2's activation). */
const TANH_GELU = ['gelu_new', 'gelu_pytorch_tanh', 'gelu_fast'];

function parseGpt2(o: Json): GptConfig {
  const nEmbd = int(o, 'n_embd', CONFIG_LIMITS.width);
  const nHead = int(o, 'n_head', CONFIG_LIMITS.heads);
  divides(nHead, 'n_head', nEmbd, 'n_embd');
  // n_positions sizes the wpe table; very old configs only carry n_ctx.
  const posKey = !has(o, 'n_positions') && has(o, 'n_ctx') ? 'n_ctx' : 'n_positions';
  refuse(o, 'activation_function', (v) => typeof v === 'string' && TANH_GELU.includes(v), `only the tanh GELU: ${TANH_GELU.join(', ')}`);
  refuse(o, 'add_cross_attention', (v) => v === false, 'no cross-attention');
  refuse(o, 'scale_attn_weights', (v) => v === true, 'attention is scaled by 1/sqrt(head size)');
  refuse(o, 'scale_attn_by_inverse_layer_idx', (v) => v === false, 'no per-layer attention scaling');
  refuse(o, 'reorder_and_upcast_attn', (v) => typeof v === 'boolean', 'true or false');
  // n_inner: null = 4·n_embd (transformers' own default); anything else must be a positive width.
  const nInner = has(o, 'n_inner') && o.n_inner !== null ? int(o, 'n_inner', 4 * CONFIG_LIMITS.width) : 4 * nEmbd;
  return {
    kind: 'gpt2',
    vocabSize: int(o, 'vocab_size', CONFIG_LIMITS.vocab),
    nPositions: int(o, posKey, CONFIG_LIMITS.positions),
    nEmbd,
    nLayer: int(o, 'n_layer', CONFIG_LIMITS.layers),
    nHead,
    layerNormEps: eps(o, 'layer_norm_epsilon', 1e-5),
    tieWordEmbeddings: bool(o, 'tie_word_embeddings', true),
    ...(nInner !== 4 * nEmbd ? { nInner } : {}),
  };
}

/** Labels from id2label ("0".."L-1" → string), checked against num_labels when both are given. */
function parseLabels(o: Json): string[] {
  const numLabels = has(o, 'num_labels') ? int(o, 'num_labels', CONFIG_LIMITS.labels) : undefined;
  if (!has(o, 'id2label')) {
    // transformers' default is 2 labels named LABEL_i.
    return Array.from({ length: numLabels ?? 2 }, (_, i) => `LABEL_${i}`);
  }
  const m = o.id2label;
  if (typeof m !== 'object' || m === null || Array.isArray(m)) fail(`"id2label" must be an object, got ${show(m)}`);
  const entries = Object.entries(m as Json);
  const n = entries.length;
  if (n === 0 || n > CONFIG_LIMITS.labels) fail(`"id2label" must have 1..${CONFIG_LIMITS.labels} entries, got ${n}`);
  const labels = new Array<string>(n);
  const filled = new Uint8Array(n);
  for (const [k, v] of entries) {
    const i = /^(0|[1-9][0-9]*)$/.test(k) ? Number(k) : -1;
    if (i < 0 || i >= n) fail(`"id2label" keys must be "0".."${n - 1}", got ${show(k)}`);
    if (typeof v !== 'string') fail(`"id2label"[${show(k)}] must be a string, got ${show(v)}`);
    labels[i] = v;
    filled[i] = 1;
  }
  // n distinct keys each in 0..n-1 fill every slot; the check documents the invariant.
  if (filled.includes(0)) fail(`"id2label" does not cover 0..${n - 1}`);
  if (numLabels !== undefined && numLabels !== n) fail(`"num_labels" = ${numLabels} but "id2label" has ${n} entries`);
  return labels;
}

function parseVit(o: Json): VitConfig {
  const hiddenSize = int(o, 'hidden_size', CONFIG_LIMITS.width);
  const numHeads = int(o, 'num_attention_heads', CONFIG_LIMITS.heads);
  divides(numHeads, 'num_attention_heads', hiddenSize, 'hidden_size');
  const imageSize = int(o, 'image_size', CONFIG_LIMITS.imageSize);
  const patchSize = int(o, 'patch_size', imageSize);
  if (imageSize % patchSize !== 0) fail(`"patch_size" = ${patchSize} does not divide "image_size" = ${imageSize}`);
  refuse(o, 'hidden_act', (v) => v === 'gelu' || v === 'gelu_new', 'only "gelu" or "gelu_new"');
  const labels = parseLabels(o);
  return {
    kind: 'vit',
    hiddenSize,
    numLayers: int(o, 'num_hidden_layers', CONFIG_LIMITS.layers),
    numHeads,
    intermediateSize: int(o, 'intermediate_size', 4 * CONFIG_LIMITS.width),
    imageSize,
    patchSize,
    numChannels: int(o, 'num_channels', CONFIG_LIMITS.channels, 3),
    numLabels: labels.length,
    layerNormEps: eps(o, 'layer_norm_eps', 1e-12),
    qkvBias: bool(o, 'qkv_bias', true),
    labels,
    hiddenAct: o.hidden_act === 'gelu_new' ? 'gelu_new' : 'gelu',
  };
}

/** Parses a Hugging Face config.json object (already JSON-decoded). */
export function parseConfig(json: unknown): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(`expected a JSON object, got ${show(json)}`);
  const o = json as Json;
  const type = o.model_type;
  if (type === 'gpt2') return parseGpt2(o);
  if (type === 'vit') return parseVit(o);
  fail(`"model_type" must be "gpt2" or "vit", got ${show(type)}`);
}

/** The config.json Hugging Face's from_pretrained expects for this model (float32 weights). */
export function configToJson(c: ModelConfig): Record<string, unknown> {
  if (c.kind === 'gpt2') {
    return {
      architectures: ['GPT2LMHeadModel'],
      model_type: 'gpt2',
      vocab_size: c.vocabSize,
      n_positions: c.nPositions,
      n_ctx: c.nPositions,
      n_embd: c.nEmbd,
      n_layer: c.nLayer,
      n_head: c.nHead,
      n_inner: c.nInner !== undefined && c.nInner !== 4 * c.nEmbd ? c.nInner : null,
      activation_function: 'gelu_new',
      layer_norm_epsilon: c.layerNormEps,
      tie_word_embeddings: c.tieWordEmbeddings,
      torch_dtype: 'float32',
    };
  }
  const id2label: Record<string, string> = {};
  const label2id: Record<string, number> = {};
  c.labels.forEach((l, i) => {
    id2label[String(i)] = l;
    // A label may repeat or be "__proto__"; define own properties so nothing is lost or hijacked.
    Object.defineProperty(label2id, l, { value: i, enumerable: true, writable: true, configurable: true });
  });
  if (c.labels.length !== c.numLabels) {
    throw new ConfigError(`config: numLabels = ${c.numLabels} but ${c.labels.length} labels are given`);
  }
  return {
    architectures: ['ViTForImageClassification'],
    model_type: 'vit',
    hidden_size: c.hiddenSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    intermediate_size: c.intermediateSize,
    hidden_act: c.hiddenAct ?? 'gelu_new',
    image_size: c.imageSize,
    patch_size: c.patchSize,
    num_channels: c.numChannels,
    layer_norm_eps: c.layerNormEps,
    qkv_bias: c.qkvBias,
    id2label,
    label2id,
    torch_dtype: 'float32',
  };
}
