// The built page under a strict Content-Security-Policy: build with Vite into a private folder,
// serve it with the policy as an HTTP header (the header form also carries frame-ancestors, which a
// <meta> cannot), run the WebGPU self-test and require zero CSP violations and zero console errors.
// A planted inline script must be reported, so the violation listener is known to work.
//
// Run: add 'csp.spec.ts' to the webgpu project's testMatch in playwright.config.ts, then npm run test:e2e.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { chromiumLaunch, expect, LabPage, test } from './fixtures';
import { startStaticServer } from './static-server';

/** The policy the lab ships (index.html <meta> + server header); see docs/RELIABILITY.md. */
export const CSP_META =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; connect-src 'self'; img-src 'self' data: blob:; " +
  "style-src 'self' 'unsafe-inline'; font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'";
export const cspHeader = (frameAncestors = process.env.CSP_FRAME_ANCESTORS ?? "'self'") => `${CSP_META}; frame-ancestors ${frameAncestors}`;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.bin': 'application/octet-stream',
  '.safetensors': 'application/octet-stream',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
};

async function serveDir(root: string, header: string): Promise<{ origin: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    let path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (path.endsWith('/')) path += 'index.html';
    const file = normalize(join(root, path));
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res
      .writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-security-policy': header, 'cache-control': 'no-store' })
      .end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test.use({ launchOptions: chromiumLaunch({ webgpu: true }) });

test.describe('Content-Security-Policy', () => {
  let outDir = '';
  let site: { origin: string; close(): Promise<void> };

  test.beforeAll(async () => {
    test.setTimeout(300_000);
    // a private output folder: dist/ may be in use by someone else
    outDir = mkdtempSync(join(tmpdir(), 'lab-csp-'));
    execFileSync('npx', ['vite', 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], { stdio: 'inherit' });
    site = await serveDir(outDir, cspHeader());
  });
  test.afterAll(async () => {
    await site?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  test('the built page runs the self-test with no CSP violation and no console error', async ({ page }) => {
    const html = readFileSync(join(outDir, 'index.html'), 'utf8');
    // no inline script in the built page (script-src 'self' would block it)
    expect(html.match(/<script(?![^>]*\bsrc=)[^>]*>/g) ?? [], 'inline <script> elements').toEqual([]);
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    await page.addInitScript(() => {
      const w = window as unknown as { __csp: string[] };
      w.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        w.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`),
      );
    });
    await page.goto(`${site.origin}/?selftest`);
    const lab = new LabPage(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('MaskLLM WebGPU lab');
    await lab.waitForSelfTest();
    await lab.expectAllPass();
    const violations = await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp);
    expect(violations, 'CSP violations').toEqual([]);
    expect(errors, 'console errors').toEqual([]);

    // the listener works: an inline script added now is blocked and reported
    await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__inlineRan = true';
      document.body.append(s);
    });
    await expect.poll(() => page.evaluate(() => (window as unknown as { __csp: string[] }).__csp.length)).toBeGreaterThan(0);
    expect(await page.evaluate(() => (window as unknown as { __inlineRan?: boolean }).__inlineRan ?? false)).toBe(false);
    // eval cannot be probed from here (DevTools evaluation is exempt from CSP); the policy itself
    // must not allow it, and tests/node/no-eval.test.ts keeps it out of the sources
    // 'wasm-unsafe-eval' allows compiling WebAssembly only, never eval()
    expect(cspHeader()).not.toMatch(/(?<!wasm-)unsafe-eval|script-src[^;]*unsafe-inline/);
  });

  test("frame-ancestors 'self': another origin cannot embed the lab", async ({ page }) => {
    const host = await startStaticServer({ '/host.html': `<!doctype html><iframe id="lab" src="${site.origin}/" width="800" height="600"></iframe>` });
    const blocked: string[] = [];
    page.on('console', (m) => {
      if (/frame-ancestors/.test(m.text())) blocked.push(m.text());
    });
    try {
      await page.goto(`${host.origin}/host.html`);
      await expect.poll(() => blocked.length, { timeout: 15_000 }).toBeGreaterThan(0);
      const frame = page.frames().find((f) => f !== page.mainFrame());
      // a blocked frame shows Chromium's error page, never the lab
      expect(frame).toBeDefined();
      const heading = await frame!.evaluate(() => document.querySelector('h1')?.textContent ?? '').catch(() => '');
      expect(heading).not.toContain('MaskLLM WebGPU lab');
    } finally {
      await host.close();
    }
  });
});
