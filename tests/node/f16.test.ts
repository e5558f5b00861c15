// Packed f16 weight storage (issue 21), the deterministic checks: the host's f32 → f16 rounding on
// known bit patterns (round to nearest, ties to even, subnormals, the range limit), the option's
// config field, the memory plan's 2 bytes per masked weight, and the host engines' refusal.
// Random inputs against an independent reference: tests/node/f16-random.test.ts.
import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import { F16RangeError, f16BitsToF32, f32ToF16Bits, packF16, roundToF16, unpackF16 } from '../../src/backend/f16';
import { ConfigValueError, DEFAULT_CONFIG, sanitizeConfig } from '../../src/lab/config';
import { fixedEngine, LabRunner } from '../../src/lab/runner';
import { memoryPlan } from '../../src/lab/memory-plan';
import { upgradeConfig } from '../../src/lab/run-record';
import { buildModel } from '../../src/models/checkpoint';
import { gptInitialWeights, gptMaskSites, gptParameterShapes } from '../../src/models/gpt';
import { TINY_GPT, TINY_VIT } from '../../src/models/presets';
import { vitMaskSites, vitParameterShapes } from '../../src/models/vit';
import { microAssets } from '../helpers/micro-assets';
import { MICRO_GPT } from '../helpers/tiny-models';

describe('f32 → f16 on the host: known bit patterns', () => {
  // [value, f16 bits]: the IEEE-754 binary16 encodings (e.g. numpy.float16(v).view(numpy.uint16))
  const known: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff], // the largest finite f16
    [-65504, 0xfbff],
    [6.103515625e-5, 0x0400], // 2^-14: the smallest normal
    [6.097555160522461e-5, 0x03ff], // 1023 · 2^-24: the largest subnormal
    [5.960464477539063e-8, 0x0001], // 2^-24: the smallest subnormal
    [-5.960464477539063e-8, 0x8001],
    [0.1, 0x2e66], // 0.0999755859375
    [1 / 3, 0x3555],
    [3.140625, 0x4248],
    // ties: 1 + 2^-11 lies halfway between 1 (…00, even) and 1 + 2^-10 (…01): to even, down
    [1 + 2 ** -11, 0x3c00],
    // 1 + 3·2^-11 lies halfway between …01 and …10 (even): up
    [1 + 3 * 2 ** -11, 0x3c02],
    // just above a tie rounds up
    [1 + 2 ** -11 + 2 ** -23, 0x3c01],
    // a subnormal tie: 2.5 · 2^-24 → 2 · 2^-24 (even); 3.5 · 2^-24 → 4 · 2^-24
    [2.5 * 2 ** -24, 0x0002],
    [3.5 * 2 ** -24, 0x0004],
    // 2^-25 is halfway between 0 and the smallest subnormal: to even (0); a bit more: up
    [2 ** -25, 0x0000],
    [2 ** -25 * (1 + 2 ** -23), 0x0001],
    [-(2 ** -26), 0x8000],
    // the largest subnormal plus half a step rounds (to even) into the smallest normal
    [1023.5 * 2 ** -24, 0x0400],
    // 2047.5 → 2048 (mantissa carry into the exponent)
    [2047.5, 0x6800],
    // f32 subnormals are far below f16's range: signed zero
    [1e-40, 0x0000],
    [-1e-40, 0x8000],
  ];
  it.each(known)('%s → 0x%s', (v, bits) => {
    expect(f32ToF16Bits(v).toString(16)).toBe(bits.toString(16));
    // and back: the f16 value is what roundToF16 gives
    expect(Object.is(roundToF16([v])[0], f16BitsToF32(bits))).toBe(true);
  });

  it('decodes the special values', () => {
    expect(f16BitsToF32(0x7c00)).toBe(Infinity);
    expect(f16BitsToF32(0xfc00)).toBe(-Infinity);
    expect(f16BitsToF32(0x7e00)).toBeNaN();
    expect(Object.is(f16BitsToF32(0x8000), -0)).toBe(true);
    expect(f16BitsToF32(0x3555)).toBe(0.333251953125);
  });

  it('packs two values per word, element 2k low; an odd count leaves the last high half zero', () => {
    const w = packF16([1, -2, 65504]);
    expect(Array.from(w)).toEqual([(0xc000 << 16) | 0x3c00, 0x7bff].map((x) => x >>> 0));
    expect(Array.from(unpackF16(w, 3))).toEqual([1, -2, 65504]);
    expect(packF16([]).length).toBe(0);
  });

  it('refuses a value beyond ±65504, ±Inf or NaN, naming where', () => {
    // 65519 would round to 65504 under round-to-nearest, but is beyond f16's largest finite value: refused too
    for (const bad of [65505, 65519, 65520, -70000, Infinity, -Infinity, NaN]) {
      const v = new Float32Array([0.5, bad]);
      let err: unknown = null;
      try {
        packF16(v, 'weight transformer.h.0.mlp.c_fc.weight');
      } catch (e) {
        err = e;
      }
      expect(err, String(bad)).toBeInstanceOf(F16RangeError);
      expect((err as F16RangeError).index).toBe(1);
      expect((err as Error).message).toContain('transformer.h.0.mlp.c_fc.weight');
      expect((err as Error).message).toContain('index 1');
    }
    expect(() => packF16([65504, -65504])).not.toThrow();
  });
});

