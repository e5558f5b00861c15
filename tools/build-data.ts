// npm run data: builds the lab's data shards into public/data/ (format: src/data/shards.ts, docs:
// public/data/DATA.md) from the sources (tools/data/build.ts), with manifest.json.
// Deterministic: no timestamps, fixed seeds, sorted inputs; rerunning gives the same bytes.
// Note: this tool must not import src/ops/rng.ts (its `?raw` WGSL imports need the raw loader).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from '../src/data/shards';
import { helpText, parseArgs, runMain, UsageError, type OptionSpec } from './lib/args';
import { buildData, hex8, manifestJson, OUT_DIR } from './data/build';

const SPECS: OptionSpec[] = [{ name: 'help', type: 'flag', help: 'show this help' }];

async function main(): Promise<void> {
  const { opts, positional } = parseArgs(process.argv.slice(2), SPECS);
  if (opts.help) {
    console.log(helpText('usage: npm run data', SPECS));
    return;
  }
  if (positional.length) throw new UsageError(`unexpected argument "${positional[0]}" (see --help)`);
  const built = buildData();
  mkdirSync(OUT_DIR, { recursive: true });
  for (const [name, bytes] of built.files) {
    writeFileSync(join(OUT_DIR, name), bytes);
    console.log(`${name.padEnd(18)} ${String(bytes.length).padStart(10)} bytes  crc32 ${hex8(crc32(bytes))}`);
  }
  writeFileSync(join(OUT_DIR, 'manifest.json'), manifestJson(built.manifest));
  const { mean, std } = built.manifest.fmnist;
  console.log(`manifest.json written; Fashion-MNIST train pixel mean ${mean}, std ${std}`);
}

runMain(main);
