// Where a model's initial weights come from: a Map of f32 arrays (tools/train.ts, tests, the bundled
// initialisers) or a WeightSource that converts one tensor at a time from a checkpoint's bytes
// (checkpoint.ts). A GPT-2 small file is 500 MB in F32; converting every tensor into a Map before
// uploading would hold a second full copy, so the models read a source tensor by tensor, upload each
// right away and keep nothing on the host.
import type { Tape } from '../autograd/tape';
import type { Tensor } from '../autograd/tensor';
import type { Engine } from '../backend/engine';
import { F16RangeError } from '../backend/f16';
import type { RawTensor } from '../backend/tensor';
import { unpackF16 } from '../ops/f16';

/** Weights read lazily, one tensor at a time, by canonical name. */
export interface WeightSource {
  /** The canonical names this source holds, in the order of parameterShapes. */
  readonly names: readonly string[];
  shape(name: string): readonly number[];
  /**
   * The f32 values of one tensor, converted on this call. Trap: it may be a view into the
   * checkpoint's bytes (an aligned F32 tensor is not copied), so treat it as read-only and do not
   * keep it; copy it (`slice()`) to hold on to it.
   */
  read(name: string): Float32Array;
}

export type Weights = ReadonlyMap<string, Float32Array> | WeightSource;

export function isWeightSource(w: Weights): w is WeightSource {
  return !(w instanceof Map) && typeof (w as WeightSource).read === 'function';
}

/** One tensor's values from either kind of weights, or undefined when it is not there. */
export function readWeight(w: Weights, name: string): Float32Array | undefined {
  if (!isWeightSource(w)) return w.get(name);
  return w.names.includes(name) ? w.read(name) : undefined;
}

/** Every tensor of a source as its own f32 array (copies: the result owns its memory). */
export function weightsToMap(w: WeightSource): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const name of w.names) {
    const v = w.read(name);
    out.set(name, isViewOfLargerBuffer(v) ? v.slice() : v);
  }
  return out;
}

function isViewOfLargerBuffer(v: Float32Array): boolean {
  return v.byteOffset !== 0 || v.byteLength !== v.buffer.byteLength;
}

/**
 * How the frozen weights of the masked layers are stored on the GPU (issue 21): 'f32', or 'f16' —
 * packed two per u32 word (src/backend/f16.ts), half the memory, rounded to nearest even once at
 * upload; the kernels compute in f32. The GPU engine only; every other parameter stays f32.
 */
export type WeightStorage = 'f32' | 'f16';

/**
 * Upload one parameter: packed f16 when `packed` (a masked layer's frozen weight under weightStorage
 * 'f16'), else f32. A value f16 cannot hold is refused naming the tensor.
 */
export function uploadParameter(engine: Engine, values: Float32Array, shape: readonly number[], name: string, packed: boolean): RawTensor {
  if (!packed) return engine.upload(values, shape);
  try {
    return engine.upload(values, shape, 'f16');
  } catch (err) {
    if (err instanceof F16RangeError) throw new F16RangeError(err.index, err.value, `weight ${name}`);
    throw err;
  }
}

/** The names a model stores as packed f16, checked: the masked layers' weights, on the GPU engine, frozen. */
export function packedWeightNames(engine: Engine, sites: readonly { name: string }[], storage: WeightStorage, trainable: boolean): Set<string> {
  if (storage === 'f32') return new Set();
  if (storage !== 'f16') throw new Error(`weight storage must be 'f32' or 'f16', got ${JSON.stringify(storage)}`);
  if (engine.kind !== 'gpu') throw new Error(`weight storage 'f16' is for the WebGPU engine only (this is the ${engine.kind} engine); use 'f32'`);
  if (trainable) throw new Error("weight storage 'f16' is for frozen weights; a trainable model keeps f32");
  return new Set(sites.map((s) => s.name));
}

/** A weight as the forward uses it: a packed f16 one is unpacked into a transient f32 constant of the tape (freed with its stage). */
export function forwardWeight(tape: Tape, t: Tensor): Tensor {
  return t.raw.dtype === 'f16' ? tape.constant(unpackF16(tape.engine, t.raw), t.name) : t;
}
