// The Hugging Face tensor names and shapes of the real loader (parameterShapes, canonicalWeights in
// src/models/checkpoint.ts; the lists live in gpt.ts and vit.ts), checked against the published
// models: GPT-2 small and ViT-B/16 parameter counts, and the layouts (the trap: GPT-2's Conv1D
// stores [in, out], ViT's torch Linear [out, in]; an untied lm_head is a torch Linear, [vocab, n_embd]). Missing, extra and misshapen tensors are fuzzed in
// fuzz-config.test.ts.
import { describe, expect, it } from 'vitest';
import { canonicalWeights, parameterShapes } from '../../src/models/checkpoint';
import type { GptConfig, ModelConfig } from '../../src/models/config';
import { SafetensorsError, type StTensor } from '../../src/models/safetensors';
import { GPT2_SMALL, VIT_B16 } from '../helpers/hub-configs';

const tinyGpt: GptConfig = { kind: 'gpt2', vocabSize: 11, nPositions: 7, nEmbd: 6, nLayer: 2, nHead: 2, layerNormEps: 1e-5, tieWordEmbeddings: true };

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const tensor = (name: string, shape: number[]): [string, StTensor] => [name, { name, dtype: 'F32', shape, bytes: new Uint8Array(4 * count(shape)) }];
const fileOf = (c: ModelConfig, rename = (n: string) => n) => new Map(parameterShapes(c).map(([n, s]) => tensor(rename(n), s)));

describe('parameterShapes: the published models', () => {
  it('GPT-2 small: 4 + 12 per layer = 148 tensors, 124,439,808 parameters (the published count)', () => {
    const ts = parameterShapes(GPT2_SMALL);
    expect(ts.length).toBe(148);
    expect(ts.reduce((s, [, shape]) => s + count(shape), 0)).toBe(124_439_808);
    expect(new Set(ts.map(([n]) => n)).size).toBe(ts.length);
    const shape = new Map(ts);
    expect(shape.get('transformer.wte.weight')).toEqual([50257, 768]);
    expect(shape.get('transformer.wpe.weight')).toEqual([1024, 768]);
    // Conv1D weights are [in, out]; c_attn holds q|k|v side by side along the output axis.
    expect(shape.get('transformer.h.0.attn.c_attn.weight')).toEqual([768, 2304]);
    expect(shape.get('transformer.h.11.mlp.c_fc.weight')).toEqual([768, 3072]);
    expect(shape.get('transformer.h.11.mlp.c_proj.weight')).toEqual([3072, 768]);
    expect(shape.has('transformer.ln_f.bias')).toBe(true);
    expect(shape.has('lm_head.weight')).toBe(false); // tied to wte
  });

  it('ViT-B/16: 4 + 16 per layer + 4 = 200 tensors, 86,567,656 parameters (the published count)', () => {
    const ts = parameterShapes(VIT_B16);
    expect(ts.length).toBe(200);
    expect(ts.reduce((s, [, shape]) => s + count(shape), 0)).toBe(86_567_656);
    const shape = new Map(ts);
    expect(shape.get('vit.embeddings.position_embeddings')).toEqual([1, 197, 768]);
    expect(shape.get('vit.embeddings.cls_token')).toEqual([1, 1, 768]);
    expect(shape.get('vit.embeddings.patch_embeddings.projection.weight')).toEqual([768, 3, 16, 16]);
    // torch Linear weights are [out, in].
    expect(shape.get('vit.encoder.layer.3.intermediate.dense.weight')).toEqual([3072, 768]);
    expect(shape.get('vit.encoder.layer.3.output.dense.weight')).toEqual([768, 3072]);
    expect(shape.get('classifier.weight')).toEqual([1000, 768]);
  });
});

describe('canonicalWeights: GPT-2 naming variants', () => {
  it('accepts the transformer. prefix with causal-mask buffers and a tied lm_head, or the hub names without the prefix', () => {
    const withBuffers = fileOf(tinyGpt);
    for (const [n, s] of [
      ['transformer.h.0.attn.bias', [1, 1, 7, 7]],
      ['transformer.h.1.attn.masked_bias', []],
      ['lm_head.weight', [11, 6]],
    ] as [string, number[]][])
      withBuffers.set(...tensor(n, s));
    const w = canonicalWeights(tinyGpt, withBuffers);
    expect([...w.keys()]).toEqual(parameterShapes(tinyGpt).map(([n]) => n));
    const bare = fileOf(tinyGpt, (n) => n.replace(/^transformer\./, ''));
    bare.set(...tensor('h.0.attn.bias', [1, 1, 7, 7]));
    expect([...canonicalWeights(tinyGpt, bare).keys()]).toEqual(parameterShapes(tinyGpt).map(([n]) => n));
  });

  it('checks a tied lm_head.weight against wte', () => {
    const file = fileOf(tinyGpt);
    file.set(...tensor('lm_head.weight', [11, 5]));
    expect(() => canonicalWeights(tinyGpt, file)).toThrow(SafetensorsError);
    expect(() => canonicalWeights(tinyGpt, file)).toThrow('lm_head.weight has shape [11, 5], expected tied [11, 6]');
  });

  it('an untied head (tie_word_embeddings: false) is a weight of its own: lm_head.weight is required and kept', () => {
    const untied = { ...tinyGpt, tieWordEmbeddings: false };
    const file = fileOf(untied);
    expect(file.has('lm_head.weight')).toBe(true);
    expect([...canonicalWeights(untied, file).keys()]).toContain('lm_head.weight');
    file.set(...tensor('lm_head.weight', [6, 11])); // transposed
    expect(() => canonicalWeights(untied, file)).toThrow('tensor lm_head.weight has shape [6, 11], the config needs [11, 6]');
    file.delete('lm_head.weight');
    expect(() => canonicalWeights(untied, file)).toThrow(/lacks 1 tensor\(s\) the config needs: lm_head\.weight$/);
  });
});
