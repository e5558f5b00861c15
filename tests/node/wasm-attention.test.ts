// The WebAssembly attention (wasm/attention.ts via src/wasm/attention.ts), forward (out, probs) and
// backward (dqkv), against the CPU twin on an f64 CpuEngine, on fresh seeded inputs: T and D that
// do not divide the 4-lane SIMD width, H = 1..4, causal and not, both modules where the runtime has
// relaxed SIMD; the kernels called directly on NaN-poisoned outputs over split (batch·head) ranges;
// large logits (the max subtraction); a NaN in one query reaching exactly the outputs it should.
import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import type { Engine } from '../../src/backend/engine';
import type { RawTensor } from '../../src/backend/tensor';
import { WasmEngine } from '../../src/backend/wasm';
import { attention, attentionBackward } from '../../src/ops/attention';
import { hasRelaxedSimd } from '../../src/wasm/load';
import { randn, testSeed } from '../helpers/random';

/** [B, T, H, D]: every T with every D, H cycling 1..4. */
const SHAPES: [number, number, number, number][] = [];
for (const T of [1, 3, 17, 65]) for (const D of [1, 3, 4, 7, 16, 64]) SHAPES.push([T > 17 && D > 16 ? 1 : 2, T, 1 + (SHAPES.length % 4), D]);

/**
 * Per row of `row` floats: max |got − want| ≤ tol · max |want| over the row (a row of zeros: ≤ tol).
 * NaN or Inf in `got` fails.
 */
function expectRowsClose(got: ArrayLike<number>, want: ArrayLike<number>, row: number, tol: number, what: string): void {
  expect(got.length, `${what} length`).toBe(want.length);
  for (let r0 = 0; r0 < want.length; r0 += row) {
    let scale = 0,
      err = 0;
    for (let i = r0; i < r0 + row; i++) {
      scale = Math.max(scale, Math.abs(want[i]));
      const d = Math.abs(got[i] - want[i]);
      err = Number.isNaN(d) ? Infinity : Math.max(err, d);
    }
    if (!(err <= tol * Math.max(scale, 1))) expect.fail(`${what}: row ${r0 / row} error ${err} > ${tol} × ${scale}`);
  }
}

function inputs(B: number, T: number, C: number, seed: number, qkScale = 1) {
  const qkv = randn(B * T * 3 * C, seed);
  for (let i = 0; i < qkv.length; i++) if (i % (3 * C) < 2 * C) qkv[i] *= qkScale; // q and k only
  return { qkv, dout: randn(B * T * C, seed + 1) };
}

function run(x: Engine, qkv: Float32Array, dout: Float32Array, shape: number[], heads: number, causal: boolean) {
  const [B, T, C3] = shape;
  const q = x.upload(qkv, shape);
  const f = attention(x, q, { heads, causal });
  const dqkv = attentionBackward(x, x.upload(dout, [B, T, C3 / 3]), q, f.probs, { heads, causal });
  return { out: Array.from(f.out.f32), probs: Array.from(f.probs.f32), dqkv: Array.from(dqkv.f32) };
}

