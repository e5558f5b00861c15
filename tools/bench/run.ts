// `npm run bench`: serve tools/bench/index.html with Vite, drive it in one headless Chromium page
// (Debian chromium via playwright-core), run the PyTorch CPU comparison, and write
// bench/results.json + docs/PERFORMANCE.md. `--only` runs one ad-hoc measurement on the Node engine
// instead and writes nothing (node-matmul.ts, step-profile.ts), except `--only wasm` (wasm.ts: the
// WebAssembly engine against tfjs-wasm and the other engines), which writes bench/wasm.json.
// `--gpt2-small` runs GPT-2 small through the lab on the Node engine (gpt2-small.ts) →
// bench/gpt2-small.json and the report's section on it, re-rendered from bench/results.json. --help
// lists the options.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { helpText, parseArgs, runMain, UsageError, type OptionSpec } from '../lib/args';
import { machineLoad } from './machine';
import type { FullResults } from './report';
import type { BenchOptions, BenchResults, Gpt2SmallResults, TorchResult } from './results';

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
    choices: ['matmul', 'variants', 'step-profile', 'attention', 'wasm'],
    help: 'one Node-engine measurement, printed: matmul (the chosen variant per shape, GFLOP/s), variants (every matmul variant per shape), step-profile (per-kernel times of one dense training step), attention (row kernels vs attention as matmuls vs fused, GPT-2-small shapes, forward and forward+backward), wasm (the WebAssembly engine: matmul GFLOP/s with SIMD and relaxed SIMD vs tfjs-wasm on one thread, and a tiny-gpt mask-learning step vs the CPU and Node WebGPU engines; writes bench/wasm.json unless --quick)',
  },
  { name: 'model', type: 'string', choices: ['tiny-gpt', 'tiny-vit'], help: '--only step-profile: the model', default: 'tiny-gpt' },
  { name: 'batch', type: 'int', help: '--only step-profile: sequences or images per step', default: 16 },
  {
    name: 'gpt2-small',
    type: 'flag',
    help: 'GPT-2 small (random weights) through the lab on the Node engine, every phase timed → bench/gpt2-small.json and its section of docs/PERFORMANCE.md (about 100 min per context on 2 shared cores with the SwiftShader adapter, SparseGPT most of it)',
  },
  {
    name: 'contexts',
    type: 'string',
    help: '--gpt2-small: window lengths, one run each, comma-separated, in this order (e.g. 256,1024: the smaller first, so that the peak RSS after each is its own)',
    default: '1024',
  },
  { name: 'report-only', type: 'flag', help: '--gpt2-small: measure nothing; re-render docs/PERFORMANCE.md from bench/results.json and bench/gpt2-small.json' },
  { name: 'memory-budget', type: 'number', help: '--gpt2-small: GiB the memory plan may use (context 1024 plans ~7.4 GiB)', default: 16 },
  { name: 'layers', type: 'int', help: '--gpt2-small, development only: fewer layers (not GPT-2 small: nothing written unless --out)' },
  {
    name: 'engine',
    type: 'string',
    choices: ['gpu', 'wasm'],
    help: "gpu: the WebGPU measurements above; wasm: the WebAssembly engine's measurement (the same as --only wasm)",
    default: 'gpu',
  },
  { name: 'help', type: 'flag', help: 'show this help' },
];

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
    writeFileSync(join(root, 'docs/PERFORMANCE.md'), renderReport(full, readGpt2Small()));
    console.log('wrote docs/PERFORMANCE.md');
  }
}

const GPT2_SMALL_JSON = join(root, 'bench/gpt2-small.json');

/** The last `--gpt2-small` results (bench/gpt2-small.json), so that the page bench's report keeps its section. */
function readGpt2Small(): Gpt2SmallResults | null {
  return existsSync(GPT2_SMALL_JSON) ? (JSON.parse(readFileSync(GPT2_SMALL_JSON, 'utf8')) as Gpt2SmallResults) : null;
}

/**
 * `--gpt2-small`: GPT-2 small through the lab (gpt2-small.ts); writes bench/gpt2-small.json and
 * re-renders docs/PERFORMANCE.md from bench/results.json with the new section. A development run
 * (--layers) writes only to --out, and prints the section otherwise.
 */
async function gpt2SmallBench(contexts: number[], memoryBudget: number, layers: number | undefined, outDir: string | undefined): Promise<void> {
  const { benchGpt2Small } = await import('./gpt2-small');
  const { renderGpt2Small } = await import('./report');
  const g = await benchGpt2Small({ contexts, layers: layers ?? 12, memoryBudget, seed: 1, machineLoad, log: (line) => console.log(line) });
  if (g.dev && !outDir) {
    console.log(renderGpt2Small(g).join('\n'));
    return;
  }
  const dir = outDir ? resolve(outDir) : join(root, 'bench');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'gpt2-small.json'), JSON.stringify(g, null, 1) + '\n');
  console.log(`wrote ${join(dir, 'gpt2-small.json')}`);
  if (!outDir) await rerenderReport(g);
  if (g.failed.length) {
    console.error(
      `[bench] ${g.failed.length} of ${contexts.length} context(s) did not finish (recorded in the results): ${g.failed.map((x) => x.context).join(', ')}`,
    );
    process.exitCode = 1;
  }
}

