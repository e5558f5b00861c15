// Section 5: sample efficiency (paper Fig. 4): the hard mask's validation PPL against the training
// sequences consumed (MaskLLM: its prior's calibration set plus batch × samples per step, at each
// evaluation) next to SparseGPT calibrated on growing sets (1, 2, 4, 8, 16 batches); where MaskLLM
// overtakes its own prior and the best SparseGPT with weight update.
import type { EvalMetrics } from '../../../src/lab/session';
import { ablationConfig, baseRun, describeSchedule, enPpl, rowMetric, runList, seedNote } from '../configs';
import type { ResultKey } from '../../../src/lab/names';
import { direction, table } from '../markdown';
import { fmt, meanCurve, meanSpread, mean, overtakeAt, spansDecade } from '../stats';
import type { ChartSpec, PlanOptions, RunDef, RunRecord, Section } from '../types';

export function calibSizes(o: PlanOptions): number[] {
  return o.quick ? [1, 2] : [1, 2, 4, 8, 16];
}

/** The one-shot run for k calibration batches (the base run when k is its own calibration size). */
function oneShotRun(o: PlanOptions, k: number, seed: number): RunDef {
  const base = baseRun(o, seed);
  if (k === base.config.calibBatches) return base;
  return {
    name: `sample-efficiency/sparsegpt-calib${k}-seed${seed}`,
    config: ablationConfig(o, seed, { method: 'sparsegpt', sparsegptUpdate: true, calibBatches: k }),
  };
}

/** Sequences a MaskLLM run has consumed at `step`: its prior's calibration set plus the learning batches. */
export function maskllmSamples(c: { calibBatches: number; batch: number; samplesPerStep: number; prior: string }, step: number): number {
  const prior = c.prior === 'wanda' || c.prior === 'sparsegpt' ? c.calibBatches * c.batch : 0;
  return prior + step * c.batch * c.samplesPerStep;
}

