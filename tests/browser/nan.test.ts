// A NaN injected into the model's input path or weights (not the mask logits) on the GPU: the run
// pauses, the message names the step and where the NaN showed up, and findNonFiniteWeights names
// the weight it came from.
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type ExperimentConfig } from '../../src/lab/config';
import { findNonFiniteWeights } from '../../src/lab/recovery';
import { fixedEngine, LabRunner } from '../../src/lab/runner';
import type { LabSession, SessionEvent } from '../../src/lab/session';
import { getEngine } from '../helpers/gpu';
import { microAssets } from '../helpers/micro-assets';
import { testSeed } from '../helpers/random';

const base: ExperimentConfig = {
  ...DEFAULT_CONFIG,
  model: 'micro-gpt',
  batch: 2,
  steps: 4,
  evalEvery: 2,
  calibBatches: 2,
  evalWindows: 2,
  samplesPerStep: 1,
  prior: 'magnitude',
};

const g = await getEngine();

async function poisonWeight(s: LabSession, name: string, index: number, value: number): Promise<void> {
  const t = s.model!.weights.get(name);
  if (!t) throw new Error(`no weight ${name}`);
  const a = (await s.engine.read(t.raw)) as Float32Array;
  a[index] = value;
  s.engine.write(t.raw, a);
}

function pauseMessage(events: SessionEvent[]): string {
  const err = events.find((x): x is Extract<SessionEvent, { type: 'error' }> => x.type === 'error');
  if (!err) throw new Error('the session reported no error');
  return err.message;
}

describe('NaN/Inf on the GPU', () => {
  // rows 0..15 are the micro text's alphabet; the embedding is tied to the output layer, so a NaN in any
  // row reaches every logit row through the softmax even when its token is not in the batch
  const seed = testSeed();
  const cases: [string, string, number, number][] = [
    ['input embedding (wte row of a token in the batch)', 'transformer.wte.weight', (seed % 16) * 16 + 3, Number.NaN],
    ['a mid-network MLP weight', 'transformer.h.1.mlp.c_fc.weight', seed % (16 * 64), Number.NaN],
    ['+Inf in an attention weight', 'transformer.h.0.attn.c_attn.weight', seed % (16 * 48), Number.POSITIVE_INFINITY],
  ];
  for (const [what, name, index, value] of cases) {
    it.runIf(g)(`${what}: the run pauses at step 0 naming where it appeared; the weight is found (seed ${seed})`, async () => {
      const events: SessionEvent[] = [];
      const r = new LabRunner({ engine: fixedEngine(g!), assets: microAssets() });
      r.subscribe((ev) => events.push(ev));
      await r.load(base);
      const s = r.session!;
      await poisonWeight(s, name, index, value);
      await r.runToEnd();
      expect(r.state).toBe('paused');
      const msg = pauseMessage(events);
      // the first metrics row (step 0) already carries the non-finite loss or logits
      // …and names the frozen weight that holds it
      expect(msg).toMatch(/^The run paused: a NaN or Inf appeared at step 0 in the loss, from the model weight /);
      expect(msg).toContain(`${name} (element ${index} is ${value})`);
      const stateEvent = events.find((x) => x.type === 'state' && x.state === 'paused');
      expect(stateEvent && stateEvent.type === 'state' && stateEvent.message).toMatch(/^NaN\/Inf at step 0/);
      expect(s.step).toBeLessThanOrEqual(base.evalEvery); // it stopped at the first metrics read, not at the end
      const bad = await findNonFiniteWeights(s.model!);
      expect(bad).toEqual([{ name, index, value }]);
      s.dispose();
      expect(g!.takeErrors()).toEqual([]);
    });
  }
});