describe('weightStorage: the option', () => {
  it('defaults to f32; f16 is accepted; another value is refused naming the field', () => {
    expect(DEFAULT_CONFIG.weightStorage).toBe('f32');
    expect(sanitizeConfig({ weightStorage: 'f16' }, DEFAULT_CONFIG, { strict: true }).config.weightStorage).toBe('f16');
    let err: unknown = null;
    try {
      sanitizeConfig({ weightStorage: 'bf16' }, DEFAULT_CONFIG, { strict: true });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigValueError);
    expect((err as ConfigValueError).field).toBe('weightStorage');
    const lenient = sanitizeConfig({ weightStorage: 'f8' });
    expect(lenient.config.weightStorage).toBe('f32');
    expect(lenient.warnings.join(' ')).toContain('weightStorage');
  });

  it('a run record written before the option reads as f32', () => {
    const { weightStorage: _drop, ...old } = DEFAULT_CONFIG;
    void _drop;
    const file = upgradeConfig({ version: 1, tool: 'learn', adapter: 'x', seed: 1, config: old });
    expect(file.config.weightStorage).toBe('f32');
  });

  it('the CPU engine refuses packed f16 tensors and f16 models with a clear message', () => {
    const cpu = new CpuEngine();
    expect(() => cpu.upload([1, 2], [2], 'f16')).toThrow(/GPU engine only/);
    expect(() => buildModel(cpu, MICRO_GPT, gptInitialWeights(MICRO_GPT, 1), false, 'f16')).toThrow(/WebGPU engine only.*cpu engine/);
    // f32 is unchanged
    buildModel(cpu, MICRO_GPT, gptInitialWeights(MICRO_GPT, 1), false, 'f32').dispose();
  });

  it('a session on a host engine refuses f16 before loading, naming the engine to choose', async () => {
    const r = new LabRunner({ engine: fixedEngine(new CpuEngine()), assets: microAssets(), store: null });
    await expect(r.load({ ...DEFAULT_CONFIG, model: 'micro-gpt', weightStorage: 'f16' })).rejects.toThrow(
      "weightStorage 'f16' needs the WebGPU engine (this run uses the cpu engine); choose engine gpu, or weightStorage f32",
    );
  });
});

describe('weightStorage f16 in the memory plan', () => {
  for (const [name, config, sites, shapes] of [
    ['tiny-gpt', TINY_GPT, gptMaskSites(TINY_GPT), gptParameterShapes(TINY_GPT)],
    ['tiny-vit', TINY_VIT, vitMaskSites(TINY_VIT), vitParameterShapes(TINY_VIT)],
  ] as const) {
    it(`${name}: the masked layers' weights at 2 bytes each, every other parameter at 4`, () => {
      const opts = { batch: 4, context: config.kind === 'gpt2' ? 64 : undefined };
      const f32 = memoryPlan(config, opts);
      const f16 = memoryPlan(config, { ...opts, weightStorage: 'f16' });
      const weights = (p: typeof f32) => p.parts.find((x) => x.key === 'weights')!;
      const masked = sites.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
      const all = (shapes as [string, number[]][]).reduce((a, [, s]) => a + s.reduce((x, y) => x * y, 1), 0);
      expect(weights(f32).bytes).toBe(4 * all);
      // every masked site has an even size here: exactly 2 B each
      expect(weights(f16).bytes).toBe(4 * all - 2 * masked);
      expect(weights(f16).label).toContain('packed f16');
      expect(f16.residentBytes).toBeLessThan(f32.residentBytes);
      expect(f16.options.weightStorage).toBe('f16');
      expect(f32.options.weightStorage).toBe('f32');
    });
  }
  it('an odd-sized masked weight takes whole words', () => {
    // 1:3 groups on the micro GPT (n_embd 12): every site even anyway; a ViT with hidden 9 has odd sites
    const vit = { ...TINY_VIT, hiddenSize: 9, numHeads: 3, intermediateSize: 15 };
    const sites = vitMaskSites(vit);
    expect(sites.some((s) => (s.shape[0] * s.shape[1]) % 2 === 1)).toBe(true);
    const f32 = memoryPlan(vit, { batch: 2, n: 1, m: 3 });
    const f16 = memoryPlan(vit, { batch: 2, n: 1, m: 3, weightStorage: 'f16' });
    const words = sites.reduce((a, s) => a + Math.ceil((s.shape[0] * s.shape[1]) / 2), 0);
    const masked = sites.reduce((a, s) => a + s.shape[0] * s.shape[1], 0);
    const w = (p: typeof f32) => p.parts.find((x) => x.key === 'weights')!.bytes;
    expect(w(f32) - w(f16)).toBe(4 * masked - 4 * words);
  });
});
