// The postMessage protocol between a host page and an embedded lab, version 1.
//
//   host → lab   { protocol: 'maskllm-lab', version: 1, type: 'command', id, command, ...fields }
//   lab  → host  { protocol, version, type: 'reply', id, ok: true, result } | { ..., ok: false, error }
//   lab  → host  { protocol, version, type: 'event', event, data }
//
// Every message is checked by the hand-written validators below (no eval, no new Function, no
// schema compiler) before anything acts on it; each rejection says what is wrong. The validators are
// the one description of the protocol: each Check carries the type of what it accepts, and the
// message types (CommandMessage, CommandResults, EventData, ...) are derived from them (Infer).
// postMessage uses structured clone, not JSON, so a message can hold values JSON cannot (cycles, NaN,
// Maps, Dates, typed arrays): the size walk below is bounded in depth and work and refuses
// unexpected types.
// This module has no runtime imports: it is bundled into the small client entry (dist/embed/client.js).
import type { ExperimentConfig } from '../lab/config';
import type { EvaluationEvent, ResultRow } from '../lab/session';
import { ENGINE_KINDS, MASK_FORMATS, PROGRESS_PHASES, SESSION_STATES } from '../lab/names';
import type { StepMetrics } from '../sparsity/learner';
import type { LabMetricsSnapshot, LabStateSnapshot } from './types';

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

// The lab's tables come from names.ts, which has no runtime imports (the client bundle stays free of the engine).
export { MASK_FORMATS };

export type RequestId = string | number;
export type ConfigValue = string | number | boolean;

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
// A tiny schema vocabulary: a Check returns null when the value is fine, else the reason. Its type
// parameter is the type a value has once the check passed (a phantom: nothing holds it at runtime).

type CheckFn = (v: unknown, path: string) => string | null;
export type Check<T> = CheckFn & { readonly __accepts?: T };
/** The type of what a check accepts. */
export type Infer<C> = C extends Check<infer T> ? T : never;
const check = <T>(f: CheckFn): Check<T> => f as Check<T>;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  // toString instead of a prototype test: structured clones arrive with the receiving realm's Object.
  typeof v === 'object' && v !== null && Object.prototype.toString.call(v) === '[object Object]';

const show = (v: unknown): string => {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? 'an array' : 'an object';
};

const str = (max: number = LIMITS.stringLength) =>
  check<string>((v, p) => (typeof v !== 'string' ? `${p} must be a string (got ${show(v)})` : v.length > max ? `${p} is longer than ${max} characters` : null));
const num = check<number>((v, p) => (typeof v === 'number' ? null : `${p} must be a number (got ${show(v)})`));
const finite = check<number>((v, p) => (typeof v === 'number' && Number.isFinite(v) ? null : `${p} must be a finite number (got ${show(v)})`));
const isNull = check<null>((v, p) => (v === null ? null : `${p} must be null (got ${show(v)})`));
/** Anything at all (a reply's result is checked per command, by validateResult). */
const anything = check<unknown>(() => null);
const oneOf = <const L extends readonly string[]>(list: L) =>
  check<L[number]>((v, p) => (typeof v === 'string' && list.includes(v) ? null : `${p} must be one of ${list.join(', ')} (got ${show(v)})`));
/** Exactly this value; `reason` words the rejection (default: one of the one value). */
const exactly = <const V extends string | number | boolean>(value: V, reason = `must be one of ${String(value)}`) =>
  check<V>((v, p) => (v === value ? null : `${p} ${reason} (got ${show(v)})`));
const either = <const Cs extends readonly Check<unknown>[]>(...checks: Cs) =>
  check<Infer<Cs[number]>>((v, p) => {
    const reasons = checks.map((c) => c(v, p));
    return reasons.includes(null) ? null : reasons.join(', or ');
  });
const arrayOf = <T>(item: Check<T>, max = 1_000_000) =>
  check<T[]>((v, p) => {
    if (!Array.isArray(v)) return `${p} must be an array (got ${show(v)})`;
    if (v.length > max) return `${p} has more than ${max} entries`;
    for (let i = 0; i < v.length; i++) {
      const r = item(v[i], `${p}[${i}]`);
      if (r) return r;
    }
    return null;
  });
