// The `kernels` setting on the engine (src/lab/kernel-tuning.ts over src/gpu/autotune.ts, whose
// choice logic and cache are tested with a fake clock in tests/node/autotune.test.ts): a session
// names its matmul shape classes while recording its run, times them (here on SwiftShader, which a
// real run does not tune: `tuneOnCpu`), installs the picks, and learns the same run as with the
// built-in picks; the picks come from the cache the second time; a pick changes the kernel run.
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type ExperimentConfig } from '../../src/lab/config';
import { memoryTuneStorage, tuneKernels } from '../../src/lab/kernel-tuning';
import { LabSession, type SessionEvent } from '../../src/lab/session';
import { matmul, matmulGeometry, matmulShapeClass, type MatmulShapeClass } from '../../src/ops/matmul';
import { attentionShapeClass } from '../../src/ops/attention';
import { Tape } from '../../src/autograd/tape';
import { Tensor } from '../../src/autograd/tensor';
import { attention as attentionFn } from '../../src/autograd/fn/attention';
import { getEngine } from '../helpers/gpu';
import { microAssets } from '../helpers/micro-assets';
import { randn, testSeed } from '../helpers/random';

const g = await getEngine();
const seed = testSeed();

const config: ExperimentConfig = {
  ...DEFAULT_CONFIG,
  model: 'micro-gpt',
  method: 'maskllm',
  prior: 'magnitude',
  batch: 2,
  steps: 3,
  evalEvery: 3,
  calibBatches: 1,
  evalWindows: 2,
  samplesPerStep: 1,
  seed: seed % 1000,
};

async function learn(kernels: ExperimentConfig['kernels'], storage = memoryTuneStorage()) {
  const events: SessionEvent[] = [];
  const s = new LabSession(g!, microAssets(), (e) => events.push(e), { tuneStorage: storage, tuneOnCpu: true, deferBaselines: true });
  await s.load({ ...config, kernels });
  const losses: number[] = [];
  for (let i = 0; i < config.steps; i++) {
    await s.learnStep(true);
    losses.push(s.metrics.at(-1)!.loss);
  }
  const tuning = s.kernelTuning!;
  const picks = new Map(g!.picks);
  s.dispose();
  return { losses, tuning, picks, events };
}

