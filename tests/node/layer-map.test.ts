// The layer map's pure parts: the worker's downsampling (src/sparsity/layer-map.ts: planBlocks,
// layerCells, layerSummary, priorChoice) against brute force over random layers, and the page's
// tiling (src/ui/layer-map.ts: tileLayout, cellOrigin, cellAt) — every cell drawn once, inside the
// box, found again under its own pixel, gaps empty; the painter writes exactly the cells. Fresh
// seeds per run (testSeed); `npm run test:seeds -- --project node --seeds 200 tests/node/layer-map.test.ts`.
import { describe, expect, it } from 'vitest';
import { elementIndex, groupLayout, type WeightLayout } from '../../src/sparsity/layout';
import { confidenceByte, layerCells, layerSummary, planBlocks, priorChoice, type SiteMask } from '../../src/sparsity/layer-map';
import { nmPattern } from '../../src/sparsity/patterns';
import { cellAt, cellOrigin, tileLayout } from '../../src/ui/layer-map';
import { paintCells } from '../../src/ui/layer-map-paint';
import { randint, randn, randu, testSeed } from '../helpers/random';

const seed = testSeed();

/** A small deterministic stream of integers for shapes (from the seed). */
function ints(s: number, n: number, hi: number): number[] {
  return Array.from(randint(n, s, hi), (x) => x + 1);
}

function randomSite(s: number, n: number, m: number): { site: SiteMask; w: Float32Array; layout: WeightLayout } {
  const [rows, perRow, lay] = ints(s, 3, 40);
  const layout: WeightLayout = lay % 2 ? 'in_out' : 'out_in';
  const shape = layout === 'out_in' ? [rows, perRow * m] : [perRow * m, rows];
  const g = groupLayout(shape, layout, m);
  const C = nmPattern(n, m).candidates.length;
  const choice = Uint8Array.from(randint(g.groups, s + 1, C));
  const confidence = Float32Array.from(randu(g.groups, s + 2, 1 / C, 1));
  const flipped = Uint8Array.from(randint(g.groups, s + 3, 5), (x) => (x === 0 ? 1 : 0));
  return { site: { g, choice, confidence, flipped }, w: randn(rows * perRow * m, s + 4), layout };
}

