// What the engine runs on: the WebGPU adapter (from describeAdapter / DeviceInfo), the WebAssembly
// engine and its threads, or the CPU engine; and the choice between them (EngineChoice below).
import { useState } from 'react';
import { describeKernelTuning } from '../../lab/kernel-picks';
import { isCpuAdapter } from '../../lab/kernel-tuning';
import type { EnginePreference } from '../../lab/engine-choice';
import type { EngineKind } from '../../lab/names';
import { useLab } from '../../state/store';

export const ENGINE_LABELS: Record<EngineKind, string> = {
  gpu: 'GPU (WebGPU)',
  wasm: 'WebAssembly (CPU)',
  cpu: 'CPU (TypeScript reference)',
};

/** The engine select and threads: applying it replaces the worker's engine (a loaded run is reset). */
function EngineChoice() {
  const init = useLab((s) => s.init);
  const phase = useLab((s) => s.phase);
  const running = useLab((s) => s.run.state === 'running' || !!s.run.busy || s.selfTest.status === 'running');
  const switchEngine = useLab((s) => s.switchEngine);
  const [pref, setPref] = useState<EnginePreference>(init?.preference ?? 'auto');
  const [threads, setThreads] = useState<string>('');
  if (!init) return null;
  const threadsValue = threads.trim() === '' ? undefined : Number(threads);
  const badThreads = threadsValue !== undefined && !(Number.isInteger(threadsValue) && threadsValue >= 1 && threadsValue <= 64);
  return (
    <form
      className="engine-choice"
      data-testid="engine-choice"
      onSubmit={(ev) => {
        ev.preventDefault();
        if (!badThreads) void switchEngine({ preference: pref, threads: pref === 'wasm' || pref === 'auto' ? threadsValue : undefined });
      }}
    >
      <label>
        Engine{' '}
        <select value={pref} onChange={(ev) => setPref(ev.target.value as EnginePreference)} data-testid="engine-select">
          <option value="auto">Automatic (WebGPU, else WebAssembly)</option>
          <option value="gpu">GPU (WebGPU)</option>
          <option value="wasm">WebAssembly (CPU, SIMD)</option>
        </select>
      </label>{' '}
      <label>
        Threads{' '}
        <input
          type="number"
          min={1}
          max={64}
          placeholder="auto"
          value={threads}
          onChange={(ev) => setThreads(ev.target.value)}
          disabled={pref === 'gpu'}
          aria-invalid={badThreads}
          data-testid="engine-threads"
          style={{ width: '5em' }}
        />
      </label>{' '}
      <button type="submit" disabled={phase !== 'ready' || running || badThreads} data-testid="engine-apply">
        Use this engine
      </button>
      <p className="small">
        Switching resets a loaded run (a saved run can be resumed). WebAssembly uses several threads only when the page is cross-origin isolated (the lab&apos;s
        own server sends the headers; an embedded lab usually is not).
      </p>
    </form>
  );
}

