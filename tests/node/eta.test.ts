// The time left in a long phase (src/lab/eta.ts): from the rate since the phase and its detail began.
import { describe, expect, it } from 'vitest';
import { etaStamper } from '../../src/lab/eta';
import type { SessionEvent } from '../../src/lab/session';

const p = (done: number, total: number, detail = 'sparsegpt'): SessionEvent => ({ type: 'progress', phase: 'baselines', done, total, detail });
const eta = (e: SessionEvent) => (e.type === 'progress' ? e.etaSeconds : undefined);

describe('etaStamper', () => {
  it('estimates from the rate since the phase began; a new detail or phase restarts the clock', () => {
    let t = 0;
    const stamp = etaStamper(() => t);
    expect(eta(stamp(p(0, 48)))).toBeUndefined(); // starts the clock
    t = 10_000;
    expect(eta(stamp(p(2, 48)))).toBeCloseTo(230); // 0.2 sites/s, 46 left
    t = 20_000;
    expect(eta(stamp(p(8, 48)))).toBeCloseTo(100); // 8 sites in 20 s, 40 left
    expect(eta(stamp(p(48, 48)))).toBeUndefined(); // finished
    expect(eta(stamp(p(0, 48, 'wanda')))).toBeUndefined();
    t = 21_000;
    expect(eta(stamp(p(12, 48, 'wanda')))).toBeCloseTo(3);
    // learning has its own rate and ETA; other events pass unchanged
    const learning: SessionEvent = { type: 'progress', phase: 'learning', done: 3, total: 10 };
    expect(stamp(learning)).toBe(learning);
    const err: SessionEvent = { type: 'error', message: 'x' };
    expect(stamp(err)).toBe(err);
  });
});
