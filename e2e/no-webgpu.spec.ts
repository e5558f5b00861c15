import { expect, test } from './fixtures';

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
