// Checkpoints in Hugging Face's format: config.json plus model.safetensors, or a sharded
// model.safetensors.index.json with its shards (sharded.ts). Loading maps file names to the lab's
// canonical names (GPT-2 files from the hub may lack the `transformer.` prefix and carry
// `attn.bias` / `attn.masked_bias` buffers, in any dtype, which are skipped unread; a tied model's file
// may carry `lm_head.weight`, which is checked for shape and skipped; an untied one needs it).
// Weights are converted to f32 one tensor at a time when a model reads them (WeightSource), so
// loading holds the file and one converted tensor, not a second copy of the model (the baseline
// path; shader-f16 is optional and absent on SwiftShader).
import type { Engine } from '../backend/engine';
import { configToJson, parseConfig, type ModelConfig } from './config';
import { Gpt, gptParameterShapes } from './gpt';
import type { LabModel } from './model';
import { readCheckpointTensors, CheckpointError, type NamedFile } from './sharded';
import { asFloat32, writeSafetensors, type StDType, type StTensor } from './safetensors';
import { Vit, vitParameterShapes } from './vit';
import { weightsToMap, type Weights, type WeightSource, type WeightStorage } from './weights';

export { CheckpointError, INDEX_SUFFIX, isWeightFile, type NamedFile } from './sharded';
export type { WeightSource, Weights } from './weights';

/**
 * A checkpoint opened from files (the page's picker, the headless driver's URLs, tools): its weight
 * files — one .safetensors, or model.safetensors.index.json and its shards, in any order — and its
 * parsed config.json; `name` labels it where it is shown.
 */
export interface CheckpointFileSet {
  name?: string;
  files: NamedFile[];
  config: unknown;
}

export function parameterShapes(c: ModelConfig): [string, number[]][] {
  return c.kind === 'gpt2' ? gptParameterShapes(c) : vitParameterShapes(c);
}

/** GPT-2's causal-mask buffers (`h.N.attn.bias` [1, 1, P, P], F32 or BOOL; `attn.masked_bias` []): not weights. */
const IGNORED_GPT = /(^|\.)attn\.(bias|masked_bias)$/;
const FLOAT_DTYPES: StDType[] = ['F32', 'F16', 'BF16', 'F64'];

function listFew(names: string[]): string {
  const few = names.slice(0, 4).join(', ');
  return names.length > 4 ? `${few} … (${names.length} in all)` : few;
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Map a checkpoint's tensors to canonical names, strictly (missing, unexpected, misshapen or
 * non-float tensors are errors), without converting any: the result reads each tensor on demand.
 * `fileOf` (tensor → file) only makes the messages name the file.
 */
export function checkpointSource(config: ModelConfig, tensors: ReadonlyMap<string, StTensor>, fileOf?: ReadonlyMap<string, string>): WeightSource {
  const where = (name: string) => (fileOf?.has(name) ? ` in ${fileOf.get(name)}` : '');
  const expected = parameterShapes(config);
  const used = new Set<string>();
  const found = new Map<string, StTensor>();
  const missing: string[] = [];
  for (const [name, shape] of expected) {
    let fileName = name;
    let t = tensors.get(name);
    if (config.kind === 'gpt2' && name.startsWith('transformer.')) {
      const bare = name.slice('transformer.'.length);
      const alias = tensors.get(bare);
      if (t && alias) throw new CheckpointError(`the checkpoint holds ${name}${where(name)} and ${bare}${where(bare)}: one weight under two names`);
      if (!t && alias) [t, fileName] = [alias, bare];
    }
    if (!t) {
      missing.push(name);
      continue;
    }
    if (!sameShape(t.shape, shape)) {
      throw new CheckpointError(`tensor ${fileName}${where(fileName)} has shape [${t.shape.join(', ')}], the config needs [${shape.join(', ')}]`);
    }
    if (!FLOAT_DTYPES.includes(t.dtype))
      throw new CheckpointError(`tensor ${fileName}${where(fileName)} is ${t.dtype}; weights must be ${FLOAT_DTYPES.join(', ')}`);
    used.add(fileName);
    found.set(name, t);
  }
  if (missing.length) throw new CheckpointError(`the checkpoint lacks ${missing.length} tensor(s) the config needs: ${listFew(missing)}`);
  const extra: string[] = [];
  for (const [name, t] of tensors) {
    if (used.has(name)) continue;
    if (config.kind === 'gpt2' && IGNORED_GPT.test(name)) continue;
    if (config.kind === 'gpt2' && name === 'lm_head.weight') {
      // tied (an untied head is an expected tensor, used above): transformers overwrites it with wte
      if (!sameShape(t.shape, [config.vocabSize, config.nEmbd]))
        throw new CheckpointError(`lm_head.weight${where(name)} has shape [${t.shape.join(', ')}], expected tied [${config.vocabSize}, ${config.nEmbd}]`);
      continue;
    }
    extra.push(name);
  }
  if (extra.length) throw new CheckpointError(`the checkpoint has ${extra.length} tensor(s) this ${config.kind} config does not use: ${listFew(extra)}`);
  const names = expected.map(([n]) => n);
  const tensorOf = (name: string) => {
    const t = found.get(name);
    if (!t) throw new CheckpointError(`the checkpoint has no weight ${name}`);
    return t;
  };
  return {
    names,
    shape: (name) => tensorOf(name).shape,
    read: (name) => asFloat32(tensorOf(name)),
  };
}

