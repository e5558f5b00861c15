// Names that cross layers — the engine's session, the store and charts, the CLI and its run
// records, the experiments, the embed protocol and the tests: one table each, and the types derive
// from the tables. No runtime imports (the embed client bundles this module).

/** The one-shot methods, each a baseline row and a possible prior. */
export const ONE_SHOT_METHODS = ['magnitude', 'wanda', 'sparsegpt'] as const;
export type OneShotName = (typeof ONE_SHOT_METHODS)[number];

/**
 * The rows of the results table, in the order a run adds them: the dense model, the one-shot
 * baselines (SparseGPT twice: mask only, and with its OBS weight update), then the learned mask.
 */
export const RESULT_KEYS = ['dense', 'magnitude', 'wanda', 'sparsegpt', 'sparsegpt+update', 'maskllm'] as const;
export type ResultKey = (typeof RESULT_KEYS)[number];

/** The results table's label of each row before MaskLLM's (whose label names its prior and steps). */
export const BASELINE_LABELS: Record<Exclude<ResultKey, 'maskllm'>, string> = {
  dense: 'Dense',
  magnitude: 'Magnitude',
  wanda: 'Wanda',
  sparsegpt: 'SparseGPT (mask only)',
  'sparsegpt+update': 'SparseGPT (+ weight update)',
};

/** The results-table key of a one-shot baseline (`sparsegpt+update` with SparseGPT's weight update). */
export function oneShotKey(method: OneShotName, update: boolean): ResultKey {
  if (!update) return method;
  if (method !== 'sparsegpt') throw new Error(`oneShotKey: only SparseGPT updates the weights (got ${method} with update)`);
  return 'sparsegpt+update';
}

/** GPT: the text domains, each evaluated on its own (validation perplexity per domain). */
export const TEXT_DOMAINS = ['en', 'code'] as const;
export type TextDomainName = (typeof TEXT_DOMAINS)[number];

/** ViT: the image splits evaluated (validation during learning, test in the final table). */
export const IMAGE_SPLITS = ['val', 'test'] as const;
export type ImageSplit = (typeof IMAGE_SPLITS)[number];

/** Every key an evaluation (EvalMetrics) can hold: the GPT text domains, then the ViT splits. */
export const EVAL_SPLITS = [...TEXT_DOMAINS, ...IMAGE_SPLITS] as const;
export type EvalSplit = (typeof EVAL_SPLITS)[number];

/** The splits of every data shard on disk (`<domain>.<split>.bin`, see public/data/DATA.md). */
export const DATA_SPLITS = ['train', 'val', 'test'] as const;
export type DataSplit = (typeof DATA_SPLITS)[number];

/**
 * The run's states (owned by LabRunner): idle → loading → ready ⇄ running ⇄ paused → done; any →
 * error. One-shot methods go from loading straight to done (nothing to learn).
 */
export const SESSION_STATES = ['idle', 'loading', 'ready', 'running', 'paused', 'done', 'error'] as const;
export type SessionState = (typeof SESSION_STATES)[number];

/** What a progress event reports: loading files, tokenizing text (BPE models), compiling shaders, baselines, learning steps, the final evaluation. */
export const PROGRESS_PHASES = ['loading', 'tokenizing', 'compiling', 'baselines', 'learning', 'evaluating'] as const;
export type ProgressPhase = (typeof PROGRESS_PHASES)[number];

/** The files a run's mask can be exported as: safetensors (one U8 per weight), packed (the 2:4 index code), the resumable state. */
export const MASK_FORMATS = ['safetensors', 'packed', 'state'] as const;
export type MaskFormat = (typeof MASK_FORMATS)[number];

/** A GPT's tokenizer, chosen by its vocabulary (src/data/tokenizer.ts): bytes (256) or GPT-2's BPE (50257). */
export const TOKENIZER_KINDS = ['bytes', 'gpt2'] as const;
export type TokenizerKind = (typeof TOKENIZER_KINDS)[number];

/**
 * The engine a lab runs on: WebGPU, the TypeScript CPU engine when there is no adapter, or the
 * WebAssembly SIMD engine (src/backend/wasm.ts; not yet offered by the page or the CLI tools).
 */
export const ENGINE_KINDS = ['gpu', 'cpu', 'wasm'] as const;
export type EngineKind = (typeof ENGINE_KINDS)[number];
