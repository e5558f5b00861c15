// `npm run bench:device`: the lab's kernels on whatever GPU Dawn finds in Node (the `webgpu`
// package), for a lent device machine (issue 21). Prints the adapter, then
//  1. matmul GFLOP/s of every variant in MATMUL_VARIANTS (matmul_subgroup where the adapter has
//     the `subgroups` feature, else n/a) on GPT-2 small's Linear shapes at batch
//     8 × 128 (forward, dX = dY·Wᵀ, dW = Xᵀ·dY) and 1024³, 4096³: median of ≥ 5 timed runs after
//     one warm-up, GPU time from timestamp queries (GpuEngine.startProfiling) when the adapter has
//     them, plus wall time over a chain of dispatches with one sync; and the share of the adapter's
//     f32 peak where the adapter names a card whose datasheet peak we know;
//  2. attention: the row kernels, attention as matmuls and attention in one pass ('fused'), forward
//     and forward + backward, at GPT-2 small's batch 8 × T 128 and batch 1 × T 1024
//     (tools/bench/attention.ts); the 2:4 compressed product against dense (tools/bench/kernels.ts);
//  3. one GPT-2-small (random weights, GPT-2's shapes) MaskLLM 2:4 learning step at batch 8 × 128,
//     median over ≥ 5 steps after 2 warm-up steps, and a dense forward at the same batch;
//  4. writes bench/device.json (--out), prints the tables and writes the "Real GPU" section of
//     docs/PERFORMANCE.md (tools/bench/device-report.ts).
// On a CPU adapter (SwiftShader) it measures nothing: it records the adapter it found and writes the
// section saying that no real GPU was measured. --allow-cpu measures anyway, to check the script
// (results to --out; the section is not written). --from FILE: render the section from a results
// file brought back from a device machine (copied to bench/device.json). --quick: small
// shapes and a 1-layer, narrow GPT for checking the script itself on SwiftShader. A hard time
// limit (--time-limit, seconds, default 450) skips what is left and writes what was measured.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Tape } from '../../src/autograd/tape';
import type { GpuEngine } from '../../src/backend/gpu';
import type { RawTensor } from '../../src/backend/tensor';
import type { GptConfig } from '../../src/models/config';
import { Gpt, gptInitialWeights } from '../../src/models/gpt';
import type { ModelInput } from '../../src/models/model';
import { chooseMatmulVariant, matmul, MATMUL_VARIANTS, matmulGeometry, variantFits, variantSupported } from '../../src/ops/matmul';
import { MaskLearner } from '../../src/sparsity/learner';
import { PRESETS } from '../../src/sparsity/schedule';
import { GPT2_SMALL } from '../../tests/helpers/hub-configs';
import { helpText, parseArgs, runMain, type OptionSpec } from '../lib/args';
import { nodeGpuEngine } from '../lib/node-gpu';
import { attentionShapes, attentionTable, benchAttention } from './attention';
import { DEVICE_JSON, readDevice, recordDevice, type DeviceResults, type ShapeResult, type StepResult, type VariantResult } from './device-report';
import { benchSparse24 } from './kernels';
import { shapeName, type BenchShape } from './shapes';
import { median } from './timing';

const SPECS: OptionSpec[] = [
  { name: 'quick', type: 'flag', help: 'small shapes and a 1-layer narrow GPT (to check the script on SwiftShader)' },
  { name: 'allow-cpu', type: 'flag', help: 'write results even when the adapter is a CPU one (SwiftShader)' },
  { name: 'out', type: 'string', help: 'results file', default: 'bench/device.json' },
  { name: 'reps', type: 'int', help: 'timed runs per measurement (at least 5)', default: 7 },
  { name: 'time-limit', type: 'number', help: 'seconds; what is left after it is skipped', default: 450 },
  { name: 'skip-matmul', type: 'flag', help: 'no matmuls' },
  { name: 'skip-step', type: 'flag', help: 'no GPT-2 step' },
  { name: 'skip-attention', type: 'flag', help: 'no attention kernels' },
  { name: 'skip-sparse24', type: 'flag', help: 'no 2:4 compressed products' },
  { name: 'from', type: 'string', help: 'render the Real GPU section from this results file (from a device machine) instead of measuring' },
  { name: 'help', type: 'flag', help: 'this text' },
];