/** Map a checkpoint's tensors to canonical names, strictly, converting every one to its own f32 array. */
export function canonicalWeights(config: ModelConfig, tensors: ReadonlyMap<string, StTensor>): Map<string, Float32Array> {
  return weightsToMap(checkpointSource(config, tensors));
}

/**
 * A checkpoint as the hub publishes it: `files` are model.safetensors, or model.safetensors.index.json
 * and its shards (CheckpointError when they do not fit together); `config` is the parsed config.json.
 * Nothing is converted yet: pass `weights` to buildModel, which uploads tensor by tensor.
 */
export function openCheckpoint(files: NamedFile[], config: unknown): { config: ModelConfig; weights: WeightSource } {
  const modelConfig = parseConfig(config);
  const { tensors, fileOf } = readCheckpointTensors(files);
  return { config: modelConfig, weights: checkpointSource(modelConfig, tensors, fileOf) };
}

export interface CheckpointFiles {
  safetensors: Uint8Array | ArrayBuffer;
  /** the parsed config.json object */
  config: unknown;
}

/**
 * One model.safetensors, every weight converted into a Map (a second copy of the model on the host).
 * Kept for existing callers; prefer openCheckpoint, which also reads sharded checkpoints.
 */
export function readCheckpoint(files: CheckpointFiles): { config: ModelConfig; weights: Map<string, Float32Array> } {
  const { config, weights } = openCheckpoint([{ name: 'model.safetensors', bytes: files.safetensors }], files.config);
  return { config, weights: weightsToMap(weights) };
}

/**
 * The model on `engine`; each weight is read (converted) and uploaded in turn, none kept on the host.
 * `weightStorage` 'f16': the masked layers' frozen weights packed as f16 (GPU engine only; models/weights.ts).
 */
export function buildModel(engine: Engine, config: ModelConfig, weights: Weights, trainable = false, weightStorage: WeightStorage = 'f32'): LabModel {
  return config.kind === 'gpt2' ? new Gpt(engine, config, weights, trainable, weightStorage) : new Vit(engine, config, weights, trainable, weightStorage);
}

/** Parse, check and build in one go, from one model.safetensors ({safetensors, config}) or hub files ({files, config}). */
export function loadModel(engine: Engine, files: CheckpointFiles | CheckpointFileSet, trainable = false): LabModel {
  const list = 'files' in files ? files.files : [{ name: 'model.safetensors', bytes: files.safetensors }];
  const { config, weights } = openCheckpoint(list, files.config);
  return buildModel(engine, config, weights, trainable);
}

/** Serialise weights (canonical names) + config to the two files of a Hugging Face checkpoint. */
export function writeCheckpoint(
  config: ModelConfig,
  weights: Map<string, Float32Array>,
  metadata: Record<string, string> = {},
): { safetensors: Uint8Array; configJson: string } {
  const list = parameterShapes(config).map(([name, shape]) => {
    const data = weights.get(name);
    if (!data) throw new Error(`writeCheckpoint: missing ${name}`);
    return { name, dtype: 'F32' as const, shape, data };
  });
  return {
    safetensors: writeSafetensors(list, { format: 'pt', ...metadata }),
    configJson: JSON.stringify(configToJson(config), null, 2) + '\n',
  };
}

/** Read every weight of a model back to the host (canonical names). */
export async function modelWeights(model: LabModel): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, t] of model.weights) out.set(name, (await model.engine.read(t.raw)) as Float32Array);
  return out;
}