export const sampleEfficiency: Section = {
  id: 5,
  key: 'samples',
  title: 'Sample efficiency: MaskLLM against SparseGPT with growing calibration sets (paper Fig. 4)',
  runs: (o) => o.seeds.flatMap((s) => [baseRun(o, s), ...calibSizes(o).map((k) => oneShotRun(o, k, s))]),
  report(o, store, link) {
    const bases = o.seeds.map((s) => ({ def: baseRun(o, s), rec: store.get(baseRun(o, s)) }));
    const sizes = calibSizes(o);
    const shots = sizes.map((k) => o.seeds.map((s) => ({ def: oneShotRun(o, k, s), rec: store.get(oneShotRun(o, k, s)) })));
    const baseRec = bases.find((b) => b.rec)?.rec ?? null;
    const c = baseRec?.config ?? baseRun(o, o.seeds[0]).config;
    const seqs = (k: number) => k * c.batch;
    const sgpt = (key: ResultKey) => shots.map((fs) => fs.map((f) => rowMetric(f.rec, key, enPpl)));
    const mask = sgpt('sparsegpt');
    const upd = sgpt('sparsegpt+update');
    const dense = mean(bases.map((b) => rowMetric(b.rec, 'dense', enPpl)));

    // MaskLLM: the mean over seeds at each evaluation (all seeds evaluate at the same steps)
    const withEvals = bases.map((b) => b.rec).filter((r): r is RunRecord => r !== null && r.evaluations.length > 0);
    const steps = withEvals[0]?.evaluations.map((e) => e.step) ?? [];
    const curveY = meanCurve(withEvals.map((r) => r.evaluations.map((e) => (e.metrics as EvalMetrics).en?.ppl ?? Number.NaN)));
    const curve = steps.slice(0, curveY.length).map((st, i) => ({ x: maskllmSamples(c, st), y: curveY[i] }));
    const priorIdx = sizes.indexOf(c.calibBatches);
    const priorPpl = mean(priorIdx >= 0 ? mask[priorIdx] : bases.map((b) => rowMetric(b.rec, 'sparsegpt', enPpl)));
    const bestUpd = Math.min(...upd.map(mean).filter(Number.isFinite));
    const bestUpdK = sizes[upd.map(mean).indexOf(bestUpd)];
    const priorSet = c.calibBatches * c.batch;
    const overPrior = overtakeAt(curve, priorPpl, 'lower');
    const overBest = overtakeAt(curve, bestUpd, 'lower');
    const perSeed = withEvals.map((r) => {
      const cur = r.evaluations.map((e) => ({ x: maskllmSamples(c, e.step), y: e.metrics.en?.ppl ?? Number.NaN }));
      const x = overtakeAt(cur, rowMetric(r, 'sparsegpt', enPpl), 'lower');
      return `seed ${r.config.seed}: ${x === null ? 'not within the run' : `${x} sequences (${fmt(x / priorSet, 1)} sets)`}`;
    });
    const lastX = curve.length ? curve[curve.length - 1].x : 0;

    const lines: string[] = [
      `tiny-gpt. MaskLLM: ${describeSchedule(c)}; x counts the prior's calibration set (${priorSet} sequences of 128 bytes) plus ${c.batch * c.samplesPerStep} sequences per step. SparseGPT: one-shot with ${sizes.map(seqs).join(', ')} calibration sequences (${sizes.join(', ')} batches of ${c.batch}). ${seedNote(o.seeds)}`,
      '',
      ...table(
        ['calibration sequences', 'SparseGPT mask only, English PPL', 'SparseGPT + update, English PPL'],
        sizes.map((k, i) => [String(seqs(k)), meanSpread(mask[i]), meanSpread(upd[i])]),
      ),
      '',
      ...table(
        ['MaskLLM step', 'sequences consumed', 'hard-mask English PPL (mean over seeds)'],
        curve.map((p, i) => [String(steps[i]), String(p.x), fmt(p.y)]),
      ),
      '',
    ];
    const charts: ChartSpec[] = [];
    if (curve.length || mask.some((v) => v.some(Number.isFinite))) {
      const series = [
        { name: 'MaskLLM hard mask (SparseGPT prior)', x: curve.map((p) => p.x), y: curve.map((p) => p.y) },
        { name: 'SparseGPT mask only', x: sizes.map(seqs), y: mask.map(mean) },
        { name: 'SparseGPT + weight update', x: sizes.map(seqs), y: upd.map(mean) },
      ];
      const refs = Number.isFinite(dense) ? [{ name: 'dense', y: dense }] : [];
      charts.push({
        file: 'sample-efficiency.png',
        title: `English validation PPL against training sequences consumed (${o.seeds.length > 1 ? 'mean over seeds' : `seed ${o.seeds[0]}`})`,
        xTitle: 'training sequences of 128 bytes consumed',
        yTitle: 'English validation PPL',
        logY: spansDecade([...series.flatMap((s) => s.y), ...refs.map((r) => r.y)]),
        integerX: true,
        series,
        refs,
      });
      lines.push(`![PPL against training sequences: MaskLLM and SparseGPT](${link('sample-efficiency.png')})`, '');
    }
    const startsWorse = curve.length ? curve[0].y > priorPpl : null;
    lines.push(
      ...direction(
        'MaskLLM starts worse than its prior and overtakes it after about 10 prior-sized calibration sets of data; with more data it keeps improving while SparseGPT saturates.',
        [
          `At its first evaluation (${curve[0]?.x ?? '—'} sequences) MaskLLM is ${startsWorse === null ? 'not run yet' : startsWorse ? `**worse** than its prior (${fmt(curve[0].y)} vs ${fmt(priorPpl)}), as in the paper` : `already **better** than its prior (${fmt(curve[0].y)} vs ${fmt(priorPpl)}), unlike the paper`}.`,
          `It overtakes its prior (SparseGPT mask only, ${priorSet} sequences, PPL ${fmt(priorPpl)}) for good ${overPrior === null ? `**not within the run** (${lastX} sequences)` : `at **${overPrior} sequences = ${fmt(overPrior / priorSet, 1)} calibration sets** (paper: ~10)`}; per seed: ${perSeed.join('; ') || '—'}.`,
          `The best SparseGPT with weight update (${Number.isFinite(bestUpd) ? `PPL ${fmt(bestUpd)} at ${seqs(bestUpdK)} sequences` : 'not run yet'}) is overtaken ${overBest === null ? `**not within the run** (${lastX} sequences)` : `at **${overBest} sequences**`}.`,
          `SparseGPT (mask only) from ${seqs(sizes[0])} to ${seqs(sizes[sizes.length - 1])} calibration sequences: ${fmt(mean(mask[0]))} → ${fmt(mean(mask[mask.length - 1]))}; with update ${fmt(mean(upd[0]))} → ${fmt(mean(upd[upd.length - 1]))}.`,
        ],
      ),
      `Runs: ${runList([...bases, ...shots.flat().filter((f) => !f.def.name.startsWith('base/'))])}.`,
      '',
    );
    return { lines, charts };
  },
};