// f32 (non-tensor-core) peaks from NVIDIA's datasheets: H100 SXM 67 TFLOP/s, H100 PCIe 51 TFLOP/s,
// H100 NVL 60 TFLOP/s (https://www.nvidia.com/en-us/data-center/h100/, "FP32" row); H200 SXM 67
// TFLOP/s, H200 NVL 60 TFLOP/s (https://www.nvidia.com/en-us/data-center/h200/). The form factor
// comes from the adapter's name: Vulkan names the SXM H100 "NVIDIA H100 80GB HBM3" and the PCIe one
// "NVIDIA H100 PCIe"; an H100/H200 name with neither PCIe nor NVL is taken as SXM, and said so.
export function f32Peak(adapterText: string): { tflops: number; basis: string } | null {
  const t = adapterText.toUpperCase();
  if (/H100/.test(t)) {
    if (/PCIE/.test(t)) return { tflops: 51, basis: 'H100 PCIe, NVIDIA datasheet FP32 51 TFLOP/s' };
    if (/NVL/.test(t)) return { tflops: 60, basis: 'H100 NVL, NVIDIA datasheet FP32 60 TFLOP/s' };
    return { tflops: 67, basis: 'H100 SXM (name has no PCIe/NVL), NVIDIA datasheet FP32 67 TFLOP/s' };
  }
  if (/H200/.test(t)) {
    if (/NVL/.test(t)) return { tflops: 60, basis: 'H200 NVL, NVIDIA datasheet FP32 60 TFLOP/s' };
    return { tflops: 67, basis: 'H200 SXM (name has no NVL), NVIDIA datasheet FP32 67 TFLOP/s' };
  }
  return null;
}

const isCpuAdapter = (text: string) => /swiftshader|llvmpipe|lavapipe|softpipe|\bcpu\b/i.test(text);

const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toPrecision(3));

const shape = (label: string, m: number, k: number, n: number, transA = false, transB = false): BenchShape => ({ label, m, k, n, transA, transB });

/** y = x·W (x [rows, k], W [k, n]), dX = dY·Wᵀ, dW = xᵀ·dY. */
function linearForms(label: string, rows: number, k: number, n: number): BenchShape[] {
  return [shape(`${label} fwd`, rows, k, n), shape(`${label} dX`, rows, n, k, false, true), shape(`${label} dW`, k, rows, n, true, false)];
}

/** GPT-2 small's four Linear products at batch 8 × 128 (three forms each), then 1024³ and 4096³; --quick: each dimension / 8, and 128³. */
export function deviceShapes(quick: boolean): BenchShape[] {
  const d = quick ? 8 : 1;
  const rows = 1024 / d;
  const E = 768 / d;
  return [
    ...linearForms('c_attn', rows, E, 3 * E),
    ...linearForms('attn.c_proj', rows, E, E),
    ...linearForms('c_fc', rows, E, 4 * E),
    ...linearForms('mlp.c_proj', rows, 4 * E, E),
    ...(quick ? [shape('square', 128, 128, 128)] : [shape('square', 1024, 1024, 1024), shape('square', 4096, 4096, 4096)]),
  ];
}

/** A variant the device cannot run (matmul_subgroup without the `subgroups` feature). */
const NO_FEATURE = 'needs the subgroups feature';

const rand = (n: number) => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
};

class Deadline {
  constructor(
    readonly t0: number,
    readonly limitS: number,
  ) {}
  get elapsedS(): number {
    return (performance.now() - this.t0) / 1000;
  }
  get passed(): boolean {
    return this.elapsedS > this.limitS;
  }
}

/** GPU ms of one product from the timestamp profiler (sum over its dispatches), or null without timestamp queries. */
async function gpuTimeOnce(e: GpuEngine, run: () => RawTensor): Promise<number | null> {
  if (!e.startProfiling()) return null;
  const out = run();
  const times = await e.stopProfiling();
  out.dispose();
  return times.reduce((s, k) => s + k.ms, 0);
}

