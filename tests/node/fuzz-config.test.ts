// Property tests for config.json parsing (parseConfig), the experiment-config sanitizer
// (sanitizeConfig) and checkpoint name matching (canonicalWeights): arbitrary JSON never throws
// anything but the parser's own error (sanitizeConfig: never throws), accepted values satisfy
// every bound, and each targeted mutation is rejected naming the key or tensor involved.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, FIELDS, checkField, crossCheck, sanitizeConfig } from '../../src/lab/config';
import { canonicalWeights, parameterShapes } from '../../src/models/checkpoint';
import { CONFIG_LIMITS, ConfigError, configToJson, parseConfig, type ModelConfig } from '../../src/models/config';
import { SafetensorsError, type StTensor } from '../../src/models/safetensors';
import { MICRO_GPT, MICRO_VIT } from '../helpers/tiny-models';
import { testSeed } from '../helpers/random';

const seed = testSeed();
const runs = (numRuns: number) => ({ numRuns, seed });

function only<T>(cls: new (...a: never[]) => Error, f: () => T): T | Error {
  try {
    return f();
  } catch (e) {
    if (e instanceof cls) return e;
    throw new Error(`expected ${cls.name} or success, got ${(e as Error)?.name}: ${(e as Error)?.message}`, { cause: e });
  }
}
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const absurd = fc.oneof(
  fc.constantFrom(0, -1, 1.5, 1e12, 2 ** 53, -0, Number.NaN, Infinity, -Infinity, '12', null, true, [], {}, [12], ''),
  fc.double(),
  fc.string({ maxLength: 5 }),
);

function validInvariants(c: ModelConfig): boolean {
  const ints =
    c.kind === 'gpt2'
      ? [c.vocabSize, c.nPositions, c.nEmbd, c.nLayer, c.nHead]
      : [c.hiddenSize, c.numLayers, c.numHeads, c.intermediateSize, c.imageSize, c.patchSize, c.numChannels, c.numLabels];
  if (!ints.every((x) => Number.isInteger(x) && x >= 1)) return false;
  if (!(c.layerNormEps > 0 && c.layerNormEps < 0.1)) return false;
  if (c.kind === 'gpt2') return c.nEmbd % c.nHead === 0 && c.nEmbd <= CONFIG_LIMITS.width && c.vocabSize <= CONFIG_LIMITS.vocab;
  return c.hiddenSize % c.numHeads === 0 && c.imageSize % c.patchSize === 0 && c.labels.length === c.numLabels;
}

