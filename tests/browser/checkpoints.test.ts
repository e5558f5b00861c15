// The bundled checkpoints: each reloads from its committed files and reproduces its model card's
// dense metric (train_log.json, written by `npm run train`) within 0.5%; and the training command
// reproduces the start of the recorded loss curve from its seed.
import { describe, expect, it } from 'vitest';
import { evalTextWindows, imageBatches, sampleTextBatch, sampleImageBatch } from '../../src/data/batches';
import { parseShard, type ImageShard, type TextShard } from '../../src/data/shards';
import { DenseTrainer } from '../../src/lab/dense-train';
import { evaluateImages, evaluateText, imageInput, textInput } from '../../src/lab/evaluate';
import { buildModel, loadModel } from '../../src/models/checkpoint';
import { gptInitialWeights } from '../../src/models/gpt';
import { TINY_GPT, TINY_VIT } from '../../src/models/presets';
import { vitInitialWeights } from '../../src/models/vit';
import { getEngine } from '../helpers/gpu';

async function bytes(path: string): Promise<Uint8Array> {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}
const json = async (path: string) => JSON.parse(new TextDecoder().decode(await bytes(path)));
const text = async (name: string) => (parseShard(await bytes(`/data/${name}.bin`)) as TextShard).bytes;
const images = async (name: string) => parseShard(await bytes(`/data/${name}.bin`)) as ImageShard;

describe('bundled checkpoints', async () => {
  const g = await getEngine();

  it.runIf(g)('tiny-gpt reloads and reproduces its English validation perplexity within 0.5%', async () => {
    const dir = '/checkpoints/tiny-gpt/';
    const log = await json(dir + 'train_log.json');
    const model = loadModel(g!, { safetensors: await bytes(dir + 'model.safetensors'), config: await json(dir + 'config.json') });
    const r = await evaluateText(model, evalTextWindows(await text('en.val'), 128));
    const want = log.metrics['en.val.dense'];
    expect(r.tokens).toBe(want.tokens);
    expect(Math.abs(r.ppl - want.ppl) / want.ppl, `ppl ${r.ppl} vs card ${want.ppl}`).toBeLessThan(0.005);
    model.dispose();
  });

  it.runIf(g)('tiny-vit reloads and reproduces its validation accuracy within 0.5%', async () => {
    const dir = '/checkpoints/tiny-vit/';
    const log = await json(dir + 'train_log.json');
    const model = loadModel(g!, { safetensors: await bytes(dir + 'model.safetensors'), config: await json(dir + 'config.json') });
    const r = await evaluateImages(model, imageBatches(await images('fmnist.val'), 250));
    const want = log.metrics['val.dense'].accuracy;
    expect(Math.abs(r.accuracy - want) / want, `accuracy ${r.accuracy} vs card ${want}`).toBeLessThan(0.005);
    model.dispose();
  });

  it.runIf(g)('the training command reproduces the first logged losses of tiny-gpt from its seed', async () => {
    const log = await json('/checkpoints/tiny-gpt/train_log.json');
    const { seed, batch, config } = log;
    const model = buildModel(g!, TINY_GPT, gptInitialWeights(TINY_GPT, seed), true);
    const trainer = new DenseTrainer(model, config);
    const train = new Uint8Array([...(await text('en.train')), ...(await text('code.train'))]);
    const logged = new Map<number, number>(log.log.map((e: { step: number; loss: number }) => [e.step, e.loss]));
    const upTo = config.logEvery; // steps 0 and logEvery are in the log
    for (let s = 0; s <= upTo; s++) {
      const loss = await trainer.trainStep(textInput(sampleTextBatch(train, batch, 128, seed, s)), logged.has(s));
      if (logged.has(s)) expect(Math.abs(loss! - logged.get(s)!), `step ${s}: ${loss} vs logged ${logged.get(s)}`).toBeLessThan(2e-3 * logged.get(s)!);
    }
    trainer.dispose();
    model.dispose();
  });

  it.runIf(g)('the training command reproduces the first logged losses of tiny-vit from its seed', async () => {
    const log = await json('/checkpoints/tiny-vit/train_log.json');
    const { seed, batch, config } = log;
    const model = buildModel(g!, TINY_VIT, vitInitialWeights(TINY_VIT, seed), true);
    const trainer = new DenseTrainer(model, config);
    const train = await images('fmnist.train');
    const logged = new Map<number, number>(log.log.map((e: { step: number; loss: number }) => [e.step, e.loss]));
    for (let s = 0; s <= config.logEvery; s++) {
      const loss = await trainer.trainStep(imageInput(sampleImageBatch(train, batch, seed, s)), logged.has(s));
      if (logged.has(s)) expect(Math.abs(loss! - logged.get(s)!), `step ${s}: ${loss} vs logged ${logged.get(s)}`).toBeLessThan(2e-3 * logged.get(s)!);
    }
    trainer.dispose();
    model.dispose();
  });
});
