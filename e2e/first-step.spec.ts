// The first minute on the page: press Run with the default configuration (tiny-gpt, as a first-time
// visitor finds it) and time until the first learning step is on screen. Learning starts once the
// prior is computed; the dense and one-shot rows of the results table are computed between learning
// steps (LabSession deferBaselines), each row appearing as soon as it is ready. The time is recorded
// in the test's annotations (a figure for docs/PERFORMANCE.md); the assertion is only a generous cap,
// since this machine is shared and its adapter is a CPU.
import { expect, serveTinyGpt, test } from './fixtures';

/** Far above the ~15 s aimed at on an idle machine: only a run that waits for the whole table fails. */
const FIRST_STEP_CAP_MS = 150_000;

test('default tiny-gpt: the first step is on screen soon after Run, and the table fills in while learning runs', async ({ lab, page }, testInfo) => {
  test.setTimeout(600_000);
  await serveTinyGpt(page);
  await lab.open();
  await page.getByRole('radio', { name: /tiny-gpt/ }).check();
  const status = lab.runStatus();

  const t0 = Date.now();
  await page.getByTestId('btn-run').click();
  await expect.poll(() => lab.step(), { timeout: FIRST_STEP_CAP_MS, intervals: [100] }).toBeGreaterThanOrEqual(1);
  const firstStepMs = Date.now() - t0;
  const loadavg = (await import('node:os')).loadavg()[0];
  testInfo.annotations.push({
    type: 'first step',
    description: `${(firstStepMs / 1000).toFixed(1)} s from Run to step 1 on screen (default tiny-gpt; 1-min load average ${loadavg.toFixed(1)} on ${(await import('node:os')).cpus().length} cores)`,
  });
  console.log(`first step on screen ${(firstStepMs / 1000).toFixed(1)} s after Run (load ${loadavg.toFixed(1)})`);
  await expect(status).toHaveAttribute('data-state', 'running');

  // the rows not computed yet are listed as pending; the dense row and a baseline arrive while learning runs
  const table = page.getByTestId('results-table');
  await expect(table.locator('tr[data-pending]').first()).toBeVisible();
  await expect(table.locator('tr[data-key="dense"]:not([data-pending])')).toBeVisible({ timeout: 300_000 });
  await expect(table.locator('tr[data-key="magnitude"]:not([data-pending])')).toBeVisible({ timeout: 300_000 });
  await expect(status).toHaveAttribute('data-state', 'running');
  const stepAtRows = await lab.step();
  expect(stepAtRows, 'learning steps taken while the first rows were computed').toBeGreaterThan(1);
  await lab.screenshot(testInfo, 'first-step-table-filling');

  await page.getByTestId('btn-pause').click();
  await expect(status).toHaveAttribute('data-state', 'paused', { timeout: 120_000 });
});
