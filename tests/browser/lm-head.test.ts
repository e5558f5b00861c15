import { describe, expect, it } from 'vitest';
import { lmHeadLoss } from '../../src/autograd/fn/lm-head';
import { matmul } from '../../src/autograd/fn/linear';
import { crossEntropy } from '../../src/autograd/fn/loss';
import { Tape } from '../../src/autograd/tape';
import { constant, param, type Tensor } from '../../src/autograd/tensor';
import { CpuEngine } from '../../src/backend/cpu';
import type { Engine } from '../../src/backend/engine';
import type { GpuEngine } from '../../src/backend/gpu';
import { bucketSize } from '../../src/gpu/buffers';
import * as ops from '../../src/ops/lm-head';
import { expectClose, maxAbsDiff } from '../helpers/close';
import { getEngine } from '../helpers/gpu';
import { randint, randn, testSeed } from '../helpers/random';

interface Inputs {
  N: number;
  C: number;
  V: number;
  x: Float32Array;
  W: Float32Array;
  t: Uint32Array;
  dl: number;
}

/** Loss, lse and both gradients (or dx only) on one engine; every GPU output starts poisoned (NaN). */
async function run(e: Engine, p: Inputs, chunk: number | undefined, dW: boolean) {
  const x = e.upload(p.x, [p.N, p.C]),
    W = e.upload(p.W, [p.V, p.C]),
    t = e.upload(p.t, [p.N], 'u32');
  const f = ops.lmHeadLoss(e, x, W, t, { chunk });
  const dloss = e.upload([p.dl], [1]);
  const reads = e.kind === 'gpu' ? e.stats.readbacks : 0;
  const g = ops.lmHeadBackward(e, dloss, x, W, t, f.lse, { dx: true, dW }, { chunk });
  if (e.kind === 'gpu') expect(e.stats.readbacks, 'dloss stays on the GPU').toBe(reads);
  const out = { loss: await e.read(f.loss), lse: await e.read(f.lse), dx: await e.read(g.dx!), dW: g.dW ? await e.read(g.dW) : null };
  for (const r of [x, W, t, f.loss, f.lse, dloss, g.dx, g.dW]) r?.dispose();
  return out;
}

/**
 * Relative error, except for a gradient that is exactly zero in exact arithmetic (V = 1: softmax ≡ 1
 * = onehot), where both engines hold only rounding noise: there the bound is absolute.
 */
function gradClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string) {
  let norm2 = 0;
  for (let i = 0; i < want.length; i++) norm2 += want[i] * want[i];
  if (norm2 > 1e-12) return expectClose(got, want, tol, what);
  expect(maxAbsDiff(got, want), `${what} (≈ 0)`).toBeLessThan(1e-6);
}

async function compare(g: GpuEngine, p: Inputs, chunk: number | undefined, what: string, gradTol = 1e-5) {
  const c = new CpuEngine();
  for (const dW of [true, false]) {
    const want = await run(c, p, chunk, dW);
    const got = await run(g, p, chunk, dW);
    expect(Number.isFinite(got.loss[0]), `loss ${got.loss[0]} ${what}`).toBe(true);
    expectClose(got.loss, want.loss, 1e-5, `loss ${what}`);
    expectClose(got.lse, want.lse, 1e-5, `lse ${what}`);
    gradClose(got.dx, want.dx, gradTol, `dx ${what} dW=${dW}`);
    if (dW) gradClose(got.dW!, want.dW!, gradTol, `dW ${what}`);
    else expect(got.dW).toBeNull();
  }
}

function inputs(N: number, C: number, V: number, seed: number): Inputs {
  return { N, C, V, x: randn(N * C, seed + 1), W: randn(V * C, seed + 2), t: randint(N, seed + 3, V), dl: randn(1, seed + 4)[0] };
}

