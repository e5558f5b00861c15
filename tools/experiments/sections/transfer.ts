// Section 6: transfer (paper Tables 4–5): a general mask learned on the mixed data (the base run),
// a mask learned from scratch (SparseGPT prior) on English only, and the general mask used as the
// prior (prior 'file' ← the base run's mask.safetensors) and trained on English; each evaluated on
// both domains.
import { ablationConfig, baseRun, codePpl, describeSchedule, enPpl, rowMetric, runList, seedNote } from '../configs';
import type { ResultKey } from '../../../src/lab/names';
import { direction, table } from '../markdown';
import { compare, meanSpread, verdictText } from '../stats';
import type { PlanOptions, RunDef, Section } from '../types';

export const TRANSFER_DOMAIN = 'en' as const;

const scratchRun = (o: PlanOptions, seed: number): RunDef => ({
  name: `transfer/${TRANSFER_DOMAIN}-scratch-seed${seed}`,
  config: ablationConfig(o, seed, { trainDomain: TRANSFER_DOMAIN }),
});

const fromGeneralRun = (o: PlanOptions, seed: number): RunDef => ({
  name: `transfer/${TRANSFER_DOMAIN}-from-general-seed${seed}`,
  config: ablationConfig(o, seed, { trainDomain: TRANSFER_DOMAIN, prior: 'file' }),
  priorFrom: baseRun(o, seed).name,
});

export const transfer: Section = {
  id: 6,
  key: 'transfer',
  title: 'Transfer: general mask, domain mask from scratch, general mask as the prior (paper Tables 4–5)',
  // the general (base) run comes first: its mask is the third run's prior
  runs: (o) => o.seeds.flatMap((s) => [baseRun(o, s), scratchRun(o, s), fromGeneralRun(o, s)]),
  report(o, store) {
    const general = o.seeds.map((s) => ({ def: baseRun(o, s), rec: store.get(baseRun(o, s)) }));
    const scratch = o.seeds.map((s) => ({ def: scratchRun(o, s), rec: store.get(scratchRun(o, s)) }));
    const fromGen = o.seeds.map((s) => ({ def: fromGeneralRun(o, s), rec: store.get(fromGeneralRun(o, s)) }));
    const metric = (fs: typeof general, key: ResultKey, pick: typeof enPpl) => fs.map((f) => rowMetric(f.rec, key, pick));
    const c = general.find((f) => f.rec)?.rec?.config;
    const lines: string[] = [
      `tiny-gpt, ${c ? describeSchedule(c) : 'not run yet'}. The general mask learns from English + code (SparseGPT prior calibrated on the mix); the English masks learn from English only (their one-shot prior calibrated on English), starting either from a SparseGPT prior ("from scratch") or from the general mask of the same seed as the prior (prior strength α ${c?.priorStrength ?? '?'}). Validation PPL per domain. ${seedNote(o.seeds)}`,
      '',
      ...table(
        ['mask', 'English PPL', 'code PPL'],
        [
          ['dense', meanSpread(metric(general, 'dense', enPpl)), meanSpread(metric(general, 'dense', codePpl))],
          ['SparseGPT mask only (mixed calibration)', meanSpread(metric(general, 'sparsegpt', enPpl)), meanSpread(metric(general, 'sparsegpt', codePpl))],
          ['general mask (learned on the mix)', meanSpread(metric(general, 'maskllm', enPpl)), meanSpread(metric(general, 'maskllm', codePpl))],
          ['English mask from scratch', meanSpread(metric(scratch, 'maskllm', enPpl)), meanSpread(metric(scratch, 'maskllm', codePpl))],
          ['general mask → English (as the prior)', meanSpread(metric(fromGen, 'maskllm', enPpl)), meanSpread(metric(fromGen, 'maskllm', codePpl))],
        ],
      ),
    ];
    const fgEn = metric(fromGen, 'maskllm', enPpl);
    lines.push(
      ...direction(
        'A general mask used as the prior for a domain beats both the general mask and a mask learned from scratch on that domain (lab-scale reference, d=128, English PPL: general 5.50, English from scratch 5.14, general → English 5.10; code PPL 10.8 from scratch against 5.9 from the general mask).',
        [
          `On English, general → English vs the general mask: ${verdictText(compare(fgEn, metric(general, 'maskllm', enPpl), 'lower'), 'general → English', 'the general mask')}`,
          `On English, general → English vs from scratch: ${verdictText(compare(fgEn, metric(scratch, 'maskllm', enPpl), 'lower'), 'general → English', 'from scratch')}`,
          `On code (the domain left out), general → English vs from scratch: ${verdictText(compare(metric(fromGen, 'maskllm', codePpl), metric(scratch, 'maskllm', codePpl), 'lower'), 'general → English', 'from scratch')}`,
        ],
      ),
      `Runs: ${runList([...general, ...scratch, ...fromGen])}.`,
      '',
    );
    return { lines, charts: [] };
  },
};
