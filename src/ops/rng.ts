// Counter-based RNG (Threefry-2x32-20): the same u32 stream in WGSL (shaders/rng.wgsl) and here.
import rngLib from '../../shaders/rng.wgsl?raw';
import rngFill from '../../shaders/rng_fill.wgsl?raw';
import type { Engine } from '../backend/engine';
import type { RawTensor } from '../backend/tensor';
import type { Kernel } from '../gpu/kernel';
import { params } from '../gpu/params';
import { rngBitsWasm, rngUniformWasm } from '../wasm/sampling';
import { grid1d } from './grid';

export const RNG_WGSL = rngLib;

const ROT = [13, 15, 26, 6, 17, 29, 16, 24];

const rotl = (x: number, r: number) => ((x << r) | (x >>> (32 - r))) >>> 0;

/** Threefry-2x32 with 20 rounds. */
export function threefry2x32(k0: number, k1: number, c0: number, c1: number): [number, number] {
  const ks = [k0 >>> 0, k1 >>> 0, (0x1bd11bda ^ k0 ^ k1) >>> 0];
  let x0 = (c0 + ks[0]) >>> 0;
  let x1 = (c1 + ks[1]) >>> 0;
  for (let block = 0; block < 5; block++) {
    for (let r = 0; r < 4; r++) {
      x0 = (x0 + x1) >>> 0;
      x1 = rotl(x1, ROT[(block % 2) * 4 + r]);
      x1 = (x1 ^ x0) >>> 0;
    }
    const s = block + 1;
    x0 = (x0 + ks[s % 3]) >>> 0;
    x1 = (x1 + ks[(s + 1) % 3] + s) >>> 0;
  }
  return [x0, x1];
}

export interface RngPosition {
  seed: number;
  stream: number;
  /** Counter offset in pairs of words; advance by ceil(n/2) to continue a stream. */
  offset: number;
}

export function rngBitsCpu(pos: RngPosition, n: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let j = 0; j < n; j += 2) {
    const [a, b] = threefry2x32(pos.seed, pos.stream, (pos.offset + j / 2) >>> 0, 0);
    out[j] = a;
    if (j + 1 < n) out[j + 1] = b;
  }
  return out;
}

/** Same mapping as bits_to_open_unit in WGSL: exact in f32, never 0 or 1. */
export function bitsToOpenUnit(b: number): number {
  return Math.fround(((b >>> 9) + 0.5) / 8388608);
}

export function rngUniformCpu(pos: RngPosition, n: number): Float32Array {
  const bits = rngBitsCpu(pos, n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = bitsToOpenUnit(bits[i]);
  return out;
}

const kernel = (entry: string): Kernel => ({ name: 'rng_fill', code: rngLib + rngFill, entry });

function fill(e: Engine, pos: RngPosition, n: number, what: 'bits' | 'uniform01'): RawTensor {
  if (e.kind === 'wasm') return what === 'bits' ? rngBitsWasm(e, pos, n) : rngUniformWasm(e, pos, n);
  if (e.kind !== 'gpu') {
    return what === 'bits' ? e.upload(rngBitsCpu(pos, n), [n], 'u32') : e.upload(rngUniformCpu(pos, n), [n], 'f32');
  }
  const out = e.empty([n], what === 'bits' ? 'u32' : 'f32');
  e.dispatch(kernel(what), {
    params: params()
      .u32(n)
      .u32(pos.seed >>> 0)
      .u32(pos.stream >>> 0)
      .u32(pos.offset >>> 0)
      .build(),
    bindings: [out],
    workgroups: grid1d(n),
  });
  return out;
}

export const rngBits = (e: Engine, pos: RngPosition, n: number) => fill(e, pos, n, 'bits');
export const rngUniform = (e: Engine, pos: RngPosition, n: number) => fill(e, pos, n, 'uniform01');
