// npm run experiments without the GPU: run-directory reuse (including the directories the first
// version of the tool wrote), the plan of runs, and every section's report over a fabricated set of
// run directories whose numbers make each comparison go a known way.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, sanitizeConfig, type ExperimentConfig } from '../../src/lab/config';
import type { ResultRow } from '../../src/lab/session';
import type { ResultKey } from '../../src/lab/names';
import { digitsPerWord } from '../../src/sparsity/maskfile';
import { binomial } from '../../src/sparsity/patterns';
import { planRuns, sectionPlan, selectSections } from '../../tools/experiments/cli';
import { composeResults } from '../../tools/experiments/report';
import { configDiffs, DirStore, reuseCheck, runIdentity } from '../../tools/experiments/run-dir';
import { SECTIONS } from '../../tools/experiments/sections';
import type { PlanOptions, RunDef, SectionReport } from '../../tools/experiments/types';

const FULL: PlanOptions = { quick: false, seeds: [1, 2], models: ['tiny-gpt', 'tiny-vit'] };

let root = '';
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'exp-sections-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function writeRun(runs: string, def: RunDef, files: Record<string, unknown>): void {
  const dir = join(runs, def.name);
  mkdirSync(dir, { recursive: true });
  for (const [name, v] of Object.entries(files)) {
    writeFileSync(join(dir, name), typeof v === 'string' || v instanceof Uint8Array ? v : JSON.stringify(v));
  }
}

describe('run directories: identity and reuse', () => {
  it('the main table keeps the first version’s configuration, so its directories are reused', () => {
    // the first version of tools/experiments.ts built exactly this object (and wrote { ...config, adapter }),
    // with 300 steps; the committed runs have 200 (run with --steps 200), now the default
    const firstVersion = (model: string, seed: number): ExperimentConfig => ({
      ...sanitizeConfig({ preset: 'tunedSmall' }).config,
      model,
      method: 'maskllm',
      prior: 'sparsegpt',
      seed,
      steps: 200,
      batch: model === 'tiny-vit' ? 64 : 8,
      evalEvery: 50,
      calibBatches: 8,
      evalWindows: 0,
    });
    const runs = join(root, 'old');
    const defs = SECTIONS[0].runs(FULL);
    expect(defs.map((d) => d.name)).toEqual(['main/tiny-gpt-seed1', 'main/tiny-gpt-seed2', 'main/tiny-vit-seed1', 'main/tiny-vit-seed2']);
    for (const def of defs) {
      const [, model, seed] = /^main\/(.*)-seed(\d+)$/.exec(def.name)!;
      writeRun(runs, def, {
        'config.json': { ...firstVersion(model, Number(seed)), adapter: 'SwiftShader Device' },
        'summary.json': { rows: [], seconds: 1, adapter: 'SwiftShader Device' },
        'mask.safetensors': new Uint8Array(4),
        'metrics.jsonl': '',
        'evaluations.jsonl': '',
      });
      expect(reuseCheck(join(runs, def.name), def, runIdentity(def))).toEqual({ reuse: true, why: 'config matches' });
    }
  });

  it('a changed setting, a missing file or a missing state size means rerun', () => {
    const runs = join(root, 'reuse');
    const def: RunDef = { name: 'base/x-seed1', config: SECTIONS[1].runs(FULL)[0].config, exports: ['packed', 'state'] };
    const dir = join(runs, def.name);
    expect(reuseCheck(dir, def, runIdentity(def)).why).toBe('not run yet');
    writeRun(runs, def, {
      'config.json': { ...def.config, steps: 7, adapter: 'x' },
      'summary.json': {},
      'mask.safetensors': '',
      'metrics.jsonl': '',
      'evaluations.jsonl': '',
      'files.json': { safetensors: 1, packed: 1 },
    });
    expect(reuseCheck(dir, def, runIdentity(def))).toEqual({ reuse: false, why: 'config differs in steps' });
    writeRun(runs, def, { 'config.json': { ...def.config, adapter: 'x' } });
    expect(reuseCheck(dir, def, runIdentity(def))).toEqual({ reuse: false, why: 'missing mask.packed' });
    writeRun(runs, def, { 'mask.packed': '' });
    expect(reuseCheck(dir, def, runIdentity(def))).toEqual({ reuse: false, why: 'files.json lacks the state size' });
    writeRun(runs, def, { 'files.json': { safetensors: 1, packed: 1, state: 9 } });
    expect(reuseCheck(dir, def, runIdentity(def)).reuse).toBe(true);
  });

  it('a prior file is part of the identity: other bytes, other run', () => {
    const def: RunDef = { name: 't/x', config: { ...DEFAULT_CONFIG, prior: 'file' }, priorFrom: 'base/x-seed1' };
    expect(() => runIdentity(def)).toThrow(/prior file/);
    const a = runIdentity(def, new Uint8Array([1, 2]));
    const b = runIdentity(def, new Uint8Array([1, 3]));
    expect(a.priorFrom).toBe('base/x-seed1');
    expect(configDiffs(a, b)).toEqual(['priorSha256']);
    expect(configDiffs({ ...a, adapter: 'other' }, a)).toEqual([]);
  });
});

