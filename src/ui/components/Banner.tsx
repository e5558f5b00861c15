// Banners for everything the user must know about the engine: no WebGPU (which of the three
// cases, and what to try), a lost device (and its automatic recovery), a dead worker, uncaught page errors.
import type { ReactNode } from 'react';
import type { EngineProblem } from '../../lab/worker-api';
import { useLab } from '../../state/store';

const TITLES: Record<EngineProblem['kind'], string> = {
  'no-navigator-gpu': 'No WebGPU: navigator.gpu is missing in this browser.',
  'no-adapter': 'No WebGPU adapter: requestAdapter() returned null.',
  'device-failed': 'WebGPU device creation failed: the adapter refused requestDevice().',
  'limit-too-low': 'The WebGPU adapter is too small: a limit the lab needs is too low.',
  'device-lost': 'The GPU device was lost.',
  'out-of-memory': 'The GPU ran out of memory.',
  validation: 'A WebGPU validation error occurred.',
  unknown: 'WebGPU could not be started.',
};

function Box({ tone, testId, children }: { tone: 'warn' | 'error'; testId: string; children: ReactNode }) {
  return (
    <div className={`banner banner-${tone}`} role="alert" data-testid={testId}>
      {children}
    </div>
  );
}

export function Banners() {
  const init = useLab((s) => s.init);
  const lost = useLab((s) => s.lost);
  const recovery = useLab((s) => s.recovery);
  const dismissRecovery = useLab((s) => s.dismissRecovery);
  const fatal = useLab((s) => s.fatal);
  const pageErrors = useLab((s) => s.pageErrors);
  const busy = useLab((s) => s.selfTest.status === 'running' || s.phase === 'connecting');
  const recreate = useLab((s) => s.recreateEngine);
  const dismiss = useLab((s) => s.dismissErrors);
  const p = init?.gpuProblem;

  return (
    <>
      {fatal && (
        <Box tone="error" testId="banner-fatal">
          <strong>The lab engine could not start.</strong>
          <p className="mono">{fatal}</p>
          <button type="button" onClick={() => location.reload()}>
            Reload the page
          </button>
        </Box>
      )}
      {p && (
        <Box tone="warn" testId="banner-no-webgpu">
          <strong data-kind={p.kind}>{TITLES[p.kind]}</strong>
          <p className="mono">{p.detail}</p>
          <p>
            <em>What to try:</em> {p.hint}
          </p>
          <p>
            {init?.engine === 'wasm' ? (
              <>
                Running on the <strong>WebAssembly engine</strong> instead (the CPU, with SIMD): experiments run the same way, and the self-test checks it
                against its CPU twins.
              </>
            ) : (
              <>
                Running on the <strong>CPU engine only</strong> (slow): experiments run the same way on the CPU, and the self-test below checks it instead of
                the GPU.
              </>
            )}
          </p>
          <p className="small">Detected in the engine&apos;s Web Worker, where navigator.gpu is {init?.workerHasNavigatorGpu ? 'present' : 'missing'}.</p>
        </Box>
      )}
      {lost && (
        <Box tone="error" testId="banner-device-lost">
          <strong>{TITLES['device-lost']}</strong>
          <p className="mono">{lost.detail}</p>
          {recovery?.status === 'recovering' ? (
            <p data-testid="recovery-progress">Recreating the GPU device{recovery.lostAtStep !== null ? ' and resuming the run from its last save' : ''}…</p>
          ) : (
            <>
              <p>{recovery?.note ?? lost.hint}</p>
              <button type="button" onClick={() => void recreate()} disabled={busy}>
                Recreate the GPU device
              </button>
            </>
          )}
        </Box>
      )}
      {!lost && recovery?.status === 'recovered' && (
        <Box tone="warn" testId="banner-device-recovered">
          <strong>The GPU device was lost; the lab recreated it.</strong>
          <p className="mono">{recovery.detail}</p>
          {recovery.resumedFromStep !== null && (
            <p>
              The run was at step {recovery.lostAtStep} and resumed from its last save at step {recovery.resumedFromStep}
              {recovery.lostAtStep !== null && recovery.lostAtStep > recovery.resumedFromStep
                ? ` (the ${recovery.lostAtStep - recovery.resumedFromStep} steps after the save are learned again)`
                : ''}
              {recovery.relaunched ? '; it is learning again.' : '.'}
            </p>
          )}
          {recovery.note && <p>{recovery.note}</p>}
          <button type="button" onClick={dismissRecovery}>
            Dismiss
          </button>
        </Box>
      )}
      {pageErrors.length > 0 && (
        <Box tone="error" testId="banner-page-error">
          <strong>An error occurred on the page.</strong>
          <ul className="mono">
            {pageErrors.map((m, i) => (
              <li key={i}>{m}</li>
            ))}
          </ul>
          <button type="button" onClick={dismiss}>
            Dismiss
          </button>
        </Box>
      )}
    </>
  );
}
