// Embedding end to end: a host page on a SECOND origin (a tiny static server on another port) embeds
// the lab (Vite dev server) in an iframe and scripts it through the client helper, loaded as a module
// from the lab's dev server. Needs the page to call installEmbedHost() and show URL warnings.
import { chromiumLaunch, E2E_PORT, expect, serveTinyGpt, test } from './fixtures';
import { startStaticServer, type StaticServer } from './static-server';

const LAB = `http://127.0.0.1:${E2E_PORT}`;
// Short and small: every step runs WGSL on SwiftShader.
const SMALL_FIELDS = { steps: 4, evalEvery: 2, batch: 1, samplesPerStep: 1, calibBatches: 1, evalWindows: 1, prior: 'none' };
const SMALL = new URLSearchParams(Object.entries(SMALL_FIELDS).map(([k, v]) => [k, String(v)])).toString();

/** The host page's script: loads the client from the lab and exposes a harness to the test. */
const HOST_JS = `
const LAB = ${JSON.stringify(LAB)};
const { LabClient } = await import(LAB + '/src/embed/client.ts');
window.harness = {
  events: [],
  client: null,
  async attach(query, readyTimeoutMs) {
    const iframe = document.createElement('iframe');
    iframe.src = LAB + '/?' + query;
    iframe.width = '480';
    iframe.height = '640';
    document.body.append(iframe);
    try {
      this.client = await LabClient.attach(iframe, LAB, { readyTimeoutMs, commandTimeoutMs: 240000 });
    } catch (e) {
      return { error: e.code + ': ' + e.message };
    }
    for (const ev of ['progress', 'metrics', 'evaluation', 'done', 'error']) this.client.on(ev, (d) => this.events.push({ event: ev, data: d }));
    return { ready: this.client.ready };
  },
  async call(name, ...args) {
    try {
      const r = await this.client[name](...args);
      return { ok: true, result: r instanceof Uint8Array ? { byteLength: r.byteLength, head: Array.from(r.slice(0, 8)) } : r };
    } catch (e) {
      return { ok: false, error: e.code + ': ' + e.message };
    }
  },
};
document.body.dataset.harness = 'ready';
`;
const HOST_HTML = `<!doctype html><html><head><meta charset="utf-8"><title>embed host</title></head><body><h1>Host page</h1><script type="module" src="/host.js"></script></body></html>`;

type Harness = {
  events: { event: string; data: Record<string, unknown> }[];
  attach(query: string, readyTimeoutMs: number): Promise<{ error?: string; ready?: { warnings: string[]; state: string } | null }>;
  call(name: string, ...args: unknown[]): Promise<{ ok: boolean; result?: Record<string, unknown>; error?: string }>;
};
declare global {
  interface Window {
    harness: Harness;
  }
}

let server: StaticServer;
test.use({ launchOptions: chromiumLaunch({ webgpu: true }) });
test.beforeAll(async () => {
  server = await startStaticServer({ '/host.html': HOST_HTML, '/host.js': HOST_JS });
});
test.afterAll(async () => server?.close());

async function openHost(page: import('@playwright/test').Page, hostOrigin: string) {
  // The bundled checkpoint may not be built in this tree: the fixture serves a generated one to
  // every frame (and worker) of the page.
  await serveTinyGpt(page);
  await page.goto(`${hostOrigin}/host.html`);
  await expect(page.locator('body')).toHaveAttribute('data-harness', 'ready', { timeout: 60_000 });
}

const labFrame = (page: import('@playwright/test').Page) => page.frames().find((f) => f.url().startsWith(LAB + '/'));

/** The embed host's counters, read from the lab frame's own module instance. */
async function hostStats(page: import('@playwright/test').Page) {
  const frame = labFrame(page);
  if (!frame) throw new Error('no lab frame on the page');
  return frame.evaluate(async () => {
    const m = (await import(/* @vite-ignore */ '/src/embed/host.ts' as string)) as { embedHostStats(): unknown };
    return m.embedHostStats();
  });
}

