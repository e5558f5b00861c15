// Which engine a lab runs on (src/lab/engine-choice.ts) and the CLI's --engine/--threads
// (tools/lib/engine-options.ts): auto falls back from WebGPU to WebAssembly, the CLI's auto skips a
// software adapter, an explicit engine that cannot start throws, and a plan over the 4 GiB a
// WebAssembly memory holds is refused naming what to do. Deterministic: no seed.
import { describe, expect, it } from 'vitest';
import type { GpuEngine } from '../../src/backend/gpu';
import { WasmEngine } from '../../src/backend/wasm';
import { chooseEngine, parseEnginePreference, parseThreads } from '../../src/lab/engine-choice';
import { checkWasmPlan, WASM_MEMORY_BYTES } from '../../src/lab/limits';
import { memoryPlan } from '../../src/lab/memory-plan';
import { TINY_GPT } from '../../src/models/presets';
import { UsageError } from '../../tools/lib/args';
import { engineQuery, engineRequestFrom } from '../../tools/lib/engine-options';
import { GPT2_SMALL } from '../helpers/hub-configs';

/** A stand-in GpuEngine: only what chooseEngine reads (kind, info.adapterInfo) and destroy(). */
function fakeGpu(description: string): GpuEngine & { destroyed: boolean } {
  const g = {
    kind: 'gpu' as const,
    destroyed: false,
    info: { adapterInfo: { vendor: 'v', architecture: 'a', device: 'd', description }, features: {}, limits: {} },
    destroy() {
      g.destroyed = true;
    },
  };
  return g as unknown as GpuEngine & { destroyed: boolean };
}

const noGpu = () => Promise.reject(new Error('No WebGPU adapter: requestAdapter() returned null.'));

describe('chooseEngine', () => {
  it('auto: WebGPU when there is an adapter, even a software one, unless the caller prefers WebAssembly over it', async () => {
    const real = fakeGpu('NVIDIA H100');
    const a = await chooseEngine({ preference: 'auto', cpuAdapter: 'wasm' }, async () => real);
    expect(a.kind).toBe('gpu');
    expect(a.engine).toBe(real);
    const soft = fakeGpu('SwiftShader Device (Subzero)');
    const b = await chooseEngine({ preference: 'auto', cpuAdapter: 'gpu' }, async () => soft);
    expect(b.kind).toBe('gpu');
    const soft2 = fakeGpu('SwiftShader Device (Subzero)');
    const c = await chooseEngine({ preference: 'auto', cpuAdapter: 'wasm', threads: 1 }, async () => soft2);
    expect(c.kind).toBe('wasm');
    expect(c.engine).toBeInstanceOf(WasmEngine);
    expect(soft2.destroyed).toBe(true);
    expect(c.description).toMatch(/WebAssembly SIMD engine .*1 thread.*the only WebGPU adapter is a CPU \(SwiftShader/);
    (c.engine as WasmEngine).destroy();
  });

  it('auto without WebGPU: the WebAssembly engine, keeping why WebGPU failed', async () => {
    const c = await chooseEngine({ threads: 1 }, noGpu);
    expect(c.kind).toBe('wasm');
    expect(c.gpuError).toBeInstanceOf(Error);
    expect(c.description).toContain('no WebGPU: No WebGPU adapter');
    (c.engine as WasmEngine).destroy();
  });

  it('an explicit engine is used as asked, and an explicit gpu that cannot start throws', async () => {
    await expect(chooseEngine({ preference: 'gpu' }, noGpu)).rejects.toThrow('requestAdapter() returned null');
    const soft = fakeGpu('SwiftShader Device (Subzero)');
    expect((await chooseEngine({ preference: 'gpu', cpuAdapter: 'wasm' }, async () => soft)).engine).toBe(soft);
    let asked = false;
    const w = await chooseEngine({ preference: 'wasm', threads: 1 }, async () => {
      asked = true;
      return fakeGpu('x');
    });
    expect(asked).toBe(false);
    expect(w.kind).toBe('wasm');
    expect((w.engine as WasmEngine).threads).toBe(1);
    (w.engine as WasmEngine).destroy();
    const c = await chooseEngine({ preference: 'cpu' }, noGpu);
    expect(c.kind).toBe('cpu');
  });

  it('parses engine= and threads= strictly (anything else is absent)', () => {
    expect(parseEnginePreference('wasm')).toBe('wasm');
    expect(parseEnginePreference('WASM')).toBeNull();
    expect(parseEnginePreference(null)).toBeNull();
    expect(parseThreads('4')).toBe(4);
    for (const bad of ['0', '-1', '1.5', 'two', '65', '']) expect(parseThreads(bad)).toBeNull();
  });
});

describe('--engine and --threads', () => {
  it('make the CLI request (auto prefers WebAssembly over a software adapter) and the headless query', () => {
    const r = engineRequestFrom({ engine: 'auto' });
    expect(r).toEqual({ preference: 'auto', threads: undefined, cpuAdapter: 'wasm' });
    expect(engineQuery(engineRequestFrom({ engine: 'wasm', threads: 2 }))).toBe('engine=wasm&threads=2');
    expect(engineQuery({})).toBe('engine=auto');
  });

  it('refuse threads for an engine without them, and out of range', () => {
    expect(() => engineRequestFrom({ engine: 'gpu', threads: 2 })).toThrow(UsageError);
    expect(() => engineRequestFrom({ engine: 'gpu', threads: 2 })).toThrow('--threads is for the WebAssembly engine');
    expect(() => engineRequestFrom({ engine: 'wasm', threads: 0 })).toThrow('--threads must be an integer in 1…64');
  });
});

describe('the WebAssembly memory limit', () => {
  it('a plan within 4 GiB passes; GPT-2 small learning masks at batch 8 × 1024 is refused naming --engine gpu', () => {
    const tiny = memoryPlan(TINY_GPT, { batch: 8 });
    expect(checkWasmPlan(tiny)).toBe(tiny);
    const big = memoryPlan(GPT2_SMALL, { batch: 8, context: 1024, method: 'maskllm' });
    expect(big.gpuBytes).toBeGreaterThan(WASM_MEMORY_BYTES);
    expect(() => checkWasmPlan(big)).toThrow(
      /needs .* more than the 4 GiB \(4.29 GB\) a WebAssembly memory can hold: use the WebGPU engine \(engine=gpu on the page, --engine gpu in the CLI\)/,
    );
  });
});
