// The layer map's data, computed where the logits and weights are (the engine worker) so that the
// page receives only what it draws: for the large map of one layer, one cell per weight when the
// layer fits the page's cell budget (kept or pruned, |w| as intensity, the group's confidence, flip
// and agreement with the prior), else one cell per block of fr output rows × fg groups (averages,
// flip counts); for the small multiples, every layer's summary (mean confidence, flips, agreement
// with the prior) with a thumbnail of its confidence downsampled to a few thousand cells.
// Pure: the runner (src/lab/runner.ts) reads the arrays and calls these; tests/node/layer-map.test.ts
// checks the downsampling.
import { elementIndex, type GroupLayout } from './layout';
import type { Pattern } from './patterns';

/** How a grid of rows × perRow groups is reduced to at most `maxCells` cells. */
export interface BlockPlan {
  /** one cell per weight (perRow · m cells per output row), no downsampling */
  perWeight: boolean;
  /** output rows per cell (1 when per weight) */
  fr: number;
  /** groups per cell along the input (1 when per weight) */
  fg: number;
  /** cells down and across */
  outRows: number;
  outCols: number;
}

/**
 * The plan for a layer of `rows` output rows × `perRow` groups of `m` weights within `maxCells`:
 * per weight when rows · perRow · m fits (and `allowPerWeight`), else square-ish blocks of groups, as
 * small as fit (blocks never span more rows or groups than the layer has). maxCells ≥ 1.
 */
export function planBlocks(rows: number, perRow: number, m: number, maxCells: number, allowPerWeight = true): BlockPlan {
  if (![rows, perRow, m].every((x) => Number.isInteger(x) && x >= 1)) throw new RangeError(`planBlocks: bad grid ${rows} × ${perRow} × ${m}`);
  const budget = Math.max(1, Math.floor(maxCells));
  if (allowPerWeight && rows * perRow * m <= budget) return { perWeight: true, fr: 1, fg: 1, outRows: rows, outCols: perRow * m };
  const cells = (fr: number, fg: number) => Math.ceil(rows / fr) * Math.ceil(perRow / fg);
  // start from the square block that would fit if nothing were clamped, then grow the smaller side
  const f = Math.max(1, Math.floor(Math.sqrt((rows * perRow) / budget)));
  let fr = Math.min(rows, f);
  let fg = Math.min(perRow, f);
  while (cells(fr, fg) > budget) {
    // grow along the dimension that still has room, the one whose cells are more numerous first
    const canR = fr < rows;
    const canG = fg < perRow;
    if (canR && (!canG || Math.ceil(rows / fr) >= Math.ceil(perRow / fg))) fr = nextFactor(rows, fr);
    else fg = nextFactor(perRow, fg);
  }
  return { perWeight: false, fr, fg, outRows: Math.ceil(rows / fr), outCols: Math.ceil(perRow / fg) };
}

/** The smallest block size above `f` that lowers ceil(n / size) (so every step removes cells). */
function nextFactor(n: number, f: number): number {
  const now = Math.ceil(n / f);
  if (now <= 1) return n;
  return Math.ceil(n / (now - 1));
}

/** What the learner knows about one site (LabSession.maskView's arrays). */
export interface SiteMask {
  g: GroupLayout;
  /** argmax π per group */
  choice: Uint8Array;
  /** softmax(κπ) of the choice per group */
  confidence: Float32Array;
  /** 1 where the choice changed since the last evaluation */
  flipped: Uint8Array;
}

/** A confidence in [1/C, 1] as a byte: 0 = uniform over the C candidates, 255 = certain. */
export function confidenceByte(conf: number, C: number): number {
  const floor = 1 / C;
  const t = (conf - floor) / (1 - floor);
  return Math.round(255 * Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0)));
}

/**
 * The prior's candidate per group (the candidate whose kept positions are the prior mask's), or 255
 * where the prior mask of the group is not one of the candidates. `mask` is in the weight's layout.
 */
