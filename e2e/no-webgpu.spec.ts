import { expect, serveTinyGpt, test } from './fixtures';

// Debian Chromium 156 without --enable-unsafe-webgpu (checked): navigator.gpu exists in the page and
// in dedicated workers, but requestAdapter() resolves to null. So the banner must name that case.
test('without WebGPU the banner names the case and the CPU self-test passes', async ({ lab, page }, testInfo) => {
  await lab.open('?selftest');
  const banner = page.getByTestId('banner-no-webgpu');
  await expect(banner).toBeVisible({ timeout: 60_000 });
  await expect(banner).toContainText('No WebGPU adapter: requestAdapter() returned null.');
  await expect(banner.locator('[data-kind]')).toHaveAttribute('data-kind', 'no-adapter');
  await expect(banner).toContainText('What to try:');
  await expect(banner).toContainText('CPU engine only');
  await expect(banner).toContainText('navigator.gpu is present');
  await expect(page.getByTestId('engine-kind')).toHaveText('CPU (no WebGPU)');
  await expect(page.getByTestId('adapter-summary')).toHaveCount(0);

  await lab.waitForSelfTest();
  await lab.expectAllPass();
  await expect(lab.status()).toContainText('on the CPU engine only');
  await lab.expectNoHorizontalOverflow();
  const shot = testInfo.outputPath('lab-no-webgpu.png');
  await page.screenshot({ path: shot, fullPage: true });
  await testInfo.attach('lab-no-webgpu', { path: shot, contentType: 'image/png' });
});

test('without WebGPU the same experiment runs on the CPU engine, and says so', async ({ lab, page }, testInfo) => {
  test.setTimeout(600_000);
  await serveTinyGpt(page);
  await lab.open();
  await expect(page.getByTestId('banner-no-webgpu')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('cpu-note')).toContainText('Running on the CPU engine');
  await page.getByRole('radio', { name: /tiny-gpt/ }).check();
  // the smallest run that still shows every part: 2 steps, one evaluation at the end
  await lab.setFields({ batch: 1, evalWindows: 2, steps: 2, evalEvery: 2, samplesPerStep: 1, calibBatches: 1 });
  await page.getByTestId('btn-run').click();
  const status = lab.runStatus();
  await expect(status).toHaveAttribute('data-state', 'done', { timeout: 540_000 });
  await expect(status).toHaveAttribute('data-step', '2');
  await expect.poll(() => lab.chartPoints('chart-loss')).toBe(2);
  await expect(page.getByTestId('results-table').locator('tbody tr')).toHaveCount(6);
  const snap = await page.evaluate(() => (window as unknown as { lab: { getState(): Promise<{ engine: string }> } }).lab.getState());
  expect(snap.engine).toBe('cpu');
  await lab.screenshot(testInfo, 'lab-cpu-done');
});
