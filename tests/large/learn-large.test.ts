// A checkpoint over Chromium's 100 MiB DevTools-pipe limit through `npm run learn` and the real
// driver (headless Chromium): the file is streamed from disk by the driver's file routes and
// fetched by the page, never passed through page.evaluate (which would kill the page with "Too large
// read data is pending"). The model is a byte-level GPT-2 (vocab 256) in the hub's layout — names
// without the `transformer.` prefix, Conv1D weights [in, out] — whose file is large because it
// carries the causal-mask buffers `attn.bias` that transformers saves ([1, 1, n_positions,
// n_positions] F32; the loader ignores them): n_positions 2048 makes them 16 MiB a layer, 7 layers
// of width 8 make 112 MiB of buffers and 100 KiB of weights. (GPT-2's own 1024 positions would need
// 26+ layers to pass 100 MiB, and Wanda and SparseGPT, which every run computes as baselines, run
// one forward per block per calibration batch: the cost grows with the square of the depth —
// 28 layers did not finish in 10 minutes on the loaded 2-core machine.) Magnitude, one calibration
// batch of one sequence, one evaluation window per domain.
//
// Not part of `npm test` (minutes on the CPU adapter): `npm run test:large`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTextShard } from '../../src/data/shards';
import type { GptConfig } from '../../src/models/config';
import { rngBitsCpu } from '../../src/ops/rng';
import { hubGpt2Tensors, writeSafetensorsStreamed } from '../../tools/lib/write-checkpoint';
import { randn, testSeed } from '../helpers/random';

const ROOT = join(__dirname, '../..');
const seed = testSeed();
const MiB = 2 ** 20;
const N_POS = 2048;
const C = 8;
const LAYERS = 7;

/** model.safetensors in the hub's layout, written tensor by tensor (tools/lib/write-checkpoint.ts). */
function writeHubGpt2(dir: string): number {
  let k = 0;
  const config: GptConfig = {
    kind: 'gpt2',
    vocabSize: 256,
    nPositions: N_POS,
    nEmbd: C,
    nLayer: LAYERS,
    nHead: 2,
    layerNormEps: 1e-5,
    tieWordEmbeddings: true,
  };
  const init = (name: string, shape: number[]) =>
    randn(
      shape.reduce((a, b) => a * b, 1),
      (seed + ++k * 7919) >>> 0,
      name === 'wpe.weight' ? 0.1 : 0.5,
    );
  return writeSafetensorsStreamed(join(dir, 'model.safetensors'), hubGpt2Tensors(config, init));
}

let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'learn-large-'));
  // text shards long enough for one window of n_positions + 1 tokens per domain (bytes are the tokens)
  const data = join(tmp, 'public/data');
  mkdirSync(data, { recursive: true });
  let s = 0;
  for (const d of ['en', 'code'])
    for (const split of ['train', 'val', 'test']) {
      const bytes = Uint8Array.from(rngBitsCpu({ seed, stream: 20 + s++, offset: 0 }, 3 * N_POS), (b) => 97 + (b % 26));
      writeFileSync(join(data, `${d}.${split}.bin`), encodeTextShard(bytes));
    }
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe(`npm run learn with a checkpoint over 100 MiB (seed ${seed})`, () => {
  it('streams the model to the page and writes the run', { timeout: 1_800_000 }, () => {
    const dir = join(tmp, 'byte-gpt2');
    mkdirSync(dir, { recursive: true });
    const size = writeHubGpt2(dir);
    expect(statSync(join(dir, 'model.safetensors')).size).toBe(size);
    expect(size).toBeGreaterThan(110 * MiB); // base64 through the pipe would be 150 MiB
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({
        architectures: ['GPT2LMHeadModel'],
        model_type: 'gpt2',
        vocab_size: 256,
        n_positions: N_POS,
        n_ctx: N_POS,
        n_embd: C,
        n_layer: LAYERS,
        n_head: 2,
        activation_function: 'gelu_new',
        layer_norm_epsilon: 1e-5,
      }),
    );
    const out = join(tmp, 'run');
    const t0 = performance.now();
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        './tools/raw-loader.mjs',
        'tools/learn.ts',
        ...['--model', dir, '--method', 'magnitude', '--eval-windows', '1', '--batch', '1', '--calib-batches', '1', '--seed', String(seed % 1000)],
        ...['--public-dir', join(tmp, 'public'), '--out', out],
      ],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 1_780_000,
        env: { ...process.env, VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? '/usr/lib/chromium/vk_swiftshader_icd.json', DEBUG: '' },
      },
    );
    const seconds = (performance.now() - t0) / 1000;
    console.log(`learn with a ${(size / MiB).toFixed(1)} MiB checkpoint: ${seconds.toFixed(1)} s`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('loading sending model.safetensors…');
    expect(r.stdout).toMatch(/model byte-gpt2: [\d,]+ parameters, [\d,]+ masked weights in 28 layers/);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.table.map((x: { key: string }) => x.key)).toContain('magnitude');
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(cfg.model).toEqual({ source: 'directory', path: dir });
    for (const f of ['mask.safetensors', 'mask.packed']) expect(existsSync(join(out, f)), f).toBe(true);
  });
});
