import { describe, expect, it } from 'vitest';
import { compareWithBaseline, DEFAULT_TOLERANCES, firstDifference, parseBaseline, type Baseline, type RegressResults } from '../../tools/regress/compare';

const cfg = '{"steps":10}';
const baseline = (): Baseline => ({
  version: 1,
  tolerances: { ...DEFAULT_TOLERANCES },
  adapter: 'swiftshader',
  cells: {
    'gpt/maskllm/seed1': { config: cfg, metrics: { 'ppl.en': 100, 'ppl.code': 50, 'maskL1.final': 0.1, 'maxProb.final': 0.9 } },
    'vit/wanda/seed1': { config: cfg, metrics: { 'accuracy.test': 80 } },
  },
});
const run = (mut: (r: RegressResults) => void = () => {}): RegressResults => {
  const r: RegressResults = { adapter: 'swiftshader', determinism: { cell: 'gpt/maskllm/seed1', identical: true }, cells: structuredClone(baseline().cells) };
  mut(r);
  return r;
};

describe('compareWithBaseline', () => {
  it('identical metrics pass', () => {
    const c = compareWithBaseline(baseline(), run(), { requireAll: true });
    expect(c).toEqual({ ok: true, failures: [], notes: [] });
  });

  it('ppl: within 2% passes, worse beyond fails naming cell and metric, better beyond is a note', () => {
    expect(
      compareWithBaseline(
        baseline(),
        run((r) => (r.cells['gpt/maskllm/seed1'].metrics['ppl.en'] = 101.9)),
        { requireAll: true },
      ).ok,
    ).toBe(true);
    const bad = compareWithBaseline(
      baseline(),
      run((r) => (r.cells['gpt/maskllm/seed1'].metrics['ppl.en'] = 102.1)),
      { requireAll: true },
    );
    expect(bad.ok).toBe(false);
    expect(bad.failures).toHaveLength(1);
    expect(bad.failures[0]).toMatchObject({ kind: 'regression', cell: 'gpt/maskllm/seed1', metric: 'ppl.en' });
    expect(bad.failures[0].message).toMatch(/gpt\/maskllm\/seed1 ppl\.en: .*2\.10% worse/);
    const better = compareWithBaseline(
      baseline(),
      run((r) => (r.cells['gpt/maskllm/seed1'].metrics['ppl.code'] = 40)),
      { requireAll: true },
    );
    expect(better.ok).toBe(true);
    expect(better.notes[0]).toMatchObject({ kind: 'improvement', metric: 'ppl.code' });
  });

  it('accuracy: ±1 point', () => {
    const at = (v: number) =>
      compareWithBaseline(
        baseline(),
        run((r) => (r.cells['vit/wanda/seed1'].metrics['accuracy.test'] = v)),
        { requireAll: true },
      );
    expect(at(79.01).ok).toBe(true);
    expect(at(78.9).failures[0]).toMatchObject({ kind: 'regression', metric: 'accuracy.test' });
    expect(at(81.5).notes[0]).toMatchObject({ kind: 'improvement' });
  });

  it('mask L1 and max prob: absolute, in either direction', () => {
    const l1 = (v: number) =>
      compareWithBaseline(
        baseline(),
        run((r) => (r.cells['gpt/maskllm/seed1'].metrics['maskL1.final'] = v)),
        { requireAll: true },
      );
    expect(l1(0.119).ok).toBe(true);
    expect(l1(0.121).ok).toBe(false);
    expect(l1(0.079).ok).toBe(false);
    const mp = compareWithBaseline(
      baseline(),
      run((r) => (r.cells['gpt/maskllm/seed1'].metrics['maxProb.final'] = 0.87)),
      { requireAll: true },
    );
    expect(mp.failures[0]).toMatchObject({ kind: 'regression', metric: 'maxProb.final' });
  });

  it('NaN never passes', () => {
    const c = compareWithBaseline(
      baseline(),
      run((r) => (r.cells['gpt/maskllm/seed1'].metrics['ppl.en'] = Number.NaN)),
      { requireAll: true },
    );
    expect(c.failures[0]).toMatchObject({ kind: 'regression', metric: 'ppl.en' });
  });

  it('missing cells fail only for the full matrix; new cells, changed configs and missing metrics always fail', () => {
    const partial = run((r) => delete r.cells['vit/wanda/seed1']);
    expect(compareWithBaseline(baseline(), partial, { requireAll: false }).ok).toBe(true);
    expect(compareWithBaseline(baseline(), partial, { requireAll: true }).failures[0]).toMatchObject({ kind: 'missing', cell: 'vit/wanda/seed1' });
    const extra = run((r) => (r.cells['gpt/dense/seed1'] = { config: cfg, metrics: { 'ppl.en': 1 } }));
    expect(compareWithBaseline(baseline(), extra, { requireAll: false }).failures[0]).toMatchObject({ kind: 'new', cell: 'gpt/dense/seed1' });
    const changed = run((r) => (r.cells['vit/wanda/seed1'].config = '{"steps":11}'));
    expect(compareWithBaseline(baseline(), changed, { requireAll: false }).failures[0]).toMatchObject({ kind: 'config' });
    const noMetric = run((r) => delete r.cells['gpt/maskllm/seed1'].metrics['maskL1.final']);
    expect(compareWithBaseline(baseline(), noMetric, { requireAll: false }).failures[0]).toMatchObject({ kind: 'missing', metric: 'maskL1.final' });
  });

  it('a non-deterministic rerun fails; an unknown metric family has no tolerance; another adapter is a note', () => {
    const nd = run((r) => (r.determinism = { cell: 'gpt/maskllm/seed1', identical: false, detail: 'rows[3].loss: 1 vs 2' }));
    expect(compareWithBaseline(baseline(), nd, { requireAll: true }).failures[0].message).toMatch(/differ \(rows\[3\]\.loss/);
    const b = baseline();
    b.cells['gpt/maskllm/seed1'].metrics['loss.final'] = 3;
    const r = run((x) => (x.cells['gpt/maskllm/seed1'].metrics['loss.final'] = 3));
    expect(compareWithBaseline(b, r, { requireAll: true }).failures[0]).toMatchObject({ kind: 'no-tolerance', metric: 'loss.final' });
    const other = run((x) => (x.adapter = 'nvidia'));
    const c = compareWithBaseline(baseline(), other, { requireAll: true });
    expect(c.ok).toBe(true);
    expect(c.notes[0].kind).toBe('adapter');
  });
});

describe('parseBaseline', () => {
  it('accepts a valid file and names what is wrong in a bad one', () => {
    expect(parseBaseline(JSON.parse(JSON.stringify(baseline()))).cells['vit/wanda/seed1'].metrics['accuracy.test']).toBe(80);
    expect(() => parseBaseline([])).toThrow(/not a JSON object/);
    expect(() => parseBaseline({ ...baseline(), version: 2 })).toThrow(/unsupported version 2/);
    expect(() => parseBaseline({ ...baseline(), tolerances: { ...DEFAULT_TOLERANCES, pplRelative: -1 } })).toThrow(/tolerances\.pplRelative/);
    expect(() => parseBaseline({ ...baseline(), cells: { x: { config: 'c', metrics: { a: 'no' } } } })).toThrow(/cell x metric a is not a number/);
  });
});

describe('firstDifference', () => {
  it('finds the first differing path, treats NaN as equal to itself and -0 as different from 0', () => {
    expect(firstDifference({ a: [1, 2, { b: NaN }] }, { a: [1, 2, { b: NaN }] })).toBeNull();
    expect(firstDifference({ a: [1, 2, { b: 3 }] }, { a: [1, 2, { b: 4 }] })).toBe('.a[2].b: 3 vs 4');
    expect(firstDifference({ a: 0 }, { a: -0 })).toBe('.a: 0 vs 0');
    expect(firstDifference({ a: [1] }, { a: [1, 2] })).toBe('.a: 1 vs 2 entries');
    expect(firstDifference('x', 'y')).toBe('.: "x" vs "y"');
  });
});
