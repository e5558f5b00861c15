// The bundled models' architectures. Sizes are chosen so one mask-learning step at the test batch
// runs in about a second on the CPU (SwiftShader) adapter; see each MODEL_CARD.md for measurements.
import type { GptConfig, VitConfig } from './config';

export const TINY_GPT: GptConfig = {
  kind: 'gpt2',
  vocabSize: 256,
  nPositions: 128,
  nEmbd: 64,
  nLayer: 4,
  nHead: 4,
  layerNormEps: 1e-5,
  tieWordEmbeddings: true,
};

export const FASHION_LABELS = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

export const TINY_VIT: VitConfig = {
  kind: 'vit',
  hiddenSize: 64,
  numLayers: 4,
  numHeads: 4,
  intermediateSize: 256,
  imageSize: 28,
  patchSize: 7,
  numChannels: 1,
  numLabels: 10,
  layerNormEps: 1e-12,
  qkvBias: true,
  labels: FASHION_LABELS,
};