test('a host page on another origin drives the lab through the client helper', async ({ page }) => {
  test.setTimeout(420_000);
  await openHost(page, server.origin);
  const attached = await page.evaluate(([q]) => window.harness.attach(q, 150_000), [`embed=1&origins=${encodeURIComponent(server.origin)}&${SMALL}`]);
  expect(attached.error, 'attach').toBeUndefined();

  // Also sent by setConfig, so that this test does not depend on the page applying its URL.
  const set = await page.evaluate(([f]) => window.harness.call('setConfig', { ...f, seed: 5 }), [SMALL_FIELDS]);
  expect(set.error, 'setConfig error').toBeUndefined();
  expect(set, 'setConfig').toMatchObject({ ok: true, result: { warnings: [], config: { seed: 5, steps: 4, evalEvery: 2 } } });

  const state = await page.evaluate(() => window.harness.call('getState'));
  expect(state.error, 'getState error').toBeUndefined();
  expect(state, 'getState').toMatchObject({ ok: true, result: { totalSteps: 4, config: { seed: 5 } } });
  expect(['ready', 'paused']).toContain((state.result as { state: string }).state);

  for (let i = 0; i < 2; i++) expect(await page.evaluate(() => window.harness.call('step')), `step ${i + 1}`).toEqual({ ok: true, result: null });
  // Events come asynchronously after the steps: learning progress and the evaluation at step 2.
  await expect
    .poll(async () => page.evaluate(() => window.harness.events.map((e) => e.event)), { timeout: 120_000 })
    .toEqual(expect.arrayContaining(['progress', 'evaluation']));
  const events = await page.evaluate(() => window.harness.events);
  expect(events.some((e) => e.event === 'progress' && e.data.phase === 'learning')).toBe(true);
  expect(events.find((e) => e.event === 'evaluation')!.data).toMatchObject({ step: 2 });

  const metrics = await page.evaluate(() => window.harness.call('getMetrics'));
  expect(metrics.ok).toBe(true);
  expect((metrics.result as { rows: unknown[] }).rows.length).toBeGreaterThanOrEqual(2);

  const mask = await page.evaluate(() => window.harness.call('exportMask', 'packed'));
  expect(mask.ok, mask.error).toBe(true);
  expect(mask.result!.byteLength as number).toBeGreaterThan(0);

  const bad = await page.evaluate(() => window.harness.call('exportMask', 'zip'));
  expect(bad).toMatchObject({ ok: false, error: expect.stringContaining('format must be one of safetensors, packed, state') });

  const stats = await hostStats(page);
  expect(stats).toMatchObject({ rejected: 1, rateLimited: 0 });
  expect((stats as { accepted: number }).accepted).toBeGreaterThanOrEqual(7);
});

test('commands from an origin the lab does not allow are ignored and counted', async ({ page }) => {
  test.setTimeout(240_000);
  // Same server, another origin: "localhost" is not "127.0.0.1" for the browser.
  const other = `http://localhost:${server.port}`;
  await openHost(page, other);
  const attached = await page.evaluate(([q]) => window.harness.attach(q, 20_000), [`embed=1&origins=${encodeURIComponent(server.origin)}&${SMALL}`]);
  expect(attached.error).toMatch(/^timeout: the lab at .* did not become ready/);
  const stats = (await hostStats(page)) as { accepted: number; ignored: number };
  expect(stats.accepted).toBe(0);
  expect(stats.ignored).toBeGreaterThan(0);
});

test('a URL with bad values shows a visible warning in the lab and still works', async ({ page }) => {
  test.setTimeout(300_000);
  await openHost(page, server.origin);
  const attached = await page.evaluate(
    ([q]) => window.harness.attach(q, 150_000),
    [`embed=1&origins=${encodeURIComponent(server.origin)}&${SMALL}&lr=abc&kapa=3`],
  );
  expect(attached.error, 'attach').toBeUndefined();
  expect(attached.ready!.warnings).toEqual(
    expect.arrayContaining([expect.stringContaining('lr="abc" is not a number'), 'unknown URL parameter "kapa" ignored']),
  );
  const frame = page.frameLocator('iframe');
  await expect(frame.getByText(/lr="abc" is not a number/)).toBeVisible();
  await expect(frame.getByText(/unknown URL parameter "kapa"/)).toBeVisible();
  const state = await page.evaluate(() => window.harness.call('getState'));
  expect(state).toMatchObject({ ok: true, result: { config: { lr: expect.any(Number), steps: 4 } } });
  expect(await page.evaluate(() => window.harness.call('step'))).toEqual({ ok: true, result: null });
});

declare global {
  interface Window {
    __lessonEvents?: { frame: number; event: string }[];
  }
}

