// The whole experiment as one flat, serialisable object: what the page's controls edit, what the URL
// carries, what the CLI parses and what a run directory records. Every field has a default, bounds
// and a one-line explanation (shown next to its control).
import { PRESETS, type MaskLLMHyper } from '../sparsity/schedule';
import type { WeightStorage } from '../models/weights';
import { ONE_SHOT_METHODS, TEXT_DOMAINS } from './names';

export const CONFIG_VERSION = 1;

/** The choices of the choice fields (FIELDS reads them; the types derive from them). */
export const METHODS = ['maskllm', ...ONE_SHOT_METHODS] as const;
export type Method = (typeof METHODS)[number];
export const PRIOR_KINDS = ['none', ...ONE_SHOT_METHODS, 'file'] as const;
export type PriorKind = (typeof PRIOR_KINDS)[number];
export const PRESET_NAMES = ['tunedSmall', 'paperLLM', 'paperViT'] as const satisfies readonly (keyof typeof PRESETS)[];
export type PresetName = (typeof PRESET_NAMES)[number];
/** GPT: the text the masks learn from (mixed = English + code). */
export const TRAIN_DOMAINS = ['mixed', ...TEXT_DOMAINS] as const;
export type TextDomain = (typeof TRAIN_DOMAINS)[number];
/** Matmul kernels: tuned by measurement on the adapter (src/lab/kernel-tuning.ts), or the built-in picks by shape. */
export const KERNEL_CHOICES = ['tuned', 'built-in'] as const;
export type KernelChoice = (typeof KERNEL_CHOICES)[number];
/** How the masked layers' frozen weights are stored on the GPU (issue 21; src/models/weights.ts). */
export const WEIGHT_STORAGES = ['f32', 'f16'] as const satisfies readonly WeightStorage[];

export interface ExperimentConfig {
  model: string;
  method: Method;
  prior: PriorKind;
  n: number;
  m: number;
  preset: PresetName;
  kappaStart: number;
  kappaEnd: number;
  tauStart: number;
  tauEnd: number;
  sigma0: number;
  priorStrength: number;
  lambda: number;
  lambdaDecay: boolean;
  lr: number;
  lrMin: number;
  weightDecay: number;
  clip: number;
  samplesPerStep: number;
  batch: number;
  steps: number;
  seed: number;
  evalEvery: number;
  /** calibration batches for Wanda / SparseGPT (and their priors) */
  calibBatches: number;
  /** SparseGPT as a baseline: with the OBS weight update */
  sparsegptUpdate: boolean;
  /** GPT: which text the masks learn from */
  trainDomain: TextDomain;
  /** GPT: validation windows per domain in each evaluation (0 = the whole split) */
  evalWindows: number;
  /** GPT: tokens per window, learning and evaluation (0 = the model's n_positions) */
  context: number;
  /** GiB of GPU memory the run may plan to use (memory-plan.ts; WebGPU cannot ask the GPU how much it has) */
  memoryBudget: number;
  /** GPU kernels: measured on this adapter and cached ('tuned'; CPU adapters keep the built-in picks), or the built-in picks */
  kernels: KernelChoice;
  /** the masked layers' frozen weights on the GPU: f32, or packed f16 (half the memory; WebGPU engine only) */
  weightStorage: WeightStorage;
}

type NumKey = { [K in keyof ExperimentConfig]: ExperimentConfig[K] extends number ? K : never }[keyof ExperimentConfig];

export interface FieldSpec {
  key: keyof ExperimentConfig;
  label: string;
  help: string;
  kind: 'int' | 'number' | 'bool' | 'choice' | 'string';
  min?: number;
  max?: number;
  choices?: readonly string[];
}

