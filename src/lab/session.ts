// A lab session: one model, its data, the baselines, one learning step, evaluations and mask
// export. It holds no run state and no loop: LabRunner (runner.ts) drives it — the same runner in
// the page's worker, headless.html, the experiments and the tests. It never touches the DOM; it
// reports through `emit` with plain, structured-clone-able events.
import { Tape } from '../autograd/tape';
import type { Tensor } from '../autograd/tensor';
import type { Engine } from '../backend/engine';
import type { GpuEngine } from '../backend/gpu';
import type { ShapeClass, TuneStorage } from '../gpu/autotune';
import { f16BitsToF32 } from '../backend/f16';
import { RawTensor } from '../backend/tensor';
import { EVAL_BATCH, sampleImageBatch, sampleTextBatch, type TextBatch, type ImageBatch } from '../data/batches';
import type { ImageShard } from '../data/shards';
import { openCheckpoint, buildModel, type CheckpointFileSet, type WeightSource } from '../models/checkpoint';
import { tokenizerKind } from '../data/tokenizer';
import type { ModelConfig } from '../models/config';
import type { LabModel, ModelInput } from '../models/model';
import { MaskLearner, type StepMetrics } from '../sparsity/learner';
import {
  decodeState,
  encodeState,
  exportMaskPacked,
  exportMaskSafetensors,
  importMaskPacked,
  importMaskSafetensors,
  type MaskEntry,
} from '../sparsity/maskfile';
import { nextSamplePosition } from '../sparsity/gumbel';
import type { GroupData } from '../sparsity/group-view';
import { elementIndex, groupLayout } from '../sparsity/layout';
import { disposeOverride, oneShot, prunedOverride, type OneShotMethod, type OneShotResult } from '../sparsity/oneshot';
import { bitsPerWeight, nmPattern } from '../sparsity/patterns';
import { scheduleAt } from '../sparsity/schedule';
import type { AssetLoader } from './assets';
import { toHyper, type ExperimentConfig } from './config';
import {
  BASELINE_LABELS,
  oneShotKey,
  RESULT_KEYS,
  type ImageSplit,
  type ProgressPhase,
  type ResultKey,
  type SessionState,
  type TextDomainName,
  type TokenizerKind,
} from './names';
import { etaStamper } from './eta';
import { contentHash, type OneShotCache } from './oneshot-cache';
import type { KernelTuning } from './kernel-picks';
import { isCpuAdapter, memoryTuneStorage, tuneKernels } from './kernel-tuning';
import { gptContext, loadLabData, type LabData } from './lab-data';
import { evaluateImages, evaluateText, imageInput, textInput, type ImageEval, type TextEval } from './evaluate';
import { checkMemoryPlan, checkWasmPlan, evalBatchWithin } from './limits';
import { memoryPlan, memoryPlanTable, type MemoryPlan, type MemoryPlanOptions, type MemoryPlanTable } from './memory-plan';
import { findNonFiniteWeights, RESUME_KEYS } from './recovery';

export type { KernelTuning } from './kernel-picks';
export { SESSION_STATES, PROGRESS_PHASES, type SessionState, type ProgressPhase } from './names';

/**
 * One evaluation: GPT, validation per text domain (`en`, `code`); ViT, validation (during learning)
 * and test (final table) accuracy. The keys are EVAL_SPLITS (names.ts).
 */
export type EvalMetrics = { [D in TextDomainName]?: TextEval } & { [S in ImageSplit]?: ImageEval };

export interface ResultRow {
  key: ResultKey;
  label: string;
  metrics: EvalMetrics;
  /** bits per weight to store the mask (null for dense) */
  bitsPerWeight: number | null;
}

export interface ModelSummary {
  name: string;
  kind: 'gpt2' | 'vit';
  parameters: number;
  layers: number;
  maskedWeights: number;
  sites: { name: string; shape: number[]; layout: string }[];
  /** bytes of learning state: logits, their gradient and two Adam moments, all f32 */
  learningStateBytes: number;
  /** a GPT's tokenizer (chosen by its vocabulary) */
  tokenizer?: TokenizerKind;
  /** what the run's buffers need, part by part (the model panel shows it) */
  memoryPlan?: MemoryPlanTable;
}

/** GPU memory of the loaded run: the memory plan's total and the buffer pool's peak since the load. */
export interface GpuMemoryUse {
  plannedBytes: number;
  /** the most bytes the pool held at once (every buffer created and not destroyed) */
  peakBytes: number;
}

export interface EvaluationEvent {
  step: number;
  metrics: EvalMetrics;
  flips: number | null;
}

