// One-shot N:M pruning baselines (hard masks): magnitude, Wanda and SparseGPT, plus the calibration
// statistics they need. See ../shared/docs/MASKLLM.md, "One-shot baselines".
export type OneShotMethod = 'magnitude' | 'wanda' | 'sparsegpt';
export const ONE_SHOT_METHODS: readonly OneShotMethod[] = ['magnitude', 'wanda', 'sparsegpt'];

export { magnitudeMask } from './magnitude';
export { wandaMask } from './wanda';
export { sparseGpt, type SparseGptOptions, type SparseGptResult } from './sparsegpt';
export { HessianAccumulator } from './calibration';
export type { WeightLayout } from '../layout';
