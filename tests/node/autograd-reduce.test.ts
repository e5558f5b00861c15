import { describe, expect, it } from 'vitest';
import * as FE from '../../src/autograd/fn/embedding';
import * as FR from '../../src/autograd/fn/reduce';
import { gradcheck } from '../../src/autograd/gradcheck';
import { Tape } from '../../src/autograd/tape';
import { constant, param } from '../../src/autograd/tensor';
import { CpuEngine } from '../../src/backend/cpu';
import * as Emb from '../../src/ops/embedding';
import * as R from '../../src/ops/reduce';
import { randint, randn, testSeed } from '../helpers/random';

describe('reduce CPU twins (hand-computed values, errors)', () => {
  const e = new CpuEngine();
  const x = e.upload([3, -1, 4, -1.5, 5], [5]);
  it('sum, mean, max, sumSquares, l1Distance', () => {
    expect(R.sum(e, x).f32[0]).toBeCloseTo(9.5, 6);
    expect(R.mean(e, x).f32[0]).toBeCloseTo(1.9, 6);
    expect(R.max(e, x).f32[0]).toBe(5);
    expect(R.max(e, e.upload([-7, -3, -9], [3])).f32[0]).toBe(-3);
    expect(R.sumSquares(e, x).f32[0]).toBeCloseTo(9 + 1 + 16 + 2.25 + 25, 5);
    expect(R.l1Distance(e, x, e.upload([1, 1, 1, 1, 1], [5])).f32[0]).toBeCloseTo((2 + 2 + 3 + 2.5 + 4) / 5, 6);
    expect(R.sum(e, e.empty([0])).f32[0]).toBe(0);
    expect(R.sum(e, e.empty([0])).shape).toEqual([1]);
  });
  it('globalSumSquares and clipScale', () => {
    const xs = [e.fill([100], 1), e.fill([25], 2), e.fill([4, 25], 0.5), e.empty([0])]; // 100 + 100 + 25 = 15²
    const s = R.globalSumSquares(e, xs);
    expect(s.f32[0]).toBe(225);
    expect(R.clipScale(e, s, 1).f32[0]).toBeCloseTo(1 / (15 + 1e-6), 7);
    expect(R.clipScale(e, s, 30).f32[0]).toBe(1);
    expect(R.globalSumSquares(e, []).f32[0]).toBe(0);
    expect(Number.isNaN(R.clipScale(e, e.upload([NaN], [1]), 1).f32[0])).toBe(true);
  });
  it('rejects bad input with a specific message', () => {
    expect(() => R.mean(e, e.empty([0]))).toThrow(/mean: .*empty/);
    expect(() => R.max(e, e.empty([2, 0]))).toThrow(/max: .*empty/);
    expect(() => R.sum(e, e.empty([3], 'u32'))).toThrow(/sum: expected an f32 tensor, got u32/);
    expect(() => R.l1Distance(e, e.empty([3]), e.empty([4]))).toThrow(/l1Distance: shapes differ/);
    expect(() => R.clipScale(e, e.empty([2]), 1)).toThrow(/clipScale: sumSq must be a \[1\] tensor/);
    expect(() => R.clipScale(e, e.empty([1]), 0)).toThrow(/clipScale: maxNorm must be a positive/);
  });
});

