// The run record (src/lab/run-record.ts + tools/lib/run-record-fs.ts): a written directory reads back
// the same; the two shapes written before the record had a version are read as they are (every
// committed results/ directory among them); newer versions and malformed files are refused by name.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/lab/config';
import {
  decodeJsonl,
  decodeMetrics,
  encodeJsonl,
  RUN_RECORD_VERSION,
  RunRecordError,
  runConfigFile,
  runSummaryFile,
  upgradeConfig,
  upgradeSummary,
} from '../../src/lab/run-record';
import type { EvaluationEvent, ModelSummary, ResultRow } from '../../src/lab/session';
import type { StepMetrics } from '../../src/sparsity/learner';
import { readRun, reuseCheck, runIdentity } from '../../tools/experiments/run-dir';
import { readRunConfig, readRunRecord, writeRunRecord } from '../../tools/lib/run-record-fs';

const ROOT = join(__dirname, '../..');
const config = { ...DEFAULT_CONFIG, model: 'micro-gpt', steps: 2, seed: 3 };
const model: ModelSummary = {
  name: 'micro-gpt',
  kind: 'gpt2',
  parameters: 100,
  layers: 1,
  maskedWeights: 64,
  learningStateBytes: 1024,
  sites: [{ name: 'transformer.h.0.mlp.c_fc.weight', shape: [8, 8], layout: 'in_out' }],
};
const site = { maskL1: 0.5, maxProb: 0.4, maxProbClean: 0.7, logitMean: 0, logitStd: 0.02 };
const rows: StepMetrics[] = [0, 1].map((step) => ({
  step,
  loss: 2 - step / 10,
  kappa: 100,
  tau: 4,
  lr: 0.002,
  lambda: 1e-5,
  sites: [site],
  meanMaskL1: 0.5,
  meanMaxProb: 0.4,
  meanMaxProbClean: 0.7,
}));
const evals: EvaluationEvent[] = [{ step: 2, metrics: { en: { loss: 2, ppl: 7.4, bitsPerToken: 2.9, tokens: 256 } }, flips: 3 }];
const table: ResultRow[] = [{ key: 'dense', label: 'Dense', metrics: { en: { loss: 1.9, ppl: 6.7, bitsPerToken: 2.7, tokens: 256 } }, bitsPerWeight: null }];

let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'run-record-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('run record: write and read', () => {
  it('round trip: every file reads back equal, summary.json is written last', () => {
    const dir = join(tmp, 'round');
    const rec = {
      config: runConfigFile('learn', config, 'SwiftShader', { engine: 'gpu' as const, priorFile: null }),
      summary: runSummaryFile(config, table, 12.5, 'SwiftShader', model),
      metrics: rows,
      evaluations: evals,
      model,
      masks: { safetensors: new Uint8Array([1, 2, 3]) },
      sizes: { state: 99 },
      extra: { 'loss.png': new Uint8Array([0x89]) },
    };
    const written = writeRunRecord(dir, rec);
    expect(written.at(-1)).toBe('summary.json');
    expect(written).toEqual(
      expect.arrayContaining(['config.json', 'metrics.jsonl', 'evaluations.jsonl', 'model.json', 'files.json', 'mask.safetensors', 'loss.png']),
    );
    const back = readRunRecord(dir)!;
    expect(back.config).toEqual(rec.config);
    expect(back.config.version).toBe(RUN_RECORD_VERSION);
    expect(back.summary).toEqual(rec.summary);
    expect(back.summary.model?.sites).toBe(1);
    expect(back.summary).toMatchObject({ method: 'maskllm', pattern: '2:4', steps: 2 });
    expect(back.metrics()).toEqual(rows);
    expect(back.evaluations).toEqual(evals);
    expect(back.model).toEqual(model);
    expect(back.sizes).toEqual({ state: 99, safetensors: 3 });
  });

  it('a directory without summary.json is unfinished: null', () => {
    const dir = join(tmp, 'unfinished');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(runConfigFile('experiments', config, 'x')));
    expect(readRunRecord(dir)).toBeNull();
    expect(readRunConfig(join(tmp, 'nothing-here'))).toBeNull();
  });

  it('jsonl: one value per line, an empty list is an empty file', () => {
    expect(encodeJsonl([])).toBe('');
    expect(encodeJsonl([{ a: 1 }, { a: 2 }])).toBe('{"a":1}\n{"a":2}\n');
    expect(decodeJsonl('{"a":1}\n\n{"a":2}\n', 'x')).toEqual([{ a: 1 }, { a: 2 }]);
  });
});

describe('run record: the experiments read what they write', () => {
  it('a v1 directory with a prior file is reused by its identity and read for the report', () => {
    const runs = join(tmp, 'exp');
    const def = {
      name: 'transfer/x-seed1',
      config: { ...config, prior: 'file' as const },
      priorFrom: 'base/x-seed1',
      exports: ['packed' as const, 'state' as const],
    };
    const prior = new Uint8Array([7, 7]);
    const id = runIdentity(def, prior);
    writeRunRecord(join(runs, def.name), {
      config: runConfigFile('experiments', def.config, 'SwiftShader', { priorFrom: def.priorFrom, priorSha256: id.priorSha256 as string }),
      summary: runSummaryFile(def.config, table, 30, 'SwiftShader', model),
      metrics: rows,
      evaluations: evals,
      model,
      masks: { safetensors: new Uint8Array(4), packed: new Uint8Array(2) },
      sizes: { state: 64 },
    });
    expect(reuseCheck(join(runs, def.name), def, id)).toEqual({ reuse: true, why: 'config matches' });
    expect(reuseCheck(join(runs, def.name), def, runIdentity(def, new Uint8Array([8])))).toEqual({ reuse: false, why: 'config differs in priorSha256' });
    const r = readRun(runs, def)!;
    expect(r).toMatchObject({
      name: def.name,
      rows: table,
      seconds: 30,
      adapter: 'SwiftShader',
      evaluations: evals,
      model,
      files: { safetensors: 4, packed: 2, state: 64 },
      differs: [],
    });
    expect(r.config).toMatchObject({ ...def.config, adapter: 'SwiftShader', priorFrom: 'base/x-seed1' });
    expect(r.metrics()).toEqual(rows);
  });
});

