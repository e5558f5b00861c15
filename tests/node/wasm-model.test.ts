// The whole lab on WasmEngine: a tiny GPT's forward + backward and a MaskLearner's steps agree with
// the CPU engine from the same weights (WebAssembly matmul, every other op its CPU twin on the
// WebAssembly memory), and a repeated learning step creates no arena blocks once warm.
import { describe, expect, it } from 'vitest';
import { Tape } from '../../src/autograd/tape';
import { CpuEngine } from '../../src/backend/cpu';
import type { Engine } from '../../src/backend/engine';
import { WasmEngine } from '../../src/backend/wasm';
import type { GptConfig } from '../../src/models/config';
import { Gpt, gptInitialWeights } from '../../src/models/gpt';
import { MaskLearner } from '../../src/sparsity/learner';
import { magnitudeMask } from '../../src/sparsity/priors/magnitude';
import { PRESETS } from '../../src/sparsity/schedule';
import { expectClose } from '../helpers/close';
import { testSeed } from '../helpers/random';
import { microText } from '../helpers/tiny-models';

// widths that divide neither the 4×8 micro-kernel nor each other; 2 blocks, 4 heads of 10
const GPT: GptConfig = { kind: 'gpt2', vocabSize: 37, nPositions: 19, nEmbd: 40, nLayer: 2, nHead: 4, layerNormEps: 1e-5, tieWordEmbeddings: true };

describe('a tiny GPT on WasmEngine vs CpuEngine', async () => {
  const seed = testSeed();
  const wasm = await WasmEngine.create({ variant: 'simd' });

  it(`forward + backward: the loss and every weight gradient within 1e-5 (seed ${seed})`, async () => {
    const init = gptInitialWeights(GPT, seed);
    // larger weights than GPT-2's init, so attention and GELU leave their near-linear range
    for (const [k, v] of init)
      if (!k.includes('ln_'))
        init.set(
          k,
          v.map((x) => x * 5),
        );
    const input = microText(seed + 1, 3, 17, GPT.vocabSize);
    const run = async (e: Engine) => {
      const model = new Gpt(e, GPT, init, true);
      const tape = new Tape(e);
      const { loss } = model.forward(tape, input);
      tape.backward(loss);
      const grads = new Map<string, Float32Array>();
      for (const [name, w] of model.weights) grads.set(name, Float32Array.from(await e.read(w.grad!)));
      return { loss: (await e.read(loss.raw))[0], grads };
    };
    const want = await run(new CpuEngine());
    const got = await run(wasm);
    expect(Math.abs(got.loss - want.loss) / Math.abs(want.loss), `loss ${got.loss} vs ${want.loss}`).toBeLessThanOrEqual(1e-5);
    expect([...got.grads.keys()]).toEqual([...want.grads.keys()]);
    for (const [name, g] of want.grads) expectClose(got.grads.get(name)!, g, 1e-5, `${name} seed=${seed}`);
  });

  it(`MaskLearner: the step metrics agree, and a warm step creates no arena blocks (seed ${seed})`, async () => {
    const run = async (e: Engine) => {
      const model = new Gpt(e, GPT, gptInitialWeights(GPT, seed));
      const prior = new Map<string, Uint8Array>();
      for (const s of model.maskSites) prior.set(s.name, magnitudeMask(model.weights.get(s.name)!.raw.f32, s.shape, s.layout, 2, 4));
      const learner = new MaskLearner(model, { n: 2, m: 4, hyper: { ...PRESETS.tunedSmall, steps: 6 }, seed, prior }, 3);
      const rows = [];
      const blocks: number[] = [];
      for (let s = 0; s < 6; s++) {
        const r = await learner.learnStep([microText(seed + 10 + s, 2, 17, GPT.vocabSize)]);
        if (r) rows.push(...r);
        if (e instanceof WasmEngine) blocks.push(e.arena.blocksCreated);
      }
      learner.dispose();
      return { rows, blocks };
    };
    const want = await run(new CpuEngine());
    const got = await run(wasm);
    expect(got.rows.length).toBe(6);
    for (let i = 0; i < 6; i++) {
      // the first step's loss comes before any update; later ones follow the f32 updates of both engines
      expect(Math.abs(got.rows[i].loss - want.rows[i].loss) / Math.abs(want.rows[i].loss), `step ${i} loss`).toBeLessThanOrEqual(i === 0 ? 1e-5 : 1e-4);
      expectClose([got.rows[i].meanMaskL1, got.rows[i].meanMaxProb], [want.rows[i].meanMaskL1, want.rows[i].meanMaxProb], 1e-4, `step ${i} metrics`);
    }
    // steps 3–5 (the second metrics readback, at step 5, too) reuse every block of the first three
    expect(got.blocks.slice(3)).toEqual(new Array(3).fill(got.blocks[2]));
  });
});
