// Which data a model gets, read through an AssetLoader (fetch on the page, public/ on disk in Node):
// a GPT learns on the English and/or code training text, tokenized with its own tokenizer (bytes or
// GPT-2's BPE, chosen by its vocabulary: src/data/tokenizer.ts), and is evaluated on both
// validation splits; a ViT learns on Fashion-MNIST, validates on its validation split and reports
// its test split. The shard files are public/data/<domain>.<split>.bin and fmnist.<split>.bin
// (format: public/data/DATA.md).
import { evalTextWindows, imageBatches, type ImageBatch, type TextBatch } from '../data/batches';
import { parseShard, type ImageShard } from '../data/shards';
import { loadTokenizer, tokenizeText, tokenizerKind, type Tokenizer } from '../data/tokenizer';
import type { GptConfig, ModelConfig, VitConfig } from '../models/config';
import type { AssetLoader } from './assets';
import type { ExperimentConfig } from './config';
import { TEXT_DOMAINS, type DataSplit, type TextDomainName } from './names';

export interface LabData {
  /** the training text (token ids: bytes, or BPE ids) or images */
  train: Uint8Array | Uint32Array | ImageShard;
  /** validation sets by key: 'en' and 'code' (GPT) or 'val' (ViT) */
  val: Map<string, TextBatch[] | ImageBatch[]>;
  /** the ViT's test set (the final table's accuracy); null for a GPT */
  test: ImageBatch[] | null;
}

export class LabDataError extends Error {}

/** Images per evaluation batch. */
export const IMAGE_EVAL_BATCH = 250;

/** The bytes of the text shard data/<domain>.<split>.bin. */
export async function loadTextShard(assets: AssetLoader, domain: TextDomainName, split: DataSplit): Promise<Uint8Array> {
  const name = `${domain}.${split}`;
  const s = parseShard(await assets.load(`data/${name}.bin`));
  if (s.kind !== 'text') throw new LabDataError(`data/${name}.bin is not a text shard`);
  return s.bytes;
}

/** The image shard data/fmnist.<split>.bin; with a ViT's config, checked to fit its input. */
export async function loadImageShard(assets: AssetLoader, split: DataSplit, vit?: VitConfig): Promise<ImageShard> {
  const name = `fmnist.${split}`;
  const s = parseShard(await assets.load(`data/${name}.bin`));
  if (s.kind !== 'images') throw new LabDataError(`data/${name}.bin is not an image shard`);
  if (vit && (s.height !== vit.imageSize || s.width !== vit.imageSize || vit.numChannels !== 1)) {
    throw new LabDataError(`the ViT expects ${vit.numChannels}×${vit.imageSize}×${vit.imageSize} images, the data has 1×${s.height}×${s.width}`);
  }
  return s;
}

/** Reports tokenizing k of n texts (a BPE model's; byte-level text needs no work and reports nothing). */
export type TokenizeProgress = (done: number, total: number, detail: string) => void;

/** The training text of a domain as tokens; 'mixed' is English then code, one after the other (each tokenized on its own). */
export async function loadTrainText(
  assets: AssetLoader,
  domain: ExperimentConfig['trainDomain'],
  tok: Tokenizer,
  progress?: () => void,
): Promise<Uint8Array | Uint32Array> {
  const domains: TextDomainName[] = domain === 'mixed' ? ['en', 'code'] : [domain];
  const parts: (Uint8Array | Uint32Array)[] = [];
  for (const d of domains) {
    parts.push(tokenizeText(await loadTextShard(assets, d, 'train'), tok, `data/${d}.train.bin`));
    progress?.();
  }
  if (parts.length === 1) return parts[0];
  const all = tok.kind === 'bytes' ? new Uint8Array(parts[0].length + parts[1].length) : new Uint32Array(parts[0].length + parts[1].length);
  all.set(parts[0]);
  all.set(parts[1], parts[0].length);
  return all;
}

/** A GPT run's window length: the `context` setting, or the model's n_positions when it is 0 (or absent). */
export function gptContext(mc: GptConfig, config: Partial<Pick<ExperimentConfig, 'context'>>): number {
  return config.context || mc.nPositions;
}

/**
 * The data of a lab run of model `mc`: training set, validation sets and (ViT) test set.
 * `evalWindows` caps the GPT validation windows per domain (0: the whole split).
 */
export async function loadLabData(
  assets: AssetLoader,
  mc: ModelConfig,
  config: Pick<ExperimentConfig, 'trainDomain' | 'evalWindows'> & Partial<Pick<ExperimentConfig, 'context'>>,
  onTokenize?: TokenizeProgress,
  /** windows (GPT) or images (ViT) per evaluation batch; default EVAL_BATCH / IMAGE_EVAL_BATCH */
  evalBatch?: number,
): Promise<LabData> {
  if (mc.kind === 'gpt2') {
    const tok = await loadTokenizer(tokenizerKind(mc.vocabSize));
    // the texts a BPE model tokenizes: the training domain(s), then each validation split
    const total = (config.trainDomain === 'mixed' ? 2 : 1) + TEXT_DOMAINS.length;
    let done = 0;
    const tick = () => tok.kind !== 'bytes' && onTokenize?.(++done, total, `${tok.kind} tokens`);
    if (tok.kind !== 'bytes') onTokenize?.(0, total, `${tok.kind} tokens`);
    const train = await loadTrainText(assets, config.trainDomain, tok, tick);
    const max = config.evalWindows || undefined;
    const val = new Map<string, TextBatch[]>();
    for (const d of TEXT_DOMAINS) {
      const tokens = tokenizeText(await loadTextShard(assets, d, 'val'), tok, `data/${d}.val.bin`);
      tick();
      const T = gptContext(mc, config);
      if (tokens.length < T + 1) throw new LabDataError(`the ${d} validation text is ${tokens.length} ${tok.kind} tokens, shorter than one window of ${T} + 1`);
      val.set(d, evalTextWindows(tokens, T, max, tok.byteLengths(), evalBatch));
    }
    return { train, val, test: null };
  }
  const train = await loadImageShard(assets, 'train', mc);
  const eb = evalBatch ?? IMAGE_EVAL_BATCH;
  const val = new Map<string, ImageBatch[]>([['val', imageBatches(await loadImageShard(assets, 'val', mc), eb)]]);
  return { train, val, test: imageBatches(await loadImageShard(assets, 'test', mc), eb) };
}
