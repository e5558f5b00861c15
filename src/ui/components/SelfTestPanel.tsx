// The self-test table: each registered op runs on the engine and on its CPU reference; the worker
// streams rows in as they finish.
import { useLab } from '../../state/store';
import type { SelfTestResult } from '../../lab/worker-api';

function fmtErr(r: SelfTestResult): string {
  if (!Number.isFinite(r.maxRelError)) return 'NaN/Inf';
  return r.maxRelError === 0 ? '0' : r.maxRelError.toExponential(2);
}

function Row({ name, family, shapes, r, pending }: { name: string; family: string; shapes: string; r: SelfTestResult | null; pending: boolean }) {
  const status = r ? (r.pass ? 'pass' : 'fail') : pending ? 'running' : 'idle';
  return (
    <tr data-testid="selftest-row" data-status={status}>
      <th scope="row">
        <span className="small op-family">{family}.</span>
        {name}
      </th>
      <td className="mono small shapes">{shapes}</td>
      <td>
        <span className={`tag tag-${status}`}>{status === 'idle' ? 'not run' : status}</span>
        {r?.error && <div className="small error-text">{r.error}</div>}
        {r && r.mismatches > 0 && <div className="small error-text">{r.mismatches} values differ</div>}
      </td>
      <td className="num mono">{r ? fmtErr(r) : ''}</td>
      <td className="num mono">{r ? r.ms.toFixed(1) : ''}</td>
    </tr>
  );
}

export function SelfTestPanel() {
  const st = useLab((s) => s.selfTest);
  const phase = useLab((s) => s.phase);
  const engineKind = useLab((s) => s.init?.engine ?? null);
  const run = useLab((s) => s.runSelfTest);
  const running = st.status === 'running';
  const done = st.rows.filter(Boolean) as SelfTestResult[];
  const failed = done.filter((r) => !r.pass).length;
  const tol = st.cases.length ? Math.max(...st.cases.map((c) => c.tol)).toExponential(0) : '—';
  const where =
    engineKind === 'gpu' ? 'the GPU' : engineKind === 'cpu' ? 'the CPU engine only' : engineKind === 'wasm' ? 'the WebAssembly engine' : 'the engine';

  let summary = 'Waiting for the engine…';
  if (st.status === 'idle' && phase === 'ready') summary = `Not run yet: it checks every kernel on ${where} (about a minute on a software GPU).`;
  if (running) summary = `Running on ${where}: ${done.length} of ${st.cases.length} done…`;
  else if (st.status === 'done')
    summary = failed === 0 ? `All ${done.length} passed on ${where} in ${st.totalMs?.toFixed(0)} ms.` : `${failed} of ${done.length} failed on ${where}.`;
  else if (st.status === 'failed') summary = `The self-test could not run: ${st.error}`;

  return (
    <section className="panel panel-wide" aria-labelledby="selftest-title" data-testid="selftest-panel">
      <div className="panel-head">
        <h2 id="selftest-title">Self-test</h2>
        <button type="button" onClick={() => void run()} disabled={running || phase !== 'ready'}>
          {st.runs === 0 && st.status === 'idle' ? 'Run self-test' : 'Run again'}
        </button>
      </div>
      <p className="small">
        Each op runs on {where} and on {engineKind === 'cpu' ? 'the f64 CPU engine (or known answers)' : 'its CPU twin (or known answers)'} with fresh seeded
        random inputs; it passes at relative error ≤ {tol} (integer outputs must match exactly).
        {st.seed !== null && (
          <>
            {' '}
            Seed{' '}
            <span className="mono" data-testid="selftest-seed">
              {st.seed}
            </span>{' '}
            (reproduce with <span className="mono">?selftest={st.seed}</span>).
          </>
        )}
      </p>
      <p role="status" aria-live="polite" data-testid="selftest-status" data-state={st.status} data-failed={failed}>
        {summary}
      </p>
      <div className="table-scroll" tabIndex={0} role="region" aria-label="Self-test results (scrolls sideways on narrow screens)">
        <table>
          <caption className="visually-hidden">Self-test results per op</caption>
          <thead>
            <tr>
              <th scope="col">Op</th>
              <th scope="col">Shapes</th>
              <th scope="col">Result</th>
              <th scope="col" className="num">
                Max rel. error
              </th>
              <th scope="col" className="num">
                ms
              </th>
            </tr>
          </thead>
          <tbody>
            {st.cases.map((c, i) => (
              <Row key={`${c.family}.${c.name}`} name={c.name} family={c.family} shapes={c.shapes} r={st.rows[i] ?? null} pending={running} />
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
