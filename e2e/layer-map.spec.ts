// The layer map on the production build (MaskView.tsx, LayerMapThumbs.tsx): with a tiny-gpt run
// paused after a few evaluations, the small multiples show every masked layer of the model (as
// window.lab names them) with its mean confidence and flips; the large map of the tall thin c_attn is
// wrapped to fill the panel; hovering a cell describes it (layer, output row, group, kept weights); a
// click selects that group in the group view, whose weights equal the checkpoint's values for the
// group read here independently from model.safetensors (JSON header, little-endian F32, Conv1D
// [in, out]); a click on a thumbnail opens another layer, and a click there selects its group too.
// Nothing in the two panels sticks out at 1280 × 800 or in the 480 px embed; a lesson can show only
// the group view (hide=). Screenshots attached.
import { join } from 'node:path';
import type { Locator, Page } from '@playwright/test';
import { expect, serveTinyGpt, test, tinyGptDir } from './fixtures';
import { readTensor } from './read-tensor';

const FIELDS = { batch: 2, evalWindows: 2, steps: 40, evalEvery: 2, samplesPerStep: 1, calibBatches: 1 };
const SMALL = 'prior=magnitude&calibBatches=1&evalWindows=1&batch=1&steps=3&evalEvery=1';

/**
 * Where cell (row, col) of the large map is on the page, from the tiling the canvas publishes in its
 * data attributes (bands of rows side by side, or bands of columns stacked; `gap` empty cells between).
 */
async function cellPoint(canvas: Locator, row: number, col: number): Promise<{ x: number; y: number }> {
  const a = await canvas.evaluate((el) => ({ ...(el as HTMLElement).dataset }));
  const [bandRows, bandCols, gap, gw, gh, cols, rows] = ['bandRows', 'bandCols', 'gap', 'gridWidth', 'gridHeight', 'cols', 'rows'].map((k) => Number(a[k]));
  let x: number, y: number;
  if (a.direction === 'across') {
    const band = Math.floor(row / bandRows);
    x = band * (cols + gap) + col;
    y = row - band * bandRows;
  } else {
    const band = Math.floor(col / bandCols);
    x = col - band * bandCols;
    y = band * (rows + gap) + row;
  }
  const box = (await canvas.boundingBox())!;
  return { x: ((x + 0.5) / gw) * box.width, y: ((y + 0.5) / gh) * box.height };
}

/** The checkpoint's m weights of one group of a Conv1D [in, out] weight (group = row · perRow + g). */
function groupWeights(values: Float32Array, shape: number[], row: number, g: number, m = 4): number[] {
  const out = shape[1];
  return Array.from({ length: m }, (_, k) => values[(m * g + k) * out + row]);
}

const shownWeights = (page: Page) =>
  page
    .getByTestId('group-view')
    .getByTestId('group-weight')
    .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-value'))));

/** Descendants of a panel outside its box sideways (1 px of rounding), except inside a scroll container. */
function sticksOut(panel: Locator): Promise<string[]> {
  return panel.evaluate((p) => {
    const box = p.getBoundingClientRect();
    const out: string[] = [];
    if (p.scrollWidth > p.clientWidth + 1) out.push(`the panel scrolls sideways (${p.scrollWidth} > ${p.clientWidth})`);
    for (const el of p.querySelectorAll<HTMLElement>('*')) {
      if (!el.getClientRects().length) continue;
      const sc = el.parentElement?.closest('[data-scroll-container]');
      if (sc && p.contains(sc)) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.left < box.left - 1 || r.right > box.right + 1)
        out.push(
          `${el.tagName.toLowerCase()}${el.dataset.testid ? `[${el.dataset.testid}]` : ''} spans ${Math.round(r.left)}–${Math.round(r.right)} outside ${Math.round(box.left)}–${Math.round(box.right)}`,
        );
    }
    return out;
  });
}

async function attachPanel(page: Page, testInfo: import('@playwright/test').TestInfo, testId: string, name: string): Promise<void> {
  const path = testInfo.outputPath(`${name}.png`);
  await page.getByTestId(testId).screenshot({ path });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}

