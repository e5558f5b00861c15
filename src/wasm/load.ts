// Loads the WebAssembly kernels (built from wasm/ by tools/build-wasm.mjs into src/wasm/generated/*.ts
// as base64, so Vite, vitest in Node and in Chromium, and the tsx tools all import them as plain
// TypeScript). Every module imports the one memory the engine owns (`env.memory`).
//
// Trap: Chromium refuses synchronous compilation (new WebAssembly.Module) of more than 4 KB on the
// main thread, so loading is async (WebAssembly.instantiate) everywhere.
import * as attentionBytes from './generated/attention';
import * as matmulBytes from './generated/matmul';
import * as rowsBytes from './generated/rows';
import * as samplingBytes from './generated/sampling';
import type { RowsExports } from './rows';
import type { SamplingExports } from './sampling';

/**
 * The smallest module using relaxed SIMD: one function returning f32x4.relaxed_madd of three v128
 * constants. WebAssembly.validate says whether the runtime has relaxed SIMD (Chromium does; Node 20
 * only with --experimental-wasm-relaxed-simd) without compiling a kernel module.
 */
const RELAXED_PROBE = (() => {
  const constV128 = [0xfd, 0x0c, ...new Array<number>(16).fill(0)]; // v128.const 0
  const body = [0x00, ...constV128, ...constV128, ...constV128, 0xfd, 0x85, 0x02, 0x0b]; // no locals; relaxed_madd (0xfd 0x105); end
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // magic, version 1
    ...[0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b], // type section: () → v128
    ...[0x03, 0x02, 0x01, 0x00], // function section: one function of type 0
    ...[0x0a, body.length + 2, 0x01, body.length, ...body], // code section
  ]);
})();

/** Whether this runtime validates relaxed-SIMD instructions. */
export function hasRelaxedSimd(): boolean {
  return WebAssembly.validate(RELAXED_PROBE);
}

/** Whether this runtime has WebAssembly SIMD128 at all (the engine needs it). */
export function hasSimd(): boolean {
  return WebAssembly.validate(decode(matmulBytes.simd));
}

export type WasmVariant = 'simd' | 'relaxed';

/** The exports of wasm/matmul.ts (pointers are byte offsets into the engine's memory). */
export interface MatmulExports {
  scratchBytes(k: number, n: number): number;
  matmul(
    a: number,
    b: number,
    bias: number,
    mask: number,
    out: number,
    scratch: number,
    m: number,
    k: number,
    n: number,
    transA: number,
    transB: number,
    rowStart: number,
    rowEnd: number,
  ): void;
}

/** The exports of wasm/attention.ts (pointers are byte offsets; causal is 0 or 1). */
export interface AttentionExports {
  forward(qkv: number, out: number, probs: number, T: number, C: number, H: number, causal: number, bhStart: number, bhEnd: number): void;
  backwardScratchBytes(T: number): number;
  backward(
    dout: number,
    qkv: number,
    probs: number,
    dqkv: number,
    scratch: number,
    T: number,
    C: number,
    H: number,
    causal: number,
    bhStart: number,
    bhEnd: number,
  ): void;
}

export interface WasmKernels {
  variant: WasmVariant;
  matmul: MatmulExports;
  attention: AttentionExports;
  rows: RowsExports;
  sampling: SamplingExports;
}

/** The kernel families (wasm/<family>.ts, one module each). */
export type WasmFamily = 'matmul' | 'attention' | 'rows' | 'sampling';
const FAMILY_BYTES: Record<WasmFamily, { simd: string; relaxed: string }> = {
  matmul: matmulBytes,
  attention: attentionBytes,
  rows: rowsBytes,
  sampling: samplingBytes,
};

function decode(b64: string): Uint8Array<ArrayBuffer> {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** The module bytes of one family and variant (tests: the build check, the relaxed probe). */
export function moduleBytes(family: WasmFamily, variant: WasmVariant): Uint8Array<ArrayBuffer> {
  return decode(FAMILY_BYTES[family][variant]);
}

/**
 * Instantiate every kernel family on `memory`. `variant` defaults to relaxed SIMD where the runtime
 * has it; asking for relaxed where it has not is an error naming the fix.
 */
export async function loadKernels(memory: WebAssembly.Memory, variant: WasmVariant = hasRelaxedSimd() ? 'relaxed' : 'simd'): Promise<WasmKernels> {
  if (variant === 'relaxed' && !hasRelaxedSimd()) {
    throw new Error('WasmEngine: this runtime has no relaxed SIMD (Node 20: start it with --experimental-wasm-relaxed-simd); use the simd variant');
  }
  if (!hasSimd()) throw new Error('WasmEngine: this runtime has no WebAssembly SIMD128, which the kernels need');
  const imports = { env: { memory } };
  const families = Object.keys(FAMILY_BYTES) as WasmFamily[];
  const modules = await Promise.all(families.map((f) => WebAssembly.instantiate(moduleBytes(f, variant), imports)));
  const exports = Object.fromEntries(families.map((f, i) => [f, modules[i].instance.exports]));
  return { variant, ...exports } as unknown as WasmKernels;
}
