// npm run experiments [-- options]: the lab's experiments (issue 8) headless on the lab's own engine
// (Node `webgpu`, the same LabRunner the page runs). Each section (sections/*.ts) names its runs;
// the runner fills one directory per run under --runs (reusing a directory whose config.json already
// matches) and the report rebuilds RESULTS.md and its PNG charts from the run directories.
// --quick: micro schedules of all eight sections into a temporary folder, then a self-check; it runs
// inside `npm test`.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import type { AssetLoader } from '../../src/lab/assets';
import { helpText, parseArgs, UsageError, type OptionSpec } from '../lib/args';
import { ENGINE_OPTIONS, engineRequestFrom, nodeEngine } from '../lib/engine-options';
import { nodeAssets } from '../lib/node-assets';
import { renderCharts } from './charts';
import { checkQuickOutput, composeResults, estimateRunSeconds, type Invocation } from './report';
import { DirStore, reuseCheck } from './run-dir';
import { SECTIONS } from './sections';
import type { ChartSpec, PlanOptions, RunDef, Section } from './types';

const SPECS: OptionSpec[] = [
  { name: 'quick', type: 'flag', help: 'micro schedules of all eight sections into a temporary folder, then a self-check (npm test runs this)' },
  { name: 'only', type: 'string', help: 'sections to run, by number, range or name: 1,3-5,transfer (the report always has all eight)' },
  { name: 'models', type: 'string', help: 'models of the main table (sections 2–8 use tiny-gpt); default tiny-gpt,tiny-vit (quick: tiny-gpt)' },
  { name: 'report-models', type: 'string', help: 'models whose main-table runs go into RESULTS.md (default tiny-gpt,tiny-vit; quick: --models)' },
  { name: 'seeds', type: 'string', help: 'comma-separated seeds of the main table (the headline numbers); default 1,2 (quick: 1)' },
  { name: 'ablation-seeds', type: 'string', help: 'seeds of sections 2–8; default the first of --seeds (each extra seed adds about an hour on 2 cores)' },
  { name: 'steps', type: 'int', help: 'MaskLLM steps of every run (overrides each section’s default)' },
  { name: 'out', type: 'string', help: 'where RESULTS.md goes; charts go to results/ next to it (default docs/RESULTS.md; quick: a temporary folder)' },
  { name: 'runs', type: 'string', help: 'run directories root (default results; quick: inside the temporary folder)' },
  { name: 'force', type: 'flag', help: 'rerun the selected sections’ runs even when their directories match' },
  { name: 'report-only', type: 'flag', help: 'do not run anything; rebuild RESULTS.md and the charts from the run directories' },
  { name: 'keep', type: 'flag', help: 'quick: keep the temporary folder after a successful self-check' },
  ...ENGINE_OPTIONS,
  { name: 'help', type: 'flag', help: 'show this help' },
];

/** Sections selected by --only ("1,3-5,transfer"); all without it. */
export function selectSections(spec: string | undefined, sections: Section[] = SECTIONS): Section[] {
  if (!spec) return sections;
  const ids = new Set<number>();
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const range = /^(\d+)-(\d+)$/.exec(part);
    if (range) {
      for (let i = Number(range[1]); i <= Number(range[2]); i++) ids.add(i);
      continue;
    }
    const s = sections.find((x) => String(x.id) === part || x.key === part);
    if (!s) throw new UsageError(`--only: no section "${part}" (sections: ${sections.map((x) => `${x.id} ${x.key}`).join(', ')})`);
    ids.add(s.id);
  }
  for (const id of ids) if (!sections.some((s) => s.id === id)) throw new UsageError(`--only: no section ${id}`);
  return sections.filter((s) => ids.has(s.id));
}

const list = (v: unknown): string[] =>
  String(v)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function parseSeeds(v: unknown, flag = '--seeds'): number[] {
  const seeds = list(v).map(Number);
  if (!seeds.length || seeds.some((s) => !Number.isInteger(s) || s < 0)) throw new UsageError(`${flag} must be comma-separated integers ≥ 0 (got "${v}")`);
  return seeds;
}

/** The plan a section sees: the main table (section 1) runs `seeds`, sections 2–8 `ablationSeeds`. */
export function sectionPlan(s: Section, o: PlanOptions, ablationSeeds: number[] = o.seeds): PlanOptions {
  return s.id === 1 ? o : { ...o, seeds: ablationSeeds };
}

/** Every run of the selected sections, each name once, in plan order (a prior's run before its user). */
export function planRuns(sections: Section[], o: PlanOptions, ablationSeeds: number[] = o.seeds): RunDef[] {
  const byName = new Map<string, RunDef>();
  for (const s of sections) {
    for (const d of s.runs(sectionPlan(s, o, ablationSeeds))) {
      const had = byName.get(d.name);
      if (had && JSON.stringify(had) !== JSON.stringify(d)) throw new Error(`run ${d.name} is defined twice with different settings (a section bug)`);
      if (d.priorFrom && !byName.has(d.priorFrom)) throw new Error(`run ${d.name} needs ${d.priorFrom} planned before it (a section bug)`);
      byName.set(d.name, d);
    }
  }
  return [...byName.values()];
}

