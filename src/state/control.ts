// LabControl (src/embed/types.ts) over the page's store and engine worker: what window.lab (the
// automation hooks) and the postMessage embed host drive. Same behaviour as the buttons.
import type { LabControl } from '../embed/types';
import { viaWorker } from '../lab/worker-api';
import { connection } from './connection';
import { subscribeEvents } from './live';
import { needsLoad } from './session-slice';
import { useLab } from './store';

/** Waits (up to a minute) for the page to connect its engine worker: automation may call early. */
async function ready(): Promise<void> {
  if (useLab.getState().phase === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      unsub();
      reject(new Error('The lab engine did not start within 60 s.'));
    }, 60_000);
    const unsub = useLab.subscribe((s) => {
      if (s.phase === 'ready' || s.phase === 'failed') {
        clearTimeout(timer);
        unsub();
        if (s.phase === 'ready') resolve();
        else reject(new Error(`The lab engine could not start: ${s.fatal ?? 'unknown error'}`));
      }
    });
  });
}

async function worker() {
  await ready();
  const c = connection();
  if (!c) throw new Error('The engine worker is not connected yet.');
  return c;
}

export const pageControl: LabControl = {
  async setConfig(partial) {
    await ready();
    const s = useLab.getState();
    if (s.run.state === 'running') throw new Error('Pause the run before changing the configuration.');
    const r = s.mergeDraft(partial);
    const now = useLab.getState();
    // the model (or anything else) changed: load so the next run uses exactly this configuration
    if (needsLoad(now.loaded, r.config)) await now.loadModel();
    return r;
  },
  async run() {
    await ready();
    await useLab.getState().startRun();
  },
  async pause() {
    await ready();
    await useLab.getState().pauseRun();
  },
  async step() {
    await ready();
    await useLab.getState().stepRun();
  },
  async reset() {
    await ready();
    await useLab.getState().resetRun();
  },
  async getState() {
    const c = await worker();
    const snap = await viaWorker(c, c.api.snapshot());
    // Before a model is loaded the session has no configuration of its own: report the one the next
    // run will use (the draft, e.g. from the URL).
    return snap.state === 'idle' ? { ...snap, config: useLab.getState().draft } : snap;
  },
  async getMetrics() {
    const c = await worker();
    return viaWorker(c, c.api.metrics());
  },
  async exportMask(format) {
    await ready();
    return useLab.getState().exportMask(format);
  },
  subscribe(listener) {
    return subscribeEvents(listener);
  },
};
