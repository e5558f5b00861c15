// The postMessage protocol between a host page and an embedded lab, version 1.
//
//   host → lab   { protocol: 'maskllm-lab', version: 1, type: 'command', id, command, ...fields }
//   lab  → host  { protocol, version, type: 'reply', id, ok: true, result } | { ..., ok: false, error }
//   lab  → host  { protocol, version, type: 'event', event, data }
//
// Every message is checked by the hand-written validators below (no eval, no new Function, no
// schema compiler) before anything acts on it; each rejection says what is wrong. postMessage uses
// structured clone, not JSON, so a message can hold values JSON cannot (cycles, NaN, Maps, Dates,
// typed arrays): the size walk below is bounded in depth and work and refuses unexpected types.
// This module has no runtime imports: it is bundled into the small client entry (dist/embed/client.js).
import type { ExperimentConfig } from '../lab/config';
import type { EvaluationEvent, ResultRow, SessionState } from '../lab/session';
import type { StepMetrics } from '../sparsity/learner';
import type { LabMetricsSnapshot, LabStateSnapshot, MaskFormat } from './types';

export const PROTOCOL = 'maskllm-lab';
export const PROTOCOL_VERSION = 1;

export const LIMITS = {
  /** a command, measured by the walk below (strings at 2 bytes a character) */
  messageBytes: 64 * 1024,
  /** keys in a setConfig config */
  configKeys: 64,
  keyLength: 64,
  stringLength: 1024,
  idLength: 128,
  /** nesting depth of any message (also what stops cycles) */
  depth: 32,
} as const;

export const COMMANDS = ['setConfig', 'run', 'pause', 'step', 'reset', 'getState', 'getMetrics', 'exportMask'] as const;
export type CommandName = (typeof COMMANDS)[number];
export const EVENTS = ['ready', 'progress', 'metrics', 'evaluation', 'done', 'error'] as const;
export type EventName = (typeof EVENTS)[number];
export const MASK_FORMATS: readonly MaskFormat[] = ['safetensors', 'packed', 'state'];
const SESSION_STATES: readonly SessionState[] = ['idle', 'loading', 'ready', 'running', 'paused', 'done', 'error'];
const PHASES = ['loading', 'compiling', 'baselines', 'learning', 'evaluating'] as const;

export type RequestId = string | number;
export type ConfigValue = string | number | boolean;

interface Envelope {
  protocol: typeof PROTOCOL;
  version: typeof PROTOCOL_VERSION;
}

export type CommandBody =
  | { command: 'setConfig'; config: Record<string, ConfigValue> }
  | { command: 'run' | 'pause' | 'step' | 'reset' | 'getState' | 'getMetrics' }
  | { command: 'exportMask'; format: MaskFormat };
export type CommandMessage = Envelope & { type: 'command'; id: RequestId } & CommandBody;

export interface CommandResults {
  setConfig: { config: ExperimentConfig; warnings: string[] };
  run: null;
  pause: null;
  step: null;
  reset: null;
  getState: LabStateSnapshot;
  getMetrics: LabMetricsSnapshot;
  /** the bytes travel as a transferred ArrayBuffer */
  exportMask: { format: MaskFormat; bytes: ArrayBuffer };
}

export type ReplyMessage = Envelope & { type: 'reply'; id: RequestId } & ({ ok: true; result: unknown } | { ok: false; error: string });

export interface EventData {
  ready: { protocolVersion: number; commands: CommandName[]; state: SessionState; engine: 'gpu' | 'cpu'; warnings: string[] };
  progress: { phase: (typeof PHASES)[number]; done: number; total: number; detail?: string; stepsPerSecond?: number };
  metrics: { rows: StepMetrics[] };
  evaluation: EvaluationEvent;
  done: { rows: ResultRow[] };
  error: { message: string; step?: number; site?: string };
}
export type EventMessage<E extends EventName = EventName> = { [K in E]: Envelope & { type: 'event'; event: K; data: EventData[K] } }[E];

export type Validation<T> = { ok: true; value: T } | { ok: false; reason: string };

// ---------------------------------------------------------------------------------------------
// Builders

export function makeCommand(id: RequestId, body: CommandBody): CommandMessage {
  return { protocol: PROTOCOL, version: PROTOCOL_VERSION, type: 'command', id, ...body };
}

