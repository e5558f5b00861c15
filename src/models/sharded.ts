// A checkpoint's weight files as the Hugging Face hub publishes them: one `model.safetensors`, or
// `model.safetensors.index.json` plus the shards it names, as transformers' save_pretrained writes
// them when a model exceeds max_shard_size:
//
//   {"metadata": {"total_size": 497759232}, "weight_map": {"h.0.attn.c_attn.bias": "model-00001-of-00002.safetensors", …}}
//
// Every tensor of every shard must be listed in weight_map under the shard that holds it, and every
// entry of weight_map must be found there: a stale index or a shard from another save is refused by
// name rather than loaded half-way. Traps:
// - metadata.total_size is informative only: transformers has counted it differently across versions
//   (tied and shared tensors), so it is not checked.
// - weight_map values are bare file names; files opened from a folder may carry a path, so files are
//   matched by their base name.
// - JSON.parse keeps the last of two equal keys; a weight_map naming one tensor twice is refused.
import { checkDuplicateKeys, readSafetensors, SafetensorsError, type StTensor } from './safetensors';

/** A checkpoint whose files do not fit together (the file and the tensor are named). */
export class CheckpointError extends SafetensorsError {
  override name = 'CheckpointError';
}

export interface NamedFile {
  /** the file's name; a folder path in front of it is ignored */
  name: string;
  bytes: Uint8Array | ArrayBuffer;
}

export const INDEX_SUFFIX = '.safetensors.index.json';

export interface CheckpointTensors {
  /** every tensor of every file, by its name in the file */
  tensors: Map<string, StTensor>;
  /** the file (base name) each tensor came from */
  fileOf: Map<string, string>;
}

/** A file's name without the folder path in front of it. */
export const baseName = (name: string) => name.slice(name.lastIndexOf('/') + 1);

function fail(msg: string): never {
  throw new CheckpointError(msg);
}

function listFew(names: string[]): string {
  const few = names.slice(0, 4).join(', ');
  return names.length > 4 ? `${few} … (${names.length} in all)` : few;
}

/** Whether a file belongs to a checkpoint's weights (a .safetensors file or its index). */
export function isWeightFile(name: string): boolean {
  const b = baseName(name);
  return b.endsWith('.safetensors') || b.endsWith(INDEX_SUFFIX);
}

const asBytes = (b: Uint8Array | ArrayBuffer) => (b instanceof Uint8Array ? b : new Uint8Array(b));

/** weight_map of an index file: tensor name → shard file name. */
export function parseShardIndex(bytes: Uint8Array | ArrayBuffer, file = 'model' + INDEX_SUFFIX): Map<string, string> {
  let text: string;
  let json: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(asBytes(bytes));
    json = JSON.parse(text);
  } catch (e) {
    fail(`${file} is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(`${file} must hold a JSON object with "weight_map"`);
  const map = (json as Record<string, unknown>).weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    fail(`${file}: "weight_map" must be an object of tensor name → shard file, got ${map === undefined ? 'nothing' : JSON.stringify(map).slice(0, 40)}`);
  }
  const dup = checkDuplicateKeys(text);
  if (dup !== null) fail(`${file} repeats the key "${dup}"`);
  const out = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== 'string' || shard === '') fail(`${file}: weight_map["${tensor}"] must be a shard file name, got ${JSON.stringify(shard)}`);
    out.set(tensor, shard);
  }
  if (out.size === 0) fail(`${file}: "weight_map" lists no tensors`);
  return out;
}

/** The shard files an index names (each once, sorted), from its weight_map (parseShardIndex). */
export function indexShards(weightMap: Map<string, string>): string[] {
  return [...new Set(weightMap.values())].sort();
}

function readShard(file: string, bytes: Uint8Array | ArrayBuffer): Map<string, StTensor> {
  try {
    return readSafetensors(bytes).tensors;
  } catch (e) {
    if (e instanceof SafetensorsError) fail(`${file}: ${e.message}`);
    throw e;
  }
}

const shapeOf = (t: StTensor) => `[${t.shape.join(', ')}]`;

/**
 * Reads a checkpoint's weight files (one .safetensors, or an index and its shards) into one map of
 * tensors (views into the files, nothing converted), checking that the files fit together.
 */
export function readCheckpointTensors(files: NamedFile[]): CheckpointTensors {
  if (files.length === 0) fail('no checkpoint files given (a model.safetensors, or model.safetensors.index.json and its shards)');
  const byName = new Map<string, NamedFile>();
  for (const f of files) {
    const b = baseName(f.name);
    if (!isWeightFile(b)) {
      const hint = /\.(bin|pt|pth|ckpt|h5|msgpack)$/.test(b) ? ' (PyTorch/TF/Flax weights: only safetensors files can be read)' : '';
      fail(`${b} is not a checkpoint weight file: pass model.safetensors, or model.safetensors.index.json and its shards${hint}`);
    }
    if (byName.has(b)) fail(`two files are named ${b}`);
    byName.set(b, f);
  }
  const indexes = [...byName.keys()].filter((n) => n.endsWith(INDEX_SUFFIX));
  const shards = [...byName.keys()].filter((n) => n.endsWith('.safetensors'));
  if (indexes.length > 1) fail(`more than one index file: ${indexes.join(', ')}`);
  if (indexes.length === 0 && shards.length > 1) {
    fail(
      `${shards.length} .safetensors files (${listFew(shards)}) and no model${INDEX_SUFFIX}: a sharded checkpoint needs its index to say which tensor is in which file`,
    );
  }

  const weightMap = indexes.length ? parseShardIndex(byName.get(indexes[0])!.bytes, indexes[0]) : null;
  const index = indexes[0];
  if (weightMap) {
    const named = new Set(weightMap.values());
    for (const [tensor, shard] of weightMap) {
      if (!byName.has(shard)) fail(`${index} puts ${tensor} in ${shard}, which was not given (given: ${listFew(shards) || 'no .safetensors file'})`);
    }
    for (const s of shards) if (!named.has(s)) fail(`${s} was given but ${index} puts no tensor in it (a shard of another checkpoint?)`);
  }

  const tensors = new Map<string, StTensor>();
  const fileOf = new Map<string, string>();
  for (const s of shards) {
    for (const [name, t] of readShard(s, byName.get(s)!.bytes)) {
      const other = fileOf.get(name);
      if (other !== undefined) {
        const shapes = shapeOf(tensors.get(name)!) === shapeOf(t) ? '' : ` with different shapes, ${shapeOf(tensors.get(name)!)} and ${shapeOf(t)}`;
        fail(`tensor ${name} is stored twice: in ${other} and in ${s}${shapes}`);
      }
      tensors.set(name, t);
      fileOf.set(name, s);
    }
  }
  if (weightMap) {
    for (const [name, s] of fileOf) {
      const listed = weightMap.get(name);
      if (listed === undefined) fail(`${s} holds ${name}, which ${index} does not list`);
      if (listed !== s) fail(`${s} holds ${name}, but ${index} puts it in ${listed}`);
    }
    for (const [tensor, shard] of weightMap) if (!tensors.has(tensor)) fail(`${index} puts ${tensor} in ${shard}, but ${shard} has no tensor of that name`);
  }
  return { tensors, fileOf };
}
