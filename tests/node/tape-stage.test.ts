// Forwards without gradients (Tape { grad: false } and Tape.stage): the same numbers as a forward on
// a gradient tape, and the memory of one stage instead of the whole forward (what an evaluation or a
// calibration pass holds does not grow with the number of blocks).
import { describe, expect, it } from 'vitest';
import { add, mul } from '../../src/autograd/fn/elementwise';
import { reshape } from '../../src/autograd/fn/shape';
import { Tape } from '../../src/autograd/tape';
import { constant, param } from '../../src/autograd/tensor';
import { CpuEngine } from '../../src/backend/cpu';
import type { GptConfig, VitConfig } from '../../src/models/config';
import { Gpt, gptInitialWeights } from '../../src/models/gpt';
import { Vit, vitInitialWeights } from '../../src/models/vit';
import type { LabModel, ModelInput } from '../../src/models/model';
import { randn, testSeed } from '../helpers/random';
import { MICRO_GPT, MICRO_VIT, microImages, microText } from '../helpers/tiny-models';

const s = testSeed();

/** Live tensors after a forward (before dispose) and the loss, on a gradient tape or not. */
async function forwardOn(model: LabModel, input: ModelInput, grad: boolean): Promise<{ live: number; loss: number; logits: number[] | null }> {
  const e = model.engine;
  const tape = new Tape(e, { grad });
  const r = model.forward(tape, input);
  const live = e.liveTensors;
  const loss = (await e.read(r.loss.raw))[0];
  const logits = r.logits ? [...(await e.read(r.logits.raw))] : null;
  tape.dispose();
  return { live, loss, logits };
}

const gpt = (e: CpuEngine, layers: number) => {
  const c: GptConfig = { ...MICRO_GPT, nLayer: layers };
  return new Gpt(e, c, gptInitialWeights(c, s));
};
const vit = (e: CpuEngine, layers: number) => {
  const c: VitConfig = { ...MICRO_VIT, numLayers: layers };
  return new Vit(e, c, vitInitialWeights(c, s));
};

describe('forwards without gradients (Tape.stage)', () => {
  for (const [kind, build, input] of [
    ['GPT-2', gpt, microText(s)],
    ['ViT', vit, microImages(s)],
  ] as const)
    it(`${kind}: the same loss as on a gradient tape, bit for bit; the tensors held do not grow with depth`, async () => {
      const e = new CpuEngine(true);
      const held: Record<string, number> = {};
      for (const layers of [2, 5]) {
        const model = build(e, layers);
        const base = e.liveTensors; // the weights
        const g = await forwardOn(model, input, true);
        expect(e.liveTensors, 'the gradient tape freed everything').toBe(base);
        const n = await forwardOn(model, input, false);
        expect(e.liveTensors, 'the evaluation tape freed everything').toBe(base);
        expect(n.loss, `seed ${s}`).toBe(g.loss);
        expect(Number.isFinite(n.loss)).toBe(true);
        expect(n.logits).toEqual(g.logits);
        held[`grad${layers}`] = g.live - base;
        held[`eval${layers}`] = n.live - base;
        model.dispose();
      }
      // a gradient tape keeps every block's activations; a forward without gradients holds the same
      // few tensors whatever the depth (the last stage's output, the head's, the inputs)
      expect(held.grad5).toBeGreaterThan(held.grad2);
      expect(held.eval5).toBe(held.eval2);
      expect(held.eval5).toBeLessThan(held.grad2 / 3);
    });

  it('stage(): frees what the stage made except its output and kept tensors; dies only where the tape owns them', async () => {
    const e = new CpuEngine(true);
    const wv = randn(6, s);
    const xv = randn(6, s + 1);
    const w = constant(e.upload(wv, [6]), 'w'); // not the tape's: never freed by it
    const base = e.liveTensors;
    const tape = new Tape(e, { grad: false });
    const x = tape.constant(e.upload(xv, [6]), 'x');
    let kept = null as ReturnType<typeof add> | null;
    const y = tape.stage(() => {
      const a = mul(tape, x, w);
      kept = add(tape, a, w);
      tape.keep(kept);
      return add(tape, a, a);
    }, [x, w]);
    // alive: w, y and the kept tensor; x (the tape's, dying) and `a` were freed
    expect(x.raw.isDisposed).toBe(true);
    expect(w.raw.isDisposed).toBe(false);
    expect(kept!.raw.isDisposed).toBe(false);
    expect(e.liveTensors - base).toBe(2);
    const got = [...(await e.read(y.raw))];
    got.forEach((v, i) => expect(v).toBeCloseTo(2 * xv[i] * wv[i], 12));
    tape.dispose();
    expect(y.raw.isDisposed).toBe(true);
    expect(kept!.raw.isDisposed).toBe(false); // kept: the caller frees it
    kept!.raw.dispose();
    expect(e.liveTensors).toBe(base);
  });

  it('stage() refuses a view as its output (its base would be freed under it); backward() refuses a tape without gradients', () => {
    const e = new CpuEngine(true);
    const tape = new Tape(e, { grad: false });
    const x = tape.constant(e.upload(randn(6, s), [6]));
    expect(() => tape.stage(() => reshape(tape, add(tape, x, x), [2, 3]))).toThrow(/returned a view/);
    const p = param(e.upload(randn(6, s + 2), [6]));
    const loss = add(tape, p, p);
    expect(loss.requiresGrad).toBe(false); // nothing is recorded
    expect(() => tape.backward(loss)).toThrow(/without gradients/);
    tape.dispose();
    p.raw.dispose();
    // on a gradient tape, stage() just runs the function (everything stays for the backward)
    const g = new Tape(e);
    const q = param(e.upload(randn(6, s + 3), [6]));
    const y = g.stage(() => mul(g, q, q), [q]);
    expect(q.raw.isDisposed).toBe(false);
    expect(y.requiresGrad).toBe(true);
    g.dispose();
    q.raw.dispose();
    expect(e.liveTensors).toBe(0);
  });
});
