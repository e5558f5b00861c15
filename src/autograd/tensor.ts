import type { Engine } from '../backend/engine';
import type { RawTensor } from '../backend/tensor';

/** A node of the graph: the op that made a tensor and how to push a gradient back to its inputs. */
export interface GradNode {
  name: string;
  inputs: Tensor[];
  /** Given ∂L/∂out, return ∂L/∂input for each input (null where the input needs none). */
  backward(gradOut: RawTensor): (RawTensor | null)[];
}

/**
 * A tensor in the autograd graph. Parameters are leaves with requiresGrad; their `grad` persists and
 * accumulates across backward() calls until zeroGrad (so several mask samples or micro-batches can
 * be averaged). Intermediate tensors belong to a Tape and are freed by tape.dispose().
 */
export class Tensor {
  grad: RawTensor | null = null;
  constructor(
    public raw: RawTensor,
    public requiresGrad = false,
    public node: GradNode | null = null,
    public name = '',
  ) {}
  get shape(): readonly number[] {
    return this.raw.shape;
  }
  get size(): number {
    return this.raw.size;
  }
  get engine(): Engine {
    return this.raw.engine as Engine;
  }
  get isLeaf(): boolean {
    return this.node === null;
  }
  zeroGrad(): void {
    this.grad?.dispose();
    this.grad = null;
  }
}

/** A trainable leaf. */
export function param(raw: RawTensor, name = ''): Tensor {
  return new Tensor(raw, true, null, name);
}

/** A leaf that needs no gradient (inputs, frozen weights). */
export function constant(raw: RawTensor, name = ''): Tensor {
  return new Tensor(raw, false, null, name);
}