describe(`layer map downsampling (seed ${seed})`, () => {
  it('planBlocks: within the budget, covering every group, blocks no larger than needed', () => {
    const dims = randint(300, seed, 2000);
    for (let i = 0; i < 100; i++) {
      const rows = dims[3 * i] + 1;
      const perRow = dims[3 * i + 1] + 1;
      const budget = 1 + dims[3 * i + 2] * 3;
      const m = 4;
      const p = planBlocks(rows, perRow, m, budget);
      const what = `${rows} × ${perRow} groups, budget ${budget}: ${JSON.stringify(p)}`;
      expect(p.outRows * p.outCols, what).toBeLessThanOrEqual(budget);
      if (p.perWeight) {
        expect(rows * perRow * m, what).toBeLessThanOrEqual(budget);
        expect([p.fr, p.fg, p.outRows, p.outCols], what).toEqual([1, 1, rows, perRow * m]);
        continue;
      }
      expect(p.outRows, what).toBe(Math.ceil(rows / p.fr));
      expect(p.outCols, what).toBe(Math.ceil(perRow / p.fg));
      expect(p.fr >= 1 && p.fr <= rows && p.fg >= 1 && p.fg <= perRow, what).toBe(true);
      // not wastefully coarse: halving both block sides would not have fit (or nothing smaller exists)
      if (p.fr > 1 && p.fg > 1) expect(Math.ceil(rows / Math.ceil(p.fr / 2)) * Math.ceil(perRow / Math.ceil(p.fg / 2)), what).toBeGreaterThan(budget);
    }
  });

  for (const [n, m] of [
    [2, 4],
    [1, 4],
    [2, 8],
  ])
    it(`${n}:${m}: per-weight cells and downsampled blocks equal brute force; summaries and agreement`, () => {
      const p = nmPattern(n, m);
      const C = p.candidates.length;
      for (let k = 0; k < 6; k++) {
        const s = (seed + 7919 * k) >>> 0;
        const { site, w } = randomSite(s, n, m);
        const { g } = site;
        const perRow = g.cols / m;
        const prior = Uint8Array.from(randint(g.groups, s + 5, C));
        // per weight
        const full = layerCells(site, p, w, prior, g.rows * g.cols);
        expect(full.plan.perWeight).toBe(true);
        const bad: string[] = [];
        for (let grp = 0; grp < g.groups; grp++) {
          const row = Math.floor(grp / perRow);
          for (let j = 0; j < m; j++) {
            const o = row * full.plan.outCols + (grp % perRow) * m + j;
            const want = [
              p.candidates[site.choice[grp]][j],
              site.flipped[grp],
              site.choice[grp],
              prior[grp] !== site.choice[grp] ? 1 : 0,
              confidenceByte(site.confidence[grp], C),
              Math.round(255 * Math.min(1, Math.abs(w[elementIndex(g, grp, j)]) / full.scale)),
            ];
            const got = [full.kept[o], full.flips[o], full.choice[o], full.differs![o], full.confidence[o], full.weight[o]];
            if (got.some((x, q) => x !== want[q])) bad.push(`group ${grp} weight ${j}: ${got} instead of ${want}`);
          }
        }
        expect(bad.slice(0, 5)).toEqual([]);
        // blocks: each cell is its block's aggregate
        const budget = Math.max(1, Math.floor(g.groups / 3));
        const b = layerCells(site, p, w, prior, budget);
        expect(b.plan.perWeight).toBe(false);
        expect(b.plan.outRows * b.plan.outCols).toBeLessThanOrEqual(budget);
        let flipSum = 0;
        for (let o = 0; o < b.plan.outRows * b.plan.outCols; o++) {
          const br = Math.floor(o / b.plan.outCols);
          const bc = o % b.plan.outCols;
          let keptAbs = 0;
          let allAbs = 0;
          let keptN = 0;
          let conf = 0;
          let cnt = 0;
          let flips = 0;
          let differ = 0;
          for (let r = br * b.plan.fr; r < Math.min(g.rows, (br + 1) * b.plan.fr); r++)
            for (let c = bc * b.plan.fg; c < Math.min(perRow, (bc + 1) * b.plan.fg); c++) {
              const grp = r * perRow + c;
              for (let j = 0; j < m; j++) {
                const a = Math.abs(w[elementIndex(g, grp, j)]);
                allAbs += a;
                if (p.candidates[site.choice[grp]][j]) {
                  keptAbs += a;
                  keptN++;
                }
              }
              conf += site.confidence[grp];
              cnt++;
              flips += site.flipped[grp];
              if (prior[grp] !== site.choice[grp]) differ++;
            }
          const want = [
            Math.min(255, flips),
            confidenceByte(conf / cnt, C),
            Math.round(255 * (keptAbs / allAbs)),
            Math.round(255 * Math.min(1, keptAbs / keptN / b.scale)),
            Math.round((255 * differ) / cnt),
          ];
          const got = [b.flips[o], b.confidence[o], b.kept[o], b.weight[o], b.differs![o]];
          if (!cnt || got.some((x, q) => x !== want[q])) bad.push(`block ${o} (${cnt} groups): ${got} instead of ${want}`);
          flipSum += flips;
        }
        expect(bad.slice(0, 5)).toEqual([]);
        expect(flipSum).toBe(site.flipped.reduce((a, x) => a + x, 0));
        // the summary: means over the layer, thumbnail within its budget
        const sum = layerSummary(site, C, prior, 64);
        expect(sum.plan.outRows * sum.plan.outCols).toBeLessThanOrEqual(64);
        expect(sum.flips).toBe(flipSum);
        expect(sum.meanConfidence).toBeCloseTo(site.confidence.reduce((a, x) => a + x, 0) / g.groups, 6);
        expect(sum.agreement).toBeCloseTo(prior.reduce((a, x, i) => a + (x === site.choice[i] ? 1 : 0), 0) / g.groups, 12);
        expect(layerSummary(site, C, null, 64).agreement).toBeNull();
      }
    });

  it('priorChoice recovers the candidate of a mask built from choices, in both layouts', () => {
    const p = nmPattern(2, 4);
    for (let k = 0; k < 4; k++) {
      const { site } = randomSite((seed + 31 * k) >>> 0, 2, 4);
      const { g } = site;
      const mask = new Uint8Array(g.rows * g.cols);
      for (let grp = 0; grp < g.groups; grp++) for (let j = 0; j < 4; j++) mask[elementIndex(g, grp, j)] = p.candidates[site.choice[grp]][j];
      expect(Array.from(priorChoice(g, p, mask))).toEqual(Array.from(site.choice));
      // group 0 keeping all four: not a 2:4 candidate, 255 there (and only there)
      for (let j = 0; j < 4; j++) mask[elementIndex(g, 0, j)] = 1;
      const got = priorChoice(g, p, mask);
      expect(got[0]).toBe(255);
      expect(Array.from(got.subarray(1))).toEqual(Array.from(site.choice.subarray(1)));
    }
  });
});

