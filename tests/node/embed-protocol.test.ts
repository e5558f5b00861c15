import fc from 'fast-check';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { DEFAULT_CONFIG, type ExperimentConfig } from '../../src/lab/config';
import type { EvaluationEvent, ProgressPhase, ResultRow, SessionState } from '../../src/lab/session';
import type { StepMetrics } from '../../src/sparsity/learner';
import type { LabMetricsSnapshot, LabStateSnapshot, MaskFormat } from '../../src/embed/types';
import {
  checkSize,
  COMMANDS,
  EVENTS,
  LIMITS,
  makeCommand,
  makeEvent,
  makeReply,
  PROTOCOL,
  validateCommand,
  validateEvent,
  validateReply,
  validateResult,
  type CommandBody,
  type CommandMessage,
  type CommandName,
  type CommandResults,
  type ConfigValue,
  type EventData,
  type EventMessage,
  type EventName,
  type ReplyMessage,
  type RequestId,
} from '../../src/embed/protocol';
import { testSeed } from '../helpers/random';

const stepRow = {
  step: 3,
  loss: 2.5,
  kappa: 10,
  tau: 2,
  lr: 1e-3,
  lambda: 0,
  sites: [{ maskL1: 0.1, maxProb: 0.4, maxProbClean: 0.3, logitMean: 0, logitStd: 0.01 }],
  meanMaskL1: 0.1,
  meanMaxProb: 0.4,
  meanMaxProbClean: 0.3,
};
const en = { loss: 3, ppl: 20.1, bitsPerToken: 4.3, tokens: 4096 };
const resultRow: ResultRow = { key: 'maskllm', label: 'MaskLLM 2:4', metrics: { en }, bitsPerWeight: 0.667 };
const evaluation: EvaluationEvent = { step: 50, metrics: { en }, flips: null };

const validBodies: CommandBody[] = [
  { command: 'setConfig', config: { seed: 3, lr: 1e-3, lambdaDecay: true, model: 'tiny-gpt', anything: 'unknown keys reach sanitizeConfig' } },
  { command: 'setConfig', config: {} },
  ...(['run', 'pause', 'step', 'reset', 'getState', 'getMetrics'] as const).map((command) => ({ command })),
  { command: 'exportMask', format: 'safetensors' },
  { command: 'exportMask', format: 'packed' },
  { command: 'exportMask', format: 'state' },
];

const validResults: { [C in CommandName]: unknown } = {
  setConfig: { config: DEFAULT_CONFIG, warnings: ['lr must be ≤ 10 (got 11); using the default 0.002'] },
  run: null,
  pause: null,
  step: null,
  reset: null,
  getState: { state: 'paused', step: 4, totalSteps: 300, config: DEFAULT_CONFIG, model: null, engine: 'gpu' },
  getMetrics: { rows: [stepRow], evaluations: [evaluation], table: [resultRow] },
  exportMask: { format: 'packed', bytes: new Uint8Array([1, 2, 3]).buffer },
};

const validEvents: { [E in EventName]: EventData[E][] } = {
  ready: [{ protocolVersion: 1, commands: [...COMMANDS], state: 'ready', engine: 'cpu', warnings: [] }],
  progress: [
    { phase: 'learning', done: 3, total: 300, stepsPerSecond: 0.5 },
    { phase: 'loading', done: 10, total: 100, detail: 'model.safetensors' },
  ],
  metrics: [{ rows: [stepRow, { ...stepRow, loss: Number.NaN }] }],
  evaluation: [evaluation, { ...evaluation, flips: 12 }],
  done: [{ rows: [resultRow, { ...resultRow, key: 'dense', bitsPerWeight: null }] }],
  error: [{ message: 'NaN loss' }, { message: 'NaN loss', step: 3, site: 'h.0.attn.c_attn' }],
};