describe('the plan', () => {
  it('--only takes numbers, ranges and names; unknown ones are refused', () => {
    expect(selectSections('1,3-4,transfer').map((s) => s.id)).toEqual([1, 3, 4, 6]);
    expect(selectSections(undefined).map((s) => s.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(() => selectSections('9')).toThrow(/no section/);
    expect(() => selectSections('nope')).toThrow(/no section "nope"/);
  });

  it('shared runs appear once; a prior file’s run is planned before its user', () => {
    const defs = planRuns(SECTIONS, FULL);
    const names = defs.map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.filter((n) => n.startsWith('base/'))).toEqual(['base/tiny-gpt-seed1', 'base/tiny-gpt-seed2']);
    for (const d of defs) if (d.priorFrom) expect(names.indexOf(d.priorFrom)).toBeLessThan(names.indexOf(d.name));
    // transfer alone still plans the general mask first
    const t = planRuns(selectSections('transfer'), FULL).map((d) => d.name);
    expect(t.indexOf('base/tiny-gpt-seed1')).toBeLessThan(t.indexOf('transfer/en-from-general-seed1'));
  });

  it('the main table runs --seeds, sections 2–8 their own seeds (--ablation-seeds)', () => {
    const names = planRuns(SECTIONS, FULL, [1]).map((d) => d.name);
    expect(names.filter((n) => n.startsWith('main/'))).toEqual(['main/tiny-gpt-seed1', 'main/tiny-gpt-seed2', 'main/tiny-vit-seed1', 'main/tiny-vit-seed2']);
    expect(names.filter((n) => n.endsWith('-seed2') && !n.startsWith('main/'))).toEqual([]);
    expect(names.filter((n) => n.startsWith('priors/'))).toEqual(['priors/none-seed1', 'priors/magnitude-seed1', 'priors/wanda-seed1']);
    // the report of a section sees the same seeds as its runs
    expect(sectionPlan(SECTIONS[0], FULL, [1]).seeds).toEqual([1, 2]);
    expect(sectionPlan(SECTIONS[3], FULL, [1]).seeds).toEqual([1]);
    expect(sectionPlan(SECTIONS[3], FULL).seeds).toEqual([1, 2]);
  });

  it('a name defined twice with different settings is a section bug', () => {
    const a = { ...SECTIONS[1], runs: () => [{ name: 'x', config: DEFAULT_CONFIG }] };
    const b = { ...SECTIONS[2], runs: () => [{ name: 'x', config: { ...DEFAULT_CONFIG, steps: 1 } }] };
    expect(() => planRuns([a, b], FULL)).toThrow(/defined twice/);
  });

  it('quick: micro schedules (few steps, batch ≤ 2, 2–4 windows), one seed, tiny-gpt', () => {
    const q: PlanOptions = { quick: true, seeds: [1], models: ['tiny-gpt'] };
    for (const d of planRuns(SECTIONS, q)) {
      expect(d.config.steps).toBeLessThanOrEqual(4);
      expect(d.config.batch).toBeLessThanOrEqual(2);
      expect(d.config.evalWindows).toBeGreaterThanOrEqual(2);
      expect(d.config.evalWindows).toBeLessThanOrEqual(4);
      expect(d.config.seed).toBe(1);
    }
  });
});

// ---------------------------------------------------------------- fabricated runs for the reports

const ONE_SHOT: Record<Exclude<ResultKey, 'maskllm'>, number> = { dense: 5, magnitude: 18, wanda: 17, sparsegpt: 12, 'sparsegpt+update': 9 };
const LEARNED: Record<string, number> = {
  base: 6,
  'priors/none': 7,
  'priors/magnitude': 6.2,
  'priors/wanda': 6.1,
  'regulariser/off': 6.05,
  'kappa/small': 30,
  'kappa/large': 11,
  'transfer/en-scratch': 5.5,
  'transfer/en-from-general': 5.3,
  'patterns/1of4': 20,
  'patterns/2of8': 15,
  'patterns/4of8': 5.8,
};
const CALIB: Record<number, [number, number]> = { 1: [13, 10], 2: [12.5, 9.5], 8: [11.8, 8.9], 16: [11.7, 8.8] };
const BASE_CURVE = [20, 15, 12.5, 11.5, 10, 8.5, 7.5, 7, 6.5, 6];
const MASKED = 200_000;

/** A packed file's prefix (magic, version, header and payload lengths) with zeros after it. */
function packedFile(header: number, payload: number): Uint8Array {
  const out = new Uint8Array(24 + header + payload);
  out.set(new TextEncoder().encode('MLLMPACK'));
  const v = new DataView(out.buffer);
  v.setUint32(8, 1, true);
  v.setUint32(12, header, true);
  v.setUint32(16, payload, true);
  return out;
}

function fabricate(runs: string): void {
  for (const def of planRuns(SECTIONS, FULL)) {
    const c = def.config;
    const seed = c.seed;
    const group = def.name.replace(/-seed\d+$/, '').replace(/^base\/.*/, 'base');
    const off = 0.02 * seed; // 6.02 and 6.04: means like 6.03 do not sit on a rounding edge
    const calib = /calib(\d+)/.exec(def.name);
    const oneShot = (key: keyof typeof ONE_SHOT) =>
      calib ? (key === 'sparsegpt' ? CALIB[Number(calib[1])][0] : key === 'sparsegpt+update' ? CALIB[Number(calib[1])][1] : ONE_SHOT[key]) : ONE_SHOT[key];
    const keys = Object.keys(ONE_SHOT) as (keyof typeof ONE_SHOT)[];
    const isVit = c.model === 'tiny-vit';
    const row = (key: ResultKey, v: number): ResultRow => ({
      key,
      label: key,
      bitsPerWeight: key === 'dense' ? null : 0.646,
      metrics: isVit
        ? { test: { accuracy: v / 100, loss: 1, images: 10 } }
        : { en: { ppl: v + off, loss: 1, bitsPerToken: 1, tokens: 1 }, code: { ppl: 2 * v + off, loss: 1, bitsPerToken: 1, tokens: 1 } },
    });
    let rows: ResultRow[];
    if (isVit)
      rows = [
        row('dense', 80 + off),
        row('magnitude', 60),
        row('wanda', 61),
        row('sparsegpt', 65),
        row('sparsegpt+update', 70 + off),
        row('maskllm', 77.5 + off),
      ];
    else
      rows = [
        ...keys.map((k) => row(k, oneShot(k))),
        ...(c.method === 'maskllm' ? [row('maskllm', group.startsWith('main/') ? LEARNED.base : LEARNED[group])] : []),
      ];
    const steps = Array.from({ length: c.method === 'maskllm' ? 100 : 0 }, (_, i) => i + 1);
    const kappaKind = group === 'kappa/small' ? 'small' : group === 'kappa/large' ? 'large' : 'suitable';
    const metrics = steps.map((s) => {
      const t = s / 100;
      const [l1, mp, mpc] =
        kappaKind === 'small'
          ? [0.5, 0.6 + 0.3 * t, 0.17]
          : kappaKind === 'large'
            ? [0.001, 0.999, 0.999]
            : [0.2 * (1 - t) + 0.01, 0.5 + 0.49 * t, 0.3 + 0.65 * t];
      return { step: s, loss: 1, kappa: 1, tau: 1, lr: 1, lambda: 0, sites: [], meanMaskL1: l1, meanMaxProb: mp, meanMaxProbClean: mpc };
    });
    const evals = group === 'base' ? BASE_CURVE.map((v, i) => ({ step: 10 * (i + 1), flips: 3, metrics: { en: { ppl: v + off }, code: { ppl: v } } })) : [];
    const C = binomial(c.m, c.n);
    const groups = MASKED / c.m;
    const payload = 4 * Math.ceil(groups / digitsPerWord(C));
    writeRun(runs, def, {
      'config.json': { ...c, ...(def.priorFrom ? { priorFrom: def.priorFrom, priorSha256: 'x' } : {}), adapter: 'SwiftShader' },
      'summary.json': { rows, seconds: 60, adapter: 'SwiftShader' },
      'metrics.jsonl': metrics.map((m) => JSON.stringify(m)).join('\n'),
      'evaluations.jsonl': evals.map((e) => JSON.stringify(e)).join('\n'),
      'model.json': { name: c.model, kind: 'gpt2', parameters: 1, layers: 4, maskedWeights: MASKED, sites: [], learningStateBytes: groups * C * 16 },
      'files.json': { safetensors: MASKED + 1000, packed: 624 + payload, state: groups * C * 12 + 600 },
      'mask.packed': packedFile(600, payload),
    });
  }
}

describe('section reports over fabricated run directories', () => {
  let reports: Map<number, SectionReport>;
  let store: DirStore;
  beforeAll(() => {
    const runs = join(root, 'fab');
    fabricate(runs);
    store = new DirStore(runs);
    reports = new Map(SECTIONS.map((s) => [s.id, s.report(FULL, store, (f) => `results/${f}`)]));
  });
  const text = (id: number) => reports.get(id)!.lines.join('\n');

  it('1: gap fractions and verdicts from the numbers, both models', () => {
    const t = text(1);
    expect(t).toContain('| dense | 5.03 (5.02–5.04) | 10.03 (10.02–10.04) | 32 (dense f32) |');
    expect(t).toContain('| maskllm | 77.53 (77.52–77.54) | 0.646 |');
    expect(t).toMatch(/Gap closed, SparseGPT \+ update → dense: 75%, 75% \(mean 75%, inside the paper’s range/);
    expect(t).toMatch(/MaskLLM vs SparseGPT \+ weight update \(English PPL\): \*\*shown\*\*/);
    expect(t).toMatch(/MaskLLM vs SparseGPT \+ weight update \(accuracy\): \*\*shown\*\*/);
    expect(t).toMatch(/`[^`]*main\/tiny-vit-seed2`/);
  });

  it('2: no prior is worse; each learned mask beats its prior', () => {
    const t = text(2);
    expect(t).toMatch(
      /SparseGPT prior vs no prior \(learned English PPL\): \*\*shown\*\*: the SparseGPT prior beats no prior in 2 of 2 seeds \(mean 6\.03 vs 7\.03\)/,
    );
    expect(t.match(/Learned vs own, .*\*\*shown\*\*/g)).toHaveLength(3);
  });

  it('3: regulariser on vs off', () => {
    expect(text(3)).toMatch(/English PPL: \*\*shown\*\*: λ on beats λ off in 2 of 2 seeds \(mean 6\.03 vs 6\.08\)\./);
  });

  it('4: convergence verdicts and two charts (three κ each; samples and noise-free for max probability)', () => {
    const t = text(4);
    expect(t.match(/\*\*shown\*\*/g)!.length).toBe(7);
    expect(t).not.toMatch(/not shown|mixed/);
    const charts = reports.get(4)!.charts;
    expect(charts.map((c) => c.file)).toEqual(['kappa-mask-l1.png', 'kappa-max-prob.png']);
    expect(charts[0].series.map((s) => s.name)).toEqual(['κ = 1 (too small)', 'κ 100 → 500 (suitable)', 'κ = 10000 (too large)']);
    expect(charts[1].series).toHaveLength(6);
    expect(charts[0].series[0].x).toHaveLength(100);
    expect(t).toContain('![mask L1 distance over steps for three κ](results/kappa-mask-l1.png)');
  });

  it('5: where MaskLLM overtakes its prior and the best SparseGPT, in sequences and calibration sets', () => {
    const t = text(5);
    expect(t).toMatch(/MaskLLM is \*\*worse\*\* than its prior \(20\.03 vs 12\.03\)/);
    expect(t).toMatch(/for good at \*\*176 sequences = 11\.0 calibration sets\*\*/);
    expect(t).toMatch(/PPL 8\.83 at 64 sequences\) is overtaken at \*\*256 sequences\*\*/);
    const chart = reports.get(5)!.charts[0];
    expect(chart.series[0].x.slice(0, 2)).toEqual([56, 96]);
    expect(chart.series[1].x).toEqual([4, 8, 16, 32, 64]);
    expect(chart.refs[0].y).toBeCloseTo(5.03, 10);
    expect(chart.logY).toBe(false); // 20 → 5: less than a decade
  });

  it('6: transfer verdicts per domain', () => {
    const t = text(6);
    expect(t).toMatch(/general → English vs the general mask: \*\*shown\*\*/);
    expect(t).toMatch(/general → English vs from scratch: \*\*shown\*\*/);
  });

  it('7: patterns, costs from the recorded learning state', () => {
    const t = text(7);
    expect(t).toMatch(/4:8 vs 2:4 \(learned English PPL\): \*\*shown\*\*/);
    expect(t).toMatch(/2:4 vs 1:4 .*\*\*shown\*\*/);
    expect(t).toMatch(/4:8 needs 5\.83× the learning state and 1\.19× the mask bits of 2:4 \(costlier, as expected\)/);
  });

  it('8: bits per weight of the real file sizes and the packed header against the bound', () => {
    const t = text(8);
    // 2:4: payload 4·ceil(50000/12) bytes, header 624, · 8 / 200000 weights
    const payload = 4 * Math.ceil(50000 / 12);
    expect(t).toContain(
      `| 2:4 | 200000 | 0.646 | 0.667 | ${((8 * payload) / MASKED).toFixed(3)} | 624 | ${((8 * (624 + payload)) / MASKED).toFixed(3)} | 8.04 | 144.0 |`,
    );
    expect(t).toMatch(/\*\*shown\*\*: the packed payload sits between the bound and its u32 word rounding for 4 of 4 patterns/);
    expect(t).toMatch(/largest excess is 2:8's, 10\.9%: 6 base-28 digits per u32/);
    // a payload beyond its word rounding is not the bound
    const runs = join(root, 'fab');
    writeFileSync(join(runs, 'patterns/4of8-seed1/mask.packed'), packedFile(600, 22_000));
    const again = SECTIONS[7].report(FULL, new DirStore(runs), (f) => f).lines.join('\n');
    expect(again).toMatch(/\*\*mixed\*\*: .* for 3 of 4 patterns/);
  });

  it('RESULTS.md has the runtime and all eight numbered sections', () => {
    const md = composeResults({
      command: 'npm run experiments',
      date: '2026-01-01',
      sections: SECTIONS.map((s) => ({ section: s, report: reports.get(s.id)! })),
      runs: store.seen,
      firstSeed: 1,
      invocation: null,
    });
    expect(md.match(/^## \d+\. /gm)).toHaveLength(8);
    expect(md).toMatch(/^## Runtime$/m);
    expect(md).toMatch(/run directories of this report took \*\*\d+\.\d min\*\*/);
    expect(md).not.toMatch(/\n\n\n/);
  });
});
