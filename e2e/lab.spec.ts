// The mask-learning flow on the page with WebGPU (SwiftShader here): tiny-gpt, 20 steps with pause,
// step and resume, live charts (canvas while learning, Plotly otherwise), the results table, exports
// that parse and are valid 2:4, the long-task budget of the main thread, and resuming after a reload.
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { checkMaskFiles, expect, serveTinyGpt, test, type LabPage } from './fixtures';

/** Small shapes so the suite fits in a few minutes on SwiftShader (batch 2, 4 validation windows). */
const E2E_FIELDS = { batch: 2, evalWindows: 4, steps: 20, evalEvery: 10, samplesPerStep: 1, calibBatches: 2 };
const LOAD_TIMEOUT = 240_000;

declare global {
  interface Window {
    __longtasks?: { start: number; duration: number }[];
    __loaf?: { start: number; duration: number; blocking: number; render: number; styleLayout: number; scripts: string[] }[];
    /** run-status' data-state as it changed, on the page's clock */
    __runStates?: { t: number; state: string }[];
  }
}

async function setUp(lab: LabPage, page: Page): Promise<void> {
  await serveTinyGpt(page);
  await lab.open();
  await page.getByRole('radio', { name: /tiny-gpt/ }).check();
  await lab.setFields(E2E_FIELDS);
}

async function downloadBytes(page: Page, button: string): Promise<string> {
  const dl = page.waitForEvent('download');
  await page.getByTestId(button).click();
  const d = await dl;
  const path = await d.path();
  expect(path, `download of ${button}`).toBeTruthy();
  return path;
}