export function makeReply(id: RequestId, outcome: { ok: true; result: unknown } | { ok: false; error: string }): ReplyMessage {
  return { protocol: PROTOCOL, version: PROTOCOL_VERSION, type: 'reply', id, ...outcome };
}

export function makeEvent<E extends EventName>(event: E, data: EventData[E]): EventMessage<E> {
  return { protocol: PROTOCOL, version: PROTOCOL_VERSION, type: 'event', event, data } as EventMessage<E>;
}

// ---------------------------------------------------------------------------------------------
// A tiny schema vocabulary: a Check returns null when the value is fine, else the reason.

type Check = (v: unknown, path: string) => string | null;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  // toString instead of a prototype test: structured clones arrive with the receiving realm's Object.
  typeof v === 'object' && v !== null && Object.prototype.toString.call(v) === '[object Object]';

const show = (v: unknown): string => {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? 'an array' : 'an object';
};

const str =
  (max: number = LIMITS.stringLength): Check =>
  (v, p) =>
    typeof v !== 'string' ? `${p} must be a string (got ${show(v)})` : v.length > max ? `${p} is longer than ${max} characters` : null;
const num: Check = (v, p) => (typeof v === 'number' ? null : `${p} must be a number (got ${show(v)})`);
const finite: Check = (v, p) => (typeof v === 'number' && Number.isFinite(v) ? null : `${p} must be a finite number (got ${show(v)})`);
const bool: Check = (v, p) => (typeof v === 'boolean' ? null : `${p} must be true or false (got ${show(v)})`);
const isNull: Check = (v, p) => (v === null ? null : `${p} must be null (got ${show(v)})`);
const oneOf =
  (list: readonly string[]): Check =>
  (v, p) =>
    typeof v === 'string' && list.includes(v) ? null : `${p} must be one of ${list.join(', ')} (got ${show(v)})`;
const either =
  (...checks: Check[]): Check =>
  (v, p) => {
    const reasons = checks.map((c) => c(v, p));
    return reasons.includes(null) ? null : reasons.join(', or ');
  };
const arrayOf =
  (item: Check, max = 1_000_000): Check =>
  (v, p) => {
    if (!Array.isArray(v)) return `${p} must be an array (got ${show(v)})`;
    if (v.length > max) return `${p} has more than ${max} entries`;
    for (let i = 0; i < v.length; i++) {
      const r = item(v[i], `${p}[${i}]`);
      if (r) return r;
    }
    return null;
  };
const arrayBuffer: Check = (v, p) => (v instanceof ArrayBuffer || Object.prototype.toString.call(v) === '[object ArrayBuffer]' ? null : `${p} must be an ArrayBuffer (got ${show(v)})`);

/**
 * An object with the given fields. `optional` fields may be absent (or undefined); with `open`,
 * other fields are allowed (nested snapshots that grow over time), else each is a rejection.
 */
function obj(shape: Record<string, Check>, opts: { optional?: string[]; open?: boolean } = {}): Check {
  return (v, p) => {
    if (!isRecord(v)) return `${p} must be an object (got ${show(v)})`;
    for (const [k, check] of Object.entries(shape)) {
      const has = Object.prototype.hasOwnProperty.call(v, k) && v[k] !== undefined;
      if (!has) {
        if (opts.optional?.includes(k)) continue;
        return `${p}.${k} is missing`;
      }
      const r = check(v[k], `${p}.${k}`);
      if (r) return r;
    }
    if (!opts.open) for (const k of Object.keys(v)) if (!(k in shape)) return `${p} has an unexpected field ${show(k)}`;
    return null;
  };
}

// ---------------------------------------------------------------------------------------------
// Size: a bounded walk (stops as soon as the budget or the depth is exceeded).

