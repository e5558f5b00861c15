import { describe, expect, it } from 'vitest';
import type { GptConfig, VitConfig } from '../../src/models/config';
import { expectedTensors, matchCheckpoint } from '../../src/models/hf-names';
import { SafetensorsError } from '../../src/models/safetensors';

const GPT2_SMALL: GptConfig = { kind: 'gpt2', vocabSize: 50257, nPositions: 1024, nEmbd: 768, nLayer: 12, nHead: 12, layerNormEps: 1e-5, tieWordEmbeddings: true };
const VIT_B16: VitConfig = {
  kind: 'vit', hiddenSize: 768, numLayers: 12, numHeads: 12, intermediateSize: 3072, imageSize: 224, patchSize: 16,
  numChannels: 3, numLabels: 1000, layerNormEps: 1e-12, qkvBias: true, labels: Array.from({ length: 1000 }, (_, i) => `c${i}`),
};
const tinyGpt: GptConfig = { kind: 'gpt2', vocabSize: 11, nPositions: 7, nEmbd: 6, nLayer: 2, nHead: 2, layerNormEps: 1e-5, tieWordEmbeddings: true };
const tinyVit: VitConfig = {
  kind: 'vit', hiddenSize: 4, numLayers: 2, numHeads: 2, intermediateSize: 5, imageSize: 6, patchSize: 3,
  numChannels: 1, numLabels: 3, layerNormEps: 1e-12, qkvBias: true, labels: ['a', 'b', 'c'],
};

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const params = (ts: { shape: number[] }[]) => ts.reduce((s, t) => s + count(t.shape), 0);
const asFile = (entries: [string, number[]][]) => new Map(entries.map(([n, shape]) => [n, { shape }]));

function matchError(c: GptConfig | VitConfig, file: Map<string, { shape: number[] }>): string {
  try {
    matchCheckpoint(c, file);
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    return (e as Error).message;
  }
  throw new Error('matchCheckpoint accepted a bad checkpoint');
}

describe('expectedTensors', () => {
  it('GPT-2 small: 4 + 12 per layer = 148 tensors, 124,439,808 parameters (the published count)', () => {
    const ts = expectedTensors(GPT2_SMALL);
    expect(ts.length).toBe(4 + 12 * GPT2_SMALL.nLayer);
    expect(ts.length).toBe(148);
    expect(params(ts)).toBe(124_439_808);
    expect(new Set(ts.map((t) => t.name)).size).toBe(ts.length);
    expect(new Set(ts.map((t) => t.role)).size).toBe(ts.length);
    const byRole = new Map(ts.map((t) => [t.role, t]));
    expect(byRole.get('wte')).toEqual({ name: 'transformer.wte.weight', shape: [50257, 768], role: 'wte' });
    expect(byRole.get('wpe')!.shape).toEqual([1024, 768]);
    // Conv1D weights are [in, out].
    expect(byRole.get('h.0.attn.c_attn.weight')).toEqual({ name: 'transformer.h.0.attn.c_attn.weight', shape: [768, 2304], role: 'h.0.attn.c_attn.weight' });
    expect(byRole.get('h.11.mlp.c_fc.weight')!.shape).toEqual([768, 3072]);
    expect(byRole.get('h.11.mlp.c_proj.weight')!.shape).toEqual([3072, 768]);
    expect(byRole.get('ln_f.bias')!.name).toBe('transformer.ln_f.bias');
    expect(byRole.has('lm_head')).toBe(false);
    const untied = expectedTensors({ ...GPT2_SMALL, tieWordEmbeddings: false });
    expect(untied.length).toBe(149);
    expect(untied[untied.length - 1]).toEqual({ name: 'lm_head.weight', shape: [50257, 768], role: 'lm_head' });
  });

  it('ViT-B/16: 4 + 16 per layer + 4 = 200 tensors, 86,567,656 parameters (the published count)', () => {
    const ts = expectedTensors(VIT_B16);
    expect(ts.length).toBe(200);
    expect(params(ts)).toBe(86_567_656);
    const byName = new Map(ts.map((t) => [t.name, t]));
    expect(byName.get('vit.embeddings.position_embeddings')!.shape).toEqual([1, 197, 768]);
    expect(byName.get('vit.embeddings.cls_token')!.shape).toEqual([1, 1, 768]);
    expect(byName.get('vit.embeddings.patch_embeddings.projection.weight')!.shape).toEqual([768, 3, 16, 16]);
    // torch Linear weights are [out, in].
    expect(byName.get('vit.encoder.layer.3.intermediate.dense.weight')!.shape).toEqual([3072, 768]);
    expect(byName.get('vit.encoder.layer.3.output.dense.weight')!.shape).toEqual([768, 3072]);
    expect(byName.get('vit.encoder.layer.0.attention.attention.query.weight')!.role).toBe('encoder.layer.0.attention.attention.query.weight');
    expect(byName.get('classifier.weight')).toEqual({ name: 'classifier.weight', shape: [1000, 768], role: 'classifier.weight' });
    expect(byName.get('vit.layernorm.bias')!.role).toBe('layernorm.bias');
    const noBias = expectedTensors({ ...VIT_B16, qkvBias: false });
    expect(noBias.length).toBe(200 - 3 * 12);
    expect(noBias.some((t) => t.name.endsWith('query.bias'))).toBe(false);
  });
});