// public/lesson.html on the lab's own (dev) server: two labs side by side driven by public/lesson.js
// through the client helper. Settings in the lesson's URL reach both labs, which keeps the run short.
test('the lesson page: both labs load and say ready, and "Run both" runs each with its own κ, progress and evaluation shown on the lesson', async ({
  lab,
  page,
}) => {
  test.setTimeout(600_000);
  await serveTinyGpt(page);
  // The protocol events the lesson page receives (in the top window only: init scripts run in every frame).
  await page.addInitScript(() => {
    if (window.top !== window) return;
    window.__lessonEvents = [];
    window.addEventListener('message', (ev) => {
      const d = ev.data as { protocol?: string; type?: string; event?: string } | null;
      if (!d || d.protocol !== 'maskllm-lab' || d.type !== 'event') return;
      const frame = [...document.querySelectorAll('iframe')].findIndex((f) => f.contentWindow === ev.source);
      window.__lessonEvents!.push({ frame, event: String(d.event) });
    });
  });
  const lessonErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && m.location().url.startsWith(`${LAB}/lesson`)) lessonErrors.push(m.text());
  });

  await page.goto(`${LAB}/lesson.html?${SMALL}`);
  const global = page.locator('#global-status');
  await expect(global).toHaveText('Both labs are ready.', { timeout: 240_000 });
  const sections = { small: page.locator('section[data-lab="small"]'), tuned: page.locator('section[data-lab="tuned"]') };

  // Both iframes hold the lab, configured by the lesson (its own settings, then each lab's).
  for (const [name, section] of Object.entries(sections)) {
    const src = new URL((await section.locator('iframe').getAttribute('src'))!, LAB);
    expect(src.origin, name).toBe(LAB);
    expect(src.searchParams.get('steps'), name).toBe('4');
    expect(src.searchParams.get('kappaStart'), name).toBe(name === 'small' ? '1' : null);
    const frame = section.frameLocator('iframe');
    await expect(frame.getByRole('heading', { level: 1 })).toHaveText('MaskLLM WebGPU lab');
    // the lesson hides the self-test and engine panels (hide=selftest,adapter)
    await expect(frame.getByTestId('run-panel')).toBeVisible();
    await expect(frame.getByTestId('selftest-panel')).toHaveCount(0);
    await expect(frame.getByTestId('adapter-panel')).toHaveCount(0);
    await expect(section).toHaveAttribute('data-state', 'ready');
    await expect(section.locator('.status')).toContainText('(4 steps)');
  }
  const events = await page.evaluate(() => window.__lessonEvents ?? []);
  expect(
    events
      .filter((e) => e.event === 'ready')
      .map((e) => e.frame)
      .sort(),
    'ready from each lab',
  ).toEqual([0, 1]);

  await page.getByRole('button', { name: 'Run both' }).click();
  for (const [name, section] of Object.entries(sections)) {
    await expect(section, `${name} finished`).toHaveAttribute('data-state', 'done', { timeout: 480_000 });
    const status = section.locator('.status');
    await expect(status).toContainText('step 4/4');
    await expect(status).toContainText(/hard-mask validation loss \d+\.\d{3} at step [24]/);
    await expect(status).toContainText('done');
    expect(Number(await section.getAttribute('data-evaluations')), `${name} evaluations`).toBeGreaterThanOrEqual(1);
    // both curves drawn under the lab: max probability one point per step, mask difference from the
    // second step on (the first step has no previous mask to compare with)
    const lines = section.locator('svg.curves polyline');
    await expect(lines).toHaveCount(2);
    expect((await section.locator('svg.curves polyline.mp').getAttribute('points'))!.trim().split(/\s+/)).toHaveLength(4);
    expect((await section.locator('svg.curves polyline.l1').getAttribute('points'))!.trim().split(/\s+/)).toHaveLength(3);
    const frame = section.frameLocator('iframe');
    for (const id of ['banner-page-error', 'banner-fatal', 'session-error']) await expect(frame.getByTestId(id), `${name}: ${id}`).toHaveCount(0);
  }
  // Each lab ran its own schedule: κ = 1 throughout on the left, the tuned (growing) κ on the right.
  await expect(sections.small.locator('.status')).toContainText('κ=1.000');
  await expect(sections.tuned.locator('.status')).not.toContainText('κ=1.000');
  const after = await page.evaluate(() => window.__lessonEvents ?? []);
  for (const frame of [0, 1]) {
    const kinds = new Set(after.filter((e) => e.frame === frame).map((e) => e.event));
    for (const k of ['progress', 'metrics', 'evaluation', 'done']) expect(kinds.has(k), `lab ${frame} sent ${k}`).toBe(true);
  }
  await expect(global).not.toHaveClass(/error/);
  expect(lessonErrors, 'console errors from the lesson page').toEqual([]);
  expect(lab.pageErrors, 'uncaught errors').toEqual([]);
});
