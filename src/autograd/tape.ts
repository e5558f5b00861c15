import type { Engine } from '../backend/engine';
import type { RawTensor } from '../backend/tensor';
import { axpyInto } from '../ops/elementwise';
import { Tensor, type GradNode } from './tensor';

/**
 * The reverse-mode tape. Ops record their outputs here in execution order; backward() walks them
 * in reverse. Everything the tape allocated (outputs, intermediate gradients, saved tensors) is
 * released by dispose(), so a training step leaves only parameters, their grads and what the
 * caller kept with keep().
 */
export class Tape {
  private recorded: Tensor[] = [];
  private owned: RawTensor[] = [];
  private kept = new Set<RawTensor>();

  constructor(readonly engine: Engine) {}

  /** Register a raw tensor this tape should free on dispose (saved activations, temporaries). */
  own<T extends RawTensor>(raw: T): T {
    this.owned.push(raw);
    return raw;
  }

  /** Do not free this tensor's storage on dispose (e.g. a metric read later). */
  keep(t: Tensor | RawTensor): void {
    this.kept.add(t instanceof Tensor ? t.raw : t);
  }

  /** Wrap an op's output; it joins the graph when any input requires a gradient. */
  record(name: string, out: RawTensor, inputs: Tensor[], backward: GradNode['backward']): Tensor {
    this.own(out);
    const needs = inputs.some((t) => t.requiresGrad);
    const t = new Tensor(out, needs, needs ? { name, inputs, backward } : null, name);
    if (needs) this.recorded.push(t);
    return t;
  }

  /** A constant owned by this tape (freed on dispose). */
  constant(raw: RawTensor, name = ''): Tensor {
    this.own(raw);
    return new Tensor(raw, false, null, name);
  }

  /**
   * Backpropagate from `loss` (seed gradient 1, or `seed` for a non-scalar output). Leaf gradients
   * are accumulated into leaf.grad; intermediate gradients are freed as soon as they are used.
   */
  backward(loss: Tensor, seed?: RawTensor): void {
    const e = this.engine;
    if (!loss.requiresGrad) throw new Error('backward(): the loss does not depend on any parameter that requires a gradient');
    const grads = new Map<Tensor, RawTensor>();
    grads.set(loss, seed ?? this.own(e.fill(loss.shape, 1)));
    for (let i = this.recorded.length - 1; i >= 0; i--) {
      const t = this.recorded[i];
      const g = grads.get(t);
      if (!g || !t.node) continue;
      grads.delete(t);
      const inGrads = t.node.backward(g);
      if (g !== seed) this.own(g);
      t.node.inputs.forEach((inp, k) => {
        const gi = inGrads[k];
        if (!gi) return;
        if (!inp.requiresGrad) {
          this.own(gi);
          return;
        }
        if (gi.size !== inp.size) {
          throw new Error(`${t.node!.name}: gradient for input ${k} has ${gi.size} elements, the input ${inp.size}`);
        }
        if (inp.isLeaf) {
          if (inp.grad) {
            axpyInto(e, inp.grad, gi, 1);
            this.own(gi);
          } else inp.grad = gi;
          return;
        }
        const prev = grads.get(inp);
        if (prev) {
          axpyInto(e, prev, gi, 1);
          this.own(gi);
        } else grads.set(inp, gi);
      });
    }
    for (const g of grads.values()) this.own(g);
  }

  /** Free everything this tape owns except kept tensors. Safe to call twice. */
  dispose(): void {
    for (const r of this.owned) if (!this.kept.has(r)) r.dispose();
    this.owned = [];
    this.recorded = [];
  }
}
