// WasmEngine's memory and loading: tensors survive memory.grow (their views are re-created; with an
// unshared memory and with the thread pool's shared one), the
// arena reuses freed blocks (a repeated matmul creates none once warm), an impossible allocation is
// refused naming its size, and without relaxed SIMD (Node 20 by default) the SIMD module is chosen
// (with it: wasm-relaxed.test.ts).
import { describe, expect, it } from 'vitest';
import { WasmEngine } from '../../src/backend/wasm';
import { hasRelaxedSimd, moduleBytes } from '../../src/wasm/load';
import { matmul } from '../../src/ops/matmul';
import { randn, testSeed } from '../helpers/random';

describe('WasmEngine memory', () => {
  const seed = testSeed();

  for (const threads of [1, 2]) {
    it(`${threads} thread(s): a tensor's view is re-created after the memory grows; a view taken before is detached (unshared) or keeps its old length (shared) (seed ${seed})`, async () => {
      const e = await WasmEngine.create({ variant: 'simd', initialPages: 1, threads });
      expect(e.threads).toBe(threads);
      const shared = e.memory.buffer instanceof SharedArrayBuffer;
      expect(shared).toBe(threads > 1);
      const x = randn(1000, seed);
      const t = e.upload(x, [10, 100]);
      const v = t.view([1000]);
      const before = t.f32;
      const oldBuffer = e.memory.buffer;
      const grows = e.arena.grows;
      const big = e.empty([1 << 20]); // 4 MiB: past the one 64 KiB page
      expect(e.arena.grows).toBeGreaterThan(grows);
      // either way memory.buffer is a new object after the grow, which is what WasmStore watches
      expect(e.memory.buffer).not.toBe(oldBuffer);
      expect(e.memory.buffer.byteLength).toBeGreaterThan(oldBuffer.byteLength);
      if (shared) {
        // a shared memory's old SharedArrayBuffer is not detached: the old view still reads the
        // values, over the old buffer's length only
        expect(oldBuffer.byteLength).toBe(65536);
        expect(Array.from(before)).toEqual(Array.from(x));
      } else {
        expect(before.length).toBe(0); // the trap: the old ArrayBuffer is detached
      }
      expect(Array.from(t.f32)).toEqual(Array.from(x));
      expect(Array.from(v.f32)).toEqual(Array.from(x));
      expect(t.f32.buffer).toBe(e.memory.buffer);
      // the new tensor past the old length is usable from JS (its view is over the new buffer)
      big.f32[big.size - 1] = 5;
      expect(big.f32[big.size - 1]).toBe(5);
      big.dispose();
      t.dispose();
      expect(e.liveTensors).toBe(0);
      expect(e.arena.liveBytes).toBe(0);
      e.destroy();
    });
  }

  it('zeroes a reused block (empty() is zero, as on the CPU engine)', async () => {
    const e = await WasmEngine.create({ variant: 'simd' });
    const t = e.fill([300], 7);
    t.dispose();
    const u = e.empty([300]);
    expect(u.f32.every((v) => v === 0)).toBe(true);
  });

  it(`a repeated matmul creates no blocks and grows nothing once warm (seed ${seed})`, async () => {
    const e = await WasmEngine.create({ variant: 'simd', initialPages: 1 });
    const a = e.upload(randn(70 * 300, seed), [70, 300]),
      b = e.upload(randn(300 * 45, seed + 1), [300, 45]),
      m = e.upload(randn(300 * 45, seed + 2), [300, 45]);
    const step = () => {
      const y = matmul(e, a, b, { bMask: m });
      const z = matmul(e, y, b, { transB: true });
      y.dispose();
      z.dispose();
    };
    step();
    const warm = e.arena;
    for (let i = 0; i < 5; i++) step();
    expect(e.arena.blocksCreated).toBe(warm.blocksCreated);
    expect(e.arena.grows).toBe(warm.grows);
    expect(e.liveTensors).toBe(3);
  });

  it('refuses an allocation past 4 GiB, naming the size', async () => {
    const e = await WasmEngine.create({ variant: 'simd' });
    expect(() => e.empty([2 ** 30 + 1])).toThrow(/4294967300 bytes asked .* over the 4 GiB/);
    expect(e.liveTensors).toBe(0);
  });
});

describe('relaxed SIMD detection', () => {
  it('the probe agrees with validating the relaxed kernel module; without it the SIMD module is chosen', async () => {
    expect(hasRelaxedSimd()).toBe(WebAssembly.validate(moduleBytes('matmul', 'relaxed')));
    expect(WebAssembly.validate(moduleBytes('matmul', 'simd'))).toBe(true);
    if (!hasRelaxedSimd()) {
      expect((await WasmEngine.create()).variant).toBe('simd');
      await expect(WasmEngine.create({ variant: 'relaxed' })).rejects.toThrow(/no relaxed SIMD .*--experimental-wasm-relaxed-simd/);
    }
  });
});
