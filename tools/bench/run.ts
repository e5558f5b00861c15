// `npm run bench`: serve tools/bench/index.html with Vite, drive it in one headless Chromium page
// (Debian chromium via playwright-core), run the PyTorch CPU comparison, and write
// bench/results.json + docs/PERFORMANCE.md. `--only` runs one ad-hoc measurement on the Node engine
// instead and writes nothing (node-matmul.ts, step-profile.ts). --help lists the options.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { helpText, parseArgs, runMain, UsageError, type OptionSpec } from '../lib/args';
import type { BenchOptions, BenchResults, TorchResult } from './results';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const SPECS: OptionSpec[] = [
  {
    name: 'quick',
    type: 'flag',
    help: 'page: 2 shapes, one GPT step, no fusion/2:4, nothing written unless --out (smoke test); --only matmul/variants: fewer shapes',
  },
  { name: 'reps', type: 'int', help: 'timed runs per measurement (a written report needs ≥ 5; --only variants: 3 if not given)' },
  { name: 'out', type: 'string', help: 'write results.json there instead of bench/ (and no docs/PERFORMANCE.md)' },
  {
    name: 'only',
    type: 'string',
    choices: ['matmul', 'variants', 'step-profile'],
    help: 'one Node-engine measurement, printed: matmul (the chosen variant per shape, GFLOP/s), variants (every matmul variant per shape), step-profile (per-kernel times of one dense training step)',
  },
  { name: 'model', type: 'string', choices: ['tiny-gpt', 'tiny-vit'], help: '--only step-profile: the model', default: 'tiny-gpt' },
  { name: 'batch', type: 'int', help: '--only step-profile: sequences or images per step', default: 16 },
  { name: 'help', type: 'flag', help: 'show this help' },
];

/** The concurrent CPU load while we measure (SwiftShader shares the cores): 1-minute load average. */
function machineLoad(): { loadavg1: number; otherHeavyProcesses: string[] } {
  const load = Number(execFileSync('cat', ['/proc/loadavg']).toString().split(' ')[0]);
  let procs: string[] = [];
  try {
    procs = execFileSync('ps', ['-eo', 'pcpu=,args=', '--sort=-pcpu'])
      .toString()
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => parseFloat(l) > 20 && !l.includes('chromium') && !l.includes('tools/bench') && !l.startsWith(l.split(' ')[0] + ' ps -eo'))
      .slice(0, 5);
  } catch {
    /* ps missing: report the load only */
  }
  return { loadavg1: load, otherHeavyProcesses: procs };
}

function torchBench(quick: boolean): TorchResult {
  const py = '/usr/bin/python3';
  if (!existsSync(py)) return { available: false, reason: `${py} not found` };
  try {
    const out = execFileSync(py, [join(root, 'tools/bench/torch_step.py'), quick ? '1' : '3'], {
      env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
      timeout: 600_000,
    });
    return JSON.parse(out.toString()) as TorchResult;
  } catch (err) {
    return { available: false, reason: (err as Error).message.split('\n')[0] };
  }
}

/** The page bench (every section in Chromium) and its report. */
async function pageBench(quick: boolean, reps: number, outDir: string | undefined): Promise<void> {
  const { chromium } = await import('playwright-core');
  const { createServer } = await import('vite');
  const { chromiumArgs, chromiumPath } = await import('../chromium.mjs');
  const { renderReport } = await import('./report');
  const opts: BenchOptions = quick
    ? { reps, stepReps: 1, allVariants: false, tfjs: true, fusion: false, sparse24: false, steps: ['tiny-gpt'], maxShapes: 2 }
    : { reps, stepReps: 5, allVariants: true, tfjs: true, fusion: true, sparse24: true, steps: ['tiny-gpt', 'tiny-vit'] };
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
  const torch = torchBench(quick);
  const full = {
    ...results,
    torch,
    machine: { before: loadBefore, after: loadAfterPage, cores: (await import('node:os')).cpus().length },
    date: new Date().toISOString(),
    chromium: chromiumPath(),
  };
  if (quick && !outDir) {
    console.log(renderReport(full));
    return;
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
}

/** One ad-hoc measurement on the Node engine (`--only`), printed. */
async function nodeBench(only: string, quick: boolean, reps: number | undefined, model: 'tiny-gpt' | 'tiny-vit', batch: number): Promise<void> {
  const { nodeGpuEngine } = await import('../lib/node-gpu');
  const e = await nodeGpuEngine();
  const log = (line: string) => console.log(line);
  log(`[bench] ${only} on ${e.info.adapterInfo.description || e.info.adapterInfo.vendor || 'unknown adapter'} (Node engine)`);
  if (only === 'step-profile') {
    const { profileStep } = await import('./step-profile');
    await profileStep(e, model, batch, log);
  } else {
    const m = await import('./node-matmul');
    if (only === 'matmul') await m.benchMatmulNode(e, m.matmulShapes(quick), reps ?? 5, log);
    else await m.benchVariantsNode(e, quick ? m.VARIANT_SHAPES.slice(0, 2) : m.VARIANT_SHAPES, reps ?? 3, log);
  }
  const errors = e.takeErrors();
  if (errors.length) throw new Error(`WebGPU errors: ${errors.join('; ')}`);
}

async function main(): Promise<void> {
  const { opts, positional } = parseArgs(process.argv.slice(2), SPECS);
  if (opts.help) {
    console.log(helpText('usage: npm run bench [-- --quick] [--reps N] [--out DIR] | --only matmul|variants|step-profile [--quick]', SPECS));
    return;
  }
  if (positional.length) throw new UsageError(`unexpected argument "${positional[0]}" (see --help)`);
  const reps = opts.reps as number | undefined;
  if (reps !== undefined && reps < 1) throw new UsageError(`--reps must be at least 1 (got ${reps})`);
  if ((opts.batch as number) < 1) throw new UsageError(`--batch must be at least 1 (got ${opts.batch})`);
  const only = opts.only as string | undefined;
  if (only) {
    if (opts.out !== undefined) throw new UsageError("--out writes the page bench's results; --only prints and writes nothing");
    return nodeBench(only, !!opts.quick, reps, opts.model as 'tiny-gpt' | 'tiny-vit', opts.batch as number);
  }
  return pageBench(!!opts.quick, reps ?? 5, opts.out as string | undefined);
}

runMain(main);
