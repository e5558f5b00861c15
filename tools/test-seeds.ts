// npm run test:seeds -- [--project node|browser] [--seeds N] [--from S] [--record] [files…]
// Runs test files once per seed (TEST_SEED = S, S+1, …) and lists the seeds that fail, with the
// failing tests, so a randomized test can be checked to pass for every seed and any failure replayed
// (`TEST_SEED=<seed> npx vitest run --project <p> <file>`). Without files it sweeps the project's
// randomized files: those that draw their inputs from tests/helpers/random.ts's testSeed().
// --record writes the sweep to docs/seed-sweeps.json after every seed (docs/ARCHITECTURE.md, Tests,
// reads it); `seeds.complete` says whether every requested seed ran.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { helpText, parseArgs, runMain, UsageError, type OptionSpec } from './lib/args';

const ROOT = resolve(import.meta.dirname, '..');
const RECORD = join(ROOT, 'docs/seed-sweeps.json');

const SPECS: OptionSpec[] = [
  { name: 'project', type: 'string', choices: ['node', 'browser'], default: 'node', help: 'the Vitest project' },
  { name: 'seeds', type: 'int', default: 20, help: 'how many consecutive seeds' },
  { name: 'from', type: 'int', default: 1, help: 'the first seed' },
  { name: 'jobs', type: 'int', default: 1, help: 'seeds run at once (node: 2 fills the idle tail of each run on 2 cores)' },
  { name: 'record', type: 'flag', help: `write the sweep to ${relative(ROOT, RECORD)}` },
  { name: 'help', type: 'flag', help: 'this text' },
];
const USAGE = "npm run test:seeds -- [options] [test files…]   (default: the project's randomized files)";

interface Failure {
  file: string;
  test: string;
  message: string;
}

interface SeedResult {
  seed: number;
  tests: number;
  failures: Failure[];
  seconds: number;
}

/** The project's test files that call testSeed(): the ones whose inputs change with TEST_SEED. */
function randomizedFiles(project: string): string[] {
  const dir = join(ROOT, 'tests', project);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.test.ts') && /\btestSeed\(/.test(readFileSync(join(dir, f), 'utf8')))
    .sort()
    .map((f) => `tests/${project}/${f}`);
}

interface VitestJson {
  numTotalTests: number;
  testResults: { name: string; message?: string; assertionResults: { fullName: string; status: string; failureMessages: string[] }[] }[];
}

/** vitest's exit status and output (a failing run is a result here, not an exception). */
function vitest(args: string[], seed: number): Promise<{ status: number | null; output: string }> {
  return new Promise((done) => {
    execFile('npx', ['vitest', 'run', ...args], { cwd: ROOT, env: { ...process.env, TEST_SEED: String(seed) }, maxBuffer: 1 << 26 }, (err, stdout, stderr) =>
      done({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: stderr || stdout }),
    );
  });
}

async function runSeed(project: string, files: string[], seed: number, out: string): Promise<SeedResult> {
  const t0 = performance.now();
  rmSync(out, { force: true });
  const p = await vitest(['--project', project, '--reporter=json', `--outputFile=${out}`, ...files], seed);
  const seconds = (performance.now() - t0) / 1000;
  if (!existsSync(out)) {
    // vitest itself failed (bad file name, config error): that is not a seed result
    throw new Error(`vitest wrote no report for seed ${seed} (exit ${p.status}):\n${p.output.slice(-2000)}`);
  }
  const r = JSON.parse(readFileSync(out, 'utf8')) as VitestJson;
  const failures: Failure[] = [];
  for (const f of r.testResults) {
    const file = relative(ROOT, f.name);
    const failed = f.assertionResults.filter((a) => a.status === 'failed');
    for (const a of failed) failures.push({ file, test: a.fullName, message: firstLine(a.failureMessages[0] ?? '') });
    // a file that failed outside any test (import error, failing beforeAll) has no failed assertion
    if (!failed.length && f.message) failures.push({ file, test: '(file)', message: firstLine(f.message) });
  }
  if (p.status !== 0 && !failures.length) failures.push({ file: '(run)', test: '(vitest)', message: `exit ${p.status}` });
  return { seed, tests: r.numTotalTests, failures, seconds };
}

