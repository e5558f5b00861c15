// The MaskLLM learning loop on one model (Fang et al. 2024): per step, for each of `samplesPerStep`
// batches, sample a soft mask per site with Gumbel-softmax, run the frozen model on W ⊙ m, backprop
// to ∂L/∂(W⊙m), push it through the mask sampler to the logits (accumulating over samples); then
// average, clip the global norm on the GPU and take an AdamW step on the logits only.
// Metrics stay on the GPU: each step's values are copied into a row of a pending buffer that is
// read back once per `readEvery` steps.
import { Tape } from '../autograd/tape';
import { Tensor } from '../autograd/tensor';
import type { Engine } from '../backend/engine';
import type { RawTensor } from '../backend/tensor';
import type { LabModel, MaskSite, ModelInput } from '../models/model';
import { adamwStep } from '../ops/adamw';
import { scale as scaleOp } from '../ops/elementwise';
import { clipScale, globalSumSquares } from '../ops/reduce';
import type { RngPosition } from '../ops/rng';
import { applyMask, hardMask, nextSamplePosition, sampleMaskedWeight, sampleSoftMask, softMaskBackward } from './gumbel';
import { groupLayout, type GroupLayout } from './layout';
import { countFlips, logitStats, maskL1, meanMaxProb, meanMaxProbClean } from './metrics';
import { nmPattern, type Pattern } from './patterns';
import { applyPrior, initLogits, maskFromChoice } from './prior';
import { scheduleAt, type MaskLLMHyper } from './schedule';

export interface LearnerOptions {
  n: number;
  m: number;
  hyper: MaskLLMHyper;
  seed: number;
  /** hard 0/1 prior masks per weight name (one-shot or an earlier learned mask) */
  prior?: Map<string, Uint8Array>;
  /**
   * Sample the soft mask and write W ⊙ m in one pass (default). false: the reference path, a
   * sampling pass then a separate W ⊙ m pass; both give bit-identical steps (tests/browser/learner.test.ts).
   */
  fusedSample?: boolean;
}

/** Per-site values recorded every step (in this order after the loss). */
export const SITE_METRICS = ['maskL1', 'maxProb', 'maxProbClean', 'logitMean', 'logitStd'] as const;

export interface StepMetrics {
  step: number;
  loss: number;
  kappa: number;
  tau: number;
  lr: number;
  lambda: number;
  /** per site, in model.maskSites order */
  sites: { maskL1: number; maxProb: number; maxProbClean: number; logitMean: number; logitStd: number }[];
  /** means over sites (the "mean over layers" curves) */
  meanMaskL1: number;
  meanMaxProb: number;
  meanMaxProbClean: number;
}

interface SiteState {
  site: MaskSite;
  g: GroupLayout;
  w: RawTensor;
  logits: RawTensor;
  m: RawTensor;
  v: RawTensor;
  rng: RngPosition;
  prevMask: RawTensor | null;
  lastChoice: RawTensor | null;
}

export class MaskLearner {
  readonly pattern: Pattern;
  readonly sites: SiteState[];
  step = 0;
  private pending: RawTensor;
  private pendingRows = 0;
  private pendingSched: { step: number; kappa: number; tau: number; lr: number; lambda: number }[] = [];
  readonly width: number;
  readonly readEvery: number;

  constructor(
    readonly model: LabModel,
    readonly opts: LearnerOptions,
    readEvery = 10,
  ) {
    const e = model.engine;
    this.pattern = nmPattern(opts.n, opts.m);
    const C = this.pattern.candidates.length;
    this.sites = model.maskSites.map((site, i) => {
      const g = groupLayout(site.shape, site.layout, opts.m);
      const init = initLogits(g.groups, this.pattern, opts.hyper.sigma0, opts.seed, 1000 + i);
      const prior = opts.prior?.get(site.name);
      if (prior) applyPrior(init, prior, g, this.pattern, opts.hyper.priorStrength);
      const w = model.weights.get(site.name);
      if (!w) throw new Error(`MaskLearner: the model has no weight ${site.name}`);
      return {
        site,
        g,
        w: w.raw,
        logits: e.upload(init, [g.groups, C]),
        m: e.zeros([g.groups, C]),
        v: e.zeros([g.groups, C]),
        rng: { seed: opts.seed >>> 0, stream: i, offset: 0 },
        // the first sampled mask is compared with the prior (MASKLLM.md); without one, with nothing
        prevMask: prior ? e.upload(Float32Array.from(prior), site.shape) : null,
        lastChoice: null,
      };
    });
    this.width = 1 + SITE_METRICS.length * this.sites.length;
    this.readEvery = readEvery;
    this.pending = e.zeros([readEvery, this.width]);
  }

  get engine(): Engine {
    return this.model.engine;
  }