export type SessionEvent =
  | { type: 'state'; state: SessionState; message?: string }
  | { type: 'progress'; phase: ProgressPhase; done: number; total: number; detail?: string; stepsPerSecond?: number; etaSeconds?: number }
  | { type: 'model'; summary: ModelSummary }
  | { type: 'metrics'; rows: StepMetrics[] }
  | { type: 'evaluation'; evaluation: EvaluationEvent }
  /** `pending`: rows still to compute, in order (deferred baselines; absent or empty when complete) */
  | { type: 'table'; rows: ResultRow[]; pending?: ResultKey[] }
  | { type: 'done'; rows: ResultRow[] }
  /** after compiling: what the `kernels` setting did (GPU engine) */
  | { type: 'kernels'; tuning: KernelTuning }
  | { type: 'error'; message: string; step?: number; site?: string };

export class SessionError extends Error {}

/** A NaN or ±Inf in a metrics row: where it appeared and what to do (the runner pauses on it). */
export interface NonFinite {
  step: number;
  /** the mask site whose logits hold it (absent: the loss) */
  site?: string;
  /** short, for the paused state */
  stateMessage: string;
  /** the full error message, with advice */
  message: string;
}

export interface SessionOptions {
  /** Metrics rows the learner buffers on the GPU between readbacks (LabRunner's read cadence). */
  readEvery?: number;
  /**
   * Learn first, fill the table in later: load() computes only what learning needs (the prior), and
   * the dense and one-shot rows are computed by computeNextBaseline() — the runner calls it between
   * learning steps — or at the latest by finalEvaluation(). Only for MaskLLM (a one-shot method's
   * table is the whole run). The rows and their order are the same either way.
   */
  deferBaselines?: boolean;
  /** Where tuned kernel picks are kept (the `kernels` setting): IndexedDB on the page, a file in Node; default memory. */
  tuneStorage?: TuneStorage;
  /** Tune even on a CPU adapter (tests: SwiftShader is the only adapter here). */
  tuneOnCpu?: boolean;
  /** One-shot results kept between loads (the runner's): a prior or baseline computed before is not computed again. */
  oneShotCache?: OneShotCache;
}

/** Kernel picks shared by the sessions of one page or process when no storage is given. */
const sharedMemoryTuneStorage = memoryTuneStorage();

/** What a model input holds (the one-shot cache hashes the calibration batches by content). */
const inputArrays = (x: ModelInput): ArrayBufferView[] => (x.kind === 'text' ? [x.inputs, x.targets] : [x.images, x.labels]);

/** The table's rows before MaskLLM's, in order: the dense model, then each one-shot baseline. */
const BASELINE_ROWS: readonly { key: Exclude<ResultKey, 'maskllm'>; method?: OneShotMethod; update?: boolean }[] = [
  { key: 'dense' },
  { key: 'magnitude', method: 'magnitude', update: false },
  { key: 'wanda', method: 'wanda', update: false },
  { key: 'sparsegpt', method: 'sparsegpt', update: false },
  { key: 'sparsegpt+update', method: 'sparsegpt', update: true },
];

export class LabSession {
  config: ExperimentConfig | null = null;
  model: LabModel | null = null;
  summary: ModelSummary | null = null;
  learner: MaskLearner | null = null;
  oneShotResults = new Map<ResultKey, OneShotResult>();
  table: ResultRow[] = [];
  metrics: StepMetrics[] = [];
  evaluations: EvaluationEvent[] = [];
  private data: LabData | null = null;
  private modelName = '';
  private priorFile: Uint8Array | null = null;
  private readonly readEvery: number;
  private readonly deferBaselines: boolean;
  private readonly tuneStorage: TuneStorage;
  private readonly tuneOnCpu: boolean;
  private readonly oneShotCache: OneShotCache | null;
  /** CRC-32 of the loaded checkpoint's files, when its one-shot results can be cached (else null) */
  private checkpointHash: string | null = null;
  /** the `kernels` setting's outcome for the loaded run (null before a load, on the CPU engine) */
  kernelTuning: KernelTuning | null = null;
  /** BASELINE_ROWS not computed yet (see SessionOptions.deferBaselines) */
  private pendingBaselines: (typeof BASELINE_ROWS)[number][] = [];
  private readonly emit: (e: SessionEvent) => void;
  /** the loaded run's memory plan (src/lab/memory-plan.ts) */
  memoryPlan: MemoryPlan | null = null;