test('1280 × 800: every layer in the small multiples; hover describes a cell; a click selects its group, whose weights are the checkpoint’s', async ({
  lab,
  page,
}, testInfo) => {
  test.setTimeout(420_000);
  await page.setViewportSize({ width: 1280, height: 800 });
  await serveTinyGpt(page);
  await lab.open();
  await page.getByRole('radio', { name: /tiny-gpt/ }).check();
  await lab.setFields(FIELDS);
  const status = lab.runStatus();
  await page.getByTestId('btn-run').click();
  await expect.poll(() => lab.step(), { timeout: 300_000, intervals: [100] }).toBeGreaterThanOrEqual(5);
  await page.getByTestId('btn-pause').click({ timeout: 10_000 });
  await expect(status).toHaveAttribute('data-state', 'paused', { timeout: 60_000 });
  const step = await lab.step();

  // the small multiples: every masked layer of the model, each with its summary, at the paused step
  const snap = await page.evaluate(() =>
    (window as unknown as { lab: { getState(): Promise<{ model: { sites: { name: string; shape: number[] }[] } }> } }).lab.getState(),
  );
  const sites = snap.model.sites.map((s) => s.name);
  expect(sites.length).toBe(16); // 4 blocks × (attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj)
  const view = page.getByTestId('mask-view');
  const thumbs = view.getByTestId('layer-thumb');
  await expect(thumbs).toHaveCount(sites.length);
  expect(await thumbs.evaluateAll((els) => els.map((e) => e.getAttribute('data-site')))).toEqual(sites);
  const canvas = view.getByTestId('layer-map-canvas');
  await expect(canvas).toHaveAttribute('data-site', sites[0]);
  await expect(view.getByTestId('mask-view-summary')).toContainText(`at step ${step}`);
  await expect.poll(() => thumbs.evaluateAll((els) => els.filter((e) => e.getAttribute('data-confidence') !== null).length)).toBe(sites.length);
  for (const c of await thumbs.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-confidence'))))) {
    expect(c).toBeGreaterThan(1 / 6 - 1e-6);
    expect(c).toBeLessThanOrEqual(1);
  }
  await expect(thumbs.first()).toHaveAttribute(
    'aria-label',
    /mean confidence 0\.\d{3}, \d+ groups flipped since the last evaluation, \d+% of groups agree with the sparsegpt prior/,
  );

  // the large map of c_attn (192 outputs × 64 inputs, one cell per weight) is wrapped into bands that fill the panel
  await expect(canvas).toHaveAttribute('data-per-weight', 'true');
  await expect(canvas).toHaveAttribute('data-rows', '192');
  await expect(canvas).toHaveAttribute('data-cols', '64');
  await expect(canvas).toHaveAttribute('data-direction', 'across');
  expect(Number(await canvas.getAttribute('data-bands'))).toBeGreaterThan(1);
  const panelBox = (await view.boundingBox())!;
  const mapBox = (await canvas.boundingBox())!;
  expect(mapBox.width, 'the map fills most of the panel').toBeGreaterThan(0.6 * panelBox.width);
  await expect(view.getByTestId('mask-view-summary')).toContainText('wrapped into');

  // hover: output row 5, the 7th group along the input (inputs 24–27), its second weight
  const { shape, values } = readTensor(join(await tinyGptDir(), 'model.safetensors'), sites[0]);
  expect(shape).toEqual([64, 192]);
  const [row, g] = [5, 6];
  await canvas.scrollIntoViewIfNeeded();
  const at = await cellPoint(canvas, row, 4 * g + 1);
  await canvas.hover({ position: at });
  const hover = view.getByTestId('layer-map-hover');
  await expect(hover).toContainText(`${sites[0]} · output ${row}, group ${row * 16 + g} (inputs ${4 * g}–${4 * g + 3}) · keeps w`);
  await expect(hover).toContainText(/w1 (kept|pruned), \|w\| [≈≥] \d/);
  await expect(hover).toContainText(/confidence ≈ 0\.\d\d/);
  // (the page as it is, not an element shot: scrolling to an element would move the map from under the pointer)
  const hoverShot = testInfo.outputPath('layer-map-1280-hover.png');
  await page.screenshot({ path: hoverShot });
  await testInfo.attach('layer-map-1280-hover', { path: hoverShot, contentType: 'image/png' });

  // click: the group view shows that group, with the checkpoint's weights
  await canvas.click({ position: at });
  const where = page.getByTestId('group-view').getByTestId('group-where');
  await expect(where).toContainText(`${sites[0]}, output ${row}, inputs ${4 * g}–${4 * g + 3} (group ${row * 16 + g})`);
  expect(await shownWeights(page)).toEqual(groupWeights(values, shape, row, g));
  await expect(view.getByTestId('layer-map-marker')).toBeVisible();

  // a thumbnail opens its layer large: h.1.mlp.c_proj (Conv1D [256, 64]: 64 outputs × 64 groups)
  const other = sites.findIndex((s) => /h\.1\.mlp\.c_proj\.weight$/.test(s));
  await thumbs.nth(other).click();
  await expect(thumbs.nth(other)).toHaveAttribute('aria-pressed', 'true');
  await expect(canvas).toHaveAttribute('data-site', sites[other]);
  await expect(canvas).toHaveAttribute('data-cols', '256');
  const t2 = readTensor(join(await tinyGptDir(), 'model.safetensors'), sites[other]);
  expect(t2.shape).toEqual([256, 64]);
  const [row2, g2] = [41, 57];
  await canvas.click({ position: await cellPoint(canvas, row2, 4 * g2 + 3) });
  await expect(where).toContainText(`${sites[other]}, output ${row2}, inputs ${4 * g2}–${4 * g2 + 3} (group ${row2 * 64 + g2})`);
  expect(await shownWeights(page)).toEqual(groupWeights(t2.values, t2.shape, row2, g2));

  // the colourings draw without errors; nothing sticks out of the two panels
  for (const mode of ['confidence', 'candidate', 'prior', 'weights']) await view.getByTestId('layer-map-mode').selectOption(mode);
  await lab.expectNoHorizontalOverflow();
  expect(await sticksOut(view), 'the layer map at 1280 × 800').toEqual([]);
  expect(await sticksOut(page.getByTestId('group-view')), 'the group view at 1280 × 800').toEqual([]);
  await view.scrollIntoViewIfNeeded();
  await attachPanel(page, testInfo, 'mask-view', 'layer-map-1280');
  await attachPanel(page, testInfo, 'group-view', 'layer-map-1280-group-view');
});

