// Dense training of the bundled checkpoints on the lab's own engine: AdamW (decoupled weight decay
// on matrices only, as GPT-2 recipes do), linear warm-up then cosine LR, global grad-norm clipping
// computed on the GPU, seeded batches. Loss is read back only every `logEvery` steps.
import { Tape } from '../autograd/tape';
import type { Tensor } from '../autograd/tensor';
import type { RawTensor } from '../backend/tensor';
import { adamwStep } from '../ops/adamw';
import { clipScale, globalSumSquares } from '../ops/reduce';
import type { LabModel, ModelInput } from '../models/model';

export interface DenseTrainConfig {
  steps: number;
  lr: number;
  lrMin: number;
  warmup: number;
  weightDecay: number;
  betas: [number, number];
  clip: number;
  logEvery: number;
}

export interface TrainLogEntry {
  step: number;
  loss: number;
  lr: number;
  seconds: number;
}

export function lrAt(c: DenseTrainConfig, step: number): number {
  if (step < c.warmup) return (c.lr * (step + 1)) / c.warmup;
  const t = (step - c.warmup) / Math.max(1, c.steps - c.warmup);
  return c.lrMin + 0.5 * (c.lr - c.lrMin) * (1 + Math.cos(Math.PI * Math.min(1, t)));
}

export class DenseTrainer {
  private m = new Map<Tensor, RawTensor>();
  private v = new Map<Tensor, RawTensor>();
  private params: Tensor[];
  step = 0;

  constructor(
    readonly model: LabModel,
    readonly cfg: DenseTrainConfig,
  ) {
    this.params = [...model.weights.values()];
    for (const p of this.params) {
      if (!p.requiresGrad) throw new Error(`DenseTrainer: ${p.name} is frozen; build the model with trainable = true`);
      this.m.set(p, model.engine.zeros(p.shape));
      this.v.set(p, model.engine.zeros(p.shape));
    }
  }

  /** One optimizer step on one batch; returns the loss tensor's value only when asked. */
  async trainStep(input: ModelInput, readLoss: boolean): Promise<number | null> {
    const e = this.model.engine;
    const tape = new Tape(e);
    const { loss } = this.model.forward(tape, input);
    tape.backward(loss);
    const grads = this.params.map((p) => {
      if (!p.grad) throw new Error(`no gradient reached ${p.name}`);
      return p.grad;
    });
    const normSq = globalSumSquares(e, grads);
    const scale = clipScale(e, normSq, this.cfg.clip);
    const lr = lrAt(this.cfg, this.step);
    this.step++;
    for (const p of this.params) {
      const decay = p.shape.length >= 2 && !p.name.includes('position') && !p.name.includes('cls_token') ? this.cfg.weightDecay : 0;
      adamwStep(
        e,
        p.raw,
        p.grad!,
        this.m.get(p)!,
        this.v.get(p)!,
        {
          lr,
          beta1: this.cfg.betas[0],
          beta2: this.cfg.betas[1],
          eps: 1e-8,
          weightDecay: decay,
          step: this.step,
        },
        scale,
      );
    }
    let value: number | null = null;
    if (readLoss) value = (await e.read(loss.raw))[0];
    tape.dispose();
    scale.dispose();
    normSq.dispose();
    for (const p of this.params) p.zeroGrad();
    e.flush();
    return value;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}