export const FIELDS: FieldSpec[] = [
  { key: 'model', label: 'Model', help: 'The frozen model whose masks are learned: a bundled checkpoint or one opened from disk.', kind: 'string' },
  {
    key: 'method',
    label: 'Method',
    help: 'MaskLLM learns masks end to end; magnitude, Wanda and SparseGPT are one-shot baselines.',
    kind: 'choice',
    choices: METHODS,
  },
  { key: 'prior', label: 'Prior', help: 'One-shot mask whose candidate gets a head start in the logits (MaskLLM only).', kind: 'choice', choices: PRIOR_KINDS },
  { key: 'n', label: 'N (kept)', help: 'Weights kept in every group of M.', kind: 'int', min: 1, max: 7 },
  { key: 'm', label: 'M (group)', help: 'Group length along the input dimension (M ≤ 8).', kind: 'int', min: 2, max: 8 },
  { key: 'preset', label: 'Preset', help: 'Starting values for the hyper-parameters below.', kind: 'choice', choices: PRESET_NAMES },
  { key: 'kappaStart', label: 'κ start', help: 'Logit scale at step 0: small κ keeps masks random.', kind: 'number', min: 1e-3, max: 1e6 },
  { key: 'kappaEnd', label: 'κ end', help: 'Logit scale at the last step: large κ freezes masks.', kind: 'number', min: 1e-3, max: 1e6 },
  { key: 'tauStart', label: 'τ start', help: 'Gumbel-softmax temperature at step 0 (soft, exploring).', kind: 'number', min: 1e-4, max: 100 },
  { key: 'tauEnd', label: 'τ end', help: 'Temperature at the last step (nearly one-hot).', kind: 'number', min: 1e-4, max: 100 },
  { key: 'sigma0', label: 'σ0', help: 'Std of the initial logits; only κ·σ0 matters.', kind: 'number', min: 0, max: 10 },
  { key: 'priorStrength', label: 'Prior strength α', help: 'How many logit stds the prior candidate is lifted by.', kind: 'number', min: 0, max: 100 },
  { key: 'lambda', label: 'λ (regulariser)', help: 'Reward for keeping large weights: −λ Σ (W⊙m)².', kind: 'number', min: 0, max: 1 },
  { key: 'lambdaDecay', label: 'Decay λ', help: 'λ falls linearly to 0 over the run (the LLM recipe).', kind: 'bool' },
  { key: 'lr', label: 'Learning rate', help: 'AdamW learning rate of the logits at step 0 (cosine schedule).', kind: 'number', min: 0, max: 10 },
  { key: 'lrMin', label: 'Final learning rate', help: 'Learning rate at the last step.', kind: 'number', min: 0, max: 10 },
  { key: 'weightDecay', label: 'Weight decay', help: 'AdamW decoupled weight decay on the logits.', kind: 'number', min: 0, max: 10 },
  { key: 'clip', label: 'Grad-norm clip', help: 'Global gradient-norm clipping of the logits.', kind: 'number', min: 1e-6, max: 1e6 },
  { key: 'samplesPerStep', label: 'Samples per step', help: 'Mask samples (each on its own batch) averaged per optimizer step.', kind: 'int', min: 1, max: 64 },
  { key: 'batch', label: 'Batch', help: 'Sequences (GPT) or images (ViT) per sample.', kind: 'int', min: 1, max: 1024 },
  { key: 'steps', label: 'Steps', help: 'Optimizer steps; the κ, τ, λ and lr schedules span them.', kind: 'int', min: 1, max: 100000 },
  { key: 'seed', label: 'Seed', help: 'Seeds logits, Gumbel noise and batches: same seed, same run.', kind: 'int', min: 0, max: 2 ** 32 - 1 },
  { key: 'evalEvery', label: 'Evaluate every', help: 'Steps between hard-mask validation evaluations.', kind: 'int', min: 1, max: 100000 },
  { key: 'calibBatches', label: 'Calibration batches', help: 'Batches of calibration data for Wanda and SparseGPT.', kind: 'int', min: 1, max: 256 },
  { key: 'sparsegptUpdate', label: 'SparseGPT weight update', help: 'SparseGPT baseline with its OBS weight update (priors never update).', kind: 'bool' },
  { key: 'trainDomain', label: 'Training text', help: 'GPT: text the masks learn from (mixed = English + code).', kind: 'choice', choices: TRAIN_DOMAINS },
  { key: 'evalWindows', label: 'Eval windows', help: 'GPT: validation windows per domain per evaluation (0 = all).', kind: 'int', min: 0, max: 100000 },
  {
    key: 'context',
    label: 'Context',
    help: "GPT: tokens per window when learning and evaluating (0 = the model's n_positions; shorter is faster and needs less memory).",
    kind: 'int',
    min: 0,
    max: 65536,
  },
  {
    key: 'memoryBudget',
    label: 'GPU memory (GiB)',
    help: 'The most GPU memory a run may plan to use; larger runs are refused before loading. WebGPU cannot ask the GPU how much it has: raise it if yours has more.',
    kind: 'number',
    min: 0.25,
    max: 1024,
  },
  {
    key: 'kernels',
    label: 'GPU kernels',
    help: 'tuned: time the matmul variants on this GPU once and keep the fastest (cached per GPU, driver and lab version; CPU adapters are not tuned); built-in: the picks by shape.',
    kind: 'choice',
    choices: KERNEL_CHOICES,
  },
  {
    key: 'weightStorage',
    label: 'Weight storage',
    help: "f16: the masked layers' frozen weights are kept on the GPU as 16-bit floats, half their memory (rounded once at load; a weight beyond ±65504 is refused). The kernels still compute in f32. WebGPU engine only.",
    kind: 'choice',
    choices: WEIGHT_STORAGES,
  },
];