describe('WebAssembly attention vs the CPU twin', async () => {
  const seed = testSeed();
  const cpu = new CpuEngine(true);
  const engines = [await WasmEngine.create({ variant: 'simd' })];
  if (hasRelaxedSimd()) engines.push(await WasmEngine.create({ variant: 'relaxed' }));

  for (const e of engines) {
    for (const causal of [false, true]) {
      it(`${e.variant}: out, probs and dqkv on every shape, causal=${causal} (seed ${seed})`, () => {
        let s = seed;
        for (const [B, T, H, D] of SHAPES) {
          const C = H * D,
            shape = [B, T, 3 * C];
          const { qkv, dout } = inputs(B, T, C, (s += 2));
          const what = `B=${B} T=${T} H=${H} D=${D} causal=${causal} seed=${seed}`;
          const got = run(e, qkv, dout, shape, H, causal),
            want = run(cpu, qkv, dout, shape, H, causal);
          expectRowsClose(got.probs, want.probs, T, 1e-5, `probs ${what}`);
          expectRowsClose(got.out, want.out, C, 1e-5, `out ${what}`);
          expectRowsClose(got.dqkv, want.dqkv, 3 * C, 1e-5, `dqkv ${what}`);
        }
      });
    }

    it(`${e.variant}: the kernels over split (batch·head) ranges write every output (NaN-poisoned first) (seed ${seed})`, () => {
      const [B, T, H, D] = [3, 17, 3, 7];
      const C = H * D,
        shape = [B, T, 3 * C];
      const { qkv, dout } = inputs(B, T, C, seed);
      const want = run(cpu, qkv, dout, shape, H, true);
      const q = e.upload(qkv, shape),
        g = e.upload(dout, [B, T, C]);
      const out = e.fill([B, T, C], NaN),
        probs = e.fill([B, H, T, T], NaN),
        dqkv = e.fill(shape, NaN);
      const k = e.kernels.attention;
      const scratch = e.scratch(k.backwardScratchBytes(T));
      const cut = 1 + (seed % (B * H - 1)); // [0, cut) and [cut, B·H)
      for (const [a, b] of [
        [cut, B * H],
        [0, cut],
      ]) {
        k.forward(e.ptr(q), e.ptr(out), e.ptr(probs), T, C, H, 1, a, b);
        k.backward(e.ptr(g), e.ptr(q), e.ptr(probs), e.ptr(dqkv), scratch, T, C, H, 1, a, b);
      }
      expectRowsClose(probs.f32, want.probs, T, 1e-5, `probs cut=${cut}`);
      expectRowsClose(out.f32, want.out, C, 1e-5, `out cut=${cut}`);
      expectRowsClose(dqkv.f32, want.dqkv, 3 * C, 1e-5, `dqkv cut=${cut}`);
    });

    it(`${e.variant}: logits far past exp's f32 range stay finite (the row max is subtracted) (seed ${seed})`, () => {
      // q, k ×8 at D = 64: logits of std 64, so a row's max is ≫ 88 (e^88 overflows f32). Softmax's
      // own f32 conditioning there is |logit|·2⁻²⁴ relative (≈ 1e-5): hence 1e-3, not 1e-5.
      const [B, T, H, D] = [1, 65, 2, 64];
      const C = H * D,
        shape = [B, T, 3 * C];
      const { qkv, dout } = inputs(B, T, C, seed, 8);
      for (const causal of [false, true]) {
        const got = run(e, qkv, dout, shape, H, causal),
          want = run(cpu, qkv, dout, shape, H, causal);
        expectRowsClose(got.probs, want.probs, T, 1e-3, `probs causal=${causal}`);
        expectRowsClose(got.out, want.out, C, 1e-3, `out causal=${causal}`);
      }
    });

    it(`${e.variant}: a NaN in one query reaches exactly the outputs it should (seed ${seed})`, () => {
      const [B, T, H, D] = [2, 9, 3, 5];
      const C = H * D,
        shape = [B, T, 3 * C];
      const { qkv, dout } = inputs(B, T, C, seed);
      const [b, i, h] = [seed % B, (seed >>> 3) % T, (seed >>> 7) % H];
      qkv[(b * T + i) * 3 * C + h * D + ((seed >>> 11) % D)] = NaN; // q_i of head h
      for (const causal of [false, true]) {
        const got = run(e, qkv, dout, shape, H, causal),
          want = run(cpu, qkv, dout, shape, H, causal);
        const nk = causal ? i + 1 : T;
        const what = `b=${b} i=${i} h=${h} causal=${causal}`;
        // probs: row (b, h, i) NaN on its keys, exact 0 past them; every other row finite
        checkNaN(
          got.probs,
          want.probs,
          (x) => {
            const [j, row] = [x % T, Math.floor(x / T)];
            if (row !== (b * H + h) * T + i) return 'finite';
            return j < nk ? 'nan' : 'zero';
          },
          `probs ${what}`,
        );
        // out: token (b, i), head h's D columns
        checkNaN(got.out, want.out, (x) => (Math.floor(x / C) === b * T + i && Math.floor((x % C) / D) === h ? 'nan' : 'finite'), `out ${what}`);
        // dqkv, head h of batch b: dq of token i; dk and dv of every key that query i visits
        checkNaN(
          got.dqkv,
          want.dqkv,
          (x) => {
            const [tok, col] = [Math.floor(x / (3 * C)), x % (3 * C)];
            const [part, head, t] = [Math.floor(col / C), Math.floor((col % C) / D), tok % T];
            if (Math.floor(tok / T) !== b || head !== h) return 'finite';
            return (part === 0 ? t === i : t < nk) ? 'nan' : 'finite';
          },
          `dqkv ${what}`,
        );
      }
    });
  }

  it('a warm forward + backward creates no arena blocks beyond its outputs', () => {
    const e = engines[0];
    const [B, T, H, D] = [2, 17, 2, 3];
    const q = e.upload(inputs(B, T, H * D, seed).qkv, [B, T, 3 * H * D]);
    const g = e.upload(randn(B * T * H * D, seed), [B, T, H * D]);
    const step = () => {
      const f = attention(e, q, { heads: H, causal: true });
      const d = attentionBackward(e, g, q, f.probs, { heads: H, causal: true });
      for (const t of [f.out, f.probs, d] as RawTensor[]) t.dispose();
    };
    step();
    const before = e.arena.blocksCreated;
    step();
    expect(e.arena.blocksCreated).toBe(before);
  });
});

/** Each element: NaN where `expect` says 'nan', exactly 0 for 'zero', else finite and matching the twin (1e-5 of its magnitude, or 1e-5 absolute). */
function checkNaN(got: number[], want: number[], expected: (i: number) => 'nan' | 'zero' | 'finite', what: string): void {
  for (let x = 0; x < got.length; x++) {
    const k = expected(x);
    const ok =
      k === 'nan'
        ? Number.isNaN(got[x])
        : k === 'zero'
          ? got[x] === 0
          : Number.isFinite(got[x]) && Math.abs(got[x] - want[x]) <= 1e-5 * Math.max(1, Math.abs(want[x]));
    if (!ok) expect.fail(`${what}: element ${x} is ${got[x]} (twin ${want[x]}), expected ${k}`);
  }
}
