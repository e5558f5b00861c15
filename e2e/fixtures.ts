// Launch helpers and page fixtures for the e2e tests. Browsers are Debian's Chromium (never a
// downloaded one): tools/chromium.mjs gives its path and the flags that turn WebGPU on or off.
import { test as base, expect, type Page } from '@playwright/test';
import { chromiumArgs, chromiumPath } from '../tools/chromium.mjs';

/** Port of the Vite dev server the tests start (E2E_PORT overrides). */
export const E2E_PORT = Number(process.env.E2E_PORT ?? 5199);

/** Playwright launch options for Debian's Chromium with or without --enable-unsafe-webgpu. */
export function chromiumLaunch({ webgpu }: { webgpu: boolean }) {
  return { executablePath: chromiumPath(), args: chromiumArgs({ webgpu }) };
}

/** The SwiftShader self-test includes compiling every pipeline: give it room on a busy machine. */
export const SELFTEST_TIMEOUT_MS = 90_000;

export class LabPage {
  /** Uncaught exceptions on the page; a test fails if any appear. */
  readonly pageErrors: string[] = [];
  constructor(readonly page: Page) {
    page.on('pageerror', (e) => this.pageErrors.push(e.message));
  }

  async open(query = ''): Promise<void> {
    await this.page.goto(`/${query}`);
    await expect(this.page.getByRole('heading', { level: 1 })).toHaveText('MaskLLM WebGPU lab');
  }

  status() {
    return this.page.getByTestId('selftest-status');
  }

  /** Waits until the self-test run finished (passed or not) and returns its seed. */
  async waitForSelfTest(): Promise<string> {
    await expect(this.status()).toHaveAttribute('data-state', /^(done|failed)$/, { timeout: SELFTEST_TIMEOUT_MS });
    return (await this.page.getByTestId('selftest-seed').textContent()) ?? '';
  }

  /** Asserts every row passed, naming the failing ones; returns the row count. */
  async expectAllPass(): Promise<number> {
    await expect(this.status()).toHaveAttribute('data-state', 'done');
    const rows = this.page.getByTestId('selftest-row');
    const n = await rows.count();
    expect(n, 'number of self-test rows').toBeGreaterThanOrEqual(9);
    const bad: string[] = [];
    for (let i = 0; i < n; i++) {
      const row = rows.nth(i);
      if ((await row.getAttribute('data-status')) !== 'pass') bad.push((await row.innerText()).replace(/\s+/g, ' '));
    }
    expect(bad, 'failing self-test rows').toEqual([]);
    await expect(this.status()).toHaveAttribute('data-failed', '0');
    return n;
  }

  /** No horizontal scrolling at the current viewport width. */
  async expectNoHorizontalOverflow(): Promise<void> {
    const { scroll, client } = await this.page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    expect(scroll, `page is ${scroll}px wide in a ${client}px viewport`).toBeLessThanOrEqual(client);
  }
}

export const test = base.extend<{ lab: LabPage }>({
  lab: async ({ page }, use) => {
    const lab = new LabPage(page);
    await use(lab);
    expect(lab.pageErrors, 'uncaught page errors').toEqual([]);
  },
});

export { expect };
