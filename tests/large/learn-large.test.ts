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
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTextShard } from '../../src/data/shards';
import { rngBitsCpu } from '../../src/ops/rng';
import { randn, testSeed } from '../helpers/random';

const ROOT = join(__dirname, '../..');
const seed = testSeed();
const MiB = 2 ** 20;
const N_POS = 2048;
const C = 8;
const LAYERS = 7;

interface Tensor {
  name: string;
  shape: number[];
  /** writes the F32 data (shape's product × 4 bytes) to fd at the current position */
  write: (fd: number) => void;
}

const f32 = (name: string, shape: number[], values: Float32Array): Tensor => ({
  name,
  shape,
  write: (fd) => void writeSync(fd, new Uint8Array(values.buffer, values.byteOffset, values.byteLength)),
});

/** The hub's causal-mask buffer: lower-triangular ones, [1, 1, n, n] F32, written a row at a time. */
const causalBias = (name: string): Tensor => ({
  name,
  shape: [1, 1, N_POS, N_POS],
  write: (fd) => {
    const row = new Float32Array(N_POS);
    for (let i = 0; i < N_POS; i++) {
      row[i] = 1;
      writeSync(fd, new Uint8Array(row.buffer));
    }
  },
});

/** model.safetensors written tensor by tensor (the file is never whole in memory here either). */
function writeHubGpt2(path: string): number {
  let k = 0;
  const w = (name: string, shape: number[], scale = 0.5) =>
    f32(
      name,
      shape,
      randn(
        shape.reduce((a, b) => a * b, 1),
        (seed + ++k * 7919) >>> 0,
        scale,
      ),
    );
  const ones = (name: string, n: number) => f32(name, [n], new Float32Array(n).fill(1));
  const zeros = (name: string, n: number) => f32(name, [n], new Float32Array(n));
  const tensors: Tensor[] = [w('wte.weight', [256, C]), w('wpe.weight', [N_POS, C], 0.1)];
  for (let l = 0; l < LAYERS; l++) {
    const h = `h.${l}.`;
    tensors.push(
      ones(h + 'ln_1.weight', C),
      zeros(h + 'ln_1.bias', C),
      causalBias(h + 'attn.bias'),
      w(h + 'attn.c_attn.weight', [C, 3 * C]),
      zeros(h + 'attn.c_attn.bias', 3 * C),
      w(h + 'attn.c_proj.weight', [C, C]),
      zeros(h + 'attn.c_proj.bias', C),
      ones(h + 'ln_2.weight', C),
      zeros(h + 'ln_2.bias', C),
      w(h + 'mlp.c_fc.weight', [C, 4 * C]),
      zeros(h + 'mlp.c_fc.bias', 4 * C),
      w(h + 'mlp.c_proj.weight', [4 * C, C]),
      zeros(h + 'mlp.c_proj.bias', C),
    );
  }
  tensors.push(ones('ln_f.weight', C), zeros('ln_f.bias', C));
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of tensors) {
    const bytes = 4 * t.shape.reduce((a, b) => a * b, 1);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const fd = openSync(path, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    writeSync(fd, len);
    writeSync(fd, json);
    for (const t of tensors) t.write(fd);
  } finally {
    closeSync(fd);
  }
  return 8 + json.length + offset;
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
    const size = writeHubGpt2(join(dir, 'model.safetensors'));
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
