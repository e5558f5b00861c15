// The lab side of the postMessage protocol: listens for commands on `window`, checks who sent them,
// validates, rate-limits, runs them on a LabControl and replies to the sender; when the lab is in an
// iframe it also forwards session events to the parent page.
//
// Security model (see docs/EMBED.md): only origins on the allowlist are heard (the lab's own origin,
// those named in the URL `origins=`, at build time in VITE_EMBED_ORIGINS, or passed here); every
// reply goes to the sender's exact origin and every event to one named parent origin, never '*'.
// The commands only drive the experiment: none takes a URL or a path, so no message can make the lab
// fetch something chosen by the sender or read a file.
import type { SessionEvent } from '../lab/session';
import { decodeConfigFromSearch, parseOrigin, parseOriginList } from '../lab/url-config';
import {
  COMMANDS,
  isProtocolMessage,
  makeEvent,
  makeReply,
  PROTOCOL_VERSION,
  requestIdOf,
  validateCommand,
  type CommandMessage,
  type EventMessage,
  type RequestId,
} from './protocol';
import type { LabControl } from './types';

export interface EmbedStats {
  /** valid commands run */
  accepted: number;
  /** messages from origins not allowed, or not meant for this protocol */
  ignored: number;
  /** protocol messages from an allowed origin that failed validation */
  rejected: number;
  /** dropped by the per-origin rate limit */
  rateLimited: number;
}

export interface EmbedHostOptions {
  /** origins allowed besides the lab's own, the URL's `origins=` and VITE_EMBED_ORIGINS */
  allowedOrigins?: string[];
  window?: Window;
  /** commands per second per origin before dropping (default 50) */
  rateLimitPerSecond?: number;
  /** clock for the rate limit (tests) */
  now?: () => number;
}

export interface EmbedHost {
  dispose(): void;
  stats(): EmbedStats;
  /** the allowlist in use, explicit origins first and the lab's own origin last */
  allowedOrigins(): readonly string[];
  /** where events go (null when not embedded) */
  parentOrigin(): string | null;
}

export const DEFAULT_RATE_LIMIT = 50;
/** error texts going back to a host page are cut to this length */
const MAX_ERROR_LENGTH = 1000;

let latest: EmbedHost | null = null;

/**
 * Stats of the most recently installed host still active, or null. For tests and diagnostics that
 * reach the page's module instance (e.g. Playwright importing this module in the lab frame).
 */
export function embedHostStats(): EmbedStats | null {
  return latest?.stats() ?? null;
}

/** Origins named at build time: VITE_EMBED_ORIGINS="https://a.org,https://b.org" (bad ones warn). */
export function buildTimeOrigins(warnings: string[] = []): string[] {
  // import.meta.env exists under Vite and Vitest only; the headless Node entry has none.
  const raw = (import.meta as { env?: Record<string, unknown> }).env?.VITE_EMBED_ORIGINS;
  return typeof raw === 'string' ? parseOriginList(raw, warnings, 'VITE_EMBED_ORIGINS') : [];
}

function originOfUrl(url: string): string | null {
  try {
    return parseOrigin(new URL(url).origin);
  } catch {
    return null;
  }
}

/** A session event as a protocol event, or null for those the protocol does not carry. */
export function toProtocolEvent(e: SessionEvent): EventMessage | null {
  switch (e.type) {
    case 'progress': {
      const data: { phase: typeof e.phase; done: number; total: number; detail?: string; stepsPerSecond?: number; etaSeconds?: number } = {
        phase: e.phase,
        done: e.done,
        total: e.total,
      };
      if (e.detail !== undefined) data.detail = e.detail;
      if (e.stepsPerSecond !== undefined && Number.isFinite(e.stepsPerSecond)) data.stepsPerSecond = e.stepsPerSecond;
      if (e.etaSeconds !== undefined && Number.isFinite(e.etaSeconds)) data.etaSeconds = e.etaSeconds;
      return makeEvent('progress', data);
    }
    case 'metrics':
      return makeEvent('metrics', { rows: e.rows });
    case 'evaluation':
      return makeEvent('evaluation', e.evaluation);
    case 'done':
      return makeEvent('done', { rows: e.rows });
    case 'error': {
      const data: { message: string; step?: number; site?: string } = { message: e.message.slice(0, MAX_ERROR_LENGTH) };
      if (e.step !== undefined) data.step = e.step;
      if (e.site !== undefined) data.site = e.site;
      return makeEvent('error', data);
    }
    default:
      return null; // state, model and table changes: hosts ask with getState / getMetrics
  }
}

type Poster = { postMessage(message: unknown, targetOrigin: string, transfer?: Transferable[]): void };

