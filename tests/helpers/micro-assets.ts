// An in-memory AssetLoader serving micro checkpoints and data shards in the lab's real formats, so
// sessions can be tested end to end without the bundled (slow) models.
import type { AssetLoader } from '../../src/lab/assets';
import { encodeImageShard, encodeTextShard } from '../../src/data/shards';
import { writeCheckpoint } from '../../src/models/checkpoint';
import type { GptConfig, VitConfig } from '../../src/models/config';
import { gptInitialWeights } from '../../src/models/gpt';
import { vitInitialWeights } from '../../src/models/vit';
import { rngBitsCpu } from '../../src/ops/rng';

export const BYTE_GPT: GptConfig = {
  kind: 'gpt2',
  vocabSize: 256,
  nPositions: 16,
  nEmbd: 16,
  nLayer: 2,
  nHead: 2,
  layerNormEps: 1e-5,
  tieWordEmbeddings: true,
};
/** BYTE_GPT with GPT-2's vocabulary: the lab tokenizes its text with GPT-2's BPE. */
export const BPE_GPT: GptConfig = { ...BYTE_GPT, vocabSize: 50257 };
export const SMALL_VIT: VitConfig = {
  kind: 'vit',
  hiddenSize: 16,
  numLayers: 2,
  numHeads: 2,
  intermediateSize: 32,
  imageSize: 28,
  patchSize: 7,
  numChannels: 1,
  numLabels: 10,
  layerNormEps: 1e-12,
  qkvBias: true,
  labels: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
};

function bytes(n: number, seed: number, alphabet = 256): Uint8Array {
  return Uint8Array.from(rngBitsCpu({ seed, stream: 1, offset: 0 }, n), (b) => b % alphabet);
}

function images(count: number, seed: number) {
  return encodeImageShard({ count, height: 28, width: 28, images: bytes(count * 784, seed), labels: bytes(count, seed + 1, 10), numClasses: 10 });
}

export function microAssets(seed = 1): AssetLoader {
  const files = new Map<string, Uint8Array>();
  const enc = new TextEncoder();
  const add = (dir: string, cfg: GptConfig | VitConfig, w: Map<string, Float32Array>) => {
    const ck = writeCheckpoint(cfg, w);
    files.set(`checkpoints/${dir}/model.safetensors`, ck.safetensors);
    files.set(`checkpoints/${dir}/config.json`, enc.encode(ck.configJson));
  };
  // scaled-up weights so pruning changes the outputs visibly
  const scale = (w: Map<string, Float32Array>) => new Map([...w].map(([k, v]) => [k, /ln|layernorm/.test(k) ? v : v.map((x) => x * 8)]));
  add('micro-gpt', BYTE_GPT, scale(gptInitialWeights(BYTE_GPT, seed)));
  // GPT-2's vocabulary (BPE): 3 MB of embeddings, so written only when a test loads it
  const lazy = new Map<string, () => Uint8Array>();
  let bpe: ReturnType<typeof writeCheckpoint> | null = null;
  const bpeFiles = () => (bpe ??= writeCheckpoint(BPE_GPT, scale(gptInitialWeights(BPE_GPT, seed))));
  lazy.set('checkpoints/micro-gpt2/model.safetensors', () => bpeFiles().safetensors);
  lazy.set('checkpoints/micro-gpt2/config.json', () => enc.encode(bpeFiles().configJson));
  add('micro-vit', SMALL_VIT, scale(vitInitialWeights(SMALL_VIT, seed)));
  // text: a small alphabet so there is something to learn
  for (const [d, s] of [
    ['en', 10],
    ['code', 20],
  ] as const) {
    files.set(`data/${d}.train.bin`, encodeTextShard(bytes(4000, seed + s, 16)));
    files.set(`data/${d}.val.bin`, encodeTextShard(bytes(400, seed + s + 1, 16)));
    files.set(`data/${d}.test.bin`, encodeTextShard(bytes(400, seed + s + 2, 16)));
  }
  files.set('data/fmnist.train.bin', images(64, seed + 30));
  files.set('data/fmnist.val.bin', images(20, seed + 31));
  files.set('data/fmnist.test.bin', images(30, seed + 32));
  return {
    async load(path) {
      const f = files.get(path) ?? lazy.get(path)?.();
      if (!f) throw new Error(`no asset ${path}`);
      return f;
    },
  };
}
