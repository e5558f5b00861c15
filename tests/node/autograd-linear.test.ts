import { describe, expect, it } from 'vitest';
import { add } from '../../src/autograd/fn/elementwise';
import { linear, matmul, type WeightLayout } from '../../src/autograd/fn/linear';
import { gradcheck } from '../../src/autograd/gradcheck';
import { Tape } from '../../src/autograd/tape';
import { constant, param } from '../../src/autograd/tensor';
import { CpuEngine } from '../../src/backend/cpu';
import { randn, testSeed } from '../helpers/random';

const TOL = 1e-6;

describe('autograd: matmul and linear (finite differences, f64 CPU)', () => {
  const s = testSeed();
  const inp = (shape: number[], k: number) => ({
    data: randn(
      shape.reduce((x, y) => x * y, 1),
      s + k,
    ),
    shape,
  });
  const sa = (m: number, k: number, t: boolean) => (t ? [k, m] : [m, k]);
  const sb = (k: number, n: number, t: boolean) => (t ? [n, k] : [k, n]);

  for (const tA of [false, true])
    for (const tB of [false, true]) {
      it(`matmul 2-D 3×4×2 transA=${tA} transB=${tB}`, async () => {
        const r = await gradcheck((t, [a, b]) => matmul(t, a, b, { transA: tA, transB: tB }), [inp(sa(3, 4, tA), 1), inp(sb(4, 2, tB), 2)]);
        expect(r.worst, `seed ${s}`).toBeLessThan(TOL);
      });
      it(`matmul batched [2,3,4]·[2,4,2] transA=${tA} transB=${tB}`, async () => {
        const r = await gradcheck((t, [a, b]) => matmul(t, a, b, { transA: tA, transB: tB }), [inp([2, ...sa(3, 4, tA)], 3), inp([2, ...sb(4, 2, tB)], 4)]);
        expect(r.worst, `seed ${s}`).toBeLessThan(TOL);
      });
    }

  for (const tB of [false, true]) {
    it(`matmul with folded leading dims [2,3,4]·W transB=${tB}`, async () => {
      const r = await gradcheck((t, [a, b]) => matmul(t, a, b, { transB: tB }), [inp([2, 3, 4], 5), inp(sb(4, 3, tB), 6)]);
      expect(r.worst, `seed ${s}`).toBeLessThan(TOL);
    });
  }

  it('matmul gradient of only one operand (the other a constant)', async () => {
    const r = await gradcheck((t, [a, b]) => matmul(t, a, b), [inp([3, 4], 7), { ...inp([4, 2], 8), grad: false }]);
    expect(r.errors[1]).toBeNull();
    expect(r.worst, `seed ${s}`).toBeLessThan(TOL);
  });

  const layouts: WeightLayout[] = ['out_in', 'in_out'];
  for (const layout of layouts)
    for (const withBias of [true, false]) {
      it(`linear ${layout} rank-3 x [2,3,5] → 4, bias=${withBias}`, async () => {
        const w = inp(layout === 'out_in' ? [4, 5] : [5, 4], 9);
        const ins = [inp([2, 3, 5], 10), w, ...(withBias ? [inp([4], 11)] : [])];
        const r = await gradcheck((t, [x, W, b]) => linear(t, x, W, b ?? null, layout), ins);
        expect(r.worst, `seed ${s}`).toBeLessThan(TOL);
      });
    }

  it('linear 2-D x, weight frozen: only x and bias get gradients', async () => {
    const r = await gradcheck((t, [x, W, b]) => linear(t, x, W, b, 'out_in'), [inp([3, 5], 12), { ...inp([4, 5], 13), grad: false }, inp([4], 14)]);
    expect(r.errors[1]).toBeNull();
    expect(r.worst, `seed ${s}`).toBeLessThan(TOL);
  });

  it('only inputs with requiresGrad get a gradient; the tape frees everything else', () => {
    const e = new CpuEngine();
    const x = constant(e.upload(randn(6, s), [2, 3]));
    const w = param(e.upload(randn(12, s + 1), [4, 3]));
    const tape = new Tape(e);
    const y = linear(tape, x, w, null, 'out_in');
    tape.backward(add(tape, y, y));
    expect(x.grad).toBeNull();
    expect(w.grad?.shape).toEqual([4, 3]);
    tape.dispose();
    expect(e.liveTensors).toBe(3); // x, w, w.grad
  });

  it('a wrong layout gives a wrong gradient (the check can fail)', async () => {
    // builds with 'in_out' but feeds the backward of 'out_in' through a square weight
    const r = await gradcheck(
      (t, [x, W]) => {
        const good = linear(t, x, W, null, 'in_out');
        const bad = linear(t, x, W, null, 'out_in');
        return t.record('swap', good.raw, [x, W], (g) => bad.node!.backward(g));
      },
      [inp([2, 3], 15), inp([3, 3], 16)],
    );
    expect(r.worst).toBeGreaterThan(0.01);
  });

  it('rejects bad shapes with specific messages', () => {
    const e = new CpuEngine();
    const tape = new Tape(e);
    const c = (shape: number[]) => constant(e.zeros(shape));
    expect(() => linear(tape, c([2, 5]), c([4, 6]), null, 'out_in')).toThrow(/x's last dim is 5 but the out_in weight \[4, 6\] expects 6/);
    expect(() => linear(tape, c([2, 5]), c([5, 4]), c([5]), 'in_out')).toThrow(/bias must have shape \[4\]/);
    expect(() => linear(tape, c([2, 5]), c([5]), null, 'in_out')).toThrow(/weight must be 2-D/);
    expect(() => linear(tape, c([5]), c([5, 4]), null, 'in_out')).toThrow(/x must have rank ≥ 2/);
    expect(() => linear(tape, c([2, 5]), c([5, 4]), null, 'io' as WeightLayout)).toThrow(/unknown weight layout 'io'/);
    expect(() => matmul(tape, c([2, 5]), c([4, 3]))).toThrow(/inner dimensions differ/);
  });
});
