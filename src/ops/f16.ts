// Packed f16 storage of frozen weights (issue 21), the GPU ops: unpackF16 (W as f32, for the dense
// model's forward on a masked site) and mulF16 (W ⊙ m, the hard-mask evaluation's weights), both
// shaders/f16.wgsl. The Gumbel sample and its backward read the packed words themselves
// (src/sparsity/gumbel.ts). The host side — conversion at upload, the exact decode that is these
// kernels' CPU twin — is src/backend/f16.ts. A packed tensor exists on the GPU engine only.
import src from '../../shaders/f16.wgsl?raw';
import type { Engine } from '../backend/engine';
import type { GpuEngine } from '../backend/gpu';
import { assertShape, type RawTensor } from '../backend/tensor';
import type { Kernel } from '../gpu/kernel';
import { params } from '../gpu/params';
import { grid1d } from './grid';

const k = (entry: string): Kernel => ({ name: 'f16', code: src, entry });

function checkPacked(what: string, e: Engine, w: RawTensor): asserts e is GpuEngine {
  if (w.dtype !== 'f16') throw new Error(`${what}: expected a packed f16 tensor, got ${w.dtype}`);
  if (e.kind !== 'gpu') throw new Error(`${what}: packed f16 tensors live on the GPU engine only`);
}

/** The f32 values of a packed f16 tensor (same shape), exact. */
export function unpackF16(e: Engine, w: RawTensor): RawTensor {
  checkPacked('unpackF16', e, w);
  const out = e.empty(w.shape);
  e.dispatch(k('unpack'), { params: params().u32(w.size).u32(0).u32(0).u32(0).build(), bindings: [w, null, out], workgroups: grid1d(w.size) });
  return out;
}

/** W ⊙ mask for a packed f16 W and an f32 mask of its shape: one f32 product per element, as applyMask on f32. */
export function mulF16(e: Engine, w: RawTensor, mask: RawTensor): RawTensor {
  checkPacked('mulF16', e, w);
  assertShape('mulF16: mask', mask.shape, w.shape);
  if (mask.dtype !== 'f32') throw new Error(`mulF16: the mask must be f32, got ${mask.dtype}`);
  const out = e.empty(w.shape);
  e.dispatch(k('unpack_mul'), { params: params().u32(w.size).u32(0).u32(0).u32(0).build(), bindings: [w, mask, out], workgroups: grid1d(w.size) });
  return out;
}
