// The guided tour on the production build: it walks through every step with the keyboard alone and
// each step highlights the element it names, on screen; a first visit opens it by itself, closing it
// is remembered, the header's Tour button reopens it, tour=1 forces it, and in an embedded lab at
// 480 px a step whose panel hide= removed says so instead of pointing at nothing.
import type { Page, TestInfo } from '@playwright/test';
import { expect, serveTinyGpt, test, TOUR_SEEN_KEY } from './fixtures';

// A short run so that the group view, the mask view and the results table all have content.
const SMALL = 'prior=none&calibBatches=1&evalWindows=1&batch=1&steps=2&evalEvery=1';

/** What each step must highlight once a run is done (the test's own list, not the page's). */
const TARGETS = ['group-weights', 'group-candidates', 'group-controls', 'mask-view', 'results-table'];
const TITLES = [
  'A 2:4 mask keeps 2 of every 4 weights',
  'The six candidates',
  'Sampling with κ and τ',
  'What learning changes',
  'Compare with the one-shot baselines',
];

const dialog = (page: Page) => page.getByRole('dialog');

async function expectStep(page: Page, i: number): Promise<void> {
  await expect(dialog(page)).toHaveAttribute('data-step', String(i));
  await expect(dialog(page).getByRole('heading', { level: 2 })).toHaveText(TITLES[i]);
  await expect(page.getByTestId('tour-progress')).toHaveText(`Tour: step ${i + 1} of ${TITLES.length}`);
}

/** The one highlighted element is the step's target and is on screen; a screenshot is attached. */
async function expectHighlight(page: Page, testInfo: TestInfo, i: number): Promise<void> {
  const active = page.locator('[data-tour-active]');
  await expect(active).toHaveCount(1);
  await expect(active).toHaveAttribute('data-testid', TARGETS[i]);
  await expect(dialog(page)).toHaveAttribute('data-target', TARGETS[i]);
  await expect(active).toBeInViewport({ ratio: 0.3 });
  const path = testInfo.outputPath(`tour-step-${i + 1}.png`);
  await page.screenshot({ path });
  await testInfo.attach(`tour-step-${i + 1}`, { path, contentType: 'image/png' });
}

test('the tour runs through every step with the keyboard only; each step highlights its element on screen', async ({ lab, page }, testInfo) => {
  test.setTimeout(300_000);
  await serveTinyGpt(page);
  await lab.open(`?${SMALL}&autorun=1`);
  // a returning visitor (the fixture's default): the tour does not open by itself
  await expect(lab.runStatus()).toHaveAttribute('data-state', 'done', { timeout: 240_000 });
  await expect(dialog(page)).toHaveCount(0);
  await expect(page.getByTestId('results-table').locator('tbody tr')).toHaveCount(6);

  // Tab reaches the header's Tour button first; Enter opens the tour and focus moves into it
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('tour-open')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(dialog(page)).toBeVisible();
  await expect(page.getByTestId('tour-next')).toBeFocused();
  // ARIA: labelled by its title, described by its text, step changes announced
  const labelledBy = await dialog(page).getAttribute('aria-labelledby');
  await expect(page.locator(`#${labelledBy}`)).toHaveText(TITLES[0]);
  await expect(page.locator('[aria-live="polite"]').filter({ has: page.locator(`#${labelledBy}`) })).toHaveCount(1);

  await expectStep(page, 0);
  await expectHighlight(page, testInfo, 0);
  await page.keyboard.press('Enter'); // on Next
  await expectStep(page, 1);
  await expectHighlight(page, testInfo, 1);
  await page.keyboard.press('ArrowRight');
  await expectStep(page, 2);
  await page.keyboard.press('ArrowLeft');
  await expectStep(page, 1);
  await page.keyboard.press('ArrowRight');
  await expectStep(page, 2);
  await expectHighlight(page, testInfo, 2);
  // Back and Next are buttons in the tab order
  await page.keyboard.press('Shift+Tab');
  await expect(page.getByTestId('tour-back')).toBeFocused();
  await page.keyboard.press('Enter');
  await expectStep(page, 1);
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('tour-next')).toBeFocused();
  await page.keyboard.press('Enter');
  await expectStep(page, 2);
  await page.keyboard.press('ArrowRight');
  await expectStep(page, 3);
  await expectHighlight(page, testInfo, 3);
  await page.keyboard.press('Enter');
  await expectStep(page, 4);
  await expectHighlight(page, testInfo, 4);
  // the last step's Next finishes: the dialog and the highlight go, focus returns to the Tour button
  await expect(page.getByTestId('tour-next')).toHaveText('Finish');
  await page.keyboard.press('ArrowRight'); // nothing past the last step
  await expectStep(page, 4);
  await page.keyboard.press('Enter');
  await expect(dialog(page)).toHaveCount(0);
  await expect(page.locator('[data-tour-active]')).toHaveCount(0);
  await expect(page.getByTestId('tour-open')).toBeFocused();
});

