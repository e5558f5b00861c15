import type { Engine } from '../backend/engine';
import type { RawTensor } from '../backend/tensor';
import { axpyInto } from '../ops/elementwise';
import { Tensor, type GradNode } from './tensor';

export interface TapeOptions {
  /**
   * false: a forward that will never be differentiated (an evaluation, a calibration pass). Nothing
   * is recorded, and stage() frees each stage's intermediates as soon as the stage returns.
   */
  grad?: boolean;
}

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
  /** false: a no-gradient tape (TapeOptions.grad) */
  readonly grad: boolean;

  constructor(
    readonly engine: Engine,
    opts: TapeOptions = {},
  ) {
    this.grad = opts.grad ?? true;
  }

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
    const needs = this.grad && inputs.some((t) => t.requiresGrad);
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
   * One stage of a forward (half a transformer block): runs `fn` and returns its output. `dies` are
   * the stage's inputs nobody uses after it (the previous stage's output).
   *
   * With gradients the backward needs every activation: fn just runs. Without (grad: false), when fn
   * returns, everything it allocated on this tape except its output and kept tensors is freed, and
   * so are `dies` (where this tape owns them); then the recorded work is submitted. The submit is the
   * point: a buffer released while a command buffer is being recorded is reused only after the next
   * submit (src/gpu/buffers.ts), so without it the next stage could not reuse this one's buffers and
   * an evaluation would hold the whole forward's activations. Peak memory is one stage's.
   */
  stage(fn: () => Tensor, dies: Tensor[] = []): Tensor {
    if (this.grad) return fn();
    const mark = this.owned.length;
    const out = fn();
    // the output must own its storage: a view's base would be freed under it
    if (!out.raw.ownsStorage) throw new Error('Tape.stage: the stage returned a view; return a tensor that owns its storage');
    const made = this.owned.splice(mark);
    for (const r of made) if (r !== out.raw && !this.kept.has(r)) r.dispose();
    if (made.includes(out.raw)) this.owned.push(out.raw);
    for (const d of dies) {
      const i = this.owned.indexOf(d.raw);
      if (i < 0 || d.raw === out.raw || this.kept.has(d.raw)) continue;
      this.owned.splice(i, 1);
      d.raw.dispose();
    }
    this.engine.flush();
    return out;
  }

  /**
   * Backpropagate from `loss` (seed gradient 1, or `seed` for a non-scalar output). Leaf gradients
   * are accumulated into leaf.grad; intermediate gradients are freed as soon as they are used.
   */
  backward(loss: Tensor, seed?: RawTensor): void {
    const e = this.engine;
    if (!this.grad) throw new Error('backward(): this tape was made without gradients (grad: false)');
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
