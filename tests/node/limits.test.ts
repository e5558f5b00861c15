import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bucketSize } from '../../src/gpu/buffers';
import {
  checkMemoryPlan,
  checkModelFits,
  DEFAULT_MEMORY_BUDGET_BYTES,
  evalBatchWithin,
  largestContextWithin,
  largestBatchWithin,
  LimitError,
  MemoryBudgetError,
  plannedBuffers,
} from '../../src/lab/limits';
import { formatMemoryPlan, memoryPlan, memoryPlanTable, type MemoryPlan } from '../../src/lab/memory-plan';
import { gptInnerSize, parseConfig, type GptConfig, type VitConfig } from '../../src/models/config';
import { TINY_GPT, TINY_VIT } from '../../src/models/presets';
import { GPT2_SMALL } from '../helpers/hub-configs';

const BIG = { maxBufferSize: 2 ** 40, maxStorageBufferBindingSize: 2 ** 40 };
// WebGPU's default (spec minimum) limits
const DEFAULT_LIMITS = { maxBufferSize: 256 * 2 ** 20, maxStorageBufferBindingSize: 128 * 2 ** 20 };

function caught(f: () => void): LimitError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LimitError);
    return e as LimitError;
  }
  throw new Error('expected a LimitError');
}

describe('checkModelFits', () => {
  it('accepts the bundled tiny models on default limits', () => {
    expect(() => checkModelFits(DEFAULT_LIMITS, TINY_GPT, 8)).not.toThrow();
    expect(() => checkModelFits(DEFAULT_LIMITS, TINY_VIT, 8)).not.toThrow();
  });

  it('GPT-2 small on default limits: its 154 MB token embedding exceeds 128 MiB bindings', () => {
    const e = caught(() => checkModelFits(DEFAULT_LIMITS, GPT2_SMALL, 8));
    expect(e.tensor).toBe('weight transformer.wte.weight [50257, 768]');
    expect(e.limitName).toBe('maxStorageBufferBindingSize');
    expect(e.message).toMatch(/smaller model/);
  });

  it('GPT-2 small at batch 8 × 1024 with 1 GiB limits: the attention probabilities do not fit; names tensor, bytes, limit, suggestion', () => {
    // evaluation batch 32 dominates: 32·12·1024·1024·4 bytes (the LM head's logits come in vocabulary chunks and fit)
    const e = caught(() => checkModelFits({ maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 30 }, GPT2_SMALL, 8));
    expect(e.tensor).toMatch(/^attention probabilities \[B = 32, heads = 12, T = 1024, T = 1024\]/);
    expect(e.bytes).toBe(bucketSize(32 * 12 * 1024 * 1024 * 4));
    expect(e.limitName).toBe('maxBufferSize'); // checked first; both are exceeded
    expect(e.message).toContain(String(e.bytes));
    expect(e.message).toContain(String(2 ** 30));
    expect(e.message).toMatch(/shorter context/);
  });

  it('the LM head plans one vocabulary chunk of logits, never [B·T, vocab]', () => {
    const logits = plannedBuffers(GPT2_SMALL, 1).find((b) => b.name.startsWith('logits chunk'))!;
    expect(logits.bytes).toBeLessThanOrEqual(2 ** 25);
    expect(logits.bytes).toBeLessThan(32 * 1024 * 50257 * 4);
  });

  it('a training batch larger than the evaluation batch gets a batch suggestion that fits', () => {
    const limits = { maxBufferSize: 2 ** 40, maxStorageBufferBindingSize: 64 * 2 ** 20 };
    const e = caught(() => checkModelFits(limits, TINY_GPT, 4096));
    expect(e.limitName).toBe('maxStorageBufferBindingSize');
    const m = /batch of at most (\d+)/.exec(e.message);
    expect(m).not.toBeNull();
    const suggested = Number(m![1]);
    expect(suggested).toBeGreaterThanOrEqual(32);
    expect(suggested).toBeLessThan(4096);
    // the suggestion is the largest batch that fits
    expect(() => checkModelFits(limits, TINY_GPT, suggested)).not.toThrow();
    expect(() => checkModelFits(limits, TINY_GPT, suggested + 1)).toThrow(LimitError);
  });

  it('a shorter context makes the GPT fit', () => {
    const limits = { maxBufferSize: 4 * 2 ** 20, maxStorageBufferBindingSize: 4 * 2 ** 20 };
    expect(() => checkModelFits(limits, TINY_GPT, 8)).toThrow(LimitError);
    expect(() => checkModelFits(limits, TINY_GPT, 8, 32)).not.toThrow();
  });

  it('a weight that does not fit is reported as fixed (smaller model), not a batch problem', () => {
    const limits = { maxBufferSize: 2 ** 40, maxStorageBufferBindingSize: 100 * 2 ** 20 };
    const huge: GptConfig = { ...TINY_GPT, vocabSize: 1_000_000, nEmbd: 64 * 48, nHead: 48, nPositions: 8 };
    const e = caught(() => checkModelFits(limits, huge, 1, 1));
    expect(e.tensor).toMatch(/weight transformer\.wte\.weight \[1000000, 3072\]/);
    expect(e.message).toMatch(/smaller model/);
  });

  it('mask logits of the widest site are checked (4:8 has 70 candidates)', () => {
    const b = plannedBuffers(TINY_GPT, 1, 1, { n: 4, m: 8 }).find((x) => x.name.startsWith('mask logits'))!;
    expect(b.name).toMatch(/c_fc|c_proj/);
    expect(b.bytes).toBe(((64 * 256) / 8) * 70 * 4);
    const limits = { maxBufferSize: 2 ** 40, maxStorageBufferBindingSize: b.bytes - 1 };
    expect(caught(() => checkModelFits(limits, TINY_GPT, 1, 1, { n: 4, m: 8 })).tensor).toBe(b.name);
  });

  it('ViT: attention probabilities at the evaluation batch (250 images)', () => {
    const vit: VitConfig = { ...TINY_VIT, imageSize: 224, patchSize: 4, numHeads: 4 };
    const T = (224 / 4) ** 2 + 1;
    const e = caught(() => checkModelFits(DEFAULT_LIMITS, vit, 8));
    expect(e.tensor).toBe(`attention probabilities [B = 250, heads = 4, T = ${T}, T = ${T}]`);
    expect(e.bytes).toBe(bucketSize(250 * 4 * T * T * 4));
    expect(e.message).toMatch(/evaluation batch of 250/);
  });

  it('every planned buffer fits huge limits; bad arguments name what is wrong', () => {
    expect(() => checkModelFits(BIG, GPT2_SMALL, 8)).not.toThrow();
    expect(() => checkModelFits(BIG, TINY_GPT, 0)).toThrow(/batch must be a positive integer, got 0/);
    expect(() => checkModelFits(BIG, TINY_GPT, 1, 129)).toThrow(/context must be an integer in 1\.\.128/);
    expect(() => checkModelFits({ maxBufferSize: Number.NaN, maxStorageBufferBindingSize: 1 }, TINY_GPT, 1)).toThrow(/limits\.maxBufferSize/);
  });
});

