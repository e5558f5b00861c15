// Reading a checkpoint's tensor in the e2e specs independently of the lab's own safetensors code, so
// that what the page shows is checked against the file itself.
import { readFileSync } from 'node:fs';

/** One F32 tensor of a safetensors file: shape and values (no lab code involved). */
export function readTensor(path: string, name: string): { shape: number[]; values: Float32Array } {
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const t = header[name];
  if (!t || t.dtype !== 'F32') throw new Error(`${name}: not an F32 tensor of ${path}`);
  const [a, b] = t.data_offsets;
  const data = bytes.subarray(8 + n + a, 8 + n + b);
  const values = new Float32Array(data.length / 4);
  for (let i = 0; i < values.length; i++) values[i] = data.readFloatLE(4 * i);
  return { shape: t.shape, values };
}