/** Null when `v` is cloneable data within `limit` bytes and LIMITS.depth; else the reason. */
export function checkSize(v: unknown, limit: number = LIMITS.messageBytes): string | null {
  let total = 0;
  const walk = (x: unknown, depth: number): string | null => {
    if (depth > LIMITS.depth) return `the message is nested more than ${LIMITS.depth} levels deep`;
    if (typeof x === 'string') total += 2 * x.length + 8;
    else if (x === null || x === undefined || typeof x === 'number' || typeof x === 'boolean') total += 8;
    else if (x instanceof ArrayBuffer) total += x.byteLength;
    else if (ArrayBuffer.isView(x)) total += x.byteLength;
    else if (Array.isArray(x)) {
      total += 8;
      for (let i = 0; i < x.length && total <= limit; i++) {
        const r = walk(x[i], depth + 1);
        if (r) return r;
      }
    } else if (isRecord(x)) {
      for (const k of Object.keys(x)) {
        total += 2 * k.length + 8;
        if (total > limit) break;
        const r = walk(x[k], depth + 1);
        if (r) return r;
      }
    } else return `the message holds an unsupported value (${Object.prototype.toString.call(x)})`;
    return total > limit ? `the message is larger than ${limit} bytes` : null;
  };
  return walk(v, 0);
}

// ---------------------------------------------------------------------------------------------
// Envelopes

const idCheck: Check = (v, p) => {
  if (typeof v === 'string') return v.length === 0 || v.length > LIMITS.idLength ? `${p} must be 1 to ${LIMITS.idLength} characters` : null;
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? null : `${p} must be a non-negative integer or a string (got ${v})`;
  return `${p} must be a string or a non-negative integer (got ${show(v)})`;
};

/** Is this message meant for this protocol at all (anything else on the channel is ignored)? */
export function isProtocolMessage(data: unknown): data is Record<string, unknown> & { protocol: typeof PROTOCOL } {
  return isRecord(data) && data.protocol === PROTOCOL;
}

/** The request id of a message, if it has a usable one (to address an error reply). */
export function requestIdOf(data: unknown): RequestId | null {
  return isRecord(data) && idCheck(data.id, 'id') === null ? (data.id as RequestId) : null;
}

function envelope(data: unknown, type: 'command' | 'reply' | 'event'): string | null {
  if (!isRecord(data)) return `a message must be an object (got ${show(data)})`;
  if (data.protocol !== PROTOCOL) return `protocol must be ${JSON.stringify(PROTOCOL)} (got ${show(data.protocol)})`;
  if (data.version !== PROTOCOL_VERSION) return `unsupported protocol version ${show(data.version)} (this side speaks ${PROTOCOL_VERSION})`;
  if (data.type !== type) return `type must be ${JSON.stringify(type)} (got ${show(data.type)})`;
  return null;
}

const base = { protocol: oneOf([PROTOCOL]), version: num, type: str() };

const configCheck: Check = (v, p) => {
  if (!isRecord(v)) return `${p} must be an object of field: value pairs (got ${show(v)})`;
  const keys = Object.keys(v);
  if (keys.length > LIMITS.configKeys) return `${p} has ${keys.length} keys (at most ${LIMITS.configKeys})`;
  for (const k of keys) {
    if (k.length > LIMITS.keyLength) return `${p} has a key longer than ${LIMITS.keyLength} characters`;
    const x = v[k];
    if (typeof x === 'string') {
      if (x.length > LIMITS.stringLength) return `${p}.${k} is longer than ${LIMITS.stringLength} characters`;
    } else if (typeof x !== 'number' && typeof x !== 'boolean') return `${p}.${k} must be a string, number or boolean (got ${show(x)})`;
  }
  return null;
};

const commandShapes: Record<CommandName, Check> = {
  setConfig: obj({ ...base, id: idCheck, command: str(), config: configCheck }),
  run: obj({ ...base, id: idCheck, command: str() }),
  pause: obj({ ...base, id: idCheck, command: str() }),
  step: obj({ ...base, id: idCheck, command: str() }),
  reset: obj({ ...base, id: idCheck, command: str() }),
  getState: obj({ ...base, id: idCheck, command: str() }),
  getMetrics: obj({ ...base, id: idCheck, command: str() }),
  exportMask: obj({ ...base, id: idCheck, command: str(), format: oneOf(MASK_FORMATS) }),
};

/** Validate a command arriving at the lab (size limit included). */
export function validateCommand(data: unknown): Validation<CommandMessage> {
  const size = checkSize(data);
  if (size) return { ok: false, reason: size };
  const e = envelope(data, 'command');
  if (e) return { ok: false, reason: e };
  const d = data as Record<string, unknown>;
  const id = idCheck(d.id, 'id');
  if (id) return { ok: false, reason: id };
  if (typeof d.command !== 'string' || !(COMMANDS as readonly string[]).includes(d.command)) {
    return { ok: false, reason: `command must be one of ${COMMANDS.join(', ')} (got ${show(d.command)})` };
  }
  const r = commandShapes[d.command as CommandName](d, 'message');
  return r ? { ok: false, reason: r } : { ok: true, value: d as unknown as CommandMessage };
}