describe(`layer map tiling (seed ${seed})`, () => {
  it('every cell is drawn once, inside the drawing and the box, and found again under its pixel; gaps are empty', () => {
    const dims = randint(200, seed + 99, 300);
    for (let i = 0; i < 40; i++) {
      const unit = [1, 4, 8][dims[4 * i] % 3];
      const rows = 1 + (dims[4 * i + 1] % 160);
      const cols = unit * (1 + (dims[4 * i + 2] % 32));
      const box = { width: 40 + dims[4 * i + 3] * 4, maxHeight: 30 + ((dims[4 * i + 3] * 7) % 500) };
      const t = tileLayout(rows, cols, box, { unit, gapPx: 1 + (i % 8) });
      const what = `${rows} × ${cols} (unit ${unit}) in ${box.width} × ${box.maxHeight}: ${JSON.stringify(t)}`;
      expect(t.width * t.scale, what).toBeLessThanOrEqual(box.width + 1e-6);
      expect(t.height * t.scale, what).toBeLessThanOrEqual(box.maxHeight + 1e-6);
      if (t.direction === 'down') expect(t.bandCols % unit, what).toBe(0);
      // never smaller cells than drawing the layer as it is
      const plain = tileLayout(rows, cols, box, { unit, gapPx: 1 + (i % 8), maxBands: 1 });
      expect(t.scale, what).toBeGreaterThanOrEqual(plain.scale);
      // plain checks collected, one expect per layout (an expect per cell is slow over a sweep)
      const bad: string[] = [];
      const seen = new Uint8Array(t.width * t.height);
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < cols; c++) {
          const { x, y } = cellOrigin(t, r, c);
          if (!(x >= 0 && y >= 0 && x < t.width && y < t.height)) bad.push(`cell ${r},${c} at ${x},${y} is outside`);
          else if (seen[y * t.width + x]) bad.push(`two cells at ${x},${y}`);
          else seen[y * t.width + x] = 1;
          const back = cellAt(t, x + 0.5, y + 0.5);
          if (!back || back.row !== r || back.col !== c) bad.push(`cell ${r},${c} is found as ${JSON.stringify(back)}`);
        }
      // every other pixel is a gap or past the last band: no cell there
      for (let y = 0; y < t.height; y++)
        for (let x = 0; x < t.width; x++) if (!seen[y * t.width + x] && cellAt(t, x + 0.5, y + 0.5)) bad.push(`a cell under gap pixel ${x},${y}`);
      if (cellAt(t, -0.5, 0) || cellAt(t, t.width, 0) || cellAt(t, 0, t.height)) bad.push('a cell outside the drawing');
      // the painter writes exactly the cells (opaque) and leaves gaps transparent
      const flips = Uint8Array.from(randint(rows * cols, seed + i, 2));
      const px = new Uint8ClampedArray(4 * t.width * t.height);
      paintCells(px, t, { perWeight: false, confidence: new Uint8Array(rows * cols).fill(128), flips }, 'confidence', [[0, 0, 0]]);
      for (let q = 0; q < seen.length; q++) if (px[4 * q + 3] !== (seen[q] ? 255 : 0)) bad.push(`alpha ${px[4 * q + 3]} at pixel ${q}`);
      paintCells(px, t, { perWeight: false, confidence: new Uint8Array(rows * cols), flips }, 'confidence', [[0, 0, 0]], true);
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < cols; c++) {
          const { x, y } = cellOrigin(t, r, c);
          if (px[4 * (y * t.width + x) + 3] !== (flips[r * cols + c] ? 255 : 0)) bad.push(`flip overlay wrong at cell ${r},${c}`);
        }
      expect(bad.slice(0, 5), what).toEqual([]);
    }
  });

  it("a tall thin layer is wrapped across a wide panel (tiny-gpt's c_attn: 192 × 64 weights in 1200 × 440 px)", () => {
    const t = tileLayout(192, 64, { width: 1200, maxHeight: 440 }, { unit: 4 });
    expect(t.direction).toBe('across');
    expect(t.bands).toBeGreaterThan(1);
    // it fills most of the width (the strip drawn as it is would use 64 × 2 = 128 px of it)
    expect(t.width * t.scale).toBeGreaterThan(0.6 * 1200);
    const plain = tileLayout(192, 64, { width: 1200, maxHeight: 440 }, { unit: 4, maxBands: 1 });
    expect(t.scale).toBeGreaterThan(2 * plain.scale);
  });
});
