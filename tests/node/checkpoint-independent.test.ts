// The new loader options mean what transformers makes of them: a hub-layout GPT-2 file (F16 weights,
// no `transformer.` prefix, BOOL causal-mask buffers, an untied lm_head, n_inner ≠ 4·n_embd,
// activation "gelu_pytorch_tanh", the hub's extra config keys) and a ViT without q/k/v biases,
// evaluated by the lab (openCheckpoint → buildModel, CPU engine) and by the independent numpy
// implementation (tests/python/hf_models.py through eval_checkpoint.py) on the same random data.
// Weights and data are drawn from testSeed().
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import { evalTextWindows, imageBatches } from '../../src/data/batches';
import { encodeImageShard, encodeTextShard, parseShard, type ImageShard } from '../../src/data/shards';
import { evaluateImages, evaluateText } from '../../src/lab/evaluate';
import { buildModel, openCheckpoint, parameterShapes, writeCheckpoint } from '../../src/models/checkpoint';
import { configToJson, type GptConfig, type ModelConfig, type VitConfig } from '../../src/models/config';
import { writeSafetensors } from '../../src/models/safetensors';
import { GPT2_SAVED_CONFIG_JSON, hubGptTensors } from '../helpers/hub-configs';
import { randint, randn, testSeed } from '../helpers/random';
import { MICRO_VIT } from '../helpers/tiny-models';

const PY = fileURLToPath(new URL('../python/eval_checkpoint.py', import.meta.url));
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const dir = mkdtempSync(join(tmpdir(), 'hub-indep-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function evalPy(args: string[]): Record<string, number> {
  const p = spawnSync(PYTHON, [PY, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (p.error || p.status !== 0) throw new Error(`eval_checkpoint.py ${args.join(' ')} failed (${p.error?.message ?? p.status}): ${p.stderr}`);
  return JSON.parse(p.stdout);
}

/** Weights that make the logits spread (matrices N(0, 0.5²), LayerNorm gains 1 ± 0.2, biases ± 0.2), so a wrong head or layout shows. */
function spreadWeights(c: ModelConfig, seed: number): Map<string, Float32Array> {
  const w = new Map<string, Float32Array>();
  parameterShapes(c).forEach(([name, shape], i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const isGain = /(ln_\w+|layernorm\w*)\.weight$/.test(name);
    const v = randn(n, seed + 977 * (i + 1), isGain || name.endsWith('.bias') ? 0.2 : 0.5);
    w.set(name, isGain ? v.map((x) => 1 + x) : v);
  });
  return w;
}

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);

describe('lab vs independent numpy on hub-style checkpoints', () => {
  const seed = testSeed();

  it(`GPT-2: F16 hub layout, untied lm_head, n_inner, gelu_pytorch_tanh (seed ${seed})`, async () => {
    const c: GptConfig = {
      kind: 'gpt2',
      vocabSize: 29,
      nPositions: 9,
      nEmbd: 12,
      nLayer: 2,
      nHead: 3,
      layerNormEps: 1e-5,
      tieWordEmbeddings: false,
      nInner: 20,
    };
    const { tensors } = hubGptTensors(c, spreadWeights(c, seed), { dtype: 'F16', buffers: 'BOOL', maskedBias: true });
    const config = {
      ...GPT2_SAVED_CONFIG_JSON,
      ...configToJson(c),
      activation_function: 'gelu_pytorch_tanh',
      n_ctx: 1024, // transformers ignores n_ctx when n_positions is given
      torch_dtype: 'float16',
    };
    const ck = join(dir, 'gpt');
    mkdirSync(ck);
    writeFileSync(join(ck, 'model.safetensors'), writeSafetensors(tensors, { format: 'pt' }));
    writeFileSync(join(ck, 'config.json'), JSON.stringify(config));
    const text = Uint8Array.from(randint(181, seed + 1, c.vocabSize));
    writeFileSync(join(ck, 'text.bin'), encodeTextShard(text));

    const opened = openCheckpoint([{ name: 'model.safetensors', bytes: writeSafetensors(tensors, { format: 'pt' }) }], config);
    expect(opened.config).toEqual(c);
    const model = buildModel(new CpuEngine(), opened.config, opened.weights);
    const context = 8;
    const lab = await evaluateText(model, evalTextWindows(text, context));
    const py = evalPy(['--checkpoint', ck, '--data', join(ck, 'text.bin'), '--context', String(context), '--batch', '6']);
    expect(lab.tokens).toBe(py.tokens);
    expect(relErr(lab.loss, py.loss), `lab ${lab.loss} python ${py.loss}`).toBeLessThan(1e-5);
    // non-trivial: far from the uniform prediction's log(vocab)
    expect(Math.abs(lab.loss - Math.log(c.vocabSize))).toBeGreaterThan(0.05);
  });

  it(`ViT: qkv_bias false, exact GELU (seed ${seed})`, async () => {
    const c: VitConfig = { ...MICRO_VIT, qkvBias: false, hiddenAct: 'gelu' };
    const { safetensors, configJson } = writeCheckpoint(c, spreadWeights(c, seed));
    const ck = join(dir, 'vit');
    mkdirSync(ck);
    writeFileSync(join(ck, 'model.safetensors'), safetensors);
    writeFileSync(join(ck, 'config.json'), configJson);
    const S = c.imageSize;
    const count = 23;
    const shardBytes = encodeImageShard({
      count,
      height: S,
      width: S,
      numClasses: c.numLabels,
      images: Uint8Array.from(randint(count * S * S, seed + 2, 256)),
      labels: Uint8Array.from(randint(count, seed + 3, c.numLabels)),
    });
    writeFileSync(join(ck, 'images.bin'), shardBytes);
    const opened = openCheckpoint([{ name: 'model.safetensors', bytes: safetensors }], JSON.parse(configJson));
    const model = buildModel(new CpuEngine(), opened.config, opened.weights);
    const lab = await evaluateImages(model, imageBatches(parseShard(shardBytes) as ImageShard, 8));
    const py = evalPy(['--checkpoint', ck, '--data', join(ck, 'images.bin'), '--batch', '5']);
    expect(py.images).toBe(count);
    expect(relErr(lab.loss, py.loss), `lab ${lab.loss} python ${py.loss}`).toBeLessThan(1e-5);
    expect(lab.accuracy).toBe(py.accuracy);
  });
});
