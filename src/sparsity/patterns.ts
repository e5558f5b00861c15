// N:M candidate sets. A candidate is a 0/1 vector of length m with exactly n ones; the set is
// ordered lexicographically by the tuple of kept positions (Python's combinations(range(m), n)),
// so for 2:4 the order is [1100, 1010, 1001, 0110, 0101, 0011].

export interface Pattern {
  n: number;
  m: number;
  /** C vectors of length m, lexicographic order of kept positions = combinations(range(m), n). */
  candidates: Uint8Array[];
}

/** Binomial coefficient C(m, n) for the small m used here (exact in doubles). */
export function binomial(m: number, n: number): number {
  let r = 1;
  for (let i = 1; i <= n; i++) r = (r * (m - n + i)) / i;
  return Math.round(r);
}

export function nmPattern(n: number, m: number): Pattern {
  if (!Number.isInteger(n) || !Number.isInteger(m) || n < 1 || m > 8 || n >= m) {
    throw new RangeError(`nmPattern: need integers 1 ≤ n < m ≤ 8, got n=${n}, m=${m}`);
  }
  const candidates: Uint8Array[] = [];
  const kept: number[] = [];
  // Depth-first over increasing positions gives exactly the lexicographic order.
  const walk = (from: number) => {
    if (kept.length === n) {
      const v = new Uint8Array(m);
      for (const k of kept) v[k] = 1;
      candidates.push(v);
      return;
    }
    for (let k = from; k <= m - (n - kept.length); k++) {
      kept.push(k);
      walk(k + 1);
      kept.pop();
    }
  };
  walk(0);
  return { n, m, candidates };
}

/** Storage cost of one candidate index per group: log2(C(m, n)) / m bits per weight (2:4 → 0.646). */
export function bitsPerWeight(p: Pattern): number {
  return Math.log2(p.candidates.length) / p.m;
}

/**
 * Candidate c as a bit mask with kept position k at bit (m − 1 − k) (position 0 is the most
 * significant bit). With this reading the lexicographic candidate order is exactly the order of
 * decreasing mask values, which is how the WGSL kernels enumerate the set without a buffer.
 */
export function candidateBits(p: Pattern): number[] {
  return p.candidates.map((v) => v.reduce((acc, x, k) => acc | (x << (p.m - 1 - k)), 0));
}
