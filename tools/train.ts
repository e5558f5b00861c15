// npm run train -- <tiny-gpt|tiny-vit> [options]
// Dense training of a bundled checkpoint on the lab's own engine (--engine: WebGPU through the Node
// `webgpu` package, or the WebAssembly engine), seeded and deterministic on one engine and adapter. Writes model.safetensors, config.json, train_log.json and
// MODEL_CARD.md into public/checkpoints/<name>/ (or --out).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { evalTextWindows, imageBatches, sampleImageBatch, sampleTextBatch } from '../src/data/batches';
import { DenseTrainer, lrAt, type DenseTrainConfig, type TrainLogEntry } from '../src/lab/dense-train';
import { evaluateImages, evaluateText, imageInput, textInput } from '../src/lab/evaluate';
import { buildModel, modelWeights, writeCheckpoint } from '../src/models/checkpoint';
import { gptInitialWeights } from '../src/models/gpt';
import { TINY_GPT, TINY_VIT } from '../src/models/presets';
import { vitInitialWeights } from '../src/models/vit';
import { magnitudeMask } from '../src/sparsity/priors/magnitude';
import type { LabModel } from '../src/models/model';
import { helpText, parseArgs, runMain, UsageError, type OptionSpec } from './lib/args';
import { loadImageShard, loadTextShard, loadTrainText } from '../src/lab/lab-data';
import { byteTokenizer } from '../src/data/byte-tokenizer';
import { nodeAssets } from './lib/node-assets';
import { ENGINE_OPTIONS, engineRequestFrom, nodeEngine } from './lib/engine-options';

const SPECS: OptionSpec[] = [
  { name: 'steps', type: 'int', help: 'optimizer steps' },
  { name: 'batch', type: 'int', help: 'sequences (GPT) or images (ViT) per step' },
  { name: 'lr', type: 'number', help: 'peak learning rate' },
  { name: 'seed', type: 'int', help: 'seed for init and batches', default: 1 },
  { name: 'out', type: 'string', help: 'output directory (default public/checkpoints/<name>)' },
  { name: 'log-every', type: 'int', help: 'read the loss back every k steps', default: 10 },
  { name: 'eval-windows', type: 'int', help: 'max validation/test windows (GPT) in the final evaluation', default: 100000 },
  ...ENGINE_OPTIONS,
  { name: 'help', type: 'flag', help: 'show this help' },
];

const DEFAULTS = {
  'tiny-gpt': { steps: 1000, batch: 8, lr: 3e-3 },
  'tiny-vit': { steps: 600, batch: 64, lr: 2e-3 },
} as const;

async function magnitudePruned(model: LabModel): Promise<Map<string, import('../src/autograd/tensor').Tensor>> {
  const { Tensor } = await import('../src/autograd/tensor');
  const override = new Map();
  for (const s of model.maskSites) {
    const w = (await model.engine.read(model.weights.get(s.name)!.raw)) as Float32Array;
    const mask = magnitudeMask(w, s.shape, s.layout, 2, 4);
    const pruned = w.map((x, i) => (mask[i] ? x : 0));
    override.set(s.name, new Tensor(model.engine.upload(pruned, s.shape), false, null, s.name));
  }
  return override;
}