const arrayBuffer = check<ArrayBuffer>((v, p) =>
  v instanceof ArrayBuffer || Object.prototype.toString.call(v) === '[object ArrayBuffer]' ? null : `${p} must be an ArrayBuffer (got ${show(v)})`,
);

type Shape = Record<string, Check<unknown>>;
type Flatten<T> = { [K in keyof T]: T[K] };
type ObjectOf<S extends Shape, O extends keyof S> = Flatten<{ [K in Exclude<keyof S, O>]: Infer<S[K]> } & { [K in O]?: Infer<S[K]> }>;

/**
 * An object with the given fields. `optional` fields may be absent (or undefined); with `open`,
 * other fields are allowed (nested snapshots that grow over time), else each is a rejection.
 */
function obj<S extends Shape, O extends keyof S & string = never>(shape: S, opts: { optional?: readonly O[]; open?: boolean } = {}): Check<ObjectOf<S, O>> {
  return check((v, p) => {
    if (!isRecord(v)) return `${p} must be an object (got ${show(v)})`;
    for (const [k, c] of Object.entries(shape)) {
      const has = Object.prototype.hasOwnProperty.call(v, k) && v[k] !== undefined;
      if (!has) {
        if ((opts.optional as readonly string[] | undefined)?.includes(k)) continue;
        return `${p}.${k} is missing`;
      }
      const r = c(v[k], `${p}.${k}`);
      if (r) return r;
    }
    if (!opts.open) for (const k of Object.keys(v)) if (!(k in shape)) return `${p} has an unexpected field ${show(k)}`;
    return null;
  });
}

/**
 * An open record that the lab sends as a T (a domain type), of which the check covers the fields a
 * host relies on. The compiler refuses a T that lacks a checked field or disagrees with its type, so
 * the check and the domain type cannot drift apart.
 */
const sentAs =
  <T>() =>
  <U>(c: Check<U> & ([T] extends [U] ? unknown : { notA: U })): Check<T> =>
    c as unknown as Check<T>;

function validate<T>(c: Check<T>, v: unknown, path: string): Validation<T> {
  const r = c(v, path);
  return r ? { ok: false, reason: r } : { ok: true, value: v as T };
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

const idCheck = check<RequestId>((v, p) => {
  if (typeof v === 'string') return v.length === 0 || v.length > LIMITS.idLength ? `${p} must be 1 to ${LIMITS.idLength} characters` : null;
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? null : `${p} must be a non-negative integer or a string (got ${v})`;
  return `${p} must be a string or a non-negative integer (got ${show(v)})`;
});

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

/** The envelope's fields (checked first, with its own messages, by `envelope`). */
const base = <T extends 'command' | 'reply' | 'event'>(type: T) => ({ protocol: exactly(PROTOCOL), version: exactly(PROTOCOL_VERSION), type: exactly(type) });

const configCheck = check<Record<string, ConfigValue>>((v, p) => {
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
});

const command = <C extends CommandName, S extends Shape = Record<never, never>>(name: C, fields?: S) =>
  obj({ ...base('command'), id: idCheck, command: exactly(name), ...(fields as S) });
const commandShapes = {
  setConfig: command('setConfig', { config: configCheck }),
  run: command('run'),
  pause: command('pause'),
  step: command('step'),
  reset: command('reset'),
  getState: command('getState'),
  getMetrics: command('getMetrics'),
  exportMask: command('exportMask', { format: oneOf(MASK_FORMATS) }),
} satisfies { [C in CommandName]: Check<{ command: C }> };

/** A command as it travels: the envelope, an id and the command's own fields. */
export type CommandMessage = { [C in CommandName]: Infer<(typeof commandShapes)[C]> }[CommandName];
type Distribute<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** What a caller gives for a command (makeCommand adds the envelope and the id). */
export type CommandBody = Distribute<CommandMessage, 'protocol' | 'version' | 'type' | 'id'>;

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
  return validate<CommandMessage>(commandShapes[d.command as CommandName], d, 'message');
}

const replyShapes = {
  ok: obj({ ...base('reply'), id: idCheck, ok: exactly(true), result: anything }),
  // chosen when ok is not true: anything but false is the wrong type
  failed: obj({ ...base('reply'), id: idCheck, ok: exactly(false, 'must be true or false'), error: str(4096) }),
};
export type ReplyMessage = Infer<(typeof replyShapes)['ok']> | Infer<(typeof replyShapes)['failed']>;

