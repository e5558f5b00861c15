// Checkpoints in the hub's layout (names without `transformer.`, Conv1D [in, out], causal-mask
// buffers in F32, BOOL or U8, F32/F16/BF16 weights, sharded as transformers writes them) load to
// exactly the values written, tensor by tensor: the models read a WeightSource, converting and
// uploading one tensor at a time, and an aligned F32 tensor is read without a copy. Also the GPT-2
// options the loader now takes (untied lm_head, n_inner) and ViT without q/k/v biases.
// Sizes, values, dtypes and shard sizes are drawn from testSeed().
import { describe, expect, it } from 'vitest';
import { Tape } from '../../src/autograd/tape';
import type { RawTensor } from '../../src/backend/tensor';
import { CpuEngine } from '../../src/backend/cpu';
import { buildModel, openCheckpoint, parameterShapes, readCheckpoint, writeCheckpoint, type WeightSource } from '../../src/models/checkpoint';
import { configToJson, type GptConfig, type VitConfig } from '../../src/models/config';
import { Gpt, gptInitialWeights } from '../../src/models/gpt';
import { readSafetensors, writeSafetensors } from '../../src/models/safetensors';
import { Vit, vitInitialWeights, vitParameterShapes } from '../../src/models/vit';
import { hubGptTensors, shardLikeTransformers, type HubGptOptions, type MaskBuffers } from '../helpers/hub-configs';
import { randint, randn, testSeed } from '../helpers/random';
import { MICRO_VIT, microImages, microText } from '../helpers/tiny-models';

const seed = testSeed();
const pick = (k: number, n: number) => randint(k + 1, seed + 4099, n)[k];

/** A small GPT-2 drawn from the seed; an odd n_positions makes a BOOL/U8 attn.bias [1,1,P,P] odd-sized, so the tensors after it sit unaligned. */
function drawConfig(k: number, over: Partial<GptConfig> = {}): GptConfig {
  const nHead = 1 + pick(k, 3);
  const nEmbd = nHead * (2 + pick(k + 1, 4));
  const c: GptConfig = {
    kind: 'gpt2',
    vocabSize: 5 + pick(k + 2, 20),
    nPositions: 3 + 2 * pick(k + 3, 5),
    nEmbd,
    nLayer: 1 + pick(k + 4, 3),
    nHead,
    layerNormEps: 1e-5,
    tieWordEmbeddings: pick(k + 5, 2) === 0,
    ...over,
  };
  // n_inner ≠ 4·n_embd by construction (equal, parseConfig would leave it out)
  if (pick(k + 6, 2) === 0 && over.nInner === undefined) {
    const width = 1 + pick(k + 7, 40);
    c.nInner = width === 4 * nEmbd ? width + 1 : width;
  }
  return c;
}

/** Random weights, with f16 subnormals and a value that rounds differently in f16 and bf16 in them. */
function drawWeights(c: GptConfig, k: number): Map<string, Float32Array> {
  const w = new Map<string, Float32Array>();
  parameterShapes(c).forEach(([name, shape], i) => {
    const v = randn(
      shape.reduce((a, b) => a * b, 1),
      seed + 31 * k + i,
      0.5,
    );
    if (v.length > 2) [v[0], v[1], v[2]] = [3e-6, -1.0009765625 / 3, 0];
    w.set(name, v);
  });
  return w;
}

const MASKS: MaskBuffers[] = ['none', 'F32', 'BOOL', 'U8'];

function expectValues(src: WeightSource, expected: Map<string, Float32Array>): void {
  expect([...src.names]).toEqual([...expected.keys()]);
  for (const [name, v] of expected) expect(src.read(name), name).toEqual(v);
}

