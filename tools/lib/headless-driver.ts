// Runs the lab's headless page (headless.html) in Debian's Chromium from Node, for `npm run learn`,
// `npm run regress` and their tests: a programmatic Vite dev server on a free port, playwright-core,
// and the window.lab hooks (src/embed/automation.ts), polled (no callbacks cross page.evaluate).
//
// Traps handled here:
// - The tree is shared with other developers: a file they save would make Vite's HMR reload our
//   page mid-run. HMR and the file watcher are off.
// - Vite discovers dependencies lazily; a dependency met late (plotly, imported only for charts)
//   triggers a re-optimisation and a full page reload. The scan starts from headless.html and
//   plotly is listed explicitly, so everything is optimised before the page opens.
// - The dependency cache is private to this process (a temp dir): several drivers (tests running
//   in parallel) must not rewrite each other's cache.
import { execSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServer, version as viteVersion, type ViteDevServer } from 'vite';
import type { HeadlessExtras, LabAutomation } from '../../src/embed/automation';
import type { LabMetricsSnapshot, LabStateSnapshot, MaskFormat } from '../../src/embed/types';
import type { ExperimentConfig } from '../../src/lab/config';
import type { SessionEvent } from '../../src/lab/session';
import { chromiumArgs, chromiumExists, chromiumPath } from '../chromium.mjs';
import type { EngineKind } from '../../src/lab/names';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export class DriverError extends Error {}

export interface DriverOptions {
  /** Folder served as the site root for assets (checkpoints/, data/); default public/. */
  publicDir?: string;
  /** 'cpu' opens headless.html?engine=cpu (no WebGPU needed; slow). */
  engine?: EngineKind;
}

export interface RunRequest {
  config: Record<string, unknown>;
  /** A model from files instead of a bundled name. */
  customModel?: { safetensors: Uint8Array; config: unknown };
  /** A mask file for prior "file". */
  priorFile?: Uint8Array;
  /** Files to export after the run (default: none). */
  exports?: MaskFormat[];
  /** Render the PNG charts after the run. */
  charts?: boolean;
  /** Whole run, including load and baselines (default 2 h). */
  timeoutMs?: number;
  /** Every session event, in order. */
  onEvent?: (e: SessionEvent) => void;
}

export interface RunResult {
  config: ExperimentConfig;
  state: LabStateSnapshot;
  metrics: LabMetricsSnapshot;
  files: Partial<Record<MaskFormat, Uint8Array>>;
  charts: Record<string, string>;
  adapter: string;
  wallSeconds: number;
}

export interface Versions {
  lab: string;
  git: string | null;
  node: string;
  vite: string;
  chromium: string;
}

/** window.lab on headless.html: the automation hooks and the headless extras. */
type LabHooks = LabAutomation & HeadlessExtras;
type EvalFn<A, R> = (page: Page, arg: A) => Promise<R>;
const call =
  <A, R>(f: (lab: LabHooks, arg: A) => R | Promise<R>): EvalFn<A, R> =>
  // the function body is serialised into the page: only `lab` and `arg` are in scope there
  (page, arg) =>
    (page.evaluate as (fn: unknown, a: A) => Promise<R>)(new Function('arg', `return (${f.toString()})(window.lab, arg);`), arg);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = netServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

export class HeadlessDriver {
  private constructor(
    private readonly server: ViteDevServer,
    private readonly browser: Browser,
    private readonly url: string,
    private readonly cacheDir: string,
    readonly versions: Versions,
  ) {}