export function installEmbedHost(control: LabControl, opts: EmbedHostOptions = {}): EmbedHost {
  const win = opts.window ?? window;
  const now = opts.now ?? (() => performance.now());
  const limit = opts.rateLimitPerSecond ?? DEFAULT_RATE_LIMIT;
  const url = decodeConfigFromSearch(win.location.search);
  const originWarnings: string[] = [];
  const explicit = [
    ...parseOriginList((opts.allowedOrigins ?? []).join(','), originWarnings, 'allowedOrigins'),
    ...url.allowedOrigins,
    ...buildTimeOrigins(originWarnings),
  ];
  // file:// and sandboxed documents have the opaque origin "null": it names nobody, never allow it.
  const own = win.location.origin !== 'null' ? parseOrigin(win.location.origin) : null;
  const allowed = [...new Set([...explicit, ...(own ? [own] : [])])];
  const allowedSet = new Set(allowed);

  const stats: EmbedStats = { accepted: 0, ignored: 0, rejected: 0, rateLimited: 0 };
  const windows = new Map<string, { start: number; count: number }>();

  const post = (target: Poster, origin: string, message: unknown, transfer: Transferable[] = []) => {
    try {
      target.postMessage(message, origin, transfer);
      return true;
    } catch {
      return false; // closed window, or a value that cannot be cloned
    }
  };

  const reply = (
    target: Poster,
    origin: string,
    id: RequestId,
    outcome: { ok: true; result: unknown } | { ok: false; error: string },
    transfer?: Transferable[],
  ) => {
    if (!post(target, origin, makeReply(id, outcome), transfer) && outcome.ok) {
      post(target, origin, makeReply(id, { ok: false, error: 'the result could not be sent (not cloneable)' }));
    }
  };

  const overLimit = (origin: string): boolean => {
    const t = now();
    let w = windows.get(origin);
    if (!w || t - w.start >= 1000) {
      w = { start: t, count: 0 };
      windows.set(origin, w);
    }
    w.count++;
    return w.count > limit;
  };

  const execute = async (cmd: CommandMessage): Promise<{ result: unknown; transfer?: Transferable[] }> => {
    switch (cmd.command) {
      case 'setConfig': {
        const r = await control.setConfig(cmd.config);
        return { result: { config: r.config, warnings: r.warnings } };
      }
      case 'run':
        await control.run();
        return { result: null };
      case 'pause':
        await control.pause();
        return { result: null };
      case 'step':
        await control.step();
        return { result: null };
      case 'reset':
        await control.reset();
        return { result: null };
      case 'getState':
        return { result: await control.getState() };
      case 'getMetrics':
        return { result: await control.getMetrics() };
      case 'exportMask': {
        const bytes = await control.exportMask(cmd.format);
        // A copy: transferring detaches the buffer, which must not be the control's own.
        const buf = new Uint8Array(bytes).buffer;
        return { result: { format: cmd.format, bytes: buf }, transfer: [buf] };
      }
    }
  };

  const onMessage = (ev: MessageEvent) => {
    if (!allowedSet.has(ev.origin)) {
      stats.ignored++;
      return;
    }
    const data: unknown = ev.data;
    // Other code on the page (dev tools, HMR, extensions) also posts messages: not ours, not an error.
    if (!isProtocolMessage(data) || data.type !== 'command') {
      stats.ignored++;
      return;
    }
    const source = ev.source as unknown as Poster | null;
    if (!source || typeof source.postMessage !== 'function') {
      stats.ignored++;
      return;
    }
    if (overLimit(ev.origin)) {
      stats.rateLimited++; // no reply: answering a flood would amplify it
      return;
    }
    const v = validateCommand(data);
    if (!v.ok) {
      stats.rejected++;
      const id = requestIdOf(data);
      if (id !== null) reply(source, ev.origin, id, { ok: false, error: `invalid command: ${v.reason}` });
      return;
    }
    stats.accepted++;
    const cmd = v.value;
    execute(cmd).then(
      ({ result, transfer }) => reply(source, ev.origin, cmd.id, { ok: true, result }, transfer),
      (e: unknown) => reply(source, ev.origin, cmd.id, { ok: false, error: (e instanceof Error ? e.message : String(e)).slice(0, MAX_ERROR_LENGTH) }),
    );
  };
  win.addEventListener('message', onMessage);

  // Events go to the parent only when embedded, addressed to one origin: the referrer's when it is
  // allowed (the page that actually embeds us), else the first allowed one. If that guess is wrong
  // the browser drops the message; it is never broadcast.
  let parentOrigin: string | null = null;
  let unsubscribe: (() => void) | null = null;
  let disposed = false;
  const parent = win.parent as unknown as Poster | null;
  if (parent && (parent as unknown) !== win && allowed.length > 0) {
    const ref = win.document?.referrer ? originOfUrl(win.document.referrer) : null;
    parentOrigin = ref && allowedSet.has(ref) ? ref : allowed[0];
    const target = parentOrigin;
    let ready = false;
    unsubscribe = control.subscribe((e) => {
      const m = ready && !disposed ? toProtocolEvent(e) : null;
      if (m) post(parent, target, m);
    });
    control.getState().then(
      (s) => {
        if (disposed) return;
        ready = true;
        post(
          parent,
          target,
          makeEvent('ready', {
            protocolVersion: PROTOCOL_VERSION,
            commands: [...COMMANDS],
            state: s.state,
            engine: s.engine,
            warnings: [...url.warnings, ...originWarnings],
          }),
        );
      },
      (e: unknown) => {
        if (!disposed)
          post(
            parent,
            target,
            makeEvent('error', { message: `the lab could not start: ${e instanceof Error ? e.message : String(e)}`.slice(0, MAX_ERROR_LENGTH) }),
          );
      },
    );
  }

  const host: EmbedHost = {
    dispose() {
      if (disposed) return;
      disposed = true;
      win.removeEventListener('message', onMessage);
      unsubscribe?.();
      if (latest === host) latest = null;
    },
    stats: () => ({ ...stats }),
    allowedOrigins: () => allowed,
    parentOrigin: () => parentOrigin,
  };
  latest = host;
  return host;
}