const LIMIT_LABELS: [key: string, label: string, bytes: boolean][] = [
  ['maxStorageBufferBindingSize', 'Max storage buffer binding', true],
  ['maxBufferSize', 'Max buffer size', true],
  ['maxComputeWorkgroupStorageSize', 'Workgroup storage', true],
  ['maxComputeInvocationsPerWorkgroup', 'Invocations per workgroup', false],
  ['maxComputeWorkgroupSizeX', 'Workgroup size X', false],
  ['maxComputeWorkgroupsPerDimension', 'Workgroups per dimension', false],
  ['maxStorageBuffersPerShaderStage', 'Storage buffers per stage', false],
];

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(n % 2 ** 30 ? 2 : 0)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(n % 2 ** 20 ? 1 : 0)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(n % 2 ** 10 ? 1 : 0)} KiB`;
  return `${n} B`;
}

const yesNo = (b: boolean) => (b ? 'yes' : 'no');

export function AdapterPanel() {
  const phase = useLab((s) => s.phase);
  const init = useLab((s) => s.init);
  const lost = useLab((s) => s.lost);
  const busy = useLab((s) => s.selfTest.status === 'running');
  const simulateLoss = useLab((s) => s.simulateDeviceLoss);
  const a = init?.adapter;
  const tuning = useLab((s) => s.kernelTuning);

  return (
    <section className="panel" aria-labelledby="adapter-title" data-testid="adapter-panel">
      <h2 id="adapter-title">Engine</h2>
      {phase === 'connecting' && !init && <p aria-live="polite">Starting the engine worker and looking for WebGPU…</p>}
      {init && (
        <p>
          Engine: <strong data-testid="engine-kind">{ENGINE_LABELS[init.engine]}</strong>
          <span className="small"> (started in {init.initMs.toFixed(0)} ms)</span>
          {lost && <span className="tag tag-fail"> device lost</span>}
        </p>
      )}
      {init && (
        <p className="small mono" data-testid="engine-description">
          {init.description}
        </p>
      )}
      {init?.requestError && (
        <p className="note" data-testid="engine-request-error">
          The engine asked for could not start: {init.requestError}
        </p>
      )}
      {init?.wasm && (
        <p data-testid="engine-threads-info" data-threads={init.wasm.threads}>
          {init.wasm.threads} thread{init.wasm.threads === 1 ? '' : 's'}
          {init.wasm.threadNote ? ` — ${init.wasm.threadNote}` : ''}
        </p>
      )}
      {a && isCpuAdapter({ adapterInfo: a }) && (
        <p className="note" data-testid="cpu-adapter-hint">
          This WebGPU adapter is a CPU ({a.description || a.vendor}): the WebAssembly engine runs the same experiment several times faster here
          (docs/PERFORMANCE.md). Choose it below.
        </p>
      )}
      <EngineChoice />
      {a && (
        <>
          <p className="mono adapter-summary" data-testid="adapter-summary">
            {a.summary}
          </p>
          <dl className="kv">
            <dt>Vendor</dt>
            <dd data-testid="adapter-vendor">{a.vendor || '—'}</dd>
            <dt>Architecture</dt>
            <dd>{a.architecture || '—'}</dd>
            <dt>Device</dt>
            <dd>{a.device || '—'}</dd>
            <dt>Description</dt>
            <dd>{a.description || '—'}</dd>
          </dl>
          <h3>Features</h3>
          <dl className="kv">
            <dt>timestamp-query</dt>
            <dd>{yesNo(a.features.timestampQuery)}</dd>
            <dt>shader-f16</dt>
            <dd>{yesNo(a.features.shaderF16)}</dd>
            <dt>subgroups</dt>
            <dd>{yesNo(a.features.subgroups)}</dd>
          </dl>
          <h3>Key limits</h3>
          <dl className="kv" data-testid="adapter-limits">
            {LIMIT_LABELS.map(([key, label, bytes]) => {
              const v = a.limits[key];
              return (
                <div key={key} className="kv-row">
                  <dt title={key}>{label}</dt>
                  <dd>{v === undefined ? '—' : bytes ? `${formatBytes(v)} (${v.toLocaleString('en-US')})` : v.toLocaleString('en-US')}</dd>
                </div>
              );
            })}
          </dl>
          <h3>Kernel picks</h3>
          <p className="small" data-testid="kernel-picks" data-status={tuning?.status ?? ''}>
            {tuning
              ? describeKernelTuning(tuning)
              : 'Chosen when a model is loaded (the kernels setting: matmul and attention kernels tuned on this GPU, or built-in).'}
          </p>
          {tuning && tuning.picks.length > 0 && (
            <div className="table-scroll" data-scroll-container tabIndex={0} role="region" aria-label="Kernel picks per matmul and attention shape">
              <table className="small">
                <thead>
                  <tr>
                    <th scope="col">Shape class</th>
                    <th scope="col">Pick</th>
                    <th scope="col">Built-in</th>
                    <th scope="col" className="num">
                      ms (pick / built-in)
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {tuning.picks.map((p) => (
                    <tr key={p.key}>
                      <th scope="row" className="mono">
                        {p.key}
                      </th>
                      <td>{p.variant}</td>
                      <td>{p.builtIn}</td>
                      <td className="num">{[p.ms[p.variant], p.ms[p.builtIn]].map((t) => (typeof t === 'number' ? t.toFixed(3) : '—')).join(' / ')}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <p>
            <button type="button" onClick={() => void simulateLoss()} disabled={busy || !!lost} aria-describedby="simulate-loss-help">
              Simulate device loss
            </button>{' '}
            <span id="simulate-loss-help" className="small">
              Destroys the GPU device to check that the lab notices, recreates it and resumes a run from its last save.
            </span>
          </p>
        </>
      )}
    </section>
  );
}
