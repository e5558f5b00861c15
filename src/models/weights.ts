// Where a model's initial weights come from: a Map of f32 arrays (tools/train.ts, tests, the bundled
// initialisers) or a WeightSource that converts one tensor at a time from a checkpoint's bytes
// (checkpoint.ts). A GPT-2 small file is 500 MB in F32; converting every tensor into a Map before
// uploading would hold a second full copy, so the models read a source tensor by tensor, upload each
// right away and keep nothing on the host.

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