/** Validate a reply arriving at the host page (no size limit: results may be large). */
export function validateReply(data: unknown): Validation<ReplyMessage> {
  const depth = checkSize(data, Number.POSITIVE_INFINITY);
  if (depth) return { ok: false, reason: depth };
  const e = envelope(data, 'reply');
  if (e) return { ok: false, reason: e };
  const d = data as Record<string, unknown>;
  const shape =
    d.ok === true ? obj({ ...base, id: idCheck, ok: bool, result: () => null }) : obj({ ...base, id: idCheck, ok: bool, error: str(4096) });
  const r = shape(d, 'reply');
  return r ? { ok: false, reason: r } : { ok: true, value: d as unknown as ReplyMessage };
}

// Results and event data: the fields a host relies on are checked; nested records stay open so that
// the lab can add fields without breaking old hosts.
const stepRow = obj({ step: num, loss: num, kappa: num, tau: num, lr: num, lambda: num, meanMaskL1: num, meanMaxProb: num, meanMaxProbClean: num, sites: arrayOf(obj({}, { open: true })) }, { open: true });
const resultRow = obj({ key: str(), label: str(), metrics: obj({}, { open: true }), bitsPerWeight: either(num, isNull) }, { open: true });
const evaluation = obj({ step: num, metrics: obj({}, { open: true }), flips: either(num, isNull) }, { open: true });

const resultShapes: Record<CommandName, Check> = {
  setConfig: obj({ config: obj({}, { open: true }), warnings: arrayOf(str(4096)) }),
  run: isNull,
  pause: isNull,
  step: isNull,
  reset: isNull,
  getState: obj(
    { state: oneOf(SESSION_STATES), step: num, totalSteps: num, config: obj({}, { open: true }), model: either(obj({}, { open: true }), isNull), engine: oneOf(['gpu', 'cpu']), message: str(4096) },
    { optional: ['message'], open: true },
  ),
  getMetrics: obj({ rows: arrayOf(stepRow), evaluations: arrayOf(evaluation), table: arrayOf(resultRow) }, { open: true }),
  exportMask: obj({ format: oneOf(MASK_FORMATS), bytes: arrayBuffer }),
};

/** Validate the result of a successful reply to `command`. */
export function validateResult<C extends CommandName>(command: C, result: unknown): Validation<CommandResults[C]> {
  const r = resultShapes[command](result, `result of ${command}`);
  return r ? { ok: false, reason: r } : { ok: true, value: result as CommandResults[C] };
}

const eventShapes: Record<EventName, Check> = {
  ready: obj({ protocolVersion: num, commands: arrayOf(str(), 64), state: oneOf(SESSION_STATES), engine: oneOf(['gpu', 'cpu']), warnings: arrayOf(str(4096), 256) }, { open: true }),
  progress: obj({ phase: oneOf(PHASES), done: finite, total: finite, detail: str(), stepsPerSecond: num }, { optional: ['detail', 'stepsPerSecond'] }),
  metrics: obj({ rows: arrayOf(stepRow) }),
  evaluation,
  done: obj({ rows: arrayOf(resultRow) }),
  error: obj({ message: str(4096), step: num, site: str() }, { optional: ['step', 'site'] }),
};

/** Validate an event arriving at the host page. */
export function validateEvent(data: unknown): Validation<EventMessage> {
  const depth = checkSize(data, Number.POSITIVE_INFINITY);
  if (depth) return { ok: false, reason: depth };
  const e = envelope(data, 'event');
  if (e) return { ok: false, reason: e };
  const d = data as Record<string, unknown>;
  if (typeof d.event !== 'string' || !(EVENTS as readonly string[]).includes(d.event)) {
    return { ok: false, reason: `event must be one of ${EVENTS.join(', ')} (got ${show(d.event)})` };
  }
  const r = obj({ ...base, event: str(), data: eventShapes[d.event as EventName] })(d, 'message');
  return r ? { ok: false, reason: r } : { ok: true, value: d as unknown as EventMessage };
}
