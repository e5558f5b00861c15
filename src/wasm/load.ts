// Loads the WebAssembly kernels (built from wasm/ by tools/build-wasm.mjs into src/wasm/generated/*.ts
// as base64, so Vite, vitest in Node and in Chromium, and the tsx tools all import them as plain
// TypeScript). Every module imports the one memory the engine owns (`env.memory`). Each family comes
// as SIMD128 and relaxed SIMD, each on an unshared memory (one thread) or on a shared one (the thread
// pool, src/wasm/pool.ts: every worker instantiates the same compiled modules on the same memory); the
// shared builds are derived from the unshared ones at load (src/wasm/shared-import.mjs).
//
// Trap: Chromium refuses synchronous compilation (new WebAssembly.Module) of more than 4 KB on the
// main thread, so loading is async (WebAssembly.instantiate) everywhere.
import * as attentionBytes from './generated/attention';
import * as matmulBytes from './generated/matmul';
import * as rowsBytes from './generated/rows';
import * as samplingBytes from './generated/sampling';
import type { RowsExports } from './rows';
import { withSharedMemoryImport } from './shared-import.mjs';
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
/** What tools/build-wasm.mjs writes per family: base64 modules by variant (on an unshared memory). */
interface FamilyBytes {
  simd: string;
  relaxed: string;
}
const FAMILY_BYTES: Record<WasmFamily, FamilyBytes> = {
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

/**
 * The maximum (64 KiB pages) the shared modules declare for their memory import: tools/build-wasm.mjs's
 * SHARED_MAX_PAGES, the same number. Trap: a shared memory must have a maximum, and an import accepts a
 * memory only if that memory's maximum is no larger than the declared one (and only of the same
 * sharedness), so the engine creates its shared memory with at most this maximum.
 */
export const SHARED_MAX_PAGES = 65536;

/** The module bytes of one family and variant, for an unshared or (thread pool) shared memory. */
export function moduleBytes(family: WasmFamily, variant: WasmVariant, shared = false): Uint8Array<ArrayBuffer> {
  const bytes = decode(FAMILY_BYTES[family][variant]);
  // the shared build differs only in its memory import, so it is derived (tools/build-wasm.mjs checks
  // the result against asc's own --sharedMemory build byte for byte)
  return shared ? withSharedMemoryImport(bytes, SHARED_MAX_PAGES) : bytes;
}

/** Every family, in the order of WasmKernels. */
export const WASM_FAMILIES = Object.keys(FAMILY_BYTES) as WasmFamily[];

/** Compiled kernel modules by family (what the thread pool posts to its workers). */
export type WasmModules = Record<WasmFamily, WebAssembly.Module>;

/** Whether `memory` is a shared one (its buffer a SharedArrayBuffer): the shared modules then. */
export function isSharedMemory(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
}

/** Throws, naming the fix, where the runtime cannot run `variant`. */
export function checkVariant(variant: WasmVariant): void {
  if (variant === 'relaxed' && !hasRelaxedSimd()) {
    throw new Error('WasmEngine: this runtime has no relaxed SIMD (Node 20: start it with --experimental-wasm-relaxed-simd); use the simd variant');
  }
  if (!hasSimd()) throw new Error('WasmEngine: this runtime has no WebAssembly SIMD128, which the kernels need');
}

/** The default variant: relaxed SIMD where the runtime has it. */
export function defaultVariant(): WasmVariant {
  return hasRelaxedSimd() ? 'relaxed' : 'simd';
}

/** Compile every family (asynchronously: see the trap above) for an unshared or a shared memory. */
export async function compileKernels(variant: WasmVariant, shared: boolean): Promise<WasmModules> {
  checkVariant(variant);
  const modules = await Promise.all(WASM_FAMILIES.map((f) => WebAssembly.compile(moduleBytes(f, variant, shared))));
  return Object.fromEntries(WASM_FAMILIES.map((f, i) => [f, modules[i]])) as WasmModules;
}

/** The import object every kernel module takes (also built, the same, in the pool's workers). */
export const kernelImports = (memory: WebAssembly.Memory): WebAssembly.Imports => ({ env: { memory } });

/** Instantiate compiled modules (compileKernels with the memory's sharedness) on `memory`. */
export async function instantiateKernels(memory: WebAssembly.Memory, modules: WasmModules, variant: WasmVariant): Promise<WasmKernels> {
  const instances = await Promise.all(WASM_FAMILIES.map((f) => WebAssembly.instantiate(modules[f], kernelImports(memory))));
  const exports = Object.fromEntries(WASM_FAMILIES.map((f, i) => [f, instances[i].exports]));
  return { variant, ...exports } as unknown as WasmKernels;
}

/**
 * Instantiate every kernel family on `memory` (the shared modules when the memory is shared).
 * `variant` defaults to relaxed SIMD where the runtime has it; asking for relaxed where it has not is
 * an error naming the fix.
 */
export async function loadKernels(memory: WebAssembly.Memory, variant: WasmVariant = defaultVariant()): Promise<WasmKernels> {
  return instantiateKernels(memory, await compileKernels(variant, isSharedMemory(memory)), variant);
}
