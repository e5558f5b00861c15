// `npm run bench -- --gpt2-small`: GPT-2 small (124 M parameters) through the lab on this machine.
// Writes a GPT-2-small-shaped checkpoint in the hub's layout (random weights at GPT-2's
// initialisation scale, F32, with the `attn.bias` buffers; the hub's gpt2 config.json) tensor by
// tensor into a temporary directory, then runs a LabSession on the Node engine with the bundled
// text (GPT-2 BPE) at batch 1 per context: load, tokenizing, compiling, the dense evaluation, every
// one-shot baseline (computed at load), one MaskLLM step (SparseGPT prior) and one evaluation,
// each timed from the session's events; with the memory plan vs the pool's peak, the process's
// peak RSS and the machine's load. The results go to bench/gpt2-small.json and the report's
// "GPT-2 small" section (run.ts writes them; report.ts renders them).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GpuEngine } from '../../src/backend/gpu';
import { DEFAULT_CONFIG, sanitizeConfig } from '../../src/lab/config';
import { LabSession, type SessionEvent } from '../../src/lab/session';
import type { GptConfig } from '../../src/models/config';
import { gptMaskSites, gptParameterShapes } from '../../src/models/gpt';
import { GPT2_CONFIG_JSON, GPT2_SMALL } from '../../tests/helpers/hub-configs';
import { nodeAssets } from '../lib/node-assets';
import { gpt2Init, writeHubGpt2Dir } from '../lib/write-checkpoint';
import { loadavg1 } from './machine';
import type { Gpt2SmallPhases, Gpt2SmallResults, Gpt2SmallRow, Gpt2SmallRun, MachineLoad } from './results';

/** A session event and when it arrived (performance.now(), ms). */
export interface TimedEvent {
  t: number;
  e: SessionEvent;
}

type LoadPhases = Omit<Gpt2SmallPhases, 'learningStep' | 'evaluation'>;

const isProgress = (e: SessionEvent, phase: string): e is Extract<SessionEvent, { type: 'progress' }> => e.type === 'progress' && e.phase === phase;

/**
 * The phases of LabSession.load() from its events (t0: load() called, tLoaded: it returned; ms):
 * load until the 'model' event; tokenizing until the last 'tokenizing' event; compiling (recording
 * the run to name its kernels, then compiling them) until the last 'compiling' event; the dense
 * evaluation until the first 'table' event; each baseline from its first 'baselines' event to its
 * last (its masks) and from there to the 'table' event that adds its row (its evaluation; masks
 * and evaluation together when the baseline reports no progress after its first event); the
 * learner's setup from the last 'table' event until load() returned. Seconds.
 */
export function phaseTimes(events: TimedEvent[], t0: number, tLoaded: number): LoadPhases & { kernelsCompiled: number } {
  const s = (ms: number) => ms / 1000;
  const model = events.find((x) => x.e.type === 'model');
  if (!model) throw new Error('no model event: load() did not build the model');
  const last = <T>(xs: T[]) => (xs.length ? xs[xs.length - 1] : undefined);
  const tTok = last(events.filter((x) => isProgress(x.e, 'tokenizing')))?.t ?? model.t;
  const compiling = events.filter((x) => isProgress(x.e, 'compiling'));
  const tComp = last(compiling)?.t ?? tTok;
  const lastCompiling = last(compiling)?.e;
  const tables = events.filter((x) => x.e.type === 'table' && x.t >= tComp);
  if (!tables.length) throw new Error('no table event: the dense evaluation did not finish');
  const baselines: LoadPhases['baselines'] = [];
  const progress = events.filter((x) => isProgress(x.e, 'baselines'));
  for (const key of [...new Set(progress.map((x) => (x.e as { detail?: string }).detail ?? ''))]) {
    const mine = progress.filter((x) => ((x.e as { detail?: string }).detail ?? '') === key);
    const start = mine[0].t;
    const end = mine[mine.length - 1].t;
    const row = tables.find((x) => x.t >= end && x.e.type === 'table' && x.e.rows.some((r) => r.key === key));
    if (!row) throw new Error(`no table row for the baseline ${key}`);
    // one event only (magnitude reports no per-site progress): masks and evaluation are one span
    baselines.push(mine.length > 1 ? { key, compute: s(end - start), evaluation: s(row.t - end) } : { key, compute: null, evaluation: s(row.t - start) });
  }
  return {
    load: s(model.t - t0),
    tokenizing: s(tTok - model.t),
    compiling: s(tComp - tTok),
    denseEvaluation: s(tables[0].t - tComp),
    baselines,
    learnerSetup: s(tLoaded - tables[tables.length - 1].t),
    kernelsCompiled: lastCompiling && lastCompiling.type === 'progress' ? lastCompiling.total : 0,
  };
}