  constructor(
    readonly engine: Engine,
    readonly assets: AssetLoader,
    emit: (e: SessionEvent) => void,
    opts: SessionOptions = {},
  ) {
    const stamp = etaStamper();
    this.emit = (e) => emit(stamp(e));
    this.readEvery = opts.readEvery ?? 10;
    this.deferBaselines = opts.deferBaselines ?? false;
    this.tuneStorage = opts.tuneStorage ?? sharedMemoryTuneStorage;
    this.tuneOnCpu = opts.tuneOnCpu ?? false;
    this.oneShotCache = opts.oneShotCache ?? null;
  }

  get step(): number {
    return this.learner?.step ?? 0;
  }

  /** A mask file learned earlier (safetensors or packed) to use as the prior ('file'). */
  setPriorFile(bytes: Uint8Array): void {
    this.priorFile = bytes;
  }

  /**
   * Load a model (bundled name, or files opened by the user: one .safetensors, or the shard index
   * and its shards, with config.json) and its data; then compute baselines and, for MaskLLM, create
   * the learner (`learner` is null for a one-shot method: nothing to learn).
   */
  async load(config: ExperimentConfig, custom?: CheckpointFileSet): Promise<void> {
    this.dispose();
    if (this.engine.kind === 'gpu') {
      // the peak of this load only: free what earlier loads left pooled and restart the counters
      this.engine.flush();
      this.engine.pool.trim();
      this.engine.pool.resetPeaks();
    }
    this.config = config;
    this.kernelTuning = null;
    let modelConfig: ModelConfig;
    // tensor by tensor: each is converted to f32 (a view for aligned F32) right before its upload
    let weights: WeightSource;
    /** the checkpoint's files as read (for the one-shot cache's key) */
    let files: readonly Uint8Array[];
    this.checkpointHash = null;
    if (custom) {
      ({ config: modelConfig, weights } = openCheckpoint(custom.files, custom.config));
      files = custom.files.map((f) => (f.bytes instanceof Uint8Array ? f.bytes : new Uint8Array(f.bytes)));
    } else {
      const dir = `checkpoints/${config.model}/`;
      const st = await this.assets.load(dir + 'model.safetensors', (d, t) =>
        this.emit({ type: 'progress', phase: 'loading', done: d, total: t, detail: 'model.safetensors' }),
      );
      const cfgBytes = await this.assets.load(dir + 'config.json');
      let cfgJson: unknown;
      try {
        cfgJson = JSON.parse(new TextDecoder().decode(cfgBytes));
      } catch (e) {
        throw new SessionError(`${dir}config.json is not valid JSON: ${(e as Error).message}`);
      }
      ({ config: modelConfig, weights } = openCheckpoint([{ name: 'model.safetensors', bytes: st }], cfgJson));
      files = [st, cfgBytes];
    }
    // packed f16 weights are a GPU storage format: another engine refuses them before loading
    if (config.weightStorage === 'f16' && this.engine.kind !== 'gpu')
      throw new SessionError(
        `weightStorage 'f16' needs the WebGPU engine (this run uses the ${this.engine.kind} engine); choose engine gpu, or weightStorage f32`,
      );
    this.modelName = config.model;
    // a GPT whose vocabulary has no tokenizer here, or a context beyond its positions, is refused before anything is built
    if (modelConfig.kind === 'gpt2') {
      tokenizerKind(modelConfig.vocabSize);
      if (config.context > modelConfig.nPositions)
        throw new SessionError(
          `context ${config.context} exceeds the model's ${modelConfig.nPositions} positions (n_positions); use at most ${modelConfig.nPositions}, or 0 for all`,
        );
    }
    // the memory plan (weights, learning state, each phase's activations): on a GPU, a model that
    // does not fit the device's limits or the memory budget is refused here, naming the part and the
    // largest batch that fits, before anything is allocated
    const planOptions: MemoryPlanOptions = {
      batch: config.batch,
      context: modelConfig.kind === 'gpt2' ? gptContext(modelConfig, config) : undefined,
      n: config.n,
      m: config.m,
      method: config.method,
      samplesPerStep: config.samplesPerStep,
      calibBatches: config.calibBatches,
      evalBatch: modelConfig.kind === 'gpt2' && config.evalWindows > 0 ? Math.min(EVAL_BATCH, config.evalWindows) : undefined,
      weightStorage: config.weightStorage,
    };
    const budget = config.memoryBudget * 2 ** 30;
    // fewer windows per evaluation forward when the default would not fit (the results are the same)
    if (this.engine.kind === 'gpu') planOptions.evalBatch = evalBatchWithin(modelConfig, planOptions, budget, this.engine.info.limits);
    this.memoryPlan =
      this.engine.kind === 'gpu'
        ? checkMemoryPlan(this.engine.info.limits, modelConfig, planOptions, budget)
        : this.engine.kind === 'wasm'
          ? checkWasmPlan(memoryPlan(modelConfig, planOptions))
          : memoryPlan(modelConfig, planOptions);
    this.model = buildModel(this.engine, modelConfig, weights, false, config.weightStorage);
    if (this.oneShotCache?.admits(this.model.parameterCount)) {
      this.checkpointHash = contentHash([...files, new TextEncoder().encode(JSON.stringify(custom?.config ?? null))]);
    }
    this.summary = this.summarize(config);
    this.emit({ type: 'model', summary: this.summary });
    this.data = await loadLabData(
      this.assets,
      modelConfig,
      config,
      (done, total, detail) => this.emit({ type: 'progress', phase: 'tokenizing', done, total, detail }),
      this.memoryPlan.options.evalBatch,
    );
    await this.compileShaders();
    await this.prepare();
  }

