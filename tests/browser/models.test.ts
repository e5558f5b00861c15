import { describe, expect, it } from 'vitest';
import { Tape } from '../../src/autograd/tape';
import { CpuEngine } from '../../src/backend/cpu';
import type { Engine } from '../../src/backend/engine';
import { Gpt, gptInitialWeights } from '../../src/models/gpt';
import type { LabModel, ModelInput } from '../../src/models/model';
import { Vit, vitInitialWeights } from '../../src/models/vit';
import { expectClose } from '../helpers/close';
import { getEngine } from '../helpers/gpu';
import { testSeed } from '../helpers/random';
import { MICRO_GPT, MICRO_VIT, microImages, microText } from '../helpers/tiny-models';

const maxAbs = (a: Float32Array) => a.reduce((m, x) => (Number.isNaN(x) ? Infinity : Math.max(m, Math.abs(x))), 0);

async function lossAndGrads(model: LabModel, input: ModelInput) {
  const tape = new Tape(model.engine);
  const { loss } = model.forward(tape, input);
  tape.backward(loss);
  const logitsTape = new Tape(model.engine);
  const logits = model.logits(logitsTape, input);
  const out = { loss: (await model.engine.read(loss.raw))[0], logits: await model.engine.read(logits.raw), grads: new Map<string, Float32Array>() };
  for (const [n, t] of model.weights) out.grads.set(n, (await model.engine.read(t.grad!)) as Float32Array);
  logitsTape.dispose();
  tape.dispose();
  return out;
}

describe('whole models: GPU forward and backward match the CPU engine', async () => {
  const g = await getEngine();
  const seed = testSeed();
  const cases: [string, (e: Engine) => LabModel, ModelInput][] = [
    ['GPT-2', (e) => new Gpt(e, MICRO_GPT, gptInitialWeights(MICRO_GPT, seed), true), microText(seed)],
    ['ViT', (e) => new Vit(e, MICRO_VIT, vitInitialWeights(MICRO_VIT, seed), true), microImages(seed)],
  ];
  it.runIf(g).each(cases)('%s', async (_name, make, input) => {
    const cpu = await lossAndGrads(make(new CpuEngine()), input);
    const live = g!.liveTensors;
    const model = make(g!);
    const gpu = await lossAndGrads(model, input);
    expect(Math.abs(gpu.loss - cpu.loss), `loss gpu ${gpu.loss} cpu ${cpu.loss} seed ${seed}`).toBeLessThan(1e-5 * Math.max(1, cpu.loss));
    expectClose(gpu.logits, cpu.logits, 1e-5, 'logits');
    for (const [n, v] of cpu.grads) {
      const norm = Math.hypot(...v);
      // The key bias has an exactly-zero gradient (softmax ignores a shift shared by all keys):
      // there only rounding noise is left, so compare absolutely.
      if (norm < 1e-6) expect(maxAbs(gpu.grads.get(n)!), `grad ${n} should be ~0`).toBeLessThan(1e-5);
      else expectClose(gpu.grads.get(n)!, v, 1e-4, `grad ${n} seed ${seed}`);
    }
    for (const t of model.weights.values()) t.zeroGrad();
    model.dispose();
    expect(g!.liveTensors, 'every GPU tensor of the step was released').toBe(live);
    expect(g!.takeErrors()).toEqual([]);
  });
});