async function main(): Promise<void> {
  const { opts, positional } = parseArgs(process.argv.slice(2), SPECS);
  const usage = 'usage: npm run train -- <tiny-gpt|tiny-vit> [options]';
  if (opts.help) {
    console.log(helpText(usage, SPECS));
    return;
  }
  const name = positional[0];
  if (name !== 'tiny-gpt' && name !== 'tiny-vit') throw new UsageError(`${usage} (got ${name ?? 'no model'})`);
  const d = DEFAULTS[name];
  const steps = (opts.steps as number) ?? d.steps;
  const batch = (opts.batch as number) ?? d.batch;
  const seed = opts.seed as number;
  const out = (opts.out as string) ?? join('public', 'checkpoints', name);
  const logEvery = opts['log-every'] as number;
  const cfg: DenseTrainConfig = {
    steps,
    lr: (opts.lr as number) ?? d.lr,
    lrMin: ((opts.lr as number) ?? d.lr) / 10,
    warmup: Math.min(100, Math.floor(steps / 10)),
    weightDecay: 0.1,
    betas: [0.9, 0.95],
    clip: 1.0,
    logEvery,
  };

  const choice = await nodeEngine(engineRequestFrom(opts));
  const engine = choice.engine;
  const config = name === 'tiny-gpt' ? TINY_GPT : TINY_VIT;
  const init = config.kind === 'gpt2' ? gptInitialWeights(config, seed) : vitInitialWeights(config, seed);
  const model = buildModel(engine, config, init, true);
  const trainer = new DenseTrainer(model, cfg);
  const assets = nodeAssets();
  const trainText = config.kind === 'gpt2' ? await loadTrainText(assets, 'mixed', byteTokenizer) : null;
  const trainImages = config.kind === 'vit' ? await loadImageShard(assets, 'train') : null;
  const context = config.kind === 'gpt2' ? config.nPositions : 0;
  console.log(`${name}: ${model.parameterCount} parameters, ${steps} steps of batch ${batch}, on ${choice.description}`);

  const log: TrainLogEntry[] = [];
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) {
    const input = trainText ? textInput(sampleTextBatch(trainText, batch, context, seed, s)) : imageInput(sampleImageBatch(trainImages!, batch, seed, s));
    const read = s % logEvery === 0 || s === steps - 1;
    const loss = await trainer.trainStep(input, read);
    if (loss !== null) {
      const seconds = (performance.now() - t0) / 1000;
      log.push({ step: s, loss, lr: lrAt(cfg, s), seconds });
      const eta = (seconds / (s + 1)) * (steps - s - 1);
      process.stdout.write(`\rstep ${s + 1}/${steps}  loss ${loss.toFixed(4)}  ${(seconds / (s + 1)).toFixed(2)} s/step  eta ${(eta / 60).toFixed(1)} min   `);
      if (!Number.isFinite(loss)) throw new Error(`loss became ${loss} at step ${s}`);
    }
  }
  const wall = (performance.now() - t0) / 1000;
  console.log(`\ntrained in ${(wall / 60).toFixed(1)} min`);

  // Final evaluation: dense and 2:4 magnitude-pruned, on validation and test splits.
  const metrics: Record<string, unknown> = {};
  if (config.kind === 'gpt2') {
    const maxW = opts['eval-windows'] as number;
    for (const domain of ['en', 'code'] as const) {
      for (const split of ['val', 'test'] as const) {
        const windows = evalTextWindows(await loadTextShard(assets, domain, split), context, maxW);
        metrics[`${domain}.${split}.dense`] = await evaluateText(model, windows);
      }
    }
    const pruned = await magnitudePruned(model);
    for (const domain of ['en', 'code'] as const) {
      metrics[`${domain}.val.magnitude_2:4`] = await evaluateText(
        model,
        evalTextWindows(await loadTextShard(assets, domain, 'val'), context, opts['eval-windows'] as number),
        pruned,
      );
    }
  } else {
    for (const split of ['val', 'test'] as const)
      metrics[`${split}.dense`] = await evaluateImages(model, imageBatches(await loadImageShard(assets, split), 250));
    const pruned = await magnitudePruned(model);
    metrics['test.magnitude_2:4'] = await evaluateImages(model, imageBatches(await loadImageShard(assets, 'test'), 250), pruned);
  }
  console.log(JSON.stringify(metrics, null, 2));

  const weights = await modelWeights(model);
  const files = writeCheckpoint(config, weights, { trained_by: 'maskllm-webgpu-lab tools/train.ts', seed: String(seed) });
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'model.safetensors'), files.safetensors);
  writeFileSync(join(out, 'config.json'), files.configJson);
  const adapter = engine.kind === 'gpu' ? engine.info.adapterInfo : null;
  const ran = { kind: choice.kind, description: choice.description };
  writeFileSync(
    join(out, 'train_log.json'),
    JSON.stringify(
      { model: name, seed, batch, context, config: cfg, parameters: model.parameterCount, wallSeconds: wall, engine: ran, adapter, log, metrics },
      null,
      1,
    ) + '\n',
  );
  console.log(`wrote ${out}`);
}

runMain(main);