describe(`kernel tuning on the engine (seed ${seed})`, () => {
  it.runIf(g)(
    'tuned and built-in picks learn the same run; the second load reads the cache; the status is reported',
    async () => {
      const storage = memoryTuneStorage();
      const tuned = await learn('tuned', storage);
      expect(tuned.tuning.status).toBe('measured');
      expect(tuned.tuning.picks.length).toBeGreaterThan(3);
      // every class within the time budget has a timing for each of its candidates (SwiftShader is slow: not all are reached)
      const timed = tuned.tuning.picks.filter((p) => Object.keys(p.ms).length > 0);
      expect(timed.length).toBeGreaterThan(0);
      for (const p of tuned.tuning.picks) expect(p.key).toMatch(/^(matmul|attention):/);
      // the micro GPT's attention is one class (every layer has the same shape), timed first: row kernels against the fused pass
      const attn = tuned.tuning.picks.filter((p) => p.key.startsWith('attention:'));
      expect(attn.map((p) => p.key)).toEqual([`attention:c:b${config.batch}:t16:c16:h2`]);
      expect(Object.keys(attn[0].ms).sort()).toEqual(['fused', 'matmul', 'row']);
      for (const p of timed) expect(Object.keys(p.ms)).toContain(p.builtIn);
      expect(tuned.picks.size).toBe(tuned.tuning.picks.length);
      expect(tuned.events.some((e) => e.type === 'progress' && e.detail === 'tuning kernels')).toBe(true);
      expect(tuned.events.filter((e) => e.type === 'kernels')).toHaveLength(1);

      // the second load reads the timed classes from the cache and times (some of) the rest
      const again = await learn('tuned', storage);
      const before = new Map(timed.map((p) => [p.key, p.variant]));
      for (const p of again.tuning.picks) if (before.has(p.key)) expect(p.variant).toBe(before.get(p.key));
      expect(again.tuning.status).toBe(timed.length === tuned.tuning.picks.length ? 'cached' : 'measured');

      const builtIn = await learn('built-in');
      expect(builtIn.tuning).toEqual({ status: 'built-in', picks: [] });
      expect(builtIn.picks.size).toBe(0);
      // other kernels, other summation orders: equal within f32 rounding, not bit for bit
      tuned.losses.forEach((l, i) => expect(Math.abs(l - builtIn.losses[i]) / Math.abs(builtIn.losses[i])).toBeLessThan(1e-5));
      expect(g!.takeErrors()).toEqual([]);
    },
    600_000,
  );

  it.runIf(g)('an installed pick is the kernel that runs for its class, and computes the same product', async () => {
    const e = g!;
    const [m, k, n] = [19, 37, 45];
    const a = e.upload(randn(m * k, seed), [m, k]);
    const b = e.upload(randn(k * n, seed + 1), [k, n]);
    const geo = matmulGeometry(a.shape, b.shape);
    const cls = matmulShapeClass(geo);
    expect(cls.builtIn).toBe('matmul_16x8');
    expect(cls.candidates).toContain('matmul_tiled_64x64');
    const product = async () => {
      const out = matmul(e, a, b);
      const v = await e.read(out);
      out.dispose();
      return v;
    };
    const ref = await product();
    try {
      e.picks.set(cls.key, 'matmul_tiled_64x64');
      const kernels = await e.collectKernels(() => void matmul(e, a, b).dispose());
      expect(kernels.map((x) => x.entry)).toEqual(['matmul_tiled_64x64']);
      const got = await product();
      got.forEach((v, i) => expect(Math.abs(v - ref[i])).toBeLessThan(1e-4 * (1 + Math.abs(ref[i]))));
      // a pick that does not fit the class (a stale cache) is ignored: the built-in runs
      e.picks.set(cls.key, 'matvec_v4');
      const stale = await e.collectKernels(() => void matmul(e, a, b).dispose());
      expect(stale.map((x) => x.entry)).toEqual(['matmul_16x8']);
    } finally {
      e.picks.clear();
      a.dispose();
      b.dispose();
    }
  });

  it.runIf(g?.info.features.subgroups)('the subgroup variant is timed only where the device has `subgroups`', async () => {
    const e = g!;
    const geo = matmulGeometry([9, 13], [13, 20]);
    const cls: MatmulShapeClass = matmulShapeClass(geo, {}, { subgroups: true });
    expect(cls.candidates).toContain('matmul_subgroup');
    // each tuning on a fresh storage (the cache key is the adapter's, the same for both)
    const timed = async () => {
      const r = await tuneKernels(e, [cls], memoryTuneStorage());
      e.picks.clear();
      return Object.keys(r.picks.get(cls.key)!.ms);
    };
    expect(await timed()).toContain('matmul_subgroup');
    try {
      // a class named with the feature, tuned on a device without it (the candidates are filtered again)
      e.info.features.subgroups = false;
      const without = await timed();
      expect(without).toContain(cls.builtIn);
      expect(without).not.toContain('matmul_subgroup');
    } finally {
      e.info.features.subgroups = true;
    }
    expect(e.takeErrors()).toEqual([]);
  });

  it.runIf(g)('an installed attention pick runs forward and backward with the same variant, and computes the same gradient', async () => {
    const e = g!;
    const [B, T, C, H] = [2, 37, 24, 3];
    const cls = attentionShapeClass({ B, T, C, H }, true);
    expect(cls.builtIn).toBe('matmul');
    expect(cls.candidates).toEqual(['matmul', 'row', 'fused']);
    const qkvData = randn(B * T * 3 * C, seed + 2);
    const doutData = randn(B * T * C, seed + 3);
    const pass = () => {
      const tape = new Tape(e);
      const qkv = new Tensor(e.upload(qkvData, [B, T, 3 * C]), true);
      const seedGrad = e.upload(doutData, [B, T, C]);
      tape.backward(attentionFn(tape, qkv, { heads: H, causal: true }), seedGrad);
      tape.dispose();
      seedGrad.dispose();
      qkv.zeroGrad();
      qkv.raw.dispose();
    };
    const gradOf = async () => {
      const tape = new Tape(e);
      const qkv = new Tensor(e.upload(qkvData, [B, T, 3 * C]), true);
      const out = attentionFn(tape, qkv, { heads: H, causal: true });
      const seedGrad = e.upload(doutData, [B, T, C]);
      tape.backward(out, seedGrad);
      const dq = await e.read(qkv.grad!);
      const o = await e.read(out.raw);
      tape.dispose();
      seedGrad.dispose();
      qkv.zeroGrad();
      qkv.raw.dispose();
      return { dq, o };
    };
    const ref = await gradOf();
    try {
      e.picks.set(cls.key, 'fused');
      const kernels = await e.collectKernels(pass);
      const entries = kernels.map((x) => x.name);
      expect(entries.some((n) => n.startsWith('attention_fused'))).toBe(true);
      expect(entries).not.toContain('attention');
      expect(entries).not.toContain('attention-matmul');
      const got = await gradOf();
      got.o.forEach((v, i) => expect(Math.abs(v - ref.o[i])).toBeLessThan(1e-4 * (1 + Math.abs(ref.o[i]))));
      got.dq.forEach((v, i) => expect(Math.abs(v - ref.dq[i])).toBeLessThan(1e-4 * (1 + Math.abs(ref.dq[i]))));
    } finally {
      e.picks.clear();
    }
  });
});
