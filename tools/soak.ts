// Soak: many mask-learning steps headless on the Node GPU engine (or --engine wasm: the WebAssembly
// engine's arena), sampling process memory and the engine's live buffers every 50 steps; writes docs/soak.json and prints a table. "No growth" is
// claimed only when the last quarter's mean is within tolerance of the second quarter's (the first
// quarter holds warm-up: pipelines, pooled buffers, JIT).
//
//   npm run soak -- [--steps 2000] [--model tiny-gpt] [--batch 4] [--every 50] [--micro] [--out docs/soak.json] [--doc docs/RELIABILITY.md|none] [--keep-device]
//
// The figures also go into the soak section of docs/RELIABILITY.md (between its soak markers).
//
// --micro uses the in-memory micro GPT of the tests (for a quick run before the bundled checkpoints exist).
// --keep-device exits without destroying the session and the device, so that a heap profiler run
// around the soak (tools/soak-native.sh, heaptrack) counts what the driver still holds at the end —
// a destroyed device frees it, and it would not show as left over.
import { readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { DEFAULT_CONFIG, type ExperimentConfig } from '../src/lab/config';
import type { AssetLoader } from '../src/lab/assets';
import { fixedEngine, LabRunner } from '../src/lab/runner';
import { helpText, parseArgs, UsageError, type OptionSpec } from './lib/args';
import { ENGINE_OPTIONS, engineRequestFrom, nodeEngine } from './lib/engine-options';
import { nodeAssets } from './lib/node-assets';
import { countDeviceCreations, type DeviceCounts } from './lib/device-counts';
import { fileTuneStorage } from './lib/tune-cache';

const TOLERANCE = { rssRel: 0.05, rssAbs: 16 * 2 ** 20, heapRel: 0.1, heapAbs: 4 * 2 ** 20 } as const;

// the one strict parser (tools/lib/args.ts): an unknown option or a bad value is a one-line error
const SPECS: OptionSpec[] = [
  { name: 'steps', type: 'int', help: 'mask-learning steps (default 2000)' },
  { name: 'model', type: 'string', help: 'bundled model (default tiny-gpt)' },
  { name: 'batch', type: 'int', help: 'sequences per step (default 4)' },
  { name: 'every', type: 'int', help: 'sample memory every k steps (default 50)' },
  { name: 'micro', type: 'flag', help: 'the in-memory micro GPT of the tests' },
  { name: 'out', type: 'string', help: 'the JSON series (default docs/soak.json)' },
  { name: 'doc', type: 'string', help: 'the document whose soak section is rewritten, or none (default docs/RELIABILITY.md)' },
  { name: 'keep-device', type: 'flag', help: 'exit without destroying the session and device (heaptrack)' },
  // the soak is about WebGPU objects and driver memory first: WebGPU unless asked otherwise
  ...ENGINE_OPTIONS.map((o) => (o.name === 'engine' ? { ...o, default: 'gpu' } : o)),
  { name: 'help', type: 'flag', help: 'show this help' },
];
let parsed: Record<string, string | number | boolean> | null = null;
function opts(): Record<string, string | number | boolean> {
  if (parsed) return parsed;
  const r = parseArgs(process.argv.slice(2), SPECS);
  if (r.opts.help) {
    console.log(helpText('usage: npm run soak -- [options]', SPECS));
    process.exit(0);
  }
  if (r.positional.length) throw new UsageError(`unexpected argument "${r.positional[0]}" (options: ${SPECS.map((o) => `--${o.name}`).join(', ')})`);
  return (parsed = r.opts);
}
function arg(name: string, fallback: string): string {
  const v = opts()[name];
  return v === undefined ? fallback : String(v);
}
function intArg(name: string, fallback: number): number {
  const v = (opts()[name] as number | undefined) ?? fallback;
  if (v < 1) throw new UsageError(`--${name} must be a positive integer, got ${v}`);
  return v;
}

interface Sample {
  step: number;
  seconds: number;
  rss: number;
  heapUsed: number;
  /** memory of ArrayBuffers and other objects outside the JS heap that V8 knows of (part of rss) */
  external: number;
  liveBuffers: number;
  liveBytes: number;
  pooledBytes: number;
  /** WebGPU objects created so far (cumulative), by create* method */
  created: DeviceCounts;
}

async function main(): Promise<void> {
  const steps = intArg('steps', 2000);
  const every = intArg('every', 50);
  const batch = intArg('batch', 4);
  const micro = opts().micro === true;
  const model = micro ? 'micro-gpt' : arg('model', 'tiny-gpt');
  const out = resolve(arg('out', 'docs/soak.json'));
  let assets: AssetLoader;
  if (micro) assets = (await import('../tests/helpers/micro-assets')).microAssets();
  else assets = nodeAssets();

  const choice = await nodeEngine(engineRequestFrom(opts()));
  const engine = choice.engine;
  if (engine.kind === 'cpu') throw new UsageError('--engine cpu: the soak measures an engine that pools memory (gpu or wasm)');
  // the WebAssembly engine creates no WebGPU objects: its counts stay zero
  const created = countDeviceCreations(engine.kind === 'gpu' ? engine.device : null);
  const pool = () =>
    engine.kind === 'gpu'
      ? { live: engine.pool.liveByteCount, pooled: engine.pool.pooledByteCount }
      : { live: engine.arena.liveBytes, pooled: engine.arena.memoryBytes - engine.arena.liveBytes };
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) console.warn('no gc(): run with node --expose-gc (npm run soak does) for stable heap figures');
  const config: ExperimentConfig = {
    ...DEFAULT_CONFIG,
    model,
    steps,
    batch,
    evalEvery: Math.max(every, Math.floor(steps / 8)),
    evalWindows: 4,
    calibBatches: 2,
    samplesPerStep: 1,
    prior: 'magnitude',
  };
  const samples: Sample[] = [];
  const t0 = performance.now();
  const sample = (step: number) => {
    gc?.();
    const m = process.memoryUsage();
    samples.push({
      step,
      seconds: (performance.now() - t0) / 1000,
      rss: m.rss,
      heapUsed: m.heapUsed,
      external: m.external,
      liveBuffers: engine.liveTensors,
      liveBytes: pool().live,
      pooledBytes: pool().pooled,
      created: { ...created },
    });
  };
  let failure = '';
  const runner = new LabRunner({ engine: fixedEngine(engine), assets, tuneStorage: fileTuneStorage() });
  runner.subscribe((ev) => {
    if (ev.type === 'progress' && ev.phase === 'learning' && ev.done % every === 0) {
      sample(ev.done);
      const s = samples[samples.length - 1];
      if (ev.done % (every * 5) === 0)
        console.log(
          `  step ${ev.done}/${steps}  ${s.seconds.toFixed(0)} s  rss ${(s.rss / 2 ** 20).toFixed(1)} MiB  heap ${(s.heapUsed / 2 ** 20).toFixed(1)} MiB  live buffers ${s.liveBuffers}`,
        );
    }
    if (ev.type === 'error') failure = ev.message;
  });
  console.log(`soak: ${steps} steps of ${model} (batch ${batch}) on ${choice.description}; sampling every ${every}`);
  await runner.load(config);
  sample(0);
  await runner.runToEnd();
  if (runner.state !== 'done') throw new Error(`the run stopped in state ${runner.state}: ${failure}`);
  const errors = engine.kind === 'gpu' ? engine.takeErrors() : [];

  const body = samples.filter((s) => s.step > 0);
  const q = (k: 1 | 3) => body.slice(Math.floor((k * body.length) / 4), Math.floor(((k + 1) * body.length) / 4));
  const mean = (xs: Sample[], f: (s: Sample) => number) => xs.reduce((a, s) => a + f(s), 0) / Math.max(1, xs.length);
  const q2 = q(1);
  const q4 = q(3);
  const verdict = (f: (s: Sample) => number, rel: number, abs: number) => {
    const a = mean(q2, f);
    const b = mean(q4, f);
    return {
      secondQuarterMean: Math.round(a),
      lastQuarterMean: Math.round(b),
      growth: Math.round(b - a),
      tolerance: Math.round(Math.max(abs, rel * a)),
      ok: b - a <= Math.max(abs, rel * a),
    };
  };
  const result = {
    rss: verdict((s) => s.rss, TOLERANCE.rssRel, TOLERANCE.rssAbs),
    heapUsed: verdict((s) => s.heapUsed, TOLERANCE.heapRel, TOLERANCE.heapAbs),
    liveBuffers: verdict((s) => s.liveBuffers, 0, 0),
    liveBytes: verdict((s) => s.liveBytes, 0, 0),
  };
  // least-squares slope, bytes per step, from the 2nd quarter on (the first quarter is warm-up)
  const warm = body.slice(Math.floor(body.length / 4));
  const slope = (f: (s: Sample) => number) => {
    const n = warm.length;
    if (n < 2) return 0;
    const mx = warm.reduce((a, x) => a + x.step, 0) / n,
      my = warm.reduce((a, x) => a + f(x), 0) / n;
    const sxy = warm.reduce((a, x) => a + (x.step - mx) * (f(x) - my), 0),
      sxx = warm.reduce((a, x) => a + (x.step - mx) ** 2, 0);
    return Math.round(sxy / sxx);
  };
  const slopes = {
    fromStep: warm[0]?.step ?? 0,
    rss: slope((x) => x.rss),
    heapUsed: slope((x) => x.heapUsed),
    external: slope((x) => x.external),
    outsideHeap: slope((x) => x.rss - x.heapUsed - x.external),
  };
  // WebGPU objects created per step once warm: from the first sample of the 2nd quarter to the last
  const from = q2[0] ?? body[0],
    to = body[body.length - 1];
  const createdPerStep = Object.fromEntries(
    Object.keys(to.created).map((k) => [
      k,
      Number(((to.created[k as keyof DeviceCounts] - from.created[k as keyof DeviceCounts]) / Math.max(1, to.step - from.step)).toFixed(3)),
    ]),
  );
  const noGrowth = q2.length > 0 && q4.length > 0 && Object.values(result).every((r) => r.ok);
  const report = {
    command: `npm run soak -- ${process.argv.slice(2).join(' ')}`.trim(),
    date: new Date().toISOString(),
    engine: choice.description,
    model,
    steps,
    batch,
    every,
    gcExposed: Boolean(gc),
    seconds: Math.round((performance.now() - t0) / 1000),
    stepsPerSecond: Number((steps / ((performance.now() - t0) / 1000)).toFixed(2)),
    tolerance: 'last-quarter mean ≤ second-quarter mean + max(5% or 16 MiB) for rss, + max(10% or 4 MiB) for heapUsed, + 0 for live GPU buffers and bytes',
    verdict: noGrowth ? 'no growth' : 'GROWTH (see the quarters)',
    quarters: result,
    bytesPerStep: slopes,
    createdPerStep: { fromStep: from.step, toStep: to.step, ...createdPerStep },
    webgpuErrors: errors,
    samples,
  };
  writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
  const MB = (b: number) => (b / 2 ** 20).toFixed(1);
  const docs = resolve(arg('doc', 'docs/RELIABILITY.md'));
  if (arg('doc', '') !== 'none') writeSoakSection(docs, soakMarkdown(report, out, MB));
  console.log('\n  step    time s   rss MiB  heap MiB  ext MiB  live bufs  live MiB  pooled MiB');
  for (const s of samples) {
    console.log(
      `${String(s.step).padStart(6)}  ${s.seconds.toFixed(0).padStart(8)}  ${MB(s.rss).padStart(8)}  ${MB(s.heapUsed).padStart(8)}  ${MB(s.external).padStart(7)}  ${String(s.liveBuffers).padStart(9)}  ${MB(s.liveBytes).padStart(8)}  ${MB(s.pooledBytes).padStart(10)}`,
    );
  }
  for (const [k, r] of Object.entries(result))
    console.log(
      `${k}: second quarter ${r.secondQuarterMean}, last quarter ${r.lastQuarterMean}, growth ${r.growth} (tolerance ${r.tolerance}) ${r.ok ? 'ok' : 'GROWTH'}`,
    );
  console.log(
    `bytes per step (least squares from step ${slopes.fromStep}): rss ${slopes.rss}, JS heap ${slopes.heapUsed}, external ${slopes.external}, rest of rss ${slopes.outsideHeap}`,
  );
  console.log(
    `WebGPU objects created per step (steps ${from.step}–${to.step}): ${
      Object.entries(createdPerStep)
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }`,
  );
  console.log(`\n${report.verdict} over ${steps} steps (${report.seconds} s); wrote ${out}`);
  if (opts()['keep-device'] === true) process.exit(noGrowth ? 0 : 1);
  runner.session?.dispose();
  engine.destroy();
  if (!noGrowth) process.exitCode = 1;
}