export interface Gpt2SmallOptions {
  /** window lengths, one run each (in this order) */
  contexts: number[];
  /** 12 is GPT-2 small; fewer only for development (`dev` in the results) */
  layers: number;
  /** GiB the memory plan may use */
  memoryBudget: number;
  seed: number;
  machineLoad: () => MachineLoad;
  log: (line: string) => void;
}

const fmt = (x: number) => x.toFixed(1);

/** The 1-minute load average sampled while a run goes on (every 10 s, and on events at most every 10 s). */
function loadSampler(): { tick: () => void; stop: () => { samples: number; mean: number; max: number } } {
  const xs: number[] = [];
  let lastT = 0;
  const tick = () => {
    const t = performance.now();
    if (t - lastT < 10_000) return;
    lastT = t;
    const l = loadavg1();
    if (Number.isFinite(l)) xs.push(l);
  };
  tick();
  const timer = setInterval(tick, 10_000);
  timer.unref();
  return {
    tick,
    stop: () => {
      clearInterval(timer);
      return { samples: xs.length, mean: xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN, max: xs.length ? Math.max(...xs) : NaN };
    },
  };
}

async function oneRun(
  engine: GpuEngine,
  custom: { name: string; files: { name: string; bytes: Uint8Array }[]; config: unknown },
  context: number,
  o: Gpt2SmallOptions,
): Promise<{ run: Gpt2SmallRun; session: LabSession }> {
  const set = {
    method: 'maskllm',
    prior: 'sparsegpt',
    batch: 1,
    context,
    steps: 1,
    calibBatches: 1,
    evalWindows: 1,
    memoryBudget: o.memoryBudget,
    seed: o.seed,
  } as const;
  const { config } = sanitizeConfig({ ...set, model: custom.name, evalEvery: 1 }, DEFAULT_CONFIG, { strict: true });
  const events: TimedEvent[] = [];
  const sampler = loadSampler();
  let lastLine = '';
  let lastLog = 0;
  let t0 = performance.now();
  const session = new LabSession(engine, nodeAssets(), (e) => {
    const t = performance.now();
    events.push({ t, e });
    sampler.tick();
    if (e.type === 'progress') {
      const line = `  [context ${context}] ${e.phase}${e.detail ? ` ${e.detail}` : ''}`;
      if (line !== lastLine || e.done === e.total || t - lastLog > 30_000) {
        o.log(`${line} ${e.done}/${e.total} at ${fmt((t - t0) / 1000)} s`);
        lastLog = t;
      }
      lastLine = line;
    } else if (e.type === 'model') o.log(`  [context ${context}] model built and uploaded at ${fmt((t - t0) / 1000)} s`);
  });
  const before = o.machineLoad();
  const cpu0 = process.cpuUsage();
  const errors0 = engine.takeErrors();
  if (errors0.length) o.log(`  (WebGPU errors before this run: ${errors0.join('; ')})`);
  t0 = performance.now();
  try {
    await session.load(config, custom);
    const tLoaded = performance.now();
    const bad = await session.learnStep(true);
    if (bad) throw new Error(bad.message);
    const tStep = performance.now();
    o.log(`  [context ${context}] learning step: ${fmt((tStep - tLoaded) / 1000)} s`);
    await session.finalEvaluation();
    const tEval = performance.now();
    o.log(`  [context ${context}] evaluation: ${fmt((tEval - tStep) / 1000)} s`);
    const cpu = process.cpuUsage(cpu0);
    const loadavg = sampler.stop();
    const { kernelsCompiled, ...phases } = phaseTimes(events, t0, tLoaded);
    const text = (m: { loss: number; bitsPerByte?: number } | undefined) => (m ? { loss: m.loss, bitsPerByte: m.bitsPerByte ?? null } : null);
    const table: Gpt2SmallRow[] = session.table.map((r) => ({ key: r.key, label: r.label, en: text(r.metrics.en), code: text(r.metrics.code) }));
    const run: Gpt2SmallRun = {
      config: set,
      seconds: { ...phases, learningStep: (tStep - tLoaded) / 1000, evaluation: (tEval - tStep) / 1000, total: (tEval - t0) / 1000 },
      kernelsCompiled,
      prior: { method: config.prior, reusedBaseline: phases.baselines.some((b) => b.key === config.prior) },
      stepLoss: session.metrics.length ? session.metrics[session.metrics.length - 1].loss : null,
      table,
      gpuMemory: session.gpuMemory(),
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      machine: { before, after: o.machineLoad(), loadavg1: loadavg },
      webgpuErrors: engine.takeErrors(),
    };
    return { run, session };
  } catch (e) {
    sampler.stop();
    session.dispose();
    throw e;
  }
}

