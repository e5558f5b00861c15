// PNG charts for RESULTS.md, drawn by the lab's own canvas line renderer (src/ui/charts/draw-lines.ts,
// the one the page uses while learning runs) in Debian's headless Chromium through playwright-core.
//
// No dev server: the page lives at a made-up origin whose every request Playwright answers itself
// (page.route): the two chart modules are read from src/ui/charts/ and stripped of their types
// with TypeScript's transpileModule; `./canvas-lines` (no extension, as Vite allows) is resolved
// here. The drawing code is a plain JS module served the same way (not a serialised function:
// tsx may wrap functions in helpers that do not exist inside the page).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import ts from 'typescript';
import { chromiumArgs, chromiumExists, chromiumPath } from '../chromium.mjs';
import { checkPng } from './png';
import type { ChartSpec } from './types';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ORIGIN = 'http://experiments.invalid';
const CHART_DIR = 'src/ui/charts/';

export const CHART_SIZE = { width: 960, height: 540, dpr: 2 };

const PAGE = '<!doctype html><meta charset="utf-8"><body style="margin:0;background:#fff"><script type="module" src="/render.js"></script></body>';

// A title band above the plot; the legend's rows are measured with the renderer's own layout.
const RENDER_JS = `
import { drawLineChart, MARGIN } from '/${CHART_DIR}draw-lines';
import { arraySource, legendLayout } from '/${CHART_DIR}canvas-lines';
const TITLE = 30;
window.renderCharts = (specs, width, height, dpr) => specs.map((s) => {
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = '#222';
  ctx.font = '600 14px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(s.title, width / 2, TITLE / 2, width - 16);
  ctx.translate(0, TITLE);
  ctx.font = '11px system-ui, sans-serif';
  const names = [...s.series.map((x) => x.name), ...s.refs.map((r) => r.name)];
  const { rows } = legendLayout(names.length, (i) => 26 + ctx.measureText(names[i]).width, width - MARGIN.l - MARGIN.r);
  // JSON turned NaN into null: back to NaN, which the renderer leaves out as a gap
  const num = (v) => (v === null ? NaN : v);
  drawLineChart(ctx, {
    series: s.series.map((x) => ({ name: x.name, src: arraySource(x.x.map(num), x.y.map(num)) })),
    refs: s.refs, xTitle: s.xTitle, yTitle: s.yTitle, logY: s.logY, integerX: s.integerX,
    legendHeight: rows * 16 + 8, background: '#fff',
  }, width, height - TITLE);
  return canvas.toDataURL('image/png');
});
`;

function transpiled(path: string): string {
  const src = readFileSync(join(ROOT, path), 'utf8');
  return ts.transpileModule(src, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext }, fileName: path }).outputText;
}

/** Renders every chart to `<dir>/<file>` and returns the written paths (each checked to be a valid PNG). */
export async function renderCharts(specs: ChartSpec[], dir: string): Promise<string[]> {
  if (!specs.length) return [];
  if (!chromiumExists()) throw new Error(`Chromium not found at ${chromiumPath()} (install Debian's chromium or set CHROMIUM_PATH)`);
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: chromiumArgs({ webgpu: false }), headless: true });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.route(`${ORIGIN}/**`, async (route) => {
      const path = new URL(route.request().url()).pathname.slice(1);
      if (path === 'index.html') return route.fulfill({ contentType: 'text/html', body: PAGE });
      if (path === 'render.js') return route.fulfill({ contentType: 'text/javascript', body: RENDER_JS });
      // only the chart modules, with or without their extension
      const file = path.endsWith('.ts') ? path : `${path}.ts`;
      if (file.startsWith(CHART_DIR) && !file.includes('..') && existsSync(join(ROOT, file))) {
        return route.fulfill({ contentType: 'text/javascript', body: transpiled(file) });
      }
      return route.fulfill({ status: 404, body: `not served: ${path}` });
    });
    await page.goto(`${ORIGIN}/index.html`);
    await page.waitForFunction('window.renderCharts !== undefined', undefined, { timeout: 30_000 }).catch(() => {
      throw new Error(`the chart page did not start${errors.length ? `: ${errors[0]}` : ''}`);
    });
    const { width, height, dpr } = CHART_SIZE;
    const urls = (await page.evaluate(`window.renderCharts(${JSON.stringify(specs)}, ${width}, ${height}, ${dpr})`)) as string[];
    if (errors.length) throw new Error(`the chart page threw: ${errors[0]}`);
    mkdirSync(dir, { recursive: true });
    return specs.map((s, i) => {
      const m = /^data:image\/png;base64,(.*)$/s.exec(urls[i] ?? '');
      if (!m) throw new Error(`chart ${s.file}: the canvas gave no PNG`);
      const bytes = new Uint8Array(Buffer.from(m[1], 'base64'));
      checkPng(bytes);
      const out = join(dir, s.file);
      writeFileSync(out, bytes);
      return out;
    });
  } finally {
    await browser.close().catch(() => {});
  }
}
