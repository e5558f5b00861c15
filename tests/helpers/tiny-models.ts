// Tiny model configs and inputs for tests (shapes chosen not to divide tile sizes).
import type { GptConfig, VitConfig } from '../../src/models/config';
import type { ModelInput } from '../../src/models/model';
import { randint, randn } from './random';

export const MICRO_GPT: GptConfig = { kind: 'gpt2', vocabSize: 13, nPositions: 9, nEmbd: 12, nLayer: 2, nHead: 3, layerNormEps: 1e-5, tieWordEmbeddings: true };

export const MICRO_VIT: VitConfig = {
  kind: 'vit',
  hiddenSize: 12,
  numLayers: 2,
  numHeads: 2,
  intermediateSize: 20,
  imageSize: 6,
  patchSize: 3,
  numChannels: 1,
  numLabels: 5,
  layerNormEps: 1e-12,
  qkvBias: true,
  labels: ['a', 'b', 'c', 'd', 'e'],
};

export function microText(seed: number, batch = 2, context = 7, vocab = 13): ModelInput {
  return { kind: 'text', inputs: randint(batch * context, seed, vocab), targets: randint(batch * context, seed + 1, vocab), batch, context };
}

export function microImages(seed: number, batch = 3, c: VitConfig = MICRO_VIT): ModelInput {
  return { kind: 'images', images: randn(batch * c.numChannels * c.imageSize * c.imageSize, seed), labels: randint(batch, seed + 1, c.numLabels), batch };
}
