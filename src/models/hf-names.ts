// The tensor names and shapes Hugging Face uses for GPT2LMHeadModel and ViTForImageClassification,
// and matching a checkpoint's names against them.
//
// Roles are the names without the model prefix ("transformer." for GPT-2, "vit." for ViT), e.g.
// 'h.0.attn.c_attn.weight', 'ln_f.bias', 'encoder.layer.3.attention.attention.query.weight',
// 'classifier.weight'; the single-tensor GPT-2 modules are just 'wte', 'wpe' and 'lm_head'.
//
// Layouts (the trap): GPT-2 uses Conv1D, whose weight is stored [in, out] (c_attn [C, 3C] holds
// q|k|v side by side along the output axis); ViT uses torch Linear, stored [out, in].
import type { GptConfig, ModelConfig, VitConfig } from './config';
import { SafetensorsError } from './safetensors';

export interface ExpectedTensor {
  name: string;
  shape: number[];
  role: string;
}

const GPT_PREFIX = 'transformer.';
const VIT_PREFIX = 'vit.';

function gptTensors(c: GptConfig): ExpectedTensor[] {
  const C = c.nEmbd;
  const out: ExpectedTensor[] = [];
  const add = (role: string, shape: number[], name = GPT_PREFIX + role) => out.push({ name, shape, role });
  add('wte', [c.vocabSize, C], 'transformer.wte.weight');
  add('wpe', [c.nPositions, C], 'transformer.wpe.weight');
  for (let i = 0; i < c.nLayer; i++) {
    const h = `h.${i}.`;
    add(h + 'ln_1.weight', [C]);
    add(h + 'ln_1.bias', [C]);
    add(h + 'attn.c_attn.weight', [C, 3 * C]);
    add(h + 'attn.c_attn.bias', [3 * C]);
    add(h + 'attn.c_proj.weight', [C, C]);
    add(h + 'attn.c_proj.bias', [C]);
    add(h + 'ln_2.weight', [C]);
    add(h + 'ln_2.bias', [C]);
    add(h + 'mlp.c_fc.weight', [C, 4 * C]);
    add(h + 'mlp.c_fc.bias', [4 * C]);
    add(h + 'mlp.c_proj.weight', [4 * C, C]);
    add(h + 'mlp.c_proj.bias', [C]);
  }
  add('ln_f.weight', [C]);
  add('ln_f.bias', [C]);
  if (!c.tieWordEmbeddings) add('lm_head', [c.vocabSize, C], 'lm_head.weight');
  return out;
}

function vitTensors(c: VitConfig): ExpectedTensor[] {
  const H = c.hiddenSize;
  const I = c.intermediateSize;
  const P = (c.imageSize / c.patchSize) ** 2;
  const out: ExpectedTensor[] = [];
  const add = (role: string, shape: number[], name = VIT_PREFIX + role) => out.push({ name, shape, role });
  add('embeddings.cls_token', [1, 1, H]);
  add('embeddings.position_embeddings', [1, P + 1, H]);
  add('embeddings.patch_embeddings.projection.weight', [H, c.numChannels, c.patchSize, c.patchSize]);
  add('embeddings.patch_embeddings.projection.bias', [H]);
  for (let i = 0; i < c.numLayers; i++) {
    const l = `encoder.layer.${i}.`;
    add(l + 'layernorm_before.weight', [H]);
    add(l + 'layernorm_before.bias', [H]);
    for (const q of ['query', 'key', 'value']) {
      add(`${l}attention.attention.${q}.weight`, [H, H]);
      if (c.qkvBias) add(`${l}attention.attention.${q}.bias`, [H]);
    }
    add(l + 'attention.output.dense.weight', [H, H]);
    add(l + 'attention.output.dense.bias', [H]);
    add(l + 'layernorm_after.weight', [H]);
    add(l + 'layernorm_after.bias', [H]);
    add(l + 'intermediate.dense.weight', [I, H]);
    add(l + 'intermediate.dense.bias', [I]);
    add(l + 'output.dense.weight', [H, I]);
    add(l + 'output.dense.bias', [H]);
  }
  add('layernorm.weight', [H]);
  add('layernorm.bias', [H]);
  add('classifier.weight', [c.numLabels, H], 'classifier.weight');
  add('classifier.bias', [c.numLabels], 'classifier.bias');
  return out;
}