describe('embed protocol: valid messages', () => {
  it('accepts every command, with string and integer ids', () => {
    for (const body of validBodies) {
      for (const id of ['r1', 7, 0]) {
        const v = validateCommand(makeCommand(id, body));
        expect(v, JSON.stringify(body)).toEqual({ ok: true, value: makeCommand(id, body) });
      }
    }
    expect(new Set(validBodies.map((b) => b.command))).toEqual(new Set(COMMANDS));
  });

  it('accepts replies and every command result', () => {
    for (const c of COMMANDS) {
      const reply = makeReply('x', { ok: true, result: validResults[c] });
      expect(validateReply(reply).ok, c).toBe(true);
      const r = validateResult(c, validResults[c]);
      expect(r.ok ? 'ok' : r.reason, c).toBe('ok');
    }
    expect(validateReply(makeReply(3, { ok: false, error: 'no model loaded' })).ok).toBe(true);
  });

  it('accepts every event', () => {
    for (const e of EVENTS) {
      for (const data of validEvents[e]) {
        const v = validateEvent(makeEvent(e, data as never));
        expect(v.ok ? 'ok' : v.reason, e).toBe('ok');
      }
    }
  });
});

describe('embed protocol: malformed messages are rejected with reasons', () => {
  const good = makeCommand('a', { command: 'exportMask', format: 'packed' }) as unknown as Record<string, unknown>;
  const cases: [string, unknown, RegExp][] = [
    ['not an object', 'run', /a message must be an object \(got "run"\)/],
    ['null', null, /must be an object \(got null\)/],
    ['an array', [good], /must be an object \(got an array\)/],
    ['wrong protocol', { ...good, protocol: 'other' }, /protocol must be "maskllm-lab" \(got "other"\)/],
    ['wrong version', { ...good, version: 2 }, /unsupported protocol version 2/],
    ['wrong type', { ...good, type: 'reply' }, /type must be "command" \(got "reply"\)/],
    ['missing id', { ...good, id: undefined }, /id must be a string or a non-negative integer/],
    ['empty id', { ...good, id: '' }, /id must be 1 to 128 characters/],
    ['long id', { ...good, id: 'x'.repeat(LIMITS.idLength + 1) }, /id must be 1 to 128 characters/],
    ['fractional id', { ...good, id: 1.5 }, /id must be a non-negative integer or a string \(got 1.5\)/],
    ['unknown command', { ...good, command: 'fetch' }, /command must be one of setConfig, .* \(got "fetch"\)/],
    ['bad format', { ...good, format: 'zip' }, /message.format must be one of safetensors, packed, state \(got "zip"\)/],
    ['missing format', { ...good, format: undefined }, /message.format is missing/],
    ['extra field', { ...good, url: 'https://evil.example/x' }, /unexpected field "url"/],
    ['extra field on run', { ...makeCommand(1, { command: 'run' }), path: '/etc/passwd' }, /unexpected field "path"/],
    [
      'config not an object',
      makeCommand(1, { command: 'setConfig', config: [1] as never }),
      /message.config must be an object of field: value pairs \(got an array\)/,
    ],
    [
      'config nested value',
      makeCommand(1, { command: 'setConfig', config: { seed: { $gt: 1 } } as never }),
      /message.config.seed must be a string, number or boolean \(got an object\)/,
    ],
    [
      'config null value',
      makeCommand(1, { command: 'setConfig', config: { seed: null } as never }),
      /message.config.seed must be a string, number or boolean \(got null\)/,
    ],
    [
      'too many config keys',
      makeCommand(1, { command: 'setConfig', config: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i])) }),
      /has 65 keys \(at most 64\)/,
    ],
    ['long config key', makeCommand(1, { command: 'setConfig', config: { ['k'.repeat(65)]: 1 } }), /a key longer than 64 characters/],
    [
      'long config string',
      makeCommand(1, { command: 'setConfig', config: { model: 'm'.repeat(1025) } }),
      /message.config.model is longer than 1024 characters/,
    ],
    ['over 64 KiB', { ...good, pad: 'x'.repeat(40_000) }, /larger than 65536 bytes/],
    ['big typed array', { ...good, pad: new Uint8Array(70_000) }, /larger than 65536 bytes/],
    ['a function', { ...good, f: () => 1 }, /unsupported value \(\[object Function\]\)/],
    ['a Map', { ...good, m: new Map() }, /unsupported value \(\[object Map\]\)/],
  ];
  for (const [name, msg, reason] of cases) {
    it(name, () => {
      const v = validateCommand(msg);
      expect(v.ok).toBe(false);
      if (!v.ok) expect(v.reason).toMatch(reason);
    });
  }

  it('cycles and deep nesting are refused without recursion overflow', () => {
    const cyc: Record<string, unknown> = { ...good };
    cyc.self = cyc;
    expect(validateCommand(cyc)).toEqual({ ok: false, reason: `the message is nested more than ${LIMITS.depth} levels deep` });
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(checkSize(deep, Number.POSITIVE_INFINITY)).toMatch(/nested more than/);
  });

  it('replies: ok must be boolean, errors strings, results present', () => {
    const r = (x: Record<string, unknown>) => validateReply({ protocol: PROTOCOL, version: 1, type: 'reply', id: 1, ...x });
    expect(r({ ok: 'yes', error: 'x' })).toEqual({ ok: false, reason: 'reply.ok must be true or false (got "yes")' });
    expect(r({ ok: false, error: 3 })).toEqual({ ok: false, reason: 'reply.error must be a string (got 3)' });
    expect(r({ ok: true })).toEqual({ ok: false, reason: 'reply.result is missing' });
    expect(r({ ok: true, result: null, extra: 1 })).toEqual({ ok: false, reason: 'reply has an unexpected field "extra"' });
  });

  it('results of the wrong shape are named', () => {
    const bad = (c: CommandName, v: unknown) => {
      const r = validateResult(c, v);
      return r.ok ? 'accepted' : r.reason;
    };
    expect(bad('exportMask', { format: 'packed', bytes: new Uint8Array(3) })).toBe('result of exportMask.bytes must be an ArrayBuffer (got an object)');
    expect(bad('getState', { ...(validResults.getState as object), state: 'flying' })).toMatch(/result of getState.state must be one of idle/);
    expect(bad('run', {})).toBe('result of run must be null (got an object)');
    expect(bad('getMetrics', { rows: [{ ...stepRow, loss: '2' }], evaluations: [], table: [] })).toBe(
      'result of getMetrics.rows[0].loss must be a number (got "2")',
    );
  });

  it('events of the wrong shape are named', () => {
    const ev = (x: Record<string, unknown>) => validateEvent({ protocol: PROTOCOL, version: 1, type: 'event', ...x });
    expect(ev({ event: 'tick', data: {} })).toEqual({
      ok: false,
      reason: 'event must be one of ready, progress, metrics, evaluation, done, error (got "tick")',
    });
    expect(ev({ event: 'progress', data: { phase: 'learning', done: 1 } })).toEqual({ ok: false, reason: 'message.data.total is missing' });
    expect(ev({ event: 'progress', data: { phase: 'learning', done: 1, total: Infinity } })).toEqual({
      ok: false,
      reason: 'message.data.total must be a finite number (got Infinity)',
    });
    expect(ev({ event: 'error', data: { message: 'x', extra: 1 } })).toEqual({ ok: false, reason: 'message.data has an unexpected field "extra"' });
    expect(ev({ event: 'done' })).toEqual({ ok: false, reason: 'message.data is missing' });
  });
});

