// One-shot N:M baselines on a whole model: magnitude, Wanda and SparseGPT (with or without the
// weight update). Calibration runs block by block: block i's Linears see inputs produced by blocks
// 0…i−1 already pruned (as Wanda's and SparseGPT's reference code do); all Linears of block i are
// calibrated together with block i itself still dense. Scores and SparseGPT's linear algebra run on
// the CPU in f64 (src/sparsity/priors/*), activations come from the GPU forward pass.
import { Tape } from '../autograd/tape';
import { Tensor } from '../autograd/tensor';
import type { LabModel, MaskSite, ModelInput } from '../models/model';
import { HessianAccumulator } from './priors/calibration';
import { magnitudeMask } from './priors/magnitude';
import { sparseGpt } from './priors/sparsegpt';
import { wandaMask } from './priors/wanda';

export type OneShotMethod = 'magnitude' | 'wanda' | 'sparsegpt';

export interface OneShotOptions {
  n: number;
  m: number;
  /** calibration batches (not used by magnitude) */
  calibration: ModelInput[];
  /** SparseGPT only: apply the OBS weight update (the baseline) or not (a mask-only prior) */
  update?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface OneShotResult {
  method: OneShotMethod;
  update: boolean;
  /** 0/1 masks in each weight's own layout, keyed by weight name */
  masks: Map<string, Uint8Array>;
  /** weights to use with the masks (updated by SparseGPT, else the originals) */
  weights: Map<string, Float32Array>;
}

/** The block index of a masked Linear (`…h.3.…` or `…layer.3.…`). */
export function blockOf(name: string): number {
  const m = /\.(?:h|layer)\.(\d+)\./.exec(name);
  if (!m) throw new Error(`cannot tell the block of ${name}`);
  return Number(m[1]);
}

function inDim(s: MaskSite): number {
  return s.layout === 'in_out' ? s.shape[0] : s.shape[1];
}

export async function oneShot(model: LabModel, method: OneShotMethod, opts: OneShotOptions): Promise<OneShotResult> {
  const e = model.engine;
  const update = method === 'sparsegpt' && !!opts.update;
  const masks = new Map<string, Uint8Array>();
  const weights = new Map<string, Float32Array>();
  const original = async (s: MaskSite) => (await e.read(model.weights.get(s.name)!.raw)) as Float32Array;

  if (method === 'magnitude') {
    for (const s of model.maskSites) {
      const w = await original(s);
      masks.set(s.name, magnitudeMask(w, s.shape, s.layout, opts.n, opts.m));
      weights.set(s.name, w);
    }
    return { method, update: false, masks, weights };
  }
  if (opts.calibration.length === 0) throw new Error(`${method} needs calibration data`);

  const blocks = [...new Set(model.maskSites.map((s) => blockOf(s.name)))].sort((a, b) => a - b);
  const override = new Map<string, Tensor>();
  let done = 0;
  for (const b of blocks) {
    const sites = model.maskSites.filter((s) => blockOf(s.name) === b);
    const acc = new Map(sites.map((s) => [s.name, new HessianAccumulator(inDim(s))]));
    for (const input of opts.calibration) {
      const tape = new Tape(e);
      const seen: [string, Tensor][] = [];
      model.forward(tape, input, override, (name, x) => {
        if (acc.has(name)) seen.push([name, x]);
      });
      for (const [name, x] of seen) {
        const a = acc.get(name)!;
        const data = (await e.read(x.raw)) as Float32Array;
        const cols = x.shape[x.shape.length - 1];
        a.add(data, data.length / cols);
      }
      tape.dispose();
    }
    for (const s of sites) {
      const w = await original(s);
      const a = acc.get(s.name)!;
      let mask: Uint8Array;
      let wNew = w;
      if (method === 'wanda') mask = wandaMask(w, s.shape, s.layout, opts.n, opts.m, a.colNorms());
      else {
        const r = sparseGpt(w, s.shape, s.layout, a.hessian(), { n: opts.n, m: opts.m, update });
        mask = r.mask;
        wNew = r.weight;
      }
      masks.set(s.name, mask);
      weights.set(s.name, wNew);
      const pruned = wNew.map((v, i) => (mask[i] ? v : 0));
      override.set(s.name, new Tensor(e.upload(pruned, s.shape), false, null, s.name));
      opts.onProgress?.(++done, model.maskSites.length);
    }
  }
  for (const t of override.values()) t.raw.dispose();
  return { method, update, masks, weights };
}

/** Override map that applies hard masks (and possibly updated weights) to a model, for evaluation. */
export function prunedOverride(model: LabModel, masks: Map<string, Uint8Array>, weights: Map<string, Float32Array>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const s of model.maskSites) {
    const mask = masks.get(s.name);
    const w = weights.get(s.name);
    if (!mask || !w) throw new Error(`no mask for ${s.name}`);
    out.set(
      s.name,
      new Tensor(
        model.engine.upload(
          w.map((v, i) => (mask[i] ? v : 0)),
          s.shape,
        ),
        false,
        null,
        s.name,
      ),
    );
  }
  return out;
}

export function disposeOverride(o: Map<string, Tensor>): void {
  for (const t of o.values()) t.raw.dispose();
}