describe('row-op CPU twins', () => {
  const e = new CpuEngine();
  const table = e.upload([0, 1, 10, 11, 20, 21], [3, 2]);
  it('gatherRows / scatterAddRows / concatRows / sliceRows by hand', () => {
    const idx = e.upload([2, 0, 2], [3], 'u32');
    expect(Array.from(Emb.gatherRows(e, table, idx).f32)).toEqual([20, 21, 0, 1, 20, 21]);
    const g = e.upload([1, 2, 3, 4, 5, 6], [3, 2]);
    expect(Array.from(Emb.scatterAddRows(e, g, idx, 4).f32)).toEqual([3, 4, 0, 0, 6, 8, 0, 0]);
    const c = Emb.concatRows(e, table, e.upload([7, 8], [1, 2]));
    expect(c.shape).toEqual([4, 2]);
    expect(Array.from(c.f32)).toEqual([0, 1, 10, 11, 20, 21, 7, 8]);
    expect(Array.from(Emb.sliceRows(e, c, 1, 2).f32)).toEqual([10, 11, 20, 21]);
    expect(Emb.gatherRows(e, table, e.empty([0], 'u32')).shape).toEqual([0, 2]);
  });
  it('out-of-range indices throw naming the index; bad shapes are named', () => {
    const live = e.liveTensors;
    expect(() => Emb.gatherRows(e, table, e.upload([0, 3], [2], 'u32'))).toThrow(/gatherRows: index 3 at position 1 is out of range for 3 rows/);
    expect(() => Emb.scatterAddRows(e, e.empty([2, 2]), e.upload([5, 0], [2], 'u32'), 3)).toThrow(/scatterAddRows: index 5 at position 0/);
    expect(e.liveTensors).toBe(live + 3); // only the inputs made above (2 index tensors, 1 grad): no output leaked
    expect(() => Emb.gatherRows(e, table, e.upload([0], [1], 'f32'))).toThrow(/indices must be u32/);
    expect(() => Emb.gatherRows(e, e.empty([6]), e.upload([0], [1], 'u32'))).toThrow(/the table must be 2-D/);
    expect(() => Emb.scatterAddRows(e, e.empty([2, 2]), e.upload([0], [1], 'u32'), 3)).toThrow(/1 indices for 2 gradient rows/);
    expect(() => Emb.concatRows(e, table, e.empty([1, 3]))).toThrow(/concatRows: shapes \[3, 2\] and \[1, 3\] differ/);
    expect(() => Emb.sliceRows(e, table, 2, 2)).toThrow(/sliceRows: rows 2..4 are outside the 3 rows/);
  });
});

describe('autograd: reductions and row ops (finite differences, f64 CPU)', () => {
  const s = testSeed();
  const X = { data: randn(15, s), shape: [3, 5] };
  it('sum', async () => {
    const r = await gradcheck((t, [x]) => FR.sum(t, x), [X]);
    expect(r.worst, `seed ${s}`).toBeLessThan(1e-6);
  });
  it('mean', async () => {
    const r = await gradcheck((t, [x]) => FR.mean(t, x), [X]);
    expect(r.worst, `seed ${s}`).toBeLessThan(1e-6);
  });
  it('embedding (repeated indices accumulate)', async () => {
    const idx = { data: [4, 1, 4, 0, 4, 2], shape: [6], dtype: 'u32' as const };
    const table = { data: randn(5 * 3, s + 1), shape: [5, 3] }; // row 3 is never looked up: zero gradient
    const r = await gradcheck((t, [w, i]) => FE.embedding(t, w, i), [table, idx]);
    expect(r.errors[1]).toBeNull();
    expect(r.worst, `seed ${s}`).toBeLessThan(1e-6);
  });
  it('embedding on random indices', async () => {
    const idx = { data: randint(9, s + 2, 4), shape: [9], dtype: 'u32' as const };
    const r = await gradcheck((t, [w, i]) => FE.embedding(t, w, i), [{ data: randn(8, s + 3), shape: [4, 2] }, idx]);
    expect(r.worst, `seed ${s}`).toBeLessThan(1e-6);
  });
  it('concatRows', async () => {
    const a = { data: randn(6, s + 4), shape: [2, 3] };
    const b = { data: randn(9, s + 5), shape: [3, 3] };
    const r = await gradcheck((t, [x, y]) => FE.concatRows(t, x, y), [a, b]);
    expect(r.worst, `seed ${s}`).toBeLessThan(1e-6);
  });
  it('a composed graph: mean(concat(embedding, x)) frees what the tape owns', () => {
    const e = new CpuEngine();
    const w = param(e.upload([1, 2, 3, 4], [2, 2]));
    const x = param(e.upload([5, 6], [1, 2]));
    const tape = new Tape(e);
    const idx = constant(e.upload([1, 1, 0], [3], 'u32'));
    const y = FR.mean(tape, FE.concatRows(tape, FE.embedding(tape, w, idx), x));
    expect(y.raw.f32[0]).toBeCloseTo((3 + 4 + 3 + 4 + 1 + 2 + 5 + 6) / 8, 6);
    tape.backward(y);
    expect(Array.from(w.grad!.f32)).toEqual([1 / 8, 1 / 8, 2 / 8, 2 / 8]);
    expect(Array.from(x.grad!.f32)).toEqual([1 / 8, 1 / 8]);
    tape.dispose();
    idx.raw.dispose();
    expect(e.liveTensors).toBe(4); // w, x and their grads
  });
  it('a wrong mean backward would be caught (the check can fail)', async () => {
    const r = await gradcheck((t, [x]) => t.record('bad', FR.mean(t, x).raw, [x], (g) => [R.broadcastScalar(t.engine, g, x.shape, 1)]), [X]);
    expect(r.worst).toBeGreaterThan(0.1);
  });
});