  /** The plan's GPU total and the pool's peak since this load began; null on the CPU engine or before a load. */
  gpuMemory(): GpuMemoryUse | null {
    if (this.engine.kind !== 'gpu' || !this.memoryPlan) return null;
    return { plannedBytes: this.memoryPlan.gpuBytes, peakBytes: this.engine.pool.peakAllocatedByteCount };
  }

  private summarize(config: ExperimentConfig): ModelSummary {
    const m = this.model!;
    const p = nmPattern(config.n, config.m);
    const C = p.candidates.length;
    let masked = 0;
    let groups = 0;
    for (const s of m.maskSites) {
      const n = s.shape[0] * s.shape[1];
      masked += n;
      groups += n / config.m;
    }
    const c = m.config;
    return {
      name: config.model,
      kind: c.kind,
      parameters: m.parameterCount,
      layers: c.kind === 'gpt2' ? c.nLayer : c.numLayers,
      maskedWeights: masked,
      sites: m.maskSites.map((s) => ({ name: s.name, shape: s.shape, layout: s.layout })),
      learningStateBytes: groups * C * 4 * 4,
      ...(c.kind === 'gpt2' ? { tokenizer: tokenizerKind(c.vocabSize) } : {}),
      ...(this.memoryPlan ? { memoryPlan: memoryPlanTable(this.memoryPlan) } : {}),
    };
  }

  /**
   * Compile the run's pipelines ahead of time, reporting k of n: one evaluation forward, two
   * learning steps (the second uses the mask-change kernel) and two hard-mask evaluations (the second
   * counts flips) are recorded without running, which names
   * every kernel they use; KernelCache.warm then compiles those with createComputePipelineAsync.
   * Kernels used only by the one-shot baselines compile when first used.
   */
  private async compileShaders(): Promise<void> {
    const e = this.engine;
    if (e.kind !== 'gpu') return;
    const c = this.config!;
    const model = this.model!;
    const classes = new Map<string, ShapeClass<string>>();
    // Nothing runs here, but buffers are allocated as in a real run and the memory plan bounds them:
    // every part ends with a flush so the next part reuses what it released (src/gpu/buffers.ts)
    const kernels = await e.collectKernels(async () => {
      const tape = new Tape(e, { grad: false });
      model.forward(tape, this.trainInput(0, c.seed));
      tape.dispose();
      e.flush();
      if (c.method !== 'maskllm') return;
      // readEvery beyond the two steps: nothing is read back from a run that did not execute
      const dry = new MaskLearner(model, { n: c.n, m: c.m, hyper: toHyper(c), seed: c.seed }, 8);
      try {
        await dry.learnStep([this.trainInput(0, c.seed)]);
        await dry.learnStep([this.trainInput(1, c.seed)]);
        // the hard mask of an evaluation, twice (the second counts flips), and its forward
        for (let i = 0; i < 2; i++) {
          const { override } = await dry.hardOverride();
          const t = new Tape(e, { grad: false });
          model.forward(t, this.trainInput(0, c.seed), override);
          t.dispose();
          this.releaseOverride(override);
        }
      } finally {
        dry.dispose();
        e.flush();
      }
    }, classes);
    const total = kernels.length;
    this.emit({ type: 'progress', phase: 'compiling', done: 0, total, detail: 'shaders' });
    await e.kernels.warm(kernels, (done) => this.emit({ type: 'progress', phase: 'compiling', done, total, detail: 'shaders' }));
    await this.tuneKernels(e, [...classes.values()]);
  }