/** docs/PERFORMANCE.md from bench/results.json (the page bench's last run) and the GPT-2-small results. */
async function rerenderReport(g: Gpt2SmallResults | null): Promise<void> {
  const { renderReport } = await import('./report');
  const results = join(root, 'bench/results.json');
  if (!existsSync(results)) {
    console.log(`${results} is missing: run \`npm run bench\` to write docs/PERFORMANCE.md (it will include this section)`);
    return;
  }
  writeFileSync(join(root, 'docs/PERFORMANCE.md'), renderReport(JSON.parse(readFileSync(results, 'utf8')) as FullResults, g));
  console.log('wrote docs/PERFORMANCE.md');
}

/** `--only wasm` (wasm.ts): printed, and written to bench/wasm.json unless --quick. */
async function wasmBench(quick: boolean, reps: number | undefined): Promise<void> {
  const w = await import('./wasm');
  w.enableRelaxedSimd(); // before any WebAssembly is compiled
  const { WasmEngine } = await import('../../src/backend/wasm');
  const { CpuEngine } = await import('../../src/backend/cpu');
  const { nodeGpuEngine } = await import('../lib/node-gpu');
  const { matmulShapes } = await import('./node-matmul');
  const gpu = await nodeGpuEngine().catch(() => null);
  const gpuName = gpu ? gpu.info.adapterInfo.description || gpu.info.adapterInfo.vendor || 'unknown adapter' : '';
  const log = (line: string) => console.log(line);
  const before = machineLoad();
  log(`[bench] wasm: ${quick ? 'quick' : 'lab shapes'}, Node ${process.version}, 1-min load ${before.loadavg1}`);
  const r = await w.benchWasm(
    { wasm: (variant, threads) => WasmEngine.create({ variant, threads }), cpu: () => new CpuEngine(), gpu, gpuName, torch: () => torchBench(quick) },
    matmulShapes(quick),
    reps ?? (quick ? 3 : 7),
    quick ? 1 : 5,
    log,
  );
  const full = { ...r, machine: { before, after: machineLoad() } };
  if (quick) {
    log(['', ...(await import('./wasm-report')).renderWasm(full)].join('\n'));
    return;
  }
  const file = join(root, 'bench/wasm.json');
  writeFileSync(file, JSON.stringify(full, null, 1) + '\n');
  const { spliceSection } = await import('./report');
  const { renderWasm } = await import('./wasm-report');
  const doc = join(root, 'docs/PERFORMANCE.md');
  writeFileSync(doc, spliceSection(existsSync(doc) ? readFileSync(doc, 'utf8') : '# Performance\n', renderWasm(full)));
  log(`wrote ${file} and the WebAssembly section of docs/PERFORMANCE.md`);
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
  } else if (only === 'attention') {
    const a = await import('./attention');
    const rows = await a.benchAttention(e, a.attentionShapes(quick), reps ?? 5, log);
    log(['', ...a.attentionTable(rows)].join('\n'));
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
    console.log(
      helpText(
        'usage: npm run bench [-- --quick] [--reps N] [--out DIR] | --only matmul|variants|step-profile|attention|wasm [--quick] | --gpt2-small [--contexts 256,1024] [--memory-budget GiB] [--out DIR]',
        SPECS,
      ),
    );
    return;
  }
  if (positional.length) throw new UsageError(`unexpected argument "${positional[0]}" (see --help)`);
  const reps = opts.reps as number | undefined;
  if (reps !== undefined && reps < 1) throw new UsageError(`--reps must be at least 1 (got ${reps})`);
  if ((opts.batch as number) < 1) throw new UsageError(`--batch must be at least 1 (got ${opts.batch})`);
  const only = opts.only as string | undefined;
  if (opts['report-only']) {
    if (!opts['gpt2-small']) throw new UsageError('--report-only needs --gpt2-small');
    const g = readGpt2Small();
    if (!g) throw new UsageError(`${GPT2_SMALL_JSON} is missing: run \`npm run bench -- --gpt2-small\` first`);
    return rerenderReport(g);
  }
  if (opts['gpt2-small']) {
    if (only || opts.quick || reps !== undefined) throw new UsageError('--gpt2-small is a measurement of its own: no --only, --quick or --reps');
    const contexts = String(opts.contexts)
      .split(',')
      .map((x) => Number(x.trim()));
    if (!contexts.length || contexts.some((x) => !Number.isInteger(x) || x < 1 || x > 1024))
      throw new UsageError(`--contexts must be window lengths from 1 to 1024, comma-separated (got "${opts.contexts}")`);
    const layers = opts.layers as number | undefined;
    if (layers !== undefined && (layers < 1 || layers > 12)) throw new UsageError(`--layers must be 1 to 12 (got ${layers})`);
    return gpt2SmallBench(contexts, opts['memory-budget'] as number, layers, opts.out as string | undefined);
  }
  if (opts.layers !== undefined) throw new UsageError('--layers needs --gpt2-small');
  if (opts.engine === 'wasm') {
    if (only && only !== 'wasm') throw new UsageError(`--engine wasm measures the WebAssembly engine; --only ${only} is a WebGPU measurement`);
    return wasmBench(!!opts.quick, reps);
  }
  if (only) {
    if (opts.out !== undefined) throw new UsageError("--out writes the page bench's results; --only prints and writes nothing");
    if (only === 'wasm') return wasmBench(!!opts.quick, reps);
    return nodeBench(only, !!opts.quick, reps, opts.model as 'tiny-gpt' | 'tiny-vit', opts.batch as number);
  }
  return pageBench(!!opts.quick, reps ?? 5, opts.out as string | undefined);
}

runMain(main);
