// Section 3: the weight regulariser −λ Σ (W ⊙ m)² on (the preset's λ, decaying) and off (λ = 0)
// (paper Table 3).
import { ablationConfig, baseRun, codePpl, describeSchedule, enPpl, num, rowMetric, runList, seedNote } from '../configs';
import { direction, table } from '../markdown';
import { compare, meanSpread, verdictText } from '../stats';
import type { PlanOptions, RunDef, Section } from '../types';

const offRun = (o: PlanOptions, seed: number): RunDef => ({ name: `regulariser/off-seed${seed}`, config: ablationConfig(o, seed, { lambda: 0 }) });

export const regulariser: Section = {
  id: 3,
  key: 'regulariser',
  title: 'Regulariser on/off (paper Table 3)',
  runs: (o) => o.seeds.flatMap((s) => [baseRun(o, s), offRun(o, s)]),
  report(o, store) {
    const on = o.seeds.map((s) => ({ def: baseRun(o, s), rec: store.get(baseRun(o, s)) }));
    const off = o.seeds.map((s) => ({ def: offRun(o, s), rec: store.get(offRun(o, s)) }));
    const en = (fs: typeof on) => fs.map((f) => rowMetric(f.rec, 'maskllm', enPpl));
    const code = (fs: typeof on) => fs.map((f) => rowMetric(f.rec, 'maskllm', codePpl));
    const c = on.find((f) => f.rec)?.rec?.config;
    const lines = [
      `tiny-gpt, SparseGPT prior: ${c ? describeSchedule(c) : 'not run yet'}; the only difference is λ. ${seedNote(o.seeds)}`,
      '',
      ...table(
        ['regulariser', 'English PPL', 'code PPL'],
        [
          [`on (λ ${c ? num(c.lambda) : '?'}${c?.lambdaDecay ? ', decaying to 0' : ''})`, meanSpread(en(on)), meanSpread(code(on))],
          ['off (λ 0)', meanSpread(en(off)), meanSpread(code(off))],
        ],
      ),
      ...direction(
        'The regulariser helps a little (GPT-3 2B: 11.59 without, 11.42 with). The lab-scale reference run saw no visible difference (λ 1e-5 or 1e-3).',
        [
          `English PPL: ${verdictText(compare(en(on), en(off), 'lower'), 'λ on', 'λ off')}`,
          `code PPL: ${verdictText(compare(code(on), code(off), 'lower'), 'λ on', 'λ off')}`,
        ],
      ),
      `Runs: ${runList([...on, ...off])}.`,
      '',
    ];
    return { lines, charts: [] };
  },
};
