// One pre-LN attention block, y = x + attention(qkv(layerNorm(x))), differentiated on the GPU and on
// the CPU twins; the gradients of x, gamma, beta (and the qkv weights) must agree. The scalar is
// Σ y ⊙ r for a fixed random r (a mul by a constant, backward seeded with ones).
import { describe, expect, it } from 'vitest';
import { attention } from '../../src/autograd/fn/attention';
import { add, mul } from '../../src/autograd/fn/elementwise';
import { linear } from '../../src/autograd/fn/linear';
import { layerNorm } from '../../src/autograd/fn/norm';
import { Tape } from '../../src/autograd/tape';
import { param, type Tensor } from '../../src/autograd/tensor';
import { CpuEngine } from '../../src/backend/cpu';
import type { Engine } from '../../src/backend/engine';
import { expectClose } from '../helpers/close';
import { getEngine } from '../helpers/gpu';
import { randn, testSeed } from '../helpers/random';

// B=2, T=5, C=6 (not a multiple of 4), 3 heads of D=2, causal: small enough for SwiftShader.
const B = 2,
  T = 5,
  C = 6,
  HEADS = 3;

type QkvPath = 'linear' | 'matmul-free';

interface Inputs {
  x: Float32Array;
  gamma: Float32Array;
  beta: Float32Array;
  w: Float32Array; // [C, 3C] (GPT-2 Conv1D layout) for 'linear', [3C] scale for 'matmul-free'
  bias: Float32Array;
  r: Float32Array;
}

async function blockGrads(e: Engine, path: QkvPath, inp: Inputs): Promise<Record<string, ArrayLike<number>>> {
  const x = param(e.upload(inp.x, [B, T, C]), 'x');
  const gamma = param(e.upload(inp.gamma, [C]), 'gamma');
  const beta = param(e.upload(inp.beta, [C]), 'beta');
  const w = param(e.upload(inp.w, path === 'linear' ? [C, 3 * C] : [3 * C]), 'w');
  const tape = new Tape(e);
  const ln = layerNorm(tape, x, gamma, beta, 1e-5);
  let qkv: Tensor;
  if (path === 'linear') {
    qkv = linear(tape, ln, w, tape.constant(e.upload(inp.bias, [3 * C])), 'in_out');
  } else {
    // Tile ln three times by modulo broadcasting (zeros [B,T,3C] + ln), then scale columns by w [3C].
    const tiled = add(tape, tape.constant(e.zeros([B, T, 3 * C])), ln);
    qkv = mul(tape, tiled, w);
  }
  const a = attention(tape, qkv, { heads: HEADS, causal: true });
  const y = mul(tape, add(tape, a, x), tape.constant(e.upload(inp.r, [B, T, C])));
  tape.backward(y);
  const out = {
    dx: await e.read(x.grad!),
    dgamma: await e.read(gamma.grad!),
    dbeta: await e.read(beta.grad!),
    dw: await e.read(w.grad!),
  };
  tape.dispose();
  for (const p of [x, gamma, beta, w]) {
    p.zeroGrad();
    p.raw.dispose();
  }
  return out;
}

describe('pre-LN attention block: GPU gradients vs CPU twins', async () => {
  const g = await getEngine();
  const seed = testSeed();
  const inputs = (path: QkvPath): Inputs => ({
    x: randn(B * T * C, seed, 1.5),
    gamma: randn(C, seed + 1).map((v) => 1 + 0.3 * v),
    beta: randn(C, seed + 2, 0.3),
    w: path === 'linear' ? randn(C * 3 * C, seed + 3, 0.5) : randn(3 * C, seed + 3),
    bias: randn(3 * C, seed + 4, 0.1),
    r: randn(B * T * C, seed + 5),
  });

  for (const path of ['matmul-free', 'linear'] as const) {
    it.runIf(g)(`dx, dgamma, dbeta, dw with qkv from the ${path} path`, async () => {
      const inp = inputs(path);
      const want = await blockGrads(new CpuEngine(), path, inp);
      const live = g!.liveTensors;
      const got = await blockGrads(g!, path, inp);
      for (const k of ['dx', 'dgamma', 'dbeta', 'dw']) expectClose(got[k], want[k], 1e-5, `${k} (${path}) seed=${seed}`);
      expect(g!.liveTensors).toBe(live); // the tape and the test freed everything
      expect(g!.takeErrors()).toEqual([]);
    });
  }
});
