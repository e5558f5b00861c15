// In-page automation hooks: `window.lab`, the LabControl API in a form that Playwright's
// `page.evaluate` (and the headless CLI / regression runs built on it) can drive without callbacks.
//
//   await page.evaluate(() => window.lab.setConfig({ method: 'wanda', steps: 20 }))
//   await page.evaluate(() => window.lab.run())
//   let i = 0;                                        // poll instead of subscribing:
//   const { events, next } = await page.evaluate((i) => window.lab.events(i), i); i = next;
//   await page.evaluate(() => window.lab.waitFor({ state: 'done', timeoutMs: 600_000 }))
//   await page.evaluate((url) => window.lab.exportMaskTo('safetensors', url), uploadUrl)
//
// Differences from LabControl, all because only small JSON-like values should cross `page.evaluate`
// (its DevTools pipe holds 100 MiB; a GPT-2 mask file is ~81 MiB, ~108 MiB in base64):
// - exportMaskTo(format, url) PUTs the file to a URL (the driver's upload slot, same origin:
//   tools/lib/file-routes.ts) instead of returning its bytes;
// - subscribe is replaced by events(sinceIndex), a buffer of every SessionEvent since install
//   (the oldest are dropped beyond MAX_EVENTS; indices stay absolute so a poller never re-reads);
// - waitFor({ state?, step?, timeoutMs }) resolves with the state snapshot once the session is in
//   `state` and/or at step ≥ `step`, and rejects with a specific message on an error, on a run that
//   paused itself (NaN) while something else was awaited, or on the timeout.
// The page (src/main.tsx, the worker's LabRunner through the store) and the headless entry
// (src/headless/main.ts, a LabRunner on its main thread) both call installAutomation; the headless
// entry adds HeadlessExtras (charts, custom models and prior files fetched from URLs).
import type { SessionEvent, SessionState } from '../lab/session';
import type { LabControl, LabMetricsSnapshot, LabStateSnapshot, MaskFormat } from './types';
import { uploadBytes, type RemoteFile } from './remote-files';

export type { RemoteFile } from './remote-files';

export const AUTOMATION_VERSION = 1;
/** Events kept for events(); a 300-step run emits about 4 per step. */
export const MAX_EVENTS = 20_000;

export interface WaitForOptions {
  state?: SessionState;
  step?: number;
  timeoutMs: number;
}

export interface LabAutomation {
  version: number;
  setConfig(partial: Record<string, unknown>): ReturnType<LabControl['setConfig']>;
  run(): Promise<void>;
  pause(): Promise<void>;
  step(): Promise<void>;
  reset(): Promise<void>;
  getState(): Promise<LabStateSnapshot>;
  getMetrics(): Promise<LabMetricsSnapshot>;
  /** Exports the mask file and PUTs it to `url` (an upload slot of the driver); resolves with its size. */
  exportMaskTo(format: MaskFormat, url: string): Promise<{ bytes: number }>;
  waitFor(opts: WaitForOptions): Promise<LabStateSnapshot>;
  /** Events with absolute index ≥ since; `next` is the index to pass next time. */
  events(since?: number): { events: SessionEvent[]; next: number; dropped: number };
}

/** A model given as files served over HTTP: its weight files and its config.json. */
export interface RemoteModel {
  /**
   * The weights: one .safetensors file, or model.safetensors.index.json and every shard it names
   * (nothing else; the index is fetched first and checked against the shards listed).
   */
  files: RemoteFile[];
  /** config.json as an object or its text. */
  config: unknown;
}

/** What headless.html adds to window.lab (only small JSON-like values cross page.evaluate; files go by URL). */
export interface HeadlessExtras {
  /** One line naming the adapter (or the CPU engine). */
  adapter(): string;
  /** Every chart as a PNG data URL, by chart id. */
  chartsPng(): Promise<Record<string, string>>;
  /**
   * A model from files the driver serves (same origin); each file's size is checked against
   * USER_FILE_LIMITS before it is fetched. Applied by the next setConfig; resolves with the bytes read.
   */
  loadModelUrls(model: RemoteModel): Promise<{ bytes: number }>;
  /** A mask file (mask.safetensors or mask.packed) the driver serves, for prior "file"; applied by the next setConfig. */
  loadPriorUrl(file: RemoteFile): Promise<{ bytes: number }>;
}

