import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import { adamwStep, type AdamWHyper } from '../../src/ops/adamw';
import { clipScale, globalSumSquares } from '../../src/ops/reduce';
import { expectClose } from '../helpers/close';
import { getEngine } from '../helpers/gpu';
import { randn, testSeed } from '../helpers/random';

/** Independent reference from torch.optim.AdamW (_single_tensor_adamw), f64, per element. */
function torchAdamW(p0: ArrayLike<number>, grads: ArrayLike<number>[], scales: number[], h: Omit<AdamWHyper, 'step'>) {
  const p = Float64Array.from(p0),
    m = new Float64Array(p.length),
    v = new Float64Array(p.length);
  grads.forEach((gr, k) => {
    const bc1 = 1 - Math.pow(h.beta1, k + 1),
      bc2 = 1 - Math.pow(h.beta2, k + 1);
    for (let i = 0; i < p.length; i++) {
      const g = gr[i] * scales[k];
      p[i] *= 1 - h.lr * h.weightDecay; // decoupled decay first
      m[i] += (g - m[i]) * (1 - h.beta1); // exp_avg.lerp_(grad, 1 − β1)
      v[i] = v[i] * h.beta2 + (1 - h.beta2) * g * g;
      p[i] -= (h.lr / bc1) * (m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + h.eps));
    }
  });
  return { p, m, v };
}

describe('adamw.wgsl vs CPU twin vs torch reference', async () => {
  const g = await getEngine();
  const c = new CpuEngine();
  const seed = testSeed();
  const hyper = { lr: 0.05, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };

  it.runIf(g)('3 steps with weight decay and a device-side gradScale', async () => {
    for (const n of [1, 67, 1000]) {
      const p0 = randn(n, seed + n);
      const grads = [randn(n, seed + 1), randn(n, seed + 2, 0.1), randn(n, seed + 3, 3)];
      const scales = [1, 0.25, 0.5];
      const pg = g!.upload(p0, [n]),
        mg = g!.zeros([n]),
        vg = g!.zeros([n]);
      const pc = c.upload(p0, [n]),
        mc = c.zeros([n]),
        vc = c.zeros([n]);
      grads.forEach((gr, k) => {
        const h = { ...hyper, step: k + 1 };
        // step 1 runs the unscaled entry point, steps 2-3 the scaled one
        adamwStep(g!, pg, g!.upload(gr, [n]), mg, vg, h, k === 0 ? undefined : g!.upload([scales[k]], [1]));
        adamwStep(c, pc, c.upload(gr, [n]), mc, vc, h, k === 0 ? undefined : c.upload([scales[k]], [1]));
      });
      const ref = torchAdamW(p0, grads, scales, hyper);
      const [pGot, mGot, vGot] = [await g!.read(pg), await g!.read(mg), await g!.read(vg)];
      expectClose(pGot, pc.f32, 1e-5, `param vs twin n=${n} seed=${seed}`);
      expectClose(mGot, mc.f32, 1e-5, `m vs twin n=${n}`);
      expectClose(vGot, vc.f32, 1e-5, `v vs twin n=${n}`);
      expectClose(pGot, ref.p, 1e-5, `param vs torch reference n=${n}`);
      expectClose(vGot, ref.v, 1e-5, `v vs torch reference n=${n}`);
      expectClose(
        Array.from(pGot, (x, i) => x - p0[i]),
        Array.from(ref.p, (x, i) => x - p0[i]),
        1e-5,
        `update vs torch n=${n}`,
      );
    }
    expect(g!.takeErrors()).toEqual([]);
  });

  it.runIf(g)('global-norm clipping on the device: globalSumSquares → clipScale → adamwStep', async () => {
    const sizes = [5, 130, 1];
    const grads = sizes.map((n, k) => randn(n, seed + 50 + k, 4));
    const p0s = sizes.map((n, k) => randn(n, seed + 60 + k));
    let sq = 0;
    for (const gr of grads) for (const x of gr) sq += x * x;
    const clip = Math.min(1, 1.5 / (Math.sqrt(sq) + 1e-6));
    const gg = grads.map((gr, k) => g!.upload(gr, [sizes[k]]));
    const scale = clipScale(g!, globalSumSquares(g!, gg), 1.5);
    const reads = g!.stats.readbacks;
    const ps = p0s.map((p0, k) => {
      const p = g!.upload(p0, [sizes[k]]);
      adamwStep(g!, p, gg[k], g!.zeros([sizes[k]]), g!.zeros([sizes[k]]), { ...hyper, step: 1 }, scale);
      return p;
    });
    expect(g!.stats.readbacks, 'clipping needs no readback').toBe(reads);
    expectClose(await g!.read(scale), [clip], 1e-6, 'clip scale');
    for (let k = 0; k < sizes.length; k++) {
      const ref = torchAdamW(p0s[k], [grads[k]], [clip], hyper);
      expectClose(await g!.read(ps[k]), ref.p, 1e-5, `clipped step, tensor ${k} seed=${seed}`);
    }
    expect(g!.takeErrors()).toEqual([]);
  });
});
