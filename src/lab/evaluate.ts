// Held-out evaluation. GPT: mean next-token cross-entropy over non-overlapping windows of the
// model's context (every window predicts `context` targets; windows do not overlap, so each byte of
// the split is predicted at most once), reported as perplexity and bits per token (= per byte for
// the byte-level model). ViT: top-1 accuracy over the split, in order.
import { Tape } from '../autograd/tape';
import type { Tensor } from '../autograd/tensor';
import type { ImageBatch, TextBatch } from '../data/batches';
import type { LabModel, ModelInput } from '../models/model';

export interface TextEval {
  loss: number;
  ppl: number;
  bitsPerToken: number;
  tokens: number;
}

export interface ImageEval {
  loss: number;
  accuracy: number;
  images: number;
}

export const textInput = (b: TextBatch): ModelInput => ({ kind: 'text', inputs: b.inputs, targets: b.targets, batch: b.batch, context: b.context });
export const imageInput = (b: ImageBatch): ModelInput => ({ kind: 'images', images: b.images, labels: b.labels, batch: b.batch });

export async function evaluateText(model: LabModel, batches: TextBatch[], override?: Map<string, Tensor>): Promise<TextEval> {
  let sum = 0;
  let n = 0;
  for (const b of batches) {
    const tape = new Tape(model.engine);
    const { loss } = model.forward(tape, textInput(b), override);
    const v = (await model.engine.read(loss.raw))[0];
    tape.dispose();
    const count = b.batch * b.context;
    sum += v * count;
    n += count;
  }
  const loss = sum / n;
  return { loss, ppl: Math.exp(loss), bitsPerToken: loss / Math.LN2, tokens: n };
}

export async function evaluateImages(model: LabModel, batches: ImageBatch[], override?: Map<string, Tensor>): Promise<ImageEval> {
  let correct = 0;
  let sum = 0;
  let n = 0;
  for (const b of batches) {
    const tape = new Tape(model.engine);
    const { loss, logits } = model.forward(tape, imageInput(b), override);
    const lv = (await model.engine.read(loss.raw))[0];
    const z = await model.engine.read(logits.raw);
    tape.dispose();
    const L = z.length / b.batch;
    for (let i = 0; i < b.batch; i++) {
      let best = 0;
      for (let c = 1; c < L; c++) if (z[i * L + c] > z[i * L + best]) best = c;
      if (best === b.labels[i]) correct++;
    }
    sum += lv * b.batch;
    n += b.batch;
  }
  return { loss: sum / n, accuracy: correct / n, images: n };
}
