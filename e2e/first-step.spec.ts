// The first minute on the page: press Run with the default configuration (tiny-gpt, as a first-time
// visitor finds it) and time until the first learning step is on screen (and when the loading
// progress reached compiling and the prior); then a second run of the same model with another κ,
// whose prior comes from the page's one-shot cache. Learning starts once the
// prior is computed; the dense and one-shot rows of the results table are computed between learning
// steps (LabSession deferBaselines), each row appearing as soon as it is ready. The time is recorded
// in the test's annotations and in test-results (first-step.json, attached); with RECORD_FIRST_STEP=1
// it is also written to bench/first-step.json and the section "Time to the first step on the page" of
// docs/PERFORMANCE.md (tools/bench/report.ts renders it; `npm run bench` keeps it). The assertion is
// only a generous cap, since this machine is shared and its adapter is a CPU.
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { recordFirstStep, type FirstStepResults } from '../tools/bench/report';
import { expect, serveTinyGpt, test } from './fixtures';

/** Far above the ~15 s aimed at on an idle machine: only a run that waits for the whole table fails. */
const FIRST_STEP_CAP_MS = 150_000;

test('default tiny-gpt: the first step is on screen soon after Run, and the table fills in while learning runs', async ({ lab, page, browser }, testInfo) => {
  test.setTimeout(600_000);
  const loadBefore = loadavg()[0];
  await serveTinyGpt(page);
  await lab.open();
  await page.getByRole('radio', { name: /tiny-gpt/ }).check();
  const status = lab.runStatus();
  // the loading progress' texts with their times (page clock), to cut the wait into phases
  await page.evaluate(() => {
    const log: { t: number; text: string }[] = [];
    (window as unknown as { progressLog: typeof log }).progressLog = log;
    new MutationObserver(() => {
      const text = document.querySelector('[data-testid="loading-progress"]')?.textContent ?? '';
      if (text && text !== log[log.length - 1]?.text) log.push({ t: performance.now(), text });
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  const progressLog = () => page.evaluate(() => (window as unknown as { progressLog: { t: number; text: string }[] }).progressLog.splice(0));
  const pageNow = () => page.evaluate(() => performance.now());

  const t0 = Date.now();
  const p0 = await pageNow();
  await page.getByTestId('btn-run').click();
  await expect.poll(() => lab.step(), { timeout: FIRST_STEP_CAP_MS, intervals: [100] }).toBeGreaterThanOrEqual(1);
  const firstStepMs = Date.now() - t0;
  const load = loadavg()[0];
  const phases = await progressLog();
  const firstSeen = (re: RegExp) => {
    const hit = phases.find((x) => re.test(x.text));
    return hit ? Math.round(hit.t - p0) : null;
  };
  testInfo.annotations.push({
    type: 'first step',
    description: `${(firstStepMs / 1000).toFixed(1)} s from Run to step 1 on screen (default tiny-gpt; 1-min load average ${load.toFixed(1)} on ${cpus().length} cores)`,
  });
  console.log(`first step on screen ${(firstStepMs / 1000).toFixed(1)} s after Run (load ${load.toFixed(1)})`);
  await expect(status).toHaveAttribute('data-state', 'running');

  // the rows not computed yet are listed as pending; the dense row and a baseline arrive while learning runs
  const table = page.getByTestId('results-table');
  await expect(table.locator('tr[data-pending]').first()).toBeVisible();
  await expect(table.locator('tr[data-key="dense"]:not([data-pending])')).toBeVisible({ timeout: 300_000 });
  const denseRowMs = Date.now() - t0;
  await expect(table.locator('tr[data-key="magnitude"]:not([data-pending])')).toBeVisible({ timeout: 300_000 });
  const magnitudeRowMs = Date.now() - t0;
  await expect(status).toHaveAttribute('data-state', 'running');
  const stepAtRows = await lab.step();
  expect(stepAtRows, 'learning steps taken while the first rows were computed').toBeGreaterThan(1);

  // the figures as JSON (test-results, attached); RECORD_FIRST_STEP=1 puts them in docs/PERFORMANCE.md
  const snap = await page.evaluate(async () => {
    const s = await (
      window as unknown as {
        lab: { getState(): Promise<{ engine: string; config: FirstStepResults['config'] & { kappaEnd: number } & Record<string, unknown> }> };
      }
    ).lab.getState();
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<{ info?: Record<string, string> } | null> } }).gpu;
    const info = (await gpu?.requestAdapter())?.info;
    const adapter = info ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ') : 'no WebGPU adapter';
    return { engine: s.engine, config: s.config, adapter };
  });
  const result: FirstStepResults = {
    date: new Date().toISOString(),
    firstStepMs,
    compileStartMs: firstSeen(/shaders/),
    priorStartMs: firstSeen(new RegExp(snap.config.prior)),
    denseRowMs,
    magnitudeRowMs,
    stepsAtRows: stepAtRows,
    engine: snap.engine,
    adapter: snap.adapter || '(no adapter info)',
    config: { model: snap.config.model, method: snap.config.method, prior: snap.config.prior, batch: snap.config.batch, steps: snap.config.steps },
    browser: `Chromium ${browser.version()}`,
    cores: cpus().length,
    loadavg1: { before: loadBefore, after: loadavg()[0] },
  };
  const json = testInfo.outputPath('first-step.json');
  writeFileSync(json, JSON.stringify(result, null, 1) + '\n');
  await lab.screenshot(testInfo, 'first-step-table-filling');

  await page.getByTestId('btn-pause').click();
  await expect(status).toHaveAttribute('data-state', 'paused', { timeout: 120_000 });

  // a second run of the same model, as a student trying another κ: Reset, change it, Run — the
  // model reloads and the prior comes from the page's one-shot cache (src/lab/oneshot-cache.ts)
  await page.getByTestId('btn-reset').click();
  await expect.poll(() => lab.step(), { timeout: 60_000 }).toBe(0);
  await lab.setFields({ kappaEnd: 2 * snap.config.kappaEnd });
  await progressLog(); // drop the first run's texts
  const t1 = Date.now();
  await page.getByTestId('btn-run').click();
  await expect.poll(() => lab.step(), { timeout: FIRST_STEP_CAP_MS, intervals: [100] }).toBeGreaterThanOrEqual(1);
  result.secondRunMs = Date.now() - t1;
  const again = (await progressLog()).map((x) => x.text);
  expect(
    again.some((t) => /from the cache/.test(t)),
    `the second run's progress: ${again.join(' | ')}`,
  ).toBe(true);
  testInfo.annotations.push({
    type: 'second run',
    description: `${(result.secondRunMs / 1000).toFixed(1)} s from Run to step 1 with the prior from the cache`,
  });
  console.log(`second run: first step ${(result.secondRunMs / 1000).toFixed(1)} s after Run (prior from the page's cache)`);
  writeFileSync(json, JSON.stringify(result, null, 1) + '\n');
  await testInfo.attach('first-step.json', { path: json, contentType: 'application/json' });
  if (process.env.RECORD_FIRST_STEP === '1') console.log(`wrote bench/first-step.json and its section of ${recordFirstStep(result)}`);
  await page.getByTestId('btn-pause').click();
  await expect(status).toHaveAttribute('data-state', 'paused', { timeout: 120_000 });
});
