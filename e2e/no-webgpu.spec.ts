import { expect, serveTinyGpt, test } from './fixtures';

// Debian Chromium 156 without --enable-unsafe-webgpu (checked): navigator.gpu exists in the page and
// in dedicated workers, but requestAdapter() resolves to null. So the banner must name that case, and
// the lab runs on the WebAssembly engine (src/lab/engine-choice.ts).
test('without WebGPU the banner names the case and the WebAssembly self-test passes', async ({ lab, page }, testInfo) => {
  await lab.open('?selftest');
  const banner = page.getByTestId('banner-no-webgpu');
  await expect(banner).toBeVisible({ timeout: 60_000 });
  await expect(banner).toContainText('No WebGPU adapter: requestAdapter() returned null.');
  await expect(banner.locator('[data-kind]')).toHaveAttribute('data-kind', 'no-adapter');
  await expect(banner).toContainText('What to try:');
  await expect(banner).toContainText('WebAssembly engine');
  await expect(banner).toContainText('navigator.gpu is present');
  await expect(page.getByTestId('engine-kind')).toHaveText('WebAssembly (CPU)');
  await expect(page.getByTestId('adapter-summary')).toHaveCount(0);
  // the lab's own server sends COOP/COEP: the page is cross-origin isolated, so the engine gets the
  // cores (at most 8) as threads
  const { isolated, cores } = await page.evaluate(() => ({ isolated: globalThis.crossOriginIsolated, cores: navigator.hardwareConcurrency }));
  expect(isolated).toBe(true);
  await expect(page.getByTestId('engine-threads-info')).toHaveAttribute('data-threads', String(Math.min(cores, 8)));

  await lab.waitForSelfTest();
  await lab.expectAllPass();
  await expect(lab.status()).toContainText('on the WebAssembly engine');
  await lab.expectNoHorizontalOverflow();
  const shot = testInfo.outputPath('lab-no-webgpu.png');
  await page.screenshot({ path: shot, fullPage: true });
  await testInfo.attach('lab-no-webgpu', { path: shot, contentType: 'image/png' });
});

test('without WebGPU the same experiment runs on the WebAssembly engine, and says so', async ({ lab, page }, testInfo) => {
  test.setTimeout(600_000);
  await serveTinyGpt(page);
  await lab.open();
  await expect(page.getByTestId('banner-no-webgpu')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('wasm-note')).toContainText('Running on the WebAssembly engine');
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
  expect(snap.engine).toBe('wasm');
  await lab.screenshot(testInfo, 'lab-wasm-done');
});

test('engine=cpu and the Engine panel choose the engine; one that cannot start says why', async ({ lab, page }) => {
  await lab.open('?engine=cpu');
  await expect(page.getByTestId('engine-kind')).toHaveText('CPU (TypeScript reference)', { timeout: 60_000 });
  await expect(page.getByTestId('cpu-note')).toContainText('Running on the CPU engine');
  await lab.openAdvanced();
  // WebGPU asked for where there is none: the lab says why and runs on WebAssembly
  await page.getByTestId('engine-select').selectOption('gpu');
  await page.getByTestId('engine-apply').click();
  await expect(page.getByTestId('engine-kind')).toHaveText('WebAssembly (CPU)', { timeout: 60_000 });
  await expect(page.getByTestId('engine-request-error')).toContainText('requestAdapter() returned null');
  await page.getByTestId('engine-select').selectOption('wasm');
  await page.getByTestId('engine-threads').fill('1');
  await page.getByTestId('engine-apply').click();
  await expect(page.getByTestId('engine-threads-info')).toHaveAttribute('data-threads', '1', { timeout: 60_000 });
  await expect(page.getByTestId('engine-request-error')).toHaveCount(0);
});
