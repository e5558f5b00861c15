// The layout on the production build, after a short run (every panel with content, the results table
// with its rows): at 1280 × 800 on the main page and at 480 px in the embed layout, nothing sticks out
// of its panel sideways, no panel scrolls sideways, nothing is clipped, and the intended scroll
// containers (data-scroll-container: the results table, the mask maps, the memory plan) let their
// content be scrolled to. Screenshots of the main views are attached.
import type { Page, TestInfo } from '@playwright/test';
import { expect, serveTinyGpt, test, type LabPage } from './fixtures';

const SMALL = 'prior=none&calibBatches=1&evalWindows=1&batch=1&steps=2&evalEvery=1';
const RESULT_ROWS = ['dense', 'magnitude', 'wanda', 'sparsegpt', 'sparsegpt+update', 'maskllm'];

/**
 * Every way a panel's content can fail to fit sideways, as readable strings (empty when it all fits).
 * A panel is any `.panel`; its descendants' boxes must lie within its box (1 px of rounding allowed),
 * except inside an intended scroll container, which is itself checked: it scrolls (overflow-x auto
 * or scroll) and, scrolled to its end, shows its last content.
 */
function overflowProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    const name = (el: Element) => {
      const id = el.getAttribute('data-testid');
      if (id) return `[${id}]`;
      const cls = typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
      return `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${cls}`;
    };
    const rendered = (el: Element) => el.getClientRects().length > 0;
    const SLACK = 1;
    for (const panel of document.querySelectorAll<HTMLElement>('.panel')) {
      if (!rendered(panel)) continue;
      const box = panel.getBoundingClientRect();
      const where = name(panel);
      if (panel.scrollWidth > panel.clientWidth + SLACK) problems.push(`${where} scrolls sideways (${panel.scrollWidth} > ${panel.clientWidth})`);
      for (const el of panel.querySelectorAll<HTMLElement>('*')) {
        if (!rendered(el) || el.closest('.visually-hidden')) continue;
        const scroller = el.parentElement?.closest('[data-scroll-container]');
        if (scroller && panel.contains(scroller)) continue; // its content: checked below
        const r = el.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue;
        if (r.left < box.left - SLACK || r.right > box.right + SLACK)
          problems.push(`${where} ${name(el)} spans ${Math.round(r.left)}–${Math.round(r.right)} outside ${Math.round(box.left)}–${Math.round(box.right)}`);
        // (a text field scrolling its own long value, like the share link, is not clipping)
        const ox = getComputedStyle(el).overflowX;
        const field = el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement;
        if (!field && (ox === 'hidden' || ox === 'clip') && el.scrollWidth > el.clientWidth + SLACK)
          problems.push(`${where} ${name(el)} clips ${el.scrollWidth - el.clientWidth}px of its content`);
      }
    }
    for (const sc of document.querySelectorAll<HTMLElement>('[data-scroll-container]')) {
      if (!rendered(sc) || sc.scrollWidth <= sc.clientWidth + SLACK) continue;
      const ox = getComputedStyle(sc).overflowX;
      if (ox !== 'auto' && ox !== 'scroll') {
        problems.push(`${name(sc)} is wider than its box but does not scroll (overflow-x: ${ox})`);
        continue;
      }
      // scrolled to its end, its rightmost content is inside its box: every column can be reached
      const before = sc.scrollLeft;
      sc.scrollLeft = sc.scrollWidth;
      const right = sc.getBoundingClientRect().right;
      const far = Math.max(...[...sc.querySelectorAll('*')].map((e) => e.getBoundingClientRect().right));
      if (far > right + SLACK) problems.push(`${name(sc)} scrolled to its end still hides ${Math.round(far - right)}px`);
      sc.scrollLeft = before;
    }
    return problems;
  });
}

async function shoot(page: Page, testInfo: TestInfo, name: string, fullPage = true): Promise<void> {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}

async function shootPanel(page: Page, testInfo: TestInfo, testId: string, name: string): Promise<void> {
  const path = testInfo.outputPath(`${name}.png`);
  await page.getByTestId(testId).screenshot({ path });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}