  /**
   * The `kernels` setting: on a real GPU, the matmul and attention variants timed on this run's shape classes (or
   * read from the cache) and installed as the engine's picks; otherwise the built-in picks.
   */
  private async tuneKernels(e: GpuEngine, classes: ShapeClass<string>[]): Promise<void> {
    const c = this.config!;
    e.picks.clear();
    if (c.kernels === 'built-in' || (isCpuAdapter(e.info) && !this.tuneOnCpu)) {
      this.kernelTuning = { status: c.kernels === 'built-in' ? 'built-in' : 'cpu-adapter', picks: [] };
      this.emit({ type: 'kernels', tuning: this.kernelTuning });
      return;
    }
    const r = await tuneKernels(e, classes, this.tuneStorage, (done, total) =>
      this.emit({ type: 'progress', phase: 'compiling', done, total, detail: 'tuning kernels' }),
    );
    const byKey = new Map(classes.map((x) => [x.key, x]));
    this.kernelTuning = {
      status: r.cached ? 'cached' : 'measured',
      picks: [...r.picks].map(([key, p]) => ({
        key,
        variant: p.variant,
        builtIn: byKey.get(key)!.builtIn,
        ms: Object.fromEntries(Object.entries(p.ms).map(([v, t]) => [v, Number.isFinite(t) ? (t as number) : null])),
      })),
    };
    this.emit({ type: 'kernels', tuning: this.kernelTuning });
  }

  /** The k-th training batch of the run (deterministic in seed and k). */
  private trainInput(k: number, seed: number): ModelInput {
    const c = this.config!;
    const d = this.data!;
    const mc = this.model!.config;
    if (mc.kind === 'gpt2') return textInput(sampleTextBatch(d.train as Uint8Array | Uint32Array, c.batch, gptContext(mc, c), seed, k));
    return imageInput(sampleImageBatch(d.train as ImageShard, c.batch, seed, k));
  }

  private async evaluate(override?: Map<string, Tensor>, final = false): Promise<EvalMetrics> {
    const m = this.model!;
    const d = this.data!;
    const out: EvalMetrics = {};
    if (m.config.kind === 'gpt2') {
      out.en = await evaluateText(m, d.val.get('en') as TextBatch[], override);
      out.code = await evaluateText(m, d.val.get('code') as TextBatch[], override);
    } else {
      out.val = await evaluateImages(m, d.val.get('val') as ImageBatch[], override);
      if (final && d.test) out.test = await evaluateImages(m, d.test, override);
    }
    return out;
  }

  private calibration(): ModelInput[] {
    const c = this.config!;
    // calibration batches come from the training data with a seed of their own
    return Array.from({ length: c.calibBatches }, (_, k) => this.trainInput(k, (c.seed ^ 0x5eed) >>> 0));
  }

  private async runOneShot(method: OneShotMethod, update: boolean): Promise<OneShotResult> {
    const key = oneShotKey(method, update);
    const have = this.oneShotResults.get(key);
    if (have) return have;
    const c = this.config!;
    const total = this.model!.maskSites.length;
    const calibration = method === 'magnitude' ? [] : this.calibration();
    // the runner's cache: the same checkpoint, calibration data and settings give the same masks
    const cacheKey = this.checkpointHash
      ? [this.checkpointHash, contentHash(calibration.flatMap(inputArrays)), method, update, `${c.n}:${c.m}`, c.weightStorage].join(' ')
      : null;
    const cached = cacheKey ? this.oneShotCache!.get(cacheKey) : undefined;
    if (cached) {
      this.emit({ type: 'progress', phase: 'baselines', done: total, total, detail: `${key} (from the cache of this page)` });
      this.oneShotResults.set(key, cached);
      return cached;
    }
    // done 0 starts the phase's clock (etaStamper), so the first site already gives an ETA
    this.emit({ type: 'progress', phase: 'baselines', done: 0, total, detail: key });
    const r = await oneShot(this.model!, method, {
      n: c.n,
      m: c.m,
      update,
      calibration,
      onProgress: (done, total) => this.emit({ type: 'progress', phase: 'baselines', done, total, detail: key }),
    });
    this.oneShotResults.set(key, r);
    if (cacheKey) this.oneShotCache!.set(cacheKey, r);
    // what the calibration released becomes reusable (as after an evaluation: releaseOverride)
    this.engine.flush();
    return r;
  }

  /** The baselines (now, or queued when deferred), then the learner for MaskLLM. */
  private async prepare(): Promise<void> {
    const c = this.config!;
    this.table = [];
    this.pendingBaselines = [...BASELINE_ROWS];
    if (!this.deferBaselines || c.method !== 'maskllm') await this.completeBaselines();
    else this.emitTable();
    await this.createLearner();
  }

