import { describe, expect, it } from 'vitest';
import * as F from '../../src/autograd/fn/elementwise';
import { gradcheck } from '../../src/autograd/gradcheck';
import { Tape } from '../../src/autograd/tape';
import { param } from '../../src/autograd/tensor';
import { CpuEngine } from '../../src/backend/cpu';
import { randn, testSeed } from '../helpers/random';

describe('autograd: elementwise ops (finite differences, f64 CPU)', () => {
  const s = testSeed();
  const A = { data: randn(12, s), shape: [3, 4] };
  const B = { data: randn(12, s + 1), shape: [3, 4] };
  const b = { data: randn(4, s + 2), shape: [4] };
  it.each([
    ['add', F.add, B],
    ['add (broadcast)', F.add, b],
    ['sub', F.sub, B],
    ['sub (broadcast)', F.sub, b],
    ['mul', F.mul, B],
    ['mul (broadcast)', F.mul, b],
  ] as const)('%s', async (_n, f, other) => {
    const r = await gradcheck((t, [x, y]) => f(t, x, y), [A, other]);
    expect(r.worst, `seed ${s}`).toBeLessThan(1e-6);
  });
  it('scale', async () => {
    const r = await gradcheck((t, [x]) => F.scale(t, x, -2.5), [A]);
    expect(r.worst).toBeLessThan(1e-6);
  });
  it('accumulates a gradient used twice and frees what the tape owns', () => {
    const e = new CpuEngine();
    const x = param(e.upload([1, 2, 3], [3]));
    const tape = new Tape(e);
    const y = F.mul(tape, x, x); // y = x², dy/dx = 2x
    tape.backward(y);
    expect(Array.from(x.grad!.f32)).toEqual([2, 4, 6]);
    tape.dispose();
    expect(e.liveTensors).toBe(2); // only x and x.grad survive the tape
  });
  it('a wrong backward is caught (the check can fail)', async () => {
    const e = new CpuEngine(true);
    const r = await gradcheck((t, [x]) => t.record('bad', F.scale(t, x, 2).raw, [x], (g) => [g.engine === e ? g : g]), [A]);
    expect(r.worst).toBeGreaterThan(0.1);
  });
});
