// The WebAssembly thread pool in Chromium: vitest's browser page is served with COOP/COEP
// (vitest.config.ts), so it is cross-origin isolated and the engine starts Web Workers (Blob URL) on a
// shared memory. The tests run on the page's main thread, where Atomics.wait is not allowed: the
// caller spins on Atomics.load instead (src/wasm/pool.ts). With 2 and 3 threads the matmul and
// attention give the 1-thread engine's bits; a trap in a worker is thrown on the caller. Where the
// page is not isolated the engine runs on one thread and says why.
import { afterAll, describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import type { Engine } from '../../src/backend/engine';
import { WasmEngine } from '../../src/backend/wasm';
import { attention, attentionBackward } from '../../src/ops/attention';
import { matmul } from '../../src/ops/matmul';
import { expectClose } from '../helpers/close';
import { randn, randu, testSeed } from '../helpers/random';

const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength)));

describe('WasmEngine threads in Chromium', async () => {
  const seed = testSeed();
  const cpu = new CpuEngine(true);
  const isolated = globalThis.crossOriginIsolated === true;
  const engines: WasmEngine[] = [];
  afterAll(() => engines.forEach((e) => e.destroy()));
  const make = async (threads?: number) => {
    const e = await WasmEngine.create({ threads, splitSmall: true });
    engines.push(e);
    return e;
  };

  it('the page is cross-origin isolated (vitest.config.ts sends COOP/COEP)', () => {
    expect(isolated).toBe(true);
  });

  it('default threads: the cores, at most 8, where the page is isolated; else one thread with a note', async () => {
    const e = await make();
    const cores = Math.min(navigator.hardwareConcurrency, 8);
    if (isolated) {
      expect(e.threads).toBe(cores);
      expect(e.threadNote).toBeNull();
    } else {
      expect(e.threads).toBe(1);
      expect(e.threadNote).toMatch(/not cross-origin isolated/);
    }
  });

  it('a page that is not isolated: one thread, and the note says why', async () => {
    // the same check the engine makes, on a page whose crossOriginIsolated reads false
    const own = Object.getOwnPropertyDescriptor(globalThis, 'crossOriginIsolated');
    Object.defineProperty(globalThis, 'crossOriginIsolated', { value: false, configurable: true });
    try {
      const e = await make(2);
      expect(e.threads).toBe(1);
      expect(e.threadNote).toBe('the page is not cross-origin isolated (embedded or served without COOP/COEP), so one thread');
      expect(e.memory.buffer instanceof ArrayBuffer).toBe(true);
    } finally {
      if (own) Object.defineProperty(globalThis, 'crossOriginIsolated', own);
      else delete (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
    }
    expect(globalThis.crossOriginIsolated).toBe(isolated);
  });

  it.runIf(isolated)(`2 and 3 threads: matmul in every layout and attention give the 1-thread bits (seed ${seed})`, async () => {
    const [one, two, three] = [await make(1), await make(2), await make(3)];
    expect([one.threads, two.threads, three.threads]).toEqual([1, 2, 3]);
    let s = seed;
    for (const [m, k, n] of [
      [2, 19, 11],
      [37, 70, 23],
    ])
      for (const tA of [false, true])
        for (const tB of [false, true])
          for (const withMask of [false, true]) {
            const aS = tA ? [k, m] : [m, k],
              bS = tB ? [n, k] : [k, n];
            const a = randn(m * k, s++),
              b = randn(k * n, s++),
              bias = randn(n, s++),
              mk = randu(k * n, s++, 0, 1);
            const run = (x: Engine) =>
              Float32Array.from(
                matmul(x, x.upload(a, aS), x.upload(b, bS), {
                  transA: tA,
                  transB: tB,
                  bias: x.upload(bias, [n]),
                  bMask: withMask ? x.upload(mk, bS) : undefined,
                }).f32,
              );
            const what = `${m}×${k}×${n} tA=${tA} tB=${tB} mask=${withMask} seed=${seed}`;
            const base = run(one);
            expectClose(base, run(cpu), 1e-5, what);
            for (const e of [two, three]) expect(bits(run(e)), `${e.threads} threads ${what}`).toEqual(bits(base));
          }
    const [B, T, H, D] = [2, 13, 3, 5];
    const C = H * D;
    const qkv = randn(B * T * 3 * C, seed + 1),
      dout = randn(B * T * C, seed + 2);
    const run = (x: Engine) => {
      const q = x.upload(qkv, [B, T, 3 * C]);
      const f = attention(x, q, { heads: H, causal: true });
      const dq = attentionBackward(x, x.upload(dout, [B, T, C]), q, f.probs, { heads: H, causal: true });
      return [f.out, f.probs, dq].map((t) => Float32Array.from(t.f32));
    };
    const base = run(one);
    run(cpu).forEach((w, i) => expectClose(base[i], w, 1e-5, `attention ${i} seed=${seed}`));
    for (const e of [two, three]) run(e).forEach((x, i) => expect(bits(x), `attention ${i}, ${e.threads} threads`).toEqual(bits(base[i])));
    expect(two.threadStats!.split).toBeGreaterThan(0);
  });

  it.runIf(isolated)('a trap in a worker is thrown on the caller (no hang), and the pool goes on', async () => {
    const e = await make(2);
    const [m, k, n] = [16, 8, 8];
    const a = e.upload(randn(m * k, seed), [m, k]),
      b = e.upload(randn(k * n, seed + 1), [k, n]);
    const out = e.memory.buffer.byteLength - (m / 2) * n * 4; // the worker's rows lie past the end
    expect(() =>
      e.parallelFor('matmul', 'matmul', [e.ptr(a), e.ptr(b), 0, 0, out, 0, m, k, n, 0, 0], 0, m, {
        scratch: { arg: 5, bytes: e.kernels.matmul.scratchBytes(k, n) },
        align: 4,
      }),
    ).toThrow(/failed on pool thread 1: RuntimeError: memory access out of bounds/);
    const want = Float32Array.from(matmul(cpu, cpu.upload(a.f32, [m, k]), cpu.upload(b.f32, [k, n])).f32);
    expectClose(Float32Array.from(matmul(e, a, b).f32), want, 1e-5, 'after the trap');
  });
});
