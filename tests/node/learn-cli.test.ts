// The learn CLI end to end: options, one-line errors, and tiny headless runs on micro assets (a
// temporary public/ folder served by the driver's Vite server) that write every promised file.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIELDS } from '../../src/lab/config';
import { USER_FILE_LIMITS } from '../../src/lab/files';
import { readSafetensors, type WriteTensor } from '../../src/models/safetensors';
import type { NamedFile } from '../../src/models/sharded';
import { importMaskPacked, importMaskSafetensors, decodeState } from '../../src/sparsity/maskfile';
import { planFromArgs, type LearnPlan } from '../../tools/learn';
import { shardLikeTransformers } from '../helpers/hub-configs';
import { microAssets } from '../helpers/micro-assets';

const ROOT = join(__dirname, '../..');
const MICRO_FILES = [
  'checkpoints/micro-gpt/model.safetensors',
  'checkpoints/micro-gpt/config.json',
  'checkpoints/micro-vit/model.safetensors',
  'checkpoints/micro-vit/config.json',
  ...['en', 'code'].flatMap((d) => ['train', 'val', 'test'].map((s) => `data/${d}.${s}.bin`)),
  ...['train', 'val', 'test'].map((s) => `data/fmnist.${s}.bin`),
];

async function writeMicroPublic(dir: string): Promise<void> {
  const a = microAssets();
  for (const p of MICRO_FILES) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), await a.load(p));
  }
}

function learn(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', './tools/raw-loader.mjs', 'tools/learn.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? '/usr/lib/chromium/vk_swiftshader_icd.json', DEBUG: '' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const TINY = ['--batch', '2', '--steps', '3', '--eval-every', '3', '--calib-batches', '2', '--eval-windows', '4'];

let tmp = '';
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'learn-cli-'));
  await writeMicroPublic(join(tmp, 'public'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A file of `size` bytes that takes no disk space (sparse): for size limits, never read. */
function sparse(path: string, size: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w');
  ftruncateSync(fd, size);
  closeSync(fd);
}

describe('learn: model directories and prior files are checked, not read', () => {
  const plan = (dir: string, ...more: string[]) =>
    planFromArgs(['--model', dir, '--out', join(tmp, 'o'), '--public-dir', join(tmp, 'public'), ...more]) as LearnPlan;
  const gptConfig = JSON.stringify({ model_type: 'gpt2', vocab_size: 256, n_positions: 16, n_embd: 16, n_layer: 2, n_head: 2 });

  it('one model.safetensors: its path goes to the driver, config.json parsed', () => {
    const dir = join(tmp, 'dirs/single');
    sparse(join(dir, 'model.safetensors'), 5000);
    writeFileSync(join(dir, 'config.json'), gptConfig);
    const p = plan(dir);
    expect(p.custom).toEqual({ dir, files: [join(dir, 'model.safetensors')], config: JSON.parse(gptConfig) });
    expect(p.config.model).toBe('single');
  });

  it('a shard index: the index then its shards (each once, sorted), as the page takes them', () => {
    const dir = join(tmp, 'dirs/sharded');
    const shards = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    for (const s of shards) sparse(join(dir, s), 1000);
    writeFileSync(join(dir, 'config.json'), gptConfig);
    const index = { metadata: { total_size: 2000 }, weight_map: { 'wte.weight': shards[1], 'wpe.weight': shards[0], 'h.0.ln_1.weight': shards[1] } };
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
    expect(plan(dir).custom!.files).toEqual([join(dir, 'model.safetensors.index.json'), ...shards.map((s) => join(dir, s))]);
    // a missing shard, a path outside the directory, no weight_map
    rmSync(join(dir, shards[1]));
    expect(() => plan(dir)).toThrow(/model\.safetensors\.index\.json names model-00002-of-00002\.safetensors, which is missing$/);
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'wte.weight': '../single/model.safetensors' } }));
    expect(() => plan(dir)).toThrow(/names "\.\.\/single\/model\.safetensors", not a \.safetensors file in the directory/);
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {} }));
    expect(() => plan(dir)).toThrow(/has no "weight_map" object/);
    writeFileSync(join(dir, 'model.safetensors.index.json'), '{ not json');
    expect(() => plan(dir)).toThrow(/model\.safetensors\.index\.json is not valid JSON/);
    sparse(join(dir, 'model.safetensors.index.json'), USER_FILE_LIMITS.config + 1);
    expect(() => plan(dir)).toThrow(/model\.safetensors\.index\.json is 10485761 bytes; a shard index is a few KiB/);
  });

  it('sizes are checked against USER_FILE_LIMITS before anything is read', () => {
    const dir = join(tmp, 'dirs/huge');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), gptConfig);
    sparse(join(dir, 'model.safetensors'), USER_FILE_LIMITS.safetensors + 1);
    expect(() => plan(dir)).toThrow(
      /^--model .*huge: ".*model\.safetensors" is 2\.00 GiB \(2147483649 bytes\); the model weights \(\.safetensors\) may be at most 2\.00 GiB/,
    );
    sparse(join(dir, 'model.safetensors'), 0);
    expect(() => plan(dir)).toThrow(/model\.safetensors" is empty/);
    rmSync(join(dir, 'model.safetensors'));
    // shards: each within the limit, their sum over it
    const shards = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    for (const s of shards) sparse(join(dir, s), USER_FILE_LIMITS.safetensors / 2 + 1);
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { a: shards[0], b: shards[1] } }));
    expect(() => plan(dir)).toThrow(/the 2 shards hold 2147483650 bytes; the lab takes checkpoints of at most 2147483648 bytes/);
    sparse(join(dir, 'config.json'), USER_FILE_LIMITS.config + 1);
    expect(() => plan(dir)).toThrow(/config\.json" is 10\.0 MiB .*the model config \(config\.json\) may be at most 10\.0 MiB/);
    const mask = join(tmp, 'dirs/huge-mask.safetensors');
    sparse(mask, USER_FILE_LIMITS.mask + 1);
    expect(() => planFromArgs(['--model', 'micro-gpt', '--public-dir', join(tmp, 'public'), '--out', join(tmp, 'o'), '--prior-file', mask])).toThrow(
      /^--prior-file .*huge-mask\.safetensors: .* the mask file may be at most 512\.0 MiB/,
    );
    sparse(mask, 1000);
    expect(planFromArgs(['--model', 'micro-gpt', '--public-dir', join(tmp, 'public'), '--out', join(tmp, 'o'), '--prior-file', mask])).toMatchObject({
      priorFile: mask,
    });
  });
});

