import { describe, expect, it } from 'vitest';
import { writeSafetensors } from '../../src/models/safetensors';
import { elementIndex, groupLayout, type WeightLayout } from '../../src/sparsity/layout';
import {
  crc32,
  decodeState,
  digitsPerWord,
  encodeState,
  exportMaskPacked,
  exportMaskSafetensors,
  importMaskPacked,
  importMaskSafetensors,
  MaskFileError,
  type MaskEntry,
  type MaskExpect,
  type ResumableState,
} from '../../src/sparsity/maskfile';
import { nmPattern } from '../../src/sparsity/patterns';
import { maskFromChoice } from '../../src/sparsity/prior';
import { randint, randn, testSeed } from '../helpers/random';

const seed = testSeed();

function entries(n: number, m: number): MaskEntry[] {
  const p = nmPattern(n, m);
  const defs: [string, number[], WeightLayout][] = [
    ['h.0.attn.c_attn.weight', [16, 24], 'in_out'],
    ['h.0.mlp.c_fc.weight', [24, 8], 'out_in'],
    ['h.1.attn.c_proj.weight', [8, 48], 'in_out'], // 96 + 48 + 96 = 240 groups of 4: 20 full words for 2:4
  ];
  return defs.map(([name, shape, layout], i) => {
    const g = groupLayout(shape, layout, m);
    return { name, shape, layout, mask: maskFromChoice(randint(g.groups, seed + i, p.candidates.length), g, p) };
  });
}
const expectOf = (es: MaskEntry[], n: number, m: number, model?: string): MaskExpect => ({
  n,
  m,
  model,
  weights: es.map(({ name, shape, layout }) => ({ name, shape, layout })),
});
const meta = (n: number, m: number) => ({ n, m, model: 'gpt2-d64' });

/** Rewrite the container CRC after tampering, to reach the checks behind it. */
function refreshCrc(buf: Uint8Array): Uint8Array {
  new DataView(buf.buffer, buf.byteOffset).setUint32(20, crc32(buf.subarray(24)), true);
  return buf;
}
const weights = (es: MaskEntry[]) => es.reduce((s, e) => s + e.mask.length, 0);

describe('CRC-32 and packing constants', () => {
  it('crc32 matches the IEEE check value, and chains', () => {
    const b = new TextEncoder().encode('123456789');
    expect(crc32(b)).toBe(0xcbf43926);
    expect(crc32(b.subarray(4), crc32(b.subarray(0, 4)))).toBe(0xcbf43926);
  });
  it('digits per u32: 2:4 → 12, 2:8 → 6, 4:8 → 5, 1:4 → 16', () => {
    expect([6, 28, 70, 4].map(digitsPerWord)).toEqual([12, 6, 5, 16]);
  });
});