async function benchShape(e: GpuEngine, s: BenchShape, reps: number, peak: number | null, dl: Deadline, log: (s: string) => void): Promise<ShapeResult> {
  const opts = { transA: s.transA, transB: s.transB };
  const a = e.upload(rand(s.m * s.k), s.transA ? [s.k, s.m] : [s.m, s.k]);
  const b = e.upload(rand(s.k * s.n), s.transB ? [s.n, s.k] : [s.k, s.n]);
  const g = matmulGeometry(a.shape, b.shape, opts);
  const flops = 2 * s.m * s.k * s.n;
  const res: ShapeResult = { ...s, shape: shapeName(s), flops, pick: chooseMatmulVariant(g, opts), variants: [] };
  let ref: Float32Array | null = null;
  for (const v of MATMUL_VARIANTS) {
    const r: VariantResult = { variant: v, gpuMs: null, gpuRunsMs: [], wallMs: null, gflops: null, peakShare: null };
    res.variants.push(r);
    if (!variantFits(v, g, opts)) {
      r.skipped = 'does not fit';
      continue;
    }
    if (!variantSupported(v, e.info.features)) {
      r.skipped = NO_FEATURE;
      continue;
    }
    if (dl.passed) {
      r.skipped = 'time limit';
      continue;
    }
    const run = () => matmul(e, a, b, { ...opts, variant: v });
    // warm-up (compiles the pipeline) and a check against the first variant's output
    const t0 = performance.now();
    const out = run();
    const got = (await e.read(out)) as Float32Array;
    out.dispose();
    const warmS = (performance.now() - t0) / 1000;
    if (!ref) ref = got;
    else {
      let d = 0;
      for (let i = 0; i < got.length; i++) d = Math.max(d, Math.abs(got[i] - ref[i]));
      if (!(d <= 1e-3 * Math.sqrt(s.k))) r.skipped = `mismatch ${d.toExponential(2)} vs ${res.variants[0].variant}`;
    }
    // one more run, timed: a slow variant on a large product gets 5 runs and one chain, a very slow one none
    const tp = performance.now();
    run().dispose();
    await e.sync();
    const probeMs = performance.now() - tp;
    if (warmS > 10 || probeMs > 1500) {
      r.skipped = `${r.skipped ? r.skipped + '; ' : ''}too slow (warm-up ${warmS.toFixed(1)} s, one run ${probeMs.toFixed(0)} ms)`;
      continue;
    }
    const slow = probeMs * 6 * reps > 10_000;
    const runs = slow ? 5 : reps;
    for (let i = 0; i < runs; i++) {
      const ms = await gpuTimeOnce(e, run);
      if (ms === null) break;
      r.gpuRunsMs.push(ms);
    }
    if (r.gpuRunsMs.length) r.gpuMs = median(r.gpuRunsMs);
    const chains: number[] = [];
    for (let c = 0; c < (slow ? 1 : 5); c++) {
      const t = performance.now();
      for (let i = 0; i < runs; i++) run().dispose(); // released buffers are reused only after the submit
      await e.sync();
      chains.push((performance.now() - t) / runs);
    }
    r.wallMs = median(chains);
    const ms = r.gpuMs ?? r.wallMs;
    r.gflops = flops / (ms * 1e6);
    r.peakShare = peak ? r.gflops / (peak * 1000) : null;
  }
  a.dispose();
  b.dispose();
  const cells = res.variants.map((r) => (r.gflops !== null ? `${r.variant}=${fmt(r.gflops)}` : `${r.variant}=–`));
  log(`${res.shape.padEnd(24)} ${s.label.padEnd(15)} ${cells.join('  ')}  pick=${res.pick}`);
  return res;
}

const randomText = (batch: number, context: number, vocab: number): ModelInput => {
  const ids = (n: number) => Uint32Array.from({ length: n }, () => Math.floor(Math.random() * vocab));
  return { kind: 'text', inputs: ids(batch * context), targets: ids(batch * context), batch, context };
};

