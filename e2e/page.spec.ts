import type { Page } from '@playwright/test';
import { expect, serveTinyGpt, test } from './fixtures';

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
    await lab.open('?selftest=12345');
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

    // A lost device is recreated on its own, and says so; the self-test passes again on the new device.
    await page.getByRole('button', { name: 'Simulate device loss' }).click();
    const banner = page.getByTestId('banner-device-recovered');
    await expect(banner).toContainText('The GPU device was lost; the lab recreated it.');
    await expect(banner).toContainText('destroyed');
    await expect(page.getByTestId('banner-device-lost')).toHaveCount(0);
    await expect(page.getByTestId('engine-kind')).toHaveText('GPU (WebGPU)');
    await again.click();
    await lab.waitForSelfTest();
    await lab.expectAllPass();
    await banner.getByRole('button', { name: 'Dismiss' }).click();
    await expect(banner).toHaveCount(0);
  });
});

/** Every id that a label, aria-describedby, aria-labelledby or aria-controls names exists on the page. */
async function danglingIdRefs(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const bad: string[] = [];
    for (const el of document.querySelectorAll('label[for], [aria-describedby], [aria-labelledby], [aria-controls]')) {
      const ids = [el.getAttribute('for'), el.getAttribute('aria-describedby'), el.getAttribute('aria-labelledby'), el.getAttribute('aria-controls')]
        .filter((v): v is string => !!v)
        .flatMap((v) => v.split(/\s+/));
      for (const id of ids) if (id && !document.getElementById(id)) bad.push(`${el.tagName.toLowerCase()} → #${id}`);
    }
    return bad;
  });
}

test.describe('hide= in the URL', () => {
  // Small settings so that the model load setConfig triggers stays short on SwiftShader.
  const SMALL = 'prior=none&calibBatches=1&evalWindows=1&batch=1&steps=2&evalEvery=1';

  test('hidden panels and controls are not rendered; hidden fields keep their URL value and setConfig still sets them', async ({ lab, page }) => {
    test.setTimeout(300_000);
    await serveTinyGpt(page);
    await lab.open(`?embed=1&hide=mask,selftest,adapter,share,evaluation,seed,lr,preset,model&lr=0.005&${SMALL}`);

    // panels that stay
    for (const id of ['model-panel', 'run-panel', 'charts-panel', 'results-panel', 'config-panel']) await expect(page.getByTestId(id), id).toBeVisible();
    // (an empty chart is in the DOM but `hidden` until it has data)
    await expect(page.getByTestId('chart-maskl1')).toHaveCount(1);
    await expect(page.getByTestId('load-model')).toBeVisible();
    // the field controls are in the Experiment panel's "Advanced" disclosure, collapsed at first
    await lab.openAdvanced();
    for (const f of ['steps', 'lrMin', 'kappaStart', 'prior']) await expect(page.getByTestId(`field-${f}`), f).toBeVisible();
    // panels and controls that go: not in the DOM at all (not merely invisible)
    for (const id of [
      'mask-view',
      'selftest-panel',
      'selftest-timing',
      'adapter-panel',
      'engine-kind',
      'share-panel',
      'chart-eval',
      'presets',
      'field-seed',
      'field-lr',
      'field-preset',
    ])
      await expect(page.getByTestId(id), id).toHaveCount(0);
    await expect(page.locator('#chart-domain')).toHaveCount(0);
    await expect(page.getByRole('radio', { name: /tiny-gpt/ })).toHaveCount(0);
    await expect(page.locator('#model-files')).toHaveCount(0);
    // the body classes stay as a styling hook
    await expect(page.locator('body')).toHaveClass(/\bembed\b/);
    await expect(page.locator('body')).toHaveClass(/\bhide-seed\b/);
    expect(await danglingIdRefs(page), 'labels and ARIA references to missing elements').toEqual([]);

    // Keyboard: the hidden lr is out of the tab order (Shift+Tab from "Final learning rate" lands on
    // the last control of the group before, the "Decay λ" checkbox).
    await page.getByTestId('field-lrMin').focus();
    await page.keyboard.press('Shift+Tab');
    await expect(page.getByTestId('field-lambdaDecay')).toBeFocused();

    // The hidden fields' values: lr from the URL, seed the default; setConfig still sets a hidden one.
    const before = await page.evaluate(() => window.lab!.getState());
    expect(before.config).toMatchObject({ lr: 0.005, seed: 1, steps: 2 });
    const set = await page.evaluate(() => window.lab!.setConfig({ seed: 9 }));
    expect(set.warnings).toEqual([]);
    expect(set.config).toMatchObject({ seed: 9, lr: 0.005 });
    const after = await page.evaluate(() => window.lab!.getState());
    expect(after.config).toMatchObject({ seed: 9, lr: 0.005, steps: 2 });
    await expect(page.getByTestId('field-seed')).toHaveCount(0);
    await expect(page.getByTestId('model-summary')).toBeVisible({ timeout: 60_000 });
  });

  test('hide=config,charts,table,export removes those panels and leaves the others', async ({ lab, page }) => {
    await lab.open('?hide=config,charts,table,export&steps=3');
    for (const id of ['config-panel', 'charts-panel', 'results-panel']) await expect(page.getByTestId(id), id).toHaveCount(0);
    for (const id of ['model-panel', 'run-panel', 'mask-view', 'group-view', 'share-panel', 'adapter-panel', 'selftest-link'])
      await expect(page.getByTestId(id), id).toBeVisible();
    // the self-test has its own view (?selftest): the lab's page links to it
    await expect(page.getByTestId('selftest-panel')).toHaveCount(0);
    const href = (await page.getByTestId('selftest-link').getAttribute('href')) ?? '';
    expect(new URL(href, page.url()).searchParams.has('selftest')).toBe(true);
    await expect(page.getByRole('radio', { name: /tiny-gpt/ })).toBeVisible();
    // The share link carries the experiment (steps=3), not the page options.
    const link = await page.getByTestId('share-url').inputValue();
    expect(new URL(link).searchParams.get('steps')).toBe('3');
    expect(new URL(link).searchParams.get('model')).toBe('tiny-gpt');
    expect(new URL(link).searchParams.has('hide')).toBe(false);
    expect(await danglingIdRefs(page), 'labels and ARIA references to missing elements').toEqual([]);
  });
});