  /**
   * One optimizer step over `inputs.length` mask samples (one batch each). Records metrics on the
   * GPU; call readMetrics() to fetch them (it is called automatically when the buffer is full and
   * the result returned).
   */
  async learnStep(inputs: ModelInput[]): Promise<StepMetrics[] | null> {
    if (inputs.length === 0) throw new Error('learnStep: no batch');
    const e = this.engine;
    const h = this.opts.hyper;
    const s = scheduleAt(h, this.step);
    const C = this.pattern.candidates.length;
    const grads = this.sites.map((st) => e.zeros([st.g.groups, C]));
    const row = this.pendingRows;
    for (let k = 0; k < inputs.length; k++) {
      const tape = new Tape(e);
      const samples = this.sites.map((st) => {
        const args = { kappa: s.kappa, tau: s.tau, rng: st.rng };
        let sm: { mask: RawTensor; y: RawTensor };
        let weff: RawTensor;
        if (this.opts.fusedSample === false) {
          sm = sampleSoftMask(e, st.logits, st.g, this.pattern, args);
          weff = applyMask(e, st.w, sm.mask);
        } else {
          const f = sampleMaskedWeight(e, st.logits, st.w, st.g, this.pattern, args);
          sm = f;
          weff = f.weff;
        }
        st.rng = nextSamplePosition(st.rng, st.g, this.pattern);
        const leaf = new Tensor(weff, true, null, st.site.name);
        return { mask: sm.mask, y: sm.y, leaf };
      });
      const override = new Map(samples.map((x, i) => [this.sites[i].site.name, x.leaf]));
      const { loss } = this.model.forward(tape, inputs[k], override);
      tape.backward(loss);
      samples.forEach((x, i) => {
        const st = this.sites[i];
        if (!x.leaf.grad) throw new Error(`no gradient reached ${st.site.name}`);
        softMaskBackward(e, x.leaf.grad, st.w, x.mask, x.y, st.g, this.pattern, { kappa: s.kappa, tau: s.tau, lambda: s.lambda }, grads[i]);
      });
      if (k === 0) {
        e.copyRegion(loss.raw, 0, this.pending, row * this.width, 1);
        samples.forEach((x, i) => {
          const st = this.sites[i];
          const base = row * this.width + 1 + i * SITE_METRICS.length;
          const vals = [st.prevMask ? maskL1(e, x.mask, st.prevMask) : e.fill([1], Number.NaN), meanMaxProb(e, x.y), meanMaxProbClean(e, st.logits, s.kappa)];
          vals.forEach((t, j) => {
            e.copyRegion(t, 0, this.pending, base + j, 1);
            t.dispose();
          });
          const stats = logitStats(e, st.logits);
          e.copyRegion(stats, 0, this.pending, base + 3, 2);
          stats.dispose();
          st.prevMask?.dispose();
          st.prevMask = x.mask;
        });
      }
      samples.forEach((x, k2) => {
        if (k !== 0) x.mask.dispose();
        x.y.dispose();
        x.leaf.raw.dispose();
        x.leaf.zeroGrad();
        void k2;
      });
      tape.dispose();
    }
    // average over samples, clip the global norm (on the GPU), AdamW on the logits
    const avg =
      inputs.length > 1
        ? grads.map((g) => {
            const a = scaleOp(e, g, 1 / inputs.length);
            g.dispose();
            return a;
          })
        : grads;
    const normSq = globalSumSquares(e, avg);
    const clip = clipScale(e, normSq, h.clip);
    this.step++;
    this.sites.forEach((st, i) => {
      adamwStep(
        e,
        st.logits,
        avg[i],
        st.m,
        st.v,
        { lr: s.lr, beta1: h.betas[0], beta2: h.betas[1], eps: 1e-8, weightDecay: h.weightDecay, step: this.step },
        clip,
      );
    });
    for (const g of avg) g.dispose();
    normSq.dispose();
    clip.dispose();
    e.flush();
    this.pendingSched.push({ step: this.step - 1, kappa: s.kappa, tau: s.tau, lr: s.lr, lambda: s.lambda });
    this.pendingRows++;
    if (this.pendingRows === this.readEvery) return this.readMetrics();
    return null;
  }

  /** Read back the metrics recorded since the last read (one readback). */
  async readMetrics(): Promise<StepMetrics[]> {
    if (this.pendingRows === 0) return [];
    const data = (await this.engine.read(this.pending)) as Float32Array;
    const out: StepMetrics[] = [];
    for (let r = 0; r < this.pendingRows; r++) {
      const base = r * this.width;
      const sites = this.sites.map((_, i) => {
        const b = base + 1 + i * SITE_METRICS.length;
        return { maskL1: data[b], maxProb: data[b + 1], maxProbClean: data[b + 2], logitMean: data[b + 3], logitStd: data[b + 4] };
      });
      const mean = (f: (x: (typeof sites)[number]) => number) => {
        const vals = sites.map(f).filter((v) => Number.isFinite(v));
        return vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : Number.NaN;
      };
      out.push({
        ...this.pendingSched[r],
        loss: data[base],
        sites,
        meanMaskL1: mean((x) => x.maskL1),
        meanMaxProb: mean((x) => x.maxProb),
        meanMaxProbClean: mean((x) => x.maxProbClean),
      });
    }
    this.pendingRows = 0;
    this.pendingSched = [];
    return out;
  }

