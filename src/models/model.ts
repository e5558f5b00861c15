// What the lab needs from a model: named frozen weights (Hugging Face names), the Linears that get
// masks, and a differentiable forward to a loss. GPT and ViT implement it.
import type { Tape } from '../autograd/tape';
import type { Tensor } from '../autograd/tensor';
import type { Engine } from '../backend/engine';
import type { ModelConfig } from './config';

export type WeightLayout = 'out_in' | 'in_out';

/** A Linear inside a transformer block whose weight MaskLLM learns a mask for. */
export interface MaskSite {
  /** Hugging Face name of the weight, e.g. `transformer.h.0.attn.c_attn.weight`. */
  name: string;
  shape: number[];
  /** 'in_out' for GPT-2 Conv1D ([in, out]); 'out_in' for torch Linear ([out, in]). */
  layout: WeightLayout;
}

export interface TextInput {
  kind: 'text';
  /** token ids [B*T] and next-token targets [B*T] */
  inputs: Uint32Array;
  targets: Uint32Array;
  batch: number;
  context: number;
}

export interface ImageInput {
  kind: 'images';
  /** normalised pixels [B, channels*H*W] */
  images: Float32Array;
  labels: Uint32Array;
  batch: number;
}

export type ModelInput = TextInput | ImageInput;

export interface ForwardResult {
  /** mean cross-entropy [1] */
  loss: Tensor;
  /** [B, labels] (ViT). Absent for GPT-2: its head and loss are fused and chunked (Gpt.logits gives them unfused). */
  logits?: Tensor;
}

/**
 * Called with the input activations [rows, in] of every masked Linear during a forward pass (for
 * Wanda's column norms and SparseGPT's Hessians). The tensor belongs to the tape and, without
 * gradients, is freed when its stage ends (Tape.stage): copy it in the probe to keep it.
 */
export type LinearProbe = (weightName: string, input: Tensor) => void;

export interface LabModel {
  readonly config: ModelConfig;
  readonly engine: Engine;
  /** Every parameter, keyed by its Hugging Face name (canonical prefix). */
  readonly weights: Map<string, Tensor>;
  readonly maskSites: MaskSite[];
  readonly parameterCount: number;
  /**
   * Forward to the loss. `override` replaces weights by name (MaskLLM passes W ⊙ m for each site as
   * a leaf that requires grad, so backward leaves ∂L/∂(W⊙m) in its .grad).
   */
  forward(tape: Tape, input: ModelInput, override?: Map<string, Tensor>, probe?: LinearProbe): ForwardResult;
  /**
   * The forward's trunk a block at a time (oneShot's calibration runs each block once on stored
   * inputs instead of a whole forward per block): embed → the residual stream [B·T, width] before
   * block 0; block(i, x) → after block i. forward() is made of these.
   */
  readonly blockCount: number;
  embed(tape: Tape, input: ModelInput, override?: Map<string, Tensor>): Tensor;
  block(tape: Tape, i: number, x: Tensor, input: ModelInput, override?: Map<string, Tensor>, probe?: LinearProbe): Tensor;
  /** The output logits ([B·T, vocab] for GPT-2, built unfused; [B, labels] for ViT), for tests and inspection. */
  logits(tape: Tape, input: ModelInput, override?: Map<string, Tensor>): Tensor;
  dispose(): void;
}