/** Peak bytes of one forward + backward through the tape, with nothing executed (collectKernels). */
async function peak(g: GpuEngine, build: (tape: Tape, x: Tensor, W: Tensor, t: Tensor) => Tensor, N: number, C: number, V: number, trainW: boolean) {
  const x = param(g.empty([N, C])),
    W = trainW ? param(g.empty([V, C])) : constant(g.empty([V, C])),
    t = constant(g.empty([N], 'u32'));
  g.flush();
  g.pool.trim();
  g.pool.resetPeaks();
  const allocated = g.pool.allocatedByteCount,
    live = g.pool.liveByteCount;
  let largest = 0;
  const acquire = g.pool.acquire.bind(g.pool);
  g.pool.acquire = (bytes: number, label?: string) => ((largest = Math.max(largest, bytes)), acquire(bytes, label));
  try {
    await g.collectKernels(() => {
      const tape = new Tape(g);
      tape.backward(build(tape, x, W, t));
      tape.dispose();
    });
  } finally {
    Reflect.deleteProperty(g.pool, 'acquire');
  }
  const out = { largest, peakLive: g.pool.peakLiveByteCount - live, peakAllocated: g.pool.peakAllocatedByteCount - allocated };
  for (const v of [x, W, t]) {
    v.zeroGrad();
    v.raw.dispose();
  }
  g.flush();
  g.pool.trim();
  return out;
}

