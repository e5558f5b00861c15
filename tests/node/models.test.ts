import { describe, expect, it } from 'vitest';
import { Tape } from '../../src/autograd/tape';
import { CpuEngine } from '../../src/backend/cpu';
import { Gpt, gptInitialWeights } from '../../src/models/gpt';
import { Vit, patchify, vitInitialWeights } from '../../src/models/vit';
import type { LabModel, ModelInput } from '../../src/models/model';
import { MICRO_GPT, MICRO_VIT, microImages, microText } from '../helpers/tiny-models';
import { testSeed } from '../helpers/random';

/** Central differences of the model loss w.r.t. a few elements of one weight, vs backward. */
function checkWeightGrad(
  make: (e: CpuEngine, w: Map<string, Float32Array>) => LabModel,
  init: Map<string, Float32Array>,
  input: ModelInput,
  name: string,
  idx: number[],
) {
  const e = new CpuEngine(true);
  const model = make(e, init);
  const tape = new Tape(e);
  const { loss } = model.forward(tape, input);
  tape.backward(loss);
  const grad = model.weights.get(name)!.grad!.f32;
  idx = idx.map((j) => j % grad.length);
  const eps = 1e-6;
  for (const j of idx) {
    const f = (d: number) => {
      const w = new Map(init);
      const v = Float64Array.from(init.get(name)!) as unknown as Float32Array;
      v[j] += d;
      w.set(name, v);
      const m = make(new CpuEngine(true), w);
      const t = new Tape(m.engine);
      const l = m.forward(t, input).loss.raw.f32[0];
      return l;
    };
    const num = (f(eps) - f(-eps)) / (2 * eps);
    expect(Math.abs(grad[j] - num), `${name}[${j}] analytic ${grad[j]} numeric ${num}`).toBeLessThan(1e-6 * Math.max(1, Math.abs(num)));
  }
}

describe('GPT-2 and ViT on the CPU engine', () => {
  const seed = testSeed();
  it('GPT-2: every weight gets a gradient matching finite differences', () => {
    const init = gptInitialWeights(MICRO_GPT, seed);
    // larger weights than GPT-2's init so the check exercises every path
    for (const [k, v] of init)
      if (!k.includes('ln_'))
        init.set(
          k,
          v.map((x) => x * 10),
        );
    const make = (e: CpuEngine, w: Map<string, Float32Array>) => new Gpt(e, MICRO_GPT, w, true);
    const input = microText(seed);
    for (const name of [
      'transformer.wte.weight',
      'transformer.wpe.weight',
      'transformer.h.0.attn.c_attn.weight',
      'transformer.h.1.mlp.c_proj.weight',
      'transformer.h.1.ln_2.bias',
      'transformer.ln_f.weight',
    ]) {
      checkWeightGrad(make, init, input, name, [0, 5, 17]);
    }
  });
  it('ViT: every weight gets a gradient matching finite differences', () => {
    const init = vitInitialWeights(MICRO_VIT, seed);
    for (const [k, v] of init)
      if (!k.includes('layernorm'))
        init.set(
          k,
          v.map((x) => x * 10),
        );
    const make = (e: CpuEngine, w: Map<string, Float32Array>) => new Vit(e, MICRO_VIT, w, true);
    const input = microImages(seed);
    for (const name of [
      'vit.embeddings.cls_token',
      'vit.embeddings.position_embeddings',
      'vit.embeddings.patch_embeddings.projection.weight',
      'vit.encoder.layer.0.attention.attention.key.weight',
      'vit.encoder.layer.1.attention.attention.value.bias',
      'vit.encoder.layer.1.output.dense.weight',
      'classifier.weight',
    ]) {
      checkWeightGrad(make, init, input, name, [0, 3, 7]);
    }
  });
  it('GPT-2 with an untied lm_head and n_inner ≠ 4·n_embd: the head and the MLP weights get matching gradients', () => {
    const c = { ...MICRO_GPT, tieWordEmbeddings: false, nInner: 17 };
    const init = gptInitialWeights(c, seed);
    for (const [k, v] of init)
      if (!k.includes('ln_'))
        init.set(
          k,
          v.map((x) => x * 10),
        );
    expect(init.get('lm_head.weight')!.length).toBe(c.vocabSize * c.nEmbd);
    const make = (e: CpuEngine, w: Map<string, Float32Array>) => new Gpt(e, c, w, true);
    const input = microText(seed);
    for (const name of [
      'lm_head.weight',
      'transformer.wte.weight',
      'transformer.h.0.mlp.c_fc.weight',
      'transformer.h.1.mlp.c_fc.bias',
      'transformer.h.1.mlp.c_proj.weight',
    ]) {
      checkWeightGrad(make, init, input, name, [0, 5, 17]);
    }
  });
  it('ViT without q/k/v biases (qkv_bias: false): gradients match', () => {
    const c = { ...MICRO_VIT, qkvBias: false };
    const init = vitInitialWeights(c, seed);
    expect(init.has('vit.encoder.layer.0.attention.attention.query.bias')).toBe(false);
    for (const [k, v] of init)
      if (!k.includes('layernorm'))
        init.set(
          k,
          v.map((x) => x * 10),
        );
    const make = (e: CpuEngine, w: Map<string, Float32Array>) => new Vit(e, c, w, true);
    for (const name of [
      'vit.encoder.layer.0.attention.attention.query.weight',
      'vit.encoder.layer.1.attention.attention.value.weight',
      'vit.encoder.layer.0.attention.output.dense.bias',
    ]) {
      checkWeightGrad(make, init, microImages(seed), name, [0, 3, 7]);
    }
  });
  it('patchify follows the Conv2d kernel order (channel, ky, kx) and row-major patches', () => {
    const c = { ...MICRO_VIT, numChannels: 2 };
    const S = c.imageSize;
    const img = Float32Array.from({ length: 2 * S * S }, (_, i) => i);
    const p = patchify(img, 1, c);
    // patch 1 is (py=0, px=1); its element (ch=1, ky=2, kx=0) is pixel (1, 2, 3)
    expect(p[1 * 18 + 1 * 9 + 2 * 3 + 0]).toBe(1 * S * S + 2 * S + 3);
  });
  it('a model refuses wrong inputs with a specific message', () => {
    const e = new CpuEngine();
    const gpt = new Gpt(e, MICRO_GPT, gptInitialWeights(MICRO_GPT, 1));
    expect(() => gpt.forward(new Tape(e), microText(1, 2, 10))).toThrow(/context 10 exceeds/);
    expect(() => gpt.forward(new Tape(e), microImages(1))).toThrow(/text input/);
    const bad = gptInitialWeights(MICRO_GPT, 1);
    bad.set('transformer.wpe.weight', new Float32Array(3));
    expect(() => new Gpt(e, MICRO_GPT, bad)).toThrow(/wpe.weight has 3 values/);
  });
});