declare global {
  interface Window {
    /** The automation hooks; the headless extras exist on headless.html only. */
    lab?: LabAutomation & Partial<HeadlessExtras>;
  }
}

/** Builds the automation object (exported separately so it can be tested without a window). */
export function createAutomation(control: LabControl): LabAutomation {
  const buffer: SessionEvent[] = [];
  let dropped = 0; // absolute index of buffer[0]
  const waiters = new Set<(e: SessionEvent) => void>();
  control.subscribe((e) => {
    buffer.push(e);
    if (buffer.length > MAX_EVENTS) {
      const cut = buffer.length - MAX_EVENTS;
      buffer.splice(0, cut);
      dropped += cut;
    }
    for (const w of [...waiters]) w(e);
  });

  const reached = (s: LabStateSnapshot, o: WaitForOptions) => (o.state === undefined || s.state === o.state) && (o.step === undefined || s.step >= o.step);

  const waitFor = async (o: WaitForOptions): Promise<LabStateSnapshot> => {
    if (o.state === undefined && o.step === undefined) throw new Error('waitFor needs a state or a step to wait for');
    if (!(typeof o.timeoutMs === 'number' && o.timeoutMs > 0)) throw new Error(`waitFor needs a positive timeoutMs (got ${String(o.timeoutMs)})`);
    const now = await control.getState();
    if (reached(now, o)) return now;
    return new Promise<LabStateSnapshot>((resolve, reject) => {
      let busy = false;
      let again = false;
      const finish = (f: () => void) => {
        clearTimeout(timer);
        waiters.delete(onEvent);
        f();
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`waitFor timed out after ${o.timeoutMs} ms waiting for ${describe(o)}`))), o.timeoutMs);
      const check = async () => {
        if (busy) {
          again = true;
          return;
        }
        busy = true;
        try {
          do {
            again = false;
            const s = await control.getState();
            if (reached(s, o)) return finish(() => resolve(s));
            if (s.state === 'error' && o.state !== 'error')
              return finish(() => reject(new Error(`the lab failed while waiting for ${describe(o)}: ${s.message ?? 'no message'}`)));
            // The session pauses itself on NaN/Inf (with a message): nothing more will come.
            if (s.state === 'paused' && s.message && o.state !== 'paused')
              return finish(() => reject(new Error(`the run paused while waiting for ${describe(o)}: ${s.message}`)));
            if (s.state === 'done' && o.state !== 'done') return finish(() => reject(new Error(`the run finished at step ${s.step} before ${describe(o)}`)));
          } while (again);
        } catch (e) {
          finish(() => reject(e));
        } finally {
          busy = false;
        }
      };
      const onEvent = (e: SessionEvent) => {
        if (e.type === 'state' || e.type === 'progress' || e.type === 'error' || e.type === 'done') void check();
      };
      waiters.add(onEvent);
      void check();
    });
  };

  return {
    version: AUTOMATION_VERSION,
    setConfig: (partial) => control.setConfig(partial),
    run: () => control.run(),
    pause: () => control.pause(),
    step: () => control.step(),
    reset: () => control.reset(),
    getState: () => control.getState(),
    getMetrics: () => control.getMetrics(),
    async exportMaskTo(format, url) {
      const bytes = await control.exportMask(format);
      await uploadBytes(url, bytes, `the ${format} mask file`);
      return { bytes: bytes.length };
    },
    waitFor,
    events(since = 0) {
      const from = Math.max(0, Math.floor(since) - dropped);
      return { events: buffer.slice(from), next: dropped + buffer.length, dropped };
    },
  };
}

function describe(o: WaitForOptions): string {
  return [o.state !== undefined ? `state "${o.state}"` : '', o.step !== undefined ? `step ≥ ${o.step}` : ''].filter(Boolean).join(' and ');
}

/** Sets `window.lab` (see the comment at the top); headless.html passes its HeadlessExtras. */
export function installAutomation(control: LabControl, extras: Partial<HeadlessExtras> = {}): void {
  const lab = Object.assign(createAutomation(control), extras);
  (window as Window).lab = lab;
}
