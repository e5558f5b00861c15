import { describe, expect, it } from 'vitest';
import { installEmbedHost, embedHostStats, type EmbedHostOptions } from '../../src/embed/host';
import { makeCommand, validateEvent, validateReply, validateResult, type CommandBody } from '../../src/embed/protocol';
import type { LabControl, LabStateSnapshot } from '../../src/embed/types';
import { DEFAULT_CONFIG, sanitizeConfig } from '../../src/lab/config';
import type { SessionEvent } from '../../src/lab/session';

const LAB = 'https://lab.example';
const HOST = 'https://lessons.example.org';

interface Posted {
  message: unknown;
  origin: string;
  transfer: Transferable[];
}

/** Something postMessage can be called on (a window seen from another one), recording the calls. */
class FakeTarget {
  posted: Posted[] = [];
  throwOnce = false;
  postMessage(message: unknown, origin: string, transfer: Transferable[] = []) {
    if (this.throwOnce) {
      this.throwOnce = false;
      throw new DOMException('could not be cloned', 'DataCloneError');
    }
    this.posted.push({ message, origin, transfer });
  }
}

class FakeWindow extends FakeTarget {
  listeners = new Set<(ev: MessageEvent) => void>();
  location: { origin: string; search: string };
  document = { referrer: '' };
  parent: FakeTarget = this;
  constructor(origin = LAB, search = '') {
    super();
    this.location = { origin, search };
  }
  addEventListener(type: string, l: (ev: MessageEvent) => void) {
    if (type === 'message') this.listeners.add(l);
  }
  removeEventListener(type: string, l: (ev: MessageEvent) => void) {
    if (type === 'message') this.listeners.delete(l);
  }
  /** Deliver a message as the browser would: with the sender's origin and window. */
  deliver(data: unknown, origin: string, source: FakeTarget | null) {
    for (const l of [...this.listeners]) l({ data, origin, source } as unknown as MessageEvent);
  }
}

const state: LabStateSnapshot = { state: 'ready', step: 0, totalSteps: 300, config: DEFAULT_CONFIG, model: null, engine: 'cpu' };

