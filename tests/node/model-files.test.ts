// Which opened files make a checkpoint (src/lab/model-files.ts): the page's picker and the headless
// URL list check names and sizes before reading a byte, and the index against the shards before
// the shards are read. Every problem has its own sentence naming the files.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { USER_FILE_LIMITS } from '../../src/lab/files';
import { describeWeightFiles, shardListProblem, sortModelFiles, weightFilesName, type SizedFile } from '../../src/lab/model-files';
import { checkModelFiles } from '../../src/state/session-slice';
import { testSeed } from '../helpers/random';

const INDEX = 'model.safetensors.index.json';
const S1 = 'model-00001-of-00002.safetensors';
const S2 = 'model-00002-of-00002.safetensors';
const f = (name: string, size = 1000): SizedFile => ({ name, size });
const LIMIT = USER_FILE_LIMITS.safetensors;

describe('sortModelFiles: config.json with one .safetensors, or with the index and its shards', () => {
  it('takes one file or the index and its shards (sorted), leaving the rest of a model folder out', () => {
    const one = sortModelFiles([f('config.json'), f('model.safetensors'), f('tokenizer.json'), f('merges.txt')]);
    expect(one).toEqual({ config: f('config.json'), index: null, weights: [f('model.safetensors')] });
    const sharded = sortModelFiles([f(S2), f('generation_config.json'), f(INDEX, 20), f('config.json', 700), f(S1), f('pytorch_model.bin', 5000)]);
    expect(sharded).toEqual({ config: f('config.json', 700), index: f(INDEX, 20), weights: [f(S1), f(S2)] });
    if (typeof sharded === 'string') throw new Error(sharded);
    expect(describeWeightFiles(sharded)).toBe('index + 2 shards');
    expect(weightFilesName(sharded)).toBe('model');
    if (typeof one === 'string') throw new Error(one);
    expect(describeWeightFiles(one)).toBe('model.safetensors');
    expect(weightFilesName(one)).toBe('model');
    // a config under another name is taken when it is the only .json that is not an index
    expect(sortModelFiles([f('gpt2.safetensors'), f('gpt2-config.json')])).toMatchObject({ config: f('gpt2-config.json') });
    // a one-shard index is fine
    expect(sortModelFiles([f('config.json'), f(INDEX), f('model-00001-of-00001.safetensors')])).toMatchObject({
      weights: [f('model-00001-of-00001.safetensors')],
    });
  });

  it.each([
    [
      'no config.json',
      [f('model.safetensors')],
      /^No config\.json among the files \(got model\.safetensors\): open the model's config\.json with its weights\.$/,
    ],
    [
      'two candidate configs',
      [f('model.safetensors'), f('a.json'), f('b.json')],
      /^No config\.json among the files \(got model\.safetensors, a\.json, b\.json\)/,
    ],
    ['only other hub files', [f('model.safetensors'), f('tokenizer.json'), f('generation_config.json')], /^No config\.json among the files/],
    [
      'no weights',
      [f('config.json'), f('tokenizer.json')],
      /^No weights among the files \(got config\.json, tokenizer\.json\): open one \.safetensors file, or model\.safetensors\.index\.json and all the shards it names, with config\.json\.$/,
    ],
    [
      'PyTorch weights',
      [f('config.json'), f('pytorch_model.bin')],
      /^No weights among the files \(got config\.json, pytorch_model\.bin\) \(pytorch_model\.bin holds PyTorch\/TF\/Flax weights: only safetensors files can be read\)/,
    ],
    [
      'an index without shards',
      [f('config.json'), f(INDEX)],
      /^model\.safetensors\.index\.json came without its shards: the \.safetensors files it names \(model-00001-of-…\) are needed with it\.$/,
    ],
    [
      'one shard without the index',
      [f('config.json'), f(S2)],
      /^model-00002-of-00002\.safetensors is a shard of a sharded checkpoint and came without model\.safetensors\.index\.json, which says which tensor is in which shard: the index is needed with them\.$/,
    ],
    [
      'shards without the index',
      [f('config.json'), f(S2), f(S1)],
      /^model-00001-of-00002\.safetensors, model-00002-of-00002\.safetensors are shards of a sharded checkpoint and came without model\.safetensors\.index\.json/,
    ],
    [
      'two single files',
      [f('config.json'), f('gpt2.safetensors'), f('distilgpt2.safetensors')],
      /^Two checkpoints, distilgpt2\.safetensors, gpt2\.safetensors: a model takes one \.safetensors file, or model\.safetensors\.index\.json and all the shards it names, not several single files\.$/,
    ],
    [
      'three single files',
      [f('config.json'), f('a.safetensors'), f('b.safetensors'), f('c.safetensors')],
      /^3 checkpoints, a\.safetensors, b\.safetensors, c\.safetensors/,
    ],
    [
      'two indexes',
      [f('config.json'), f(INDEX), f('other.safetensors.index.json'), f(S1)],
      /^2 shard indexes \(model\.safetensors\.index\.json, other\.safetensors\.index\.json\): a checkpoint has one\.$/,
    ],
    ['a name twice', [f('config.json'), f('a/model.safetensors'), f('b/model.safetensors')], /^Two files are named model\.safetensors/],
    [
      'a file over the limit',
      [f('config.json'), f('gpt2.safetensors', 3 * 2 ** 30)],
      /^gpt2\.safetensors is 3\.00 GiB: the lab refuses checkpoints over 2 GiB \(a browser tab cannot hold the weights and the learning state\)\.$/,
    ],
    [
      'a shard over the limit',
      [f('config.json'), f(INDEX), f(S1), f(S2, LIMIT + 1)],
      /^model-00002-of-00002\.safetensors is 2\.00 GiB: the lab refuses checkpoints over 2 GiB/,
    ],
    [
      'the shards together over the limit',
      [f('config.json'), f(INDEX), f(S1, LIMIT / 2), f(S2, LIMIT / 2 + 1)],
      /^The 2 shards hold 2\.00 GiB together: the lab refuses checkpoints over 2 GiB \(a browser tab cannot hold the weights and the learning state\)\.$/,
    ],
    ['an empty file', [f('config.json'), f('model.safetensors', 0)], /^model\.safetensors is empty\.$/],
    [
      'a huge index',
      [f('config.json'), f(INDEX, USER_FILE_LIMITS.index + 1), f(S1)],
      /^model\.safetensors\.index\.json is 10\.0 MiB: that is not a shard index/,
    ],
    [
      'a huge config',
      [f('config.json', USER_FILE_LIMITS.config + 1), f('model.safetensors')],
      /^config\.json is 10\.0 MiB: that is not a model config\.json\.$/,
    ],
  ])('%s: its own message', (_, files, msg) => {
    expect(sortModelFiles(files)).toMatch(msg);
    expect(checkModelFiles(files)).toMatch(msg);
  });

  it('exactly at the limits is fine', () => {
    expect(checkModelFiles([f('config.json', USER_FILE_LIMITS.config), f('model.safetensors', LIMIT)])).toBeNull();
    expect(checkModelFiles([f('config.json'), f(INDEX, USER_FILE_LIMITS.index), f(S1, LIMIT / 2), f(S2, LIMIT / 2)])).toBeNull();
  });
});

