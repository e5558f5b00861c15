// The quick regression slice inside npm test, on micro assets: record a baseline in a temp dir,
// rerun and pass against it (same seed + config + adapter → same metrics, across processes too),
// then push one metric of that baseline outside its tolerance and watch the comparison fail.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRunRecord } from '../../tools/lib/run-record-fs';
import { parseBaseline } from '../../tools/regress/compare';
import { microAssets } from '../helpers/micro-assets';

const ROOT = join(__dirname, '../..');
const MICRO_FILES = [
  'checkpoints/micro-gpt/model.safetensors',
  'checkpoints/micro-gpt/config.json',
  ...['en', 'code'].flatMap((d) => ['train', 'val', 'test'].map((s) => `data/${d}.${s}.bin`)),
];

function regress(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', './tools/raw-loader.mjs', 'tools/regress.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? '/usr/lib/chromium/vk_swiftshader_icd.json', DEBUG: '' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let tmp = '';
let common: string[] = [];
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'regress-'));
  const a = microAssets();
  for (const p of MICRO_FILES) {
    mkdirSync(dirname(join(tmp, 'public', p)), { recursive: true });
    writeFileSync(join(tmp, 'public', p), await a.load(p));
  }
  common = ['--quick', '--models', 'micro-gpt', '--public-dir', join(tmp, 'public'), '--baseline', join(tmp, 'baseline.json'), '--out', join(tmp, 'out')];
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('npm run regress -- --quick', () => {
  it('without a baseline it refuses with one line', () => {
    const r = regress(common);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toMatch(/^error: no baseline at .*baseline\.json: record one on purpose with --update-baseline$/);
  });

  it('records a baseline, passes against it, and fails naming the cell and metric once a metric is pushed outside tolerance', { timeout: 600_000 }, () => {
    const rec = regress([...common, '--update-baseline']);
    expect(rec.err).toBe('');
    expect(rec.code).toBe(0);
    const baseline = parseBaseline(JSON.parse(readFileSync(join(tmp, 'baseline.json'), 'utf8')));
    expect(Object.keys(baseline.cells).sort()).toEqual(['micro-gpt/magnitude/seed1/quick', 'micro-gpt/maskllm/seed1/quick']);
    const ml = baseline.cells['micro-gpt/maskllm/seed1/quick'].metrics;
    expect(Object.keys(ml).sort()).toEqual(['maskL1.final', 'maxProb.final', 'maxProb.noisyFinal', 'ppl.code', 'ppl.en']);
    expect(baseline.tolerances).toEqual({ pplRelative: 0.02, accuracyPoints: 1, maskL1Absolute: 0.02, maxProbAbsolute: 0.02 });
    // each (model, seed) run leaves its run record, as learn and experiments do
    const record = readRunRecord(join(tmp, 'out/runs/micro-gpt-seed1'))!;
    expect(record.config).toMatchObject({ tool: 'regress', seed: 1, config: { model: 'micro-gpt', method: 'maskllm', steps: 3 } });
    expect(record.metrics().map((r) => r.step)).toEqual([0, 1, 2]);
    expect(record.summary.table.map((r) => r.key)).toContain('magnitude');

    const pass = regress(common);
    expect(pass.err).toBe('');
    expect(pass.code).toBe(0);
    expect(pass.out).toMatch(/PASS: 2 cells within tolerance, determinism ok/);
    const report = JSON.parse(readFileSync(join(tmp, 'out/report.json'), 'utf8'));
    expect(report.determinism).toEqual({ cell: 'micro-gpt/maskllm/seed1/quick', identical: true });
    expect(report.comparison.ok).toBe(true);
    // identical, not merely within tolerance: same seed + config + adapter
    expect(report.cells).toEqual(baseline.cells);
    const html = readFileSync(join(tmp, 'out/report.html'), 'utf8');
    expect(html).toContain('PASS');
    expect(html).toMatch(/<img alt="mask-l1" src="data:image\/png;base64,/);

    // the maskllm ppl.en pushed 3% below the run (the run is 3% worse than the baseline: beyond 2%)
    const pushed = structuredClone(baseline);
    pushed.cells['micro-gpt/maskllm/seed1/quick'].metrics['ppl.en'] = ml['ppl.en'] / 1.03;
    writeFileSync(join(tmp, 'baseline.json'), JSON.stringify(pushed));
    const fail = regress([...common, '--compare-only']);
    expect(fail.code).toBe(1);
    expect(fail.out).toMatch(/REGRESSION \[regression\] micro-gpt\/maskllm\/seed1\/quick ppl\.en: .* 3\.00% worse than the baseline/);
    expect(fail.err.trim().split('\n')).toHaveLength(1);
    expect(fail.err).toMatch(/^error: 1 regression\(s\) in 2 cells, first: micro-gpt\/maskllm\/seed1\/quick ppl\.en/);

    // within tolerance (1%) passes again
    pushed.cells['micro-gpt/maskllm/seed1/quick'].metrics['ppl.en'] = ml['ppl.en'] / 1.01;
    writeFileSync(join(tmp, 'baseline.json'), JSON.stringify(pushed));
    expect(regress([...common, '--compare-only']).code).toBe(0);

    // mask L1 drift beyond ±0.02 fails too
    pushed.cells['micro-gpt/maskllm/seed1/quick'].metrics['maskL1.final'] = ml['maskL1.final'] + 0.03;
    writeFileSync(join(tmp, 'baseline.json'), JSON.stringify(pushed));
    const drift = regress([...common, '--compare-only']);
    expect(drift.code).toBe(1);
    expect(drift.out).toMatch(/micro-gpt\/maskllm\/seed1\/quick maskL1\.final: .*tolerance ±0\.02/);
  });
});
