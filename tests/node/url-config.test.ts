import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crossCheck, DEFAULT_CONFIG, FIELDS, type ExperimentConfig, type FieldSpec } from '../../src/lab/config';
import { decodeConfigFromSearch, encodeConfigToSearch, HIDEABLE_PANELS, MAX_SEARCH_LENGTH, parseOrigin } from '../../src/lab/url-config';
import { testSeed } from '../helpers/random';

function fieldArb(f: FieldSpec): fc.Arbitrary<unknown> {
  switch (f.kind) {
    case 'int':
      return fc.integer({ min: f.min ?? -1e9, max: f.max ?? 1e9 });
    case 'number':
      // Edges on purpose: the bounds themselves, -0 where 0 is allowed, tiny and huge values.
      return fc.oneof(
        fc.double({ min: f.min ?? -1e9, max: f.max ?? 1e9, noNaN: true, noDefaultInfinity: true }),
        fc.constantFrom(...[f.min, f.max].filter((x): x is number => x !== undefined)),
        ...(f.min === 0 ? [fc.constant(-0)] : []),
      );
    case 'bool':
      return fc.boolean();
    case 'choice':
      return fc.constantFrom(...f.choices!);
    case 'string':
      return fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }).filter((s) => s.length <= 200);
  }
}

/** Any configuration that passes every check (fields within bounds and the cross-field rules). */
const validConfig: fc.Arbitrary<ExperimentConfig> = fc
  .record(
    Object.fromEntries(FIELDS.map((f) => [f.key, fc.oneof(fc.constant(DEFAULT_CONFIG[f.key]), fieldArb(f))])) as Record<
      keyof ExperimentConfig,
      fc.Arbitrary<unknown>
    >,
  )
  .map((r) => r as unknown as ExperimentConfig)
  .filter((c) => crossCheck(c).length === 0);

describe('url-config round trips', () => {
  it('encode → decode gives any valid config back, with no warnings', () => {
    fc.assert(
      fc.property(validConfig, (c) => {
        const d = decodeConfigFromSearch(encodeConfigToSearch(c));
        expect(d.warnings).toEqual([]);
        expect(d.config).toEqual(c);
        for (const k of Object.keys(c) as (keyof ExperimentConfig)[]) expect(Object.is(d.config[k], c[k]), k).toBe(true);
        expect(d.embed).toBe(false);
        expect(d.autorun).toBe(false);
      }),
      { seed: testSeed(), numRuns: 300 },
    );
  });

  it('writes only the version, the model and the fields that differ from the defaults', () => {
    expect(encodeConfigToSearch(DEFAULT_CONFIG)).toBe(`?v=1&model=${DEFAULT_CONFIG.model}`);
    const s = encodeConfigToSearch({ ...DEFAULT_CONFIG, kappaStart: 1, kappaEnd: 1, lambdaDecay: !DEFAULT_CONFIG.lambdaDecay });
    expect(s).toBe(`?v=1&model=${DEFAULT_CONFIG.model}&kappaStart=1&kappaEnd=1&lambdaDecay=${DEFAULT_CONFIG.lambdaDecay ? 0 : 1}`);
  });

  it('round-trips the page options', () => {
    const origins = ['https://lessons.example.org', 'http://127.0.0.1:8080'];
    const s = encodeConfigToSearch(DEFAULT_CONFIG, { embed: true, autorun: true, hide: ['lr', 'selftest'], origins });
    const d = decodeConfigFromSearch(s);
    expect(d.warnings).toEqual([]);
    expect(d).toMatchObject({ embed: true, autorun: true, hide: ['lr', 'selftest'], allowedOrigins: origins });
  });

  it('reads numbers written by hand: exponents, leading dot, sign; booleans as true/false', () => {
    // Trap: a literal '+' in a query means a space; a plus sign must be written %2B.
    expect(decodeConfigFromSearch('sigma0=+0.5').warnings[0]).toContain('sigma0=" 0.5" is not a number');
    const d = decodeConfigFromSearch('lr=1e-3&lrMin=.0001&sigma0=%2B0.5&lambdaDecay=false&sparsegptUpdate=true');
    expect(d.warnings).toEqual([]);
    expect(d.config).toMatchObject({ lr: 1e-3, lrMin: 1e-4, sigma0: 0.5, lambdaDecay: false, sparsegptUpdate: true });
  });
});

