// config.json files exactly as the hub publishes them parse (keys that only matter to training or
// generation are ignored), with the published parameter counts; the GPT-2 options the lab now
// implements (n_inner, an untied lm_head, the other names of the tanh GELU) and the ones it still
// refuses by key. Deterministic.
import { describe, expect, it } from 'vitest';
import { parameterShapes } from '../../src/models/checkpoint';
import { ConfigError, configToJson, gptInnerSize, parseConfig, type GptConfig } from '../../src/models/config';
import { gptHeadWeightName, gptMaskSites } from '../../src/models/gpt';
import { DISTILGPT2_CONFIG_JSON, GPT2_CONFIG_JSON, GPT2_MEDIUM_CONFIG_JSON, GPT2_SAVED_CONFIG_JSON, GPT2_SMALL } from '../helpers/hub-configs';

const count = (c: GptConfig) => parameterShapes(c).reduce((s, [, shape]) => s + shape.reduce((a, b) => a * b, 1), 0);
const gpt = (patch: Record<string, unknown>) => parseConfig({ ...GPT2_CONFIG_JSON, ...patch }) as GptConfig;

function refused(patch: Record<string, unknown>, message: RegExp): void {
  expect(() => gpt(patch)).toThrow(ConfigError);
  expect(() => gpt(patch)).toThrow(message);
}

describe('hub config.json files, verbatim', () => {
  it('gpt2, distilgpt2, gpt2-medium and a save_pretrained config parse to the published architectures', () => {
    expect(parseConfig(GPT2_CONFIG_JSON)).toEqual(GPT2_SMALL);
    expect(parseConfig(GPT2_SAVED_CONFIG_JSON)).toEqual(GPT2_SMALL);
    expect(count(GPT2_SMALL)).toBe(124_439_808);
    const distil = parseConfig(DISTILGPT2_CONFIG_JSON) as GptConfig;
    expect(distil).toEqual({ ...GPT2_SMALL, nLayer: 6 });
    expect(count(distil)).toBe(81_912_576);
    const medium = parseConfig(GPT2_MEDIUM_CONFIG_JSON) as GptConfig;
    expect(medium).toEqual({ ...GPT2_SMALL, nEmbd: 1024, nHead: 16, nLayer: 24 });
    expect(count(medium)).toBe(354_823_168);
    expect(parameterShapes(medium).find(([n]) => n === 'transformer.h.23.mlp.c_proj.weight')![1]).toEqual([4096, 1024]);
  });

  it('n_ctx and n_positions: n_positions sizes wpe (1024 on the hub)', () => {
    expect(gpt({ n_ctx: 512 }).nPositions).toBe(1024);
    expect(parameterShapes(gpt({})).find(([n]) => n === 'transformer.wpe.weight')![1]).toEqual([1024, 768]);
  });
});

describe('GPT-2 options', () => {
  it('activation_function: gelu_new, gelu_pytorch_tanh and gelu_fast are the one tanh GELU; others are refused by key', () => {
    for (const a of ['gelu_new', 'gelu_pytorch_tanh', 'gelu_fast']) expect(gpt({ activation_function: a })).toEqual(GPT2_SMALL);
    refused({ activation_function: 'gelu' }, /"activation_function" = "gelu" is not supported \(only the tanh GELU: gelu_new, gelu_pytorch_tanh, gelu_fast\)/);
    refused({ activation_function: 'relu' }, /"activation_function" = "relu" is not supported/);
    refused({ activation_function: null }, /"activation_function" = null is not supported/);
  });

  it('reorder_and_upcast_attn changes only half-precision numerics: either value, but a boolean', () => {
    expect(gpt({ reorder_and_upcast_attn: true })).toEqual(GPT2_SMALL);
    refused({ reorder_and_upcast_attn: 'yes' }, /"reorder_and_upcast_attn" = "yes" is not supported \(true or false\)/);
  });

  it('what changes the network and is not implemented is still refused by key', () => {
    refused({ scale_attn_by_inverse_layer_idx: true }, /"scale_attn_by_inverse_layer_idx" = true is not supported/);
    refused({ scale_attn_weights: false }, /"scale_attn_weights" = false is not supported/);
    refused({ add_cross_attention: true }, /"add_cross_attention" = true is not supported/);
  });

  it('n_inner: null or 4·n_embd = the default (not stored); another width is kept, shapes and mask sites follow, configToJson writes it', () => {
    expect(gpt({ n_inner: null })).toEqual(GPT2_SMALL);
    expect(gpt({ n_inner: 3072 })).toEqual(GPT2_SMALL);
    expect(gptInnerSize(GPT2_SMALL)).toBe(3072);
    const narrow = gpt({ n_inner: 1000 });
    expect(narrow.nInner).toBe(1000);
    expect(gptInnerSize(narrow)).toBe(1000);
    const shape = new Map(parameterShapes(narrow));
    expect(shape.get('transformer.h.0.mlp.c_fc.weight')).toEqual([768, 1000]);
    expect(shape.get('transformer.h.0.mlp.c_fc.bias')).toEqual([1000]);
    expect(shape.get('transformer.h.11.mlp.c_proj.weight')).toEqual([1000, 768]);
    expect(gptMaskSites(narrow).find((s) => s.name === 'transformer.h.3.mlp.c_proj.weight')!.shape).toEqual([1000, 768]);
    expect(count(narrow)).toBe(count(GPT2_SMALL) - 12 * (2 * 768 * 2072 + 2072));
    expect(configToJson(narrow).n_inner).toBe(1000);
    expect(configToJson(GPT2_SMALL).n_inner).toBeNull();
    expect(parseConfig(JSON.parse(JSON.stringify(configToJson(narrow))))).toEqual(narrow);
    refused({ n_inner: 0 }, /"n_inner" must be an integer in 1\.\.\d+, got 0/);
    refused({ n_inner: '3072' }, /"n_inner" must be an integer .*got "3072"/);
    refused({ n_inner: 1.5 }, /"n_inner" must be an integer .*got 1\.5/);
  });

  it('tie_word_embeddings: false adds lm_head.weight [vocab, n_embd] (HF name, no prefix) and the logits use it', () => {
    const untied = gpt({ tie_word_embeddings: false });
    expect(untied.tieWordEmbeddings).toBe(false);
    const names = parameterShapes(untied);
    expect(names[names.length - 1]).toEqual(['lm_head.weight', [50257, 768]]);
    expect(count(untied)).toBe(124_439_808 + 50257 * 768);
    expect(gptHeadWeightName(untied)).toBe('lm_head.weight');
    expect(gptHeadWeightName(GPT2_SMALL)).toBe('transformer.wte.weight');
    expect(gptMaskSites(untied).some((s) => s.name === 'lm_head.weight')).toBe(false); // masks stay on the blocks' Linears
    expect(parseConfig(JSON.parse(JSON.stringify(configToJson(untied))))).toEqual(untied);
  });
});
