// Readbacks reuse their MAP_READ staging buffers by size, and two reads in flight never share one.
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu';
import { randn, testSeed } from '../helpers/random';

describe('readback staging buffers', async () => {
  const e = await getEngine();
  const seed = testSeed();

  it.runIf(e)('repeated reads of one size create one staging buffer; values stay exact', async () => {
    const data = randn(1000, seed);
    const t = e!.upload(data, [1000]);
    const before = e!.stats.stagingCreated;
    for (let i = 0; i < 20; i++) expect(Array.from(await e!.read(t))).toEqual(Array.from(data));
    expect(e!.stats.stagingCreated - before).toBe(1);
    t.dispose();
  });

  it.runIf(e)('reads in flight at once each get their own buffer (no value crosses over)', async () => {
    const xs = [0, 1, 2, 3].map((i) => randn(777, seed + 10 + i));
    const ts = xs.map((x) => e!.upload(x, [777]));
    const got = await Promise.all(ts.map((t) => e!.read(t)));
    got.forEach((g, i) => expect(Array.from(g), `read ${i}`).toEqual(Array.from(xs[i])));
    // and once they are back, the next four reads reuse them
    const before = e!.stats.stagingCreated;
    await Promise.all(ts.map((t) => e!.read(t)));
    expect(e!.stats.stagingCreated).toBe(before);
    for (const t of ts) t.dispose();
    expect(e!.takeErrors()).toEqual([]);
  });
});