describe('embed protocol: fuzz', () => {
  it('random values never throw in any validator', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withMap: true,
          withSet: true,
          withTypedArray: true,
          withDate: true,
          withNullPrototype: true,
          withBigInt: true,
          withSparseArray: true,
          withBoxedValues: true,
        }),
        (v) => {
          for (const f of [validateCommand, validateReply, validateEvent]) expect(typeof f(v).ok).toBe('boolean');
          for (const c of COMMANDS) expect(typeof validateResult(c, v).ok).toBe('boolean');
        },
      ),
      { seed: testSeed(), numRuns: 500 },
    );
  });

  it('random JSON inside a protocol envelope never throws and is accepted only when well formed', () => {
    const env = { protocol: PROTOCOL, version: 1 };
    fc.assert(
      fc.property(
        fc.constantFrom('command', 'reply', 'event'),
        fc.constantFrom(...COMMANDS, ...EVENTS, 'x'),
        fc.jsonValue(),
        fc.jsonValue(),
        (type, name, a, b) => {
          const msgs = [
            { ...env, type, id: 1, command: name, config: a, format: b },
            { ...env, type, id: 1, command: name },
            { ...env, type, id: 1, ok: true, result: a },
            { ...env, type, event: name, data: a },
          ];
          for (const m of msgs) {
            const c = validateCommand(m);
            // Whatever it accepted must be a command it knows, with a config object where needed.
            if (c.ok) {
              expect(COMMANDS).toContain(c.value.command);
              if (c.value.command === 'setConfig') expect(typeof c.value.config).toBe('object');
            }
            validateReply(m);
            validateEvent(m);
          }
        },
      ),
      { seed: testSeed(), numRuns: 500 },
    );
  });

  it('dropping any field of a valid command makes it invalid', () => {
    for (const body of validBodies) {
      const msg = makeCommand('z', body) as unknown as Record<string, unknown>;
      for (const k of Object.keys(msg)) {
        const { [k]: _, ...rest } = msg;
        expect(validateCommand(rest).ok, `${body.command} without ${k}`).toBe(false);
      }
    }
  });
});