describe(`hub-layout GPT-2 files load to the values written (seed ${seed})`, () => {
  for (const [k, dtype] of (['F32', 'F16', 'BF16'] as const).entries()) {
    it(`${dtype} weights, causal-mask buffers, one file and sharded like transformers`, async () => {
      const c = drawConfig(10 * k);
      const opts: HubGptOptions = { dtype, buffers: MASKS[pick(10 * k + 8, 4)], maskedBias: pick(10 * k + 9, 2) === 0, tiedHead: true };
      const { tensors, expected } = hubGptTensors(c, drawWeights(c, k), opts);
      expect(tensors.some((t) => t.name.startsWith('transformer.'))).toBe(false);
      const single = writeSafetensors(tensors, { format: 'pt' });
      const src = openCheckpoint([{ name: 'model.safetensors', bytes: single }], configToJson(c)).weights;
      expectValues(src, expected);

      // 3 or more shards, made so: a buffer or wte can be a third of a micro model and fill a shard alone
      const total = tensors.reduce((s, t) => s + t.data.byteLength, 0);
      let maxShard = Math.ceil(total / (3 + pick(10 * k + 10, 4)));
      let shards = shardLikeTransformers(tensors, maxShard);
      while (shards.length < 4) shards = shardLikeTransformers(tensors, (maxShard = Math.floor(maxShard / 2)));
      expectValues(openCheckpoint(shards, configToJson(c)).weights, expected);

      // built on an engine, the model holds exactly those values
      const model = buildModel(new CpuEngine(), c, src);
      for (const [name, v] of expected) expect(await model.engine.read(model.weights.get(name)!.raw), name).toEqual(v);
      model.dispose();
    });
  }

  it('an aligned F32 tensor is read as a view of the file (no copy), an unaligned one is copied; readCheckpoint copies', () => {
    // 25-byte BOOL buffers, stored first in each block (names are sorted): h.0–h.2 sit at 1, 2 and 3
    // mod 4 behind them, h.3 and the rest (ln_f, wpe, wte) aligned again after four
    const c = drawConfig(40, { nPositions: 5, nLayer: 4 });
    const { tensors, expected } = hubGptTensors(c, drawWeights(c, 4), { dtype: 'F32', buffers: 'BOOL' });
    const file = writeSafetensors(tensors);
    const inFile = readSafetensors(file).tensors;
    const src = openCheckpoint([{ name: 'model.safetensors', bytes: file }], configToJson(c)).weights;
    let views = 0,
      copies = 0;
    for (const name of src.names) {
      const v = src.read(name);
      const at = inFile.get(name.replace(/^transformer\./, ''))!.bytes.byteOffset;
      expect(v.buffer === file.buffer, name).toBe(at % 4 === 0);
      if (v.buffer === file.buffer) views++;
      else copies++;
      expect(v).toEqual(expected.get(name));
    }
    expect(views).toBeGreaterThan(0);
    expect(copies).toBeGreaterThan(0);
    const { weights } = readCheckpoint({ safetensors: file, config: configToJson(c) });
    for (const v of weights.values()) expect(v.buffer).not.toBe(file.buffer);
  });

  it('buildModel converts and uploads one tensor at a time (never two reads without an upload between)', () => {
    const c = drawConfig(50, { tieWordEmbeddings: false });
    const { tensors } = hubGptTensors(c, drawWeights(c, 5), { dtype: 'F16', buffers: 'F32' });
    const src = openCheckpoint([{ name: 'model.safetensors', bytes: writeSafetensors(tensors) }], configToJson(c)).weights;
    const log: string[] = [];
    const spy: WeightSource = { names: src.names, shape: (n) => src.shape(n), read: (n) => (log.push('read ' + n), src.read(n)) };
    class SpyEngine extends CpuEngine {
      override upload(data: ArrayLike<number>, shape: readonly number[], dtype?: 'f32' | 'u32' | 'i32'): RawTensor {
        log.push('upload');
        return super.upload(data, shape, dtype);
      }
    }
    buildModel(new SpyEngine(), c, spy).dispose();
    expect(log).toEqual(parameterShapes(c).flatMap(([n]) => ['read ' + n, 'upload']));
  });
});