  /**
   * Hard masks (argmax π) applied to the frozen weights, for evaluation; also counts the groups whose
   * choice flipped since the previous call (null the first time).
   */
  async hardOverride(): Promise<{ override: Map<string, Tensor>; flips: number | null; flipsPerSite: number[] }> {
    const e = this.engine;
    const override = new Map<string, Tensor>();
    const flipTensors: RawTensor[] = [];
    for (const st of this.sites) {
      const { mask, choice } = hardMask(e, st.logits, st.g, this.pattern);
      override.set(st.site.name, new Tensor(applyMask(e, st.w, mask), false, null, st.site.name));
      mask.dispose();
      if (st.lastChoice) {
        flipTensors.push(countFlips(e, st.lastChoice, choice));
        st.lastChoice.dispose();
      }
      st.lastChoice = choice;
    }
    const flipsPerSite: number[] = [];
    for (const t of flipTensors) {
      flipsPerSite.push((await e.read(t))[0]);
      t.dispose();
    }
    return { override, flips: flipTensors.length ? flipsPerSite.reduce((a, b) => a + b, 0) : null, flipsPerSite };
  }

  /**
   * For the mask view of one site: the chosen candidate per group (argmax π), its noise-free
   * probability softmax(κπ) at `kappa`, and whether the choice differs from the last evaluation's.
   */
  async maskView(
    site: number,
    kappa: number,
  ): Promise<{ choice: Uint8Array; confidence: Float32Array; flipped: Uint8Array; groups: number; rows: number; cols: number }> {
    const st = this.sites[site];
    if (!st) throw new Error(`maskView: no site ${site}`);
    const e = this.engine;
    const logits = (await e.read(st.logits)) as Float32Array;
    const last = st.lastChoice ? await e.read(st.lastChoice) : null;
    const C = this.pattern.candidates.length;
    const G = st.g.groups;
    const choice = new Uint8Array(G);
    const confidence = new Float32Array(G);
    const flipped = new Uint8Array(G);
    for (let g = 0; g < G; g++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (logits[g * C + c] > logits[g * C + best]) best = c;
      let z = 0;
      for (let c = 0; c < C; c++) z += Math.exp(kappa * (logits[g * C + c] - logits[g * C + best]));
      choice[g] = best;
      confidence[g] = 1 / z;
      flipped[g] = last && last[g] !== best ? 1 : 0;
    }
    return { choice, confidence, flipped, groups: G, rows: st.g.rows, cols: st.g.cols };
  }

  /** Hard masks as 0/1 arrays in each weight's layout (for export). */
  async hardMasks(): Promise<Map<string, Uint8Array>> {
    const e = this.engine;
    const out = new Map<string, Uint8Array>();
    for (const st of this.sites) {
      const { mask, choice } = hardMask(e, st.logits, st.g, this.pattern);
      const ch = await e.read(choice);
      mask.dispose();
      choice.dispose();
      out.set(st.site.name, maskFromChoice(ch, st.g, this.pattern));
    }
    return out;
  }

  /** Logits and Adam moments (for resumable state). */
  async state(): Promise<{ name: string; logits: Float32Array; m: Float32Array; v: Float32Array; rng: RngPosition }[]> {
    const e = this.engine;
    const out = [];
    for (const st of this.sites) {
      out.push({
        name: st.site.name,
        logits: (await e.read(st.logits)) as Float32Array,
        m: (await e.read(st.m)) as Float32Array,
        v: (await e.read(st.v)) as Float32Array,
        rng: { ...st.rng },
      });
    }
    return out;
  }

  /** Restore logits, moments, RNG positions and the step from a saved state. */
  restore(step: number, sites: { name: string; logits: Float32Array; m: Float32Array; v: Float32Array; rng?: RngPosition }[]): void {
    const e = this.engine;
    const byName = new Map(sites.map((s) => [s.name, s]));
    for (const st of this.sites) {
      const s = byName.get(st.site.name);
      if (!s) throw new Error(`saved state has no logits for ${st.site.name}`);
      if (s.logits.length !== st.logits.size) throw new Error(`saved logits for ${st.site.name} have ${s.logits.length} values, expected ${st.logits.size}`);
      e.write(st.logits, s.logits);
      e.write(st.m, s.m);
      e.write(st.v, s.v);
      if (s.rng) st.rng = { ...s.rng };
    }
    this.step = step;
  }

  dispose(): void {
    for (const st of this.sites) {
      for (const t of [st.logits, st.m, st.v, st.prevMask, st.lastChoice]) t?.dispose();
    }
    this.pending.dispose();
  }
}