// The memory plan (src/lab/memory-plan.ts): expected bytes are computed here from the shapes, not by
// the module's enumeration. The seeded largest-batch property lives in memory-plan.test.ts.
describe('memoryPlan', () => {
  const C = 768,
    L = 12,
    V = 50257,
    P = 1024,
    Hh = 12,
    F = 4 * C;
  const part = (plan: MemoryPlan, key: string) => {
    const p = plan.parts.find((x) => x.key === key);
    if (!p) throw new Error(`no part ${key}`);
    return p;
  };

  it('GPT-2 small: 124.4 M parameters → 497.8 MB of f32 weights; 84.9 M masked → 2.04 GB of learning state at 2:4', () => {
    const plan = memoryPlan(GPT2_SMALL, { batch: 1 });
    const params = V * C + P * C + L * (12 * C * C + 13 * C) + 2 * C;
    expect(params).toBe(124_439_808);
    expect(plan.parameters).toBe(params);
    expect(part(plan, 'weights').bytes).toBe(4 * params);
    const masked = L * (C * 3 * C + C * C + C * 4 * C + 4 * C * C);
    expect(plan.maskedWeights).toBe(masked);
    // logits, gradient, Adam m and v: 4 f32 per candidate, C(4,2) = 6 candidates per group of 4
    const perWeight = (4 * 4 * 6) / 4;
    expect(perWeight).toBe(24);
    expect(part(plan, 'learningState').bytes).toBe(24 * masked);
    expect(part(plan, 'learningState').bytes).toBe(2_038_431_744);
    // the previous soft mask (f32) and the last hard choice (u32 per group)
    expect(part(plan, 'maskHistory').bytes - (4 * masked + masked)).toBeGreaterThan(0);
    expect(part(plan, 'maskHistory').bytes - (4 * masked + masked)).toBeLessThan(10_000);
    const table = formatMemoryPlan(plan);
    expect(table).toContain('497.8 MB');
    expect(table).toContain('2.04 GB');
  });

  for (const B of [1, 4, 8])
    it(`GPT-2 small at batch ${B} × 1024: the learning step's parts from the shapes`, () => {
      const T = 1024,
        N = B * T;
      const plan = memoryPlan(GPT2_SMALL, { batch: B });
      const masked = 12 * L * C * C;
      // per sample and site: y [groups, 6], soft mask, W⊙m, ∂L/∂(W⊙m); besides, a few scalars per
      // site and the gradient norm's partial sums (one per 4096 logits, 1.5 logits per weight)
      const sampled = part(plan, 'sampledMasks').bytes - (6 + 3 * 4) * masked;
      expect(sampled).toBeGreaterThan(4 * ((1.5 * masked) / 4096));
      expect(sampled).toBeLessThan(4 * ((1.5 * masked) / 4096) + 8_000);
      // probabilities [B, H, T, T] kept by the forward, dS of the same shape in the backward; the
      // matmul variant's per-head copies: q, k, v, out in the forward, q, k, v, dout, dq, dk, dv in the backward
      expect(part(plan, 'attention').bytes).toBe(4 * (2 * L * B * Hh * T * T + (4 + 7) * L * N * C));
      // forward, per block: ln_1, qkv, attention output, c_proj, residual, ln_2, mlp.c_proj,
      // residual = 10 N·C, c_fc and GELU = 2 N·F, two LayerNorms' mean and rstd = 4 N; outside the
      // blocks: token rows and their sum with the positions, ln_f; position rows; token ids, targets, positions
      const fwd = L * (10 * N * C + 2 * N * F + 4 * N) + 3 * N * C + 2 * N + T * C + 2 * N + T;
      expect(part(plan, 'activations').bytes).toBe(4 * fwd);
      // backward: per block 16 N·C (block 0: 13, nothing flows into the embeddings) + 2 N·F, the
      // head's input and ln_f's input 2 N·C, the seed
      const bwd = (16 * L - 3) * N * C + 2 * L * N * F + 2 * N * C + 1;
      expect(part(plan, 'backward').bytes).toBe(4 * bwd);
      // chunks of 8192 vocabulary rows: a chunk's logits and its gradient, the chunk's rows of W
      // (forward and backward), the chunk's share of ∂x, four per-row statistics, the loss
      expect(part(plan, 'lmHead').bytes).toBe(4 * (2 * N * 8192 + 2 * 8192 * C + N * C + 4 * N + 1));
      // one evaluation batch of 32 windows without gradients, in stages of half a block: the largest
      // stage is attention's: its input, ln_1, the attention output, c_proj, the residual (1 + 5
      // E·C), LayerNorm's 2 E, qkv 3 E·C, the probabilities [32, H, T, T], the matmul variant's q, k, v, out 4 E·C
      const E = 32 * T;
      const evalFwd = 6 * E * C + 2 * E + 3 * E * C + 32 * Hh * T * T + 4 * E * C;
      expect(part(plan, 'evalForward').bytes).toBe(4 * evalFwd);
      // totals: the resident part once, then between the largest phase and all phases side by side
      const gpuParts = plan.parts.filter((p) => p.where === 'gpu');
      expect(plan.residentBytes).toBe(gpuParts.filter((p) => p.phase === 'resident').reduce((a, p) => a + p.allocatedBytes, 0));
      expect(plan.phaseBytes.learn).toBe(gpuParts.filter((p) => p.phase === 'learn').reduce((a, p) => a + p.allocatedBytes, 0));
      const phases = Object.values(plan.phaseBytes);
      expect(plan.gpuBytes).toBeGreaterThanOrEqual(plan.residentBytes + Math.max(...phases));
      expect(plan.gpuBytes).toBeLessThanOrEqual(plan.residentBytes + phases.reduce((a, b) => a + b, 0));
      for (const p of plan.parts) expect(p.allocatedBytes).toBeGreaterThanOrEqual(p.bytes);
      // host: SparseGPT's Hessians of one block in f64 (three [768, 768], one [3072, 3072])
      expect(part(plan, 'hostHessians').bytes).toBe(8 * (3 * (C * C + C) + F * F + F));
      expect(part(plan, 'hostResults').bytes).toBe(4 * 5 * masked);
      expect(plan.hostBytes).toBe(Math.max(plan.hostPhaseBytes.load, plan.hostPhaseBytes.baselines));
    });

  it("the bundled tiny models' plans are small and fit the default budget", () => {
    const json = JSON.parse(readFileSync(new URL('../../public/checkpoints/tiny-gpt/config.json', import.meta.url), 'utf8'));
    const tiny = parseConfig(json);
    expect(tiny).toEqual(TINY_GPT);
    const plan = checkMemoryPlan(BIG, tiny, { batch: 8 });
    // a few MB: weights, learning state, a step at batch 8 and evaluation forwards of 32 windows × 128
    expect(plan.gpuBytes).toBeLessThan(DEFAULT_MEMORY_BUDGET_BYTES / 10);
    expect(plan.residentBytes).toBeLessThan(8e6);
    expect(plan.hostBytes).toBeLessThan(16e6);
    expect(part(plan, 'weights').bytes).toBe(4 * (256 * 64 + 128 * 64 + 4 * (12 * 64 * 64 + 13 * 64) + 2 * 64));
    expect(checkMemoryPlan(BIG, TINY_VIT, { batch: 8 }).gpuBytes).toBeLessThan(DEFAULT_MEMORY_BUDGET_BYTES / 10);
  });

  it('MLP width from n_inner, an untied lm_head counted, one-shot methods hold no learning state', () => {
    expect(gptInnerSize(GPT2_SMALL)).toBe(3072);
    const narrow: GptConfig = { ...GPT2_SMALL, nInner: 1000 };
    expect(gptInnerSize(narrow)).toBe(1000);
    const N = 1024;
    const diff = part(memoryPlan(GPT2_SMALL, { batch: 1 }), 'activations').bytes - part(memoryPlan(narrow, { batch: 1 }), 'activations').bytes;
    expect(diff).toBe(4 * 2 * L * N * (3072 - 1000));
    const untied = memoryPlan({ ...GPT2_SMALL, tieWordEmbeddings: false }, { batch: 1 });
    expect(untied.parameters).toBe(124_439_808 + V * C);
    const oneShot = memoryPlan(GPT2_SMALL, { batch: 1, method: 'sparsegpt' });
    expect(oneShot.parts.map((p) => p.key)).not.toContain('learningState');
    expect(oneShot.phaseBytes.learn).toBe(0);
    expect(oneShot.residentBytes).toBe(part(oneShot, 'weights').allocatedBytes);
  });

  it('samples per step multiply the per-sample parts; 4:8 has 70 candidates per group of 8', () => {
    const one = memoryPlan(TINY_GPT, { batch: 2 });
    const two = memoryPlan(TINY_GPT, { batch: 2, samplesPerStep: 2 });
    for (const k of ['attention', 'activations', 'backward', 'lmHead']) expect(part(two, k).bytes).toBe(2 * part(one, k).bytes);
    const masked = one.maskedWeights;
    // a second sample's y, soft mask, W⊙m, ∂L/∂(W⊙m), and the averaged gradient
    expect(part(two, 'sampledMasks').bytes - part(one, 'sampledMasks').bytes).toBe((6 + 12) * masked + 6 * masked);
    expect(part(memoryPlan(TINY_GPT, { batch: 1, n: 4, m: 8 }), 'learningState').bytes).toBe(((4 * 4 * 70) / 8) * masked);
  });

  it('bad options name what is wrong', () => {
    expect(() => memoryPlan(TINY_GPT, { batch: 0 })).toThrow(/batch must be an integer in 1\.\./);
    expect(() => memoryPlan(TINY_GPT, { batch: 1, context: 129 })).toThrow(/context must be an integer in 1\.\.128/);
    expect(() => memoryPlan(TINY_GPT, { batch: 1, samplesPerStep: 0 })).toThrow(/samplesPerStep/);
    expect(() => memoryPlan(TINY_GPT, { batch: 1, n: 4, m: 4 })).toThrow(/nmPattern/);
    expect(() => checkMemoryPlan(BIG, TINY_GPT, { batch: 1 }, 0)).toThrow(/memory budget must be a positive number/);
  });

  it('the table: one row per part with bytes, allocated and what it scales with; totals', () => {
    const plan = memoryPlan(TINY_GPT, { batch: 8 });
    const t = memoryPlanTable(plan);
    expect(t.rows).toHaveLength(plan.parts.length);
    const row = (key: string) => t.rows[plan.parts.findIndex((p) => p.key === key)];
    expect(row('weights')[4]).toBe('—');
    expect(row('activations')[4]).toBe('batch × context × samples');
    expect(row('evalForward')[4]).toBe('eval batch × context');
    expect(t.totals[0]).toMatch(/^GPU total /);
    expect(formatMemoryPlan(plan).split('\n')).toHaveLength(2 + plan.parts.length + t.totals.length);
  });
});

