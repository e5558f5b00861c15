// Which engine a lab runs on, chosen one way for the page's worker, headless.html and the Node tools:
// the WebGPU engine, the WebAssembly SIMD engine (src/backend/wasm.ts) or the TypeScript CPU engine
// (the f64 reference for tests; slow). `auto` is what users get:
//   - the page: WebGPU when there is an adapter, else WebAssembly (else the CPU engine, saying why);
//   - the CLI tools (`cpuAdapter: 'wasm'`): the same, but a software adapter (SwiftShader, llvmpipe)
//     counts as none, because the WebAssembly engine measured 5–10× faster than WebGPU on it
//     (docs/PERFORMANCE.md, `npm run bench -- --only wasm`).
import { CpuEngine } from '../backend/cpu';
import type { Engine } from '../backend/engine';
import type { GpuEngine } from '../backend/gpu';
import { WasmEngine } from '../backend/wasm';
import { describeAdapter } from '../gpu/device';
import { isCpuAdapter } from './kernel-tuning';
import type { EngineKind } from './names';

export const ENGINE_PREFERENCES = ['auto', 'gpu', 'wasm', 'cpu'] as const;
export type EnginePreference = (typeof ENGINE_PREFERENCES)[number];

/** The most threads the WebAssembly engine is given by default (issue 19: the cores, at most 8). */
export const MAX_DEFAULT_THREADS = 8;

export interface EngineRequest {
  preference?: EnginePreference;
  /** WebAssembly threads (default: the engine's — the cores, at most 8, when memory can be shared). */
  threads?: number;
  /** What `auto` does on a software adapter: use it (the page), or prefer WebAssembly (the CLI tools). */
  cpuAdapter?: 'gpu' | 'wasm';
}

export interface EngineChoice {
  engine: Engine;
  kind: EngineKind;
  /** One line for people: the engine, its adapter or its threads, and why it was chosen. */
  description: string;
  /** Why the WebGPU engine is not the one running (null when it is, or was not asked for). */
  gpuError: unknown;
}

/** `engine=` and `threads=` as a page URL or CLI flag give them; null when absent or invalid. */
export function parseEnginePreference(v: string | null | undefined): EnginePreference | null {
  return v && (ENGINE_PREFERENCES as readonly string[]).includes(v) ? (v as EnginePreference) : null;
}

export function parseThreads(v: string | null | undefined): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isInteger(n) && n >= 1 && n <= 64 ? n : null;
}

/** A human line for a WebAssembly engine: variant, threads and why only one. */
export function describeWasm(e: WasmEngine): string {
  const threads = `${e.threads} thread${e.threads === 1 ? '' : 's'}`;
  return `WebAssembly SIMD engine (${e.variant === 'relaxed' ? 'relaxed SIMD' : 'SIMD128'}, ${threads})${e.threadNote ? ` — ${e.threadNote}` : ''}`;
}

/**
 * Create the engine a request asks for. `gpu` makes the WebGPU engine (the caller's: the page's
 * navigator.gpu, or Node's `webgpu` package). An explicit `gpu` that fails throws; `auto` falls back
 * to WebAssembly, and to the CPU engine only when WebAssembly SIMD is missing too.
 */
export async function chooseEngine(req: EngineRequest, gpu: () => Promise<GpuEngine>): Promise<EngineChoice> {
  const pref = req.preference ?? 'auto';
  if (pref === 'cpu') return { engine: new CpuEngine(), kind: 'cpu', description: 'TypeScript CPU engine (f64 reference, one thread; slow)', gpuError: null };
  if (pref === 'wasm') {
    const w = await WasmEngine.create({ threads: req.threads });
    return { engine: w, kind: 'wasm', description: describeWasm(w), gpuError: null };
  }
  let gpuError: unknown;
  try {
    const g = await gpu();
    if (pref === 'gpu' || req.cpuAdapter !== 'wasm' || !isCpuAdapter(g.info))
      return { engine: g, kind: 'gpu', description: describeAdapter(g.info), gpuError: null };
    // a software adapter under `auto` for the CLI: WebAssembly is faster on the same CPU
    const why = `the only WebGPU adapter is a CPU (${g.info.adapterInfo.description || g.info.adapterInfo.vendor}), where WebAssembly is faster`;
    g.destroy();
    const w = await WasmEngine.create({ threads: req.threads });
    return { engine: w, kind: 'wasm', description: `${describeWasm(w)}; ${why}`, gpuError: null };
  } catch (e) {
    if (pref === 'gpu') throw e;
    gpuError = e;
  }
  const gpuWhy = gpuError instanceof Error ? gpuError.message.split('\n')[0] : String(gpuError);
  try {
    const w = await WasmEngine.create({ threads: req.threads });
    return { engine: w, kind: 'wasm', description: `${describeWasm(w)}; no WebGPU: ${gpuWhy}`, gpuError };
  } catch (e) {
    const wasmWhy = e instanceof Error ? e.message : String(e);
    return {
      engine: new CpuEngine(),
      kind: 'cpu',
      description: `TypeScript CPU engine (slow): no WebGPU (${gpuWhy}) and no WebAssembly SIMD engine (${wasmWhy})`,
      gpuError,
    };
  }
}