/** A short run from the URL, to its end: every panel has content and the table all its rows. */
async function shortRun(lab: LabPage, page: Page, query: string): Promise<void> {
  await serveTinyGpt(page);
  await lab.open(`?${query}&${SMALL}&autorun=1`);
  await expect(lab.runStatus()).toHaveAttribute('data-state', 'done', { timeout: 240_000 });
  const keys = page.getByTestId('results-table').locator('tbody tr');
  await expect.poll(() => keys.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')))).toEqual(RESULT_ROWS);
  await expect(page.getByTestId('mask-view-summary')).toBeVisible();
  await expect(page.getByTestId('group-candidates')).toBeVisible();
}

test('1280 × 800: the bar on top, the visual panels first, settings under Advanced; nothing overflows or is clipped', async ({ lab, page }, testInfo) => {
  test.setTimeout(300_000);
  await page.setViewportSize({ width: 1280, height: 800 });
  await shortRun(lab, page, 'v=1');

  // the bar holds the model, the method and Run, above the visual panels; settings start collapsed
  const bar = page.getByTestId('lab-bar');
  for (const el of [bar.getByRole('radio', { name: /tiny-gpt/ }), bar.getByTestId('bar-method'), bar.getByTestId('btn-run')]) await expect(el).toBeVisible();
  const top = async (id: string) => (await page.getByTestId(id).boundingBox())!.y;
  expect(await top('lab-bar')).toBeLessThan(await top('group-view'));
  expect(await top('group-view')).toBeLessThan(await top('config-panel'));
  expect(await top('mask-view')).toBeLessThan(await top('config-panel'));
  await expect(page.getByTestId('advanced')).not.toHaveAttribute('open');
  await expect(page.getByTestId('field-kappaStart')).toBeHidden();
  await expect(bar.getByTestId('bar-method')).toHaveValue('maskllm');
  // the code-perplexity column, reported clipped in issue 20, is on screen inside the panel
  const panel = (await page.getByTestId('results-panel').boundingBox())!;
  const codePpl = (await page.getByTestId('results-table').getByRole('columnheader', { name: 'PPL code' }).boundingBox())!;
  expect(codePpl.x + codePpl.width).toBeLessThanOrEqual(panel.x + panel.width);

  await lab.expectNoHorizontalOverflow();
  expect(await overflowProblems(page), 'panels at 1280 × 800, Advanced closed').toEqual([]);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shoot(page, testInfo, 'layout-1280-first-screen', false);
  await lab.screenshot(testInfo, 'layout-1280-full'); // (brings the charts on screen first: they draw only there)
  await shootPanel(page, testInfo, 'results-panel', 'layout-1280-results');

  // Advanced open: every setting, grouped, with its help text
  await lab.openAdvanced();
  for (const legend of ['Method', 'Schedules', 'Optimizer', 'Run'])
    await expect(page.getByTestId('advanced').locator('legend', { hasText: legend })).toBeVisible();
  await expect(page.locator('#field-kappaStart-help')).toHaveText('Logit scale at step 0: small κ keeps masks random.');
  // the memory plan table (a scroll container) open too
  const plan = page.getByTestId('memory-plan').locator('summary');
  if (await plan.count()) await plan.click();
  await lab.expectNoHorizontalOverflow();
  expect(await overflowProblems(page), 'panels at 1280 × 800, Advanced open').toEqual([]);
  await page.getByTestId('config-panel').scrollIntoViewIfNeeded();
  await shoot(page, testInfo, 'layout-1280-advanced', false);
});

test('embed layout at 480 px: nothing overflows its panel; the results table scrolls inside its panel', async ({ lab, page }, testInfo) => {
  test.setTimeout(300_000);
  await page.setViewportSize({ width: 480, height: 800 });
  await shortRun(lab, page, 'embed=1');
  await expect(page.locator('body')).toHaveClass(/\bembed\b/);
  await lab.expectNoHorizontalOverflow();
  expect(await overflowProblems(page), 'panels at 480 px, embed').toEqual([]);
  // the table is wider than the frame: its region scrolls and is keyboard-reachable
  const scroller = page.getByRole('region', { name: /Results table/ });
  await expect(scroller).toHaveAttribute('tabindex', '0');
  await lab.openAdvanced();
  expect(await overflowProblems(page), 'panels at 480 px, embed, Advanced open').toEqual([]);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shoot(page, testInfo, 'layout-480-embed-first-screen', false);
  await shootPanel(page, testInfo, 'group-view', 'layout-480-group-view');
  await shootPanel(page, testInfo, 'results-panel', 'layout-480-results');
  await lab.screenshot(testInfo, 'layout-480-embed-full');
});