/** Every parameter tensor of the Hugging Face model, in module order, with its full name. */
export function expectedTensors(c: ModelConfig): ExpectedTensor[] {
  return c.kind === 'gpt2' ? gptTensors(c) : vitTensors(c);
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

function listing(label: string, items: string[]): string {
  const head = items.slice(0, 5).join(', ');
  return `${items.length} ${label} (${head}${items.length > 5 ? `, ... ${items.length - 5} more` : ''})`;
}

/**
 * Maps each role to the checkpoint's tensor name, checking names and shapes. Accepts names with or
 * without the model prefix (one convention per file), ignores GPT-2's causal-mask buffers
 * (h.{i}.attn.bias, h.{i}.attn.masked_bias) and a ViT pooler (pooler.dense.*, unused by the
 * classifier). With tied embeddings an lm_head.weight is optional (it must then have wte's shape)
 * and is left out of the map, since the model reads wte. Any missing, unexpected or wrongly shaped
 * tensor throws one SafetensorsError listing all three kinds.
 */
export function matchCheckpoint(c: ModelConfig, names: Map<string, { shape: number[] }>): Map<string, string> {
  const prefix = c.kind === 'gpt2' ? GPT_PREFIX : VIT_PREFIX;
  const required = expectedTensors(c);
  const optional: ExpectedTensor[] = [];
  const ignorable = new Map<string, number[] | null>(); // role → shape to check, or null for any
  if (c.kind === 'gpt2') {
    if (c.tieWordEmbeddings) optional.push({ name: 'lm_head.weight', shape: [c.vocabSize, c.nEmbd], role: 'lm_head' });
    for (let i = 0; i < c.nLayer; i++) {
      ignorable.set(`h.${i}.attn.bias`, null);
      ignorable.set(`h.${i}.attn.masked_bias`, null);
    }
  } else {
    ignorable.set('pooler.dense.weight', [c.hiddenSize, c.hiddenSize]);
    ignorable.set('pooler.dense.bias', [c.hiddenSize]);
  }

  // One naming convention per file: the one that matches more of the required names.
  const bare = (n: string) => (n.startsWith(prefix) ? n.slice(prefix.length) : n);
  const prefixedHits = required.filter((e) => names.has(e.name)).length;
  const bareHits = required.filter((e) => names.has(bare(e.name))).length;
  const bareMode = bareHits > prefixedHits;
  const fileName = bareMode ? bare : (n: string) => n;
  // The role a file name stands for under the chosen convention (null: wrong prefix for it).
  const roleOf = (n: string) => (bareMode ? n : n.startsWith(prefix) ? n.slice(prefix.length) : null);

  const result = new Map<string, string>();
  const used = new Set<string>();
  const missing: string[] = [];
  const wrong: string[] = [];
  const check = (e: ExpectedTensor, isRequired: boolean) => {
    const f = fileName(e.name);
    const got = names.get(f);
    if (!got) {
      if (isRequired) missing.push(f);
      return;
    }
    used.add(f);
    if (!sameShape(got.shape, e.shape)) wrong.push(`${f}: ${fmt(got.shape)}, expected ${fmt(e.shape)}`);
    else if (isRequired) result.set(e.role, f);
  };
  for (const e of required) check(e, true);
  for (const e of optional) check(e, false);

  const unexpected: string[] = [];
  for (const [n, { shape }] of names) {
    if (used.has(n)) continue;
    const r = roleOf(n);
    const want = r !== null ? ignorable.get(r) : undefined;
    if (want === null || (want !== undefined && sameShape(shape, want))) continue;
    unexpected.push(n);
  }

  if (missing.length || unexpected.length || wrong.length) {
    const parts: string[] = [];
    if (missing.length) parts.push(listing('missing', missing));
    if (unexpected.length) parts.push(listing('unexpected', unexpected));
    if (wrong.length) parts.push(listing('with the wrong shape', wrong));
    throw new SafetensorsError(`checkpoint does not match the ${describe(c)}: ${parts.join('; ')}`);
  }
  return result;
}

function describe(c: ModelConfig): string {
  return c.kind === 'gpt2'
    ? `gpt2 config (n_layer ${c.nLayer}, n_embd ${c.nEmbd}, vocab ${c.vocabSize}, n_positions ${c.nPositions})`
    : `vit config (layers ${c.numLayers}, hidden ${c.hiddenSize}, image ${c.imageSize}/${c.patchSize}, labels ${c.numLabels})`;
}
