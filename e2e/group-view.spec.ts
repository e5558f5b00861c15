// The group view (one group up close) on the page: with a tiny-gpt run paused, a click on a cell of
// the layer map selects that group; the weights shown are the checkpoint's, read here independently
// from model.safetensors (its JSON header and little-endian F32 data, Conv1D [in, out]); the κ and
// τ sliders and Resample change the drawn sample; the stacked history of the candidates appears.
import { join } from 'node:path';
import { expect, serveTinyGpt, test, tinyGptDir } from './fixtures';
import { readTensor } from './read-tensor';

const FIELDS = { batch: 2, evalWindows: 2, steps: 40, evalEvery: 20, samplesPerStep: 1, calibBatches: 1 };

const sampleY = (page: import('@playwright/test').Page) =>
  page.getByTestId('group-y').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-value'))));

test('a click in the layer map selects that group; its weights are the checkpoint’s; κ, τ and Resample change the sample', async ({ lab, page }, testInfo) => {
  test.setTimeout(420_000);
  await serveTinyGpt(page);
  await lab.open();
  await page.getByRole('radio', { name: /tiny-gpt/ }).check();
  await lab.setFields(FIELDS);
  const status = lab.runStatus();
  await page.getByTestId('btn-run').click();
  // paused mid-run: the view is read between steps, and a step afterwards adds to its history
  await expect.poll(() => lab.step(), { timeout: 300_000, intervals: [100] }).toBeGreaterThanOrEqual(2);
  await page.getByTestId('btn-pause').click({ timeout: 10_000 });
  await expect(status).toHaveAttribute('data-state', 'paused', { timeout: 60_000 });

  const view = page.getByTestId('group-view');
  await expect(view.getByTestId('group-where')).toContainText('transformer.h.0.attn.c_attn.weight, output 0, inputs 0–3 (group 0)');

  // a cell of the layer map: output row 5, the 7th group along the input (inputs 24–27). The map
  // draws c_attn (Conv1D [64, 192] → 192 outputs × 16 groups of 4 inputs) one cell per weight, its
  // rows wrapped into bands side by side: the canvas publishes that tiling (e2e/layer-map.spec.ts
  // checks the map itself)
  const map = page.getByTestId('layer-map-canvas');
  await expect(map).toHaveAttribute('data-direction', 'across');
  await map.scrollIntoViewIfNeeded();
  const box = (await map.boundingBox())!;
  const perRow = 16;
  const [row, gx] = [5, 6];
  const [bandRows, gap, gw, gh] = await map.evaluate((el) => ['bandRows', 'gap', 'gridWidth', 'gridHeight'].map((k) => Number((el as HTMLElement).dataset[k])));
  const band = Math.floor(row / bandRows);
  const [cx, cy] = [band * (4 * perRow + gap) + 4 * gx + 1, row - band * bandRows];
  await map.click({ position: { x: ((cx + 0.5) / gw) * box.width, y: ((cy + 0.5) / gh) * box.height } });
  await expect(view.getByTestId('group-where')).toContainText(`output ${row}, inputs ${4 * gx}–${4 * gx + 3} (group ${row * perRow + gx})`);

  const { shape, values } = readTensor(join(await tinyGptDir(), 'model.safetensors'), 'transformer.h.0.attn.c_attn.weight');
  expect(shape).toEqual([64, 192]);
  const want = [0, 1, 2, 3].map((k) => values[(4 * gx + k) * 192 + row]);
  const shown = await view.getByTestId('group-weight').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-value'))));
  expect(shown).toEqual(want);
  await view.scrollIntoViewIfNeeded();
  await lab.screenshot(testInfo, 'group-view');

  // the sample: a distribution over the 6 candidates, moved by τ, κ and a new draw
  const y0 = await sampleY(page);
  expect(y0).toHaveLength(6);
  expect(y0.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 2);
  const tau = view.getByTestId('group-tau');
  await tau.focus();
  for (let i = 0; i < 300; i++) await page.keyboard.press('ArrowRight'); // τ up: the draw blurs toward uniform
  const y1 = await sampleY(page);
  expect(y1).not.toEqual(y0);
  expect(Math.max(...y1) - Math.min(...y1)).toBeLessThan(Math.max(...y0) - Math.min(...y0));
  await view.getByTestId('group-resample').click();
  const y2 = await sampleY(page);
  expect(y2).not.toEqual(y1);
  const kappa = view.getByTestId('group-kappa');
  await kappa.focus();
  await page.keyboard.press('Home'); // κ = 0.1: every candidate about as likely
  const y3 = await sampleY(page);
  expect(y3).not.toEqual(y2);
  // one more step: the selected group's history has two points (the stacked chart appears)
  const k = await lab.step();
  await page.getByTestId('btn-step').click();
  await expect(status).toHaveAttribute('data-step', String(k + 1), { timeout: 60_000 });
  await expect(view.getByTestId('group-where')).toContainText(`at step ${k + 1}`);
  await expect(view.getByTestId('group-history')).toBeVisible();
  const path = testInfo.outputPath('group-view-panel.png');
  await view.screenshot({ path });
  await testInfo.attach('group-view-panel', { path, contentType: 'image/png' });
});
