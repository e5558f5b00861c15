// One configuration path: the same partial configuration gives the same ExperimentConfig through
// every entry point — sanitizeConfig itself, the page store (mergeDraft, and setField/applyPreset as
// the controls use them), the learn CLI's options and a hand-written URL. A preset in a partial
// expands first and explicit fields win on top; a preset set alone resets the hyper-parameters.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createStore } from 'zustand/vanilla';
import { DEFAULT_CONFIG, FIELDS, sanitizeConfig, type ExperimentConfig, type FieldSpec } from '../../src/lab/config';
import { decodeConfigFromSearch, encodeConfigToSearch } from '../../src/lab/url-config';
import { sessionSlice, type SessionSlice } from '../../src/state/session-slice';
import { PRESETS } from '../../src/sparsity/schedule';
import { parseArgs } from '../../tools/lib/args';
import { configFromOptions, FIELD_OPTIONS, kebab } from '../../tools/learn';
import { testSeed } from '../helpers/random';

type Partial_ = Partial<Record<keyof ExperimentConfig, string | number | boolean>>;

const newStore = () => createStore<SessionSlice>()(sessionSlice as never);

const viaSanitize = (p: Partial_) => sanitizeConfig(p).config;
const viaMergeDraft = (p: Partial_) => newStore().getState().mergeDraft(p).config;
/** The controls: the preset button first, then each field. */
function viaControls(p: Partial_): ExperimentConfig {
  const s = newStore();
  if (p.preset !== undefined) s.getState().applyPreset(p.preset as ExperimentConfig['preset']);
  for (const [k, v] of Object.entries(p)) if (k !== 'preset') s.getState().setField(k as keyof ExperimentConfig, v as never);
  return s.getState().draft;
}
function viaCli(p: Partial_): ExperimentConfig {
  const argv = Object.entries(p).flatMap(([k, v]) => (typeof v === 'boolean' ? [`--${kebab(k)}=${v}`] : [`--${kebab(k)}`, String(v)]));
  return configFromOptions(parseArgs(argv, FIELD_OPTIONS).opts);
}
function viaUrl(p: Partial_): ExperimentConfig {
  const q = new URLSearchParams(Object.entries(p).map(([k, v]) => [k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v)]));
  const d = decodeConfigFromSearch(`?v=1&${q}`);
  expect(d.warnings).toEqual([]);
  return d.config;
}
const ENTRIES = { sanitizeConfig: viaSanitize, mergeDraft: viaMergeDraft, controls: viaControls, cli: viaCli, url: viaUrl };

function expectSameEverywhere(p: Partial_): ExperimentConfig {
  const want = viaSanitize(p);
  for (const [name, entry] of Object.entries(ENTRIES)) expect(entry(p), `${name} for ${JSON.stringify(p)}`).toEqual(want);
  // and the page's share link of the result reads back to it
  expect(decodeConfigFromSearch(encodeConfigToSearch(want)).config).toEqual(want);
  return want;
}

describe('one configuration path', () => {
  it('a preset alone expands to its hyper-parameters, at every entry', () => {
    for (const name of ['paperLLM', 'paperViT', 'tunedSmall'] as const) {
      const c = expectSameEverywhere({ preset: name });
      const h = PRESETS[name];
      expect(c).toMatchObject({
        preset: name,
        kappaStart: h.kappa[0],
        kappaEnd: h.kappa[1],
        tauStart: h.tau[0],
        sigma0: h.sigma0,
        lr: h.lr,
        lrMin: h.lrMin,
        lambdaDecay: h.lambdaDecay,
        clip: h.clip,
        steps: h.steps,
      });
    }
  });

  it('explicit fields win over the preset given with them, at every entry', () => {
    const c = expectSameEverywhere({ preset: 'paperViT', lr: 0.003, steps: 77, lambdaDecay: true });
    expect(c).toMatchObject({ preset: 'paperViT', lr: 0.003, steps: 77, lambdaDecay: true, sigma0: PRESETS.paperViT.sigma0, lrMin: PRESETS.paperViT.lrMin });
    expectSameEverywhere({ method: 'wanda', n: 1, m: 4, trainDomain: 'code', seed: 9 });
  });

  it('a preset set alone on an existing config resets the hyper-parameters to the preset’s', () => {
    const edited = { ...DEFAULT_CONFIG, lr: 0.01, sigma0: 0.5, seed: 4 };
    const c = sanitizeConfig({ preset: 'paperLLM' }, edited).config;
    expect(c).toMatchObject({ preset: 'paperLLM', lr: PRESETS.paperLLM.lr, sigma0: PRESETS.paperLLM.sigma0, seed: 4 });
    const s = newStore();
    s.getState().mergeDraft({ lr: 0.01, sigma0: 0.5, seed: 4 });
    expect(s.getState().mergeDraft({ preset: 'paperLLM' }).config).toEqual(c);
    s.getState().mergeDraft({ lr: 0.01, sigma0: 0.5 });
    s.getState().setField('preset', 'paperLLM');
    expect(s.getState().draft).toEqual(c);
  });

  it('any valid partial gives the same config at every entry (fast-check)', () => {
    const valueOf = (f: FieldSpec): fc.Arbitrary<string | number | boolean> => {
      switch (f.kind) {
        case 'int':
          return fc.integer({ min: f.min!, max: Math.min(f.max!, f.min! + 1000) });
        case 'number':
          return fc.constantFrom(f.min!, f.max!, (f.min! + f.max!) / 2, f.min! + (f.max! - f.min!) / 1000);
        case 'bool':
          return fc.boolean();
        case 'choice':
          return fc.constantFrom(...f.choices!);
        case 'string':
          return fc.constantFrom('tiny-gpt', 'tiny-vit');
      }
    };
    // the CLI has its own rule for prior=file (it needs --prior-file), so that choice stays out
    const partial = fc
      .record(Object.fromEntries(FIELDS.map((f) => [f.key, f.key === 'prior' ? fc.constantFrom('none', 'magnitude', 'wanda', 'sparsegpt') : valueOf(f)])), {
        requiredKeys: [],
      })
      .map((p) => p as Partial_)
      .filter((p) => sanitizeConfig(p).warnings.length === 0);
    fc.assert(
      fc.property(partial, (p) => {
        expectSameEverywhere(p);
      }),
      { seed: testSeed(), numRuns: 200 },
    );
  });

  it('a problem is a warning (and a fallback) on the lenient entries, a named error on the CLI', () => {
    const p = { preset: 'paperViT', kappaStart: 0 };
    const lenient = sanitizeConfig(p);
    expect(lenient.warnings).toEqual([`kappaStart must be ≥ 0.001 (got 0); using the default ${PRESETS.paperViT.kappa[0]}`]);
    expect(newStore().getState().mergeDraft(p)).toEqual(lenient);
    expect(() => viaCli(p)).toThrow(/^--kappa-start: kappaStart must be ≥ 0\.001 \(got 0\)$/);
    expect(() => sanitizeConfig({ n: 4, m: 4 }, DEFAULT_CONFIG, { strict: true })).toThrow(/^N \(4\) must be smaller than M \(4\)$/);
    expect(() => sanitizeConfig({ stepz: 4 }, DEFAULT_CONFIG, { strict: true })).toThrow(/^unknown setting "stepz"$/);
  });
});
