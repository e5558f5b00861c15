// Launch helpers and page fixtures for the e2e tests. Browsers are Debian's Chromium (never a
// downloaded one): tools/chromium.mjs gives its path and the flags that turn WebGPU on or off.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test as base, expect, type Page } from '@playwright/test';
import { chromiumArgs, chromiumPath } from '../tools/chromium.mjs';

/** Port of the Vite dev server the tests start (E2E_PORT overrides). */
export const E2E_PORT = Number(process.env.E2E_PORT ?? 5199);
/** `vite preview` of a fresh production build (playwright.config.ts), for lab.spec.ts. */
export const E2E_BUILT_PORT = E2E_PORT + 1;

/** Playwright launch options for Debian's Chromium with or without --enable-unsafe-webgpu. */
export function chromiumLaunch({ webgpu }: { webgpu: boolean }) {
  return { executablePath: chromiumPath(), args: chromiumArgs({ webgpu }) };
}

/** The SwiftShader self-test includes compiling every pipeline: give it room on a busy machine. */
export const SELFTEST_TIMEOUT_MS = 90_000;

// Until the bundled checkpoint exists in public/checkpoints/tiny-gpt/ (it is trained separately),
// the tests serve a randomly initialised model of the same architecture (TINY_GPT) in its place, so
// the page's flow is exercised exactly as with the real one.
const GEN_SCRIPT = `
import { mkdirSync, writeFileSync } from 'node:fs';
import { writeCheckpoint } from './src/models/checkpoint.ts';
import { gptInitialWeights } from './src/models/gpt.ts';
import { TINY_GPT } from './src/models/presets.ts';
const out = process.argv[1];
mkdirSync(out, { recursive: true });
const ck = writeCheckpoint(TINY_GPT, gptInitialWeights(TINY_GPT, 7));
writeFileSync(out + '/model.safetensors', ck.safetensors);
writeFileSync(out + '/config.json', ck.configJson);
`;

/** True when public/ has the bundled tiny-gpt (then nothing is substituted). */
export const HAVE_TINY_GPT = existsSync('public/checkpoints/tiny-gpt/model.safetensors') && existsSync('public/checkpoints/tiny-gpt/config.json');

/** A folder with tiny-gpt's model.safetensors and config.json (the bundled one, or generated). */
export async function tinyGptDir(): Promise<string> {
  if (HAVE_TINY_GPT) return 'public/checkpoints/tiny-gpt';
  const dir = join(tmpdir(), 'maskllm-e2e-assets', 'tiny-gpt');
  if (!existsSync(join(dir, 'config.json'))) {
    execFileSync(process.execPath, ['--import', 'tsx', '--import', './tools/raw-loader.mjs', '--input-type=module', '-e', GEN_SCRIPT, dir], {
      stdio: 'inherit',
    });
  }
  return dir;
}

// tiny-gpt's checkpoint as the hub shards it: its tensors under the hub's names (no `transformer.`),
// in two shards by transformers' rule (tests/helpers/hub-configs.ts), with the index and config.json.
const SHARD_SCRIPT = `
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readSafetensors } from './src/models/safetensors.ts';
import { shardLikeTransformers } from './tests/helpers/hub-configs.ts';
const [from, out] = process.argv.slice(1);
const tensors = [...readSafetensors(new Uint8Array(readFileSync(from + '/model.safetensors'))).tensors.values()].map((t) => ({
  name: t.name.replace(/^transformer\\./, ''), dtype: t.dtype, shape: t.shape, data: t.bytes,
}));
const total = tensors.reduce((n, t) => n + t.data.byteLength, 0);
let files = [];
for (let max = Math.ceil(total / 2); files.length !== 3 && max <= total; max += 4096) files = shardLikeTransformers(tensors, max);
if (files.length !== 3) throw new Error('no split into two shards');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const f of files) writeFileSync(out + '/' + f.name, f.bytes);
writeFileSync(out + '/config.json', readFileSync(from + '/config.json'));
`;

/**
 * A folder with tiny-gpt as a sharded hub checkpoint: config.json, model.safetensors.index.json,
 * model-00001-of-00002.safetensors and model-00002-of-00002.safetensors (written afresh each call).
 */
export async function shardedTinyGptDir(): Promise<string> {
  const from = await tinyGptDir();
  const dir = join(tmpdir(), 'maskllm-e2e-assets', 'tiny-gpt-sharded');
  execFileSync(process.execPath, ['--import', 'tsx', '--import', './tools/raw-loader.mjs', '--input-type=module', '-e', SHARD_SCRIPT, from, dir], {
    stdio: 'inherit',
  });
  return dir;
}

export async function serveTinyGpt(page: Page): Promise<void> {
  if (HAVE_TINY_GPT) return;
  const dir = await tinyGptDir();
  await page.route('**/checkpoints/tiny-gpt/*', (route) => route.fulfill({ path: join(dir, basename(new URL(route.request().url()).pathname)) }));
}

