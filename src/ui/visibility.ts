// What `hide=` (docs/EMBED.md) removes from the page. Pure: the node tests import it; the React side
// reads the hidden names from the store through useShown (use-shown.ts).
//
// Hidden means not rendered at all (not display:none), so a hidden control is out of the tab order
// and the accessibility tree, and no label or aria-describedby points at it. Its value is untouched:
// it stays what the URL or the default made it, and setConfig (postMessage, window.lab) still sets it.
import type { ExperimentConfig } from '../lab/config';
import type { HIDEABLE_PANELS } from '../lab/url-config';

export type PanelName = (typeof HIDEABLE_PANELS)[number];
export type FieldKey = keyof ExperimentConfig;

export interface ConfigGroup {
  title: string;
  keys: readonly FieldKey[];
}

/**
 * The experiment panel's field groups, in display order. Every FIELDS key except `model` (chosen in
 * the model panel) and `preset` (the preset buttons) appears exactly once; a node test checks that,
 * so a new field cannot be left without a control that `hide=` could remove.
 */
export const CONFIG_GROUPS: readonly ConfigGroup[] = [
  { title: 'Method', keys: ['method', 'prior', 'n', 'm', 'sparsegptUpdate', 'calibBatches'] },
  { title: 'Schedules', keys: ['kappaStart', 'kappaEnd', 'tauStart', 'tauEnd', 'sigma0', 'priorStrength', 'lambda', 'lambdaDecay'] },
  { title: 'Optimizer', keys: ['lr', 'lrMin', 'weightDecay', 'clip'] },
  {
    title: 'Run',
    keys: ['steps', 'batch', 'samplesPerStep', 'seed', 'evalEvery', 'evalWindows', 'context', 'trainDomain', 'memoryBudget', 'kernels', 'weightStorage'],
  },
];

export interface Shown {
  /** a panel is shown unless hide= named it */
  panel(name: PanelName): boolean;
  /** a field's control is shown unless hide= named the field */
  field(key: FieldKey): boolean;
  /** the groups with their shown keys, in order; groups left empty are dropped */
  groups(groups?: readonly ConfigGroup[]): ConfigGroup[];
  /** the experiment panel has something left to show (it is not hidden, and not every control in it is) */
  configPanel(): boolean;
  /** the results panel has something left to show (the table or the exports) */
  resultsPanel(): boolean;
}

/** The visibility for a list of hidden names (as decodeConfigFromSearch returns them). */
export function shownBy(hidden: Iterable<string>): Shown {
  const set = new Set(hidden);
  const shown: Shown = {
    panel: (name) => !set.has(name),
    field: (key) => !set.has(key),
    groups: (groups = CONFIG_GROUPS) => groups.map((g) => ({ title: g.title, keys: g.keys.filter((k) => !set.has(k)) })).filter((g) => g.keys.length > 0),
    configPanel: () => shown.panel('config') && (shown.field('preset') || shown.groups().length > 0),
    resultsPanel: () => shown.panel('table') || shown.panel('export'),
  };
  return shown;
}

/** Nothing hidden. */
export const SHOW_ALL: Shown = shownBy([]);