export function priorChoice(g: GroupLayout, p: Pattern, mask: Uint8Array): Uint8Array {
  const out = new Uint8Array(g.groups);
  // a group's kept positions as bits (position k at bit k): candidate lookup by code
  const byCode = new Map<number, number>();
  p.candidates.forEach((cand, c) =>
    byCode.set(
      cand.reduce((a, x, k) => a | (x << k), 0),
      c,
    ),
  );
  for (let grp = 0; grp < g.groups; grp++) {
    let code = 0;
    for (let k = 0; k < g.m; k++) if (mask[elementIndex(g, grp, k)]) code |= 1 << k;
    out[grp] = byCode.get(code) ?? 255;
  }
  return out;
}

/** The large map of one layer, as the page draws it (see LayerMapData in src/lab/runner.ts). */
export interface LayerCells {
  plan: BlockPlan;
  /**
   * Per cell, |w| as a byte (0 … 255 of the layer's scale): per weight, that weight's; per block,
   * the mean |w| of the kept weights in it.
   */
  weight: Uint8Array;
  /** Per cell: per weight 1 kept / 0 pruned; per block, the share of the block's |w| that is kept (0 … 255). */
  kept: Uint8Array;
  /** Per cell, the confidence byte (confidenceByte) of its group, or the block's mean. */
  confidence: Uint8Array;
  /** Per cell: per weight 1 when its group flipped; per block, the number of flipped groups (capped at 255). */
  flips: Uint8Array;
  /** Per cell: per weight the group's candidate; per block, the candidate of its first group. */
  choice: Uint8Array;
  /** Per cell: 1 / the share (0 … 255) of groups whose choice differs from the prior's; null without a prior. */
  differs: Uint8Array | null;
  /** |w| that maps to 255 (the 99th percentile of |w| over the layer) */
  scale: number;
}

/** The 99th percentile of |w| (over at most 65,536 evenly strided values): the map's full intensity. */
export function magnitudeScale(w: ArrayLike<number>): number {
  const n = w.length;
  if (!n) return 1;
  const step = Math.max(1, Math.floor(n / 65536));
  const sample: number[] = [];
  for (let i = 0; i < n; i += step) sample.push(Math.abs(w[i]));
  sample.sort((a, b) => a - b);
  const q = sample[Math.min(sample.length - 1, Math.floor(0.99 * sample.length))];
  return q > 0 && Number.isFinite(q) ? q : Math.max(...sample.filter(Number.isFinite), 0) || 1;
}

const byte = (x: number) => Math.round(255 * Math.max(0, Math.min(1, Number.isFinite(x) ? x : 0)));

/**
 * The large map of one site within `maxCells` cells. `w` is the weight in its own layout; `prior`
 * the prior's candidate per group (priorChoice) or null.
 */
