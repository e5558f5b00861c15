// Large checkpoints written to disk tensor by tensor, never whole in memory: the streaming
// safetensors writer behind tests/large (a >100 MiB file through `npm run learn`, GPT-2 small through
// `npm run learn`) and `npm run bench -- --gpt2-small`. A GPT-2 is written in the hub's layout:
// names without `transformer.`, Conv1D weights [in, out], the state_dict's (module) order, and the
// causal-mask buffers `h.N.attn.bias` ([1, 1, n_positions, n_positions] F32 lower-triangular ones)
// that the original gpt2 upload carries (the loader ignores them).
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { GptConfig } from '../../src/models/config';
import { gptParameterShapes } from '../../src/models/gpt';
import { normalInit, streamOf } from '../../src/models/init';

/** One tensor of a streamed file: its data is produced only while the file is written. */
export interface StreamedTensor {
  name: string;
  dtype: 'F32';
  shape: number[];
  /** writes the data (the shape's product × 4 bytes, little-endian) through `put`, in order */
  write: (put: (bytes: Uint8Array) => void) => void;
}

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const bytesOf = (v: Float32Array) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

/** An F32 tensor whose values are made (by `values`) when it is written, and dropped after. */
export function f32Tensor(name: string, shape: number[], values: () => Float32Array): StreamedTensor {
  return {
    name,
    dtype: 'F32',
    shape,
    write: (put) => {
      const v = values();
      if (v.length !== count(shape)) throw new Error(`${name}: ${v.length} values for shape [${shape.join(', ')}]`);
      put(bytesOf(v));
    },
  };
}

/** The hub's causal-mask buffer: lower-triangular ones, [1, 1, n, n] F32, written a row at a time. */
export function causalMaskBuffer(name: string, n: number): StreamedTensor {
  return {
    name,
    dtype: 'F32',
    shape: [1, 1, n, n],
    write: (put) => {
      const row = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        row[i] = 1;
        put(bytesOf(row));
      }
    },
  };
}

/**
 * Writes a safetensors file tensor by tensor, in the given order (the header first: names, dtypes,
 * shapes and offsets are known before any data is made). Returns the file's size in bytes.
 */
export function writeSafetensorsStreamed(path: string, tensors: StreamedTensor[], metadata: Record<string, string> = { format: 'pt' }): number {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  const seen = new Set<string>();
  for (const t of tensors) {
    if (seen.has(t.name)) throw new Error(`tensor ${t.name} appears twice`);
    seen.add(t.name);
    const bytes = 4 * count(t.shape);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // ASCII names: characters are bytes
  const fd = openSync(path, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    writeSync(fd, len);
    writeSync(fd, json);
    for (const t of tensors) {
      let written = 0;
      t.write((b) => {
        writeSync(fd, b);
        written += b.byteLength;
      });
      if (written !== 4 * count(t.shape)) throw new Error(`${t.name}: wrote ${written} bytes, its shape needs ${4 * count(t.shape)}`);
    }
  } finally {
    closeSync(fd);
  }
  return 8 + json.length + offset;
}

/** Values of a GPT-2 weight matrix (wte, wpe, and the Conv1D weights) by its hub name and shape. */
export type MatrixInit = (name: string, shape: number[]) => Float32Array;

/**
 * GPT-2's initialisation (the numbers of `gptInitialWeights` in src/models/gpt.ts, one tensor at a
 * time): N(0, 0.02²), the residual projections (`c_proj`) N(0, (0.02/√(2·layers))²), each seeded
 * by its canonical name.
 */
export function gpt2Init(c: GptConfig, seed: number): MatrixInit {
  return (name, shape) => {
    const std = name.endsWith('c_proj.weight') ? 0.02 / Math.sqrt(2 * c.nLayer) : 0.02;
    return normalInit(count(shape), std, seed, streamOf(name === 'lm_head.weight' ? name : `transformer.${name}`));
  };
}

/**
 * A GPT-2's tensors in the hub's layout and order: wte, wpe, per block ln_1, the causal-mask
 * buffer attn.bias (unless `buffers` is false), attn.c_attn, attn.c_proj, ln_2, mlp.c_fc,
 * mlp.c_proj, then ln_f (and lm_head for an untied head). LayerNorm weights are ones, biases
 * zeros; the matrices come from `init`.
 */
export function hubGpt2Tensors(c: GptConfig, init: MatrixInit, buffers = true): StreamedTensor[] {
  const out: StreamedTensor[] = [];
  for (const [canonical, shape] of gptParameterShapes(c)) {
    const name = canonical.replace(/^transformer\./, '');
    const n = count(shape);
    if (name.endsWith('.bias')) out.push(f32Tensor(name, shape, () => new Float32Array(n)));
    else if (/ln_\w+\.weight$/.test(name)) out.push(f32Tensor(name, shape, () => new Float32Array(n).fill(1)));
    else out.push(f32Tensor(name, shape, () => init(name, shape)));
    const block = /^(h\.\d+)\.ln_1\.bias$/.exec(name);
    if (block && buffers) out.push(causalMaskBuffer(`${block[1]}.attn.bias`, c.nPositions));
  }
  return out;
}

/**
 * A hub-layout GPT-2 directory: `model.safetensors` (written tensor by tensor) and `config.json`
 * (given verbatim). Returns the safetensors file's path, size and tensor names with shapes.
 */
export function writeHubGpt2Dir(
  dir: string,
  c: GptConfig,
  configJson: Record<string, unknown>,
  init: MatrixInit,
): { path: string; bytes: number; tensors: { name: string; shape: number[] }[] } {
  mkdirSync(dir, { recursive: true });
  const tensors = hubGpt2Tensors(c, init);
  const path = join(dir, 'model.safetensors');
  const bytes = writeSafetensorsStreamed(path, tensors);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(configJson, null, 2) + '\n');
  return { path, bytes, tensors: tensors.map((t) => ({ name: t.name, shape: t.shape })) };
}
