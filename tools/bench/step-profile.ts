// `npm run bench -- --only step-profile`: a rough per-kernel profile of one dense training step on
// the Node engine. Every dispatch is submitted and awaited on its own (timestamp queries), so the
// total is slower than a real step: for finding the slow kernels, not for reporting.
import type { GpuEngine } from '../../src/backend/gpu';
import { sampleImageBatch, sampleTextBatch } from '../../src/data/batches';
import { DenseTrainer } from '../../src/lab/dense-train';
import { imageInput, textInput } from '../../src/lab/evaluate';
import { loadImageShard, loadTrainText } from '../../src/lab/lab-data';
import { byteTokenizer } from '../../src/data/byte-tokenizer';
import { buildModel } from '../../src/models/checkpoint';
import { gptInitialWeights } from '../../src/models/gpt';
import { TINY_GPT, TINY_VIT } from '../../src/models/presets';
import { vitInitialWeights } from '../../src/models/vit';
import { nodeAssets } from '../lib/node-assets';

export async function profileStep(e: GpuEngine, which: 'tiny-gpt' | 'tiny-vit', batch: number, log: (s: string) => void): Promise<void> {
  const cfg = which === 'tiny-gpt' ? TINY_GPT : TINY_VIT;
  const model = buildModel(e, cfg, cfg.kind === 'gpt2' ? gptInitialWeights(cfg, 1) : vitInitialWeights(cfg, 1), true);
  const tr = new DenseTrainer(model, { steps: 10, lr: 1e-3, lrMin: 1e-4, warmup: 1, weightDecay: 0.1, betas: [0.9, 0.95], clip: 1, logEvery: 1 });
  const assets = nodeAssets();
  const text = cfg.kind === 'gpt2' ? await loadTrainText(assets, 'mixed', byteTokenizer) : null;
  const imgs = cfg.kind === 'vit' ? await loadImageShard(assets, 'train', cfg) : null;
  const context = cfg.kind === 'gpt2' ? cfg.nPositions : 0;
  const input = (s: number) => (text ? textInput(sampleTextBatch(text, batch, context, 1, s)) : imageInput(sampleImageBatch(imgs!, batch, 1, s)));
  await tr.trainStep(input(0), true);
  let t = performance.now();
  await tr.trainStep(input(1), true);
  log(`${which}, batch ${batch}: whole step (batched submit) ${(performance.now() - t).toFixed(0)} ms`);
  if (!e.startProfiling()) throw new Error('this adapter has no timestamp-query: no per-kernel profile');
  t = performance.now();
  await tr.trainStep(input(2), true);
  const wall = performance.now() - t;
  const rows = await e.stopProfiling();
  const total = rows.reduce((a, r) => a + r.ms, 0);
  log(`profiled step: wall ${wall.toFixed(0)} ms, kernels ${total.toFixed(0)} ms`);
  for (const r of rows.slice(0, 25)) log(`${r.kernel.padEnd(60)} ${r.ms.toFixed(1).padStart(8)} ms ${String(r.calls).padStart(4)} calls`);
}
