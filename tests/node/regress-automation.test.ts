// The window.lab hooks that the headless driver (learn/regress) polls: createAutomation over a fake
// LabControl, so waitFor's resolve/reject paths and the event buffer are checked without a browser.
import { describe, expect, it } from 'vitest';
import { createAutomation, MAX_EVENTS } from '../../src/embed/automation';
import type { LabControl, LabStateSnapshot } from '../../src/embed/types';
import { DEFAULT_CONFIG } from '../../src/lab/config';
import type { SessionEvent, SessionState } from '../../src/lab/session';

function fake() {
  const listeners = new Set<(e: SessionEvent) => void>();
  const snap: LabStateSnapshot = { state: 'idle', step: 0, totalSteps: 10, config: DEFAULT_CONFIG, model: null, engine: 'cpu' };
  const emit = (e: SessionEvent) => {
    if (e.type === 'state') {
      snap.state = e.state;
      snap.message = e.message;
    }
    if (e.type === 'progress' && e.phase === 'learning') snap.step = e.done;
    for (const f of listeners) f(e);
  };
  const control: LabControl = {
    setConfig: async () => ({ config: DEFAULT_CONFIG, warnings: [] }),
    run: async () => {},
    pause: async () => {},
    step: async () => {},
    reset: async () => {},
    getState: async () => ({ ...snap }),
    getMetrics: async () => ({ rows: [], evaluations: [], table: [] }),
    exportMask: async () => new Uint8Array([0, 1, 2, 255]),
    subscribe: (f) => {
      listeners.add(f);
      return () => listeners.delete(f);
    },
  };
  return { control, emit, lab: createAutomation(control) };
}
const state = (s: SessionState, message?: string): SessionEvent => ({ type: 'state', state: s, message });
const progress = (done: number): SessionEvent => ({ type: 'progress', phase: 'learning', done, total: 10 });
const tick = () => new Promise((r) => setTimeout(r, 5));

describe('window.lab automation', () => {
  it('events(since) returns each event once, with absolute indices', () => {
    const { emit, lab } = fake();
    emit(state('loading'));
    emit(state('ready'));
    const a = lab.events(0);
    expect(a.events.map((e) => e.type === 'state' && e.state)).toEqual(['loading', 'ready']);
    expect(a.next).toBe(2);
    emit(progress(1));
    const b = lab.events(a.next);
    expect(b.events).toEqual([progress(1)]);
    expect(lab.events(b.next).events).toEqual([]);
  });

  it('drops the oldest events beyond MAX_EVENTS but keeps indices absolute', () => {
    const { emit, lab } = fake();
    for (let i = 0; i < MAX_EVENTS + 5; i++) emit(progress(i));
    const all = lab.events(0);
    expect(all.dropped).toBe(5);
    expect(all.events).toHaveLength(MAX_EVENTS);
    expect(all.events[0]).toEqual(progress(5));
    expect(lab.events(MAX_EVENTS + 3).events).toEqual([progress(MAX_EVENTS + 3), progress(MAX_EVENTS + 4)]);
  });

  it('waitFor resolves on the state or step, at once when already there', async () => {
    const { emit, lab } = fake();
    emit(state('running'));
    expect((await lab.waitFor({ state: 'running', timeoutMs: 1000 })).state).toBe('running');
    const p = lab.waitFor({ step: 3, timeoutMs: 5000 });
    emit(progress(1));
    emit(progress(2));
    await tick();
    emit(progress(3));
    expect((await p).step).toBe(3);
    const d = lab.waitFor({ state: 'done', timeoutMs: 5000 });
    emit(state('done'));
    expect((await d).state).toBe('done');
  });

  it('waitFor rejects on an error, a self-pause (NaN), an early finish, a timeout and bad options', async () => {
    const a = fake();
    a.emit(state('running'));
    const e1 = a.lab.waitFor({ state: 'done', timeoutMs: 5000 });
    a.emit(state('error', 'GPU device lost'));
    await expect(e1).rejects.toThrow(/the lab failed while waiting for state "done": GPU device lost/);
    const b = fake();
    b.emit(state('running'));
    const e2 = b.lab.waitFor({ state: 'done', timeoutMs: 5000 });
    b.emit(state('paused', 'NaN/Inf at step 3 in the loss'));
    await expect(e2).rejects.toThrow(/the run paused while waiting for state "done": NaN\/Inf at step 3/);
    const c = fake();
    c.emit(state('running'));
    const e3 = c.lab.waitFor({ step: 50, timeoutMs: 5000 });
    c.emit(progress(10));
    c.emit(state('done'));
    await expect(e3).rejects.toThrow(/finished at step 10 before step ≥ 50/);
    await expect(fake().lab.waitFor({ state: 'running', timeoutMs: 30 })).rejects.toThrow(/timed out after 30 ms waiting for state "running"/);
    await expect(c.lab.waitFor({ timeoutMs: 30 })).rejects.toThrow(/needs a state or a step/);
    await expect(c.lab.waitFor({ state: 'done', timeoutMs: 0 })).rejects.toThrow(/positive timeoutMs/);
  });
});
