// Checkpoint files as the hub publishes them (openCheckpoint, src/models/sharded.ts): one
// model.safetensors, or model.safetensors.index.json plus its shards as transformers writes them.
// Files that do not fit together are refused with the file and the tensor named. Deterministic: the
// values do not matter here (checkpoint-hub.test.ts compares them on fresh seeds).
import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import { isWeightFile, loadModel, openCheckpoint, parameterShapes, CheckpointError, type NamedFile } from '../../src/models/checkpoint';
import { configToJson, type GptConfig } from '../../src/models/config';
import { gptInitialWeights } from '../../src/models/gpt';
import { SafetensorsError, writeSafetensors, type WriteTensor } from '../../src/models/safetensors';
import { hubGptTensors, shardLikeTransformers } from '../helpers/hub-configs';

const CFG: GptConfig = { kind: 'gpt2', vocabSize: 11, nPositions: 5, nEmbd: 8, nLayer: 2, nHead: 2, layerNormEps: 1e-5, tieWordEmbeddings: true };
const CONFIG_JSON = configToJson(CFG);
const { tensors } = hubGptTensors(CFG, gptInitialWeights(CFG, 1), { dtype: 'F32', buffers: 'F32' });
const SINGLE: NamedFile[] = [{ name: 'model.safetensors', bytes: writeSafetensors(tensors, { format: 'pt' }) }];
// 3 shards of the ~7.7 kB (mlp.c_fc alone is 1 kB)
const MAX_SHARD = 3000;
const SHARDED = shardLikeTransformers(tensors, MAX_SHARD);
const INDEX = 'model.safetensors.index.json';

const text = (f: NamedFile) => new TextDecoder().decode(f.bytes as Uint8Array);
const indexJson = (files: NamedFile[]) => JSON.parse(text(files.find((f) => f.name === INDEX)!)) as { metadata: unknown; weight_map: Record<string, string> };
const withIndex = (files: NamedFile[], index: unknown): NamedFile[] =>
  files.map((f) => (f.name === INDEX ? { name: INDEX, bytes: new TextEncoder().encode(typeof index === 'string' ? index : JSON.stringify(index)) } : f));
const shardNames = SHARDED.filter((f) => f.name !== INDEX).map((f) => f.name);

