// Held-out evaluation. GPT: mean next-token cross-entropy over non-overlapping windows of the
// model's context (every window predicts `context` targets; windows do not overlap, so each token of
// the split is predicted at most once; docs/EVALUATION.md), reported per token (loss, perplexity,
// bits) and as bits per UTF-8 byte the targets cover, which compares models with different
// tokenizers (for the byte-level model it equals bits per token). ViT: top-1 accuracy, in order.
import { Tape } from '../autograd/tape';
import type { Tensor } from '../autograd/tensor';
import type { ImageBatch, TextBatch } from '../data/batches';
import type { LabModel, ModelInput } from '../models/model';

export interface TextEval {
  loss: number;
  ppl: number;
  bitsPerToken: number;
  tokens: number;
  /** total nats ÷ UTF-8 bytes covered by the targets ÷ ln 2 (absent in run records written before it existed) */
  bitsPerByte?: number;
  /** UTF-8 bytes the targets cover (idem) */
  bytes?: number;
}

export interface ImageEval {
  loss: number;
  accuracy: number;
  images: number;
}

export const textInput = (b: TextBatch): ModelInput => ({ kind: 'text', inputs: b.inputs, targets: b.targets, batch: b.batch, context: b.context });
export const imageInput = (b: ImageBatch): ModelInput => ({ kind: 'images', images: b.images, labels: b.labels, batch: b.batch });

export async function evaluateText(model: LabModel, batches: TextBatch[], override?: Map<string, Tensor>): Promise<TextEval> {
  let sum = 0; // nats over every target
  let n = 0;
  let bytes = 0;
  for (const b of batches) {
    const tape = new Tape(model.engine, { grad: false });
    const { loss } = model.forward(tape, textInput(b), override);
    const v = (await model.engine.read(loss.raw))[0];
    tape.dispose();
    model.engine.flush(); // the next batch reuses this one's buffers (GpuEngine.flush)
    const count = b.batch * b.context;
    sum += v * count;
    n += count;
    bytes += b.targetBytes ?? count;
  }
  const loss = sum / n;
  return { loss, ppl: Math.exp(loss), bitsPerToken: loss / Math.LN2, tokens: n, bitsPerByte: sum / bytes / Math.LN2, bytes };
}

export async function evaluateImages(model: LabModel, batches: ImageBatch[], override?: Map<string, Tensor>): Promise<ImageEval> {
  let correct = 0;
  let sum = 0;
  let n = 0;
  for (const b of batches) {
    const tape = new Tape(model.engine, { grad: false });
    const { loss, logits } = model.forward(tape, imageInput(b), override);
    const lv = (await model.engine.read(loss.raw))[0];
    if (!logits) throw new Error('evaluateImages: the model returned no logits');
    const z = await model.engine.read(logits.raw);
    tape.dispose();
    model.engine.flush();
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