describe('checkMemoryPlan', () => {
  const caughtBudget = (f: () => void): MemoryBudgetError => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(MemoryBudgetError);
      return e as MemoryBudgetError;
    }
    throw new Error('expected a MemoryBudgetError');
  };

  it('GPT-2 small in 2 GB: weights and learning state alone exceed it, and the batch does not help', () => {
    const e = caughtBudget(() => checkMemoryPlan(BIG, GPT2_SMALL, { batch: 8 }, 2e9));
    expect(e.reason).toBe('fixed');
    expect(e.largestBatch).toBe(0);
    expect(e.part).toMatch(/^learning state/);
    expect(e.message).toMatch(/before any batch/);
    expect(e.message).toMatch(/a smaller batch does not help/);
    expect(e.message).toContain('2.00 GB');
  });

  it('GPT-2 small in 6 GiB: batch 1 does not fit; the message names the longest context that does and the setting', () => {
    const budget = 6 * 2 ** 30;
    const e = caughtBudget(() => checkMemoryPlan(BIG, GPT2_SMALL, { batch: 8, evalBatch: 1 }, budget));
    expect(e.reason).toBe('not-batch');
    expect(e.message).toMatch(/even at batch 1/);
    const ctx = Number(/a context of at most (\d+) tokens fits/.exec(e.message)?.[1]);
    expect(ctx).toBeGreaterThan(0);
    expect(ctx).toBeLessThan(1024);
    expect(memoryPlan(GPT2_SMALL, { batch: 1, evalBatch: 1, context: ctx }).gpuBytes).toBeLessThanOrEqual(budget);
    expect(memoryPlan(GPT2_SMALL, { batch: 1, evalBatch: 1, context: ctx + 1 }).gpuBytes).toBeGreaterThan(budget);
    expect(largestContextWithin(GPT2_SMALL, { batch: 1, evalBatch: 1 }, budget)).toBe(ctx);
    expect(e.message).toContain('the "GPU memory (GiB)" setting, --memory-budget in the CLI');
  });

  it('GPT-2 small learns at batch 1 × 1024 in 8 GiB with the evaluation batch chosen to fit (not the default 32)', () => {
    const budget = 8 * 2 ** 30;
    const options = { batch: 1 };
    expect(memoryPlan(GPT2_SMALL, options).gpuBytes).toBeGreaterThan(budget); // 32 windows at once do not fit
    const eb = evalBatchWithin(GPT2_SMALL, options, budget);
    expect(eb).toBeGreaterThanOrEqual(1);
    expect(eb).toBeLessThan(32);
    expect(memoryPlan(GPT2_SMALL, { ...options, evalBatch: eb }).gpuBytes).toBeLessThanOrEqual(budget);
    expect(memoryPlan(GPT2_SMALL, { ...options, evalBatch: eb + 1 }).gpuBytes).toBeGreaterThan(budget);
    expect(() => checkMemoryPlan(BIG, GPT2_SMALL, { ...options, evalBatch: eb }, budget)).not.toThrow();
    // the bundled tiny model keeps the default
    expect(evalBatchWithin(TINY_GPT, { batch: 8 }, DEFAULT_MEMORY_BUDGET_BYTES)).toBe(32);
    // nothing fits: 1, and checkMemoryPlan explains
    expect(evalBatchWithin(GPT2_SMALL, options, 2 ** 30)).toBe(1);
  });

  it("the evaluation batch also keeps every buffer within the device's limits (GPT-2 small at 1024 on a 1 GiB maxBufferSize)", () => {
    const oneGiB = { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 30 };
    const options = { batch: 1, context: 1024 };
    // 32 windows: the attention probabilities [32, 12, 1024, 1024] are 1.5 GiB
    expect(() => checkModelFits(oneGiB, GPT2_SMALL, 1, 1024)).toThrow(LimitError);
    const eb = evalBatchWithin(GPT2_SMALL, options, 16 * 2 ** 30, oneGiB);
    expect(eb).toBeLessThan(32);
    expect(() => checkMemoryPlan(oneGiB, GPT2_SMALL, { ...options, evalBatch: eb }, 16 * 2 ** 30)).not.toThrow();
    expect(() => checkModelFits(oneGiB, GPT2_SMALL, 1, 1024, { evalBatch: eb + 1 })).toThrow(LimitError);
  });

  it('too large a batch: names the biggest part and the largest batch that fits', () => {
    const budget = 2 ** 30;
    const e = caughtBudget(() => checkMemoryPlan(BIG, TINY_GPT, { batch: 4096 }, budget));
    expect(e.reason).toBe('batch');
    expect(e.part).toBe(e.plan.parts.reduce((a, p) => (p.where === 'gpu' && p.allocatedBytes > a.allocatedBytes ? p : a)).label);
    expect(e.message).toContain(`the biggest part is the ${e.part}`);
    expect(e.message).toContain(`use a batch of at most ${e.largestBatch}`);
    expect(e.largestBatch).toBeGreaterThan(8);
    expect(memoryPlan(TINY_GPT, { batch: e.largestBatch }).gpuBytes).toBeLessThanOrEqual(budget);
    expect(memoryPlan(TINY_GPT, { batch: e.largestBatch + 1 }).gpuBytes).toBeGreaterThan(budget);
    expect(() => checkMemoryPlan(BIG, TINY_GPT, { batch: e.largestBatch }, budget)).not.toThrow();
    expect(largestBatchWithin(TINY_GPT, { batch: 4096 }, budget)).toBe(e.largestBatch);
  });

  it("a buffer over the device's per-buffer limits is checkModelFits's LimitError, before the budget", () => {
    expect(() => checkMemoryPlan(DEFAULT_LIMITS, GPT2_SMALL, { batch: 8 }, 2 ** 50)).toThrow(LimitError);
  });
});
