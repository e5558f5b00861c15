// Recovery helpers around a LabSession: resume from a saved learning state (after a GPU device loss
// or a reload), tell a device loss apart from other failures, and find which weight holds a NaN.
import type { Engine } from '../backend/engine';
import { GpuError } from '../gpu/errors';
import type { LabModel } from '../models/model';
import { nextSamplePosition } from '../sparsity/gumbel';
import { decodeState } from '../sparsity/maskfile';
import type { ExperimentConfig } from './config';
import { SessionError, type LabSession } from './session';

/** Config fields that must match between a saved state and the run it resumes. */
export const RESUME_KEYS = ['model', 'n', 'm', 'seed', 'samplesPerStep', 'steps', 'batch'] as const;

/**
 * Resume `session` (loaded with the same configuration, at step 0) from bytes of
 * exportMask('state'). Uses LabSession.restore when the session has it; otherwise does the same here:
 * decode (CRC and version are checked by decodeState), compare the config, advance each site's
 * Gumbel stream by the draws already made, and load logits and Adam moments.
 */
export function restoreSession(session: LabSession, bytes: Uint8Array): void {
  const own = (session as unknown as { restore?: (b: Uint8Array) => void }).restore;
  if (typeof own === 'function') {
    own.call(session, bytes);
    return;
  }
  const L = session.learner;
  const c = session.config;
  if (!L || !c) throw new SessionError('restore needs a loaded MaskLLM run: load the same configuration first');
  if (L.step !== 0) throw new SessionError(`restore needs a fresh run (this one is at step ${L.step}): reset first`);
  const s = decodeState(bytes);
  const saved = (s.config ?? {}) as Partial<ExperimentConfig>;
  for (const k of RESUME_KEYS) {
    if (saved[k] !== c[k]) throw new SessionError(`the saved state was learned with ${k} = ${JSON.stringify(saved[k])}, this run has ${JSON.stringify(c[k])}`);
  }
  if (s.step > c.steps) throw new SessionError(`the saved state is at step ${s.step}, past the run's ${c.steps} steps`);
  const draws = s.step * c.samplesPerStep;
  const sites = s.sites.map((x) => {
    const st = L.sites.find((y) => y.site.name === x.name);
    if (!st) throw new SessionError(`the saved state has logits for ${x.name}, which this model does not mask`);
    let rng = st.rng;
    // every sample advances a site's stream by the same amount, so the position follows from the step
    for (let k = 0; k < draws; k++) rng = nextSamplePosition(rng, st.g, L.pattern);
    return { ...x, rng };
  });
  L.restore(s.step, sites);
}

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
