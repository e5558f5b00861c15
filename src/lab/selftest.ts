// The self-test shown on the page: every registered case runs one op on the target engine (the GPU,
// or the f32 CPU engine when WebGPU is missing) and on a reference (the op's CPU twin; the f64 CPU
// engine when the target is itself the CPU), on fresh seeded random inputs, and reports the worst
// relative error and the time. Adding an op family later is one line per op in CASES below.
import { CpuEngine } from '../backend/cpu';
import type { Engine } from '../backend/engine';
import type { RawTensor } from '../backend/tensor';
import * as ew from '../ops/elementwise';
import { rngBits, rngUniform, rngUniformCpu } from '../ops/rng';
import type { EngineKind } from './names';

/** Relative error ‖got−want‖/‖want‖, the criterion of the test suite. */
export const SELFTEST_TOL = 1e-5;

export interface SelfTestCase {
  /** Shown in the table, e.g. 'add'. */
  name: string;
  /** Op family, e.g. 'elementwise'. */
  family: string;
  /** Shapes tried, for the table ('n=1, 67, 390/3'). */
  shapes: string;
  /** Runs every variant on `e`; returns one output per variant. Tensors to free go to `keep`. */
  run(e: Engine, seed: number, keep: (t: RawTensor) => RawTensor): Promise<RawTensor[]>;
  /** Known answers: compared instead of the reference engine's output (one array per variant). */
  expected?: ArrayLike<number>[];
  tol?: number;
}

export interface SelfTestResult {
  name: string;
  family: string;
  shapes: string;
  engine: EngineKind;
  pass: boolean;
  /** Worst relative error over the variants (Infinity when a value is NaN/Inf or a length differs). */
  maxRelError: number;
  /** Time of the target run: upload, dispatch and read back (the first GPU run includes compiling). */
  ms: number;
  /** Integer outputs must match exactly: how many elements differ. */
  mismatches: number;
  error?: string;
}

export interface SelfTestReport {
  engine: EngineKind;
  reference: 'cpu-f32' | 'cpu-f64';
  seed: number;
  results: SelfTestResult[];
  totalMs: number;
}

// ---- inputs --------------------------------------------------------------------------------

/** Standard normal values from the Threefry stream (Box–Muller on open-interval uniforms). */
export function randnFromSeed(n: number, seed: number): Float32Array {
  const u = rngUniformCpu({ seed: seed >>> 0, stream: 0x5e1f, offset: 0 }, 2 * n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(u[2 * i])) * Math.cos(2 * Math.PI * u[2 * i + 1]);
  return out;
}

const shapeText = (s: readonly number[]) => s.join('×');

/**
 * A case for an op on random f32 inputs: `variants` lists the input shapes of each run.
 * Choose shapes that do not divide the workgroup size (64) and include size-1 edges.
 */
export function opCase(
  family: string,
  name: string,
  variants: number[][][],
  op: (e: Engine, inputs: RawTensor[]) => RawTensor,
  tol = SELFTEST_TOL,
): SelfTestCase {
  return {
    name,
    family,
    tol,
    shapes: variants.map((v) => v.map(shapeText).join(', ')).join(' | '),
    async run(e, seed, keep) {
      return variants.map((shapes, vi) => {
        const inputs = shapes.map((s, ii) => {
          const n = s.reduce((a, b) => a * b, 1);
          return keep(e.upload(randnFromSeed(n, seed + 101 * vi + ii), s));
        });
        return keep(op(e, inputs));
      });
    },
  };
}

/** A case for a generator (no inputs) run at several sizes, e.g. the RNG. */
export function genCase(family: string, name: string, sizes: number[], gen: (e: Engine, n: number, seed: number) => RawTensor): SelfTestCase {
  return {
    name,
    family,
    shapes: sizes.map(String).join(', '),
    async run(e, seed, keep) {
      return sizes.map((n) => keep(gen(e, n, seed)));
    },
  };
}

/** A known-answer case: the output must equal published values on every engine. */
export function katCase(family: string, name: string, gen: (e: Engine) => RawTensor, expected: number[]): SelfTestCase {
  return {
    name,
    family,
    shapes: String(expected.length),
    expected: [expected],
    async run(e, _seed, keep) {
      return [keep(gen(e))];
    },
  };
}

// ---- the registry --------------------------------------------------------------------------

// Elementwise shapes as in tests/browser/elementwise.test.ts: size 1, not a multiple of 64, broadcast.
const BIN: number[][][] = [
  [[1], [1]],
  [[67], [67]],
  [[390], [3]],
  [[1000], [8]],
];
const UNARY: number[][][] = [[[1]], [[67]], [[1000]]];
const RNG_SIZES = [1, 131, 4099];

