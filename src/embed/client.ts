// The host-page side of the embed protocol: wraps postMessage in promises. Built as its own entry
// (dist/embed/client.js, see vite.config.ts) so that a lesson page can load it without the lab:
//
//   import { LabClient } from 'https://lab.example/embed/client.js';
//   const lab = await LabClient.attach(iframe, 'https://lab.example');
//   await lab.setConfig({ kappaStart: 1, kappaEnd: 1 });
//   lab.on('progress', (p) => console.log(p.done, '/', p.total));
//   await lab.run();
//
// It only listens to messages whose source is the iframe's window AND whose origin is the lab's.
// Only protocol.ts is imported (types and validators), never lab code.
import {
  isProtocolMessage,
  makeCommand,
  validateEvent,
  validateReply,
  validateResult,
  type CommandBody,
  type CommandName,
  type CommandResults,
  type ConfigValue,
  type EventData,
  type EventName,
} from './protocol';
import type { LabMetricsSnapshot, LabStateSnapshot, MaskFormat } from './types';

export type LabClientErrorCode = 'timeout' | 'lab-error' | 'protocol' | 'closed' | 'bad-argument';

export class LabClientError extends Error {
  constructor(
    readonly code: LabClientErrorCode,
    message: string,
    readonly command?: CommandName,
  ) {
    super(message);
    this.name = 'LabClientError';
  }
}

export interface LabClientOptions {
  /** how long attach() waits for the lab to say it is ready (default 60 s; the lab loads a model) */
  readyTimeoutMs?: number;
  /** per-command timeout (default 120 s: setConfig may load a model, exportMask may pack a large one) */
  commandTimeoutMs?: number;
  /** the window the iframe lives in (default: the global window) */
  window?: Window;
  /** how often attach() asks for the state while waiting (covers a 'ready' sent before attach) */
  pingIntervalMs?: number;
  /** called with the reason for each message from the lab that fails validation */
  onInvalidMessage?: (reason: string) => void;
}

type Listener<E extends EventName> = (data: EventData[E]) => void;

interface Pending {
  command: CommandName;
  resolve: (v: unknown) => void;
  reject: (e: LabClientError) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** "https://host[:port]" exactly (a trailing slash is tolerated), or null. */
function canonicalOrigin(s: string): string | null {
  const t = s.replace(/\/$/, '');
  try {
    const u = new URL(t);
    if ((u.protocol === 'http:' || u.protocol === 'https:') && u.origin === t.toLowerCase()) return u.origin;
  } catch {
    // not a URL
  }
  return null;
}

let clientCount = 0;

export class LabClient {
  /** what the lab said when it became ready (null if readiness was learned from a state reply) */
  ready: EventData['ready'] | null = null;
  private readonly pending = new Map<string, Pending>();
  private readonly listeners = new Map<EventName, Set<Listener<never>>>();
  private seq = 0;
  private closed = false;
  private readonly idPrefix = `c${++clientCount}-${Math.random().toString(36).slice(2, 8)}`;
  private readonly onMessage = (ev: MessageEvent) => this.receive(ev);
  private readonly timeoutMs: number;

  private constructor(
    private readonly iframe: HTMLIFrameElement,
    readonly labOrigin: string,
    private readonly win: Window,
    private readonly opts: LabClientOptions,
  ) {
    this.timeoutMs = opts.commandTimeoutMs ?? 120_000;
    win.addEventListener('message', this.onMessage);
  }

  /**
   * Connect to the lab in `iframe` (its src must be on `labOrigin` and allow this page's origin with
   * `origins=`); resolves once the lab is ready. The iframe may still be loading.
   */
  static attach(iframe: HTMLIFrameElement, labOrigin: string, opts: LabClientOptions = {}): Promise<LabClient> {
    const origin = canonicalOrigin(labOrigin);
    if (!origin)
      return Promise.reject(
        new LabClientError('bad-argument', `labOrigin must be an http(s) origin like https://lab.example (got ${JSON.stringify(labOrigin)})`),
      );
    const client = new LabClient(iframe, origin, opts.window ?? window, opts);
    return client.waitReady(opts.readyTimeoutMs ?? 60_000, opts.pingIntervalMs ?? 250).then(
      () => client,
      (e: unknown) => {
        client.close();
        throw e;
      },
    );
  }

