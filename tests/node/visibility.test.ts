// hide= → what the page renders (src/ui/visibility.ts). The React side only asks these questions,
// so the rules are checked here; e2e/page.spec.ts checks that the page follows them.
import { describe, expect, it } from 'vitest';
import { FIELDS } from '../../src/lab/config';
import { decodeConfigFromSearch, HIDEABLE_PANELS } from '../../src/lab/url-config';
import { CONFIG_GROUPS, SHOW_ALL, shownBy } from '../../src/ui/visibility';

describe('hide= visibility', () => {
  it('every field except model and preset has exactly one control in the experiment panel', () => {
    const inGroups = CONFIG_GROUPS.flatMap((g) => g.keys);
    expect(new Set(inGroups).size, 'a field listed twice').toBe(inGroups.length);
    const expected = FIELDS.map((f) => f.key).filter((k) => k !== 'model' && k !== 'preset');
    expect([...inGroups].sort()).toEqual([...expected].sort());
  });

  it('nothing hidden shows every panel, field and group', () => {
    for (const p of HIDEABLE_PANELS) expect(SHOW_ALL.panel(p), p).toBe(true);
    for (const f of FIELDS) expect(SHOW_ALL.field(f.key), f.key).toBe(true);
    expect(SHOW_ALL.groups()).toEqual(CONFIG_GROUPS.map((g) => ({ title: g.title, keys: [...g.keys] })));
    expect(SHOW_ALL.configPanel()).toBe(true);
    expect(SHOW_ALL.resultsPanel()).toBe(true);
  });

  it('hides exactly the names given, from a decoded URL', () => {
    const d = decodeConfigFromSearch('seed=77&hide=mask,seed,lr,selftest');
    const s = shownBy(d.hide);
    expect(s.panel('mask')).toBe(false);
    expect(s.panel('selftest')).toBe(false);
    for (const p of HIDEABLE_PANELS.filter((p) => p !== 'mask' && p !== 'selftest')) expect(s.panel(p), p).toBe(true);
    expect(s.field('seed')).toBe(false);
    expect(s.field('lr')).toBe(false);
    expect(s.field('lrMin')).toBe(true);
    // hiding a control leaves its value alone
    expect(d.config.seed).toBe(77);
    const run = s.groups().find((g) => g.title === 'Run')!;
    expect(run.keys).toEqual([
      'steps',
      'batch',
      'samplesPerStep',
      'evalEvery',
      'evalWindows',
      'context',
      'trainDomain',
      'memoryBudget',
      'kernels',
      'weightStorage',
    ]);
    expect(s.groups().find((g) => g.title === 'Optimizer')!.keys).toEqual(['lrMin', 'weightDecay', 'clip']);
  });

  it('a group whose fields are all hidden is dropped; the panel goes when nothing is left in it', () => {
    const optimizer = CONFIG_GROUPS.find((g) => g.title === 'Optimizer')!.keys;
    expect(
      shownBy(optimizer)
        .groups()
        .map((g) => g.title),
    ).toEqual(['Method', 'Schedules', 'Run']);
    const everyControl = CONFIG_GROUPS.flatMap((g) => g.keys);
    // the preset buttons still show
    expect(shownBy(everyControl).configPanel()).toBe(true);
    expect(shownBy([...everyControl, 'preset']).configPanel()).toBe(false);
    expect(shownBy(['config']).configPanel()).toBe(false);
  });

  it('the results panel goes only when both the table and the exports are hidden', () => {
    expect(shownBy(['table']).resultsPanel()).toBe(true);
    expect(shownBy(['export']).resultsPanel()).toBe(true);
    expect(shownBy(['table', 'export']).resultsPanel()).toBe(false);
  });
});
