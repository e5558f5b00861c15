// Recovery helpers for LabRunner and LabSession: tell a device loss apart from other failures, and
// find which weight holds a NaN. (Resuming a saved state is LabSession.restore.)
import type { Engine } from '../backend/engine';
import { GpuError } from '../gpu/errors';
import type { LabModel } from '../models/model';

/** Config fields that must match between a saved state and the run it resumes. */
export const RESUME_KEYS = ['model', 'n', 'm', 'seed', 'samplesPerStep', 'steps', 'batch'] as const;

/** True for the GPU engine's device-lost error (and messages that carry it through postMessage). */
export function isDeviceLost(e: unknown): boolean {
  if (e instanceof GpuError) return e.kind === 'device-lost';
  const msg = e instanceof Error ? e.message : typeof e === 'string' ? e : '';
  return /GPU device (was )?lost/i.test(msg);
}

/** Resolves with the engine's GpuError when it reports a device loss after this call. */
export function lossOf(engine: { onLost(f: (e: GpuError) => void): void }): Promise<GpuError> {
  return new Promise((resolve) => engine.onLost(resolve));
}

/**
 * The device-lost GpuError if the engine's device is lost or becomes lost within `waitMs`, else null.
 *
 * Trap (seen in Chromium): after device.destroy() a pending mapAsync can reject ("Buffer was unmapped
 * before mapping was resolved") *before* device.lost resolves, so a run loop that catches that
 * rejection and reports it at once shows a meaningless message about 1 time in 5. Wait for the lost
 * promise briefly before deciding what went wrong.
 */
export async function deviceLossOf(engine: { info: { lost: Promise<GPUDeviceLostInfo> } }, waitMs = 250): Promise<GpuError | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((r) => (timer = setTimeout(() => r(null), waitMs)));
  const info = await Promise.race([engine.info.lost, timeout]);
  clearTimeout(timer);
  return info ? new GpuError('device-lost', `GPU device lost (${info.reason}): ${info.message || 'no message'}.`) : null;
}

/** What to report for a failure on this engine: its device loss if there was one, else the error itself. */
export async function explainFailure(engine: Engine, error: unknown, waitMs = 250): Promise<unknown> {
  if (engine.kind !== 'gpu') return error;
  return (await deviceLossOf(engine, waitMs)) ?? error;
}

/**
 * Names of the weights (and their first bad index) that hold a NaN or ±Inf. Reads every weight back:
 * call it once, after a NaN pause, to name the layer the NaN came from rather than the first mask
 * site it reached.
 */
export async function findNonFiniteWeights(model: LabModel): Promise<{ name: string; index: number; value: number }[]> {
  const e: Engine = model.engine;
  const out: { name: string; index: number; value: number }[] = [];
  for (const [name, t] of model.weights) {
    const a = await e.read(t.raw);
    for (let i = 0; i < a.length; i++) {
      if (!Number.isFinite(a[i])) {
        out.push({ name, index: i, value: a[i] });
        break;
      }
    }
  }
  return out;
}
