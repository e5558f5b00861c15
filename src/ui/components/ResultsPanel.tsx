// The evaluation table (dense, one-shot baselines, MaskLLM) with the storage of each form, and the
// exports (mask files, resumable state, metrics, chart images) as downloads. hide=table removes the
// table and the storage forms, hide=export the downloads (App drops the panel when both are hidden).
import { useState } from 'react';
import type { MaskFormat } from '../../embed/types';
import type { ResultRow } from '../../lab/session';
import { BASELINE_LABELS, RESULT_KEYS } from '../../lab/names';
import { binomial } from '../../sparsity/patterns';
import { chartElements, live, metricsCsv } from '../../state/live';
import { useLab } from '../../state/store';
import { download, formatBytes } from '../format';
import { useShown } from '../use-shown';
import { flushAllCharts } from './Chart';
import { loadPlotly } from '../charts/plotly-loader';

/** Bytes of the masked weights in each form: f32, f16, and N:M compressed (f16 kept values + candidate index bits). */
export function memoryForms(weights: number, n: number, m: number) {
  const indexBits = Math.log2(binomial(m, n)) / m;
  return {
    f32: weights * 4,
    f16: weights * 2,
    compressed: ((weights * n) / m) * 2 + (weights * indexBits) / 8,
    indexBitsPerWeight: indexBits,
  };
}

function metricCells(r: ResultRow, vit: boolean) {
  const f = (x: number | undefined, d = 2) => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));
  if (vit) return [f(r.metrics.val && r.metrics.val.accuracy * 100, 1), f(r.metrics.test && r.metrics.test.accuracy * 100, 1)];
  // bits per byte compares models with different tokenizers (bytes vs GPT-2 BPE); PPL is per token
  return [f(r.metrics.en?.ppl), f(r.metrics.en?.bitsPerByte, 3), f(r.metrics.code?.ppl), f(r.metrics.code?.bitsPerByte, 3)];
}

