// `npm run bench`: serve tools/bench/index.html with Vite, drive it in one headless Chromium page
// (Debian chromium via playwright-core), run the PyTorch CPU comparison, and write
// bench/results.json + docs/PERFORMANCE.md. Options:
//   --quick        2 shapes, 5 reps, one GPT step, no fusion/2:4 (smoke test; nothing is written
//                  unless --out is given)
//   --reps N       timed runs per matmul measurement (default 5, minimum 5 for a written report)
//   --out DIR      write results.json there instead of bench/ (and no docs/PERFORMANCE.md)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { createServer } from 'vite';
import { chromiumArgs, chromiumPath } from '../chromium.mjs';
import { renderReport } from './report';
import type { BenchOptions, BenchResults, TorchResult } from './results';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const argv = process.argv.slice(2);
const flag = (f: string) => argv.includes(f);
const value = (f: string) => {
  const i = argv.indexOf(f);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = flag('--quick');
const reps = Number(value('--reps') ?? 5);
if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps must be a positive integer, got ${value('--reps')}`);
const outDir = value('--out');

const opts: BenchOptions = quick
  ? { reps, stepReps: 1, allVariants: false, tfjs: true, fusion: false, sparse24: false, steps: ['tiny-gpt'], maxShapes: 2 }
  : { reps, stepReps: 5, allVariants: true, tfjs: true, fusion: true, sparse24: true, steps: ['tiny-gpt', 'tiny-vit'] };

/** The concurrent CPU load while we measure (SwiftShader shares the cores): 1-minute load average. */
function machineLoad(): { loadavg1: number; otherHeavyProcesses: string[] } {
  const load = Number(execFileSync('cat', ['/proc/loadavg']).toString().split(' ')[0]);
  let procs: string[] = [];
  try {
    procs = execFileSync('ps', ['-eo', 'pcpu=,args=', '--sort=-pcpu']).toString().split('\n')
      .map((l) => l.trim()).filter((l) => parseFloat(l) > 20 && !l.includes('chromium') && !l.includes('tools/bench') && !l.startsWith(l.split(' ')[0] + ' ps -eo')).slice(0, 5);
  } catch { /* ps missing: report the load only */ }
  return { loadavg1: load, otherHeavyProcesses: procs };
}

function torchBench(): TorchResult {
  const py = '/usr/bin/python3';
  if (!existsSync(py)) return { available: false, reason: `${py} not found` };
  try {
    const out = execFileSync(py, [join(root, 'tools/bench/torch_step.py'), quick ? '1' : '3'], { env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' }, timeout: 600_000 });
    return JSON.parse(out.toString()) as TorchResult;
  } catch (err) {
    return { available: false, reason: (err as Error).message.split('\n')[0] };
  }
}

const loadBefore = machineLoad();
const server = await createServer({ root, logLevel: 'warn', server: { host: '127.0.0.1', port: 0, strictPort: false } });
await server.listen();
const url = server.resolvedUrls?.local[0];
if (!url) throw new Error('bench: Vite did not report a local URL');
const browser = await chromium.launch({ executablePath: chromiumPath(), args: chromiumArgs(), headless: true });
let results: BenchResults;
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(0);
  page.on('console', (m) => {
    if (m.text().startsWith('[bench]')) console.log(m.text());
  });
  page.on('pageerror', (err) => console.error('page error:', err.message));
  await page.goto(new URL('tools/bench/index.html', url).href);
  await page.waitForFunction(() => 'runBench' in window, undefined, { timeout: 120_000 });
  results = await page.evaluate((o) => (window as unknown as { runBench: (o: BenchOptions) => Promise<BenchResults> }).runBench(o), opts);
} finally {
  await browser.close();
  await server.close();
}
const loadAfterPage = machineLoad();
console.log('[bench] PyTorch CPU step…');
const torch = torchBench();
const full = { ...results, torch, machine: { before: loadBefore, after: loadAfterPage, cores: (await import('node:os')).cpus().length }, date: new Date().toISOString(), chromium: chromiumPath() };
if (quick && !outDir) {
  console.log(renderReport(full));
  process.exit(0);
}
const dir = outDir ? resolve(outDir) : join(root, 'bench');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'results.json'), JSON.stringify(full, null, 1) + '\n');
console.log(`wrote ${join(dir, 'results.json')}`);
if (!outDir) {
  if (reps < 5) throw new Error('a written report needs --reps ≥ 5');
  writeFileSync(join(root, 'docs/PERFORMANCE.md'), renderReport(full));
  console.log('wrote docs/PERFORMANCE.md');
}
process.exit(0);