describe('parseConfig (fuzz)', () => {
  const gptJson = configToJson(MICRO_GPT);
  const vitJson = configToJson(MICRO_VIT);
  const KEYS = [
    ...new Set([...Object.keys(gptJson), ...Object.keys(vitJson), 'n_ctx', 'num_labels', 'add_cross_attention', 'scale_attn_by_inverse_layer_idx']),
  ];

  it('arbitrary JSON: a ConfigError or a config that satisfies every bound', () => {
    const objArb = fc.oneof(
      fc.jsonValue(),
      fc
        .tuple(
          fc.constantFrom('gpt2', 'vit'),
          fc.dictionary(fc.constantFrom(...KEYS), fc.oneof(absurd, fc.jsonValue({ maxDepth: 1 }), fc.integer({ min: 1, max: 64 }))),
        )
        .map(([t, o]) => ({ model_type: t, ...o })),
      fc
        .record({ base: fc.constantFrom(gptJson, vitJson), key: fc.constantFrom(...KEYS), v: fc.oneof(absurd, fc.jsonValue({ maxDepth: 1 })) })
        .map(({ base, key, v }) => ({ ...base, [key]: v })),
    );
    fc.assert(
      fc.property(objArb, (o) => {
        const r = only(ConfigError, () => parseConfig(o));
        return r instanceof Error ? r.message.startsWith('config.json: ') : validInvariants(r);
      }),
      runs(5000),
    );
  });

  it('an absurd value for any numeric key is named with the key', () => {
    const numeric = (j: Record<string, unknown>) =>
      Object.keys(j).filter((k) => typeof j[k] === 'number' && k !== 'layer_norm_epsilon' && k !== 'layer_norm_eps' && k !== 'n_ctx'); // n_ctx is ignored when n_positions is present (not validated: see RELIABILITY.md)
    fc.assert(
      fc.property(fc.constantFrom(gptJson, vitJson), fc.nat(), fc.constantFrom(0, -3, 2.5, 1e9, '64', null, true, Number.NaN), (base, i, v) => {
        const keys = numeric(base);
        const key = keys[i % keys.length];
        const r = only(ConfigError, () => parseConfig({ ...base, [key]: v }));
        expect(r).toBeInstanceOf(ConfigError);
        // the named key is this one, or (a valid-looking change) the one it must divide / fit
        expect((r as Error).message).toMatch(new RegExp(`"${key}"|missing required key`));
        return true;
      }),
      runs(1500),
    );
  });

  it('a missing required key is named; bad epsilon and unsupported options are named', () => {
    for (const [base, required] of [
      [gptJson, ['n_embd', 'n_head', 'vocab_size', 'n_layer']],
      [vitJson, ['hidden_size', 'num_attention_heads', 'image_size', 'patch_size', 'num_hidden_layers', 'intermediate_size']],
    ] as const) {
      for (const k of required) {
        const o: Record<string, unknown> = { ...base };
        delete o[k];
        expect(() => parseConfig(o)).toThrow(new RegExp(`missing required key "${k}"`));
      }
    }
    expect(() => parseConfig({ ...gptJson, layer_norm_epsilon: 0.5 })).toThrow(/"layer_norm_epsilon" must be a number in \(0, 0\.1\), got 0\.5/);
    expect(() => parseConfig({ ...gptJson, n_embd: 13 })).toThrow(/"n_head" = 3 does not divide "n_embd" = 13/);
    expect(() => parseConfig({ ...gptJson, activation_function: 'relu' })).toThrow(/"activation_function" = "relu" is not supported/);
    expect(() => parseConfig({ ...vitJson, patch_size: 4 })).toThrow(/"patch_size" = 4 does not divide "image_size" = 6/);
    expect(() => parseConfig({ ...vitJson, id2label: { 0: 'a', 7: 'b' } })).toThrow(/"id2label" keys must be "0".."1", got "7"/);
    expect(() => parseConfig({ ...gptJson, vocab_size: CONFIG_LIMITS.vocab + 1 })).toThrow(
      new RegExp(`"vocab_size" must be an integer in 1\\.\\.${CONFIG_LIMITS.vocab}, got ${CONFIG_LIMITS.vocab + 1}`),
    );
    expect(() => parseConfig({ ...gptJson, model_type: 'llama' })).toThrow(/"model_type" must be "gpt2" or "vit", got "llama"/);
    expect(() => parseConfig('{}')).toThrow(/expected a JSON object, got "\{\}"/);
  });
});

describe('sanitizeConfig (fuzz)', () => {
  const fieldKeys = FIELDS.map((f) => f.key as string);
  const inputArb = fc.oneof(
    fc.jsonValue(),
    fc.dictionary(
      fc.oneof(fc.constantFrom(...fieldKeys), fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', 'constructor', 'toString')),
      fc.oneof(absurd, fc.jsonValue({ maxDepth: 1 }), fc.integer({ min: -2, max: 10 }), fc.constantFrom('maskllm', 'wanda', 'none', 'file', 'en')),
    ),
  );

  it('never throws; the result passes every field check and cross-check; each rejected key is named', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const { config, warnings } = sanitizeConfig(input);
        for (const f of FIELDS) checkField(f, config[f.key]); // throws if out of bounds
        if (crossCheck(config).length) return false;
        if (typeof input !== 'object' || input === null || Array.isArray(input)) return warnings.length === 1;
        for (const [k, v] of Object.entries(input)) {
          const spec = FIELDS.find((f) => f.key === k);
          let ok = true;
          if (spec) {
            try {
              checkField(spec, v);
            } catch {
              ok = false;
            }
          }
          if (!spec || !ok) {
            if (!warnings.some((w) => w.includes(k))) return false;
          }
        }
        // no setting is ever taken from the prototype chain
        return Object.getPrototypeOf(config) === Object.prototype && !Object.prototype.hasOwnProperty.call(config, '__proto__');
      }),
      runs(5000),
    );
  });

  it('a valid partial config is taken as given, with no warnings', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FIELDS.filter((f) => f.kind !== 'string')), fc.nat(), (f, r) => {
        const v =
          f.kind === 'bool'
            ? r % 2 === 0
            : f.kind === 'choice'
              ? f.choices![r % f.choices!.length]
              : f.min! + ((r % 1000) / 1000) * Math.min(f.max! - f.min!, 1000);
        const value = f.kind === 'int' ? Math.floor(v as number) : v;
        const { config, warnings } = sanitizeConfig({ [f.key]: value });
        if (crossCheck({ ...DEFAULT_CONFIG, [f.key]: value }).length) return warnings.length > 0;
        return warnings.length === 0 && config[f.key] === value;
      }),
      runs(2000),
    );
  });
});

