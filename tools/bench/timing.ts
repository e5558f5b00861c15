// Timing helpers shared by the bench sections: median of timed runs after warm-up.

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};

export const geomean = (xs: number[]) => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);

/** ms of each of `reps` runs of `once` (which must include its own synchronisation), after `warm` untimed. */
export async function timeRuns(once: () => Promise<void>, reps: number, warm = 1): Promise<number[]> {
  for (let i = 0; i < warm; i++) await once();
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await once();
    out.push(performance.now() - t0);
  }
  return out;
}