  static async start(opts: DriverOptions = {}): Promise<HeadlessDriver> {
    if (!chromiumExists()) throw new DriverError(`Chromium not found at ${chromiumPath()} (install Debian's chromium or set CHROMIUM_PATH)`);
    const cacheDir = mkdtempSync(join(tmpdir(), 'maskllm-vite-'));
    // The free port is found by binding port 0 and closing it; another process may take it before
    // Vite binds (strictPort makes that an error): try a few ports.
    let server: ViteDevServer;
    let port: number;
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      const s = await createServer({
        configFile: join(REPO_ROOT, 'vite.config.ts'),
        root: REPO_ROOT,
        publicDir: opts.publicDir ? resolve(opts.publicDir) : join(REPO_ROOT, 'public'),
        cacheDir,
        logLevel: 'error',
        clearScreen: false,
        server: { host: '127.0.0.1', port, strictPort: true, hmr: false, watch: null },
        optimizeDeps: { entries: ['headless.html'], include: ['plotly.js-dist-min'] },
      });
      try {
        await s.listen();
        server = s;
        break;
      } catch (e) {
        await s.close().catch(() => {});
        if (attempt >= 2) {
          rmSync(cacheDir, { recursive: true, force: true });
          throw new DriverError(`the Vite server could not start: ${(e as Error).message}`);
        }
      }
    }
    let browser: Browser | null = null;
    try {
      browser = await chromium.launch({ executablePath: chromiumPath(), args: chromiumArgs({ webgpu: opts.engine !== 'cpu' }), headless: true });
      const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
      let git: string | null = null;
      try {
        git = execSync('git rev-parse HEAD', { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] })
          .toString()
          .trim();
      } catch {
        git = null;
      }
      const versions = { lab: pkg.version, git, node: process.version, vite: viteVersion, chromium: browser.version() };
      const url = `http://127.0.0.1:${port}/headless.html${opts.engine === 'cpu' ? '?engine=cpu' : ''}`;
      return new HeadlessDriver(server, browser, url, cacheDir, versions);
    } catch (e) {
      await browser?.close().catch(() => {});
      await server.close().catch(() => {});
      rmSync(cacheDir, { recursive: true, force: true });
      throw e;
    }
  }

  /** One run in a fresh page: configure, learn (or compute the one-shot table), export, chart. */
  async run(req: RunRequest): Promise<RunResult> {
    const t0 = performance.now();
    const deadline = Date.now() + (req.timeoutMs ?? 2 * 3600_000);
    const page = await this.browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    try {
      await page.goto(this.url);
      await page.waitForFunction(() => window.lab !== undefined || window.labError !== undefined, undefined, { timeout: 180_000, polling: 100 });
      const startError = await page.evaluate(() => window.labError ?? null);
      if (startError) throw new DriverError(`the lab could not start: ${startError}`);
      const adapter = await call<null, string>((lab) => lab.adapter())(page, null);
      if (req.customModel) {
        const st = Buffer.from(req.customModel.safetensors).toString('base64');
        await call<[string, unknown], void>((lab, [s, c]) => lab.loadModelFiles(s, c))(page, [st, req.customModel.config]);
      }
      if (req.priorFile) {
        await call<string, void>((lab, b64) => lab.setPriorFile(b64))(page, Buffer.from(req.priorFile).toString('base64'));
      }
      const applied = await call<Record<string, unknown>, { config: ExperimentConfig; warnings: string[] }>((lab, c) => lab.setConfig(c))(page, req.config);
      if (applied.warnings.length) throw new DriverError(`the lab rejected the configuration: ${applied.warnings.join('; ')}`);

      let since = 0;
      let started = false;
      for (;;) {
        if (pageErrors.length) throw new DriverError(`the page threw: ${pageErrors[0]}`);
        const { events, next } = await call<number, { events: SessionEvent[]; next: number }>((lab, i) => lab.events(i))(page, since);
        since = next;
        for (const e of events) req.onEvent?.(e);
        const s = await call<null, LabStateSnapshot>((lab) => lab.getState())(page, null);
        if (s.state === 'error') throw new DriverError(s.message ?? 'the lab failed without a message');
        if (s.state === 'done') break;
        if (s.state === 'paused' && s.message) throw new DriverError(`the run paused: ${s.message}`);
        if (s.state === 'ready' && !started) {
          started = true;
          await call<null, void>((lab) => lab.run())(page, null);
        }
        if (Date.now() > deadline)
          throw new DriverError(
            `the run did not finish within ${Math.round((req.timeoutMs ?? 0) / 1000)} s (at step ${s.step}/${s.totalSteps}, state ${s.state})`,
          );
        await sleep(250);
      }
      // events emitted between the last poll and "done"
      const tail = await call<number, { events: SessionEvent[]; next: number }>((lab, i) => lab.events(i))(page, since);
      for (const e of tail.events) req.onEvent?.(e);

      const state = await call<null, LabStateSnapshot>((lab) => lab.getState())(page, null);
      const metrics = await call<null, LabMetricsSnapshot>((lab) => lab.getMetrics())(page, null);
      const files: Partial<Record<MaskFormat, Uint8Array>> = {};
      for (const f of req.exports ?? []) {
        const b64 = await call<MaskFormat, string>((lab, fmt) => lab.exportMask(fmt))(page, f);
        files[f] = new Uint8Array(Buffer.from(b64, 'base64'));
      }
      const charts = req.charts ? await call<null, Record<string, string>>((lab) => lab.chartsPng())(page, null) : {};
      if (pageErrors.length) throw new DriverError(`the page threw: ${pageErrors[0]}`);
      return { config: applied.config, state, metrics, files, charts, adapter, wallSeconds: (performance.now() - t0) / 1000 };
    } finally {
      await page.close().catch(() => {});
    }
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => {});
    await this.server.close().catch(() => {});
    rmSync(this.cacheDir, { recursive: true, force: true });
  }
}

/** Decodes a PNG data URL (from chartsPng) to bytes. */
export function pngBytes(dataUrl: string): Uint8Array {
  const m = /^data:image\/png;base64,(.*)$/s.exec(dataUrl);
  if (!m) throw new DriverError(`not a PNG data URL: ${dataUrl.slice(0, 40)}…`);
  return new Uint8Array(Buffer.from(m[1], 'base64'));
}
