// The layer map's data from a loaded session (LabRunner.layerMap / layerSummaries, taken between two
// learning steps): the arithmetic is src/sparsity/layer-map.ts; this reads the logits' summary
// (LabSession.maskView), the frozen weight and the prior's masks, and hands the page only the cells
// it draws. The typed arrays are marked for transfer (comlink moves them to the page, not copies);
// outside the worker the mark is a no-op.
import { transfer } from 'comlink';
import { groupLayout, type GroupLayout, type WeightLayout } from '../sparsity/layout';
import { layerCells, layerSummary, priorChoice, type BlockPlan, type SiteMask } from '../sparsity/layer-map';
import { nmPattern, type Pattern } from '../sparsity/patterns';
import type { ResultKey } from './names';
import { SessionError, type LabSession } from './session';

/** The large layer map of one masked layer (src/sparsity/layer-map.ts's LayerCells), at `step`. */
export interface LayerMapData extends BlockPlan {
  site: string;
  /** index of the layer (ModelSummary.sites) */
  siteIndex: number;
  step: number;
  /** output rows and groups per row of the layer; m weights per group */
  rows: number;
  perRow: number;
  m: number;
  weight: Uint8Array;
  kept: Uint8Array;
  confidence: Uint8Array;
  flips: Uint8Array;
  choice: Uint8Array;
  differs: Uint8Array | null;
  /** |w| drawn at full intensity */
  scale: number;
  /** groups flipped since the last evaluation, over the whole layer */
  flipped: number;
  /** the prior the "differs" cells compare with (null: none, or a prior file) */
  prior: string | null;
}

/** One layer in the small multiples. */
export interface LayerSummaryData extends BlockPlan {
  site: string;
  rows: number;
  perRow: number;
  meanConfidence: number;
  flips: number;
  agreement: number | null;
  confidence: Uint8Array;
  flipped: Uint8Array;
}

export interface LayerSummariesData {
  step: number;
  prior: string | null;
  /** evaluations so far (flips count since the last one) */
  layers: LayerSummaryData[];
}

/** Cell budgets the page may ask for (larger requests are clamped). */
export const LAYER_MAP_MAX_CELLS = 1 << 18;
export const LAYER_THUMB_MAX_CELLS = 1 << 13;

// the prior's candidate per group, per prior mask array (the masks are kept for the session's life)
const priorChoices = new WeakMap<Uint8Array, Uint8Array>();

function priorOf(s: LabSession, site: number, g: GroupLayout, p: Pattern): { name: string; choice: Uint8Array } | null {
  const prior = s.config?.prior;
  if (!prior || prior === 'none' || prior === 'file') return null;
  const mask = s.oneShotResults.get(prior as ResultKey)?.masks.get(s.model!.maskSites[site].name);
  if (!mask) return null;
  let choice = priorChoices.get(mask);
  if (!choice) priorChoices.set(mask, (choice = priorChoice(g, p, mask)));
  return { name: prior, choice };
}

async function siteMask(s: LabSession, site: number): Promise<{ mask: SiteMask; p: Pattern; name: string }> {
  const ms = s.model?.maskSites[site];
  if (!ms || !s.config) throw new SessionError(`no masked layer ${site}`);
  const v = await s.maskView(site);
  const g = groupLayout(ms.shape, ms.layout as WeightLayout, s.config.m);
  return { mask: { g, choice: v.choice, confidence: v.confidence, flipped: v.flipped }, p: nmPattern(s.config.n, s.config.m), name: ms.name };
}

const clampCells = (n: number, max: number) => Math.max(64, Math.min(max, Number.isFinite(n) ? Math.floor(n) : max));

/** The large map of masked layer `site` within `maxCells` cells. */
export async function layerMapOf(s: LabSession, site: number, maxCells: number): Promise<LayerMapData> {
  const { mask, p, name } = await siteMask(s, site);
  const w = await s.engine.read(s.model!.weights.get(name)!.raw);
  const prior = priorOf(s, site, mask.g, p);
  const c = layerCells(mask, p, w, prior?.choice ?? null, clampCells(maxCells, LAYER_MAP_MAX_CELLS));
  let flipped = 0;
  for (let i = 0; i < mask.flipped.length; i++) flipped += mask.flipped[i];
  const out: LayerMapData = {
    ...c.plan,
    site: name,
    siteIndex: site,
    step: s.step,
    rows: mask.g.rows,
    perRow: mask.g.cols / mask.g.m,
    m: mask.g.m,
    weight: c.weight,
    kept: c.kept,
    confidence: c.confidence,
    flips: c.flips,
    choice: c.choice,
    differs: c.differs,
    scale: c.scale,
    flipped,
    prior: prior?.name ?? null,
  };
  const buffers = [c.weight, c.kept, c.confidence, c.flips, c.choice, ...(c.differs ? [c.differs] : [])].map((a) => a.buffer as ArrayBuffer);
  return transfer(out, buffers);
}

/** Every masked layer's summary, each with a thumbnail of at most `maxCells` cells. */
export async function layerSummariesOf(s: LabSession, maxCells: number): Promise<LayerSummariesData> {
  const layers: LayerSummaryData[] = [];
  let priorName: string | null = null;
  const sites = s.model?.maskSites.length ?? 0;
  for (let i = 0; i < sites; i++) {
    const { mask, p, name } = await siteMask(s, i);
    const prior = priorOf(s, i, mask.g, p);
    priorName = prior?.name ?? priorName;
    const sum = layerSummary(mask, p.candidates.length, prior?.choice ?? null, clampCells(maxCells, LAYER_THUMB_MAX_CELLS));
    layers.push({
      ...sum.plan,
      site: name,
      rows: mask.g.rows,
      perRow: mask.g.cols / mask.g.m,
      meanConfidence: sum.meanConfidence,
      flips: sum.flips,
      agreement: sum.agreement,
      confidence: sum.confidence,
      flipped: sum.flipped,
    });
  }
  const out: LayerSummariesData = { step: s.step, prior: priorName, layers };
  return transfer(
    out,
    layers.flatMap((l) => [l.confidence.buffer as ArrayBuffer, l.flipped.buffer as ArrayBuffer]),
  );
}
