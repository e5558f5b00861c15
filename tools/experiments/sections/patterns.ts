// Section 7: other N:M patterns (1:4, 2:8, 4:8) against 2:4 (the base run): the learned mask's PPL,
// the one-shot masks of the same pattern, the bits per weight of the mask (log2 C(M,N) / M) and the
// memory of the learning state (logits, gradient and two Adam moments per candidate, f32, as the
// session's ModelSummary reports it).
import { bitsPerWeight, nmPattern } from '../../../src/sparsity/patterns';
import { ablationConfig, baseRun, describeSchedule, enPpl, rowMetric, runList, seedNote } from '../configs';
import type { ResultKey } from '../../../src/lab/names';
import { direction, pct, table } from '../markdown';
import { compare, fmt, mean, meanSpread, verdictText } from '../stats';
import type { PlanOptions, RunDef, RunRecord, Section } from '../types';

export const PATTERNS: [number, number][] = [
  [2, 4],
  [1, 4],
  [2, 8],
  [4, 8],
];

export function patternRun(o: PlanOptions, n: number, m: number, seed: number): RunDef {
  if (n === 2 && m === 4) return baseRun(o, seed);
  return { name: `patterns/${n}of${m}-seed${seed}`, config: ablationConfig(o, seed, { n, m }), exports: ['packed', 'state'] };
}

export const patterns: Section = {
  id: 7,
  key: 'patterns',
  title: 'Other N:M patterns: 1:4, 2:8 and 4:8 against 2:4',
  runs: (o) => o.seeds.flatMap((s) => PATTERNS.map(([n, m]) => patternRun(o, n, m, s))),
  report(o, store) {
    const found = PATTERNS.map(([n, m]) => o.seeds.map((s) => ({ def: patternRun(o, n, m, s), rec: store.get(patternRun(o, n, m, s)) })));
    const learned = found.map((fs) => fs.map((f) => rowMetric(f.rec, 'maskllm', enPpl)));
    const oneShot = (key: ResultKey) => found.map((fs) => fs.map((f) => rowMetric(f.rec, key, enPpl)));
    const mag = oneShot('magnitude');
    const sgpt = oneShot('sparsegpt');
    const model = (i: number): RunRecord['model'] => found[i].find((f) => f.rec?.model)?.rec?.model ?? null;
    const stateBytes = PATTERNS.map((_, i) => model(i)?.learningStateBytes ?? Number.NaN);
    const masked = PATTERNS.map((_, i) => model(i)?.maskedWeights ?? Number.NaN);
    const c = found[0].find((f) => f.rec)?.rec?.config;
    const lines: string[] = [
      `tiny-gpt, SparseGPT prior of the same pattern, ${c ? describeSchedule(c).replace(/, \d+:\d+,/, ',') : 'not run yet'}. Learning state: logits, their gradient and two Adam moments, f32, per candidate of every group (ModelSummary.learningStateBytes). ${seedNote(o.seeds)}`,
      '',
      ...table(
        [
          'pattern',
          'sparsity',
          'candidates C(M,N)',
          'mask bits/weight',
          'learning state',
          'state bytes per masked weight',
          'magnitude PPL',
          'SparseGPT (mask only) PPL',
          'MaskLLM English PPL',
        ],
        PATTERNS.map(([n, m], i) => {
          const p = nmPattern(n, m);
          return [
            `${n}:${m}`,
            pct(1 - n / m),
            String(p.candidates.length),
            fmt(bitsPerWeight(p), 3),
            Number.isFinite(stateBytes[i]) ? `${fmt(stateBytes[i] / 1024, 0)} KiB` : '—',
            fmt(stateBytes[i] / masked[i], 1),
            meanSpread(mag[i]),
            meanSpread(sgpt[i]),
            meanSpread(learned[i]),
          ];
        }),
      ),
    ];
    const idx = (n: number, m: number) => PATTERNS.findIndex(([a, b]) => a === n && b === m);
    const [i24, i14, i28, i48] = [idx(2, 4), idx(1, 4), idx(2, 8), idx(4, 8)];
    const costlier = (a: number, b: number) =>
      stateBytes[a] > stateBytes[b] && bitsPerWeight(nmPattern(...PATTERNS[a])) > bitsPerWeight(nmPattern(...PATTERNS[b]));
    lines.push(
      ...direction(
        'MASKLLM.md gives no numbers for other patterns; what to expect follows from the candidate sets: at the same sparsity a longer group has more candidates (4:8: 70 against 6 for 2:4; 2:8: 28 against 4 for 1:4), so it can fit the weights better, at the cost of more mask bits and more learning state; 75% sparsity (1:4, 2:8) costs far more than 50%.',
        [
          `4:8 vs 2:4 (learned English PPL): ${verdictText(compare(learned[i48], learned[i24], 'lower'), '4:8', '2:4')}`,
          `2:8 vs 1:4: ${verdictText(compare(learned[i28], learned[i14], 'lower'), '2:8', '1:4')}`,
          `2:4 vs 1:4 (50% against 75% sparsity): ${verdictText(compare(learned[i24], learned[i14], 'lower'), '2:4', '1:4')}`,
          `Costs: 4:8 needs ${fmt(stateBytes[i48] / stateBytes[i24], 2)}× the learning state and ${fmt(bitsPerWeight(nmPattern(4, 8)) / bitsPerWeight(nmPattern(2, 4)), 2)}× the mask bits of 2:4 (${costlier(i48, i24) ? 'costlier, as expected' : Number.isFinite(stateBytes[i48]) ? 'not costlier' : 'state not recorded'}); 2:8 ${fmt(stateBytes[i28] / stateBytes[i14], 2)}× the state of 1:4. Mean learned PPL per pattern: ${PATTERNS.map(([n, m], i) => `${n}:${m} ${fmt(mean(learned[i]))}`).join(', ')}.`,
        ],
      ),
      `Runs: ${runList(found.flat())}.`,
      '',
    );
    return { lines, charts: [] };
  },
};