describe('embed protocol: the types are derived from the validators', () => {
  it('commands, results and events have the types the lab and the host use', () => {
    expectTypeOf<Extract<CommandBody, { command: 'setConfig' }>>().toEqualTypeOf<{ command: 'setConfig'; config: Record<string, ConfigValue> }>();
    expectTypeOf<Extract<CommandBody, { command: 'exportMask' }>>().toEqualTypeOf<{ command: 'exportMask'; format: MaskFormat }>();
    expectTypeOf<Extract<CommandBody, { command: 'run' }>>().toEqualTypeOf<{ command: 'run' }>();
    expectTypeOf<CommandMessage['protocol']>().toEqualTypeOf<typeof PROTOCOL>();
    expectTypeOf<CommandMessage['version']>().toEqualTypeOf<1>();
    expectTypeOf<CommandMessage['id']>().toEqualTypeOf<RequestId>();
    expectTypeOf<CommandResults['setConfig']>().toEqualTypeOf<{ config: ExperimentConfig; warnings: string[] }>();
    expectTypeOf<CommandResults['getState']>().toEqualTypeOf<LabStateSnapshot>();
    expectTypeOf<CommandResults['getMetrics']>().toEqualTypeOf<LabMetricsSnapshot>();
    expectTypeOf<CommandResults['run']>().toEqualTypeOf<null>();
    expectTypeOf<CommandResults['exportMask']>().toEqualTypeOf<{ format: MaskFormat; bytes: ArrayBuffer }>();
    expectTypeOf<EventData['progress']>().toEqualTypeOf<{
      phase: ProgressPhase;
      done: number;
      total: number;
      detail?: string;
      stepsPerSecond?: number;
      etaSeconds?: number;
    }>();
    expectTypeOf<EventData['evaluation']>().toEqualTypeOf<EvaluationEvent>();
    expectTypeOf<EventData['done']>().toEqualTypeOf<{ rows: ResultRow[] }>();
    expectTypeOf<EventData['error']>().toEqualTypeOf<{ message: string; step?: number; site?: string }>();
    expectTypeOf<EventData['ready']['state']>().toEqualTypeOf<SessionState>();
    expectTypeOf<Extract<ReplyMessage, { ok: false }>['error']>().toEqualTypeOf<string>();
    expectTypeOf<Extract<EventMessage<'metrics'>, { event: 'metrics' }>['data']>().toEqualTypeOf<{ rows: StepMetrics[] }>();
  });
});
