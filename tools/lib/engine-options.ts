// `--engine` and `--threads`, the same for every CLI tool (learn, regress, train, experiments, soak,
// bench), and the Node engine they name. The choice itself is src/lab/engine-choice.ts; the CLI's
// `auto` prefers WebAssembly over a software WebGPU adapter (measured faster on it: see there).
import { chooseEngine, ENGINE_PREFERENCES, type EngineChoice, type EnginePreference, type EngineRequest } from '../../src/lab/engine-choice';
import { UsageError, type OptionSpec } from './args';

export const ENGINE_OPTIONS: OptionSpec[] = [
  {
    name: 'engine',
    type: 'string',
    choices: [...ENGINE_PREFERENCES],
    help: 'auto: WebGPU on a real GPU, else the WebAssembly engine (faster than a software adapter); gpu, wasm, or cpu (the slow f64 reference).',
    default: 'auto',
  },
  { name: 'threads', type: 'int', help: 'WebAssembly engine threads (default: the cores, at most 8).' },
];

/** The request `--engine` and `--threads` make (the CLI's auto: a software adapter counts as none). */
export function engineRequestFrom(opts: Record<string, string | number | boolean>): EngineRequest {
  const preference = (opts.engine ?? 'auto') as EnginePreference;
  const threads = opts.threads as number | undefined;
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 64))
    throw new UsageError(`--threads must be an integer in 1…64 (got ${threads})`);
  if (threads !== undefined && preference !== 'wasm' && preference !== 'auto')
    throw new UsageError(`--threads is for the WebAssembly engine, not --engine ${preference}`);
  return { preference, threads, cpuAdapter: 'wasm' };
}

/** The engine a Node tool runs on (WebGPU through the `webgpu` package, WebAssembly, or the CPU engine). */
export async function nodeEngine(req: EngineRequest): Promise<EngineChoice> {
  return chooseEngine(req, async () => (await import('./node-gpu')).nodeGpuEngine());
}

/** headless.html's query for a request (the page makes the same choice in Chromium). */
export function engineQuery(req: EngineRequest): string {
  const q = new URLSearchParams({ engine: req.preference ?? 'auto' });
  if (req.threads !== undefined) q.set('threads', String(req.threads));
  return q.toString();
}
