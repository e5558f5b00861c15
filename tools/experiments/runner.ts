// Runs one RunDef on the lab's own engine (a LabRunner: the page's and the CLI's very step) into its
// run directory, or reuses the directory when its config.json already describes this run (--force
// reruns). Runs share one engine, so pipelines compiled for one run serve the next.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '../../src/backend/engine';
import type { AssetLoader } from '../../src/lab/assets';
import { runConfigFile, runSummaryFile } from '../../src/lab/run-record';
import { fixedEngine, LabRunner } from '../../src/lab/runner';
import type { EvaluationEvent, ModelSummary } from '../../src/lab/session';
import type { StepMetrics } from '../../src/sparsity/learner';
import { writeRunRecord } from '../lib/run-record-fs';
import { reuseCheck, runIdentity } from './run-dir';
import type { FileSizes, RunDef } from './types';
import { fileTuneStorage } from '../lib/tune-cache';

export interface RunnerEnv {
  engine: Engine;
  assets: AssetLoader;
  adapter: string;
  runsRoot: string;
  force: boolean;
  log: (line: string) => void;
  /** progress within a run (overwritten in place on a terminal) */
  progress?: (line: string) => void;
}

export type RunOutcome = { name: string; status: 'reused' | 'ran'; seconds: number } | { name: string; status: 'failed'; seconds: number; error: string };

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '—');

/** Runs every definition in order (each name once); failures are reported and the rest still run. */
export async function runAll(defs: RunDef[], env: RunnerEnv): Promise<RunOutcome[]> {
  const out: RunOutcome[] = [];
  const done = new Set<string>();
  for (const def of defs) {
    if (done.has(def.name)) continue;
    done.add(def.name);
    const t0 = performance.now();
    try {
      const status = await ensureRun(def, env);
      out.push({ name: def.name, status, seconds: (performance.now() - t0) / 1000 });
    } catch (e) {
      const error = (e as Error).message;
      env.log(`  ${def.name}: FAILED: ${error}`);
      out.push({ name: def.name, status: 'failed', seconds: (performance.now() - t0) / 1000, error });
    }
  }
  return out;
}

export async function ensureRun(def: RunDef, env: RunnerEnv): Promise<'reused' | 'ran'> {
  const dir = join(env.runsRoot, def.name);
  let prior: Uint8Array | undefined;
  if (def.priorFrom) {
    const file = join(env.runsRoot, def.priorFrom, 'mask.safetensors');
    if (!existsSync(file)) throw new Error(`its prior comes from ${def.priorFrom}, which has no mask.safetensors (that run failed or was not planned first)`);
    prior = new Uint8Array(readFileSync(file));
  }
  const identity = runIdentity(def, prior);
  const check = reuseCheck(dir, def, identity);
  if (check.reuse && !env.force) {
    env.log(`${def.name}: reused (${check.why})`);
    return 'reused';
  }
  const c = def.config;
  env.log(
    `${def.name}: ${c.method}${c.method === 'maskllm' ? ` ${c.prior} prior, ${c.steps} steps` : ''}, ${c.n}:${c.m}, batch ${c.batch} (${env.force && check.reuse ? 'forced' : check.why})`,
  );
  const metrics: StepMetrics[] = [];
  const evals: EvaluationEvent[] = [];
  let model: ModelSummary | null = null;
  let lastError = '';
  const t0 = performance.now();
  const runner = new LabRunner({ engine: fixedEngine(env.engine), assets: env.assets, tuneStorage: fileTuneStorage() });
  runner.subscribe((e) => {
    if (e.type === 'model') model = e.summary;
    if (e.type === 'metrics') metrics.push(...e.rows);
    if (e.type === 'evaluation') {
      evals.push(e.evaluation);
      const m = e.evaluation.metrics;
      env.log(
        `  ${def.name} step ${e.evaluation.step}: ${m.val ? `val acc ${fmt(100 * m.val.accuracy)}%` : `en ppl ${fmt(m.en?.ppl ?? NaN)} code ppl ${fmt(m.code?.ppl ?? NaN)}`} flips ${e.evaluation.flips ?? '—'}`,
      );
    }
    if (e.type === 'progress' && e.phase === 'learning')
      env.progress?.(`  ${def.name} step ${e.done}/${e.total} ${e.stepsPerSecond ? (1 / e.stepsPerSecond).toFixed(2) + ' s/step' : ''}`);
    if (e.type === 'error') lastError = e.message;
  });
  try {
    if (prior) runner.setPriorFile(prior);
    await runner.load(c);
    if (c.method === 'maskllm') await runner.runToEnd();
    if (runner.state !== 'done') throw new Error(`ended in state ${runner.state}${lastError ? `: ${lastError}` : ''}`);
    const session = runner.session!;
    const seconds = (performance.now() - t0) / 1000;
    const sizes: FileSizes = {};
    const masks = {
      safetensors: await session.exportMask('safetensors'),
      ...(def.exports?.includes('packed') ? { packed: await session.exportMask('packed') } : {}),
    };
    // the resumable state is logits + Adam moments (tens of MB for 4:8): only its size is kept
    if (def.exports?.includes('state')) sizes.state = (await session.exportMask('state')).length;
    // a half-written directory never looks finished: the record's summary.json goes last
    writeRunRecord(dir, {
      config: runConfigFile('experiments', c, env.adapter, def.priorFrom ? { priorFrom: def.priorFrom, priorSha256: identity.priorSha256 as string } : {}),
      summary: runSummaryFile(c, session.table, seconds, env.adapter, model, session.gpuMemory()),
      metrics,
      evaluations: evals,
      model,
      masks,
      sizes,
    });
    env.log(`  ${def.name}: done in ${(seconds / 60).toFixed(1)} min`);
    return 'ran';
  } finally {
    runner.session?.dispose();
  }
}
