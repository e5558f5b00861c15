import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import { matmul, matmulFlat, matmulGeometry } from '../../src/ops/matmul';
import { expectClose } from '../helpers/close';
import { randn, testSeed } from '../helpers/random';

// Independent reference: explicit transposes into plain nested arrays, then the textbook triple loop.
function reference(
  a: Float32Array,
  b: Float32Array,
  batch: number,
  m: number,
  k: number,
  n: number,
  tA: boolean,
  tB: boolean,
  shareB: boolean,
  bias?: Float32Array,
): Float64Array {
  const out = new Float64Array(batch * m * n);
  for (let z = 0; z < batch; z++) {
    const A = (i: number, p: number) => a[z * m * k + (tA ? p * m + i : i * k + p)];
    const zb = shareB ? 0 : z;
    const B = (p: number, j: number) => b[zb * k * n + (tB ? j * k + p : p * n + j)];
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = bias ? bias[j] : 0;
        for (let p = 0; p < k; p++) s += A(i, p) * B(p, j);
        out[z * m * n + i * n + j] = s;
      }
    }
  }
  return out;
}

describe('matmul CPU twin', () => {
  const seed = testSeed();
  const e = new CpuEngine(true); // f64 storage: the twin should match the reference to rounding
  const shapeA = (m: number, k: number, tA: boolean) => (tA ? [k, m] : [m, k]);
  const shapeB = (k: number, n: number, tB: boolean) => (tB ? [n, k] : [k, n]);

  it.each([
    [1, 1, 1],
    [5, 7, 3],
    [1, 9, 6],
    [6, 1, 4],
    [13, 8, 1],
  ])('2-D %i×%i×%i, every transpose combination, with and without bias', (m, k, n) => {
    for (const tA of [false, true])
      for (const tB of [false, true])
        for (const withBias of [false, true]) {
          const a = randn(m * k, seed),
            b = randn(k * n, seed + 1),
            bias = withBias ? randn(n, seed + 2) : undefined;
          const out = matmul(e, e.upload(a, shapeA(m, k, tA)), e.upload(b, shapeB(k, n, tB)), {
            transA: tA,
            transB: tB,
            bias: bias && e.upload(bias, [n]),
          });
          expect(out.shape).toEqual([m, n]);
          expectClose(out.f32, reference(a, b, 1, m, k, n, tA, tB, true, bias), 1e-12, `tA=${tA} tB=${tB} bias=${withBias} seed=${seed}`);
        }
  });

  it('batched [3,4,5]·[3,5,2] with every transpose combination', () => {
    const [B, m, k, n] = [3, 4, 5, 2];
    for (const tA of [false, true])
      for (const tB of [false, true]) {
        const a = randn(B * m * k, seed + 3),
          b = randn(B * k * n, seed + 4);
        const out = matmul(e, e.upload(a, [B, ...shapeA(m, k, tA)]), e.upload(b, [B, ...shapeB(k, n, tB)]), { transA: tA, transB: tB });
        expect(out.shape).toEqual([B, m, n]);
        expectClose(out.f32, reference(a, b, B, m, k, n, tA, tB, false), 1e-12, `batched tA=${tA} tB=${tB}`);
      }
  });

  it('folds leading dims of a into rows when b is 2-D ([2,3,5]·[5,4] and transB)', () => {
    const a = randn(2 * 3 * 5, seed + 5),
      b = randn(5 * 4, seed + 6),
      bias = randn(4, seed + 7);
    for (const tB of [false, true]) {
      const out = matmul(e, e.upload(a, [2, 3, 5]), e.upload(b, shapeB(5, 4, tB)), { transB: tB, bias: e.upload(bias, [4]) });
      expect(out.shape).toEqual([2, 3, 4]);
      expectClose(out.f32, reference(a, b, 1, 6, 5, 4, false, tB, true, bias), 1e-12, `fold tB=${tB}`);
    }
  });

  it('matmulFlat reads both operands as matrices (Xᵀ·G over folded rows)', () => {
    const x = randn(2 * 3 * 5, seed + 8),
      g = randn(2 * 3 * 4, seed + 9);
    const out = matmulFlat(e, e.upload(x, [2, 3, 5]), e.upload(g, [2, 3, 4]), { transA: true });
    expect(out.shape).toEqual([5, 4]);
    expectClose(out.f32, reference(x, g, 1, 5, 6, 4, true, false, true), 1e-12, 'flat');
  });

  it('f32 engine stores rounded f64 sums', () => {
    const c = new CpuEngine();
    const a = randn(7 * 9, seed + 10),
      b = randn(9 * 3, seed + 11);
    const out = matmul(c, c.upload(a, [7, 9]), c.upload(b, [9, 3]));
    expect(out.f32).toBeInstanceOf(Float32Array);
    const want = reference(a, b, 1, 7, 9, 3, false, false, true);
    expect(Array.from(out.f32)).toEqual(Array.from(want, Math.fround));
  });

  it('the reference tells transposes apart (the comparison can fail)', () => {
    const a = randn(9, seed + 12),
      b = randn(9, seed + 13);
    const out = matmul(e, e.upload(a, [3, 3]), e.upload(b, [3, 3]), { transA: true });
    expect(() => expectClose(out.f32, reference(a, b, 1, 3, 3, 3, false, false, true), 1e-6)).toThrow();
  });

  it('rejects bad shapes with specific messages', () => {
    const t = (s: number[]) => e.zeros(s);
    expect(() => matmul(e, t([3]), t([3, 2]))).toThrow(/a must have rank ≥ 2/);
    expect(() => matmul(e, t([2, 3]), t([3]))).toThrow(/b must have rank ≥ 2/);
    expect(() => matmul(e, t([2, 3]), t([4, 2]))).toThrow(/inner dimensions differ \(K = 3 from a, 4 from b\)/);
    expect(() => matmul(e, t([2, 3]), t([2, 4]), { transB: true })).toThrow(/inner dimensions differ/);
    expect(() => matmul(e, t([2, 3, 4]), t([3, 5]), { transA: true })).toThrow(/transA needs a rank-2 a/);
    expect(() => matmul(e, t([2, 3, 4]), t([3, 4, 5]))).toThrow(/identical leading dims/);
    expect(() => matmul(e, t([3, 4]), t([2, 4, 5]))).toThrow(/identical leading dims/);
    expect(() => matmul(e, t([3, 4]), t([4, 5]), { bias: t([4]) })).toThrow(/bias must have shape \[5\]/);
    expect(() => matmul(e, e.zeros([3, 4], 'u32'), t([4, 5]))).toThrow(/a must be f32/);
    expect(() => matmulGeometry([2, 3], [3, 4])).not.toThrow();
  });
});