describe('packed mask file', () => {
  it('round-trips 2:4, 2:8, 4:8 with both layouts', () => {
    for (const [n, m] of [
      [2, 4],
      [2, 8],
      [4, 8],
    ]) {
      const es = entries(n, m);
      const back = importMaskPacked(exportMaskPacked(es, meta(n, m)), expectOf(es, n, m, 'gpt2-d64'));
      expect(back.map((e) => e.name)).toEqual(es.map((e) => e.name));
      back.forEach((e, i) => {
        expect(e.shape).toEqual(es[i].shape);
        expect(e.layout).toBe(es[i].layout);
        expect(Array.from(e.mask)).toEqual(Array.from(es[i].mask));
      });
    }
  });

  it('2:4 payload is ≤ 0.67 bits per weight (12 digits per u32)', () => {
    const es = entries(2, 4);
    const buf = exportMaskPacked(es, meta(2, 4));
    const payloadBytes = new DataView(buf.buffer).getUint32(16, true);
    const bits = (payloadBytes * 8) / weights(es);
    expect(bits).toBeLessThanOrEqual(0.67);
    expect(bits).toBeGreaterThanOrEqual(Math.log2(6) / 4); // cannot beat the entropy bound
  });

  it('rejects a mask that is not N:M on export, and an invalid digit on import', () => {
    const es = entries(2, 4);
    const bad = es.map((e) => ({ ...e, mask: Uint8Array.from(e.mask) }));
    bad[1].mask[0] = 1 - bad[1].mask[0];
    expect(() => exportMaskPacked(bad, meta(2, 4))).toThrow(MaskFileError);
    expect(() => exportMaskPacked(bad, meta(2, 4))).toThrow(/weight 'h.0.mlp.c_fc.weight' is not a 2:4 mask: .*group 0 keeps/);
    const buf = exportMaskPacked(es, meta(2, 4));
    const H = new DataView(buf.buffer).getUint32(12, true);
    new DataView(buf.buffer).setUint32(24 + H, 0xffffffff, true); // ≥ 6^12: not a base-6 word of 12 digits
    expect(() => importMaskPacked(refreshCrc(buf), expectOf(es, 2, 4))).toThrow(/word 0 exceeds 6\^12: not a valid 2:4 packing/);
  });

  it('rejects a wrong shape, another model, other n:m, a layout mismatch', () => {
    const es = entries(2, 4);
    const buf = exportMaskPacked(es, meta(2, 4));
    const ex = expectOf(es, 2, 4);
    const shape = { ...ex, weights: ex.weights.map((w, i) => (i === 0 ? { ...w, shape: [24, 16] } : w)) };
    expect(() => importMaskPacked(buf, shape)).toThrow(/weight 'h.0.attn.c_attn.weight' has shape \[16, 24\] in the file, expected \[24, 16\]/);
    const other = { ...ex, weights: [...ex.weights.slice(1), { name: 'blocks.0.attn.qkv.weight', shape: [16, 24], layout: 'out_in' as const }] };
    expect(() => importMaskPacked(buf, other)).toThrow(/weight 'blocks.0.attn.qkv.weight' is missing: the file is for another model \('gpt2-d64'\)/);
    expect(() => importMaskPacked(buf, { ...ex, weights: ex.weights.slice(1) })).toThrow(
      /the file has weight 'h.0.attn.c_attn.weight' that the model does not/,
    );
    expect(() => importMaskPacked(buf, { ...ex, model: 'vit-tiny' })).toThrow(/the file is for model 'gpt2-d64', expected 'vit-tiny'/);
    expect(() => importMaskPacked(buf, { ...ex, n: 1 })).toThrow(/holds 2:4 masks, expected 1:4/);
    const lay = { ...ex, weights: ex.weights.map((w, i) => (i === 2 ? { ...w, layout: 'out_in' as const } : w)) };
    expect(() => importMaskPacked(buf, lay)).toThrow(/has layout in_out in the file, expected out_in/);
  });

  it('rejects a bad CRC, truncation, trailing bytes, another magic, another version', () => {
    const es = entries(2, 4);
    const ex = expectOf(es, 2, 4);
    const buf = exportMaskPacked(es, meta(2, 4));
    const flipped = Uint8Array.from(buf);
    flipped[flipped.length - 1] ^= 0x10;
    expect(() => importMaskPacked(flipped, ex)).toThrow(/CRC mismatch .* the file is corrupted/);
    const header = Uint8Array.from(buf);
    header[30] ^= 0x01; // inside the JSON header: also covered
    expect(() => importMaskPacked(header, ex)).toThrow(/CRC mismatch/);
    expect(() => importMaskPacked(buf.subarray(0, buf.length - 3), ex)).toThrow(/truncated: \d+ bytes, the prefix declares \d+/);
    expect(() => importMaskPacked(buf.subarray(0, 10), ex)).toThrow(/truncated: 10 bytes, shorter than the 24-byte prefix/);
    const longer = new Uint8Array(buf.length + 4);
    longer.set(buf);
    expect(() => importMaskPacked(longer, ex)).toThrow(/4 trailing bytes/);
    expect(() => importMaskPacked(encodeState({ version: 1, config: {}, step: 0, rng: { seed: 0, stream: 0, offset: 0 }, sites: [] }), ex)).toThrow(
      /magic "MLLMSTAT", expected "MLLMPACK"/,
    );
    const v2 = Uint8Array.from(buf);
    new DataView(v2.buffer).setUint32(8, 2, true);
    expect(() => importMaskPacked(v2, ex)).toThrow(/format version 2, this build reads version 1/);
  });
});