/** The figures of the soak section of docs/RELIABILITY.md (between its soak markers), from this run. */
function soakMarkdown(
  r: {
    command: string;
    date: string;
    model: string;
    steps: number;
    batch: number;
    every: number;
    seconds: number;
    stepsPerSecond: number;
    verdict: string;
    quarters: Record<string, { secondQuarterMean: number; lastQuarterMean: number; growth: number; tolerance: number; ok: boolean }>;
    createdPerStep: Record<string, number>;
    bytesPerStep: { fromStep: number; rss: number; heapUsed: number; external: number; outsideHeap: number };
    webgpuErrors: string[];
    samples: Sample[];
  },
  out: string,
  MB: (b: number) => string,
): string {
  const L: string[] = [];
  L.push(
    `Generated by \`${r.command}\` on ${r.date.slice(0, 16).replace('T', ' ')} UTC — do not edit by hand. ${r.steps} mask-learning steps of \`${r.model}\` (batch ${r.batch}) on the Node GPU engine (Dawn + SwiftShader), memory sampled every ${r.every} steps after \`gc()\`, ${r.seconds} s (${r.stepsPerSecond} steps/s). Full series: \`${relative(process.cwd(), out)}\`.`,
    '',
  );
  L.push('| quantity | 2nd quarter mean | last quarter mean | growth | tolerance | verdict |', '|---|---|---|---|---|---|');
  const fmt = (k: string, v: number) => (k === 'rss' || k === 'heapUsed' ? `${MB(v)} MiB` : String(v));
  const names: Record<string, string> = { rss: 'process rss', heapUsed: 'JS heapUsed', liveBuffers: 'live GPU buffers', liveBytes: 'live GPU bytes' };
  for (const [k, q] of Object.entries(r.quarters)) {
    L.push(
      `| ${names[k] ?? k} | ${fmt(k, q.secondQuarterMean)} | ${fmt(k, q.lastQuarterMean)} | ${q.growth >= 0 ? '+' : ''}${fmt(k, q.growth)} | ${fmt(k, q.tolerance)} | ${q.ok ? 'ok' : '**growth**'} |`,
    );
  }
  const b = r.bytesPerStep;
  L.push(
    '',
    `Trend (least-squares slope from step ${b.fromStep}, bytes per step): rss ${b.rss >= 0 ? '+' : ''}${b.rss}, of which JS heap ${b.heapUsed >= 0 ? '+' : ''}${b.heapUsed}, V8 external (ArrayBuffers) ${b.external >= 0 ? '+' : ''}${b.external}, the rest (native: Dawn, SwiftShader, allocator) ${b.outsideHeap >= 0 ? '+' : ''}${b.outsideHeap}.`,
  );
  const per = Object.entries(r.createdPerStep).filter(([k, v]) => !k.endsWith('Step') && v > 0);
  L.push(
    '',
    `WebGPU objects created per step once warm (steps ${r.createdPerStep.fromStep}–${r.createdPerStep.toStep}, counted by wrapping the device's create* methods): ${per.length ? per.map(([k, v]) => `${k} ${v}`).join(', ') : 'none'}.`,
  );
  L.push('', `Result: **${r.verdict}**; WebGPU errors: ${r.webgpuErrors.length ? r.webgpuErrors.join('; ') : 'none'}.`, '');
  const pick = r.samples.filter((_, i) => i % Math.max(1, Math.ceil(r.samples.length / 11)) === 0 || i === r.samples.length - 1);
  L.push('| step | s | rss MiB | heap MiB | live GPU buffers | live GPU MiB |', '|---|---|---|---|---|---|');
  for (const x of pick) L.push(`| ${x.step} | ${x.seconds.toFixed(0)} | ${MB(x.rss)} | ${MB(x.heapUsed)} | ${x.liveBuffers} | ${MB(x.liveBytes)} |`);
  return L.join('\n');
}

function writeSoakSection(path: string, md: string): void {
  const begin = '<!-- soak:begin -->';
  const end = '<!-- soak:end -->';
  const text = readFileSync(path, 'utf8');
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`${path} has no ${begin} … ${end} section to write the soak figures into`);
  writeFileSync(path, text.slice(0, a + begin.length) + '\n' + md + '\n' + text.slice(b));
  console.log(`wrote the soak section of ${path}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