class FakeControl implements LabControl {
  calls: string[] = [];
  listeners = new Set<(e: SessionEvent) => void>();
  mask = new Uint8Array([7, 8, 9, 10]);
  failWith: string | null = null;
  private async call(name: string) {
    this.calls.push(name);
    if (this.failWith) throw new Error(this.failWith);
  }
  async setConfig(partial: Record<string, unknown>) {
    await this.call('setConfig');
    return sanitizeConfig(partial);
  }
  run = () => this.call('run');
  pause = () => this.call('pause');
  step = () => this.call('step');
  reset = () => this.call('reset');
  async getState() {
    await this.call('getState');
    return state;
  }
  async getMetrics() {
    await this.call('getMetrics');
    return { rows: [], evaluations: [], table: [] };
  }
  async exportMask(format: string) {
    await this.call(`exportMask:${format}`);
    return this.mask;
  }
  subscribe(l: (e: SessionEvent) => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  emit(e: SessionEvent) {
    for (const l of this.listeners) l(e);
  }
}

const flush = () => new Promise((r) => setTimeout(r, 0));

function setup(opts: { search?: string; origin?: string; embedded?: boolean; referrer?: string } & Omit<EmbedHostOptions, 'window'> = {}) {
  const win = new FakeWindow(opts.origin ?? LAB, opts.search ?? '');
  const parent = new FakeTarget();
  if (opts.embedded) win.parent = parent;
  if (opts.referrer) win.document.referrer = opts.referrer;
  const control = new FakeControl();
  const host = installEmbedHost(control, { ...opts, window: win as unknown as Window });
  return { win, parent, control, host };
}

const cmd = (id: string | number, body: CommandBody = { command: 'getState' }) => makeCommand(id, body);

describe('embed host: origins', () => {
  it('hears its own origin by default and replies to the sender with its exact origin and the request id', async () => {
    const { win, control, host } = setup();
    const sender = new FakeTarget();
    win.deliver(cmd('q1'), LAB, sender);
    await flush();
    expect(control.calls).toEqual(['getState']);
    expect(sender.posted).toHaveLength(1);
    const p = sender.posted[0];
    expect(p.origin).toBe(LAB);
    expect(validateReply(p.message).ok).toBe(true);
    expect(p.message).toMatchObject({ type: 'reply', id: 'q1', ok: true, result: state });
    expect(host.stats()).toEqual({ accepted: 1, ignored: 0, rejected: 0, rateLimited: 0 });
    host.dispose();
  });

  it('ignores and counts other origins, without replying', async () => {
    const { win, control, host } = setup();
    const sender = new FakeTarget();
    for (const o of [HOST, 'http://lab.example', 'https://lab.example:8443', 'null', '', 'https://lab.example.evil.org']) win.deliver(cmd(1), o, sender);
    await flush();
    expect(control.calls).toEqual([]);
    expect(sender.posted).toEqual([]);
    expect(host.stats()).toEqual({ accepted: 0, ignored: 6, rejected: 0, rateLimited: 0 });
    host.dispose();
  });

  it('allows origins named in the URL (origins=) and in the options', async () => {
    const { win, control, host } = setup({ search: '?origins=' + encodeURIComponent(HOST), allowedOrigins: ['http://127.0.0.1:9000'] });
    expect(host.allowedOrigins()).toEqual(['http://127.0.0.1:9000', HOST, LAB]);
    const s1 = new FakeTarget();
    const s2 = new FakeTarget();
    win.deliver(cmd(1), HOST, s1);
    win.deliver(cmd(2), 'http://127.0.0.1:9000', s2);
    win.deliver(cmd(3), 'https://other.example', s2);
    await flush();
    expect(control.calls).toEqual(['getState', 'getState']);
    expect(s1.posted.map((p) => [p.origin, (p.message as { id: number }).id])).toEqual([[HOST, 1]]);
    expect(s2.posted.map((p) => [p.origin, (p.message as { id: number }).id])).toEqual([['http://127.0.0.1:9000', 2]]);
    expect(host.stats().ignored).toBe(1);
    host.dispose();
  });

  it('never allows the opaque origin "null" (file:// or sandboxed lab)', async () => {
    const { win, control, host } = setup({ origin: 'null' });
    win.deliver(cmd(1), 'null', new FakeTarget());
    await flush();
    expect(control.calls).toEqual([]);
    expect(host.allowedOrigins()).toEqual([]);
    expect(host.stats().ignored).toBe(1);
    host.dispose();
  });
});

describe('embed host: validation', () => {
  it('ignores messages of other protocols and our own replies/events; rejects malformed commands with a reason', async () => {
    const { win, control, host } = setup();
    const sender = new FakeTarget();
    win.deliver('hello', LAB, sender);
    win.deliver({ type: 'webpackHotUpdate' }, LAB, sender);
    win.deliver({ protocol: 'maskllm-lab', version: 1, type: 'event', event: 'ready', data: {} }, LAB, sender);
    win.deliver(cmd(5), LAB, null); // no source to answer to
    expect(host.stats()).toEqual({ accepted: 0, ignored: 4, rejected: 0, rateLimited: 0 });
    win.deliver({ ...cmd('bad'), command: 'fetch', url: 'https://x.example' }, LAB, sender);
    win.deliver({ ...cmd(9, { command: 'exportMask', format: 'zip' as never }) }, LAB, sender);
    win.deliver({ protocol: 'maskllm-lab', version: 1, type: 'command', command: 'run' }, LAB, sender); // no id: nothing to answer
    await flush();
    expect(control.calls).toEqual([]);
    expect(host.stats()).toEqual({ accepted: 0, ignored: 4, rejected: 3, rateLimited: 0 });
    expect(sender.posted.map((p) => p.message)).toEqual([
      expect.objectContaining({ id: 'bad', ok: false, error: expect.stringContaining('command must be one of') }),
      expect.objectContaining({ id: 9, ok: false, error: expect.stringContaining('message.format must be one of safetensors, packed, state') }),
    ]);
    host.dispose();
  });

  it('runs every command on the control and passes errors back', async () => {
    const { win, control, host } = setup();
    const sender = new FakeTarget();
    const bodies: CommandBody[] = [
      { command: 'setConfig', config: { seed: 5, lr: 'fast' } },
      { command: 'run' },
      { command: 'pause' },
      { command: 'step' },
      { command: 'reset' },
      { command: 'getState' },
      { command: 'getMetrics' },
    ];
    bodies.forEach((b, i) => win.deliver(cmd(i, b), LAB, sender));
    await flush();
    expect(control.calls).toEqual(['setConfig', 'run', 'pause', 'step', 'reset', 'getState', 'getMetrics']);
    // Replies come in completion order, not request order: match them by id.
    const replies = sender.posted.map((p) => p.message as { id: number; ok: boolean; result: unknown }).sort((a, b) => a.id - b.id);
    expect(replies.map((r) => r.id)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const [i, r] of replies.entries()) {
      const v = validateResult(bodies[i].command, r.result);
      expect(v.ok ? 'ok' : v.reason).toBe('ok');
    }
    expect(replies[0].result).toMatchObject({ config: { seed: 5, lr: DEFAULT_CONFIG.lr }, warnings: [expect.stringContaining('lr must be a finite number')] });

    control.failWith = 'no model loaded';
    win.deliver(cmd('f', { command: 'run' }), LAB, sender);
    await flush();
    expect(sender.posted.at(-1)!.message).toMatchObject({ id: 'f', ok: false, error: 'no model loaded' });
    host.dispose();
  });

  it('exportMask replies with a transferred copy of the bytes', async () => {
    const { win, control, host } = setup();
    const sender = new FakeTarget();
    win.deliver(cmd('m', { command: 'exportMask', format: 'packed' }), LAB, sender);
    await flush();
    expect(control.calls).toEqual(['exportMask:packed']);
    const { message, transfer } = sender.posted[0];
    const result = (message as { result: { format: string; bytes: ArrayBuffer } }).result;
    expect(result.format).toBe('packed');
    expect(result.bytes).toBeInstanceOf(ArrayBuffer);
    expect(Array.from(new Uint8Array(result.bytes))).toEqual([7, 8, 9, 10]);
    expect(transfer).toEqual([result.bytes]);
    expect(result.bytes).not.toBe(control.mask.buffer);
    host.dispose();
  });

  it('a result that cannot be sent becomes an error reply', async () => {
    const { win, host } = setup();
    const sender = new FakeTarget();
    sender.throwOnce = true;
    win.deliver(cmd('c'), LAB, sender);
    await flush();
    expect(sender.posted.map((p) => p.message)).toEqual([expect.objectContaining({ id: 'c', ok: false, error: expect.stringContaining('could not be sent') })]);
    host.dispose();
  });
});

describe('embed host: rate limit', () => {
  it('drops commands over the limit per origin per second and counts them', async () => {
    let t = 0;
    const { win, control, host } = setup({ search: '?origins=' + encodeURIComponent(HOST), now: () => t, rateLimitPerSecond: 50 });
    const a = new FakeTarget();
    const b = new FakeTarget();
    for (let i = 0; i < 60; i++) win.deliver(cmd(i, { command: 'step' }), HOST, a);
    for (let i = 0; i < 5; i++) win.deliver(cmd(i, { command: 'step' }), LAB, b); // another origin has its own budget
    t = 999;
    win.deliver(cmd('late', { command: 'step' }), HOST, a);
    await flush();
    expect(host.stats()).toEqual({ accepted: 55, ignored: 0, rejected: 0, rateLimited: 11 });
    expect(a.posted).toHaveLength(50); // nothing is answered past the limit
    t = 1000;
    win.deliver(cmd('next', { command: 'step' }), HOST, a);
    await flush();
    expect(host.stats().accepted).toBe(56);
    expect(control.calls).toHaveLength(56);
    host.dispose();
  });
});

describe('embed host: events to the parent', () => {
  it('sends ready and then session events to the referrer origin when it is allowed', async () => {
    const { parent, control, host } = setup({
      embedded: true,
      referrer: HOST + '/lesson/3?x=1',
      search: '?origins=https://a.example,' + encodeURIComponent(HOST),
    });
    expect(host.parentOrigin()).toBe(HOST);
    control.emit({ type: 'progress', phase: 'learning', done: 0, total: 3 }); // before ready: not sent
    await flush();
    control.emit({ type: 'state', state: 'running' }); // not part of the protocol
    control.emit({ type: 'progress', phase: 'learning', done: 1, total: 3, stepsPerSecond: 2 });
    control.emit({ type: 'metrics', rows: [] });
    control.emit({ type: 'evaluation', evaluation: { step: 1, metrics: {}, flips: 3 } });
    control.emit({ type: 'done', rows: [] });
    control.emit({ type: 'error', message: 'NaN loss', step: 2 });
    const events = parent.posted.map((p) => {
      expect(p.origin).toBe(HOST);
      const v = validateEvent(p.message);
      expect(v.ok ? 'ok' : v.reason).toBe('ok');
      return (p.message as { event: string }).event;
    });
    expect(events).toEqual(['ready', 'progress', 'metrics', 'evaluation', 'done', 'error']);
    expect(parent.posted[0].message).toMatchObject({ data: { state: 'ready', engine: 'cpu', warnings: [] } });
    host.dispose();
    control.emit({ type: 'done', rows: [] });
    expect(parent.posted).toHaveLength(6);
    expect(control.listeners.size).toBe(0);
  });

  it('uses the first allowed origin when the referrer is missing or not allowed; ready carries URL warnings', async () => {
    const { parent, host } = setup({ embedded: true, referrer: 'https://evil.example/', search: '?origins=' + encodeURIComponent(HOST) + '&lr=abc' });
    expect(host.parentOrigin()).toBe(HOST);
    await flush();
    expect(parent.posted).toHaveLength(1);
    expect(parent.posted[0].origin).toBe(HOST);
    expect(parent.posted[0].message).toMatchObject({ event: 'ready', data: { warnings: [expect.stringContaining('lr="abc" is not a number')] } });
    host.dispose();
  });

  it('sends nothing when not embedded, and never to "*"', async () => {
    const { win, control, host } = setup();
    await flush();
    control.emit({ type: 'done', rows: [] });
    expect(host.parentOrigin()).toBe(null);
    expect(win.posted).toEqual([]);
    host.dispose();
  });

  it('dispose stops listening; embedHostStats follows the latest host', async () => {
    const { win, control, host } = setup();
    expect(embedHostStats()).toEqual(host.stats());
    host.dispose();
    expect(embedHostStats()).toBe(null);
    win.deliver(cmd(1), LAB, new FakeTarget());
    await flush();
    expect(control.calls).toEqual([]);
    expect(win.listeners.size).toBe(0);
  });
});

describe('client ↔ host over simulated windows', () => {
  /**
   * A host page on HOST with an iframe whose document is the lab on LAB: postMessage between them
   * structured-clones (with transfer) and is dropped when targetOrigin does not match, as browsers do.
   */
  function twoWindows(labSearch: string) {
    const page = new FakeWindow(HOST);
    const lab = new FakeWindow(LAB, labSearch);
    const labProxy = {
      postMessage(m: unknown, targetOrigin: string, transfer: Transferable[] = []) {
        if (targetOrigin === LAB) lab.deliver(structuredClone(m, { transfer }), HOST, pageProxy as unknown as FakeTarget);
      },
    };
    const pageProxy = {
      postMessage(m: unknown, targetOrigin: string, transfer: Transferable[] = []) {
        if (targetOrigin === HOST) page.deliver(structuredClone(m, { transfer }), LAB, labProxy as unknown as FakeTarget);
      },
    };
    lab.parent = pageProxy as unknown as FakeTarget;
    lab.document.referrer = HOST + '/lesson.html';
    const iframe = { contentWindow: labProxy } as unknown as HTMLIFrameElement;
    return { page, lab, iframe };
  }

  it('attach waits for ready; commands resolve with validated results; events reach listeners', async () => {
    const { LabClient } = await import('../../src/embed/client');
    const { page, lab, iframe } = twoWindows('?origins=' + encodeURIComponent(HOST));
    const attached = LabClient.attach(iframe, LAB + '/', { window: page as unknown as Window, pingIntervalMs: 5 });
    const control = new FakeControl();
    const host = installEmbedHost(control, { window: lab as unknown as Window });
    const client = await attached;
    expect(client.labOrigin).toBe(LAB);
    const progress: number[] = [];
    const off = client.on('progress', (p) => progress.push(p.done));
    const r = await client.setConfig({ kappaStart: 1, kappaEnd: 1, seed: 'x' as never });
    expect(r.config).toMatchObject({ kappaStart: 1, kappaEnd: 1, seed: DEFAULT_CONFIG.seed });
    expect(r.warnings).toEqual([expect.stringContaining('seed must be a finite number')]);
    expect(await client.step()).toBe(null);
    expect((await client.getState()).totalSteps).toBe(300);
    expect(await client.exportMask('packed')).toEqual(new Uint8Array([7, 8, 9, 10]));
    control.emit({ type: 'progress', phase: 'learning', done: 1, total: 3 });
    off();
    control.emit({ type: 'progress', phase: 'learning', done: 2, total: 3 });
    expect(progress).toEqual([1]);
    control.failWith = 'no model loaded';
    await expect(client.run()).rejects.toMatchObject({ name: 'LabClientError', code: 'lab-error', message: 'no model loaded', command: 'run' });
    // A message pretending to be the lab from another frame of the page is not heard.
    page.deliver(
      { protocol: 'maskllm-lab', version: 1, type: 'event', event: 'progress', data: { phase: 'learning', done: 9, total: 9 } },
      LAB,
      new FakeTarget(),
    );
    client.on('progress', (p) => progress.push(p.done));
    page.deliver(
      { protocol: 'maskllm-lab', version: 1, type: 'event', event: 'progress', data: { phase: 'learning', done: 9, total: 9 } },
      HOST,
      iframe.contentWindow as unknown as FakeTarget,
    );
    expect(progress).toEqual([1]);
    client.close();
    await expect(client.getState()).rejects.toMatchObject({ code: 'closed' });
    host.dispose();
  });

  it('attach times out with a hint when the lab does not allow the page origin; commands time out', async () => {
    const { LabClient } = await import('../../src/embed/client');
    const { page, lab, iframe } = twoWindows(''); // no origins=: the page's commands are ignored
    const host = installEmbedHost(new FakeControl(), { window: lab as unknown as Window });
    await expect(LabClient.attach(iframe, LAB, { window: page as unknown as Window, pingIntervalMs: 5, readyTimeoutMs: 60 })).rejects.toMatchObject({
      code: 'timeout',
      message: expect.stringContaining(`origins=${HOST}`),
    });
    expect(host.stats().ignored).toBeGreaterThan(0);
    expect(host.stats().accepted).toBe(0);
    await expect(LabClient.attach(iframe, 'lab.example', { window: page as unknown as Window })).rejects.toMatchObject({ code: 'bad-argument' });
    host.dispose();
  });
});