test.describe('a first visit', () => {
  test.use({ tourSeen: false });

  test('opens the tour by itself; Skip is remembered; the Tour button reopens it; Esc closes it; tour=1 forces it', async ({ lab, page }) => {
    await lab.open();
    await expect(dialog(page)).toBeVisible();
    await expectStep(page, 0);
    await expect(page.getByTestId('tour-next')).toBeFocused();
    expect(await page.evaluate((k) => localStorage.getItem(k), TOUR_SEEN_KEY)).toBeNull();

    // Skip, from the keyboard: Next → Back → Skip
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    await expect(page.getByTestId('tour-skip')).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(dialog(page)).toHaveCount(0);
    await expect(page.getByTestId('tour-open')).toBeFocused();
    expect(await page.evaluate((k) => localStorage.getItem(k), TOUR_SEEN_KEY)).toBe('1');

    // remembered: a reload does not open it again
    await page.reload();
    await expect(lab.runStatus()).toHaveAttribute('data-resume-checked', 'true', { timeout: 60_000 });
    await page.waitForTimeout(500);
    await expect(dialog(page)).toHaveCount(0);

    // the header's button reopens it at the first step; Esc closes it and focus returns
    await page.getByTestId('tour-open').focus();
    await page.keyboard.press('Enter');
    await expectStep(page, 0);
    await page.keyboard.press('ArrowRight');
    await expectStep(page, 1);
    await page.keyboard.press('Escape');
    await expect(dialog(page)).toHaveCount(0);
    await expect(page.getByTestId('tour-open')).toBeFocused();

    // Esc also closes it while focus is out on the page (the dialog is not modal)
    await page.getByTestId('tour-open').click();
    await expect(dialog(page)).toBeVisible();
    await page.getByTestId('share-url').focus();
    await page.keyboard.press('Escape');
    await expect(dialog(page)).toHaveCount(0);

    // tour=1 (for lessons) opens it although this browser has seen it
    await lab.open('?tour=1');
    await expect(dialog(page)).toBeVisible();
    await expectStep(page, 0);
  });

  test('embedded at 480 px: not opened by itself; with tour=1 a step whose panel is hidden says so', async ({ lab, page }, testInfo) => {
    await page.setViewportSize({ width: 480, height: 800 });
    await lab.open('?embed=1');
    await expect(lab.runStatus()).toHaveAttribute('data-resume-checked', 'true', { timeout: 60_000 });
    await page.waitForTimeout(500);
    await expect(dialog(page)).toHaveCount(0);

    await lab.open('?embed=1&tour=1&hide=group');
    await expect(dialog(page)).toBeVisible();
    await expectStep(page, 0);
    await expect(page.getByTestId('tour-hidden-note')).toContainText('This page hides the group view');
    await expect(page.locator('[data-tour-active]')).toHaveCount(0);
    await expect(dialog(page)).toHaveAttribute('data-target', '');
    // the dialog fits the narrow frame
    const box = (await dialog(page).boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(480);
    await lab.expectNoHorizontalOverflow();
    const path = testInfo.outputPath('tour-embed-480-hidden.png');
    await page.screenshot({ path });
    await testInfo.attach('tour-embed-480-hidden', { path, contentType: 'image/png' });

    // the mask view is shown: its step points at it (no model loaded: the panel itself)
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
    await expectStep(page, 3);
    await expect(page.getByTestId('tour-hidden-note')).toHaveCount(0);
    await expect(page.locator('[data-tour-active]')).toHaveAttribute('data-testid', 'mask-view');
    await expect(page.locator('[data-tour-active]')).toBeInViewport();
    const path2 = testInfo.outputPath('tour-embed-480-mask.png');
    await page.screenshot({ path: path2 });
    await testInfo.attach('tour-embed-480-mask', { path: path2, contentType: 'image/png' });
  });
});
