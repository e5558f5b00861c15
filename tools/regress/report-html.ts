// The regression report as one HTML page: status, findings, every cell against the baseline, and
// each run's table and charts inline.
import { describeMetrics } from '../lib/progress';
import { DEFAULT_TOLERANCES, type Baseline } from './compare';
import type { RegressReport } from './matrix';

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export function reportHtml(r: RegressReport, baseline: Baseline | null): string {
  const failed = new Map<string, string>();
  for (const f of r.comparison?.failures ?? []) failed.set(`${f.cell}|${f.metric ?? ''}`, f.message);
  const rows = Object.entries(r.cells)
    .map(([id, c]) => {
      const b = baseline?.cells[id];
      return Object.entries(c.metrics)
        .map(([m, v]) => {
          const bad = failed.get(`${id}|${m}`) ?? failed.get(`${id}|`);
          const bv = b?.metrics[m];
          return `<tr class="${bad ? 'bad' : ''}"><td>${esc(id)}</td><td>${esc(m)}</td><td>${v.toPrecision(6)}</td><td>${bv === undefined ? '–' : bv.toPrecision(6)}</td><td>${bad ? esc(bad) : 'ok'}</td></tr>`;
        })
        .join('\n');
    })
    .join('\n');
  const status = r.comparison
    ? r.comparison.ok
      ? '<p class="ok">PASS</p>'
      : `<p class="bad">FAIL: ${r.comparison.failures.length} finding(s)</p>`
    : '<p>not compared</p>';
  const findings = [...(r.comparison?.failures ?? []), ...(r.comparison?.notes ?? [])].map((f) => `<li>${esc(`[${f.kind}] ${f.message}`)}</li>`).join('');
  const runs = r.runs
    .map((run) => {
      const table = run.table.map((row) => `<tr><td>${esc(row.label)}</td><td>${esc(describeMetrics(row.metrics))}</td></tr>`).join('');
      const imgs = Object.entries(run.charts)
        .map(([k, url]) => `<figure><img alt="${esc(k)}" src="${url}" width="600"><figcaption>${esc(k)}</figcaption></figure>`)
        .join('');
      return `<h2>${esc(run.model)}, seed ${run.seed} (${run.wallSeconds.toFixed(1)} s)</h2><table><tr><th>method</th><th>metrics</th></tr>${table}</table><div class="charts">${imgs}</div>`;
    })
    .join('\n');
  const det = r.determinism
    ? `${esc(r.determinism.cell)}: ${r.determinism.identical ? 'identical' : `DIFFERENT (${esc(r.determinism.detail ?? '')})`}`
    : 'not checked';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>MaskLLM lab regression report</title>
<style>body{font-family:system-ui,sans-serif;margin:1.5rem}table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}
.bad{color:#a00;font-weight:600}.ok{color:#070;font-weight:600}.charts{display:flex;flex-wrap:wrap;gap:.5rem}figure{margin:0}</style></head><body>
<h1>MaskLLM lab regression report${r.quick ? ' (quick)' : ''}</h1>${status}
<p>${esc(r.date)} · ${esc(r.adapter)} · ${r.wallSeconds.toFixed(0)} s · ${esc(JSON.stringify(r.versions))}</p>
<p>Determinism (same seed + config + adapter, run twice): ${det}</p>
<p>Tolerances: ${esc(JSON.stringify(baseline?.tolerances ?? DEFAULT_TOLERANCES))} (docs/REGRESS.md)</p>
<ul>${findings}</ul>
<table><tr><th>cell</th><th>metric</th><th>this run</th><th>baseline</th><th>status</th></tr>${rows}</table>
${runs}</body></html>
`;
}
