import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, configToJson, parseConfig, type GptConfig, type ModelConfig, type VitConfig } from '../../src/models/config';
import { GPT2_CONFIG_JSON } from '../helpers/hub-configs';
import { testSeed } from '../helpers/random';

// openai-community/gpt2 config.json (GPT-2 small, 124M), as published.
const GPT2_SMALL = GPT2_CONFIG_JSON;

// google/vit-base-patch16-224 config.json: the 1000 ImageNet labels are abbreviated to their first
// three real names plus generated ones (only the count and the order matter here).
const IMAGENET_HEAD = [
  'tench, Tinca tinca',
  'goldfish, Carassius auratus',
  'great white shark, white shark, man-eater, man-eating shark, Carcharodon carcharias',
];
const imagenetLabels = Array.from({ length: 1000 }, (_, i) => IMAGENET_HEAD[i] ?? `class ${i}`);
const VIT_BASE = {
  _name_or_path: 'google/vit-base-patch16-224',
  architectures: ['ViTForImageClassification'],
  attention_probs_dropout_prob: 0.0,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.0,
  hidden_size: 768,
  id2label: Object.fromEntries(imagenetLabels.map((l, i) => [String(i), l])),
  image_size: 224,
  initializer_range: 0.02,
  intermediate_size: 3072,
  label2id: Object.fromEntries(imagenetLabels.map((l, i) => [l, i])),
  layer_norm_eps: 1e-12,
  model_type: 'vit',
  num_attention_heads: 12,
  num_channels: 3,
  num_hidden_layers: 12,
  patch_size: 16,
  qkv_bias: true,
  transformers_version: '4.13.0.dev0',
};