test('tiny-gpt: 20 steps with pause, step and resume; charts, table, exports; chart redraws within 50 ms and no frozen main thread while learning', async ({
  lab,
  page,
}, testInfo) => {
  test.setTimeout(420_000);
  await page.addInitScript(() => {
    window.__longtasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longtasks!.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
    // Long animation frames name the scripts in a slow frame (diagnostics for the annotation)
    window.__loaf = [];
    try {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries() as (PerformanceEntry & {
          blockingDuration: number;
          renderStart: number;
          styleAndLayoutStart: number;
          scripts: { invoker: string; sourceURL: string; sourceFunctionName: string; duration: number; forcedStyleAndLayoutDuration: number }[];
        })[]) {
          window.__loaf!.push({
            start: e.startTime,
            duration: e.duration,
            blocking: e.blockingDuration,
            render: e.renderStart ? e.startTime + e.duration - e.renderStart : 0,
            styleLayout: e.styleAndLayoutStart ? e.startTime + e.duration - e.styleAndLayoutStart : 0,
            scripts: e.scripts.map(
              (x) =>
                `${x.invoker} ${x.sourceFunctionName || ''}@${x.sourceURL.split('/').pop()} ${Math.round(x.duration)}ms (forced layout ${Math.round(x.forcedStyleAndLayoutDuration)})`,
            ),
          });
        }
      }).observe({ type: 'long-animation-frame', buffered: true });
    } catch {
      /* not supported: the annotation says so */
    }
    // Learning = the run in state 'running'. The state's changes are stamped on the page's own clock
    // (a MutationObserver callback runs in the task that changed it), so the test's polling latency
    // neither hides nor adds tasks at the edges.
    window.__runStates = [];
    new MutationObserver((records) => {
      for (const r of records) {
        const el = r.target as Element;
        if (el.getAttribute('data-testid') !== 'run-status') continue;
        const state = el.getAttribute('data-state') ?? '';
        if (window.__runStates!.at(-1)?.state !== state) window.__runStates!.push({ t: performance.now(), state });
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
  });
  await setUp(lab, page);
  const now = () => page.evaluate(() => performance.now());
  const charts = page.getByTestId('charts-panel');
  // A full-page screenshot is itself one long main-thread task (Chromium captures and rasterises
  // the whole page for the test): tasks starting during the capture alone are not counted. The
  // charts are scrolled into view and given time to draw BEFORE the window opens, so no chart
  // redraw is excused by it.
  const excluded: [number, number][] = [];
  const shot = async (name: string) => {
    await charts.scrollIntoViewIfNeeded();
    await page.waitForTimeout(800);
    const path = testInfo.outputPath(`${name}.png`);
    const a = await now();
    await page.screenshot({ path, fullPage: true });
    excluded.push([a, await now()]);
    await testInfo.attach(name, { path, contentType: 'image/png' });
  };

  await lab.screenshot(testInfo, 'lab-1-configured');

  const status = lab.runStatus();
  await page.getByTestId('btn-run').click();
  await expect(status).toHaveAttribute('data-state', 'loading');
  await shot('lab-2-loading'); // learning may start during it
  // Charts draw only while on screen: bring them into view once the model summary above them has
  // grown (the baselines take seconds more), so the live redraws are part of the budget. Not after
  // learning starts: a scroll the test makes would be the test's own main-thread work.
  await expect(page.getByTestId('model-summary')).toContainText('Masked weights', { timeout: LOAD_TIMEOUT });
  await charts.scrollIntoViewIfNeeded();
  await expect(status).toHaveAttribute('data-state', 'running', { timeout: LOAD_TIMEOUT });

  // pause as soon as a few steps are in (20 steps take well under a minute here)
  await expect.poll(() => lab.step(), { timeout: 120_000, intervals: [100] }).toBeGreaterThanOrEqual(2);
  await page.getByTestId('btn-pause').click({ timeout: 10_000 });
  await expect(status).toHaveAttribute('data-state', 'paused', { timeout: 60_000 });
  const k = await lab.step();
  expect(k).toBeGreaterThanOrEqual(2);
  expect(k).toBeLessThan(20);
  await page.getByTestId('btn-step').click();
  await expect(status).toHaveAttribute('data-step', String(k + 1), { timeout: 60_000 });
  await expect(status).toHaveAttribute('data-state', 'paused');
  await expect.poll(() => lab.chartPoints('chart-loss')).toBe(k + 1);
  await shot('lab-4-paused');
  // paused: the interactive Plotly chart replaces the canvas
  const lossChart = page.getByTestId('chart-loss');
  await expect(lossChart).toHaveAttribute('data-renderer', 'plotly', { timeout: 30_000 });
  await expect(lossChart.locator('.main-svg').first()).toBeVisible();

  // resume from the keyboard: back to the canvas at once
  await page.getByTestId('btn-run').focus();
  await page.keyboard.press('Enter');
  await expect(status).toHaveAttribute('data-state', 'running');
  await expect(lossChart).toHaveAttribute('data-renderer', 'canvas');
  await shot('lab-3-running');
  await expect(status).toHaveAttribute('data-state', 'done', { timeout: 240_000 });
  const t1 = await now();
  await expect(status).toHaveAttribute('data-step', '20');
  await charts.scrollIntoViewIfNeeded();
  await expect(lossChart).toHaveAttribute('data-renderer', 'plotly', { timeout: 30_000 });

  // every step is one point; evaluations at steps 10 and 20
  for (const id of ['chart-loss', 'chart-maskl1', 'chart-maxprob', 'chart-schedule']) await expect.poll(() => lab.chartPoints(id), { message: id }).toBe(20);
  await expect.poll(() => lab.chartPoints('chart-eval')).toBe(2);
  await page.getByLabel('Curves').selectOption('layers');
  await expect.poll(() => lab.chartPoints('chart-maskl1')).toBe(20);
  const keys = await page
    .getByTestId('results-table')
    .locator('tbody tr')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')));
  expect(keys).toEqual(['dense', 'magnitude', 'wanda', 'sparsegpt', 'sparsegpt+update', 'maskllm']);
  await expect(page.getByTestId('memory-forms')).toContainText('0.646 index bits per weight');
  await expect(page.getByTestId('mask-view-summary')).toContainText('groups flipped');
  await lab.screenshot(testInfo, 'lab-5-done');

  // The main thread stayed responsive while learning (issue 5: no task over 50 ms). Learning = the
  // intervals in state 'running'; a task counts when it overlaps one (so the tasks that switch into
  // and out of it count). A single step from pause keeps the state 'paused' and, by design, the
  // interactive Plotly charts; the Plotly redraws after it and after pausing are outside the budget.
  const states = await page.evaluate(() => window.__runStates ?? []);
  const learning: [number, number][] = [];
  states.forEach((s, i) => {
    if (s.state === 'running') learning.push([s.t, states[i + 1]?.t ?? t1]);
  });
  expect(learning.length, `running intervals from ${JSON.stringify(states.map((s) => s.state))}`).toBe(2);
  const overlaps = (start: number, duration: number) => learning.some(([a, b]) => start <= b && start + duration >= a);
  const long = (await page.evaluate(() => window.__longtasks ?? [])).filter(
    (t) => overlaps(t.start, t.duration) && !excluded.some(([a, b]) => t.start >= a && t.start <= b),
  );
  const draws = await page.evaluate(() =>
    performance
      .getEntriesByName('chart:draw')
      .map((e) => ({ start: e.startTime, ms: e.duration, renderer: ((e as PerformanceMeasure).detail as { renderer?: string } | null)?.renderer ?? '?' })),
  );
  const inLearning = draws.filter((d) => learning.some(([a, b]) => d.start >= a && d.start <= b));
  const maskPaints = (await page.evaluate(() => performance.getEntriesByName('maskview:paint').map((e) => ({ start: e.startTime, ms: e.duration }))))
    .filter((d) => learning.some(([a, b]) => d.start >= a && d.start <= b))
    .map((d) => `${Math.round(d.ms * 10) / 10}@${Math.round(d.start)}`);
  const ms = (renderer: string) => JSON.stringify(inLearning.filter((d) => d.renderer === renderer).map((d) => Math.round(d.ms * 10) / 10));
  testInfo.annotations.push({
    type: 'longtasks',
    description: `long tasks while learning (ms@start): ${JSON.stringify(long.map((t) => `${Math.round(t.duration)}@${Math.round(t.start)}`))}; learning intervals: ${JSON.stringify(learning.map(([a, b]) => [Math.round(a), Math.round(b)]))}; canvas redraws while learning (ms): ${ms('canvas')}; Plotly redraws while learning: ${ms('plotly')}; mask-view paints while learning (ms@start): ${JSON.stringify(maskPaints)}; screenshot windows excluded: ${JSON.stringify(excluded.map(([a, b]) => [Math.round(a), Math.round(b)]))}`,
  });
  console.log(testInfo.annotations.at(-1)!.description);
  const frames = (await page.evaluate(() => window.__loaf ?? [])).filter((f) => overlaps(f.start, f.duration) && f.blocking > 0);
  testInfo.annotations.push({
    type: 'long animation frames',
    description: JSON.stringify(
      frames.map((f) => ({
        ...f,
        start: Math.round(f.start),
        duration: Math.round(f.duration),
        render: Math.round(f.render),
        styleLayout: Math.round(f.styleLayout),
      })),
    ),
  });
  console.log(`long animation frames while learning: ${testInfo.annotations.at(-1)!.description}`);
  // the live charts were drawn while learning, by the canvas renderer only
  expect(inLearning.filter((d) => d.renderer === 'canvas').length, 'canvas chart redraws while learning').toBeGreaterThan(0);
  expect(
    inLearning.filter((d) => d.renderer === 'plotly'),
    'Plotly redraws while learning',
  ).toEqual([]);
  // Every chart redraw while learning stays within the 50 ms budget (the canvas renderer: ~0.5–20 ms).
  expect(
    inLearning.filter((d) => d.ms > 50),
    'chart redraws over 50 ms while learning',
  ).toEqual([]);
  // Issue 5: no main-thread task over 50 ms while learning, measured on the production build (the
  // page `npm start` serves; every long task and long animation frame is in the annotations above).
  // The one long task left at the switch from loading to learning (100–230 ms, in about half the
  // runs) was the mask view's FIRST canvas draw waiting on a GPU process busy with the learning; the
  // mask view now draws once on mount (MaskView.tsx). Every run since had no task over 50 ms
  // (2 local and 1 fresh-clone CI in session 4, the landing CI run, 3 local in session 5), so the
  // budget is now the issue's: none.
  expect(
    long.filter((t) => t.duration > 50),
    'main-thread tasks over 50 ms while learning',
  ).toEqual([]);

  // exports
  const snap = await page.evaluate(() =>
    (window as unknown as { lab: { getState(): Promise<{ model: { sites: { name: string; shape: number[]; layout: string }[] } }> } }).lab.getState(),
  );
  const files = {
    safetensors: await downloadBytes(page, 'export-safetensors'),
    packed: await downloadBytes(page, 'export-packed'),
    state: await downloadBytes(page, 'export-state'),
  };
  const check = checkMaskFiles({ n: 2, m: 4, sites: snap.model.sites, ...files });
  expect(check.sites).toBe(snap.model.sites.length);
  expect(check.groups).toBeGreaterThan(0);
  expect(check.bad, 'groups not 2:4').toBe(0);
  expect(check.differ, 'packed vs safetensors').toBe(0);
  expect(check.stateStep).toBe(20);
  expect(check.stateSites).toBe(snap.model.sites.length);
  const csv = readFileSync(await downloadBytes(page, 'export-csv'), 'utf8')
    .trim()
    .split('\n');
  expect(csv).toHaveLength(21);
  expect(csv[0]).toMatch(/^step,loss,kappa,tau/);
  const json = JSON.parse(readFileSync(await downloadBytes(page, 'export-json'), 'utf8')) as { rows: { step: number }[]; table: unknown[] };
  expect(json.rows.map((r) => r.step)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  expect(json.table).toHaveLength(6);
  const png = readFileSync(await downloadBytes(page, 'export-png'));
  expect([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG');

  await lab.expectNoHorizontalOverflow();
  await page.setViewportSize({ width: 480, height: 900 });
  await lab.expectNoHorizontalOverflow();
  await lab.screenshot(testInfo, 'lab-6-done-480');
});

test('a reload mid-run offers to resume and continues with every step kept', async ({ lab, page }, testInfo) => {
  test.setTimeout(420_000);
  await setUp(lab, page);
  const status = lab.runStatus();
  await page.getByTestId('btn-run').click();
  await expect(status).toHaveAttribute('data-state', 'running', { timeout: LOAD_TIMEOUT });
  await expect(status).toHaveAttribute('data-saved-step', /^(5|10|15)$/, { timeout: 120_000 });
  await page.reload();

  const offer = page.getByTestId('resume-offer');
  await expect(offer).toBeVisible({ timeout: 60_000 });
  const saved = Number(/saved at step (\d+) of 20/.exec(await offer.innerText())?.[1]);
  expect(saved).toBeGreaterThanOrEqual(5);
  await lab.screenshot(testInfo, 'lab-7-resume-offer');
  await offer.getByRole('button', { name: 'Resume the saved run' }).click();
  await expect(status).toHaveAttribute('data-state', 'paused', { timeout: LOAD_TIMEOUT });
  await expect(status).toHaveAttribute('data-step', String(saved));
  await expect.poll(() => lab.chartPoints('chart-loss')).toBe(saved);
  await lab.screenshot(testInfo, 'lab-8-resumed');

  await page.getByTestId('btn-run').click();
  await expect(status).toHaveAttribute('data-state', 'done', { timeout: 240_000 });
  const m = await page.evaluate(() => (window as unknown as { lab: { getMetrics(): Promise<{ rows: { step: number }[] }> } }).lab.getMetrics());
  expect(
    m.rows.map((r) => r.step),
    'one metrics row per step, none lost or repeated',
  ).toEqual(Array.from({ length: 20 }, (_, i) => i));
  await expect.poll(() => lab.chartPoints('chart-loss')).toBe(20);
});

test('a device lost mid-run is recreated and the run resumes from its last save, every step kept', async ({ lab, page }, testInfo) => {
  test.setTimeout(420_000);
  await setUp(lab, page);
  const status = lab.runStatus();
  await page.getByTestId('btn-run').click();
  await expect(status).toHaveAttribute('data-state', 'running', { timeout: LOAD_TIMEOUT });
  await expect(status).toHaveAttribute('data-saved-step', /^(5|10)$/, { timeout: 120_000 });
  await page.getByRole('button', { name: 'Simulate device loss' }).click();

  const banner = page.getByTestId('banner-device-recovered');
  await expect(banner).toContainText('The GPU device was lost; the lab recreated it.', { timeout: LOAD_TIMEOUT });
  await expect(banner).toContainText('destroyed');
  const text = await banner.innerText();
  const m = /The run was at step (\d+) and resumed from its last save at step (\d+)/.exec(text);
  expect(m, text).not.toBeNull();
  const [lostAt, from] = [Number(m![1]), Number(m![2])];
  expect(from).toBeGreaterThanOrEqual(5);
  expect(lostAt).toBeGreaterThanOrEqual(from);
  expect(lostAt - from, 'at most the steps since the last save are lost').toBeLessThanOrEqual(5);
  await expect(banner).toContainText('it is learning again');
  await lab.screenshot(testInfo, 'lab-11-device-recovered');

  await expect(status).toHaveAttribute('data-state', 'done', { timeout: 300_000 });
  const rows = await page.evaluate(() => (window as unknown as { lab: { getMetrics(): Promise<{ rows: { step: number }[] }> } }).lab.getMetrics());
  expect(
    rows.rows.map((r) => r.step),
    'one metrics row per step, none lost or repeated',
  ).toEqual(Array.from({ length: 20 }, (_, i) => i));
  await expect(page.getByTestId('engine-kind')).toHaveText('GPU (WebGPU)');
});

test('a corrupted saved run is reported once and discarded', async ({ lab, page }, testInfo) => {
  await lab.open();
  // the page's own start-up check must be over, or it could find (and discard) the entry written next
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-resume-checked', 'true', { timeout: 60_000 });
  await page.evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const req = indexedDB.open('maskllm-lab', 1);
        req.onupgradeneeded = () => req.result.createObjectStore('runs');
        req.onsuccess = () => {
          const tx = req.result.transaction('runs', 'readwrite');
          tx.objectStore('runs').put({ bytes: new Uint8Array(10), length: 4096, crc: 0 }, 'current');
          tx.oncomplete = () => {
            req.result.close();
            resolve();
          };
          tx.onerror = () => reject(tx.error);
        };
        req.onerror = () => reject(req.error);
      }),
  );
  await page.reload();
  const banner = page.getByTestId('resume-corrupt');
  await expect(banner).toContainText('the saved run is partial: 10 bytes of 4096', { timeout: 60_000 });
  await lab.screenshot(testInfo, 'lab-9-corrupt-saved-run');
  await page.reload();
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-resume-checked', 'true', { timeout: 60_000 });
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-state', 'idle');
  await expect(page.getByTestId('resume-corrupt')).toHaveCount(0);
  await expect(page.getByTestId('resume-offer')).toHaveCount(0);
});