  /** For MaskLLM: fresh logits, from the prior (a one-shot method's masks are computed once per load). */
  private async createLearner(): Promise<void> {
    const c = this.config!;
    if (c.method !== 'maskllm') return;
    let prior: Map<string, Uint8Array> | undefined;
    if (c.prior === 'file') {
      if (!this.priorFile) throw new SessionError('prior is "file" but no mask file was given');
      prior = new Map(this.readMaskFile(this.priorFile).map((e) => [e.name, e.mask]));
    } else if (c.prior !== 'none') {
      prior = (await this.runOneShot(c.prior, false)).masks;
    }
    // the buffer holds at most the rows between two readbacks the runner asks for
    this.learner = new MaskLearner(this.model!, { n: c.n, m: c.m, hyper: toHyper(c), seed: c.seed, prior }, this.readEvery);
  }

  /** Rows of the table not computed yet (dense and one-shot baselines; 0 unless deferred). */
  get baselinesPending(): number {
    return this.pendingBaselines.length;
  }

  /**
   * Computes the next pending row (the dense model's evaluation, or one baseline's masks — reused
   * when the prior already computed them — and its evaluation) and emits the table. Returns whether
   * rows are still pending.
   */
  async computeNextBaseline(): Promise<boolean> {
    const next = this.pendingBaselines[0];
    if (!next) return false;
    const c = this.config!;
    let metrics: EvalMetrics;
    if (!next.method) metrics = await this.evaluate(undefined, true);
    else {
      const r = await this.runOneShot(next.method, next.update ?? false);
      const o = prunedOverride(this.model!, r.masks, r.weights);
      try {
        metrics = await this.evaluate(o, true);
      } finally {
        this.releaseOverride(o);
      }
    }
    this.pendingBaselines.shift();
    const row: ResultRow = { key: next.key, label: BASELINE_LABELS[next.key], metrics, bitsPerWeight: next.method ? bitsPerWeight(nmPattern(c.n, c.m)) : null };
    // in RESULT_KEYS order whatever came first (a deferred row may follow MaskLLM's hard-mask evaluations, never its final row)
    this.table = [...this.table, row].sort((a, b) => RESULT_KEYS.indexOf(a.key) - RESULT_KEYS.indexOf(b.key));
    this.emitTable();
    return this.pendingBaselines.length > 0;
  }

  private emitTable(): void {
    this.emit({ type: 'table', rows: this.table, pending: this.pendingBaselines.map((r) => r.key) });
  }

  /** Every pending row (the final table needs them all). */
  async completeBaselines(): Promise<void> {
    while (await this.computeNextBaseline());
  }

  /** Parse a mask file (safetensors or packed) for this model and pattern. */
  readMaskFile(bytes: Uint8Array): MaskEntry[] {
    const c = this.config!;
    const expect = { n: c.n, m: c.m, weights: this.model!.maskSites.map((s) => ({ name: s.name, shape: s.shape, layout: s.layout })) };
    const isSafetensors = bytes.length >= 9 && bytes[8] === 0x7b; // '{' after the 8-byte header length
    return isSafetensors ? importMaskSafetensors(bytes, expect) : importMaskPacked(bytes, expect);
  }

  /** An evaluation is due after the step just learned (every evalEvery steps, and the last). */
  get evaluationDue(): boolean {
    const c = this.config!;
    return this.step % c.evalEvery === 0 || this.step >= c.steps;
  }

  /**
   * One optimizer step. Its metrics row stays on the GPU unless `read` (or an evaluation is due, or
   * the learner's buffer is full); rows read back are emitted. Returns the first NaN/Inf, if any.
   */
  async learnStep(read: boolean): Promise<NonFinite | null> {
    const c = this.config!;
    const L = this.learner!;
    const inputs = Array.from({ length: c.samplesPerStep }, (_, k) => this.trainInput(L.step * c.samplesPerStep + k, c.seed));
    const rows = await L.learnStep(inputs);
    if (rows) return this.takeRows(rows);
    return read || this.evaluationDue ? this.readMetrics() : null;
  }

  /** Reads back (and emits) the metrics rows still on the GPU. Returns the first NaN/Inf, if any. */
  async readMetrics(): Promise<NonFinite | null> {
    return this.learner ? this.takeRows(await this.learner.readMetrics()) : null;
  }