test('embed at 480 px: the layer map fits its panel; a cell click still selects its group', async ({ lab, page }, testInfo) => {
  test.setTimeout(300_000);
  await page.setViewportSize({ width: 480, height: 800 });
  await serveTinyGpt(page);
  await lab.open(`?embed=1&${SMALL}&autorun=1`);
  await expect(lab.runStatus()).toHaveAttribute('data-state', 'done', { timeout: 240_000 });
  const view = page.getByTestId('mask-view');
  const canvas = view.getByTestId('layer-map-canvas');
  await expect(canvas).toHaveAttribute('data-site', /c_attn/);
  await expect(view.getByTestId('layer-thumb')).toHaveCount(16);
  await canvas.scrollIntoViewIfNeeded();
  await canvas.click({ position: await cellPoint(canvas, 100, 13) });
  await expect(page.getByTestId('group-where')).toContainText('output 100, inputs 12–15 (group 1603)');
  await lab.expectNoHorizontalOverflow();
  expect(await sticksOut(view), 'the layer map at 480 px').toEqual([]);
  expect(await sticksOut(page.getByTestId('group-view')), 'the group view at 480 px').toEqual([]);
  await attachPanel(page, testInfo, 'mask-view', 'layer-map-480-embed');
});

test('a lesson shows only the group view (hide=), with a layer and group picker instead of the map', async ({ lab, page }, testInfo) => {
  test.setTimeout(300_000);
  await page.setViewportSize({ width: 480, height: 800 });
  await serveTinyGpt(page);
  const hide = 'config,charts,table,export,mask,share,adapter,selftest,files,model,method';
  await lab.open(`?embed=1&hide=${hide}&${SMALL}&autorun=1`);
  await expect(lab.runStatus()).toHaveAttribute('data-state', 'done', { timeout: 240_000 });
  const panels = await page.locator('.panel').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')));
  expect(panels).toEqual(['lab-bar', 'group-view']);
  await expect(page.getByTestId('group-candidates')).toBeVisible();
  await page.getByTestId('group-number').fill('1603');
  await expect(page.getByTestId('group-where')).toContainText('output 100, inputs 12–15 (group 1603)');
  const { shape, values } = readTensor(join(await tinyGptDir(), 'model.safetensors'), 'transformer.h.0.attn.c_attn.weight');
  expect(await shownWeights(page)).toEqual(groupWeights(values, shape, 100, 3));
  await lab.expectNoHorizontalOverflow();
  const path = testInfo.outputPath('lesson-group-only.png');
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach('lesson-group-only', { path, contentType: 'image/png' });
});