function expectConfigError(json: unknown, ...parts: (string | RegExp)[]): void {
  let err: unknown;
  try {
    parseConfig(json);
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a ConfigError').toBeInstanceOf(ConfigError);
  for (const p of parts) expect((err as Error).message).toMatch(p);
}

describe('parseConfig: real configs', () => {
  it('GPT-2 small', () => {
    expect(parseConfig(GPT2_SMALL)).toEqual({
      kind: 'gpt2',
      vocabSize: 50257,
      nPositions: 1024,
      nEmbd: 768,
      nLayer: 12,
      nHead: 12,
      layerNormEps: 1e-5,
      tieWordEmbeddings: true,
    });
  });

  it('ViT-B/16 (google/vit-base-patch16-224)', () => {
    const c = parseConfig(VIT_BASE) as VitConfig;
    expect({ ...c, labels: undefined }).toEqual({
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
      labels: undefined,
      hiddenAct: 'gelu', // Google's checkpoints use the exact erf GELU
    });
    expect(c.labels).toEqual(imagenetLabels);
  });

  it('defaults and alternatives: n_ctx only, untied head, no qkv_bias key, labels from num_labels', () => {
    const { n_positions: _, ...old } = GPT2_SMALL;
    expect(parseConfig({ ...old, n_ctx: 512, tie_word_embeddings: false }) as GptConfig).toMatchObject({ nPositions: 512, tieWordEmbeddings: false });
    const { qkv_bias: __, id2label: ___, label2id: ____, ...bare } = VIT_BASE;
    const v = parseConfig({ ...bare, num_labels: 3 }) as VitConfig;
    expect(v.qkvBias).toBe(true);
    expect(v.labels).toEqual(['LABEL_0', 'LABEL_1', 'LABEL_2']);
    expect((parseConfig(bare) as VitConfig).numLabels).toBe(2); // transformers' default
    expect(parseConfig({ ...VIT_BASE, hidden_act: 'gelu_new', qkv_bias: false })).toMatchObject({ qkvBias: false });
  });
});

describe('parseConfig: bad values name the key and the value', () => {
  const gpt = (patch: Record<string, unknown>) => ({ ...GPT2_SMALL, ...patch });
  const vit = (patch: Record<string, unknown>) => ({ ...VIT_BASE, ...patch });

  it('not an object / unknown model type', () => {
    expectConfigError(null, /expected a JSON object, got null/);
    expectConfigError([1], /expected a JSON object/);
    expectConfigError({ ...GPT2_SMALL, model_type: 'llama' }, /"model_type" must be "gpt2" or "vit", got "llama"/);
    expectConfigError({ n_embd: 768 }, /"model_type"/, /undefined/);
  });

  it('GPT-2', () => {
    const { n_embd: _, ...noEmbd } = GPT2_SMALL;
    expectConfigError(noEmbd, /missing required key "n_embd"/);
    expectConfigError(gpt({ n_layer: 1.5 }), /"n_layer" must be an integer in 1\.\.1024, got 1\.5/);
    expectConfigError(gpt({ n_layer: '12' }), /"n_layer" .* got "12"/);
    expectConfigError(gpt({ n_layer: 0 }), /"n_layer" .* got 0/);
    expectConfigError(gpt({ n_head: 7 }), /"n_head" = 7 does not divide "n_embd" = 768/);
    expectConfigError(gpt({ vocab_size: 2_000_000 }), /"vocab_size" must be an integer in 1\.\.1000000, got 2000000/);
    expectConfigError(gpt({ n_positions: 100_000 }), /"n_positions" .* got 100000/);
    expectConfigError(gpt({ n_positions: undefined, n_ctx: -4 }), /"n_ctx" .* got -4/);
    expectConfigError(gpt({ n_positions: undefined, n_ctx: undefined }), /missing required key "n_positions"/);
    expectConfigError(gpt({ activation_function: 'relu' }), /"activation_function" = "relu" is not supported/);
    expectConfigError(gpt({ n_inner: 0 }), /"n_inner" must be an integer in 1\.\.\d+, got 0/);
    expect((parseConfig(gpt({ n_inner: 1000 })) as GptConfig).nInner).toBe(1000); // any MLP width is supported
    expectConfigError(gpt({ add_cross_attention: true }), /"add_cross_attention" = true/);
    expectConfigError(gpt({ scale_attn_by_inverse_layer_idx: true }), /"scale_attn_by_inverse_layer_idx" = true/);
    expectConfigError(gpt({ layer_norm_epsilon: -1 }), /"layer_norm_epsilon" must be a number in \(0, 0\.1\), got -1/);
    expectConfigError(gpt({ layer_norm_epsilon: '1e-5' }), /"layer_norm_epsilon" .* got "1e-5"/);
    expectConfigError(gpt({ tie_word_embeddings: 1 }), /"tie_word_embeddings" must be true or false, got 1/);
    expect(parseConfig(gpt({ n_inner: 3072, add_cross_attention: false }))).toEqual(parseConfig(GPT2_SMALL));
  });

  it('ViT', () => {
    expectConfigError(vit({ patch_size: 15 }), /"patch_size" = 15 does not divide "image_size" = 224/);
    expectConfigError(vit({ patch_size: 448 }), /"patch_size" must be an integer in 1\.\.224, got 448/);
    expectConfigError(vit({ num_attention_heads: 5 }), /"num_attention_heads" = 5 does not divide "hidden_size" = 768/);
    expectConfigError(vit({ hidden_act: 'relu' }), /"hidden_act" = "relu" is not supported/);
    expectConfigError(vit({ num_channels: 0 }), /"num_channels" .* got 0/);
    expectConfigError(vit({ image_size: 1e9 }), /"image_size" .* got 1000000000/);
    expectConfigError(vit({ qkv_bias: 'yes' }), /"qkv_bias" must be true or false, got "yes"/);
    expectConfigError(vit({ num_labels: 10 }), /"num_labels" = 10 but "id2label" has 1000 entries/);
    expectConfigError(vit({ id2label: { 0: 'a', 2: 'b' } }), /"id2label" keys must be "0".."1", got "2"/);
    expectConfigError(vit({ id2label: { '01': 'a' } }), /"id2label" keys .* got "01"/);
    expectConfigError(vit({ id2label: { 0: 7 } }), /"id2label"\["0"\] must be a string, got 7/);
    expectConfigError(vit({ id2label: ['a'] }), /"id2label" must be an object/);
    expectConfigError(vit({ id2label: {} }), /"id2label" must have 1\.\.1000000 entries, got 0/);
    expectConfigError(vit({ layer_norm_eps: 0 }), /"layer_norm_eps" .* got 0/);
  });
});

describe('configToJson', () => {
  it('writes Hugging Face keys that parse back to the same config (real configs)', () => {
    const g = parseConfig(GPT2_SMALL);
    const gj = configToJson(g);
    expect(gj).toMatchObject({
      architectures: ['GPT2LMHeadModel'],
      model_type: 'gpt2',
      torch_dtype: 'float32',
      n_embd: 768,
      n_positions: 1024,
      vocab_size: 50257,
      activation_function: 'gelu_new',
    });
    expect(parseConfig(JSON.parse(JSON.stringify(gj)))).toEqual(g);
    const v = parseConfig(VIT_BASE);
    const vj = configToJson(v);
    expect(vj).toMatchObject({
      architectures: ['ViTForImageClassification'],
      model_type: 'vit',
      torch_dtype: 'float32',
      hidden_size: 768,
      image_size: 224,
      patch_size: 16,
      qkv_bias: true,
    });
    expect((vj.id2label as Record<string, string>)['2']).toBe(IMAGENET_HEAD[2]);
    expect((vj.label2id as Record<string, number>)[IMAGENET_HEAD[1]]).toBe(1);
    expect(parseConfig(JSON.parse(JSON.stringify(vj)))).toEqual(v);
  });

  it('round-trips random valid configs (fast-check)', () => {
    const eps = fc.constantFrom(1e-5, 1e-6, 1e-12, 0.001);
    const gptArb: fc.Arbitrary<ModelConfig> = fc
      .record({
        nHead: fc.integer({ min: 1, max: 16 }),
        headDim: fc.integer({ min: 1, max: 64 }),
        vocabSize: fc.integer({ min: 1, max: 1_000_000 }),
        nPositions: fc.integer({ min: 1, max: 65536 }),
        nLayer: fc.integer({ min: 1, max: 48 }),
        layerNormEps: eps,
        tieWordEmbeddings: fc.boolean(),
      })
      .map(({ headDim, ...r }) => ({ kind: 'gpt2' as const, ...r, nEmbd: r.nHead * headDim }));
    const vitArb: fc.Arbitrary<ModelConfig> = fc
      .record({
        numHeads: fc.integer({ min: 1, max: 16 }),
        headDim: fc.integer({ min: 1, max: 64 }),
        numLayers: fc.integer({ min: 1, max: 24 }),
        intermediateSize: fc.integer({ min: 1, max: 4096 }),
        patchSize: fc.integer({ min: 1, max: 32 }),
        patches: fc.integer({ min: 1, max: 16 }),
        numChannels: fc.integer({ min: 1, max: 4 }),
        layerNormEps: eps,
        qkvBias: fc.boolean(),
        labels: fc.array(fc.string({ maxLength: 5 }), { minLength: 1, maxLength: 20 }),
      })
      .map(({ headDim, patches, ...r }) => ({
        kind: 'vit' as const,
        ...r,
        hiddenSize: r.numHeads * headDim,
        imageSize: r.patchSize * patches,
        numLabels: r.labels.length,
        hiddenAct: 'gelu_new' as const,
      }));
    fc.assert(
      fc.property(fc.oneof(gptArb, vitArb), (c) => {
        expect(parseConfig(JSON.parse(JSON.stringify(configToJson(c))))).toEqual(c);
      }),
      { numRuns: 500, seed: testSeed() },
    );
  });

  it('refuses a ViT config whose labels disagree with numLabels', () => {
    const v = { ...(parseConfig(VIT_BASE) as VitConfig), numLabels: 5 };
    expect(() => configToJson(v)).toThrow(/numLabels = 5 but 1000 labels/);
  });
});
