// Which opened files make a checkpoint: config.json with one .safetensors file, or with
// model.safetensors.index.json and every shard it names (src/models/sharded.ts reads them). The
// checks run on names and sizes only, before a byte is read (a 40 GB file picked by mistake is
// refused, not read into the tab); the one that needs the index's contents — a shard it names is
// missing, or a file is a shard of something else — runs on its parsed weight_map before the shards
// are read. The page's picker (state/session-slice.ts) and the headless page's URL list
// (embed/remote-files.ts) use them; the limits are USER_FILE_LIMITS (files.ts).
import { baseName, INDEX_SUFFIX, indexShards, isWeightFile } from '../models/sharded';
import { USER_FILE_LIMITS } from './files';

/** A file known by its name and size (a File, a RemoteFile). */
export interface SizedFile {
  name: string;
  size: number;
}

export interface WeightFiles<F> {
  /** the shard index, or null for a single .safetensors file */
  index: F | null;
  /** the single .safetensors file, or the shards sorted by name */
  weights: F[];
}

export interface ModelFiles<F> extends WeightFiles<F> {
  config: F;
}

/** The other .json files of a hub model's folder: never its config. */
const HUB_OTHER_JSON = new Set([
  'tokenizer.json',
  'tokenizer_config.json',
  'vocab.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'generation_config.json',
  'preprocessor_config.json',
]);
/** transformers' save_pretrained names shards model-00001-of-00003.safetensors. */
const SHARD_NAME = /-\d+-of-\d+\.safetensors$/;
const MiB = 2 ** 20;
const GiB = 2 ** 30;
const TOO_BIG = `the lab refuses checkpoints over ${USER_FILE_LIMITS.safetensors / GiB} GiB (a browser tab cannot hold the weights and the learning state)`;
/** the weights a model takes, said once for every message */
const WANTED = 'one .safetensors file, or model.safetensors.index.json and all the shards it names';

const nameOf = (f: SizedFile) => baseName(f.name);
const byName = (a: SizedFile, b: SizedFile) => (nameOf(a) < nameOf(b) ? -1 : nameOf(a) > nameOf(b) ? 1 : 0);
const plural = (n: number, one: string, many = one + 's') => `${n} ${n === 1 ? one : many}`;

function listFew(names: string[]): string {
  const few = names.slice(0, 4).join(', ');
  return names.length > 4 ? `${few} … (${names.length} in all)` : few;
}

/**
 * The weight files of a checkpoint (every file given must be a .safetensors file or a shard index):
 * one .safetensors, or one index and its shards; each file and the shards together within
 * USER_FILE_LIMITS. Returns what is wrong in one sentence, or the files (shards sorted by name).
 */
export function sortWeightFiles<F extends SizedFile>(files: F[]): WeightFiles<F> | string {
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(nameOf(f))) return `Two files are named ${nameOf(f)}: a model takes ${WANTED}.`;
    seen.add(nameOf(f));
  }
  const indexes = files.filter((f) => nameOf(f).endsWith(INDEX_SUFFIX)).sort(byName);
  const st = files.filter((f) => nameOf(f).endsWith('.safetensors')).sort(byName);
  if (indexes.length > 1) return `${plural(indexes.length, 'shard index', 'shard indexes')} (${listFew(indexes.map(nameOf))}): a checkpoint has one.`;
  const index = indexes[0] ?? null;
  if (index === null && st.length === 0) return `No weights: a model takes ${WANTED}.`;
  if (index !== null && st.length === 0)
    return `${nameOf(index)} came without its shards: the .safetensors files it names (model-00001-of-…) are needed with it.`;
  if (index === null) {
    const shards = st.filter((f) => SHARD_NAME.test(nameOf(f)));
    if (shards.length > 0)
      return `${shards.length === 1 ? `${nameOf(shards[0])} is a shard` : `${listFew(shards.map(nameOf))} are shards`} of a sharded checkpoint and came without model${INDEX_SUFFIX}, which says which tensor is in which shard: the index is needed with them.`;
    if (st.length > 1)
      return `${st.length === 2 ? 'Two' : st.length} checkpoints, ${listFew(st.map(nameOf))}: a model takes ${WANTED}, not several single files.`;
  }
  for (const f of st) {
    if (f.size > USER_FILE_LIMITS.safetensors) return `${nameOf(f)} is ${(f.size / GiB).toFixed(2)} GiB: ${TOO_BIG}.`;
    if (f.size === 0) return `${nameOf(f)} is empty.`;
  }
  if (index !== null) {
    if (index.size > USER_FILE_LIMITS.index)
      return `${nameOf(index)} is ${(index.size / MiB).toFixed(1)} MiB: that is not a shard index (a few KiB; the lab reads at most ${USER_FILE_LIMITS.index / MiB} MiB).`;
    if (index.size === 0) return `${nameOf(index)} is empty.`;
    const total = st.reduce((s, f) => s + f.size, 0);
    if (total > USER_FILE_LIMITS.safetensors) return `The ${st.length} shards hold ${(total / GiB).toFixed(2)} GiB together: ${TOO_BIG}.`;
  }
  return { index, weights: st };
}

