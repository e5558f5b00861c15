// Logit initialisation, transfer of a prior mask into the logits, and hard mask ↔ candidate index.
import { rngUniformCpu } from '../ops/rng';
import { elementIndex, type GroupLayout } from './layout';
import type { Pattern } from './patterns';

/** groups × C logits ~ Normal(0, σ0²) from the counter RNG at (seed, stream, offset 0), Box–Muller. */
export function initLogits(groups: number, p: Pattern, sigma0: number, seed: number, stream: number): Float32Array {
  if (!Number.isInteger(groups) || groups < 0) throw new Error(`initLogits: groups must be an integer ≥ 0, got ${groups}`);
  if (!(sigma0 >= 0) || !Number.isFinite(sigma0)) throw new Error(`initLogits: sigma0 must be a finite number ≥ 0, got ${sigma0}`);
  const n = groups * p.candidates.length;
  const u = rngUniformCpu({ seed, stream, offset: 0 }, n + (n & 1));
  const out = new Float32Array(n);
  // u ∈ (0, 1) open, so log(u) is finite; each pair gives two independent normals.
  for (let i = 0; i < n; i += 2) {
    const r = sigma0 * Math.sqrt(-2 * Math.log(u[i]));
    const a = 2 * Math.PI * u[i + 1];
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

function checkSizes(what: string, maskLen: number, g: GroupLayout, p: Pattern): void {
  if (p.m !== g.m) throw new Error(`${what}: pattern is ${p.n}:${p.m} but the group layout has m=${g.m}`);
  if (maskLen !== g.rows * g.cols) throw new Error(`${what}: mask has ${maskLen} elements, the weight ${g.rows * g.cols} ([${g.rows} out × ${g.cols} in])`);
}

/** Bit mask (position k at bit m−1−k) → candidate index, −1 where not a candidate. */
function candidateLookup(p: Pattern): Int16Array {
  const lut = new Int16Array(1 << p.m).fill(-1);
  p.candidates.forEach((v, c) => {
    lut[v.reduce((acc, x, k) => acc | (x << (p.m - 1 - k)), 0)] = c;
  });
  return lut;
}

/** Candidate index per group of a weight-shaped 0/1 mask; throws if a group is not exactly N:M. */
export function choiceFromMask(mask: ArrayLike<number>, g: GroupLayout, p: Pattern): Uint32Array {
  checkSizes('choiceFromMask', mask.length, g, p);
  const lut = candidateLookup(p);
  const out = new Uint32Array(g.groups);
  for (let grp = 0; grp < g.groups; grp++) {
    let bits = 0;
    for (let k = 0; k < p.m; k++) {
      const i = elementIndex(g, grp, k);
      const v = mask[i];
      if (v !== 0 && v !== 1) throw new Error(`choiceFromMask: mask value ${v} at element ${i} (group ${grp}) is not 0 or 1`);
      bits |= v << (p.m - 1 - k);
    }
    const c = lut[bits];
    if (c < 0) {
      const kept = Array.from({ length: p.m }, (_, k) => mask[elementIndex(g, grp, k)]).join('');
      throw new Error(`choiceFromMask: group ${grp} keeps [${kept}], not exactly ${p.n} of ${p.m}`);
    }
    out[grp] = c;
  }
  return out;
}

/** Weight-shaped 0/1 mask from a candidate index per group. */
export function maskFromChoice(choice: ArrayLike<number>, g: GroupLayout, p: Pattern): Uint8Array {
  if (p.m !== g.m) throw new Error(`maskFromChoice: pattern is ${p.n}:${p.m} but the group layout has m=${g.m}`);
  if (choice.length !== g.groups) throw new Error(`maskFromChoice: ${choice.length} choices for ${g.groups} groups`);
  const out = new Uint8Array(g.rows * g.cols);
  for (let grp = 0; grp < g.groups; grp++) {
    const c = choice[grp];
    if (!Number.isInteger(c) || c < 0 || c >= p.candidates.length)
      throw new Error(`maskFromChoice: choice ${c} of group ${grp} is not a candidate index (0..${p.candidates.length - 1})`);
    const S = p.candidates[c];
    for (let k = 0; k < p.m; k++) out[elementIndex(g, grp, k)] = S[k];
  }
  return out;
}

/**
 * Transfer a prior mask: π_i += std(π)·α·(prior·S_i − N/2), std over all of this layer's logits
 * taken once before the add (population std; torch's default n − 1 differs by √(n/(n−1))). For 2:4
 * the prior's own candidate gets +α·σ, its complement −α·σ and the 4 neighbours 0.
 */
export function applyPrior(logits: Float32Array, priorMask: Uint8Array | Float32Array, g: GroupLayout, p: Pattern, alpha: number): void {
  checkSizes('applyPrior', priorMask.length, g, p);
  const C = p.candidates.length;
  if (logits.length !== g.groups * C) throw new Error(`applyPrior: ${logits.length} logits for ${g.groups} groups × ${C} candidates`);
  if (!Number.isFinite(alpha)) throw new Error(`applyPrior: alpha must be finite, got ${alpha}`);
  let prior: Uint32Array;
  try {
    prior = choiceFromMask(priorMask, g, p);
  } catch (err) {
    throw new Error(`applyPrior: the prior is not a valid ${p.n}:${p.m} mask: ${(err as Error).message}`, { cause: err });
  }
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += logits[i];
  const mean = s / logits.length;
  let q = 0;
  for (let i = 0; i < logits.length; i++) q += (logits[i] - mean) ** 2;
  const std = Math.sqrt(q / logits.length);
  // overlap[a][b] = prior candidate a · candidate b (kept positions in common)
  const overlap = p.candidates.map((a) => p.candidates.map((b) => a.reduce((acc, x, k) => acc + x * b[k], 0)));
  for (let grp = 0; grp < g.groups; grp++) {
    const row = overlap[prior[grp]];
    for (let c = 0; c < C; c++) logits[grp * C + c] += std * alpha * (row[c] - p.n / 2);
  }
}