function refused(files: NamedFile[], message: string | RegExp): void {
  let err: unknown;
  try {
    openCheckpoint(files, CONFIG_JSON);
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a CheckpointError').toBeInstanceOf(CheckpointError);
  expect(err).toBeInstanceOf(SafetensorsError); // one family of errors for callers
  expect((err as Error).message).toMatch(message);
}

describe('openCheckpoint: the files as the hub has them', () => {
  it('one model.safetensors, or the index and its shards in any order, with folder paths: the same weights', () => {
    expect(shardNames.length).toBeGreaterThanOrEqual(3);
    const idx = indexJson(SHARDED);
    expect(Object.keys(idx.weight_map)).toEqual(Object.keys(idx.weight_map).sort());
    expect(text(SHARDED.find((f) => f.name === INDEX)!)).toMatch(/^\{\n {2}"metadata": \{\n {4}"total_size": \d+\n {2}\},\n {2}"weight_map": \{\n/);
    const one = openCheckpoint(SINGLE, CONFIG_JSON).weights;
    const many = openCheckpoint(
      [...SHARDED].reverse().map((f) => ({ ...f, name: 'gpt2/' + f.name })),
      CONFIG_JSON,
    ).weights;
    expect(many.names).toEqual(parameterShapes(CFG).map(([n]) => n));
    for (const n of one.names) expect(many.read(n)).toEqual(one.read(n));
  });

  it('loadModel takes the file list too; isWeightFile tells a caller which opened files to pass', () => {
    const model = loadModel(new CpuEngine(), { files: SHARDED, config: CONFIG_JSON });
    expect(model.parameterCount).toBe(parameterShapes(CFG).reduce((s, [, shape]) => s + shape.reduce((a, b) => a * b, 1), 0));
    model.dispose();
    const opened = ['gpt2/model.safetensors', 'model-00002-of-00003.safetensors', INDEX, 'config.json', 'tokenizer.json', 'pytorch_model.bin'];
    expect(opened.filter(isWeightFile)).toEqual(opened.slice(0, 3));
  });

  it('shards of different dtypes (F32, F16, BF16 tensors side by side) are fine', () => {
    const f16 = hubGptTensors(CFG, gptInitialWeights(CFG, 1), { dtype: 'F16', buffers: 'BOOL' });
    const bf16 = hubGptTensors(CFG, gptInitialWeights(CFG, 1), { dtype: 'BF16', buffers: 'U8' });
    const mixed = f16.tensors.map((t, i) => (i % 3 === 0 ? t : i % 3 === 1 ? bf16.tensors[i] : tensors[i]));
    const src = openCheckpoint(shardLikeTransformers(mixed, MAX_SHARD / 2), CONFIG_JSON).weights;
    expect(src.names.length).toBe(parameterShapes(CFG).length);
    const dtypes = new Set(mixed.filter((t) => !t.name.includes('attn.bias')).map((t) => t.dtype));
    expect([...dtypes].sort()).toEqual(['BF16', 'F16', 'F32']);
    for (const n of src.names)
      expect(src.read(n).length).toBe(
        parameterShapes(CFG)
          .find(([m]) => m === n)![1]
          .reduce((a, b) => a * b, 1),
      );
  });

  it('a one-shard index is fine; files given as ArrayBuffers too', () => {
    const files = shardLikeTransformers(tensors, 1e9);
    expect(files.map((f) => f.name)).toEqual(['model-00001-of-00001.safetensors', INDEX]);
    const asBuffers = files.map((f) => ({ name: f.name, bytes: (f.bytes as Uint8Array).slice().buffer }));
    expect(openCheckpoint(asBuffers, CONFIG_JSON).weights.names.length).toBe(parameterShapes(CFG).length);
  });
});

describe('openCheckpoint: files that do not fit together', () => {
  it('which files: none, not weights, two index files, two names alike, shards without an index', () => {
    refused([], /no checkpoint files given/);
    refused([...SINGLE, { name: 'config.json', bytes: new Uint8Array(2) }], /config\.json is not a checkpoint weight file/);
    refused([{ name: 'pytorch_model.bin', bytes: new Uint8Array(8) }], /pytorch_model\.bin is not a checkpoint weight file.*only safetensors/);
    refused([...SHARDED, { name: 'other.safetensors.index.json', bytes: new Uint8Array(2) }], /more than one index file: .*other\.safetensors\.index\.json/);
    refused([...SINGLE, { name: 'a/model.safetensors', bytes: new Uint8Array(8) }], /two files are named model\.safetensors/);
    refused(
      SHARDED.filter((f) => f.name !== INDEX),
      new RegExp(
        `${shardNames.length} \\.safetensors files \\(model-00001-of-\\d{5}\\.safetensors, .*\\) and no model\\.safetensors\\.index\\.json: a sharded checkpoint needs its index`,
      ),
    );
  });

  it('a malformed index: not JSON, not an object, weight_map missing or not an object, a value not a file name, no entries, a repeated key', () => {
    refused(withIndex(SHARDED, '{"weight_map": {'), /model\.safetensors\.index\.json is not valid UTF-8 JSON/);
    refused(withIndex(SHARDED, [1, 2]), /model\.safetensors\.index\.json must hold a JSON object with "weight_map"/);
    refused(withIndex(SHARDED, { metadata: {} }), /"weight_map" must be an object of tensor name → shard file, got nothing/);
    refused(withIndex(SHARDED, { weight_map: ['model-00001-of-00003.safetensors'] }), /"weight_map" must be an object .*got \["model-00001/);
    const idx = indexJson(SHARDED);
    refused(withIndex(SHARDED, { ...idx, weight_map: { ...idx.weight_map, 'wte.weight': 1 } }), /weight_map\["wte\.weight"\] must be a shard file name, got 1/);
    refused(withIndex(SHARDED, { weight_map: {} }), /"weight_map" lists no tensors/);
    const repeated = `{"weight_map": {"wte.weight": "${shardNames[0]}", "wte.weight": "${shardNames[1]}"}}`;
    refused(withIndex(SHARDED, repeated), /model\.safetensors\.index\.json repeats the key "wte\.weight"/);
  });

  it('the index names a shard that was not given; a shard was given that the index does not name', () => {
    const [first, ...rest] = shardNames;
    const someTensor = Object.entries(indexJson(SHARDED).weight_map).find(([, s]) => s === first)![0];
    refused(
      SHARDED.filter((f) => f.name !== first),
      new RegExp(`model\\.safetensors\\.index\\.json puts ${someTensor.replace(/\./g, '\\.')} in ${first}, which was not given \\(given: ${rest[0]}`),
    );
    const stray = { name: 'model-00009-of-00009.safetensors', bytes: writeSafetensors([{ name: 'x', dtype: 'F32', shape: [1], data: new Float32Array(1) }]) };
    refused([...SHARDED, stray], /model-00009-of-00009\.safetensors was given but model\.safetensors\.index\.json puts no tensor in it/);
  });

  it('the index and the shards disagree about a tensor: listed but absent, present but not listed, listed in another shard', () => {
    const idx = indexJson(SHARDED);
    refused(
      withIndex(SHARDED, { ...idx, weight_map: { ...idx.weight_map, 'h.7.mlp.c_fc.weight': shardNames[1] } }),
      `model.safetensors.index.json puts h.7.mlp.c_fc.weight in ${shardNames[1]}, but ${shardNames[1]} has no tensor of that name`,
    );
    const { 'ln_f.bias': lnShard, ...withoutLnF } = idx.weight_map;
    refused(withIndex(SHARDED, { ...idx, weight_map: withoutLnF }), `${lnShard} holds ln_f.bias, which model.safetensors.index.json does not list`);
    const elsewhere = shardNames.find((s) => s !== idx.weight_map['wte.weight'])!;
    refused(
      withIndex(SHARDED, { ...idx, weight_map: { ...idx.weight_map, 'wte.weight': elsewhere } }),
      `${idx.weight_map['wte.weight']} holds wte.weight, but model.safetensors.index.json puts it in ${elsewhere}`,
    );
  });

  it('one tensor in two shards (with the same or another shape), or under two names', () => {
    const idx = indexJson(SHARDED);
    const last = shardNames[shardNames.length - 1];
    const twice = (extra: WriteTensor) =>
      SHARDED.map((f) => (f.name === last ? { name: last, bytes: writeSafetensors([...tensors.filter((t) => idx.weight_map[t.name] === last), extra]) } : f));
    const wpe = tensors.find((t) => t.name === 'wpe.weight')!;
    expect(idx.weight_map['wpe.weight']).not.toBe(last);
    refused(twice(wpe), `tensor wpe.weight is stored twice: in ${idx.weight_map['wpe.weight']} and in ${last}`);
    refused(
      twice({ name: 'wpe.weight', dtype: 'F32', shape: [2, 8], data: new Float32Array(16) }),
      `tensor wpe.weight is stored twice: in ${idx.weight_map['wpe.weight']} and in ${last} with different shapes, [5, 8] and [2, 8]`,
    );
    const both = [...tensors, { ...wpe, name: 'transformer.wpe.weight' }];
    refused(
      [{ name: 'model.safetensors', bytes: writeSafetensors(both) }],
      'the checkpoint holds transformer.wpe.weight in model.safetensors and wpe.weight in model.safetensors: one weight under two names',
    );
  });

  it('a broken shard, a weight stored as integers: the file is named', () => {
    const [first] = shardNames;
    const broken = SHARDED.map((f) => (f.name === first ? { name: first, bytes: (f.bytes as Uint8Array).subarray(0, 40) } : f));
    expect(() => openCheckpoint(broken, CONFIG_JSON)).toThrow(
      new RegExp(`^${first.replace(/\./g, '\\.')}: safetensors: header length \\d+ goes beyond the end`),
    );
    const ints = tensors.map((t) => (t.name === 'ln_f.weight' ? { ...t, dtype: 'I32' as const, data: new Int32Array(8) } : t));
    refused(
      [{ name: 'model.safetensors', bytes: writeSafetensors(ints) }],
      'tensor ln_f.weight in model.safetensors is I32; weights must be F32, F16, BF16, F64',
    );
  });

  it('a misshapen weight names the file it came from', () => {
    const idx = indexJson(SHARDED);
    const bad = tensors.map((t) => (t.name === 'h.1.mlp.c_fc.bias' ? { ...t, shape: [4, 8] } : t));
    const files = shardLikeTransformers(bad, MAX_SHARD);
    expect(() => openCheckpoint(files, CONFIG_JSON)).toThrow(
      `tensor h.1.mlp.c_fc.bias in ${idx.weight_map['h.1.mlp.c_fc.bias']} has shape [4, 8], the config needs [32]`,
    );
  });
});