export function ResultsPanel() {
  const table = useLab((s) => s.table);
  const pending = useLab((s) => s.tablePending);
  const running = useLab((s) => s.run.state === 'running');
  const model = useLab((s) => s.model);
  const loaded = useLab((s) => s.loaded);
  const shown = useShown();
  const showTable = shown.panel('table');
  if (!model || !loaded) {
    return (
      <section className="panel panel-wide" aria-labelledby="results-title" data-testid="results-panel">
        <h2 id="results-title">Results</h2>
        <p className="chart-note">
          {showTable
            ? 'The table fills in once a model is loaded: for a MaskLLM run, learning starts first and the dense model and the one-shot baselines are computed between its steps; MaskLLM’s row comes when the run finishes.'
            : 'The downloads appear once a model is loaded.'}
        </p>
      </section>
    );
  }
  const vit = model.kind === 'vit';
  const mem = memoryForms(model.maskedWeights, loaded.n, loaded.m);
  const heads = vit ? ['Val accuracy %', 'Test accuracy %'] : ['PPL English', 'Bits/byte English', 'PPL code', 'Bits/byte code'];
  return (
    <section className="panel panel-wide" aria-labelledby="results-title" data-testid="results-panel">
      <h2 id="results-title">Results</h2>
      {showTable && (
        <>
          {/* the table scrolls sideways inside the panel when it is wider (narrow screens): never clipped */}
          <div className="table-scroll" data-scroll-container tabIndex={0} role="region" aria-label="Results table (scrolls sideways when narrow)">
            <table data-testid="results-table">
              <caption className="small">
                {vit
                  ? 'Accuracy (higher is better)'
                  : `Validation perplexity per ${model.tokenizer === 'gpt2' ? 'GPT-2 token' : 'byte'} and bits per UTF-8 byte (lower is better)`}{' '}
                with each {loaded.n}:{loaded.m} mask applied to the frozen weights.
              </caption>
              <thead>
                <tr>
                  <th scope="col">Method</th>
                  {heads.map((h) => (
                    <th scope="col" key={h} className="num">
                      {h}
                    </th>
                  ))}
                  <th scope="col" className="num">
                    Mask bits / weight
                  </th>
                  <th scope="col" className="num">
                    Masked weights, stored
                  </th>
                </tr>
              </thead>
              <tbody>
                {RESULT_KEYS.map((key) => {
                  const r = table.find((x) => x.key === key);
                  if (!r) {
                    // learning started first: this row is computed between learning steps (LabSession deferBaselines)
                    if (key === 'maskllm' || !pending.includes(key)) return null;
                    return (
                      <tr key={key} data-key={key} data-pending="">
                        <th scope="row">{BASELINE_LABELS[key]}</th>
                        <td colSpan={heads.length + 2} className="small pending-cell">
                          {pending[0] === key && running ? 'being computed between learning steps…' : 'queued: computed while learning runs'}
                        </td>
                      </tr>
                    );
                  }
                  return (
                    <tr key={r.key} data-key={r.key}>
                      <th scope="row">{r.label}</th>
                      {metricCells(r, vit).map((c, i) => (
                        <td key={i} className="num">
                          {c}
                        </td>
                      ))}
                      <td className="num">{r.bitsPerWeight === null ? '—' : r.bitsPerWeight.toFixed(3)}</td>
                      <td className="num">
                        {r.bitsPerWeight === null ? `${formatBytes(mem.f16)} (f16)` : `${formatBytes(mem.compressed)} (${loaded.n}:${loaded.m})`}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <dl className="kv" data-testid="memory-forms">
            <div className="kv-row">
              <dt>Dense f32</dt>
              <dd>{formatBytes(mem.f32)} (32 bits per weight)</dd>
            </div>
            <div className="kv-row">
              <dt>Dense f16</dt>
              <dd>{formatBytes(mem.f16)} (16 bits per weight)</dd>
            </div>
            <div className="kv-row">
              <dt>
                {loaded.n}:{loaded.m} compressed
              </dt>
              <dd>
                {formatBytes(mem.compressed)}: {loaded.n} of {loaded.m} values in f16 + log2(C({loaded.m},{loaded.n}))/{loaded.m} ={' '}
                {mem.indexBitsPerWeight.toFixed(3)} index bits per weight ({((16 * loaded.n) / loaded.m + mem.indexBitsPerWeight).toFixed(2)} bits per weight)
              </dd>
            </div>
          </dl>
        </>
      )}
      {shown.panel('export') && <Exports />}
    </section>
  );
}

function Exports() {
  const loaded = useLab((s) => s.loaded);
  const model = useLab((s) => s.model);
  const table = useLab((s) => s.table);
  const state = useLab((s) => s.run.state);
  const busy = useLab((s) => s.run.busy);
  const exportMask = useLab((s) => s.exportMask);
  const [note, setNote] = useState<string | null>(null);
  if (!loaded || !model) return null;
  const base = `${loaded.model.replace(/[^a-z0-9._-]+/gi, '_')}-${loaded.n}of${loaded.m}-${loaded.method}`;
  const canMask = state !== 'loading' && state !== 'idle' && state !== 'error' && !busy;
  const learning = loaded.method === 'maskllm';

  const mask = async (format: MaskFormat) => {
    try {
      const bytes = await exportMask(format);
      const ext = format === 'safetensors' ? 'mask.safetensors' : format === 'packed' ? 'mask.packed' : 'state.bin';
      download(`${base}.${ext}`, bytes as Uint8Array<ArrayBuffer>);
      setNote(`Saved ${base}.${ext} (${formatBytes(bytes.length)}).`);
    } catch (e) {
      setNote(`Export failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const metrics = (kind: 'csv' | 'json') => {
    const names = model.sites.map((s) => s.name);
    if (kind === 'csv') download(`${base}-metrics.csv`, metricsCsv(live.rows, names), 'text/csv');
    else
      download(
        `${base}-metrics.json`,
        JSON.stringify({ config: loaded, model, rows: live.rows, evaluations: live.evaluations, table }, null, 1),
        'application/json',
      );
    setNote(`Saved ${base}-metrics.${kind} (${live.rows.length} steps).`);
  };
  const pngs = async () => {
    const Plotly = await loadPlotly();
    flushAllCharts(); // charts off screen are not redrawn while learning
    let n = 0;
    for (const [id, el] of chartElements) {
      if (el.hidden || !el.querySelector('.main-svg')) continue;
      const url = await Plotly.toImage(el, { format: 'png', width: 900, height: 420 });
      const a = document.createElement('a');
      a.href = url;
      a.download = `${base}-${id}.png`;
      a.click();
      n++;
    }
    setNote(n ? `Saved ${n} chart images.` : 'No chart has data yet.');
  };

  return (
    <div className="exports">
      <h3>Export</h3>
      <div className="buttons">
        <button type="button" className="secondary" disabled={!canMask} onClick={() => void mask('safetensors')} data-testid="export-safetensors">
          Mask (.safetensors)
        </button>
        <button type="button" className="secondary" disabled={!canMask} onClick={() => void mask('packed')} data-testid="export-packed">
          Packed mask
        </button>
        <button type="button" className="secondary" disabled={!canMask || !learning} onClick={() => void mask('state')} data-testid="export-state">
          Resumable state
        </button>
        <button type="button" className="secondary" onClick={() => metrics('csv')} data-testid="export-csv">
          Metrics CSV
        </button>
        <button type="button" className="secondary" onClick={() => metrics('json')} data-testid="export-json">
          Metrics JSON
        </button>
        <button type="button" className="secondary" onClick={() => void pngs()} data-testid="export-png">
          Charts PNG
        </button>
      </div>
      {note && (
        <p className="small" role="status">
          {note}
        </p>
      )}
    </div>
  );
}
