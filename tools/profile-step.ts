// Rough per-kernel profile of one training step: every dispatch is submitted and awaited on its own
// (so totals are slower than a real step); for finding the slow kernels, not for reporting.
import { sampleTextBatch, sampleImageBatch } from '../src/data/batches';
import { DenseTrainer } from '../src/lab/dense-train';
import { textInput, imageInput } from '../src/lab/evaluate';
import { buildModel } from '../src/models/checkpoint';
import { gptInitialWeights } from '../src/models/gpt';
import { TINY_GPT, TINY_VIT } from '../src/models/presets';
import { vitInitialWeights } from '../src/models/vit';
import { imageShard, mixedTrainText } from './lib/data-node';
import { nodeGpuEngine } from './node-gpu';

const which = process.argv[2] ?? 'tiny-gpt';
const batch = Number(process.argv[3] ?? 16);
const e = await nodeGpuEngine();
const cfg = which === 'tiny-gpt' ? TINY_GPT : TINY_VIT;
const model = buildModel(e, cfg, cfg.kind === 'gpt2' ? gptInitialWeights(cfg, 1) : vitInitialWeights(cfg, 1), true);
const tr = new DenseTrainer(model, { steps: 10, lr: 1e-3, lrMin: 1e-4, warmup: 1, weightDecay: 0.1, betas: [0.9, 0.95], clip: 1, logEvery: 1 });
const text = cfg.kind === 'gpt2' ? mixedTrainText() : null;
const imgs = cfg.kind === 'vit' ? imageShard('train') : null;
const input = (s: number) => (text ? textInput(sampleTextBatch(text, batch, 128, 1, s)) : imageInput(sampleImageBatch(imgs!, batch, 1, s)));
await tr.trainStep(input(0), true);
let t = performance.now();
await tr.trainStep(input(1), true);
console.log(`whole step (batched submit): ${(performance.now() - t).toFixed(0)} ms`);
if (!e.startProfiling()) throw new Error('this adapter has no timestamp-query');
t = performance.now();
await tr.trainStep(input(2), true);
const wall = performance.now() - t;
const rows = await e.stopProfiling();
const total = rows.reduce((a, r) => a + r.ms, 0);
console.log(`profiled step: wall ${wall.toFixed(0)} ms, kernels ${total.toFixed(0)} ms`);
for (const r of rows.slice(0, 25)) console.log(`${r.kernel.padEnd(60)} ${r.ms.toFixed(1).padStart(8)} ms ${String(r.calls).padStart(4)} calls`);
process.exit(0);
