// Targeted wrong-type fuzz for the two entry points hostile pages control: URL parameters and
// postMessage commands. (Their own tests already fuzz "never throws" and round trips; here every
// field gets a value of the wrong type and the rejection must name that field.)
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMMANDS, makeCommand, MASK_FORMATS, PROTOCOL, validateCommand, type CommandBody } from '../../src/embed/protocol';
import { DEFAULT_CONFIG, FIELDS } from '../../src/lab/config';
import { decodeConfigFromSearch, encodeConfigToSearch } from '../../src/lab/url-config';
import { testSeed } from '../helpers/random';

const seed = testSeed();
const runs = (numRuns: number) => ({ numRuns, seed });

describe('URL parameters of the wrong type', () => {
  const wrongFor = (kind: string) =>
    kind === 'bool'
      ? fc.constantFrom('yes', '2', 'null', '', 'truee')
      : kind === 'choice'
        ? fc
            .string({ minLength: 1, maxLength: 8 })
            .filter((s) => !/^(maskllm|magnitude|wanda|sparsegpt|none|file|tunedSmall|paperLLM|paperViT|mixed|en|code)$/.test(s))
        : kind === 'string'
          ? fc.constant('x'.repeat(201))
          : fc.constantFrom('abc', '1,5', '0x10', 'Infinity', 'NaN', '', '1e999', '--1', '[1]', '1.5.2');

  it('each field with a wrong-typed value: the default is kept and a warning names the field', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...FIELDS).chain((f) => wrongFor(f.kind).map((v) => ({ f, v }))),
        ({ f, v }) => {
          const d = decodeConfigFromSearch(`?v=1&${f.key}=${encodeURIComponent(v)}`);
          expect(d.config[f.key]).toEqual(DEFAULT_CONFIG[f.key]);
          expect(
            d.warnings.some((w) => w.includes(f.key)),
            `warnings ${JSON.stringify(d.warnings)} for ${f.key}=${v}`,
          ).toBe(true);
          return true;
        },
      ),
      runs(2000),
    );
  });

  it('a valid URL with one field replaced by garbage keeps every other field', () => {
    const other = { ...DEFAULT_CONFIG, steps: 77, seed: 9, batch: 3 };
    fc.assert(
      fc.property(fc.constantFrom('kappaStart', 'lr', 'n', 'method', 'lambdaDecay'), fc.string({ maxLength: 10 }), (key, junk) => {
        const params = new URLSearchParams(encodeConfigToSearch(other).replace(/^\?/, ''));
        params.set(key, junk);
        const d = decodeConfigFromSearch(`?${params}`);
        return d.config.steps === 77 && d.config.seed === 9 && d.config.batch === 3;
      }),
      runs(1000),
    );
  });
});

describe('postMessage commands of the wrong type', () => {
  const bodyArb: fc.Arbitrary<CommandBody> = fc.oneof(
    fc.constantFrom(...COMMANDS.filter((c) => c !== 'setConfig' && c !== 'exportMask')).map((command) => ({ command }) as CommandBody),
    fc.constantFrom(...MASK_FORMATS).map((format) => ({ command: 'exportMask', format }) as CommandBody),
    fc
      .dictionary(fc.constantFrom('steps', 'lr', 'model', 'seed'), fc.oneof(fc.integer(), fc.boolean(), fc.string({ maxLength: 5 })))
      .map((config) => ({ command: 'setConfig', config }) as CommandBody),
  );
  const wrong = fc.oneof(
    fc.constantFrom(null, undefined, 1.5, -1, NaN, {}, [], [1], 'x', true, () => 1, Symbol('s')),
    fc.object({ maxDepth: 1 }),
  );

  it('valid commands validate', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.nat()), bodyArb, (id, body) => validateCommand(makeCommand(id, body)).ok),
      runs(1000),
    );
  });

  it('one field of a valid command replaced by a wrong-typed value is rejected naming the field', () => {
    fc.assert(
      fc.property(bodyArb, wrong, fc.nat(), (body, v, r) => {
        const msg = makeCommand('req-1', body) as unknown as Record<string, unknown>;
        const keys = Object.keys(msg);
        const key = keys[r % keys.length];
        if (key === 'id' && (typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v) && v >= 0))) return true; // still a valid id
        if (
          key === 'config' &&
          v !== null &&
          typeof v === 'object' &&
          !Array.isArray(v) &&
          Object.values(v).every((x) => ['string', 'number', 'boolean'].includes(typeof x))
        )
          return true; // still a valid config object
        const bad = { ...msg, [key]: v };
        let res: ReturnType<typeof validateCommand>;
        try {
          res = validateCommand(bad);
        } catch (e) {
          throw new Error(`validateCommand threw on ${key}: ${(e as Error).message}`, { cause: e });
        }
        if (res.ok) return false;
        // functions and symbols cannot be structured-cloned, so postMessage never delivers them; the
        // size walk refuses them without naming the field
        if (typeof v === 'function' || typeof v === 'symbol') return /unsupported value/.test(res.reason);
        const names: Record<string, RegExp> = {
          protocol: /protocol/,
          version: /version/,
          type: /type/,
          id: /\bid\b/,
          command: /command/,
          format: /format/,
          config: /config/,
        };
        expect(res.reason, `reason for a bad ${key}`).toMatch(names[key]);
        return true;
      }),
      runs(3000),
    );
  });

  it('a config value of the wrong type names the config key', () => {
    const res = validateCommand({ protocol: PROTOCOL, version: 1, type: 'command', id: 1, command: 'setConfig', config: { steps: { $gt: 1 } } });
    expect(res.ok).toBe(false);
    expect(!res.ok && res.reason).toMatch(/config\.steps must be a string, number or boolean/);
  });
});
