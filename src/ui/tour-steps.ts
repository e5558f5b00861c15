// The guided tour's steps: what each says and which part of the page it points at. Pure data (the
// e2e tour spec keeps its own list of the expected targets). The texts follow
// ../shared/docs/MASKLLM.md: candidate set, softmax(κπ), Gumbel noise, τ and κ schedules, the prior.
import type { PanelName } from './visibility';

export interface TourStep {
  title: string;
  /** two to four sentences, one paragraph each entry */
  text: readonly string[];
  /**
   * data-testid values of the element to highlight, best first: the finer ones exist only once a
   * model is loaded, so the step falls back to the panel around them.
   */
  targets: readonly string[];
  /** the hide= panel that holds the targets: when hidden, the step says so instead of pointing */
  panel: PanelName;
  /** how the step names that panel in its note */
  panelLabel: string;
}

export const TOUR_STEPS: readonly TourStep[] = [
  {
    title: 'A 2:4 mask keeps 2 of every 4 weights',
    text: [
      'Each weight matrix is cut into groups of 4 neighbouring weights along its input dimension. A 2:4 mask keeps exactly 2 weights of every group and zeroes the other 2: half the weights go, in a regular pattern that sparse GPU kernels can skip.',
      'The weights stay frozen; MaskLLM only learns which 2 survive. Here are the four weights of one group, each multiplied by its mask value.',
    ],
    targets: ['group-weights', 'group-view'],
    panel: 'group',
    panelLabel: 'the group view',
  },
  {
    title: 'The six candidates',
    text: [
      'There are C(4,2) = 6 ways to keep 2 of 4, so choosing a group’s mask means choosing one of these six patterns. Each group has one learnable logit π per candidate, and softmax(κπ) turns the six logits into probabilities.',
      'With a prior, the candidate a one-shot method picked (SparseGPT by default) starts with a higher logit. ★ marks argmax π: the mask the group keeps when learning ends.',
    ],
    targets: ['group-candidates', 'group-view'],
    panel: 'group',
    panelLabel: 'the group view',
  },
  {
    title: 'Sampling with κ and τ',
    text: [
      'Each step draws a mask instead of choosing one: Gumbel noise g is added to κπ and softmax((κπ + g)/τ) gives a soft mix of the candidates, so the loss sends a gradient to every logit.',
      'κ scales the logits: with a small κ the draws stay random, with a large κ the largest logit wins every draw. τ is the temperature: a large τ blends the candidates, a small τ makes each draw almost one candidate. Move the sliders and press Resample.',
    ],
    targets: ['group-controls', 'group-view'],
    panel: 'group',
    panelLabel: 'the group view',
  },
  {
    title: 'What learning changes',
    text: [
      'Learning changes only the logits π: gradient steps on the model’s loss, taken through the soft masks, raise the candidates that hurt it least (a small reward for keeping large weights helps). Over the run κ grows and τ falls, so the draws go from exploring to nearly fixed.',
      'The layer map shows every masked layer small, with how sure its choices are, and one layer large: each weight kept (blue, darker for a larger weight) or pruned (grey), or coloured by confidence or by the chosen candidate; groups flipped since the last evaluation are red. Fewer flips and higher confidence mean the mask is settling. Click a cell to see its group up close above.',
    ],
    targets: ['mask-view'],
    panel: 'mask',
    panelLabel: 'the layer map',
  },
  {
    title: 'Compare with the one-shot baselines',
    text: [
      'Magnitude, Wanda and SparseGPT pick each group’s 2 of 4 in one shot, layer by layer, from the weights (Wanda and SparseGPT also from a few batches of activations). The table puts their validation scores next to the dense model and, when a run ends, the learned mask.',
      'MaskLLM trains all masks together against the loss of the whole model, which is how it can beat masks chosen one layer at a time. Press Run in the bar at the top to watch it happen.',
    ],
    targets: ['results-table', 'results-panel'],
    panel: 'table',
    panelLabel: 'the results table',
  },
];