export const CASES: SelfTestCase[] = [
  // Threefry-2x32-20 with key (0,0), counter (0,0): Random123 kat_vectors.
  katCase('rng', 'threefry known answer', (e) => rngBits(e, { seed: 0, stream: 0, offset: 0 }, 2), [0x6b200159, 0x99ba4efe]),
  genCase('rng', 'rngBits', RNG_SIZES, (e, n, seed) => rngBits(e, { seed, stream: 3, offset: 17 }, n)),
  genCase('rng', 'rngUniform', RNG_SIZES, (e, n, seed) => rngUniform(e, { seed, stream: 4, offset: 0 }, n)),
  opCase('elementwise', 'add', BIN, (e, [a, b]) => ew.add(e, a, b)),
  opCase('elementwise', 'sub', BIN, (e, [a, b]) => ew.sub(e, a, b)),
  opCase('elementwise', 'mul', BIN, (e, [a, b]) => ew.mul(e, a, b)),
  opCase('elementwise', 'scale', UNARY, (e, [a]) => ew.scale(e, a, -0.7)),
  opCase(
    'elementwise',
    'axpyInto',
    [
      [[1], [1]],
      [[67], [67]],
      [[1000], [1000]],
    ],
    (e, [y, x]) => (ew.axpyInto(e, y, x, 0.3), y),
  ),
  // The second input only gives the output shape of the reduction.
  opCase('elementwise', 'sumRepeat', BIN, (e, [a, like]) => ew.sumRepeat(e, a, like.shape)),
];

// ---- comparison and the runner -------------------------------------------------------------

export function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < got.length; i++) {
    // NaN never passes: a NaN is what an unwritten (poisoned) output element reads as.
    if (!Number.isFinite(got[i])) return Infinity;
    const d = got[i] - want[i];
    num += d * d;
    den += want[i] * want[i];
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

function countMismatches(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Math.max(got.length, want.length);
  let n = 0;
  for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) n++;
  return n;
}

async function runOn(c: SelfTestCase, e: Engine, seed: number): Promise<{ values: ArrayLike<number>[]; integer: boolean[] }> {
  const owned: RawTensor[] = [];
  const keep = (t: RawTensor) => (owned.push(t), t);
  try {
    const outs = await c.run(e, seed, keep);
    const values: ArrayLike<number>[] = [];
    for (const t of outs) values.push(await e.read(t));
    return { values, integer: outs.map((t) => t.dtype !== 'f32') };
  } finally {
    for (const t of owned) t.dispose(); // dispose() is idempotent (an in-place op returns its input)
  }
}

export interface RunOptions {
  seed: number;
  cases?: SelfTestCase[];
  onResult?: (r: SelfTestResult, index: number) => void;
}

/**
 * Runs every case on `target`. The reference is the f32 CPU twin for a GPU target and the f64 CPU
 * engine for a CPU target (so the CPU-only self-test still checks rounding, and known answers).
 */
export async function runSelfTest(target: Engine, opts: RunOptions): Promise<SelfTestReport> {
  const cases = opts.cases ?? CASES;
  const ref = new CpuEngine(target.kind === 'cpu');
  const results: SelfTestResult[] = [];
  const t0 = performance.now();
  const poisonBefore = target.kind === 'gpu' ? target.poisonAllocations : false;
  // Poison GPU allocations for the run: an element a kernel forgets to write reads as NaN and fails.
  if (target.kind === 'gpu') {
    target.poisonAllocations = true;
    target.takeErrors();
  }
  try {
    for (const [i, c] of cases.entries()) {
      const r: SelfTestResult = {
        name: c.name,
        family: c.family,
        shapes: c.shapes,
        engine: target.kind,
        pass: false,
        maxRelError: Infinity,
        ms: 0,
        mismatches: 0,
      };
      try {
        const start = performance.now();
        const got = await runOn(c, target, opts.seed);
        r.ms = performance.now() - start;
        const want = c.expected ?? (await runOn(c, ref, opts.seed)).values;
        if (want.length !== got.values.length) throw new Error(`${c.name}: ${got.values.length} outputs, expected ${want.length}`);
        let worst = 0;
        for (let v = 0; v < want.length; v++) {
          worst = Math.max(worst, relError(got.values[v], want[v]));
          // Integer outputs (RNG bits) must match bit for bit; a relative error hides low-bit flips.
          if (got.integer[v] || c.expected) r.mismatches += countMismatches(got.values[v], want[v]);
        }
        r.maxRelError = worst;
        const gpuErrors = target.kind === 'gpu' ? target.takeErrors() : [];
        if (gpuErrors.length) r.error = `WebGPU errors: ${gpuErrors.join('; ')}`;
        r.pass = worst <= (c.tol ?? SELFTEST_TOL) && r.mismatches === 0 && gpuErrors.length === 0;
      } catch (e) {
        r.error = e instanceof Error ? e.message : String(e);
      }
      results.push(r);
      opts.onResult?.(r, i);
    }
  } finally {
    if (target.kind === 'gpu') target.poisonAllocations = poisonBefore;
  }
  return { engine: target.kind, reference: target.kind === 'cpu' ? 'cpu-f64' : 'cpu-f32', seed: opts.seed, results, totalMs: performance.now() - t0 };
}