/** Sorted seeds as ranges, '1–57, 59' (with --jobs a stopped sweep can leave a gap). */
function ranges(seeds: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < seeds.length;) {
    let j = i;
    while (j + 1 < seeds.length && seeds[j + 1] === seeds[j] + 1) j++;
    out.push(i === j ? `${seeds[i]}` : `${seeds[i]}–${seeds[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}

const firstLine = (s: string) =>
  s
    .split('\n')
    .find((l) => l.trim())
    ?.trim()
    .slice(0, 300) ?? '';

async function main(): Promise<void> {
  const { opts, positional } = parseArgs(process.argv.slice(2), SPECS);
  if (opts.help) {
    console.log(helpText(USAGE, SPECS));
    return;
  }
  const project = opts.project as string;
  const count = opts.seeds as number;
  const from = opts.from as number;
  if (count < 1) throw new UsageError('--seeds must be at least 1');
  const files = positional.length ? positional : randomizedFiles(project);
  for (const f of files) if (!existsSync(resolve(ROOT, f))) throw new UsageError(`no such test file: ${f}`);
  console.log(`${project}: ${files.length} file(s), seeds ${from}–${from + count - 1}`);
  const tmp = mkdtempSync(join(tmpdir(), 'seeds-'));
  const results: SeedResult[] = [];
  const started = new Date();
  const jobs = opts.jobs as number;
  if (jobs < 1) throw new UsageError('--jobs must be at least 1');
  let next = from;
  const worker = async (slot: number) => {
    for (let seed = next++; seed < from + count; seed = next++) {
      const r = await runSeed(project, files, seed, join(tmp, `report-${slot}.json`));
      results.push(r);
      results.sort((a, b) => a.seed - b.seed);
      const status = r.failures.length ? `FAILED ${r.failures.length}` : 'ok';
      console.log(`seed ${seed}: ${status} (${r.tests} tests, ${r.seconds.toFixed(1)} s)`);
      for (const f of r.failures) console.log(`  ${f.file} › ${f.test}\n    ${f.message}`);
      // recorded after every seed, so a sweep stopped early still leaves what it ran (and says so)
      if (opts.record) record(project, files, from, count, started, results);
    }
  };
  try {
    await Promise.all(Array.from({ length: jobs }, (_, slot) => worker(slot)));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const failed = results.filter((r) => r.failures.length);
  console.log('');
  console.log(
    failed.length ? `${failed.length} of ${results.length} seeds failed: ${failed.map((r) => r.seed).join(', ')}` : `all ${results.length} seeds passed`,
  );
  if (opts.record) console.log(`recorded in ${relative(ROOT, RECORD)}`);
  if (failed.length) process.exitCode = 1;
}

/** One entry per project in docs/seed-sweeps.json, replaced by the next --record of that project. */
function record(project: string, files: string[], from: number, count: number, started: Date, results: SeedResult[]): void {
  const all = existsSync(RECORD) ? (JSON.parse(readFileSync(RECORD, 'utf8')) as Record<string, unknown>) : {};
  const seconds = results.map((r) => r.seconds).sort((a, b) => a - b);
  all[project] = {
    command: `npm run test:seeds -- --project ${project} --seeds ${count} --from ${from}${files.join(' ') === randomizedFiles(project).join(' ') ? '' : ' ' + files.join(' ')} --record`,
    date: started.toISOString(),
    seeds: { from, to: from + count - 1, ran: results.length, ranges: ranges(results.map((r) => r.seed)), complete: results.length === count },
    files,
    testsPerSeed: results[0]?.tests ?? 0,
    medianSecondsPerSeed: Number(seconds[Math.floor(seconds.length / 2)].toFixed(1)),
    failedSeeds: results.filter((r) => r.failures.length).map((r) => ({ seed: r.seed, failures: r.failures })),
  };
  writeFileSync(RECORD, JSON.stringify(all, null, 2) + '\n');
}

runMain(main);