/** The hyper-parameters a preset sets (only sanitizeConfig applies them: callers pass `preset`). */
function presetFields(
  name: PresetName,
): Pick<
  ExperimentConfig,
  | 'kappaStart'
  | 'kappaEnd'
  | 'tauStart'
  | 'tauEnd'
  | 'sigma0'
  | 'priorStrength'
  | 'lambda'
  | 'lambdaDecay'
  | 'lr'
  | 'lrMin'
  | 'weightDecay'
  | 'clip'
  | 'samplesPerStep'
  | 'steps'
> {
  const h = PRESETS[name];
  return {
    kappaStart: h.kappa[0],
    kappaEnd: h.kappa[1],
    tauStart: h.tau[0],
    tauEnd: h.tau[1],
    sigma0: h.sigma0,
    priorStrength: h.priorStrength,
    lambda: h.lambda,
    lambdaDecay: h.lambdaDecay,
    lr: h.lr,
    lrMin: h.lrMin,
    weightDecay: h.weightDecay,
    clip: h.clip,
    samplesPerStep: h.samplesPerStep,
    steps: h.steps,
  };
}

export const DEFAULT_CONFIG: ExperimentConfig = {
  model: 'tiny-gpt',
  method: 'maskllm',
  prior: 'sparsegpt',
  n: 2,
  m: 4,
  preset: 'tunedSmall',
  ...presetFields('tunedSmall'),
  steps: 300,
  batch: 8,
  seed: 1,
  evalEvery: 50,
  calibBatches: 8,
  sparsegptUpdate: true,
  trainDomain: 'mixed',
  evalWindows: 64,
  context: 0,
  memoryBudget: 4,
  kernels: 'tuned',
  weightStorage: 'f32',
};

export function toHyper(c: ExperimentConfig): MaskLLMHyper {
  return {
    kappa: [c.kappaStart, c.kappaEnd],
    tau: [c.tauStart, c.tauEnd],
    sigma0: c.sigma0,
    priorStrength: c.priorStrength,
    lambda: c.lambda,
    lambdaDecay: c.lambdaDecay,
    lr: c.lr,
    lrMin: c.lrMin,
    betas: PRESETS[c.preset].betas,
    weightDecay: c.weightDecay,
    clip: c.clip,
    samplesPerStep: c.samplesPerStep,
    steps: c.steps,
  };
}

/** A field's value or a cross-field rule refused; `field` names the field when one is to blame. */
export class ConfigValueError extends Error {
  constructor(
    message: string,
    readonly field: keyof ExperimentConfig | null = null,
  ) {
    super(message);
  }
}

/**
 * Check one field's value; returns the value or throws a ConfigValueError that names the field,
 * the value and what is allowed.
 */
export function checkField(spec: FieldSpec, v: unknown): ExperimentConfig[keyof ExperimentConfig] {
  const name = spec.key;
  const refuse = (message: string) => new ConfigValueError(message, name);
  switch (spec.kind) {
    case 'int':
    case 'number': {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw refuse(`${name} must be a finite number (got ${JSON.stringify(v)})`);
      if (spec.kind === 'int' && !Number.isInteger(v)) throw refuse(`${name} must be an integer (got ${v})`);
      if (spec.min !== undefined && v < spec.min) throw refuse(`${name} must be ≥ ${spec.min} (got ${v})`);
      if (spec.max !== undefined && v > spec.max) throw refuse(`${name} must be ≤ ${spec.max} (got ${v})`);
      return v;
    }
    case 'bool':
      if (typeof v !== 'boolean') throw refuse(`${name} must be true or false (got ${JSON.stringify(v)})`);
      return v;
    case 'choice':
      if (typeof v !== 'string' || !spec.choices!.includes(v)) throw refuse(`${name} must be one of ${spec.choices!.join(', ')} (got ${JSON.stringify(v)})`);
      return v as ExperimentConfig[keyof ExperimentConfig];
    case 'string':
      if (typeof v !== 'string' || v.length === 0 || v.length > 200) throw refuse(`${name} must be a non-empty string of at most 200 characters`);
      return v;
  }
}

