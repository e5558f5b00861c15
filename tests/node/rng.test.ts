import { describe, expect, it } from 'vitest';
import { bitsToOpenUnit, rngBitsCpu, rngUniformCpu, threefry2x32 } from '../../src/ops/rng';

describe('Threefry-2x32-20 (CPU)', () => {
  // Known-answer vectors of the Random123 reference implementation (kat_vectors, threefry2x32_20).
  it('matches the Random123 known answers', () => {
    expect(threefry2x32(0, 0, 0, 0)).toEqual([0x6b200159, 0x99ba4efe]);
    expect(threefry2x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff)).toEqual([0x1cb996fc, 0xbb002be7]);
    expect(threefry2x32(0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3)).toEqual([0xc4923a9c, 0x483df7a0]);
  });

  it('streams continue across offsets and differ across streams', () => {
    const a = rngBitsCpu({ seed: 5, stream: 1, offset: 0 }, 10);
    const b = rngBitsCpu({ seed: 5, stream: 1, offset: 2 }, 6);
    expect(Array.from(b)).toEqual(Array.from(a.slice(4)));
    const c = rngBitsCpu({ seed: 5, stream: 2, offset: 0 }, 10);
    expect(Array.from(c)).not.toEqual(Array.from(a));
  });

  it('maps bits into the open unit interval', () => {
    expect(bitsToOpenUnit(0)).toBeGreaterThan(0);
    expect(bitsToOpenUnit(0xffffffff)).toBeLessThan(1);
    const u = rngUniformCpu({ seed: 1, stream: 0, offset: 0 }, 20000);
    const mean = u.reduce((s, x) => s + x, 0) / u.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
  });
});
