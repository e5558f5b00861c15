// npm run experiments, the pure parts of the report: numbers with seed spread, the paired
// comparisons behind "shown / mixed / not shown", gap fractions, where a curve overtakes, the
// runtime paragraph, the PNG check and the quick variant's self-check.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { crc32 } from '../../src/sparsity/maskfile';
import { checkPng } from '../../tools/experiments/png';
import { checkQuickOutput, estimateRunSeconds, runtimeLines } from '../../tools/experiments/report';
import { compare, fmt, gapClosed, meanCurve, meanSpread, overtakeAt, spansDecade, verdictText, windowMean } from '../../tools/experiments/stats';
import { ablationConfig, mainConfig } from '../../tools/experiments/configs';
import type { RunRecord } from '../../tools/experiments/types';

describe('formatting with seed spread', () => {
  it('mean (min–max), one value alone, dashes for nothing', () => {
    expect(meanSpread([5.1, 5.3])).toBe('5.20 (5.10–5.30)');
    expect(meanSpread([7])).toBe('7.00');
    expect(meanSpread([NaN, 4, 6], 1)).toBe('5.0 (4.0–6.0)');
    expect(meanSpread([])).toBe('—');
    expect(fmt(NaN)).toBe('—');
  });
});

describe('paired comparisons (direction of effect)', () => {
  it('shown when a beats b in every seed, lower is better', () => {
    const c = compare([5, 6], [7, 8], 'lower');
    expect(c).toMatchObject({ wins: 2, total: 2, verdict: 'shown', meanA: 5.5, meanB: 7.5, withinNoise: false });
    expect(verdictText(c, 'A', 'B')).toMatch(/^\*\*shown\*\*: A beats B in 2 of 2 seeds \(mean 5\.50 vs 7\.50\)\.$/);
  });

  it('higher is better flips the direction', () => {
    expect(compare([80, 81], [70, 75], 'higher').verdict).toBe('shown');
    expect(compare([80, 81], [70, 75], 'lower').verdict).toBe('not shown');
  });

  it('mixed across seeds, and within the seed spread', () => {
    const c = compare([5, 9], [6, 8], 'lower');
    expect(c.verdict).toBe('mixed');
    expect(c.wins).toBe(1);
    expect(c.withinNoise).toBe(true);
    expect(verdictText(c, 'A', 'B')).toMatch(/\*\*mixed\*\*.*within the seed spread \(4\.00\)/);
  });

  it('a consistent but tiny effect is flagged as within noise', () => {
    const c = compare([5.0, 6.0], [5.01, 6.01], 'lower');
    expect(c.verdict).toBe('shown');
    expect(c.withinNoise).toBe(true);
  });

  it('pairs with a missing value are skipped; none left is no data', () => {
    expect(compare([5, NaN], [6, 7], 'lower')).toMatchObject({ total: 1, wins: 1, verdict: 'shown', withinNoise: false });
    expect(verdictText(compare([5], [6], 'lower'), 'A', 'B')).toMatch(/one seed, so the noise is unknown/);
    const none = compare([NaN], [NaN], 'lower');
    expect(none.verdict).toBe('no data');
    expect(verdictText(none, 'A', 'B')).toMatch(/no data/);
  });
});

describe('gap closed', () => {
  it('perplexity: (baseline − method) / (baseline − dense)', () => {
    expect(gapClosed(5, 9, 6, 'lower')).toBeCloseTo(0.75, 12);
    expect(gapClosed(5, 9, 10, 'lower')).toBeCloseTo(-0.25, 12);
    expect(gapClosed(5, 9, 4, 'lower')).toBeCloseTo(1.25, 12);
  });
  it('accuracy uses the same formula', () => {
    expect(gapClosed(80, 70, 77.5, 'higher')).toBeCloseTo(0.75, 12);
  });
  it('no gap, or a baseline better than dense: NaN', () => {
    expect(gapClosed(5, 5, 4, 'lower')).toBeNaN();
    expect(gapClosed(11.61, 11.6, 11.99, 'lower')).toBeNaN();
    expect(gapClosed(70, 80, 77.5, 'higher')).toBeNaN();
  });
});

