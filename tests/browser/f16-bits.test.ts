// Packed f16 storage (issue 21), deterministic: every finite f16 value, packed on the host, comes
// back exactly from the GPU's unpack2x16float (the unpack kernel and the engine's read): normals,
// all 1023 subnormals of each sign and ±0 — so no adapter-side rounding or flushing on this one.
import { describe, expect, it } from 'vitest';
import { f16BitsToF32, f32ToF16Bits } from '../../src/backend/f16';
import { Gpt, gptInitialWeights } from '../../src/models/gpt';
import { unpackF16 } from '../../src/ops/f16';
import { getEngine } from '../helpers/gpu';
import { MICRO_GPT } from '../helpers/tiny-models';

describe('unpack2x16float on the GPU: every finite f16 value', async () => {
  const g = await getEngine();

  it.runIf(g)('all 63,488 finite values + 1 odd tail: the unpack kernel and read() equal the host decode bit for bit', async () => {
    const e = g!;
    const bits: number[] = [];
    for (let h = 0; h < 0x10000; h++) if (((h >> 10) & 0x1f) !== 0x1f) bits.push(h);
    bits.push(0x3c00); // an odd count: the last word is half used
    const values = Float32Array.from(bits, f16BitsToF32);
    // the host conversion keeps every f16 value's bits
    bits.forEach((h, i) => {
      if (f32ToF16Bits(values[i]) !== h) throw new Error(`0x${h.toString(16)} does not survive f32ToF16Bits`);
    });
    const t = e.upload(values, [values.length], 'f16');
    const out = unpackF16(e, t); // poisoned at allocation
    const got = (await e.read(out)) as Float32Array;
    const read = (await e.read(t)) as Float32Array;
    const wrong: string[] = [];
    for (let i = 0; i < values.length && wrong.length < 5; i++) {
      if (!Object.is(got[i], values[i])) wrong.push(`unpack 0x${bits[i].toString(16)}: ${got[i]} vs ${values[i]}`);
      if (!Object.is(read[i], values[i])) wrong.push(`read 0x${bits[i].toString(16)}: ${read[i]} vs ${values[i]}`);
    }
    expect(wrong).toEqual([]);
    t.dispose();
    out.dispose();
    expect(e.takeErrors()).toEqual([]);
  });

  it.runIf(g)('a masked weight beyond f16 range is refused naming the tensor; an unmasked one stays f32', async () => {
    const e = g!;
    const name = 'transformer.h.1.mlp.c_fc.weight';
    const values = gptInitialWeights(MICRO_GPT, 1);
    values.get(name)![5] = 70000;
    expect(() => new Gpt(e, MICRO_GPT, values, false, 'f16')).toThrow(
      /weight transformer\.h\.1\.mlp\.c_fc\.weight: value 70000 at index 5 cannot be stored as f16/,
    );
    // an embedding beyond the range is fine: only the masked layers are packed
    const ok = gptInitialWeights(MICRO_GPT, 1);
    ok.get('transformer.wte.weight')![0] = 1e6;
    const model = new Gpt(e, MICRO_GPT, ok, false, 'f16');
    expect(model.weights.get('transformer.wte.weight')!.raw.dtype).toBe('f32');
    expect(model.weights.get(name)!.raw.dtype).toBe('f16');
    model.dispose();
    expect(e.takeErrors()).toEqual([]);
  });
});