/** Validate a reply arriving at the host page (no size limit: results may be large). */
export function validateReply(data: unknown): Validation<ReplyMessage> {
  const depth = checkSize(data, Number.POSITIVE_INFINITY);
  if (depth) return { ok: false, reason: depth };
  const e = envelope(data, 'reply');
  if (e) return { ok: false, reason: e };
  const d = data as Record<string, unknown>;
  return validate<ReplyMessage>(d.ok === true ? replyShapes.ok : replyShapes.failed, d, 'reply');
}

// Results and event data: the fields a host relies on are checked; nested records stay open so that
// the lab can add fields without breaking old hosts.
const stepRow = sentAs<StepMetrics>()(
  obj(
    {
      step: num,
      loss: num,
      kappa: num,
      tau: num,
      lr: num,
      lambda: num,
      meanMaskL1: num,
      meanMaxProb: num,
      meanMaxProbClean: num,
      sites: arrayOf(obj({}, { open: true })),
    },
    { open: true },
  ),
);
const resultRow = sentAs<ResultRow>()(obj({ key: str(), label: str(), metrics: obj({}, { open: true }), bitsPerWeight: either(num, isNull) }, { open: true }));
const evaluation = sentAs<EvaluationEvent>()(obj({ step: num, metrics: obj({}, { open: true }), flips: either(num, isNull) }, { open: true }));

const resultShapes = {
  setConfig: obj({ config: sentAs<ExperimentConfig>()(obj({}, { open: true })), warnings: arrayOf(str(4096)) }),
  run: isNull,
  pause: isNull,
  step: isNull,
  reset: isNull,
  getState: sentAs<LabStateSnapshot>()(
    obj(
      {
        state: oneOf(SESSION_STATES),
        step: num,
        totalSteps: num,
        config: obj({}, { open: true }),
        model: either(obj({}, { open: true }), isNull),
        engine: oneOf(ENGINE_KINDS),
        message: str(4096),
      },
      { optional: ['message'], open: true },
    ),
  ),
  getMetrics: sentAs<LabMetricsSnapshot>()(obj({ rows: arrayOf(stepRow), evaluations: arrayOf(evaluation), table: arrayOf(resultRow) }, { open: true })),
  /** the bytes travel as a transferred ArrayBuffer */
  exportMask: obj({ format: oneOf(MASK_FORMATS), bytes: arrayBuffer }),
} satisfies Record<CommandName, Check<unknown>>;

/** What each command's successful reply holds. */
export type CommandResults = { [C in CommandName]: Infer<(typeof resultShapes)[C]> };

/** Validate the result of a successful reply to `command`. */
export function validateResult<C extends CommandName>(command: C, result: unknown): Validation<CommandResults[C]> {
  return validate<CommandResults[C]>(resultShapes[command] as Check<CommandResults[C]>, result, `result of ${command}`);
}

const eventShapes = {
  // commands: strings, not CommandName: a newer lab may list commands this host does not know
  ready: obj(
    { protocolVersion: num, commands: arrayOf(str(), 64), state: oneOf(SESSION_STATES), engine: oneOf(ENGINE_KINDS), warnings: arrayOf(str(4096), 256) },
    { open: true },
  ),
  progress: obj(
    { phase: oneOf(PROGRESS_PHASES), done: finite, total: finite, detail: str(), stepsPerSecond: num, etaSeconds: num },
    { optional: ['detail', 'stepsPerSecond', 'etaSeconds'] },
  ),
  metrics: obj({ rows: arrayOf(stepRow) }),
  evaluation,
  done: obj({ rows: arrayOf(resultRow) }),
  error: obj({ message: str(4096), step: num, site: str() }, { optional: ['step', 'site'] }),
} satisfies Record<EventName, Check<unknown>>;

/** What each event carries. */
export type EventData = { [E in EventName]: Infer<(typeof eventShapes)[E]> };
const eventMessage = <E extends EventName>(event: E) => obj({ ...base('event'), event: exactly(event), data: eventShapes[event] as Check<EventData[E]> });
export type EventMessage<E extends EventName = EventName> = { [K in E]: Infer<ReturnType<typeof eventMessage<K>>> }[E];

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
  // the event name was checked just above: its message shape is one member of the EventMessage union
  return validate(eventMessage(d.event as EventName) as Check<EventMessage>, d, 'message');
}