describe('overtaking', () => {
  const curve = [
    { x: 10, y: 20 },
    { x: 20, y: 11 },
    { x: 30, y: 13 },
    { x: 40, y: 11 },
    { x: 50, y: 10 },
  ];
  it('the first x from which the curve stays ahead', () => {
    expect(overtakeAt(curve, 12, 'lower')).toBe(40);
    expect(overtakeAt(curve, 25, 'lower')).toBe(10);
  });
  it('never ahead at the end: null', () => {
    expect(overtakeAt(curve, 9, 'lower')).toBeNull();
    expect(overtakeAt(curve, NaN, 'lower')).toBeNull();
  });
  it('higher is better', () => {
    expect(overtakeAt(curve, 12, 'higher')).toBeNull();
    expect(
      overtakeAt(
        [
          { x: 1, y: 0.5 },
          { x: 2, y: 0.9 },
        ],
        0.8,
        'higher',
      ),
    ).toBe(2);
  });
});

describe('windows and curves', () => {
  it('window means over the first and last share of the points', () => {
    const ys = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(windowMean(ys, 0.2, 'start')).toBe(1.5);
    expect(windowMean(ys, 0.2, 'end')).toBe(9.5);
    expect(windowMean([3], 0.1, 'end')).toBe(3);
    expect(windowMean([], 0.1, 'end')).toBeNaN();
  });
  it('mean curve over seeds, cut to the shortest', () => {
    expect(
      meanCurve([
        [1, 2, 3],
        [3, 4],
      ]),
    ).toEqual([2, 3]);
  });
});

function fakeRecord(name: string, seconds: number, seed: number, adapter = 'SwiftShader'): RunRecord {
  return {
    name,
    dir: `results/${name}`,
    config: { ...ablationConfig({ quick: false, seeds: [seed], models: [] }, seed) },
    rows: [],
    seconds,
    adapter,
    evaluations: [],
    model: null,
    files: {},
    differs: [],
    metrics: () => [],
  };
}

describe('runtime paragraph', () => {
  it('sums measured run times; within the budget it says it fits', () => {
    const runs = new Map<string, RunRecord | null>([
      ['a', fakeRecord('a', 600, 1)],
      ['b', fakeRecord('b', 900, 2)],
    ]);
    const text = runtimeLines(runs, 1, { seconds: 1600, ran: 1, reused: 1, failed: [] }).join(' ');
    expect(text).toMatch(/The 2 run directories of this report took \*\*25\.0 min\*\*/);
    expect(text).toMatch(/fits the 60-minute budget/);
    expect(text).toMatch(/ran 1, reused 1, in 26\.7 min/);
  });
  it('over the budget it says by how much and what one seed took; missing runs are named', () => {
    const runs = new Map<string, RunRecord | null>([
      ['a', fakeRecord('a', 3000, 1)],
      ['b', fakeRecord('b', 3000, 2)],
      ['c', null],
    ]);
    const text = runtimeLines(new Map([...runs].filter(([k]) => k !== 'c')), 1, { seconds: 10, ran: 0, reused: 2, failed: [] }).join(' ');
    expect(text).toMatch(/does \*\*not\*\* fit 60 minutes/);
    expect(text).toMatch(/needs 100\.0 min, 1\.7× the budget/);
    expect(text).toMatch(/seed 1 alone took 50\.0 min/);
    const partial = runtimeLines(runs, 1, { seconds: 10, ran: 0, reused: 2, failed: ['c'] }, 120).join(' ');
    expect(partial).toMatch(/1 planned runs have no run directory yet \(`c`\)/);
    expect(partial).toMatch(/about 2\.0 min more, 102\.0 min in all: the full run would \*\*not\*\* fit/);
    expect(partial).not.toMatch(/fits the|does \*\*not\*\* fit 60 minutes/);
    expect(partial).toMatch(/failed 1\*\* \(c\)/);
    const small = runtimeLines(new Map([['c', null]]), 1, null, 600).join(' ');
    expect(small).toMatch(/about 10\.0 min more, 10\.0 min in all: the full run would probably fit/);
  });
});

describe('runtime estimate', () => {
  it('grows with steps, batch and evaluation windows; a one-shot run costs no steps', () => {
    const o = { quick: false, seeds: [1], models: [] };
    const base = ablationConfig(o, 1);
    const e = estimateRunSeconds(base);
    expect(estimateRunSeconds({ ...base, steps: 200 })).toBeGreaterThan(e);
    expect(estimateRunSeconds({ ...base, batch: 8 })).toBeGreaterThan(e);
    expect(estimateRunSeconds({ ...base, evalWindows: 64 })).toBeGreaterThan(e);
    expect(estimateRunSeconds({ ...base, method: 'sparsegpt' })).toBeLessThan(e);
    // the main table's ViT run evaluates its 10k test images per row: far more than the ablation run
    expect(estimateRunSeconds(mainConfig(o, 'tiny-vit', 1))).toBeGreaterThan(3 * e);
  });
});

