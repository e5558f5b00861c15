// Run / Pause / Step / Reset, progress (the run part of the bar at the top of the page) (step k of n, steps/s, ETA; loading bytes, baselines), the
// saved-run offer after a reload and where the run is saved.
import { useLab } from '../../state/store';
import { formatBytes, formatDuration } from '../format';

const PHASE_TEXT = {
  loading: 'Loading',
  tokenizing: 'Tokenizing text',
  compiling: 'Compiling shaders',
  baselines: 'One-shot baselines',
  learning: 'Learning',
  evaluating: 'Final evaluation',
} as const;

export function ResumeOffer() {
  const resume = useLab((s) => s.resume);
  const ready = useLab((s) => s.phase === 'ready');
  const busy = useLab((s) => s.run.busy);
  const resumeSaved = useLab((s) => s.resumeSaved);
  const discard = useLab((s) => s.discardSaved);
  if (!resume) return null;
  if ('corrupt' in resume) {
    return (
      <div className="banner banner-warn" role="alert" data-testid="resume-corrupt">
        <strong>A saved run could not be restored and was discarded.</strong>
        <p className="mono">{resume.corrupt}</p>
        <button type="button" onClick={() => useLab.setState({ resume: null })}>
          Dismiss
        </button>
      </div>
    );
  }
  const i = resume.info;
  return (
    <div className="banner banner-info" role="region" aria-label="Saved run" data-testid="resume-offer">
      <strong>
        A run of {i.model} was saved at step {i.step} of {i.totalSteps}
      </strong>{' '}
      <span className="small">
        ({new Date(i.savedAt).toLocaleString()}, {i.metricsRows} metric rows).
      </span>
      <p>Resume it where it stopped (logits, optimizer state, step and curves are restored), or discard it.</p>
      <div className="buttons">
        <button type="button" disabled={!ready || !!busy} onClick={() => void resumeSaved().catch(() => {})}>
          Resume the saved run
        </button>
        <button type="button" className="secondary" disabled={!!busy} onClick={() => void discard()}>
          Discard it
        </button>
      </div>
    </div>
  );
}

export function RunPanel() {
  const run = useLab((s) => s.run);
  const engine = useLab((s) => s.init?.engine ?? null);
  const wasm = useLab((s) => s.init?.wasm ?? null);
  const preference = useLab((s) => s.init?.preference ?? 'auto');
  const ready = useLab((s) => s.phase === 'ready');
  const selfTestRunning = useLab((s) => s.selfTest.status === 'running');
  const method = useLab((s) => s.loaded?.method ?? s.draft.method);
  const custom = useLab((s) => s.custom);
  const error = useLab((s) => s.sessionError);
  const checked = useLab((s) => s.resumeChecked);
  const { startRun, pauseRun, stepRun, resetRun, dismissSessionError } = useLab.getState();
  const busy = !!run.busy || !ready || selfTestRunning;
  const running = run.state === 'running';
  const canRun = !busy && !running && run.state !== 'done' && run.state !== 'loading';
  const pct = run.total > 0 ? Math.min(100, (100 * run.step) / run.total) : 0;
  const ld = run.loading;

  return (
    // Not a .panel of its own: it sits in the bar at the top of the page (LabBar.tsx)
    <section className="run-panel" aria-labelledby="run-title" data-testid="run-panel">
      <h2 id="run-title" className="visually-hidden">
        Run
      </h2>
      {engine === 'cpu' && (
        <p className="note" data-testid="cpu-note">
          Running on the <strong>CPU engine</strong> (no WebGPU): the same experiment, much slower.
        </p>
      )}
      {engine === 'wasm' && wasm && (
        <p className="note" data-testid="wasm-note">
          Running on the <strong>WebAssembly engine</strong> ({wasm.threads} thread{wasm.threads === 1 ? '' : 's'})
          {preference === 'auto' ? ' because there is no WebGPU' : ''}: the same experiment on the CPU
          {wasm.threadNote ? ` — ${wasm.threadNote}` : ''}.
        </p>
      )}
      <div className="run-row">
        <div className="buttons run-buttons">
          <button type="button" onClick={() => void startRun().catch(() => {})} disabled={!canRun} data-testid="btn-run">
            {run.state === 'paused' ? 'Resume' : 'Run'}
          </button>
          <button type="button" onClick={() => void pauseRun().catch(() => {})} disabled={!running} data-testid="btn-pause">
            Pause
          </button>
          <button type="button" onClick={() => void stepRun().catch(() => {})} disabled={!canRun || method !== 'maskllm'} data-testid="btn-step">
            Step once
          </button>
          <button
            type="button"
            className="secondary"
            onClick={() => void resetRun().catch(() => {})}
            disabled={busy || run.state === 'idle' || run.state === 'loading'}
            data-testid="btn-reset"
          >
            Reset
          </button>
        </div>
        <p
          role="status"
          aria-live="polite"
          data-testid="run-status"
          data-state={run.state}
          data-step={run.step}
          data-total={run.total}
          data-saved-step={run.savedStep ?? ''}
          data-busy={run.busy ?? ''}
          data-resume-checked={checked}
        >
          {run.busy ? `${run.busy}… ` : ''}
          {stateText(run.state)}
          {run.total > 0 && run.state !== 'loading' && ` — step ${run.step} of ${run.total}`}
        </p>
      </div>
      <progress max={100} value={pct} aria-label="Learning progress" />
      <dl className="kv-inline small">
        <div className="kv-row">
          <dt>Steps/s</dt>
          <dd data-testid="steps-per-second">{run.stepsPerSecond ? run.stepsPerSecond.toFixed(2) : '—'}</dd>
        </div>
        <div className="kv-row">
          <dt>ETA</dt>
          <dd>{running ? formatDuration(run.etaSeconds) : '—'}</dd>
        </div>
        {ld && (
          <div className="kv-row">
            <dt>{PHASE_TEXT[ld.phase]}</dt>
            <dd data-testid="loading-progress">
              {ld.phase === 'loading'
                ? `${ld.detail ?? ''} ${formatBytes(ld.done)} of ${formatBytes(ld.total)}`
                : `${ld.detail ?? ''} ${ld.done} of ${ld.total}`}
              {ld.etaSeconds !== undefined && ` (about ${formatDuration(ld.etaSeconds)} left)`}
            </dd>
          </div>
        )}
        <div className="kv-row">
          <dt>Saved</dt>
          <dd data-testid="saved-note">
            {custom
              ? 'not saved (a model from disk cannot be reloaded automatically)'
              : run.savedStep !== null
                ? `at step ${run.savedStep} (survives a reload)`
                : run.state === 'done'
                  ? 'finished runs are not kept: export what you need'
                  : 'every 5 steps and on pause'}
          </dd>
        </div>
      </dl>
      {run.persistNote && <p className="small error-text">{run.persistNote}</p>}
      {run.message && (
        <p className="note" data-testid="run-message">
          {run.message}
        </p>
      )}
      {error && (
        <div className="banner banner-error" role="alert" data-testid="session-error">
          <p className="mono">{error}</p>
          <button type="button" onClick={dismissSessionError}>
            Dismiss
          </button>
        </div>
      )}
    </section>
  );
}

function stateText(s: string): string {
  switch (s) {
    case 'idle':
      return 'No model loaded: press Run (or Load) to load it and compute the baselines.';
    case 'loading':
      return 'Loading the model and data, computing the baselines…';
    case 'ready':
      return 'Ready';
    case 'running':
      return 'Learning';
    case 'paused':
      return 'Paused';
    case 'done':
      return 'Done';
    case 'error':
      return 'Failed';
    default:
      return s;
  }
}