// Exported files are checked with the lab's own parsers in a Node child process (they import WGSL
// through `?raw`, which Playwright's loader cannot): masks parse, every group keeps exactly N of M,
// the packed file decodes to the same masks, and the state decodes.
const CHECK_SCRIPT = `
import { readFileSync } from 'node:fs';
import { decodeState, importMaskPacked, importMaskSafetensors } from './src/sparsity/maskfile.ts';
import { elementIndex, groupLayout } from './src/sparsity/layout.ts';
const a = JSON.parse(process.argv[1]);
const expect = { n: a.n, m: a.m, weights: a.sites };
const st = importMaskSafetensors(new Uint8Array(readFileSync(a.safetensors)), expect);
const pk = importMaskPacked(new Uint8Array(readFileSync(a.packed)), expect);
let groups = 0, bad = 0, differ = 0;
st.forEach((e, i) => {
  const g = groupLayout(e.shape, e.layout, a.m);
  for (let k = 0; k < g.groups; k++) {
    let kept = 0;
    for (let j = 0; j < a.m; j++) kept += e.mask[elementIndex(g, k, j)];
    groups++;
    if (kept !== a.n) bad++;
  }
  for (let j = 0; j < e.mask.length; j++) if (e.mask[j] !== pk[i].mask[j]) differ++;
});
const state = a.state ? decodeState(new Uint8Array(readFileSync(a.state))) : null;
console.log(JSON.stringify({ sites: st.length, groups, bad, differ, stateStep: state ? state.step : null, stateSites: state ? state.sites.length : null }));
`;

export interface MaskCheck {
  sites: number;
  groups: number;
  /** groups that do not keep exactly N of M */
  bad: number;
  /** elements where the packed file's mask differs from the safetensors one */
  differ: number;
  stateStep: number | null;
  stateSites: number | null;
}

export function checkMaskFiles(args: {
  n: number;
  m: number;
  sites: { name: string; shape: number[]; layout: string }[];
  safetensors: string;
  packed: string;
  state?: string;
}): MaskCheck {
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', '--import', './tools/raw-loader.mjs', '--input-type=module', '-e', CHECK_SCRIPT, JSON.stringify(args)],
    { encoding: 'utf8' },
  );
  return JSON.parse(out.trim().split('\n').at(-1)!) as MaskCheck;
}

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

  runStatus() {
    return this.page.getByTestId('run-status');
  }

  /** Opens the Experiment panel's "Advanced" disclosure (the field controls are inside it). */
  async openAdvanced(): Promise<void> {
    const advanced = this.page.getByTestId('advanced');
    if ((await advanced.getAttribute('open')) === null) await this.page.getByTestId('advanced-toggle').click();
    await expect(advanced).toHaveAttribute('open', '');
  }

  /** Sets experiment fields through their labelled inputs (text inputs and selects), in "Advanced". */
  async setFields(fields: Record<string, string | number>): Promise<void> {
    await this.openAdvanced();
    for (const [k, v] of Object.entries(fields)) {
      const el = this.page.getByTestId(`field-${k}`);
      if ((await el.evaluate((e) => e.tagName)) === 'SELECT') await el.selectOption(String(v));
      else await el.fill(String(v));
    }
  }

  async step(): Promise<number> {
    return Number(await this.runStatus().getAttribute('data-step'));
  }

  /** Points drawn in a chart (the longest trace), from the data-points attribute Chart sets. */
  async chartPoints(testId: string): Promise<number> {
    return Number((await this.page.getByTestId(testId).getAttribute('data-points')) ?? 0);
  }

  async screenshot(testInfo: import('@playwright/test').TestInfo, name: string): Promise<void> {
    // charts are redrawn only while on screen: bring them into view so the picture shows them
    const charts = this.page.getByTestId('charts-panel');
    if (await charts.count()) {
      await charts.scrollIntoViewIfNeeded();
      await this.page.waitForTimeout(800);
    }
    const path = testInfo.outputPath(`${name}.png`);
    await this.page.screenshot({ path, fullPage: true });
    await testInfo.attach(name, { path, contentType: 'image/png' });
  }

  /** No horizontal scrolling at the current viewport width. */
  async expectNoHorizontalOverflow(): Promise<void> {
    const { scroll, client } = await this.page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    expect(scroll, `page is ${scroll}px wide in a ${client}px viewport`).toBeLessThanOrEqual(client);
  }
}

/** localStorage key of the guided tour's "seen" flag (src/state/tour-slice.ts). */
export const TOUR_SEEN_KEY = 'maskllm-lab:tour-seen';

export const test = base.extend<{ lab: LabPage; tourSeen: boolean }>({
  // The guided tour opens by itself on a first visit, and every test starts with empty storage: the
  // specs that are not about the tour open the page as a returning visitor (tour.spec.ts sets false).
  tourSeen: [true, { option: true }],
  lab: async ({ page, tourSeen }, use) => {
    // The dev server serves a tree others edit while the tests run: Vite's HMR client would reload
    // the page mid-run on any change. A mocked socket (open, silent) keeps the page as loaded.
    await page.routeWebSocket(/.*/, () => {});
    if (tourSeen)
      await page.addInitScript((key) => {
        try {
          localStorage.setItem(key, '1');
        } catch {
          /* a frame without storage (about:blank, sandboxed) */
        }
      }, TOUR_SEEN_KEY);
    const lab = new LabPage(page);
    await use(lab);
    expect(lab.pageErrors, 'uncaught page errors').toEqual([]);
  },
});

export { expect };