describe(`GPT-2 options in the model (seed ${seed})`, () => {
  it('an untied lm_head computes the logits: equal to wte it gives the tied model, otherwise other logits', async () => {
    const tied = drawConfig(60, { tieWordEmbeddings: true });
    const untied = { ...tied, tieWordEmbeddings: false };
    const w = drawWeights(tied, 6);
    const input = microText(seed, 2, tied.nPositions, tied.vocabSize);
    const logits = async (c: GptConfig, weights: Map<string, Float32Array>) => {
      const m = new Gpt(new CpuEngine(), c, weights);
      const tape = new Tape(m.engine);
      const z = await m.engine.read(m.logits(tape, input).raw);
      tape.dispose();
      m.dispose();
      return z;
    };
    const same = await logits(untied, new Map([...w, ['lm_head.weight', w.get('transformer.wte.weight')!]]));
    expect(same).toEqual(await logits(tied, w));
    const head = randn(tied.vocabSize * tied.nEmbd, seed + 77, 0.5);
    expect(await logits(untied, new Map([...w, ['lm_head.weight', head]]))).not.toEqual(same);
    // and from a hub file: lm_head.weight is read as a weight of its own
    const { tensors } = hubGptTensors(untied, new Map([...w, ['lm_head.weight', head]]), { dtype: 'F32', buffers: 'none' });
    const model = buildModel(
      new CpuEngine(),
      untied,
      openCheckpoint([{ name: 'model.safetensors', bytes: writeSafetensors(tensors) }], configToJson(untied)).weights,
    );
    expect((model as Gpt).headWeightName).toBe('lm_head.weight');
    expect(await model.engine.read(model.weights.get('lm_head.weight')!.raw)).toEqual(head);
  });

  it('writeCheckpoint and openCheckpoint round-trip an untied model with n_inner ≠ 4·n_embd', () => {
    const c = drawConfig(70, { tieWordEmbeddings: false });
    c.nInner = 4 * c.nEmbd + 1 + pick(75, 30); // ≠ 4·n_embd
    const w = gptInitialWeights(c, seed);
    const { safetensors, configJson } = writeCheckpoint(c, w);
    const { config, weights } = openCheckpoint([{ name: 'model.safetensors', bytes: safetensors }], JSON.parse(configJson));
    expect(config).toEqual(c);
    expectValues(weights, w);
    // an untied config without lm_head.weight in the file is refused, naming it
    const { tensors } = hubGptTensors({ ...c, tieWordEmbeddings: true }, w, { dtype: 'F32', buffers: 'none' });
    expect(() => openCheckpoint([{ name: 'model.safetensors', bytes: writeSafetensors(tensors) }], JSON.parse(configJson))).toThrow(
      /lacks 1 tensor\(s\) the config needs: lm_head\.weight/,
    );
  });
});

describe(`ViT with qkv_bias: false (seed ${seed})`, () => {
  const noBias: VitConfig = { ...MICRO_VIT, qkvBias: false };

  it('has no q/k/v bias tensors; its loss equals the biased model with zero q/k/v biases', async () => {
    const names = vitParameterShapes(noBias).map(([n]) => n);
    expect(names.filter((n) => /attention\.attention\.(query|key|value)\.bias$/.test(n))).toEqual([]);
    expect(names.length).toBe(vitParameterShapes(MICRO_VIT).length - 3 * MICRO_VIT.numLayers);
    const w = vitInitialWeights(noBias, seed);
    for (const [k, v] of w)
      if (!k.includes('layernorm'))
        w.set(
          k,
          v.map((x) => 10 * x),
        );
    const zeros = new Map(w);
    for (const [n, s] of vitParameterShapes(MICRO_VIT)) if (!zeros.has(n)) zeros.set(n, new Float32Array(s[0]));
    const input = microImages(seed);
    const loss = (m: Vit) => m.forward(new Tape(m.engine), input).loss.raw.f32[0];
    const a = loss(new Vit(new CpuEngine(), noBias, w));
    const b = loss(new Vit(new CpuEngine(), MICRO_VIT, zeros));
    expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-6 * Math.abs(b));
  });

  it('loads from a file without the biases and refuses one that has them', () => {
    const w = vitInitialWeights(noBias, seed);
    const { safetensors, configJson } = writeCheckpoint(noBias, w);
    expect(JSON.parse(configJson).qkv_bias).toBe(false);
    const { weights } = openCheckpoint([{ name: 'model.safetensors', bytes: safetensors }], JSON.parse(configJson));
    expectValues(weights, w);
    const withBias = writeCheckpoint(MICRO_VIT, vitInitialWeights(MICRO_VIT, seed)).safetensors;
    expect(() => openCheckpoint([{ name: 'model.safetensors', bytes: withBias }], JSON.parse(configJson))).toThrow(
      /has 6 tensor\(s\) this vit config does not use: vit\.encoder\.layer\.0\.attention\.attention\.key\.bias, /,
    );
  });
});
