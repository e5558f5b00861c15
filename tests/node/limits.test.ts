import { describe, expect, it } from 'vitest';
import { bucketSize } from '../../src/gpu/buffers';
import { checkModelFits, LimitError, plannedBuffers } from '../../src/lab/limits';
import type { GptConfig, VitConfig } from '../../src/models/config';
import { TINY_GPT, TINY_VIT } from '../../src/models/presets';
import { GPT2_SMALL } from '../helpers/hub-configs';

const BIG = { maxBufferSize: 2 ** 40, maxStorageBufferBindingSize: 2 ** 40 };
// WebGPU's default (spec minimum) limits
const DEFAULT_LIMITS = { maxBufferSize: 256 * 2 ** 20, maxStorageBufferBindingSize: 128 * 2 ** 20 };

function caught(f: () => void): LimitError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LimitError);
    return e as LimitError;
  }
  throw new Error('expected a LimitError');
}

describe('checkModelFits', () => {
  it('accepts the bundled tiny models on default limits', () => {
    expect(() => checkModelFits(DEFAULT_LIMITS, TINY_GPT, 8)).not.toThrow();
    expect(() => checkModelFits(DEFAULT_LIMITS, TINY_VIT, 8)).not.toThrow();
  });

  it('GPT-2 small on default limits: its 154 MB token embedding exceeds 128 MiB bindings', () => {
    const e = caught(() => checkModelFits(DEFAULT_LIMITS, GPT2_SMALL, 8));
    expect(e.tensor).toBe('weight transformer.wte.weight [50257, 768]');
    expect(e.limitName).toBe('maxStorageBufferBindingSize');
    expect(e.message).toMatch(/smaller model/);
  });

  it('GPT-2 small at batch 8 × 1024 with 1 GiB limits: the logits do not fit; names tensor, bytes, limit, suggestion', () => {
    // evaluation batch 32 dominates: 32·1024·50257·4 bytes
    const e = caught(() => checkModelFits({ maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 30 }, GPT2_SMALL, 8));
    expect(e.tensor).toMatch(/^logits \[B·T = 32·1024, vocab = 50257\]/);
    expect(e.bytes).toBe(bucketSize(32 * 1024 * 50257 * 4));
    expect(e.limitName).toBe('maxBufferSize'); // checked first; both are exceeded
    expect(e.message).toContain(String(e.bytes));
    expect(e.message).toContain(String(2 ** 30));
    expect(e.message).toMatch(/shorter context/);
  });

  it('a training batch larger than the evaluation batch gets a batch suggestion that fits', () => {
    const limits = { maxBufferSize: 2 ** 40, maxStorageBufferBindingSize: 64 * 2 ** 20 };
    const e = caught(() => checkModelFits(limits, TINY_GPT, 4096));
    expect(e.limitName).toBe('maxStorageBufferBindingSize');
    const m = /batch of at most (\d+)/.exec(e.message);
    expect(m).not.toBeNull();
    const suggested = Number(m![1]);
    expect(suggested).toBeGreaterThanOrEqual(32);
    expect(suggested).toBeLessThan(4096);
    // the suggestion is the largest batch that fits
    expect(() => checkModelFits(limits, TINY_GPT, suggested)).not.toThrow();
    expect(() => checkModelFits(limits, TINY_GPT, suggested + 1)).toThrow(LimitError);
  });

  it('a shorter context makes the GPT fit', () => {
    const limits = { maxBufferSize: 4 * 2 ** 20, maxStorageBufferBindingSize: 4 * 2 ** 20 };
    expect(() => checkModelFits(limits, TINY_GPT, 8)).toThrow(LimitError);
    expect(() => checkModelFits(limits, TINY_GPT, 8, 32)).not.toThrow();
  });

  it('a weight that does not fit is reported as fixed (smaller model), not a batch problem', () => {
    const limits = { maxBufferSize: 2 ** 40, maxStorageBufferBindingSize: 100 * 2 ** 20 };
    const huge: GptConfig = { ...TINY_GPT, vocabSize: 1_000_000, nEmbd: 64 * 48, nHead: 48, nPositions: 8 };
    const e = caught(() => checkModelFits(limits, huge, 1, 1));
    expect(e.tensor).toMatch(/weight transformer\.wte\.weight \[1000000, 3072\]/);
    expect(e.message).toMatch(/smaller model/);
  });

  it('mask logits of the widest site are checked (4:8 has 70 candidates)', () => {
    const b = plannedBuffers(TINY_GPT, 1, 1, { n: 4, m: 8 }).find((x) => x.name.startsWith('mask logits'))!;
    expect(b.name).toMatch(/c_fc|c_proj/);
    expect(b.bytes).toBe(((64 * 256) / 8) * 70 * 4);
    const limits = { maxBufferSize: 2 ** 40, maxStorageBufferBindingSize: b.bytes - 1 };
    expect(caught(() => checkModelFits(limits, TINY_GPT, 1, 1, { n: 4, m: 8 })).tensor).toBe(b.name);
  });

  it('ViT: attention probabilities at the evaluation batch (250 images)', () => {
    const vit: VitConfig = { ...TINY_VIT, imageSize: 224, patchSize: 4, numHeads: 4 };
    const T = (224 / 4) ** 2 + 1;
    const e = caught(() => checkModelFits(DEFAULT_LIMITS, vit, 8));
    expect(e.tensor).toBe(`attention probabilities [B = 250, heads = 4, T = ${T}, T = ${T}]`);
    expect(e.bytes).toBe(bucketSize(250 * 4 * T * T * 4));
    expect(e.message).toMatch(/evaluation batch of 250/);
  });

  it('every planned buffer fits huge limits; bad arguments name what is wrong', () => {
    expect(() => checkModelFits(BIG, GPT2_SMALL, 8)).not.toThrow();
    expect(() => checkModelFits(BIG, TINY_GPT, 0)).toThrow(/batch must be a positive integer, got 0/);
    expect(() => checkModelFits(BIG, TINY_GPT, 1, 129)).toThrow(/context must be an integer in 1\.\.128/);
    expect(() => checkModelFits({ maxBufferSize: Number.NaN, maxStorageBufferBindingSize: 1 }, TINY_GPT, 1)).toThrow(/limits\.maxBufferSize/);
  });
});
