// The architectures of published checkpoints (GPT-2 small, ViT-B/16) as lab model configs, for
// tests of names, shapes and memory plans at real scale (no weights).
import type { GptConfig, VitConfig } from '../../src/models/config';

export const GPT2_SMALL: GptConfig = {
  kind: 'gpt2',
  vocabSize: 50257,
  nPositions: 1024,
  nEmbd: 768,
  nLayer: 12,
  nHead: 12,
  layerNormEps: 1e-5,
  tieWordEmbeddings: true,
};
export const VIT_B16: VitConfig = {
  kind: 'vit',
  hiddenSize: 768,
  numLayers: 12,
  numHeads: 12,
  intermediateSize: 3072,
  imageSize: 224,
  patchSize: 16,
  numChannels: 3,
  numLabels: 1000,
  layerNormEps: 1e-12,
  qkvBias: true,
  labels: Array.from({ length: 1000 }, (_, i) => `c${i}`),
};