/** Writes the checkpoint, runs every context and returns the results (nothing written here). */
export async function benchGpt2Small(o: Gpt2SmallOptions): Promise<Gpt2SmallResults> {
  const c: GptConfig = { ...GPT2_SMALL, nLayer: o.layers };
  const configJson = { ...GPT2_CONFIG_JSON, n_layer: o.layers };
  const dir = mkdtempSync(join(tmpdir(), 'bench-gpt2-small-'));
  try {
    o.log(`[bench] writing a ${o.layers}-layer GPT-2-small-shaped checkpoint into ${dir}…`);
    let t = performance.now();
    const written = writeHubGpt2Dir(dir, c, configJson, gpt2Init(c, o.seed));
    const writeSeconds = (performance.now() - t) / 1000;
    o.log(`[bench] ${(written.bytes / 2 ** 20).toFixed(1)} MiB in ${fmt(writeSeconds)} s`);
    t = performance.now();
    const buf = readFileSync(written.path);
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    const readSeconds = (performance.now() - t) / 1000;
    const { nodeGpuEngine } = await import('../lib/node-gpu');
    const engine = await nodeGpuEngine();
    const adapter =
      [engine.info.adapterInfo.vendor, engine.info.adapterInfo.architecture, engine.info.adapterInfo.description].filter(Boolean).join(' / ') || 'unknown';
    o.log(`[bench] adapter: ${adapter}`);
    const custom = { name: 'gpt2-small', files: [{ name: 'model.safetensors', bytes }], config: configJson };
    const runs: Gpt2SmallRun[] = [];
    const failed: Gpt2SmallResults['failed'] = [];
    for (const context of o.contexts) {
      o.log(`[bench] context ${context}, batch 1: load, baselines, one MaskLLM step, one evaluation…`);
      const t1 = performance.now();
      let session: LabSession | null = null;
      try {
        const r = await oneRun(engine, custom, context, o);
        session = r.session;
        runs.push(r.run);
        o.log(`[bench] context ${context}: ${fmt(r.run.seconds.total)} s in all`);
      } catch (e) {
        // a refused or failed configuration is a result too; the other contexts still run
        const error = (e as Error).message;
        failed.push({ context, error, seconds: (performance.now() - t1) / 1000 });
        o.log(`[bench] context ${context} FAILED: ${error}`);
      } finally {
        session?.dispose();
      }
    }
    return {
      date: new Date().toISOString(),
      adapter,
      node: process.version,
      cores: cpus().length,
      dev: o.layers !== GPT2_SMALL.nLayer,
      model: {
        layers: c.nLayer,
        nEmbd: c.nEmbd,
        nHead: c.nHead,
        nPositions: c.nPositions,
        vocabSize: c.vocabSize,
        parameters: gptParameterShapes(c).reduce((a, [, shape]) => a + shape.reduce((x, y) => x * y, 1), 0),
        maskedWeights: gptMaskSites(c).reduce((a, s) => a + s.shape[0] * s.shape[1], 0),
        dtype: 'F32',
        checkpointBytes: written.bytes,
      },
      writeSeconds,
      readSeconds,
      runs,
      failed,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
