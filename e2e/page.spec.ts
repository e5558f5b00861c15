import { expect, test } from './fixtures';

test.describe('lab page with WebGPU', () => {
  test('shows the adapter, and every self-test row passes on the GPU', async ({ lab, page }, testInfo) => {
    await lab.open('?selftest');
    await expect(page.getByTestId('engine-kind')).toHaveText('GPU (WebGPU)', { timeout: 60_000 });
    const summary = (await page.getByTestId('adapter-summary').innerText()).trim();
    const vendor = (await page.getByTestId('adapter-vendor').innerText()).trim();
    expect(summary.length, 'adapter summary').toBeGreaterThan(0);
    expect(/swiftshader/i.test(summary) || (vendor !== '' && vendor !== '—'), `adapter "${summary}", vendor "${vendor}"`).toBe(true);
    await expect(page.getByTestId('adapter-limits')).toContainText('Max storage buffer binding');
    await expect(page.getByTestId('banner-no-webgpu')).toHaveCount(0);

    await lab.waitForSelfTest();
    await lab.expectAllPass();
    await expect(lab.status()).toContainText('on the GPU');
    // The timing chart drew the completed run (Plotly loads lazily; charts draw only while on screen).
    await page.getByRole('heading', { name: 'Self-test timing' }).scrollIntoViewIfNeeded();
    await expect(page.getByRole('img', { name: 'Total self-test time per run' }).locator('.main-svg').first()).toBeVisible({ timeout: 30_000 });
    await lab.expectNoHorizontalOverflow();
    const shot = testInfo.outputPath('lab-1280x720.png');
    await page.screenshot({ path: shot, fullPage: true });
    await testInfo.attach('lab-1280x720', { path: shot, contentType: 'image/png' });

    await page.setViewportSize({ width: 480, height: 900 });
    await lab.expectNoHorizontalOverflow();
    const narrow = testInfo.outputPath('lab-480.png');
    await page.screenshot({ path: narrow, fullPage: true });
    await testInfo.attach('lab-480', { path: narrow, contentType: 'image/png' });
  });

  test('URL seed, "Run again" from the keyboard, and recovery from a lost device', async ({ lab, page }) => {
    // A seed in the URL reproduces a run.
    await lab.open('?seed=12345');
    expect(await lab.waitForSelfTest()).toBe('12345');
    await lab.expectAllPass();

    // "Run again" is keyboard operable and draws a fresh seed.
    const again = page.getByRole('button', { name: 'Run again' });
    await again.focus();
    await expect(again).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(page.getByTestId('selftest-seed')).not.toHaveText('12345');
    await lab.waitForSelfTest();
    await lab.expectAllPass();

    // A lost device shows a banner; the device can be recreated and the self-test passes again.
    await page.getByRole('button', { name: 'Simulate device loss' }).click();
    const banner = page.getByTestId('banner-device-lost');
    await expect(banner).toContainText('The GPU device was lost.');
    await expect(banner).toContainText('destroyed');
    await banner.getByRole('button', { name: 'Recreate the GPU device' }).click();
    await expect(banner).toHaveCount(0);
    await expect(page.getByTestId('engine-kind')).toHaveText('GPU (WebGPU)');
    await lab.waitForSelfTest();
    await lab.expectAllPass();
  });
});