  private waitReady(timeoutMs: number, pingMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (err?: LabClientError) => {
        if (done) return;
        done = true;
        clearInterval(ping);
        clearTimeout(timer);
        offReady();
        if (err) reject(err);
        else resolve();
      };
      const offReady = this.on('ready', () => finish());
      // A 'ready' sent before we listened is lost: asking for the state also proves the lab is there.
      const ask = () => {
        // Each ping expires by itself: one sent before the lab loaded is dropped by the browser.
        this.send({ command: 'getState' }, Math.max(1000, 4 * pingMs)).then(
          () => finish(),
          () => undefined, // not there yet (or not allowed): keep asking until the timeout
        );
      };
      const ping = setInterval(ask, pingMs);
      const timer = setTimeout(
        () =>
          finish(
            new LabClientError(
              'timeout',
              `the lab at ${this.labOrigin} did not become ready within ${timeoutMs} ms; does its URL allow this page's origin (origins=${this.win.location?.origin ?? '?'})?`,
            ),
          ),
        timeoutMs,
      );
      ask();
    });
  }

  setConfig(partial: Record<string, ConfigValue>): Promise<CommandResults['setConfig']> {
    return this.send({ command: 'setConfig', config: partial });
  }
  run(): Promise<null> {
    return this.send({ command: 'run' });
  }
  pause(): Promise<null> {
    return this.send({ command: 'pause' });
  }
  step(): Promise<null> {
    return this.send({ command: 'step' });
  }
  reset(): Promise<null> {
    return this.send({ command: 'reset' });
  }
  getState(): Promise<LabStateSnapshot> {
    return this.send({ command: 'getState' });
  }
  getMetrics(): Promise<LabMetricsSnapshot> {
    return this.send({ command: 'getMetrics' });
  }
  async exportMask(format: MaskFormat): Promise<Uint8Array> {
    const r = await this.send<'exportMask'>({ command: 'exportMask', format });
    return new Uint8Array(r.bytes);
  }

  /** Listen to a lab event; returns the unsubscribe function. */
  on<E extends EventName>(event: E, cb: Listener<E>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(cb as Listener<never>);
    return () => set.delete(cb as Listener<never>);
  }

  /** Stop listening; pending commands fail with code 'closed'. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.win.removeEventListener('message', this.onMessage);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new LabClientError('closed', `the client was closed before ${p.command} was answered`, p.command));
    }
    this.pending.clear();
    this.listeners.clear();
  }

  /** Send one command; it fails with code 'timeout' after timeoutMs without a reply. */
  private send<C extends CommandName>(body: CommandBody & { command: C }, timeoutMs = this.timeoutMs): Promise<CommandResults[C]> {
    if (this.closed) return Promise.reject(new LabClientError('closed', `the client is closed (${body.command})`, body.command));
    const target = this.iframe.contentWindow;
    if (!target) return Promise.reject(new LabClientError('closed', `the iframe has no window (is it in the document?)`, body.command));
    const id = `${this.idPrefix}-${++this.seq}`;
    return new Promise<CommandResults[C]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new LabClientError('timeout', `${body.command} got no reply within ${timeoutMs} ms`, body.command));
      }, timeoutMs);
      this.pending.set(id, { command: body.command, resolve: resolve as (v: unknown) => void, reject, timer });
      // targetOrigin = the lab's origin: if the iframe navigated elsewhere, the browser drops it.
      target.postMessage(makeCommand(id, body), this.labOrigin);
    });
  }

  private receive(ev: MessageEvent): void {
    // Both checks: the origin alone would accept any other frame of the lab's origin on this page.
    if (this.closed || ev.source !== this.iframe.contentWindow || ev.origin !== this.labOrigin) return;
    const data: unknown = ev.data;
    if (!isProtocolMessage(data)) return;
    if (data.type === 'reply') {
      const v = validateReply(data);
      if (!v.ok) return this.opts.onInvalidMessage?.(v.reason);
      const id = String(v.value.id);
      const p = this.pending.get(id);
      if (!p) return; // timed out already, or not ours
      this.pending.delete(id);
      clearTimeout(p.timer);
      if (!v.value.ok) return p.reject(new LabClientError('lab-error', v.value.error, p.command));
      const r = validateResult(p.command, v.value.result);
      if (!r.ok) return p.reject(new LabClientError('protocol', `the lab's reply to ${p.command} is malformed: ${r.reason}`, p.command));
      p.resolve(r.value);
    } else if (data.type === 'event') {
      const v = validateEvent(data);
      if (!v.ok) return this.opts.onInvalidMessage?.(v.reason);
      const e = v.value;
      if (e.event === 'ready') this.ready = e.data;
      for (const cb of [...(this.listeners.get(e.event) ?? [])]) {
        try {
          (cb as Listener<typeof e.event>)(e.data as never);
        } catch (err) {
          // A failing listener must not stop the others; report it asynchronously.
          setTimeout(() => {
            throw err;
          }, 0);
        }
      }
    }
  }
}