export async function main(argv: string[]): Promise<void> {
  const { opts } = parseArgs(argv, SPECS);
  if (opts.help) {
    console.log(helpText('usage: npm run experiments [-- options]', SPECS));
    return;
  }
  const t0 = performance.now();
  const quick = !!opts.quick;
  const seeds = parseSeeds(opts.seeds ?? (quick ? '1' : '1,2'));
  const ablationSeeds = opts['ablation-seeds'] === undefined ? seeds.slice(0, 1) : parseSeeds(opts['ablation-seeds'], '--ablation-seeds');
  const models = list(opts.models ?? (quick ? 'tiny-gpt' : 'tiny-gpt,tiny-vit'));
  const steps = opts.steps as number | undefined;
  if (steps !== undefined && steps < 1) throw new UsageError('--steps must be ≥ 1');
  let tmp: string | null = null;
  if (quick && (opts.out === undefined || opts.runs === undefined)) tmp = mkdtempSync(join(tmpdir(), 'maskllm-experiments-'));
  const out = resolve(String(opts.out ?? (tmp ? join(tmp, 'RESULTS.md') : 'docs/RESULTS.md')));
  const runsRoot = String(opts.runs ?? (tmp ? join(tmp, 'runs') : 'results'));
  if (quick && out === resolve('docs/RESULTS.md')) throw new UsageError('--quick never writes docs/RESULTS.md: give --out elsewhere');
  const chartsDir = join(dirname(out), 'results');
  const plan: PlanOptions = { quick, seeds, models, steps };
  // the report covers both bundled models whatever this invocation runs, so they can be run separately
  const reportPlan: PlanOptions = { ...plan, models: opts['report-models'] ? list(opts['report-models']) : quick ? models : ['tiny-gpt', 'tiny-vit'] };
  const selected = selectSections(opts.only as string | undefined);
  const defs = planRuns(selected, plan, ablationSeeds);

  let invocation: Invocation | null = null;
  if (!opts['report-only']) {
    const todo = defs.filter((d) => opts.force || d.priorFrom || !reuseCheck(join(runsRoot, d.name), d, { ...d.config }).reuse);
    const est = todo.reduce((a, d) => a + estimateRunSeconds(d.config), 0);
    console.log(
      `sections ${selected.map((s) => s.id).join(', ')}: ${defs.length} runs, ${defs.length - todo.length} reusable, up to ${todo.length} to run; rough estimate ${(est / 60).toFixed(0)} min on the CPU adapter (2 cores)`,
    );
    const { runAll } = await import('./runner');
    const choice = await nodeEngine(engineRequestFrom(opts));
    const engine = choice.engine;
    const adapter = choice.description;
    console.log(`engine: ${adapter}`);
    const assets: AssetLoader = nodeAssets();
    let progressShown = false;
    const tty = process.stdout.isTTY;
    const outcomes = await runAll(defs, {
      engine,
      assets,
      adapter,
      runsRoot,
      force: !!opts.force,
      log: (line) => {
        if (progressShown) process.stdout.write('\n');
        progressShown = false;
        console.log(line);
      },
      progress: tty
        ? (line) => {
            process.stdout.write(`\r${line}   `);
            progressShown = true;
          }
        : undefined,
    });
    if (progressShown) process.stdout.write('\n');
    invocation = {
      seconds: 0,
      ran: outcomes.filter((x) => x.status === 'ran').length,
      reused: outcomes.filter((x) => x.status === 'reused').length,
      failed: outcomes.filter((x) => x.status === 'failed').map((x) => x.name),
    };
  }

  // the report: every section, from whatever run directories exist
  const store = new DirStore(runsRoot);
  const link = (file: string) => relative(dirname(out), join(chartsDir, file)).split('\\').join('/');
  const reports = SECTIONS.map((section) => ({ section, report: section.report(sectionPlan(section, reportPlan, ablationSeeds), store, link) }));
  const charts: ChartSpec[] = reports.flatMap((r) => r.report.charts);
  let chartsError: string | undefined;
  let pngs: string[] = [];
  try {
    pngs = await renderCharts(charts, chartsDir);
  } catch (e) {
    chartsError = (e as Error).message;
    console.error(`charts: ${chartsError}`);
  }
  if (invocation) invocation.seconds = (performance.now() - t0) / 1000;
  const command = `npm run experiments${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  mkdirSync(dirname(out), { recursive: true });
  const missingSeconds = [...store.seen].filter(([, r]) => r === null).reduce((a, [name]) => a + estimateRunSeconds(store.defs.get(name)!.config), 0);
  writeFileSync(
    out,
    composeResults({
      command,
      date: new Date().toISOString().slice(0, 10),
      sections: reports,
      runs: store.seen,
      firstSeed: seeds[0],
      invocation,
      chartsError,
      missingSeconds,
      quick,
    }),
  );
  console.log(`wrote ${out}${pngs.length ? ` and ${pngs.length} charts in ${chartsDir}` : ''} in ${((performance.now() - t0) / 60000).toFixed(1)} min`);

  const failed = invocation?.failed ?? [];
  if (quick) {
    const problems = checkQuickOutput(
      out,
      runsRoot,
      defs,
      charts.map((c) => join(chartsDir, c.file)),
    );
    if (failed.length) problems.push(`runs failed: ${failed.join(', ')}`);
    if (chartsError) problems.push(`charts: ${chartsError}`);
    if (problems.length) throw new Error(`quick experiments self-check failed (output kept in ${dirname(out)}):\n  ${problems.join('\n  ')}`);
    console.log(
      `quick self-check passed: 8 sections, ${new Set(defs.map((d) => d.name)).size} run directories, ${pngs.length} valid PNG charts (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
    );
    if (tmp && !opts.keep) rmSync(tmp, { recursive: true, force: true });
  } else if (failed.length) {
    throw new Error(`${failed.length} runs failed: ${failed.join(', ')} (RESULTS.md says which)`);
  }
}
