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
// - Chromium's DevTools pipe (page.evaluate's channel) holds 100 MiB: a larger value kills the page
//   ("Too large read data is pending"). Files never cross it: the model, the prior mask and the
//   exported masks travel over HTTP through FileRoutes (tools/lib/file-routes.ts), mounted on this
//   Vite server (same origin as the page) and registered per run under unguessable URLs.
import { execSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServer, version as viteVersion, type ViteDevServer } from 'vite';
import type { HeadlessExtras, LabAutomation, RemoteFile } from '../../src/embed/automation';
import type { LabMetricsSnapshot, LabStateSnapshot, MaskFormat } from '../../src/embed/types';
import type { ExperimentConfig } from '../../src/lab/config';
import { USER_FILE_LIMITS } from '../../src/lab/files';
import type { SessionEvent } from '../../src/lab/session';
import { chromiumArgs, chromiumExists, chromiumPath } from '../chromium.mjs';
import type { EngineRequest } from '../../src/lab/engine-choice';
import { engineQuery } from './engine-options';
import { FileRoutes } from './file-routes';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export class DriverError extends Error {}

export interface DriverOptions {
  /** Folder served as the site root for assets (checkpoints/, data/); default public/. */
  publicDir?: string;
  /** The engine the page creates (tools/lib/engine-options.ts); default: WebGPU. */
  engine?: EngineRequest;
}

export interface RunRequest {
  config: Record<string, unknown>;
  /**
   * A model from files instead of a bundled name: the paths of its weight files (model.safetensors,
   * or model.safetensors.index.json and its shards) and its parsed config.json. Served to the page
   * from disk, by URL.
   */
  customModel?: { files: string[]; config: unknown };
  /** The path of a mask file for prior "file" (served to the page by URL). */
  priorFile?: string;
  /** Files to export after the run (default: none). */
  exports?: MaskFormat[];
  /** Render the PNG charts after the run. */
  charts?: boolean;
  /** Whole run, including load and baselines (default 2 h). */
  timeoutMs?: number;
  /**
   * Every session event, in order; before them, the driver's own progress events for the files it
   * sends (phase 'loading', detail "sending <name>", bytes).
   */
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
    (page.evaluate as (fn: unknown, a: A) => Promise<R>)(new Function('arg', `return (${f.toString()})(window.lab, arg);`), arg).catch((e: unknown) => {
      throw pageError(e);
    });

/** A page-side failure as one line: Playwright's "page.evaluate: Error: …" prefix and the page's stack dropped. */
function pageError(e: unknown): DriverError {
  const text = e instanceof Error ? e.message : String(e);
  const line = text.split('\n')[0].replace(/^page\.evaluate: (?:[A-Za-z]*Error: )?/, '');
  return new DriverError(line, { cause: e });
}

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

/** Largest export accepted back from the page, by format (the limits of files the user opens). */
const EXPORT_LIMITS: Record<MaskFormat, number> = { safetensors: USER_FILE_LIMITS.mask, packed: USER_FILE_LIMITS.mask, state: USER_FILE_LIMITS.state };

/** Progress of a file sent to the page as 'loading' events, at most every 100 ms and at the end. */
function transferProgress(name: string, onEvent: RunRequest['onEvent']): ((sent: number, size: number) => void) | undefined {
  if (!onEvent) return undefined;
  let last = 0;
  return (sent, size) => {
    const now = performance.now();
    if (sent < size && now - last < 100) return;
    last = now;
    onEvent({ type: 'progress', phase: 'loading', done: sent, total: size, detail: `sending ${name}` });
  };
}

export class HeadlessDriver {
  private constructor(
    private readonly server: ViteDevServer,
    private readonly files: FileRoutes,
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
    let files: FileRoutes;
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      const routes = new FileRoutes(`http://127.0.0.1:${port}`);
      const s = await createServer({
        configFile: join(REPO_ROOT, 'vite.config.ts'),
        root: REPO_ROOT,
        publicDir: opts.publicDir ? resolve(opts.publicDir) : join(REPO_ROOT, 'public'),
        cacheDir,
        logLevel: 'error',
        clearScreen: false,
        server: { host: '127.0.0.1', port, strictPort: true, hmr: false, watch: null },
        optimizeDeps: { entries: ['headless.html'], include: ['plotly.js-dist-min'] },
        // before Vite's own middlewares (configureServer runs before they are installed)
        plugins: [{ name: 'lab-file-routes', configureServer: (vs) => void vs.middlewares.use(routes.handle) }],
      });
      try {
        await s.listen();
        server = s;
        files = routes;
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
      browser = await chromium.launch({
        executablePath: chromiumPath(),
        args: chromiumArgs({ webgpu: opts.engine?.preference !== 'cpu' && opts.engine?.preference !== 'wasm' }),
        headless: true,
      });
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
      const url = `http://127.0.0.1:${port}/headless.html?${engineQuery(opts.engine ?? { preference: 'gpu' })}`;
      return new HeadlessDriver(server, files, browser, url, cacheDir, versions);
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
    // this run's URLs, removed when it ends
    const urls: string[] = [];
    const serve = (path: string): RemoteFile => {
      const f = this.files.serve(path, { onProgress: transferProgress(basename(path), req.onEvent) });
      urls.push(f.url);
      return { name: f.name, url: f.url, size: f.size };
    };
    try {
      await page.goto(this.url);
      await page.waitForFunction(() => window.lab !== undefined || window.labError !== undefined, undefined, { timeout: 180_000, polling: 100 });
      const startError = await page.evaluate(() => window.labError ?? null);
      if (startError) throw new DriverError(`the lab could not start: ${startError}`);
      const adapter = await call<null, string>((lab) => lab.adapter())(page, null);
      if (req.customModel) {
        const model = { files: req.customModel.files.map(serve), config: req.customModel.config };
        await call<typeof model, { bytes: number }>((lab, m) => lab.loadModelUrls(m))(page, model);
      }
      if (req.priorFile) {
        await call<RemoteFile, { bytes: number }>((lab, f) => lab.loadPriorUrl(f))(page, serve(req.priorFile));
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
        const slot = this.files.receive(`mask.${f}`, EXPORT_LIMITS[f]);
        urls.push(slot.url);
        try {
          await call<[MaskFormat, string], { bytes: number }>((lab, [fmt, url]) => lab.exportMaskTo(fmt, url))(page, [f, slot.url]);
        } catch (e) {
          // the server's reason (e.g. over the limit) is clearer than the page's failed fetch
          const why = await Promise.race([
            slot.bytes.then(
              () => null,
              (err: Error) => err.message,
            ),
            sleep(0).then(() => null),
          ]);
          throw why ? new DriverError(why) : e;
        }
        files[f] = await slot.bytes;
      }
      const charts = req.charts ? await call<null, Record<string, string>>((lab) => lab.chartsPng())(page, null) : {};
      if (pageErrors.length) throw new DriverError(`the page threw: ${pageErrors[0]}`);
      return { config: applied.config, state, metrics, files, charts, adapter, wallSeconds: (performance.now() - t0) / 1000 };
    } finally {
      await page.close().catch(() => {});
      for (const u of urls) this.files.remove(u);
    }
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => {});
    this.files.close();
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