/**
 * The micro GPT's checkpoint as the hub shards it, in `dir` with its config.json: its tensors under
 * the hub's names (no `transformer.`), split by transformers' rule into two shards and an index.
 * Returns the file names written (sorted).
 */
function writeShardedMicroGpt(dir: string): string[] {
  const micro = join(tmp, 'public/checkpoints/micro-gpt');
  const tensors: WriteTensor[] = [...readSafetensors(new Uint8Array(readFileSync(join(micro, 'model.safetensors')))).tensors.values()].map((t) => ({
    name: t.name.replace(/^transformer\./, ''),
    dtype: t.dtype,
    shape: t.shape,
    data: t.bytes,
  }));
  const total = tensors.reduce((n, t) => n + t.data.byteLength, 0);
  let files: NamedFile[] = [];
  for (let max = Math.ceil(total / 2); files.length !== 3 && max <= total; max += 256) files = shardLikeTransformers(tensors, max);
  mkdirSync(dir, { recursive: true });
  for (const f of files) writeFileSync(join(dir, f.name), f.bytes as Uint8Array);
  writeFileSync(join(dir, 'config.json'), readFileSync(join(micro, 'config.json')));
  return files.map((f) => f.name).sort();
}

describe('npm run learn', () => {
  it('--help lists every experiment field with its help text and default', () => {
    const r = learn(['--help']);
    expect(r.code).toBe(0);
    for (const f of FIELDS) {
      expect(r.out).toContain(`--${kebab(f.key)}`);
      if (f.key !== 'model') expect(r.out).toContain(f.help);
    }
    expect(r.out).toMatch(/--kappa-start <number>\s+.*\(default 100\)/);
    expect(r.out).toContain('--prior-file');
  });

  it.each([
    [['--bogus', '1'], /^error: unknown option --bogus \(see --help\)$/],
    [['--steps', 'x', '--out', 'o'], /^error: --steps must be an integer \(got "x"\)$/],
    [['--method', 'nope', '--out', 'o'], /^error: --method must be one of maskllm, magnitude, wanda, sparsegpt \(got "nope"\)$/],
    [['--n', '4', '--m', '4', '--out', 'o'], /^error: N \(4\) must be smaller than M \(4\)$/],
    [['--kappa-start', '0', '--out', 'o'], /^error: --kappa-start: kappaStart must be ≥ 0\.001 \(got 0\)$/],
    [['--model', 'micro-gpt'], /^error: --out DIR is required/],
    [['--model', 'no-such-model', '--out', 'o'], /^error: --model no-such-model: not a bundled model/],
    [
      ['--model', '/tmp', '--out', 'o'],
      /^error: --model \/tmp: the directory needs model\.safetensors \(or model\.safetensors\.index\.json and its shards\) and config\.json$/,
    ],
    [['--prior-file', '/no/such/file', '--out', 'o', '--public-dir', 'PUB', '--model', 'micro-gpt'], /^error: --prior-file \/no\/such\/file: no such file$/],
    [['--prior', 'file', '--out', 'o'], /^error: --prior file needs --prior-file FILE$/],
  ])('bad input %j exits non-zero with one line', (args, msg) => {
    const r = learn(args.map((a) => (a === 'PUB' ? join(tmp, 'public') : a)));
    expect(r.code).not.toBe(0);
    const lines = r.err.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(msg);
  });

  it('a tiny MaskLLM run writes every file, and its mask transfers as a prior to a custom-model run', { timeout: 300_000 }, () => {
    const out = join(tmp, 'run');
    const r = learn(['--model', 'micro-gpt', '--public-dir', join(tmp, 'public'), ...TINY, '--out', out]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/eval @ step 3: ppl en [\d.]+( \([\d.]+ bits\/byte\))?, ppl code [\d.]+/);
    const names = [
      'config.json',
      'metrics.jsonl',
      'evaluations.jsonl',
      'summary.json',
      'mask.safetensors',
      'mask.packed',
      'state.bin',
      'mask-l1.png',
      'max-prob.png',
      'loss.png',
      'kappa-tau.png',
      'validation-ppl-en.png',
      'validation-ppl-code.png',
    ];
    for (const n of names) expect(existsSync(join(out, n)), n).toBe(true);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(cfg.config).toMatchObject({ model: 'micro-gpt', method: 'maskllm', steps: 3, batch: 2 });
    expect(cfg.seed).toBe(1);
    expect(cfg.adapter).toMatch(/\S/);
    expect(cfg.versions.chromium).toMatch(/^\d+\./);
    const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((x) => x.step)).toEqual([0, 1, 2]);
    expect(rows[0].sites).toHaveLength(8);
    const evals = readFileSync(join(out, 'evaluations.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(evals.map((x) => x.step)).toEqual([3]);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.table.map((x: { key: string }) => x.key)).toEqual(['dense', 'magnitude', 'wanda', 'sparsegpt', 'sparsegpt+update', 'maskllm']);
    expect(summary.wallSeconds).toBeGreaterThan(0);
    expect(summary.adapter).toBe(cfg.adapter);
    const png = readFileSync(join(out, 'mask-l1.png'));
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.length).toBeGreaterThan(5000);
    // the mask files are valid for this model (names and shapes from the micro GPT)
    const sites = summary.model.sites as number;
    const st = readFileSync(join(out, 'mask.safetensors'));
    const header = JSON.parse(st.subarray(8, 8 + Number(st.readBigUInt64LE(0))).toString('utf8'));
    // GPT-2 Linear weights are Conv1D, stored [in, out]
    const weights = Object.entries(header)
      .filter(([k]) => k !== '__metadata__')
      .map(([name, v]) => ({ name, shape: (v as { shape: number[] }).shape, layout: 'in_out' as const }));
    expect(weights).toHaveLength(sites);
    const fromSt = importMaskSafetensors(new Uint8Array(st), { n: 2, m: 4, weights });
    const fromPacked = importMaskPacked(new Uint8Array(readFileSync(join(out, 'mask.packed'))), { n: 2, m: 4, weights });
    expect(fromPacked.map((x) => Array.from(x.mask))).toEqual(fromSt.map((x) => Array.from(x.mask)));
    expect(decodeState(new Uint8Array(readFileSync(join(out, 'state.bin')))).step).toBe(3);

    // transfer: a model given as a directory, prior from the first run's mask file
    const modelDir = join(tmp, 'my-model');
    mkdirSync(modelDir, { recursive: true });
    for (const f of ['model.safetensors', 'config.json']) writeFileSync(join(modelDir, f), readFileSync(join(tmp, 'public/checkpoints/micro-gpt', f)));
    const out2 = join(tmp, 'run2');
    const r2 = learn([
      '--model',
      modelDir,
      '--public-dir',
      join(tmp, 'public'),
      ...TINY,
      '--steps',
      '1',
      '--eval-every',
      '1',
      '--prior-file',
      join(out, 'mask.safetensors'),
      '--no-charts',
      '--out',
      out2,
    ]);
    expect(r2.err).toBe('');
    expect(r2.code).toBe(0);
    const cfg2 = JSON.parse(readFileSync(join(out2, 'config.json'), 'utf8'));
    expect(cfg2.config).toMatchObject({ model: 'my-model', prior: 'file', steps: 1 });
    expect(cfg2.model).toEqual({ source: 'directory', path: modelDir });
    expect(cfg2.priorFile).toBe(join(out, 'mask.safetensors'));
    expect(existsSync(join(out2, 'mask-l1.png'))).toBe(false);
    const s2 = JSON.parse(readFileSync(join(out2, 'summary.json'), 'utf8'));
    expect(s2.table.at(-1).label).toMatch(/file prior, 1 steps/);
  });

  it('a sharded model directory (index + 2 shards) learns, with the same evaluation as its weights in one model.safetensors', { timeout: 480_000 }, () => {
    const micro = join(tmp, 'public/checkpoints/micro-gpt');
    const single = join(tmp, 'single-gpt');
    mkdirSync(single, { recursive: true });
    for (const f of ['model.safetensors', 'config.json']) writeFileSync(join(single, f), readFileSync(join(micro, f)));
    const dir = join(tmp, 'sharded-gpt');
    expect(writeShardedMicroGpt(dir)).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']);

    const run = (model: string, out: string) =>
      learn(['--model', model, '--public-dir', join(tmp, 'public'), ...TINY, '--steps', '1', '--eval-every', '1', '--no-charts', '--out', out]);
    const r = run(dir, join(tmp, 'sharded-run'));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const r1 = run(single, join(tmp, 'single-run'));
    expect(r1.err).toBe('');
    expect(r1.code).toBe(0);
    const cfg = JSON.parse(readFileSync(join(tmp, 'sharded-run/config.json'), 'utf8'));
    expect(cfg.config).toMatchObject({ model: 'sharded-gpt', method: 'maskllm', steps: 1 });
    expect(cfg.model).toEqual({ source: 'directory', path: dir });
    const evals = readFileSync(join(tmp, 'sharded-run/evaluations.jsonl'), 'utf8').trim().split('\n');
    expect(evals.map((l) => JSON.parse(l).step)).toEqual([1]);
    // the same weights, the same data, the same seed: every row of the table (dense, one-shot, the learned step) equal
    const table = (out: string) =>
      (JSON.parse(readFileSync(join(tmp, out, 'summary.json'), 'utf8')).table as { key: string; metrics: unknown }[]).map((x) => [x.key, x.metrics]);
    const sharded = table('sharded-run');
    expect(sharded.map(([k]) => k)).toEqual(['dense', 'magnitude', 'wanda', 'sparsegpt', 'sparsegpt+update', 'maskllm']);
    expect(sharded).toEqual(table('single-run'));
    expect(JSON.stringify(sharded[0][1])).toMatch(/"loss":\d+\.\d+/);
  });

  it('a sharded directory whose index does not fit its shards: the page names the tensor and both files, in one line', { timeout: 300_000 }, () => {
    const stale = join(tmp, 'stale-gpt');
    const files = writeShardedMicroGpt(stale).filter((f) => f.endsWith('.safetensors'));
    // a tensor of the first shard listed under the second (a stale index)
    const index = JSON.parse(readFileSync(join(stale, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
    const moved = Object.keys(index.weight_map).find((k) => index.weight_map[k] === files[0])!;
    index.weight_map[moved] = files[1];
    writeFileSync(join(stale, 'model.safetensors.index.json'), JSON.stringify(index));
    const r = learn(['--model', stale, '--method', 'magnitude', '--public-dir', join(tmp, 'public'), ...TINY, '--out', join(tmp, 'stale-run')]);
    expect(r.code).toBe(1);
    const lines = r.err.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`model-00001-of-00002.safetensors holds ${moved}, but model.safetensors.index.json puts it in model-00002-of-00002.safetensors`);
  });

  it('a one-shot method writes the masks and summary but no learning state', { timeout: 300_000 }, () => {
    const out = join(tmp, 'wanda');
    const r = learn(['--model', 'micro-vit', '--method', 'wanda', '--public-dir', join(tmp, 'public'), ...TINY, '--out', out]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    for (const n of ['config.json', 'summary.json', 'mask.safetensors', 'mask.packed']) expect(existsSync(join(out, n)), n).toBe(true);
    expect(existsSync(join(out, 'state.bin'))).toBe(false);
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(s.table.find((x: { key: string }) => x.key === 'wanda').metrics.test.images).toBe(30);
  });
});