/**
 * The files a user opened, as a checkpoint: config.json and the weight files (sortWeightFiles).
 * Other files (tokenizer.json, merges.txt, pytorch_model.bin next to model.safetensors) are left
 * out. Returns what is wrong in one sentence, or the files.
 */
export function sortModelFiles<F extends SizedFile>(files: F[]): ModelFiles<F> | string {
  const got = listFew(files.map(nameOf)) || 'nothing';
  // config.json by name; else the one other .json that is neither an index nor another file of a
  // hub folder (a config saved as gpt2-config.json)
  const jsons = files.filter((f) => nameOf(f).endsWith('.json') && !isWeightFile(f.name) && !HUB_OTHER_JSON.has(nameOf(f)));
  const config = jsons.find((f) => nameOf(f) === 'config.json') ?? (jsons.length === 1 ? jsons[0] : undefined);
  if (config === undefined) return `No config.json among the files (got ${got}): open the model's config.json with its weights.`;
  const weightFiles = files.filter((f) => isWeightFile(f.name));
  if (weightFiles.length === 0) {
    const other = files.find((f) => /\.(bin|pt|pth|ckpt|h5|msgpack)$/.test(nameOf(f)));
    const hint = other ? ` (${nameOf(other)} holds PyTorch/TF/Flax weights: only safetensors files can be read)` : '';
    return `No weights among the files (got ${got})${hint}: open ${WANTED}, with config.json.`;
  }
  const weights = sortWeightFiles(weightFiles);
  if (typeof weights === 'string') return weights;
  if (config.size > USER_FILE_LIMITS.config) return `${nameOf(config)} is ${(config.size / MiB).toFixed(1)} MiB: that is not a model config.json.`;
  if (config.size === 0) return `${nameOf(config)} is empty.`;
  return { config, ...weights };
}

/**
 * Whether the shards given are the ones an index names (weight_map from parseShardIndex), before
 * any is read: the first one it names that is missing, or a given file it puts no tensor in, in one
 * sentence; null when they match.
 */
export function shardListProblem(index: string, weightMap: Map<string, string>, given: string[]): string | null {
  const named = indexShards(weightMap);
  const have = new Set(given.map(baseName));
  const missing = named.filter((s) => !have.has(s));
  if (missing.length > 0) {
    const which = missing.length === 1 ? `${missing[0]}, which is` : `${listFew(missing)}, which are`;
    return `${baseName(index)} names ${which} not among the files: all ${plural(named.length, 'shard')} it names are needed with it.`;
  }
  const extra = given.map(baseName).filter((s) => !named.includes(s));
  if (extra.length > 0) return `${extra[0]} came with ${baseName(index)}, which puts no tensor in it (a shard of another checkpoint?).`;
  return null;
}

/** What was taken, for the model panel: "model.safetensors" or "index + 3 shards". */
export function describeWeightFiles(w: WeightFiles<SizedFile>): string {
  return w.index === null ? nameOf(w.weights[0]) : `index + ${plural(w.weights.length, 'shard')}`;
}

/** The checkpoint's name from its files: model.safetensors and model.safetensors.index.json → "model". */
export function weightFilesName(w: WeightFiles<SizedFile>): string {
  const n = nameOf(w.index ?? w.weights[0]);
  return n.endsWith(INDEX_SUFFIX) ? n.slice(0, -INDEX_SUFFIX.length) : n.replace(/\.safetensors$/, '');
}