describe('lm_head.wgsl (chunked LM head + cross-entropy) vs CPU twin', async () => {
  const g = await getEngine();
  const seed = testSeed();
  // [N, C, V, chunk]: one row/class/feature; chunks not dividing V; N past the 16-row matmul tile and
  // not a multiple of it; chunk = 1; one chunk larger than V (W used in place); the default chunk
  const cases: [number, number, number, number | undefined][] = [
    [1, 1, 1, undefined],
    [3, 5, 67, 16],
    [17, 9, 130, 33],
    [70, 12, 257, 64],
    [5, 12, 40, 1],
    [2, 8, 100, 1000],
  ];

  it.runIf(g).each(cases)('N=%i C=%i V=%i chunk=%s', async (N, C, V, chunk) => {
    await compare(g!, inputs(N, C, V, seed + N * V), chunk, `N=${N} C=${C} V=${V} chunk=${chunk} seed=${seed}`);
    expect(g!.takeErrors()).toEqual([]);
  });

  it.runIf(g)("GPT-2's vocabulary (V = 50257) at small N: matches the twin, no [N, V] buffer, bounded memory", async () => {
    const N = 7,
      C = 5,
      V = 50257; // C < N, so no [V, C] tensor is as large as [N, V] either
    const p = inputs(N, C, V, seed);
    const what = `V=50257 seed=${seed}`;
    await compare(g!, p, undefined, `${what} default chunk`);
    await compare(g!, p, 5000, `${what} chunk=5000`);

    // through the tape, frozen W: a whole step's buffers (one command buffer, so nothing is reused)
    const live = g!.liveTensors;
    g!.flush();
    g!.pool.trim();
    g!.pool.resetPeaks();
    const before = g!.pool.allocatedByteCount;
    let largest = 0;
    const acquire = g!.pool.acquire.bind(g!.pool);
    g!.pool.acquire = (bytes: number, label?: string) => ((largest = Math.max(largest, bytes)), acquire(bytes, label));
    const x = param(g!.upload(p.x, [N, C])),
      W = constant(g!.upload(p.W, [V, C]));
    const tape = new Tape(g!);
    const loss = lmHeadLoss(tape, x, W, tape.constant(g!.upload(p.t, [N], 'u32')));
    tape.backward(loss);
    Reflect.deleteProperty(g!.pool, 'acquire');
    expect(largest, 'no buffer as large as [N, V] logits').toBeLessThan(N * V * 4);
    // One logits chunk and one W chunk for the forward, another pair for the backward (the forward's
    // are released but not reusable before the submit), and small ones. A fresh pair per chunk would
    // be 7 pairs per pass: more than one [N, V] tensor.
    const chunk = ops.lmHeadChunk(N, V);
    const budget = 2 * (bucketSize(N * chunk * 4) + bucketSize(chunk * C * 4)) + 16 * 4096;
    expect(budget).toBeLessThan(N * V * 4);
    expect(g!.pool.peakAllocatedByteCount - before - bucketSize(V * C * 4), 'bytes allocated besides W').toBeLessThanOrEqual(budget);
    const want = await run(new CpuEngine(), { ...p, dl: 1 }, undefined, false); // backward() seeds dloss = 1
    expectClose(await g!.read(loss.raw), want.loss, 1e-5, `tape loss ${what}`);
    expectClose(await g!.read(x.grad!), want.dx, 1e-5, `tape dx ${what}`);
    expect(W.grad).toBeNull();
    tape.dispose();
    x.zeroGrad();
    x.raw.dispose();
    W.raw.dispose();
    expect(g!.liveTensors, 'every tensor of the step was released').toBe(live);
    expect(g!.takeErrors()).toEqual([]);
  });

  it.runIf(g)('large-magnitude logits (max |logit| = 1e3, far past exp overflow) across chunks', async () => {
    const N = 6,
      C = 7,
      V = 300;
    const p = inputs(N, C, V, seed + 7);
    const z = (r: number, v: number) => p.x.slice(r * C, r * C + C).reduce((s, a, i) => s + a * p.W[v * C + i], 0);
    let max = 0;
    for (let r = 0; r < N; r++) for (let v = 0; v < V; v++) max = Math.max(max, Math.abs(z(r, v)));
    p.x = p.x.map((a) => (a * 1e3) / max);
    // the target is each row's smallest logit, so every loss is large (≈ 10³) and well conditioned
    p.t = Uint32Array.from({ length: N }, (_, r) => {
      let best = 0;
      for (let v = 1; v < V; v++) if (z(r, v) < z(r, best)) best = v;
      return best;
    });
    // Gradients: an f32 logit of magnitude 10³ carries an absolute rounding of ~10⁻⁴, which moves
    // exp(z − lse) by ~10⁻⁴ relative; no f32 path can match the f64 twin to 1e-5 there.
    for (const chunk of [1, 37, undefined]) await compare(g!, p, chunk, `large logits chunk=${chunk} seed=${seed}`, 1e-3);
    expect(g!.takeErrors()).toEqual([]);
  });

  it.runIf(g)('out-of-range targets are clamped to V − 1 on the GPU (no out-of-bounds read)', async () => {
    const N = 4,
      C = 3,
      V = 9;
    const p = inputs(N, C, V, seed + 11);
    const bad = Uint32Array.of(3, V, 0xffffffff, V - 1);
    const got = await run(g!, { ...p, t: bad }, 4, true);
    const want = await run(new CpuEngine(), { ...p, t: Uint32Array.of(3, V - 1, V - 1, V - 1) }, 4, true);
    expectClose(got.loss, want.loss, 1e-5, 'clamped loss');
    expectClose(got.dx, want.dx, 1e-5, 'clamped dx');
    expectClose(got.dW!, want.dW!, 1e-5, 'clamped dW');
    expect(g!.takeErrors()).toEqual([]);
  });

  it.runIf(g)('peak memory at GPT-2 small scale (N = 1024, C = 768, V = 50257), nothing executed', async () => {
    const [N, C, V] = [1024, 768, 50257];
    const poison = g!.poisonAllocations;
    g!.poisonAllocations = false; // no 154 MB NaN uploads: these buffers are never read
    const MB = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
    try {
      for (const trainW of [false, true]) {
        const fused = await peak(g!, (tape, x, W, t) => lmHeadLoss(tape, x, W, t), N, C, V, trainW);
        const unfused = await peak(g!, (tape, x, W, t) => crossEntropy(tape, matmul(tape, x, W, { transB: true }), t), N, C, V, trainW);
        for (const [name, m] of [
          ['fused', fused],
          ['unfused', unfused],
        ] as const) {
          console.log(
            `lm-head peak, W ${trainW ? 'trained' : 'frozen'}, ${name}: largest buffer ${MB(m.largest)}, peak live ${MB(m.peakLive)}, peak allocated ${MB(m.peakAllocated)} (besides x, W, targets)`,
          );
        }
        expect(fused.largest).toBeLessThan(N * V * 4);
        expect(unfused.largest).toBeGreaterThanOrEqual(N * V * 4);
        expect(fused.peakAllocated).toBeLessThan(unfused.peakAllocated);
      }
    } finally {
      g!.poisonAllocations = poison;
    }
    expect(g!.takeErrors()).toEqual([]);
  });
});