describe('run record: versions', () => {
  it('reads the experiments tool’s first shape (flat config, { rows, seconds, adapter })', () => {
    const c = upgradeConfig({ ...config, adapter: 'SwiftShader', priorFrom: 'base/x', priorSha256: 'ab' });
    expect(c).toMatchObject({ version: 0, tool: 'experiments', config, seed: 3, adapter: 'SwiftShader', priorFrom: 'base/x', priorSha256: 'ab' });
    expect(c.config).not.toHaveProperty('adapter');
    const s = upgradeSummary({ rows: table, seconds: 60, adapter: 'SwiftShader' }, c);
    expect(s).toEqual({
      version: 0,
      table,
      wallSeconds: 60,
      adapter: 'SwiftShader',
      model: null,
      method: 'maskllm',
      pattern: '2:4',
      prior: 'sparsegpt',
      steps: 2,
    });
  });

  it('reads learn’s first shape ({ config, seed, adapter, … }, { table, wallSeconds, … })', () => {
    const c = upgradeConfig({
      config,
      seed: 3,
      adapter: 'A',
      engine: 'gpu',
      versions: { lab: '0.1.0' },
      model: { source: 'bundled', name: 'micro-gpt', publicDir: 'public' },
      priorFile: null,
    });
    expect(c).toMatchObject({ version: 0, tool: 'learn', config, seed: 3, adapter: 'A', engine: 'gpu' });
    const s = upgradeSummary(
      { model: { ...model, sites: 1 }, method: 'maskllm', pattern: '2:4', prior: 'sparsegpt', steps: 2, table, wallSeconds: 5, adapter: 'A' },
      c,
    );
    expect(s).toMatchObject({ version: 0, table, wallSeconds: 5, model: { sites: 1 } });
  });

  it('every committed results/ directory reads', () => {
    const dirs: string[] = [];
    const walk = (d: string) => {
      if (readdirSync(d).includes('summary.json')) dirs.push(d);
      else for (const e of readdirSync(d)) if (statSync(join(d, e)).isDirectory()) walk(join(d, e));
    };
    walk(join(ROOT, 'results'));
    expect(dirs.length).toBeGreaterThanOrEqual(20);
    for (const d of dirs) {
      const r = readRunRecord(d)!;
      expect(r.summary.table.length, d).toBeGreaterThan(0);
      expect(r.config.config.model, d).toMatch(/^tiny-/);
      expect(
        r.metrics().every((m, i, a) => i === 0 || m.step > a[i - 1].step),
        d,
      ).toBe(true);
    }
  });

  it('refuses a record from a newer lab', () => {
    expect(() => upgradeConfig({ ...runConfigFile('learn', config, 'A'), version: RUN_RECORD_VERSION + 1 }, 'run/config.json')).toThrow(
      new RunRecordError(`run/config.json: written by a newer lab (record version ${RUN_RECORD_VERSION + 1}; this one reads up to ${RUN_RECORD_VERSION})`),
    );
  });
});

describe('run record: malformed files are refused with the file and field', () => {
  it.each([
    [[], /^config\.json: not a JSON object$/],
    [{ version: 1, tool: 'learn', config: { ...config, steps: '2' }, adapter: 'A' }, /^config\.json: config\.steps must be a number \(got "2"\)$/],
    [{ version: 1, tool: 'learn', config, adapter: 7 }, /^config\.json: "adapter" must be a string \(got 7\)$/],
    [{ version: 1, tool: 'page', config, adapter: 'A' }, /^config\.json: "tool" must be learn, regress or experiments \(got "page"\)$/],
    [{ version: 0.5, tool: 'learn', config, adapter: 'A' }, /^config\.json: "version" must be a positive integer \(got 0\.5\)$/],
  ])('config.json %j', (json, msg) => {
    expect(() => upgradeConfig(json)).toThrow(RunRecordError);
    expect(() => upgradeConfig(json)).toThrow(msg);
  });

  it('summary.json without its table or time', () => {
    expect(() => upgradeSummary({ version: 1, table: [{ label: 'x' }], wallSeconds: 1, adapter: 'A' }, null)).toThrow(
      /^summary\.json: "table" must be an array of result rows/,
    );
    expect(() => upgradeSummary({ rows: table, adapter: 'A' }, null)).toThrow(
      /^summary\.json: "wallSeconds" must be a non-negative number of seconds \(got undefined\)$/,
    );
  });

  it('a bad line of metrics.jsonl names the file and line', () => {
    expect(() => decodeMetrics('{"step":0,"sites":[]}\n{"step":1,', 'm.jsonl')).toThrow(/^m\.jsonl line 2: not JSON/);
    expect(() => decodeMetrics('{"step":"0","sites":[]}\n', 'm.jsonl')).toThrow(/^m\.jsonl row 1: a step row needs an integer "step"/);
  });

  it('a directory with a broken config.json is refused when read', () => {
    const dir = join(tmp, 'broken');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), '{"config": ');
    writeFileSync(join(dir, 'summary.json'), '{}');
    expect(() => readRunRecord(dir)).toThrow(new RegExp(`^${join(dir, 'config.json').replace(/[/.]/g, '\\$&')}: not valid JSON`));
    expect(readFileSync(join(dir, 'summary.json'), 'utf8')).toBe('{}');
  });
});
