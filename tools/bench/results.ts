// The bench's JSON (bench/results.json) — written by tools/bench/run.ts, rendered by ./report.ts.

export interface BenchOptions {
  /** timed runs per measurement (after one warm-up); ≥ 5 for reported numbers */
  reps: number;
  /** mask-learning steps timed per model (after one warm-up step) */
  stepReps: number;
  /** measure every fitting variant (else only the chosen one and the scalar 4×4) */
  allVariants: boolean;
  tfjs: boolean;
  fusion: boolean;
  sparse24: boolean;
  steps: ('tiny-gpt' | 'tiny-vit')[];
  /** only the first N shapes (quick runs) */
  maxShapes?: number;
}

export interface MatmulRow {
  label: string;
  shape: string;
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
  chosen: string;
  /** GFLOP/s of the engine's choice */
  ours: number;
  variants: Record<string, number>;
  tfjsWebgpu: number | null;
  tfjsWasm: number | null;
  /**
   * Throughput, GFLOP/s: CHAIN products back to back, then one readback of the last (as in a
   * learning step, where no product is read back on its own); same for ours and for tfjs.
   */
  chained?: { ours: number; plain?: number; tfjsWebgpu: number | null; tfjsWasm: number | null };
  /**
   * GPU time of one product by timestamp queries (ms, median): ours through the engine's profiler,
   * tfjs-webgpu through tf.time's kernelMs (the sum over every program its matMul runs).
   */
  kernelMs?: { ours: number; plain?: number; tfjsWebgpu: number | null };
  /** ms (median) of reading back an M×N product that is already computed: the fixed cost in `ours` */
  readbackMs?: number;
}

/** Products per timed run of the chained (throughput) measure. */
export const CHAIN = 4;

export interface FusionRow {
  shape: string;
  /** applyMask pass + matmul, ms (median) */
  separateMs: number;
  /** matmul with bMask (W ⊙ m in the load), ms */
  fusedMs: number;
  maxRelDiff: number;
}

export interface Sparse24Row {
  shape: string;
  denseMs: number;
  compressedMs: number;
  denseWeightBytes: number;
  compressedWeightBytes: number;
  /** max |compressed − dense masked (f16 weights)| / max |dense| */
  maxRelErr: number;
}

export interface KernelRow {
  kernel: string;
  ms: number;
  calls: number;
}

export interface StepResult {
  model: string;
  batch: string;
  /** tokens (GPT) or images (ViT) per optimizer step */
  items: number;
  itemName: string;
  stepMs: number[];
  itemsPerSecond: number;
  perStep: { dispatches: number; submits: number; readbacks: number };
  pipelinesCompiledDuringTimedSteps: number;
  bindGroupsCreatedDuringTimedSteps: number;
  /** from timestamp queries of one profiled step (null without timestamp-query) */
  kernelMs: number | null;
  profiledWallMs: number | null;
  kernels: KernelRow[];
  maskedWeights: number;
  /**
   * The same step on the reference path (MaskLearner fusedSample: false: a sampling pass, then a
   * separate W ⊙ m pass per site), timed right after the fused steps on the same model.
   */
  unfused: { stepMs: number[]; dispatches: number } | null;
}

export interface TorchResult {
  available: boolean;
  reason?: string;
  version?: string;
  threads?: number;
  blas?: string;
  steps?: { model: string; items: number; itemName: string; stepMs: number[]; itemsPerSecond: number }[];
}

export interface BenchResults {
  env: {
    userAgent: string;
    adapter: { vendor: string; architecture: string; device: string; description: string };
    timestampQuery: boolean;
    tfjs: string;
    tfjsWasmThreads: string;
    crossOriginIsolated: boolean;
    hardwareConcurrency: number;
  };
  options: BenchOptions;
  matmul: MatmulRow[];
  fusion: FusionRow[];
  sparse24: Sparse24Row[];
  steps: StepResult[];
  errors: string[];
  pageSeconds: number;
}