export function layerCells(site: SiteMask, p: Pattern, w: ArrayLike<number>, prior: Uint8Array | null, maxCells: number): LayerCells {
  const { g } = site;
  const m = g.m;
  const perRow = g.cols / m;
  const plan = planBlocks(g.rows, perRow, m, maxCells);
  const scale = magnitudeScale(w);
  const C = p.candidates.length;
  const cells = plan.outRows * plan.outCols;
  const weight = new Uint8Array(cells);
  const kept = new Uint8Array(cells);
  const confidence = new Uint8Array(cells);
  const flips = new Uint8Array(cells);
  const choice = new Uint8Array(cells);
  const differs = prior ? new Uint8Array(cells) : null;
  if (plan.perWeight) {
    for (let grp = 0; grp < g.groups; grp++) {
      const row = Math.floor(grp / perRow);
      const base = row * plan.outCols + (grp % perRow) * m;
      const c = site.choice[grp];
      const cand = p.candidates[c];
      const conf = confidenceByte(site.confidence[grp], C);
      const d = prior ? (prior[grp] !== c ? 1 : 0) : 0;
      for (let k = 0; k < m; k++) {
        const o = base + k;
        weight[o] = byte(Math.abs(w[elementIndex(g, grp, k)]) / scale);
        kept[o] = cand ? cand[k] : 0;
        confidence[o] = conf;
        flips[o] = site.flipped[grp];
        choice[o] = c;
        if (differs) differs[o] = d;
      }
    }
    return { plan, weight, kept, confidence, flips, choice, differs, scale };
  }
  // blocks: sums per cell, then averages
  const keptAbs = new Float64Array(cells);
  const allAbs = new Float64Array(cells);
  const keptN = new Uint32Array(cells);
  const confSum = new Float64Array(cells);
  const groupsIn = new Uint32Array(cells);
  const flipN = new Uint32Array(cells);
  const differN = new Uint32Array(cells);
  const first = new Int32Array(cells).fill(-1);
  for (let grp = 0; grp < g.groups; grp++) {
    const row = Math.floor(grp / perRow);
    const col = grp % perRow;
    const o = Math.floor(row / plan.fr) * plan.outCols + Math.floor(col / plan.fg);
    const c = site.choice[grp];
    const cand = p.candidates[c];
    for (let k = 0; k < m; k++) {
      const a = Math.abs(w[elementIndex(g, grp, k)]);
      allAbs[o] += a;
      if (cand && cand[k]) {
        keptAbs[o] += a;
        keptN[o]++;
      }
    }
    confSum[o] += site.confidence[grp];
    groupsIn[o]++;
    flipN[o] += site.flipped[grp];
    if (prior && prior[grp] !== c) differN[o]++;
    if (first[o] < 0) first[o] = grp;
  }
  for (let o = 0; o < cells; o++) {
    weight[o] = byte(keptN[o] ? keptAbs[o] / keptN[o] / scale : 0);
    kept[o] = byte(allAbs[o] > 0 ? keptAbs[o] / allAbs[o] : 0);
    confidence[o] = confidenceByte(groupsIn[o] ? confSum[o] / groupsIn[o] : 1 / C, C);
    flips[o] = Math.min(255, flipN[o]);
    choice[o] = first[o] >= 0 ? site.choice[first[o]] : 0;
    if (differs) differs[o] = byte(groupsIn[o] ? differN[o] / groupsIn[o] : 0);
  }
  return { plan, weight, kept, confidence, flips, choice, differs, scale };
}

/** One layer's summary for the small multiples. */
export interface LayerSummaryCells {
  plan: BlockPlan;
  meanConfidence: number;
  flips: number;
  /** share of groups whose choice is the prior's; null without a prior */
  agreement: number | null;
  /** per cell: the mean confidence byte of its block of groups */
  confidence: Uint8Array;
  /** per cell: 1 when a group of the block flipped */
  flipped: Uint8Array;
}

/** A layer's summary with a thumbnail of at most `maxCells` cells (blocks of groups, never per weight). */
export function layerSummary(site: SiteMask, C: number, prior: Uint8Array | null, maxCells: number): LayerSummaryCells {
  const { g } = site;
  const perRow = g.cols / g.m;
  const plan = planBlocks(g.rows, perRow, g.m, maxCells, false);
  const cells = plan.outRows * plan.outCols;
  const confSum = new Float64Array(cells);
  const groupsIn = new Uint32Array(cells);
  const flipped = new Uint8Array(cells);
  let total = 0;
  let flips = 0;
  let agree = 0;
  for (let grp = 0; grp < g.groups; grp++) {
    const o = Math.floor(Math.floor(grp / perRow) / plan.fr) * plan.outCols + Math.floor((grp % perRow) / plan.fg);
    const conf = site.confidence[grp];
    confSum[o] += conf;
    groupsIn[o]++;
    total += conf;
    if (site.flipped[grp]) {
      flips++;
      flipped[o] = 1;
    }
    if (prior && prior[grp] === site.choice[grp]) agree++;
  }
  const confidence = new Uint8Array(cells);
  for (let o = 0; o < cells; o++) confidence[o] = confidenceByte(groupsIn[o] ? confSum[o] / groupsIn[o] : 1 / C, C);
  const G = Math.max(1, g.groups);
  return { plan, meanConfidence: total / G, flips, agreement: prior ? agree / G : null, confidence, flipped };
}