describe('matchCheckpoint', () => {
  const gptNames = expectedTensors(tinyGpt).map((t) => [t.name, t.shape] as [string, number[]]);
  const strip = (n: string) => n.replace(/^transformer\./, '');

  it('accepts GPT-2 files with the transformer. prefix, with mask buffers and a tied lm_head', () => {
    const file = asFile([
      ...gptNames,
      ['transformer.h.0.attn.bias', [1, 1, 7, 7]],
      ['transformer.h.1.attn.bias', [1, 1, 7, 7]],
      ['transformer.h.1.attn.masked_bias', []],
      ['lm_head.weight', [11, 6]],
    ]);
    const m = matchCheckpoint(tinyGpt, file);
    expect(m.size).toBe(gptNames.length);
    expect(m.get('wte')).toBe('transformer.wte.weight');
    expect(m.get('h.1.attn.c_proj.bias')).toBe('transformer.h.1.attn.c_proj.bias');
    expect(m.has('lm_head')).toBe(false);
  });

  it('accepts GPT-2 files without the prefix (the hub model.safetensors naming)', () => {
    const file = asFile([...gptNames.map(([n, s]) => [strip(n), s] as [string, number[]]), ['h.0.attn.bias', [1, 1, 7, 7]]]);
    const m = matchCheckpoint(tinyGpt, file);
    expect(m.get('wte')).toBe('wte.weight');
    expect(m.get('h.0.attn.c_attn.weight')).toBe('h.0.attn.c_attn.weight');
    expect([...m.keys()]).toEqual(expectedTensors(tinyGpt).map((t) => t.role));
  });

  it('requires lm_head.weight when the head is untied, and checks its shape when tied', () => {
    const untied = { ...tinyGpt, tieWordEmbeddings: false };
    expect(matchError(untied, asFile(gptNames))).toMatch(/1 missing \(lm_head\.weight\)/);
    expect(matchCheckpoint(untied, asFile([...gptNames, ['lm_head.weight', [11, 6]]])).get('lm_head')).toBe('lm_head.weight');
    expect(matchError(tinyGpt, asFile([...gptNames, ['lm_head.weight', [11, 5]]]))).toMatch(/1 with the wrong shape \(lm_head\.weight: \[11, 5\], expected \[11, 6\]\)/);
  });

  it('lists missing, unexpected and wrongly shaped tensors (first five and a count)', () => {
    const file = asFile([
      ...gptNames.filter(([n]) => !n.includes('h.1.')).map(([n, s]) => [n, n === 'transformer.wpe.weight' ? [8, 6] : s] as [string, number[]]),
      ['transformer.h.2.attn.bias', [1, 1, 7, 7]], // a layer the config does not have
      ['extra.thing', [3]],
    ]);
    const msg = matchError(tinyGpt, file);
    expect(msg).toMatch(/checkpoint does not match the gpt2 config \(n_layer 2, n_embd 6/);
    expect(msg).toMatch(/12 missing \(transformer\.h\.1\.ln_1\.weight, transformer\.h\.1\.ln_1\.bias, .*, \.\.\. 7 more\)/);
    expect(msg).toMatch(/2 unexpected \(transformer\.h\.2\.attn\.bias, extra\.thing\)/);
    expect(msg).toMatch(/1 with the wrong shape \(transformer\.wpe\.weight: \[8, 6\], expected \[7, 6\]\)/);
  });

  it('does not mix naming conventions in one file', () => {
    const mixed = asFile(gptNames.map(([n, s], i) => [i === 3 ? strip(n) : n, s] as [string, number[]]));
    const msg = matchError(tinyGpt, mixed);
    expect(msg).toMatch(/1 missing \(transformer\.h\.0\.ln_1\.bias\)/);
    expect(msg).toMatch(/1 unexpected \(h\.0\.ln_1\.bias\)/);
    // A mask buffer with the other prefix is unexpected too.
    expect(matchError(tinyGpt, asFile([...gptNames, ['h.0.attn.bias', [1]]]))).toMatch(/1 unexpected \(h\.0\.attn\.bias\)/);
  });

  it('matches ViT checkpoints, with or without the vit. prefix, ignoring a pooler', () => {
    const vitNames = expectedTensors(tinyVit).map((t) => [t.name, t.shape] as [string, number[]]);
    const m = matchCheckpoint(tinyVit, asFile([...vitNames, ['vit.pooler.dense.weight', [4, 4]], ['vit.pooler.dense.bias', [4]]]));
    expect(m.size).toBe(vitNames.length);
    expect(m.get('embeddings.position_embeddings')).toBe('vit.embeddings.position_embeddings');
    expect(m.get('classifier.bias')).toBe('classifier.bias');
    const bare = matchCheckpoint(tinyVit, asFile(vitNames.map(([n, s]) => [n.replace(/^vit\./, ''), s] as [string, number[]])));
    expect(bare.get('encoder.layer.1.output.dense.weight')).toBe('encoder.layer.1.output.dense.weight');
    expect(matchError(tinyVit, asFile([...vitNames, ['vit.pooler.dense.weight', [4, 3]]]))).toMatch(/1 unexpected \(vit\.pooler\.dense\.weight\)/);
    const noBias = { ...tinyVit, qkvBias: false };
    expect(matchError(noBias, asFile(vitNames))).toMatch(/6 unexpected \(vit\.encoder\.layer\.0\.attention\.attention\.query\.bias/);
    expect(matchError(tinyVit, asFile(vitNames.filter(([n]) => n !== 'classifier.weight')))).toMatch(/checkpoint does not match the vit config .*1 missing \(classifier\.weight\)/);
  });
});