/** Cross-field rules, each with a specific message. */
export function crossCheck(c: ExperimentConfig): string[] {
  const problems: string[] = [];
  if (c.n >= c.m) problems.push(`N (${c.n}) must be smaller than M (${c.m})`);
  if (c.lrMin > c.lr) problems.push(`the final learning rate (${c.lrMin}) exceeds the initial one (${c.lr})`);
  if (c.method !== 'maskllm' && c.prior === 'file') problems.push('a prior file only applies to MaskLLM');
  return problems;
}

const FIELD_BY_KEY = new Map<string, FieldSpec>(FIELDS.map((f) => [f.key, f]));
const PRESET_SPEC = FIELD_BY_KEY.get('preset')!;
const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

export interface SanitizeOptions {
  /** throw a ConfigValueError at the first problem instead of warning and falling back (CLI, code) */
  strict?: boolean;
}

/**
 * THE way a configuration is made from a partial one, for every entry point: the page's store, the
 * URL, postMessage, `window.lab`, the CLI and the experiments. In order:
 * 1. a valid `preset` in the partial resets the hyper-parameters of `base` to the preset's (so a
 *    preset set alone on an existing config means "these hyper-parameters");
 * 2. every other field given explicitly wins on top of that (bounds and choices checked per field);
 * 3. the cross-field rules.
 * Lenient (default): an invalid or unknown field is a warning and keeps its value from `base` (after
 * the preset); a broken cross-field rule is a warning and N:M and the learning rates fall back.
 * Strict: the first problem throws a ConfigValueError (naming the field when one is to blame).
 */
export function sanitizeConfig(
  input: unknown,
  base: ExperimentConfig = DEFAULT_CONFIG,
  opts: SanitizeOptions = {},
): { config: ExperimentConfig; warnings: string[] } {
  const warnings: string[] = [];
  const problem = (e: unknown, fallback: string) => {
    if (opts.strict) throw e instanceof ConfigValueError ? e : new ConfigValueError(String(e));
    warnings.push(`${(e as Error).message}; ${fallback}`);
  };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    if (opts.strict) throw new ConfigValueError('the configuration must be an object of field: value pairs');
    return { config: { ...base }, warnings: ['the configuration must be an object of field: value pairs'] };
  }
  const given = input as Record<string, unknown>;
  let start = base;
  if (own(given, 'preset')) {
    try {
      const preset = checkField(PRESET_SPEC, given.preset) as PresetName;
      start = { ...base, preset, ...presetFields(preset) };
    } catch (e) {
      problem(e, `using the default ${JSON.stringify(base.preset)}`);
    }
  }
  const config: ExperimentConfig = { ...start };
  for (const [k, v] of Object.entries(given)) {
    if (k === 'preset') continue;
    const spec = FIELD_BY_KEY.get(k);
    if (!spec) {
      if (opts.strict) throw new ConfigValueError(`unknown setting "${k}"`);
      warnings.push(`unknown setting "${k}" ignored`);
      continue;
    }
    try {
      (config as unknown as Record<string, unknown>)[k] = checkField(spec, v);
    } catch (e) {
      problem(e, `using the default ${JSON.stringify(start[spec.key])}`);
    }
  }
  const cross = crossCheck(config);
  if (cross.length && opts.strict) throw new ConfigValueError(cross.join('; '));
  for (const p of cross) {
    warnings.push(`${p}; using the default N:M and learning rates`);
    config.n = start.n;
    config.m = start.m;
    config.lr = start.lr;
    config.lrMin = start.lrMin;
    if (config.method !== 'maskllm' && config.prior === 'file') config.prior = start.prior;
  }
  return { config, warnings };
}

export const numericKeys = FIELDS.filter((f) => f.kind === 'int' || f.kind === 'number').map((f) => f.key as NumKey);