describe('shardListProblem: the index read, the shards not yet', () => {
  const map = new Map([
    ['wte.weight', S1],
    ['wpe.weight', S1],
    ['h.0.ln_1.weight', S2],
  ]);
  it('the shards it names, in any order and with folder paths', () => {
    expect(shardListProblem(INDEX, map, [S2, 'gpt2/' + S1])).toBeNull();
  });
  it('a shard it names that was not given, or a file it puts no tensor in', () => {
    expect(shardListProblem(INDEX, map, [S1])).toBe(
      'model.safetensors.index.json names model-00002-of-00002.safetensors, which is not among the files: all 2 shards it names are needed with it.',
    );
    expect(shardListProblem('gpt2/' + INDEX, new Map([...map, ['x', 'model-00003-of-00003.safetensors']]), [S1])).toBe(
      'model.safetensors.index.json names model-00002-of-00002.safetensors, model-00003-of-00003.safetensors, which are not among the files: all 3 shards it names are needed with it.',
    );
    expect(shardListProblem(INDEX, map, [S1, S2, 'model.safetensors'])).toBe(
      'model.safetensors came with model.safetensors.index.json, which puts no tensor in it (a shard of another checkpoint?).',
    );
  });
});

describe('property: any set of opened files', () => {
  const NAMES = [
    'config.json',
    'tokenizer.json',
    'model.safetensors',
    'gpt2.safetensors',
    INDEX,
    S1,
    S2,
    'model-00003-of-00003.safetensors',
    'pytorch_model.bin',
  ];
  it('is refused with one sentence, or taken as config.json + one file or the index and its shards within the limits', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...NAMES), { maxLength: NAMES.length }),
        fc.array(fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: LIMIT / 2 - 5, max: LIMIT + 5 })), {
          minLength: NAMES.length,
          maxLength: NAMES.length,
        }),
        (names, sizes) => {
          const files = names.map((n, i) => f(n, sizes[i]));
          const r = sortModelFiles(files);
          if (typeof r === 'string') return /^\S.*\.$/.test(r) && !r.includes('\n') && checkModelFiles(files) === r;
          const weights = [...r.weights];
          const total = weights.reduce((s, w) => s + w.size, 0);
          const ok =
            r.config.name === 'config.json' &&
            r.config.size > 0 &&
            weights.every((w) => w.name.endsWith('.safetensors') && w.size > 0 && w.size <= LIMIT) &&
            total <= LIMIT &&
            (r.index === null ? weights.length === 1 : r.index.name === INDEX && weights.length >= 1);
          return ok && checkModelFiles(files) === null;
        },
      ),
      { numRuns: 2000, seed: testSeed() },
    );
  });
});