// ---------------------------------------------------------------- PNG

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** A real 2×1 RGB PNG (filter byte 0 per row, zlib-deflated). */
function tinyPng(): Uint8Array {
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, 2);
  v.setUint32(4, 1);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const raw = new Uint8Array([0, 255, 0, 0, 0, 0, 255]);
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', new Uint8Array(deflateSync(raw))),
    chunk('IEND', new Uint8Array()),
  ];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe('checkPng', () => {
  it('accepts a complete PNG and reads its size', () => {
    expect(checkPng(tinyPng())).toEqual({ width: 2, height: 1 });
  });
  it('rejects a bad signature, a flipped byte, truncation and trailing bytes', () => {
    const good = tinyPng();
    const sig = good.slice();
    sig[1] = 0;
    expect(() => checkPng(sig)).toThrow(/signature/);
    const flipped = good.slice();
    flipped[44] ^= 0xff; // inside IDAT's data
    expect(() => checkPng(flipped)).toThrow(/CRC/);
    expect(() => checkPng(good.subarray(0, good.length - 5))).toThrow(/truncated|past the end/);
    const tail = new Uint8Array(good.length + 1);
    tail.set(good);
    expect(() => checkPng(tail)).toThrow(/after IEND/);
  });
});

// ---------------------------------------------------------------- the quick self-check

let tmp = '';
afterEach(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = '';
});

function quickFixture(headings: number[]): { results: string; runs: string; png: string } {
  tmp = mkdtempSync(join(tmpdir(), 'exp-quick-'));
  const results = join(tmp, 'RESULTS.md');
  const png = join(tmp, 'results', 'chart.png');
  mkdirSync(join(tmp, 'results'));
  writeFileSync(png, tinyPng());
  writeFileSync(results, ['# Results', ...headings.map((i) => `## ${i}. Section ${i}\n\ntext`), '![a chart](results/chart.png)'].join('\n\n'));
  const runs = join(tmp, 'runs');
  mkdirSync(join(runs, 'base/x-seed1'), { recursive: true });
  writeFileSync(join(runs, 'base/x-seed1/summary.json'), '{}');
  return { results, runs, png };
}

describe('checkQuickOutput', () => {
  const def = (name: string) => ({ name, config: ablationConfig({ quick: true, seeds: [1], models: [] }, 1) });

  it('passes with eight headings, finished runs and valid PNGs', () => {
    const f = quickFixture([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(checkQuickOutput(f.results, f.runs, [def('base/x-seed1')], [f.png])).toEqual([]);
  });

  it('names a missing heading, an unfinished run, a broken PNG and a dangling image link', () => {
    const f = quickFixture([1, 2, 3, 5, 6, 7, 8]);
    writeFileSync(f.png, new Uint8Array([1, 2, 3]));
    writeFileSync(f.results, `${'\n'}## 1. x\n## 2. x\n## 3. x\n## 5. x\n## 6. x\n## 7. x\n## 8. x\n![c](results/gone.png)\n`);
    const p = checkQuickOutput(f.results, f.runs, [def('base/x-seed1'), def('priors/none-seed1')], [f.png]);
    expect(p).toContain('RESULTS.md lacks the heading of section 4');
    expect(p).toContain('RESULTS.md has 7 numbered section headings, expected 8');
    expect(p).toContain('run priors/none-seed1 has no summary.json');
    expect(p.some((x) => /chart .*chart\.png: not a PNG/.test(x))).toBe(true);
    expect(p).toContain('RESULTS.md links results/gone.png, which does not exist');
  });

  it('no RESULTS.md, no charts', () => {
    tmp = mkdtempSync(join(tmpdir(), 'exp-quick-'));
    expect(checkQuickOutput(join(tmp, 'RESULTS.md'), tmp, [], [])).toEqual([`${join(tmp, 'RESULTS.md')} was not written`]);
  });
});

describe('log axis choice', () => {
  it('only for positive values spanning a decade', () => {
    expect(spansDecade([2, 25])).toBe(true);
    expect(spansDecade([6, 20, NaN])).toBe(false);
    expect(spansDecade([0, 100])).toBe(false);
    expect(spansDecade([])).toBe(false);
  });
});
