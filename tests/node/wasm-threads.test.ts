// The WebAssembly thread pool (src/wasm/pool.ts) in Node's worker_threads: with 1, 2 and 3 threads
// (splitSmall: every job split over every thread, however small) the matmul in every layout — row
// counts that do not divide by the threads, fewer rows than threads, batched operands — and attention
// forward and backward give the single-thread engine's results bit for bit (the same kernel over
// disjoint ranges) and the f64 CPU twin's within 1e-5; a tiny-gpt MaskLearner step is the same on
// every thread count; the pool keeps working after the shared memory grows (tensors past the old
// length); destroy() terminates the workers; a trap in a worker is thrown on the caller.
import { afterAll, describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import type { Engine } from '../../src/backend/engine';
import { WasmEngine } from '../../src/backend/wasm';
import { TINY_GPT } from '../../src/models/presets';
import { Gpt, gptInitialWeights } from '../../src/models/gpt';
import { attention, attentionBackward } from '../../src/ops/attention';
import { matmul } from '../../src/ops/matmul';
import { MaskLearner } from '../../src/sparsity/learner';
import { PRESETS } from '../../src/sparsity/schedule';
import { expectClose } from '../helpers/close';
import { randn, randu, testSeed } from '../helpers/random';
import { microText } from '../helpers/tiny-models';

/** A deterministic stream of small integers from the seed (shapes). */
function draws(seed: number) {
  let s = seed >>> 0 || 1;
  return (lo: number, hi: number) => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return lo + (s % (hi - lo + 1));
  };
}

const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength)));