  private async takeRows(rows: StepMetrics[]): Promise<NonFinite | null> {
    if (!rows.length) return null;
    this.metrics.push(...rows);
    this.emit({ type: 'metrics', rows });
    const bad = rows.find((r) => !Number.isFinite(r.loss) || r.sites.some((s) => !Number.isFinite(s.logitMean) || !Number.isFinite(s.logitStd)));
    if (!bad) return null;
    const si = bad.sites.findIndex((s) => !Number.isFinite(s.logitMean) || !Number.isFinite(s.logitStd));
    const site = si >= 0 ? this.model!.maskSites[si].name : undefined;
    let where = site ? `in the logits of ${site}` : 'in the loss';
    let advice = 'Lower the learning rate or κ and reset.';
    if (!site) {
      // finite logits but a non-finite loss: look for the frozen weight that holds it
      const w = await findNonFiniteWeights(this.model!);
      if (w.length) {
        where = `in the loss, from the model weight ${w[0].name} (element ${w[0].index} is ${w[0].value})`;
        advice = 'The checkpoint itself holds a NaN/Inf: load a clean model.';
      }
    }
    return {
      step: bad.step,
      site,
      stateMessage: `NaN/Inf at step ${bad.step} ${where}`,
      message: `The run paused: a NaN or Inf appeared at step ${bad.step} ${where}. ${advice}`,
    };
  }

  /**
   * Frees an evaluation's weights and submits: a released buffer is reused only after a submit
   * (src/gpu/buffers.ts), and the next learning step is one command buffer, so without it the step
   * could not reuse them and would allocate a second set (one weight-sized buffer per mask site,
   * 340 MB for GPT-2 small, beyond the memory plan).
   */
  private releaseOverride(o: Map<string, Tensor>): void {
    disposeOverride(o);
    this.engine.flush();
  }

  /** Hard-mask (argmax π) evaluation on the validation data at the current step; emitted. */
  async evaluateHardMask(): Promise<EvaluationEvent> {
    const L = this.learner!;
    const { override, flips } = await L.hardOverride();
    const metrics = await this.evaluate(override, false);
    this.releaseOverride(override);
    const ev = { step: L.step, metrics, flips };
    this.evaluations.push(ev);
    this.emit({ type: 'evaluation', evaluation: ev });
    return ev;
  }

  /** The final evaluation of the learned hard mask (validation and test): its row joins the table. */
  async finalEvaluation(): Promise<ResultRow[]> {
    const c = this.config!;
    await this.completeBaselines();
    const { override } = await this.learner!.hardOverride();
    this.emit({ type: 'progress', phase: 'evaluating', done: 0, total: 1 });
    const metrics = await this.evaluate(override, true);
    this.releaseOverride(override);
    this.table = this.table.filter((r) => r.key !== 'maskllm');
    this.table.push({ key: 'maskllm', label: `MaskLLM (${c.prior} prior, ${c.steps} steps)`, metrics, bitsPerWeight: bitsPerWeight(nmPattern(c.n, c.m)) });
    return this.table;
  }

  /** Back to step 0 with the same model, data and baselines (fresh logits). */
  async reset(): Promise<void> {
    this.learner?.dispose();
    this.learner = null;
    this.metrics = [];
    this.evaluations = [];
    if (!this.model || !this.config) return;
    this.table = this.table.filter((r) => r.key !== 'maskllm');
    // the baselines stay (computed or still pending): only the learner starts over
    await this.createLearner();
  }

  /**
   * Continue a saved run (bytes from exportMask('state')) after load() with the same configuration:
   * logits, Adam moments and the step come from the file. The state file stores no per-site RNG
   * position, but every site's Gumbel stream advances by a fixed amount per sample, so it is
   * recomputed from the step: the resumed run draws exactly the noise an uninterrupted run would.
   */
  restore(stateBytes: Uint8Array): void {
    const L = this.learner;
    const c = this.config;
    if (!L || !c) throw new SessionError('restore needs a loaded MaskLLM run: load the same configuration first');
    if (L.step !== 0) throw new SessionError(`restore needs a fresh run (this one is at step ${L.step}): reset first`);
    const s = decodeState(stateBytes);
    const saved = (s.config ?? {}) as Partial<ExperimentConfig>;
    for (const k of RESUME_KEYS) {
      if (saved[k] !== c[k])
        throw new SessionError(`the saved state was learned with ${k} = ${JSON.stringify(saved[k])}, this run has ${JSON.stringify(c[k])}`);
    }
    if (s.step > c.steps) throw new SessionError(`the saved state is at step ${s.step}, past the run's ${c.steps} steps`);
    const draws = s.step * c.samplesPerStep;
    const sites = s.sites.map((x) => {
      const st = L.sites.find((y) => y.site.name === x.name);
      if (!st) throw new SessionError(`the saved state has logits for ${x.name}, which this model does not mask`);
      let rng = st.rng;
      for (let k = 0; k < draws; k++) rng = nextSamplePosition(rng, st.g, L.pattern);
      return { ...x, rng };
    });
    L.restore(s.step, sites);
  }

