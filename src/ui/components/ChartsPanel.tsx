// Live convergence charts: mask L1 distance and max probability (per layer or the mean), loss,
// hard-mask validation (GPT perplexity per domain, ViT accuracy) with dense and one-shot baseline
// reference lines from the results table, and the κ / τ schedules. hide=evaluation removes the
// hard-mask validation chart and its text selector.
import { useMemo, useState } from 'react';
import type { ResultRow } from '../../lab/session';
import { live } from '../../state/live';
import { useLab } from '../../state/store';
import { useShown } from '../use-shown';
import { Chart } from './Chart';

function refLines(table: ResultRow[], key: 'en' | 'code' | 'val'): { name: string; y: number }[] {
  return table
    .filter((r) => r.key !== 'maskllm')
    .map((r) => {
      const m = key === 'val' ? r.metrics.val : r.metrics[key];
      return { name: r.label, y: m ? ('accuracy' in m ? m.accuracy * 100 : m.ppl) : Number.NaN };
    });
}

export function ChartsPanel() {
  const model = useLab((s) => s.model);
  const table = useLab((s) => s.table);
  const still = useLab((s) => s.run.state === 'running');
  const [view, setView] = useState<'mean' | 'layers'>('mean');
  const [domain, setDomain] = useState<'en' | 'code'>('en');
  const showEval = useShown().panel('evaluation');
  const layout = live.layout;
  const isVit = model?.kind === 'vit';
  const evalKey = isVit ? 'val' : domain;

  const l1 = useMemo(() => (view === 'mean' ? [live.meanMaskL1] : live.layerMaskL1), [view, layout, model]); // eslint-disable-line react-hooks/exhaustive-deps
  const maxProb = useMemo(() => (view === 'mean' ? [live.meanMaxProb] : live.layerMaxProb), [view, layout, model]); // eslint-disable-line react-hooks/exhaustive-deps
  const loss = useMemo(() => [live.loss], []);
  const sched = useMemo(() => [live.kappa, live.tau], []);
  const evalSeries = useMemo(() => {
    const s = live.evals.get(evalKey);
    return s ? [s] : [];
  }, [evalKey, layout, model]); // eslint-disable-line react-hooks/exhaustive-deps
  const refs = useMemo(() => refLines(table, evalKey), [table, evalKey]);

  return (
    <section className="panel panel-wide" aria-labelledby="charts-title" data-testid="charts-panel">
      <div className="panel-head">
        <h2 id="charts-title">Convergence</h2>
        <div className="inline-controls">
          <label htmlFor="chart-view">Curves</label>
          <select id="chart-view" value={view} onChange={(e) => setView(e.target.value as 'mean' | 'layers')}>
            <option value="mean">mean over layers</option>
            <option value="layers">per layer</option>
          </select>
          {!isVit && showEval && (
            <>
              <label htmlFor="chart-domain">Validation text</label>
              <select id="chart-domain" value={domain} onChange={(e) => setDomain(e.target.value as 'en' | 'code')}>
                <option value="en">English</option>
                <option value="code">code</option>
              </select>
            </>
          )}
        </div>
      </div>
      <p className="small">
        Mask L1: mean change of the sampled soft masks between consecutive steps (falls as the masks settle). Max probability: the
        mean over groups of the largest candidate weight in the sampled soft mask (→ 1 as the samples become one-hot).
      </p>
      <div className="charts">
        <Chart testId="chart-maskl1" title="Mask L1 distance between consecutive steps" series={l1} xTitle="step" yTitle="L1 per weight" emptyText="No steps yet." integerX still={still} />
        <Chart testId="chart-maxprob" title="Max candidate probability" series={maxProb} xTitle="step" yTitle="probability" emptyText="No steps yet." integerX still={still} />
        <Chart testId="chart-loss" title="Training loss (soft masks)" series={loss} xTitle="step" yTitle="loss" emptyText="No steps yet." integerX still={still} />
        {showEval && (
          <Chart
            testId="chart-eval"
            title={isVit ? 'Validation accuracy with the hard mask (%)' : `Validation perplexity with the hard mask (${domain === 'en' ? 'English' : 'code'})`}
            series={evalSeries}
            refs={refs}
            xTitle="step"
            yTitle={isVit ? 'accuracy %' : 'perplexity'}
            emptyText="No evaluation yet (every “Evaluate every” steps)."
            integerX
            still={still}
          />
        )}
        <Chart testId="chart-schedule" title="Schedules: logit scale κ and temperature τ" series={sched} xTitle="step" yTitle="value (log)" emptyText="No steps yet." integerX logY still={still} />
      </div>
    </section>
  );
}
