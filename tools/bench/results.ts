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
