// Which data a model gets, read through an AssetLoader (fetch on the page, public/ on disk in Node):
// a byte-level GPT learns on the English and/or code training text and is evaluated on both
// validation splits; a ViT learns on Fashion-MNIST, validates on its validation split and reports
// its test split. The shard files are public/data/<domain>.<split>.bin and fmnist.<split>.bin
// (format: public/data/DATA.md).
import { evalTextWindows, imageBatches, type ImageBatch, type TextBatch } from '../data/batches';
import { parseShard, type ImageShard } from '../data/shards';
import type { ModelConfig, VitConfig } from '../models/config';
import type { AssetLoader } from './assets';
import type { ExperimentConfig } from './config';
import { TEXT_DOMAINS, type DataSplit, type TextDomainName } from './names';

export interface LabData {
  /** the training text (bytes) or images */
  train: Uint8Array | ImageShard;
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

/** The training text of a domain; 'mixed' is English then code, one after the other. */
export async function loadTrainText(assets: AssetLoader, domain: ExperimentConfig['trainDomain']): Promise<Uint8Array> {
  if (domain !== 'mixed') return loadTextShard(assets, domain, 'train');
  const en = await loadTextShard(assets, 'en', 'train');
  const code = await loadTextShard(assets, 'code', 'train');
  const all = new Uint8Array(en.length + code.length);
  all.set(en);
  all.set(code, en.length);
  return all;
}

/**
 * The data of a lab run of model `mc`: training set, validation sets and (ViT) test set.
 * `evalWindows` caps the GPT validation windows per domain (0: the whole split).
 */
export async function loadLabData(assets: AssetLoader, mc: ModelConfig, config: Pick<ExperimentConfig, 'trainDomain' | 'evalWindows'>): Promise<LabData> {
  if (mc.kind === 'gpt2') {
    if (mc.vocabSize !== 256)
      throw new LabDataError(`this GPT has a ${mc.vocabSize}-token vocabulary; the lab's text data is byte-level (256). Use a byte-level model.`);
    const train = await loadTrainText(assets, config.trainDomain);
    const max = config.evalWindows || undefined;
    const val = new Map<string, TextBatch[]>();
    for (const d of TEXT_DOMAINS) val.set(d, evalTextWindows(await loadTextShard(assets, d, 'val'), mc.nPositions, max));
    return { train, val, test: null };
  }
  const train = await loadImageShard(assets, 'train', mc);
  const val = new Map<string, ImageBatch[]>([['val', imageBatches(await loadImageShard(assets, 'val', mc), IMAGE_EVAL_BATCH)]]);
  return { train, val, test: imageBatches(await loadImageShard(assets, 'test', mc), IMAGE_EVAL_BATCH) };
}
