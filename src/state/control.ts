// The page's window.lab and postMessage embed host drive the worker's LabRunner (the one LabControl
// implementation) through this adapter: commands go through the store's actions, exactly as the
// buttons do, so the page shows what automation did; reads go to the runner.
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
    const snap = await viaWorker(c, c.api.runner.getState());
    // Before a model is loaded the session has no configuration of its own: report the one the next
    // run will use (the draft, e.g. from the URL).
    if (snap.state !== 'idle') return snap;
    const draft = useLab.getState().draft;
    return { ...snap, config: draft, totalSteps: draft.steps };
  },
  async getMetrics() {
    const c = await worker();
    return viaWorker(c, c.api.runner.getMetrics());
  },
  async exportMask(format) {
    await ready();
    return useLab.getState().exportMask(format);
  },
  subscribe(listener) {
    return subscribeEvents(listener);
  },
};
