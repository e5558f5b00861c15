// One-shot N:M baselines on a whole model: magnitude, Wanda and SparseGPT (with or without the
// weight update). Calibration runs block by block: block i's Linears see inputs produced by blocks
// 0…i−1 already pruned (as Wanda's and SparseGPT's reference code do); all Linears of block i are
// calibrated together with block i itself still dense. Scores and SparseGPT's linear algebra run on
// the CPU in f64 (src/sparsity/priors/*), activations come from the GPU forward pass.
import { Tape } from '../autograd/tape';
import { Tensor } from '../autograd/tensor';
import type { RawTensor } from '../backend/tensor';
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

  // Sequential, as SparseGPT and Wanda prune: block b's inputs come from blocks 0..b-1 already
  // pruned. The residual stream of every calibration batch is kept on the device and each block runs
  // twice on it: once as it is, with its Linear inputs probed (for the statistics), once pruned, to
  // give the next block's input. That is 2 × blocks block-forwards in all, where a whole forward per
  // block would cost blocks² and the output head each time; the numbers are the same (the same ops
  // on the same values).
  const override = new Map<string, Tensor>();
  const noGrad = () => new Tape(e, { grad: false });
  /** Runs f on a tape without gradients and returns its result, kept (the caller disposes it). */
  const kept = (f: (tape: Tape) => Tensor): RawTensor => {
    const tape = noGrad();
    const out = f(tape);
    tape.keep(out);
    tape.dispose();
    return out.raw;
  };
  let stream = opts.calibration.map((input) => kept((tape) => model.embed(tape, input)));
  let done = 0;
  try {
    for (let b = 0; b < model.blockCount; b++) {
      const sites = model.maskSites.filter((s) => blockOf(s.name) === b);
      if (sites.length > 0) {
        const acc = new Map(sites.map((s) => [s.name, new HessianAccumulator(inDim(s))]));
        // Batch k + 1's block is submitted before batch k's statistics are added on the CPU, so the
        // adapter computes while the CPU accumulates (one batch of probed copies ahead; the memory
        // plan counts two). The sums are added in batch order either way: the same numbers.
        const probe = (k: number): [string, RawTensor][] => {
          // a probed input belongs to its stage, which frees it: copy it out to read it after
          const tape = noGrad();
          const seen: [string, RawTensor][] = [];
          model.block(tape, b, new Tensor(stream[k]), opts.calibration[k], override, (name, x) => {
            if (!acc.has(name)) return;
            const copy = e.empty(x.shape);
            e.copy(x.raw, copy);
            seen.push([name, copy]);
          });
          tape.dispose();
          return seen;
        };
        let ahead = probe(0);
        try {
          for (let k = 0; k < opts.calibration.length; k++) {
            const seen = ahead;
            ahead = [];
            const read: [string, Float32Array, number][] = [];
            for (const [name, x] of seen) {
              read.push([name, (await e.read(x)) as Float32Array, x.shape[x.shape.length - 1]]);
              x.dispose();
            }
            e.flush();
            if (k + 1 < opts.calibration.length) {
              ahead = probe(k + 1);
              e.flush(); // submitted now: the adapter runs it during the sums below
            }
            for (const [name, data, cols] of read) acc.get(name)!.add(data, data.length / cols);
          }
        } finally {
          for (const [, x] of ahead) x.dispose();
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
      if (done === model.maskSites.length) break; // no later block has a site: its input is not needed
      // the pruned block on the stored stream gives the next block's input
      stream = stream.map((x, k) => {
        const next = kept((tape) => model.block(tape, b, new Tensor(x), opts.calibration[k], override));
        x.dispose();
        return next;
      });
      e.flush();
    }
  } finally {
    for (const x of stream) x.dispose();
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