describe('WasmEngine threads', async () => {
  const seed = testSeed();
  const cpu = new CpuEngine(true);
  const [one, two, three] = await Promise.all([1, 2, 3].map((threads) => WasmEngine.create({ variant: 'simd', threads, splitSmall: true })));
  const pooled = [two, three];
  afterAll(() => [one, two, three].forEach((e) => e.destroy()));

  it('the engines run on the threads asked for, with no note', () => {
    expect([one.threads, two.threads, three.threads]).toEqual([1, 2, 3]);
    expect([one.threadNote, two.threadNote, three.threadNote]).toEqual([null, null, null]);
    expect(one.threadStats).toBeNull();
  });

  it(`matmul in every layout: bit for bit across 1, 2, 3 threads, and the f64 twin within 1e-5 (seed ${seed})`, () => {
    const r = draws(seed);
    // fewer rows than threads, an odd count, one that spans a 4-row strip edge, a larger one
    const shapes: [number, number, number][] = [
      [r(1, 2), r(1, 40), r(1, 20)],
      [r(3, 9) | 1, r(5, 70), r(3, 30)],
      [r(10, 40), r(1, 300), r(1, 50)],
      [r(60, 140), r(20, 80), r(8, 40)],
    ];
    let s = seed * 101;
    const before = pooled.map((e) => e.threadStats!.split);
    for (const [m, k, n] of shapes)
      for (const tA of [false, true])
        for (const tB of [false, true])
          for (const withBias of [false, true])
            for (const withMask of [false, true]) {
              const aS = tA ? [k, m] : [m, k],
                bS = tB ? [n, k] : [k, n];
              const a = randn(m * k, s++),
                b = randn(k * n, s++),
                bias = randn(n, s++),
                mk = randu(k * n, s++, 0, 1);
              const run = (x: Engine) => {
                const out = matmul(x, x.upload(a, aS), x.upload(b, bS), {
                  transA: tA,
                  transB: tB,
                  bias: withBias ? x.upload(bias, [n]) : undefined,
                  bMask: withMask ? x.upload(mk, bS) : undefined,
                  out: x.fill([m, n], NaN), // an element never written fails
                });
                return Float32Array.from(out.f32);
              };
              const what = `${m}×${k}×${n} tA=${tA} tB=${tB} bias=${withBias} mask=${withMask} seed=${seed}`;
              const base = run(one);
              expectClose(base, run(cpu), 1e-5, what);
              for (const e of pooled) expect(bits(run(e)), `${e.threads} threads, ${what}`).toEqual(bits(base));
            }
    // the jobs really ran on more than one thread
    pooled.forEach((e, i) => expect(e.threadStats!.split).toBeGreaterThan(before[i]));
  });

  it(`batched matmul (the split runs over matrices × rows): bit for bit across threads (seed ${seed})`, () => {
    const r = draws(seed + 7);
    for (const [batch, m, k, n] of [
      [r(2, 5), 1, r(1, 30), r(1, 20)],
      [r(2, 4), r(2, 11), r(1, 40), r(1, 20)],
    ]) {
      const a = randn(batch * m * k, seed + batch),
        b = randn(batch * k * n, seed + m),
        mk = randu(batch * k * n, seed + k, 0, 1);
      const run = (x: Engine) =>
        Float32Array.from(matmul(x, x.upload(a, [batch, m, k]), x.upload(b, [batch, k, n]), { bMask: x.upload(mk, [batch, k, n]) }).f32);
      const base = run(one);
      const what = `batch ${batch} × ${m}×${k}×${n} seed=${seed}`;
      expectClose(base, run(cpu), 1e-5, what);
      for (const e of pooled) expect(bits(run(e)), `${e.threads} threads, ${what}`).toEqual(bits(base));
    }
  });

  it(`attention forward and backward: bit for bit across threads, the f64 twin within 1e-5 (seed ${seed})`, () => {
    const r = draws(seed + 13);
    // B·H of 1 (fewer pairs than threads), odd, and a few more
    for (const [B, T, H, D] of [
      [1, r(1, 9), 1, r(1, 8)],
      [r(1, 3), r(2, 19), 3, r(1, 9)],
      [2, r(5, 33), r(2, 4), r(2, 16)],
    ]) {
      const C = H * D;
      const qkv = randn(B * T * 3 * C, seed + T),
        dout = randn(B * T * C, seed + D);
      for (const causal of [false, true]) {
        const run = (x: Engine) => {
          const q = x.upload(qkv, [B, T, 3 * C]);
          const f = attention(x, q, { heads: H, causal });
          const dq = attentionBackward(x, x.upload(dout, [B, T, C]), q, f.probs, { heads: H, causal });
          return [f.out, f.probs, dq].map((t) => Float32Array.from(t.f32));
        };
        const what = `B=${B} T=${T} H=${H} D=${D} causal=${causal} seed=${seed}`;
        const base = run(one);
        const want = run(cpu);
        base.forEach((x, i) => expectClose(x, want[i], 1e-5, `${['out', 'probs', 'dqkv'][i]} ${what}`));
        for (const e of pooled)
          run(e).forEach((x, i) => expect(bits(x), `${e.threads} threads, ${['out', 'probs', 'dqkv'][i]} ${what}`).toEqual(bits(base[i])));
      }
    }
  });

  it(`a tiny-gpt MaskLearner step: the same rows, logits and moments on 1, 2 and 3 threads (seed ${seed})`, async () => {
    // tiny-gpt at 2 blocks of width 40 (4 heads of 10: widths that divide neither the threads nor the
    // 4×8 micro-kernel), so a seed sweep stays short
    const cfg = { ...TINY_GPT, nEmbd: 40, nLayer: 2 };
    const run = async (e: WasmEngine) => {
      const model = new Gpt(e, cfg, gptInitialWeights(cfg, seed));
      const learner = new MaskLearner(model, { n: 2, m: 4, hyper: { ...PRESETS.tunedSmall, steps: 4 }, seed }, 2);
      const rows = [];
      for (let s = 0; s < 2; s++) rows.push(...((await learner.learnStep([microText(seed + 10 + s, 2, 17, cfg.vocabSize)])) ?? []));
      const state = await learner.state();
      learner.dispose();
      return { rows, state: state.map((x) => [x.name, bits(x.logits), bits(x.m), bits(x.v)]) };
    };
    const base = await run(one);
    expect(base.rows.length).toBe(2);
    for (const e of pooled) {
      const got = await run(e);
      expect(got.rows, `${e.threads} threads`).toEqual(base.rows);
      expect(got.state, `${e.threads} threads`).toEqual(base.state);
    }
  });

  it(`the pool keeps working after the shared memory grows, on tensors past the old length (seed ${seed})`, async () => {
    const e = await WasmEngine.create({ variant: 'simd', threads: 2, initialPages: 2, splitSmall: true });
    const [m, k, n] = [37, 29, 23];
    const a = randn(m * k, seed),
      b = randn(k * n, seed + 1);
    const run = (x: WasmEngine) => Float32Array.from(matmul(x, x.upload(a, [m, k]), x.upload(b, [k, n])).f32);
    const want = run(one);
    expect(bits(run(e))).toEqual(bits(want));
    const bytes = e.memory.buffer.byteLength;
    const grows = e.arena.grows;
    const big = e.empty([(3 * bytes) / 4]); // 3× the memory: a grow
    expect(e.arena.grows).toBeGreaterThan(grows);
    // operands and output past the old end: the workers' instances must see the new length
    const ta = e.upload(a, [m, k]),
      tb = e.upload(b, [k, n]);
    expect(ta.cpu!.byteOffset).toBeGreaterThan(bytes);
    const got = Float32Array.from(matmul(e, ta, tb).f32);
    expect(bits(got)).toEqual(bits(want));
    expect(e.threadStats!.split).toBeGreaterThanOrEqual(2);
    big.dispose();
    e.destroy();
  });

  it('destroy() terminates the workers, and the engine refuses kernels afterwards', async () => {
    const e = await WasmEngine.create({ variant: 'simd', threads: 3 });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<string>((r) => (timer = setTimeout(() => r('timeout'), 10_000)));
    e.destroy();
    e.destroy(); // idempotent
    expect(await Promise.race([e.workersExited.then(() => 'exited'), timeout])).toBe('exited');
    clearTimeout(timer);
    const x = e.upload(randn(12, seed), [3, 4]);
    expect(() => matmul(e, x, x, { transB: true })).toThrow(/destroyed/);
  });

  it('a trap in a worker (an out-of-bounds pointer) is thrown on the caller, and the pool goes on', async () => {
    const e = await WasmEngine.create({ variant: 'simd', threads: 2, splitSmall: true });
    const [m, k, n] = [16, 8, 8];
    const a = e.upload(randn(m * k, seed), [m, k]),
      b = e.upload(randn(k * n, seed + 1), [k, n]);
    const end = e.memory.buffer.byteLength;
    // `out` such that rows 0–7 (the caller's chunk) end exactly at the memory's end and rows 8–15
    // (the worker's) lie past it
    const out = end - (m / 2) * n * 4;
    const call = (po: number) =>
      e.parallelFor('matmul', 'matmul', [e.ptr(a), e.ptr(b), 0, 0, po, 0, m, k, n, 0, 0], 0, m, {
        scratch: { arg: 5, bytes: e.kernels.matmul.scratchBytes(k, n) },
        align: 4,
      });
    expect(() => call(out)).toThrow(/matmul\.matmul failed on pool thread 1: RuntimeError: memory access out of bounds/);
    // every chunk out of bounds: the caller's own trap is thrown (after the worker's chunk ended)
    expect(() => call(end + 4096)).toThrow(/out of bounds/);
    // and the pool still works
    const want = Float32Array.from(matmul(one, one.upload(a.f32, [m, k]), one.upload(b.f32, [k, n])).f32);
    expect(bits(Float32Array.from(matmul(e, a, b).f32))).toEqual(bits(want));
    e.destroy();
  });
});

describe('WasmEngine thread settings', () => {
  it('default: the cores, at most 8; a bad setting is refused naming it', async () => {
    const { availableParallelism } = await import('node:os');
    const e = await WasmEngine.create({ variant: 'simd' });
    expect(e.threads).toBe(Math.min(availableParallelism(), 8));
    expect(e.threadNote).toBeNull();
    e.destroy();
    await expect(WasmEngine.create({ threads: 0 })).rejects.toThrow(/threads must be a whole number from 1 to 64, not 0/);
    await expect(WasmEngine.create({ threads: 1.5 })).rejects.toThrow(/not 1.5/);
  });
});