describe('safetensors mask file', () => {
  it('round-trips: one U8 weight-shaped 0/1 tensor per weight, keyed by name', () => {
    for (const [n, m] of [
      [2, 4],
      [4, 8],
    ]) {
      const es = entries(n, m);
      const buf = exportMaskSafetensors(es, meta(n, m));
      const back = importMaskSafetensors(buf, expectOf(es, n, m, 'gpt2-d64'));
      back.forEach((e, i) => {
        expect(e.name).toBe(es[i].name);
        expect(e.shape).toEqual(es[i].shape);
        expect(Array.from(e.mask)).toEqual(Array.from(es[i].mask));
      });
    }
  });

  it('rejects not N:M, a wrong shape, another model, a bad CRC, truncation', () => {
    const es = entries(2, 4);
    const ex = expectOf(es, 2, 4);
    const bad = es.map((e) => ({ ...e, mask: Uint8Array.from(e.mask) }));
    const g2 = groupLayout(bad[2].shape, bad[2].layout, 4);
    for (let k = 0; k < 4; k++) bad[2].mask[elementIndex(g2, 0, k)] = 1; // group 0 keeps all 4
    expect(() => exportMaskSafetensors(bad, meta(2, 4))).toThrow(/weight 'h.1.attn.c_proj.weight' is not a 2:4 mask/);
    // a hand-made file with a non-N:M mask but consistent metadata and CRC is still rejected
    const layouts = Object.fromEntries(es.map((e) => [e.name, e.layout]));
    const sorted = [...bad].sort((a, b) => (a.name < b.name ? -1 : 1));
    let crc = 0;
    for (const e of sorted) crc = crc32(e.mask, crc);
    const forged = writeSafetensors(
      bad.map((e) => ({ name: e.name, dtype: 'U8' as const, shape: e.shape, data: e.mask })),
      { format: 'maskllm-mask', version: '1', n: '2', m: '4', model: 'gpt2-d64', layouts: JSON.stringify(layouts), crc32: String(crc) },
    );
    expect(() => importMaskSafetensors(forged, ex)).toThrow(/weight 'h.1.attn.c_proj.weight' is not a 2:4 mask/);

    const buf = exportMaskSafetensors(es, meta(2, 4));
    const shape = { ...ex, weights: ex.weights.map((w, i) => (i === 1 ? { ...w, shape: [8, 24] } : w)) };
    expect(() => importMaskSafetensors(buf, shape)).toThrow(/has shape \[24, 8\] in the file, expected \[8, 24\]/);
    expect(() => importMaskSafetensors(buf, { ...ex, weights: [{ name: 'blocks.0.mlp.fc1.weight', shape: [16, 24], layout: 'out_in' }] })).toThrow(
      /is missing: the file is for another model/,
    );
    expect(() => importMaskSafetensors(buf, { ...ex, model: 'other' })).toThrow(/for model 'gpt2-d64', expected 'other'/);
    const flipped = Uint8Array.from(buf);
    flipped[flipped.length - 1] ^= 1; // a mask byte: still parses, but the CRC catches it
    expect(() => importMaskSafetensors(flipped, ex)).toThrow(/CRC mismatch/);
    expect(() => importMaskSafetensors(buf.subarray(0, buf.length - 5), ex)).toThrow(/not a readable safetensors file \(truncated or damaged\)/);
  });
});

describe('resumable state file', () => {
  const state = (): ResumableState => ({
    version: 1,
    config: { model: 'gpt2-d64', hyper: { lr: 2e-3, kappa: [100, 500] } },
    step: 123,
    rng: { seed: 42, stream: 7, offset: 99999 },
    sites: [
      { name: 'a', logits: randn(30, seed), m: randn(30, seed + 1), v: randn(30, seed + 2).map(Math.abs) },
      { name: 'b', logits: randn(7, seed + 3), m: randn(7, seed + 4), v: randn(7, seed + 5).map(Math.abs) },
      { name: 'empty', logits: new Float32Array(0), m: new Float32Array(0), v: new Float32Array(0) },
    ],
    metrics: { maskDiff: [0.1, 0.05], maxProb: [0.2, 0.4] },
  });

  it('round-trips exactly (also from an unaligned view)', () => {
    const s = state();
    const buf = encodeState(s);
    const shifted = new Uint8Array(buf.length + 1).subarray(1);
    shifted.set(buf);
    for (const b of [buf, shifted]) {
      const back = decodeState(b);
      expect(back.version).toBe(1);
      expect(back.config).toEqual(s.config);
      expect(back.step).toBe(123);
      expect(back.rng).toEqual(s.rng);
      expect(back.metrics).toEqual(s.metrics);
      expect(back.sites.map((x) => x.name)).toEqual(['a', 'b', 'empty']);
      back.sites.forEach((x, i) => {
        for (const k of ['logits', 'm', 'v'] as const) expect(Array.from(x[k])).toEqual(Array.from(s.sites[i][k]));
      });
    }
  });

  it('rejects a version mismatch, a bad CRC, truncation, inconsistent Adam state', () => {
    const buf = encodeState(state());
    expect(() => decodeState(encodeState({ ...state(), version: 2 }))).toThrow(/format version 2, this build reads version 1/);
    const flipped = Uint8Array.from(buf);
    flipped[buf.length - 2] ^= 0x80;
    expect(() => decodeState(flipped)).toThrow(MaskFileError);
    expect(() => decodeState(flipped)).toThrow(/CRC mismatch/);
    expect(() => decodeState(buf.subarray(0, buf.length - 4))).toThrow(/truncated/);
    expect(() => decodeState(buf.subarray(0, 5))).toThrow(/truncated: 5 bytes/);
    const s = state();
    s.sites[0].v = new Float32Array(29);
    expect(() => encodeState(s)).toThrow(/site 'a': Adam m \(30\) and v \(29\) must match the 30 logits/);
    // a header whose sizes disagree with the payload (CRC made consistent) is caught before reading
    const H = new DataView(buf.buffer).getUint32(12, true);
    const text = new TextDecoder().decode(buf.subarray(24, 24 + H)).replace('"size":30', '"size":31');
    const forged = Uint8Array.from(buf);
    forged.set(new TextEncoder().encode(text), 24);
    expect(() => decodeState(refreshCrc(forged))).toThrow(/payload is \d+ bytes, the sites need \d+/);
  });
});