// ---- `npm run bench -- --gpt2-small` (bench/gpt2-small.json), written by ./gpt2-small.ts ----

/** The machine's 1-minute load average (/proc/loadavg) and the other processes over 20% CPU (ps). */
export interface MachineLoad {
  loadavg1: number;
  otherHeavyProcesses: string[];
}

/** Wall seconds of each phase of one GPT-2-small run, from the session's events (see phaseTimes). */
export interface Gpt2SmallPhases {
  /** load() called → the model built and its weights uploaded (the 'model' event) */
  load: number;
  /** the tokenizer loaded and the lab's text tokenized (GPT-2 BPE) */
  tokenizing: number;
  /** the run's kernels named by recording one forward, two steps and two evaluations, then compiled */
  compiling: number;
  /** the dense model's evaluation (the table's first row) */
  denseEvaluation: number;
  /**
   * per one-shot baseline, in the order computed: its masks (compute) and its evaluation; compute
   * is null (0 in older results) when the baseline reports no per-site progress (magnitude): its
   * masks are then timed with its evaluation
   */
  baselines: { key: string; compute: number | null; evaluation: number }[];
  /** the last baseline's row → load() returned (the MaskLLM learner made from the prior) */
  learnerSetup: number;
  /** one MaskLLM step, its metrics row read back */
  learningStep: number;
  /** the final hard-mask evaluation (the table's MaskLLM row) */
  evaluation: number;
}

export interface Gpt2SmallRow {
  key: string;
  label: string;
  en: { loss: number; bitsPerByte: number | null } | null;
  code: { loss: number; bitsPerByte: number | null } | null;
}

export interface Gpt2SmallRun {
  /** the lab configuration's fields this run sets (the rest are DEFAULT_CONFIG's) */
  config: {
    method: string;
    prior: string;
    batch: number;
    context: number;
    steps: number;
    calibBatches: number;
    evalWindows: number;
    memoryBudget: number;
    seed: number;
  };
  seconds: Gpt2SmallPhases & { total: number };
  /** pipelines compiled ahead of the run (the 'compiling' phase's total) */
  kernelsCompiled: number;
  /** the MaskLLM prior: computed once as a baseline and reused for the learner's logits */
  prior: { method: string; reusedBaseline: boolean };
  /** the learning step's loss */
  stepLoss: number | null;
  table: Gpt2SmallRow[];
  /** the memory plan's GPU total and the buffer pool's peak since the load */
  gpuMemory: { plannedBytes: number; peakBytes: number } | null;
  /** process.resourceUsage().maxRSS after the run: the process's peak resident memory so far (SwiftShader's GPU buffers live in it) */
  maxRssBytes: number;
  /** CPU seconds this process used during the run (user + system, every thread: SwiftShader's included) */
  cpuSeconds: number;
  /** the machine's load: before and after the run, and the 1-minute load average sampled during it (it includes this run's own threads) */
  machine: { before: MachineLoad; after: MachineLoad; loadavg1: { samples: number; mean: number; max: number } };
  webgpuErrors: string[];
}

export interface Gpt2SmallResults {
  date: string;
  /** the WebGPU adapter (Node's `webgpu` package, Dawn) */
  adapter: string;
  node: string;
  cores: number;
  /** a development run on a smaller shape (--layers): not GPT-2 small, never written to bench/ */
  dev: boolean;
  model: {
    layers: number;
    nEmbd: number;
    nHead: number;
    nPositions: number;
    vocabSize: number;
    parameters: number;
    maskedWeights: number;
    dtype: 'F32';
    checkpointBytes: number;
  };
  /** writing the checkpoint tensor by tensor, and reading it back into memory for LabSession.load */
  writeSeconds: number;
  readSeconds: number;
  runs: Gpt2SmallRun[];
  /** contexts whose run threw (refused by the memory plan or the device's limits, or failed): the error as the lab gave it */
  failed: { context: number; error: string; seconds: number }[];
}
