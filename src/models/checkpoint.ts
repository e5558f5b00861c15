// Checkpoints in Hugging Face's format: model.safetensors + config.json. Loading maps file names to
// the lab's canonical names (GPT-2 files from the hub may lack the `transformer.` prefix and carry
// `attn.bias` / `attn.masked_bias` buffers; `lm_head.weight` is tied to wte). Every tensor is
// converted to f32 (the baseline path; shader-f16 is optional and absent on SwiftShader).
import type { Engine } from '../backend/engine';
import { configToJson, parseConfig, type ModelConfig } from './config';
import { Gpt, gptParameterShapes } from './gpt';
import type { LabModel } from './model';
import { readSafetensors, toFloat32, writeSafetensors, SafetensorsError, type StTensor } from './safetensors';
import { Vit, vitParameterShapes } from './vit';

export function parameterShapes(c: ModelConfig): [string, number[]][] {
  return c.kind === 'gpt2' ? gptParameterShapes(c) : vitParameterShapes(c);
}

const IGNORED_GPT = /(^|\.)attn\.(bias|masked_bias)$/;

function listFew(names: string[]): string {
  const few = names.slice(0, 4).join(', ');
  return names.length > 4 ? `${few} … (${names.length} in all)` : few;
}

/** Map a checkpoint's tensors to canonical names, strictly: missing, unexpected or misshapen tensors are errors. */
export function canonicalWeights(config: ModelConfig, tensors: Map<string, StTensor>): Map<string, Float32Array> {
  if (config.kind === 'gpt2' && !config.tieWordEmbeddings) {
    // the lab's GPT computes its logits with wte; an untied lm_head would be ignored without a word
    throw new SafetensorsError(
      "config.json sets tie_word_embeddings: false (an lm_head.weight of its own); the lab's GPT ties the output layer to wte and cannot use an untied head",
    );
  }
  const expected = parameterShapes(config);
  const used = new Set<string>();
  const out = new Map<string, Float32Array>();
  const missing: string[] = [];
  for (const [name, shape] of expected) {
    let t = tensors.get(name);
    let fileName = name;
    if (!t && config.kind === 'gpt2' && name.startsWith('transformer.')) {
      fileName = name.slice('transformer.'.length);
      t = tensors.get(fileName);
    }
    if (!t) {
      missing.push(name);
      continue;
    }
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new SafetensorsError(`tensor ${fileName} has shape [${t.shape.join(', ')}], the config needs [${shape.join(', ')}]`);
    }
    used.add(fileName);
    out.set(name, toFloat32(t));
  }
  if (missing.length) throw new SafetensorsError(`the checkpoint lacks ${missing.length} tensor(s) the config needs: ${listFew(missing)}`);
  const extra: string[] = [];
  for (const [name, t] of tensors) {
    if (used.has(name)) continue;
    if (config.kind === 'gpt2' && IGNORED_GPT.test(name)) continue;
    if (config.kind === 'gpt2' && name === 'lm_head.weight') {
      if (t.shape[0] !== config.vocabSize || t.shape[1] !== config.nEmbd)
        throw new SafetensorsError(`lm_head.weight has shape [${t.shape.join(', ')}], expected tied [${config.vocabSize}, ${config.nEmbd}]`);
      continue;
    }
    extra.push(name);
  }
  if (extra.length) throw new SafetensorsError(`the checkpoint has ${extra.length} tensor(s) this ${config.kind} config does not use: ${listFew(extra)}`);
  return out;
}

export interface CheckpointFiles {
  safetensors: Uint8Array | ArrayBuffer;
  /** the parsed config.json object */
  config: unknown;
}

export function readCheckpoint(files: CheckpointFiles): { config: ModelConfig; weights: Map<string, Float32Array> } {
  const config = parseConfig(files.config);
  const { tensors } = readSafetensors(files.safetensors);
  return { config, weights: canonicalWeights(config, tensors) };
}

export function buildModel(engine: Engine, config: ModelConfig, weights: Map<string, Float32Array>, trainable = false): LabModel {
  return config.kind === 'gpt2' ? new Gpt(engine, config, weights, trainable) : new Vit(engine, config, weights, trainable);
}

export function loadModel(engine: Engine, files: CheckpointFiles, trainable = false): LabModel {
  const { config, weights } = readCheckpoint(files);
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