async function benchStep(e: GpuEngine, quick: boolean, reps: number, log: (s: string) => void): Promise<StepResult> {
  const config: GptConfig = quick ? { ...GPT2_SMALL, nLayer: 1, nEmbd: 64, nHead: 2 } : GPT2_SMALL;
  const [batch, context] = quick ? [2, 32] : [8, 128];
  const t0 = performance.now();
  const model = new Gpt(e, config, gptInitialWeights(config, 1));
  const learner = new MaskLearner(model, { n: 2, m: 4, hyper: PRESETS.tunedSmall, seed: 1 }, 1000);
  const inputs = Array.from({ length: 4 }, () => randomText(batch, context, config.vocabSize));
  await e.sync();
  const setupS = (performance.now() - t0) / 1000;
  log(`GPT-2 ${quick ? '(quick: 1 layer, width 64)' : 'small'}: ${model.parameterCount} parameters, batch ${batch} × ${context}, setup ${setupS.toFixed(1)} s`);
  const learnStepMs: number[] = [];
  for (let i = 0; i < 2 + reps; i++) {
    const t = performance.now();
    await learner.learnStep([inputs[i % inputs.length]]);
    await e.sync();
    if (i >= 2) learnStepMs.push(performance.now() - t);
  }
  const denseForwardMs: number[] = [];
  for (let i = 0; i < 2 + reps; i++) {
    const t = performance.now();
    const tape = new Tape(e, { grad: false });
    const { loss } = model.forward(tape, inputs[i % inputs.length]);
    const v = (await e.read(loss.raw))[0];
    tape.dispose();
    e.flush();
    if (!Number.isFinite(v)) throw new Error(`dense forward: loss ${v}`);
    if (i >= 2) denseForwardMs.push(performance.now() - t);
  }
  model.dispose();
  return {
    config,
    parameters: model.parameterCount,
    batch,
    context,
    nm: '2:4',
    hyper: 'PRESETS.tunedSmall',
    setupS,
    learnStepMs,
    learnStepMedianMs: median(learnStepMs),
    denseForwardMs,
    denseForwardMedianMs: median(denseForwardMs),
    method:
      'wall time per call: learnStep([one batch]) + engine.sync(); dense forward = no-grad Tape forward + read of the loss; ' +
      `median of ${reps} after 2 warm-up calls; random token ids`,
  };
}

async function main(): Promise<void> {
  const { opts } = parseArgs(process.argv.slice(2), SPECS);
  if (opts.help) {
    console.log(helpText('Usage: npm run bench:device -- [options]', SPECS));
    return;
  }
  const quick = !!opts.quick;
  const reps = Math.max(5, opts.reps as number);
  const limitS = opts['time-limit'] as number;
  const outPath = opts.out as string;
  const dl = new Deadline(performance.now(), limitS);
  const log = (s: string) => console.log(s);
  if (opts.from) {
    const x = readDevice(opts.from as string);
    if (!x) throw new Error(`--from: no such file ${String(opts.from)}`);
    if (resolve(opts.from as string) !== DEVICE_JSON) copyFileSync(opts.from as string, DEVICE_JSON);
    log(`wrote bench/device.json and the Real GPU section of ${recordDevice(x)} from ${String(opts.from)}`);
    return;
  }

  const e = await nodeGpuEngine();
  const ai = e.info.adapterInfo;
  const adapterText = [ai.vendor, ai.architecture, ai.device, ai.description].join(' ');
  log(`adapter: vendor "${ai.vendor}", architecture "${ai.architecture}", device "${ai.device}", description "${ai.description}"`);
  log(
    `features: ${JSON.stringify(e.info.features)}; maxBufferSize ${e.info.limits.maxBufferSize}, maxStorageBufferBindingSize ${e.info.limits.maxStorageBufferBindingSize}`,
  );
  const cpu = isCpuAdapter(adapterText);
  const measure = !cpu || !!opts['allow-cpu'];
  const peak = f32Peak(adapterText);
  log(peak ? `f32 peak: ${peak.tflops} TFLOP/s (${peak.basis})` : 'f32 peak: unknown for this adapter; no share of peak');
  const timestamps = e.info.features.timestampQuery;
  log(
    timestamps
      ? 'timing: GPU timestamp queries per product (and wall time over chained products)'
      : 'timing: no timestamp queries; wall time over chained products with one sync',
  );

  const results: DeviceResults = {
    date: new Date().toISOString(),
    measured: measure,
    quick,
    cpuAdapter: cpu,
    adapter: { ...ai },
    features: e.info.features,
    node: process.version,
    f32PeakTflops: peak?.tflops ?? null,
    f32PeakBasis: peak?.basis ?? null,
    method: {
      matmul:
        `each variant: one warm-up (and output check against the first variant) and one timed probe run, then ${reps} products ` +
        '(5 when the probe says they would take over 10 s; none, "too slow", over 1.5 s a product) each timed alone with timestamp queries ' +
        '(GpuEngine.startProfiling: each dispatch in its own pass; GPU ms = end − begin summed over its dispatches), median; ' +
        `wallMs: median over 5 chains (1 when slow) of as many products recorded into one command buffer then one sync, / their number; ` +
        'GFLOP/s = 2·M·K·N / gpuMs (wallMs without timestamp queries); peakShare = GFLOP/s / f32 peak. Random f32 operands.',
      timeLimitS: limitS,
    },
    matmul: [],
    attention: [],
    sparse24: [],
    step: null,
    complete: false,
    elapsedS: 0,
  };
  const write = () => {
    results.elapsedS = dl.elapsedS;
    mkdirSync(dirname(outPath), { recursive: true });
    writeFileSync(outPath, JSON.stringify(results, null, 2) + '\n');
  };
  if (!measure) {
    write();
    log(`the adapter is a CPU one (SwiftShader or similar): nothing measured (--allow-cpu measures anyway, to check the script)`);
    // the section only from the default results file (a bundled copy on a device machine writes --out alone)
    if (resolve(outPath) === DEVICE_JSON) log(`wrote ${outPath} and the Real GPU section of ${recordDevice(results)}: not measured`);
    else log(`wrote ${outPath}`);
    return;
  }
  // Hard stop: a kernel that hangs still leaves the event loop running, so this fires.
  const hard = setTimeout(
    () => {
      console.error(`hard time limit (${limitS + 30} s): writing what was measured and exiting`);
      write();
      process.exit(3);
    },
    (limitS + 30) * 1000,
  );

  if (!opts['skip-matmul']) {
    log(`\nmatmul GFLOP/s (${timestamps ? 'GPU time' : 'wall time'}), every variant:`);
    for (const s of deviceShapes(quick)) {
      results.matmul.push(await benchShape(e, s, reps, peak?.tflops ?? null, dl, log));
      write();
    }
  }
  if (!opts['skip-attention']) {
    if (dl.passed) log('attention skipped: time limit');
    else {
      log('\nattention, row kernels vs fused (median ms per pass):');
      results.attention = await benchAttention(e, attentionShapes(quick), reps, log);
      write();
    }
  }
  if (!opts['skip-sparse24']) {
    if (dl.passed) log('2:4 compressed products skipped: time limit');
    else {
      log('\n2:4 compressed product vs dense:');
      results.sparse24 = await benchSparse24(e, reps, log);
      write();
    }
  }
  if (!opts['skip-step']) {
    if (dl.passed) log('GPT-2 step skipped: time limit');
    else {
      results.step = await benchStep(e, quick, reps, log);
      write();
    }
  }
  results.complete = !dl.passed;
  clearTimeout(hard);
  write();
  const errors = e.takeErrors();
  if (errors.length) log(`WebGPU errors: ${errors.slice(0, 5).join(' | ')}`);
  printTable(results.matmul, results.step, peak?.tflops ?? null, log);
  if (results.attention.length) log(['', ...attentionTable(results.attention)].join('\n'));
  log(`\nwrote ${outPath} (${dl.elapsedS.toFixed(0)} s)`);
  // a CPU adapter's figures (--allow-cpu) are a check of the script, not a real GPU's: no section
  if (!cpu && resolve(outPath) === DEVICE_JSON) log(`wrote the Real GPU section of ${recordDevice(results)}`);
  else if (!cpu) log(`not the default results file: render it with npm run bench:device -- --from ${outPath}`);
}

