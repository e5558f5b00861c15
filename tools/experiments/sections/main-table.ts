// Section 1: the main table (paper Table 1 in miniature): dense, magnitude, Wanda, SparseGPT with and
// without its weight update and MaskLLM (SparseGPT prior), all 2:4, on every model of --models.
// Run directories main/<model>-seed<N> keep the first version's names and configurations.
import { betterOf, describeSchedule, mainConfig, metricOf, runList, seedNote } from '../configs';
import { direction, pct, table } from '../markdown';
import { compare, fmt, gapClosed, mean, meanSpread, verdictText } from '../stats';
import type { PlanOptions, RunDef, RunRecord, Section } from '../types';

const defsFor = (o: PlanOptions, model: string): RunDef[] => o.seeds.map((seed) => ({ name: `main/${model}-seed${seed}`, config: mainConfig(o, model, seed) }));

const PAPER_GAP: [number, number] = [0.65, 0.89];

export const mainTable: Section = {
  id: 1,
  key: 'main',
  title: 'Main table: 2:4 masks on the bundled models (paper Table 1 in miniature)',
  runs: (o) => o.models.flatMap((m) => defsFor(o, m)),
  report(o, store) {
    const lines: string[] = [];
    for (const model of o.models) {
      const defs = defsFor(o, model);
      const found = defs.map((def) => ({ def, rec: store.get(def) }));
      const recs = found.map((f) => f.rec).filter((r): r is RunRecord => r !== null);
      lines.push(`### ${model}`, '');
      if (!recs.length) {
        lines.push(`Not run yet (\`${defs.map((d) => d.name).join('`, `')}\`).`, '');
        continue;
      }
      const c = recs[0].config;
      lines.push(
        `MaskLLM: SparseGPT (mask-only) prior, tuned small-model preset, one mask sample per step; ${describeSchedule(c)}${model === 'tiny-vit' ? ' (ViT: the whole validation and test sets)' : ''}. Baselines are one-shot on the same frozen weights. ${seedNote(recs.map((r) => r.config.seed))}`,
        '',
      );
      const isVit = model === 'tiny-vit';
      const keys = recs[0].rows.map((r) => r.key);
      const rowsOf = (key: string) => recs.map((r) => r.rows.find((x) => x.key === key));
      const body = keys.map((key) => {
        const rows = rowsOf(key);
        const first = rows.find((r) => r !== undefined)!;
        const bpw = first.bitsPerWeight === null ? '32 (dense f32)' : fmt(first.bitsPerWeight, 3);
        if (isVit) return [first.label, meanSpread(rows.map((r) => 100 * (r?.metrics.test?.accuracy ?? NaN))), bpw];
        return [first.label, meanSpread(rows.map((r) => r?.metrics.en?.ppl ?? NaN)), meanSpread(rows.map((r) => r?.metrics.code?.ppl ?? NaN)), bpw];
      });
      lines.push(
        ...table(isVit ? ['method', 'test accuracy (%)', 'bits/weight of mask'] : ['method', 'English val PPL', 'code val PPL', 'bits/weight of mask'], body),
      );

      const metric = (key: string) => recs.map((r) => metricOf(r.rows.find((x) => x.key === key)?.metrics, model));
      const better = betterOf(model);
      const dense = metric('dense');
      const mllm = metric('maskllm');
      const sgptU = metric('sparsegpt+update');
      const sgpt = metric('sparsegpt');
      const oneShots = ['magnitude', 'wanda', 'sparsegpt'].map(metric);
      const bestOneShot = recs.map((_, i) => (better === 'lower' ? Math.min : Math.max)(...oneShots.map((v) => v[i])));
      const gapU = recs.map((_, i) => gapClosed(dense[i], sgptU[i], mllm[i], better));
      const gapM = recs.map((_, i) => gapClosed(dense[i], sgpt[i], mllm[i], better));
      const g = mean(gapU);
      const where = !Number.isFinite(g)
        ? 'undefined: SparseGPT + update is not worse than dense in some seed'
        : g < PAPER_GAP[0]
          ? 'below the paper’s range'
          : g > PAPER_GAP[1]
            ? 'above the paper’s range'
            : 'inside the paper’s range';
      const unit = isVit ? 'accuracy' : 'English PPL';
      lines.push(
        ...direction(
          `MaskLLM beats every one-shot 2:4 mask and closes ${pct(PAPER_GAP[0])}–${pct(PAPER_GAP[1])} of the gap between SparseGPT (with its weight update, the paper's baseline) and dense (LLaMA-2 7B Wikitext PPL: dense 5.12, SparseGPT 10.42, MaskLLM 6.72; ViT-B/16: SparseGPT 71.52%, MaskLLM 76.2% after one epoch, dense 79.15%).`,
          [
            `MaskLLM vs SparseGPT + weight update (${unit}): ${verdictText(compare(mllm, sgptU, better), 'MaskLLM', 'SparseGPT + update')}`,
            `MaskLLM vs the best mask-only one-shot mask (magnitude, Wanda, SparseGPT without update, best per seed): ${verdictText(compare(mllm, bestOneShot, better), 'MaskLLM', 'the best one-shot mask')}`,
            `Gap closed, SparseGPT + update → dense: ${gapU.map((x) => pct(x)).join(', ')} (mean ${pct(g)}, ${where}; above 100% means MaskLLM beats the dense model, below 0% that it is worse than SparseGPT + update). Against SparseGPT without the update (MaskLLM's own prior): ${gapM.map((x) => pct(x)).join(', ')}.`,
          ],
        ),
        `Runs: ${runList(found)}.`,
        '',
      );
    }
    return { lines, charts: [] };
  },
};
