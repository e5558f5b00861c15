// The headless entry (headless.html): no React, no worker. Creates the GpuEngine (or shows why it
// cannot), the lab's LabRunner over it on the main thread (the same runner the page's worker holds;
// saves kept in memory, so a lost device is recreated and the run resumes from its last save), and
// window.lab with the headless extras (HeadlessExtras in src/embed/automation.ts: chartsPng,
// loadModelUrls, loadPriorUrl, adapter). Files come by URL from the driver's file routes
// (tools/lib/file-routes.ts on the same Vite server), never through page.evaluate.
// When the engine cannot start, window.labError holds the message (the driver reports it) and
// #status shows it. `?engine=wasm` (and `threads=N`) uses the WebAssembly engine, `?engine=cpu` the
// TypeScript CPU engine (slow), `?engine=auto` WebGPU else WebAssembly (engine-choice.ts).
import type { Engine } from '../backend/engine';
import { GpuEngine } from '../backend/gpu';
import { chooseEngine, parseEnginePreference, parseThreads } from '../lab/engine-choice';
import { installAutomation, type HeadlessExtras } from '../embed/automation';
import { checkpointFileList, fetchRemoteFile, type RemoteFile } from '../embed/remote-files';
import { fetchLoader } from '../lab/assets';
import { shardListProblem } from '../lab/model-files';
import { INDEX_SUFFIX, parseShardIndex, type NamedFile } from '../models/sharded';
import { memoryStore } from '../lab/persist';
import { fixedEngine, LabRunner } from '../lab/runner';
import { chartFigures, renderPng } from './charts';

declare global {
  interface Window {
    labError?: string;
  }
}

const status = document.getElementById('status')!;

function show(state: string, text: string): void {
  status.dataset.state = state;
  status.textContent = text;
}

const MiB = 2 ** 20;
/** #status while a file is fetched (the driver reports the transfer from its side). */
const fetching = (name: string) => (done: number, total: number) =>
  show('loading', `fetching ${name}: ${(done / MiB).toFixed(1)} of ${(total / MiB).toFixed(1)} MiB`);

/**
 * A checkpoint's weight files, fetched one by one: the list is checked first (checkpointFileList:
 * one .safetensors, or the index and its shards; each size and the shards' total), then the index,
 * whose weight_map must name exactly the shards listed, then the shards.
 */
async function fetchCheckpoint(list: RemoteFile[]): Promise<NamedFile[]> {
  const files = checkpointFileList(list);
  const out: NamedFile[] = [];
  for (const [i, f] of files.entries()) {
    const index = f.name.endsWith(INDEX_SUFFIX);
    const label = files.length > 1 ? `${f.name} (${i + 1} of ${files.length})` : f.name;
    const bytes = await fetchRemoteFile(f, index ? 'index' : 'safetensors', fetching(label));
    if (index) {
      const problem = shardListProblem(
        f.name,
        parseShardIndex(bytes, f.name),
        files.slice(1).map((s) => s.name),
      );
      if (problem) throw new Error(problem);
    }
    out.push({ name: f.name, bytes });
  }
  return out;
}

async function start(): Promise<void> {
  const q = new URLSearchParams(location.search);
  // the CLI tools decide (engine-choice.ts, cpuAdapter: 'wasm'); without engine= this page wants WebGPU
  const request = { preference: parseEnginePreference(q.get('engine')) ?? 'gpu', threads: parseThreads(q.get('threads')) ?? undefined };
  const choice = await chooseEngine({ ...request, cpuAdapter: 'wasm' }, () => GpuEngine.create());
  const engine: Engine = choice.engine;
  const adapter = choice.description;
  if (engine.kind === 'gpu') engine.onLost((e) => show('error', e.message));
  // Assets resolve against the page's folder, so a build served under a sub-path works too.
  const runner = new LabRunner({
    engine: fixedEngine(engine, engine.kind === 'gpu' ? () => GpuEngine.create() : undefined),
    assets: fetchLoader(new URL('.', location.href).href),
    store: memoryStore(),
  });
  runner.subscribe((e) => {
    if (e.type === 'state') show(e.state, `${e.state}${e.message ? `: ${e.message}` : ''}`);
    if (e.type === 'error') show('error', e.message);
  });
  const extras: HeadlessExtras = {
    adapter: () => adapter,
    async chartsPng() {
      const m = await runner.getMetrics();
      return renderPng(chartFigures(m, runner.session?.summary ?? null));
    },
    async loadModelUrls({ files, config: configJson }) {
      const config: unknown = typeof configJson === 'string' ? JSON.parse(configJson) : configJson;
      const fetched = await fetchCheckpoint(files);
      runner.setCustomModel({ files: fetched, config });
      show('idle', fetched.length === 1 ? `${fetched[0].name} fetched` : `${fetched[0].name} and ${fetched.length - 1} shard(s) fetched`);
      return { bytes: fetched.reduce((sum, f) => sum + f.bytes.byteLength, 0) };
    },
    async loadPriorUrl(file) {
      const bytes = await fetchRemoteFile(file, 'mask', fetching(file.name));
      runner.setPriorFile(bytes);
      show('idle', `${file.name} fetched`);
      return { bytes: bytes.length };
    },
  };
  installAutomation(runner, extras);
  show('idle', `ready on ${adapter}`);
}

start().catch((e: unknown) => {
  const message = e instanceof Error ? e.message : String(e);
  window.labError = message;
  show('error', message);
});