  /** Per-group choice, confidence at the current κ and flips since the last evaluation, for one site. */
  async maskView(site: number) {
    if (!this.learner || !this.config) throw new SessionError('the mask view needs a MaskLLM run');
    const kappa = scheduleAt(toHyper(this.config), this.learner.step).kappa;
    return { ...(await this.learner.maskView(site, kappa)), site: this.model!.maskSites[site].name, layout: this.model!.maskSites[site].layout };
  }

  /**
   * One group up close (the page's group view): its m frozen weights, its C logits (MaskLLM runs)
   * and the schedule's κ and τ now. Reads only those values, not the layer.
   */
  async groupView(site: number, group: number): Promise<GroupData> {
    const model = this.model;
    const c = this.config;
    if (!model || !c) throw new SessionError('the group view needs a loaded model');
    const s = model.maskSites[site];
    if (!s) throw new SessionError(`no masked layer ${site} (the model has ${model.maskSites.length})`);
    const g = groupLayout(s.shape, s.layout, c.m);
    if (!Number.isInteger(group) || group < 0 || group >= g.groups) throw new SessionError(`group ${group} is not one of ${s.name}'s ${g.groups} groups`);
    const w = model.weights.get(s.name)!.raw;
    const weights = await readElements(
      this.engine,
      w,
      Array.from({ length: c.m }, (_, k) => elementIndex(g, group, k)),
    );
    const C = nmPattern(c.n, c.m).candidates.length;
    const logits = this.learner
      ? await readElements(
          this.engine,
          this.learner.sites[site].logits,
          Array.from({ length: C }, (_, k) => group * C + k),
        )
      : null;
    const step = this.learner?.step ?? 0;
    const { kappa, tau } = scheduleAt(toHyper(c), step);
    const perRow = g.cols / g.m;
    return { site: s.name, group, row: Math.floor(group / perRow), col: (group % perRow) * g.m, weights, logits, kappa, tau, step };
  }

  /** Hard masks of the current method as mask entries (MaskLLM: argmax of the logits). */
  async masks(): Promise<MaskEntry[]> {
    const c = this.config!;
    let masks: Map<string, Uint8Array>;
    if (this.learner) masks = await this.learner.hardMasks();
    else {
      const r = this.oneShotResults.get(c.method === 'sparsegpt' && c.sparsegptUpdate ? 'sparsegpt+update' : c.method);
      if (!r) throw new SessionError('no mask yet');
      masks = r.masks;
    }
    return this.model!.maskSites.map((s) => ({ name: s.name, shape: s.shape, layout: s.layout, mask: masks.get(s.name)! }));
  }

  async exportMask(format: 'safetensors' | 'packed' | 'state'): Promise<Uint8Array> {
    const c = this.config!;
    if (format === 'state') {
      if (!this.learner) throw new SessionError('only a MaskLLM run has a resumable state');
      const sites = await this.learner.state();
      return encodeState({
        version: 1,
        config: c,
        step: this.learner.step,
        rng: { seed: c.seed, stream: 0, offset: this.learner.step * c.samplesPerStep },
        sites: sites.map((s) => ({ name: s.name, logits: s.logits, m: s.m, v: s.v })),
        metrics: { rows: this.metrics.length },
      });
    }
    const entries = await this.masks();
    const meta = { n: c.n, m: c.m, model: this.modelName };
    return format === 'safetensors' ? exportMaskSafetensors(entries, meta) : exportMaskPacked(entries, meta);
  }

  dispose(): void {
    this.learner?.dispose();
    this.learner = null;
    this.model?.dispose();
    this.model = null;
    this.oneShotResults.clear();
    this.table = [];
    this.metrics = [];
    this.evaluations = [];
  }
}

/** A few elements of a device tensor (copied into a small one and read back, not the whole tensor). */
async function readElements(e: Engine, t: RawTensor, indices: number[]): Promise<number[]> {
  if (t.dtype === 'f16') {
    // packed f16 (weightStorage 'f16'): copy the words that hold them, decode on the host
    const words = new RawTensor(e, [Math.ceil(t.size / 2)], 'u32', null, t.buffer, false);
    const picked = e.empty([indices.length], 'u32');
    try {
      indices.forEach((i, k) => e.copyRegion(words, i >>> 1, picked, k, 1));
      const got = await e.read(picked);
      return indices.map((i, k) => f16BitsToF32((got[k] >>> ((i & 1) * 16)) & 0xffff));
    } finally {
      picked.dispose();
    }
  }
  const out = e.empty([indices.length]);
  try {
    indices.forEach((i, k) => e.copyRegion(t, i, out, k, 1));
    return Array.from(await e.read(out));
  } finally {
    out.dispose();
  }
}