describe('checkpoint name matching (fuzz)', () => {
  const tensorsFor = (c: ModelConfig) =>
    new Map<string, StTensor>(
      parameterShapes(c).map(([name, shape]) => [name, { name, dtype: 'F32', shape, bytes: new Uint8Array(4 * shape.reduce((a, b) => a * b, 1)) }]),
    );
  const variantArb = fc.record({
    model: fc.constantFrom<ModelConfig>(MICRO_GPT, MICRO_VIT),
    stripPrefix: fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }),
    buffers: fc.boolean(),
    lmHead: fc.boolean(),
  });

  it('hub-style names (no transformer. prefix, attn.bias buffers, tied lm_head) are accepted', () => {
    fc.assert(
      fc.property(variantArb, ({ model, stripPrefix, buffers, lmHead }) => {
        const t = tensorsFor(model);
        const out = new Map<string, StTensor>();
        [...t.values()].forEach((x, i) => {
          const name = model.kind === 'gpt2' && stripPrefix[i % 64] ? x.name.replace(/^transformer\./, '') : x.name;
          out.set(name, { ...x, name });
        });
        if (model.kind === 'gpt2' && buffers) out.set('h.0.attn.bias', { name: 'h.0.attn.bias', dtype: 'F32', shape: [1], bytes: new Uint8Array(4) });
        if (model.kind === 'gpt2' && lmHead)
          out.set('lm_head.weight', {
            name: 'lm_head.weight',
            dtype: 'F32',
            shape: [model.vocabSize, model.nEmbd],
            bytes: new Uint8Array(4 * model.vocabSize * model.nEmbd),
          });
        const w = canonicalWeights(model, out);
        return w.size === parameterShapes(model).length;
      }),
      runs(500),
    );
  });

  it('a missing, extra or misshapen tensor is refused naming it', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<ModelConfig>(MICRO_GPT, MICRO_VIT),
        fc.nat(),
        fc.string({ minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 5 }),
        (model, r, extra, d) => {
          const shapes = parameterShapes(model);
          const [name, shape] = shapes[r % shapes.length];
          const missing = tensorsFor(model);
          missing.delete(name);
          const e1 = only(SafetensorsError, () => canonicalWeights(model, missing));
          expect((e1 as Error).message).toMatch(new RegExp(`lacks 1 tensor\\(s\\) the config needs: ${esc(name)}$`));
          const withExtra = tensorsFor(model);
          const extraName = `x.${extra}`;
          withExtra.set(extraName, { name: extraName, dtype: 'F32', shape: [1], bytes: new Uint8Array(4) });
          const e2 = only(SafetensorsError, () => canonicalWeights(model, withExtra));
          expect((e2 as Error).message).toMatch(new RegExp(`has 1 tensor\\(s\\) this ${model.kind} config does not use: ${esc(extraName)}$`));
          const wrong = tensorsFor(model);
          const bad = [...shape.slice(0, -1), shape[shape.length - 1] + d];
          wrong.set(name, { ...wrong.get(name)!, shape: bad });
          const e3 = only(SafetensorsError, () => canonicalWeights(model, wrong));
          expect((e3 as Error).message).toBe(`tensor ${name} has shape [${bad.join(', ')}], the config needs [${shape.join(', ')}]`);
          return true;
        },
      ),
      runs(1000),
    );
  });

  it('arbitrary tensor names: a SafetensorsError or exactly the expected weights', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<ModelConfig>(MICRO_GPT, MICRO_VIT),
        fc.array(
          fc.oneof(
            fc.string({ maxLength: 30 }),
            fc.constantFrom(...parameterShapes(MICRO_GPT).map(([n]) => n), 'lm_head.weight', 'h.0.attn.masked_bias', '__proto__'),
          ),
          { maxLength: 12 },
        ),
        (model, names) => {
          const m = new Map<string, StTensor>(names.map((n) => [n, { name: n, dtype: 'F32', shape: [1], bytes: new Uint8Array(4) }]));
          const r = only(SafetensorsError, () => canonicalWeights(model, m));
          return r instanceof Error || r.size === parameterShapes(model).length;
        },
      ),
      runs(2000),
    );
  });
});