describe('url-config warnings', () => {
  /** Bad strings for each kind of field; each must produce a warning naming the field. */
  function badValues(f: FieldSpec): string[] {
    switch (f.kind) {
      case 'int':
        return ['abc', '', '1.5', '0x10', 'Infinity', '1e999', String((f.max ?? 0) + 1), String((f.min ?? 0) - 1), '2 ', 'NaN'];
      case 'number':
        return ['abc', '', '0x10', 'Infinity', '1e999', '1,5', String((f.max ?? 0) * 2 + 1), String((f.min ?? 0) - 1), 'NaN', '--1'];
      case 'bool':
        return ['yes', '', '2', 'TRUE '];
      case 'choice':
        return ['bogus', '', f.choices![0] + ' '];
      case 'string':
        return ['', 'x'.repeat(201)];
    }
  }

  for (const f of FIELDS) {
    it(`every bad value of ${f.key} gives a warning naming it and falls back to the default`, () => {
      for (const bad of badValues(f)) {
        const d = decodeConfigFromSearch(new URLSearchParams({ [f.key]: bad }).toString());
        expect(d.warnings.length, `${f.key}=${JSON.stringify(bad)}`).toBe(1);
        expect(d.warnings[0], `${f.key}=${JSON.stringify(bad)}`).toContain(f.key);
        expect(d.config[f.key], `${f.key}=${JSON.stringify(bad)}`).toEqual(DEFAULT_CONFIG[f.key]);
      }
    });
  }

  it('keeps the valid fields next to a bad one', () => {
    const d = decodeConfigFromSearch('?v=1&lr=abc&seed=7&steps=12');
    expect(d.warnings).toHaveLength(1);
    expect(d.warnings[0]).toMatch(/^lr="abc" is not a number; using the default/);
    expect(d.config).toEqual({ ...DEFAULT_CONFIG, seed: 7, steps: 12 });
  });

  it('cross-field problems fall back with a warning', () => {
    const d = decodeConfigFromSearch('n=4&m=4');
    expect(d.warnings).toHaveLength(1);
    expect(d.warnings[0]).toContain('N (4) must be smaller than M (4)');
    expect([d.config.n, d.config.m]).toEqual([DEFAULT_CONFIG.n, DEFAULT_CONFIG.m]);
  });

  it('unknown parameters, versions and duplicates are named', () => {
    expect(decodeConfigFromSearch('kapa=3').warnings).toEqual(['unknown URL parameter "kapa" ignored']);
    expect(decodeConfigFromSearch('v=2').warnings[0]).toMatch(/^unknown URL version v="2"/);
    const dup = decodeConfigFromSearch('seed=3&seed=4');
    expect(dup.warnings).toEqual(['URL parameter seed is given more than once; using the first value']);
    expect(dup.config.seed).toBe(3);
  });

  it('page options: bad flags, unknown hide names and bad origins are warnings', () => {
    const d = decodeConfigFromSearch(
      'embed=yes&autorun=2&hide=lr,nosuch,charts&origins=' +
        encodeURIComponent('https://ok.example,ftp://x.org,https://a.org/path,javascript:alert(1),null,http://u:p@h.org'),
    );
    expect(d.embed).toBe(false);
    expect(d.autorun).toBe(false);
    expect(d.hide).toEqual(['lr', 'charts']);
    expect(d.allowedOrigins).toEqual(['https://ok.example']);
    const w = d.warnings.join('\n');
    expect(w).toContain('embed="yes" must be 1 or 0');
    expect(w).toContain('autorun="2" must be 1 or 0');
    expect(w).toContain('hide: unknown control or panel "nosuch"');
    for (const bad of ['ftp://x.org', 'https://a.org/path', 'javascript:alert(1)', '"null"', 'http://u:p@h.org']) expect(w).toContain(bad);
    expect(d.warnings).toHaveLength(8);
  });

  it('every FIELDS key and panel name can be hidden', () => {
    const names = [...FIELDS.map((f) => f.key), ...HIDEABLE_PANELS];
    const d = decodeConfigFromSearch('hide=' + names.join(','));
    expect(d.warnings).toEqual([]);
    expect(d.hide).toEqual(names);
  });

  it('an overlong query is refused as a whole', () => {
    const d = decodeConfigFromSearch('seed=3&model=' + 'x'.repeat(MAX_SEARCH_LENGTH));
    expect(d.warnings).toHaveLength(1);
    expect(d.config).toEqual(DEFAULT_CONFIG);
  });

  it('parseOrigin canonicalises and refuses non-origins', () => {
    expect(parseOrigin('HTTPS://Example.ORG/')).toBe('https://example.org');
    expect(parseOrigin('http://127.0.0.1:5173')).toBe('http://127.0.0.1:5173');
    expect(parseOrigin('https://example.org:443')).toBe(null); // not canonical: the default port is dropped by URL
    for (const bad of ['', '*', 'null', 'example.org', 'file:///etc/passwd', 'https://a.org?x=1', 'https://a.org#x', 'data:text/html,x'])
      expect(parseOrigin(bad), bad).toBe(null);
  });

  it('random query strings never throw and always give a valid config', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        const d = decodeConfigFromSearch(s);
        expect(crossCheck(d.config)).toEqual([]);
      }),
      { seed: testSeed(), numRuns: 300 },
    );
  });
});

describe('selftest= (the page self-test, not an experiment field)', () => {
  it('is accepted without a warning, and a bad seed gets a specific one', () => {
    expect(decodeConfigFromSearch('?selftest=12345').warnings).toEqual([]);
    expect(decodeConfigFromSearch('?selftest').warnings).toEqual([]);
    expect(decodeConfigFromSearch('?selftest=abc').warnings[0]).toMatch(/selftest="abc" is not a seed/);
    // the experiment seed stays an experiment field
    expect(decodeConfigFromSearch('?seed=7').config.seed).toBe(7);
  });
});
