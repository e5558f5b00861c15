// The memory budget's batch suggestion, for budgets and options drawn from testSeed(): the largest
// batch that fits is the largest — its plan fits and batch + 1 does not. Each budget is drawn between
// the plan at batch 1 and at the requested batch, so some batch fits and the requested one does not
// (by construction). Deterministic checks of the plan's numbers: limits.test.ts.
import { describe, expect, it } from 'vitest';
import { checkMemoryPlan, largestBatchWithin, MemoryBudgetError } from '../../src/lab/limits';
import { memoryPlan, type MemoryPlanOptions } from '../../src/lab/memory-plan';
import type { ModelConfig } from '../../src/models/config';
import { TINY_GPT, TINY_VIT } from '../../src/models/presets';
import { GPT2_SMALL, VIT_B16 } from '../helpers/hub-configs';
import { randu, testSeed } from '../helpers/random';

const BIG = { maxBufferSize: 2 ** 50, maxStorageBufferBindingSize: 2 ** 50 };
const seed = testSeed();
const CASES = 12;

interface Case {
  name: string;
  model: ModelConfig;
  options: MemoryPlanOptions;
  budget: number;
}

/** Draws a model, options and a budget that batch 1 fits and the requested batch does not. */
function draw(k: number): Case {
  const u = randu(16, (seed + 7919 * k) >>> 0, 0, 1);
  const pick = <T>(xs: T[], x: number) => xs[Math.min(xs.length - 1, Math.floor(x * xs.length))];
  const models: [string, ModelConfig][] = [
    ['tiny-gpt', TINY_GPT],
    ['tiny-vit', TINY_VIT],
    ['gpt2-small', GPT2_SMALL],
    ['vit-b16', VIT_B16],
    ['gpt2-narrow-untied', { ...GPT2_SMALL, nLayer: 2, nInner: 1024, tieWordEmbeddings: false }],
  ];
  const [name, model] = pick(models, u[0]);
  const [n, m] = pick(
    [
      [2, 4],
      [1, 4],
      [4, 8],
    ],
    u[1],
  );
  const options: MemoryPlanOptions = {
    batch: 2 + Math.floor(u[2] * 600),
    context: model.kind === 'gpt2' ? 1 + Math.floor(u[3] * (model === TINY_GPT ? 128 : 256)) : undefined,
    n,
    m,
    method: pick(['maskllm', 'maskllm', 'sparsegpt'] as const, u[4]),
    samplesPerStep: 1 + Math.floor(u[5] * 3),
    evalBatch: 1 + Math.floor(u[6] * 32),
  };
  const lo = memoryPlan(model, { ...options, batch: 1 }).gpuBytes;
  let hi = memoryPlan(model, options).gpuBytes;
  // the requested batch must not fit: grow it until its plan exceeds batch 1's
  while (hi <= lo) {
    options.batch *= 2;
    hi = memoryPlan(model, options).gpuBytes;
  }
  return { name, model, options, budget: Math.floor(lo + u[7] * (hi - 1 - lo)) };
}

describe(`memory budget: the largest batch that fits (seed ${seed})`, () => {
  for (let k = 0; k < CASES; k++) {
    it(`case ${k}`, () => {
      const c = draw(k);
      const what = `${c.name} ${JSON.stringify(c.options)} budget ${c.budget} seed ${seed}`;
      const plan = (batch: number) => memoryPlan(c.model, { ...c.options, batch });
      expect(plan(1).gpuBytes, what).toBeLessThanOrEqual(c.budget);
      expect(plan(c.options.batch).gpuBytes, what).toBeGreaterThan(c.budget);
      let err: unknown = null;
      try {
        checkMemoryPlan(BIG, c.model, c.options, c.budget);
      } catch (e) {
        err = e;
      }
      expect(err, what).toBeInstanceOf(MemoryBudgetError);
      const e = err as MemoryBudgetError;
      expect(e.reason, what).toBe('batch');
      const b = e.largestBatch;
      expect(b, what).toBeGreaterThanOrEqual(1);
      expect(b, what).toBeLessThan(c.options.batch);
      expect(plan(b).gpuBytes, what).toBeLessThanOrEqual(c.budget);
      expect(plan(b + 1).gpuBytes, what).toBeGreaterThan(c.budget);
      expect(e.message, what).toContain(`use a batch of at most ${b}.`);
      expect(e.message, what).toContain(e.part);
      // the suggestion passes the same check; largestBatchWithin agrees
      expect(() => checkMemoryPlan(BIG, c.model, { ...c.options, batch: b }, c.budget), what).not.toThrow();
      expect(largestBatchWithin(c.model, c.options, c.budget), what).toBe(b);
      // the total is the resident part plus at least the largest phase and at most all phases
      const p = plan(b);
      const phases = Object.values(p.phaseBytes);
      expect(p.gpuBytes, what).toBeGreaterThanOrEqual(p.residentBytes + Math.max(...phases));
      expect(p.gpuBytes, what).toBeLessThanOrEqual(p.residentBytes + phases.reduce((x, y) => x + y, 0));
    });
  }
});
