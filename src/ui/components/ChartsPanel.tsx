// Live convergence charts: mask L1 distance and max probability (per layer or the mean), loss,
// hard-mask validation (GPT perplexity per domain, ViT accuracy) with dense and one-shot baseline
// reference lines from the results table, and the κ / τ schedules. hide=evaluation removes the
// hard-mask validation chart and its text selector.
import { useMemo, useState } from 'react';
import { live } from '../../state/live';
import { useLab } from '../../state/store';
import { baselineRefs, CHARTS, evaluationChart, type ChartLook } from '../charts/spec';
import { useShown } from '../use-shown';
import { Chart } from './Chart';
import type { TextDomainName } from '../../lab/names';

/** Chart props from the one chart description (src/ui/charts/spec.ts). */
const lookProps = (c: ChartLook) => ({
  testId: c.testId,
  title: c.title,
  xTitle: c.xTitle,
  yTitle: c.yTitle,
  emptyText: c.emptyText,
  integerX: c.integerX,
  logY: c.logY,
});

export function ChartsPanel() {
  const model = useLab((s) => s.model);
  const table = useLab((s) => s.table);
  const still = useLab((s) => s.run.state === 'running');
  const [view, setView] = useState<'mean' | 'layers'>('mean');
  const [domain, setDomain] = useState<TextDomainName>('en');
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
  const refs = useMemo(() => baselineRefs(table, evalKey), [table, evalKey]);

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
              <select id="chart-domain" value={domain} onChange={(e) => setDomain(e.target.value as TextDomainName)}>
                <option value="en">English</option>
                <option value="code">code</option>
              </select>
            </>
          )}
        </div>
      </div>
      <p className="small">
        Mask L1: mean change of the sampled soft masks between consecutive steps (falls as the masks settle). Max probability: the mean over groups of the
        largest candidate weight in the sampled soft mask (→ 1 as the samples become one-hot).
      </p>
      <div className="charts">
        <Chart {...lookProps(CHARTS.maskL1)} series={l1} still={still} />
        <Chart {...lookProps(CHARTS.maxProb)} series={maxProb} still={still} />
        <Chart {...lookProps(CHARTS.loss)} series={loss} still={still} />
        {showEval && <Chart {...lookProps(evaluationChart(evalKey))} series={evalSeries} refs={refs} still={still} />}
        <Chart {...lookProps(CHARTS.schedule)} series={sched} still={still} />
      </div>
    </section>
  );
}