function printTable(rows: ShapeResult[], step: StepResult | null, peak: number | null, log: (s: string) => void): void {
  if (rows.length) {
    log('\n| shape | product | ' + MATMUL_VARIANTS.join(' | ') + ' | pick | best % of f32 peak |');
    log('|' + ' --- |'.repeat(MATMUL_VARIANTS.length + 4));
    for (const r of rows) {
      const best = Math.max(...r.variants.map((v) => v.gflops ?? 0));
      const cells = r.variants.map((v) => (v.gflops !== null ? fmt(v.gflops) : v.skipped === 'does not fit' || v.skipped === NO_FEATURE ? 'n/a' : '–'));
      const share = peak && best > 0 ? `${((100 * best) / (peak * 1000)).toFixed(1)} %` : '–';
      log(`| ${r.shape} | ${r.label} | ${cells.join(' | ')} | ${r.pick} | ${share} |`);
    }
  }
  if (step) {
    log(`\nGPT-2 ${step.parameters} parameters, batch ${step.batch} × ${step.context}, 2:4:`);
    log(`  MaskLLM learning step: median ${step.learnStepMedianMs.toFixed(1)} ms (${step.learnStepMs.map((x) => x.toFixed(1)).join(', ')})`);
    log(`  dense forward:         median ${step.denseForwardMedianMs.toFixed(1)} ms (${step.denseForwardMs.map((x) => x.toFixed(1)).join(', ')})`);
  }
}

runMain(main);
