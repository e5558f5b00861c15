// Bundles tools/bench/device.ts into one ESM file for a machine with no node_modules (a lent device
// machine): .devbench/device.mjs, with the `webgpu` package's loader and its linux-x64 Dawn build
// copied beside it (.devbench/node_modules/webgpu, about 21 MiB). `?raw` imports (WGSL) are inlined
// as strings. --pack (for the device machine, whose image has no Node): also this Node binary as
// node.xz, and dawn.node xz-compressed (about 29 MB in all, with xz -9; minutes on a busy machine),
// which tools/bench/device-run.sh unpacks there. Add `/.devbench/` to .git/info/exclude and carry
// `.devbench` (and `.gl`, the Vulkan loader, see tools/bench/device-run.sh).
// Usage: node tools/bench/device-bundle.mjs [--pack] [outDir, default .devbench]
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const args = process.argv.slice(2);
const pack = args.includes('--pack');
const out = args.find((a) => !a.startsWith('--')) ?? '.devbench';
const rawText = {
  name: 'raw-text',
  setup(b) {
    b.onResolve({ filter: /\?raw$/ }, (a) => ({ path: resolve(a.resolveDir, a.path.slice(0, -4)), namespace: 'raw-text' }));
    b.onLoad({ filter: /.*/, namespace: 'raw-text' }, (a) => ({ contents: readFileSync(a.path, 'utf8'), loader: 'text' }));
  },
};
await build({
  entryPoints: ['tools/bench/device.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: `${out}/device.mjs`,
  external: ['webgpu'],
  plugins: [rawText],
  logLevel: 'warning',
});
const pkg = `${out}/node_modules/webgpu`;
rmSync(pkg, { recursive: true, force: true });
mkdirSync(`${pkg}/dist`, { recursive: true });
for (const f of ['index.js', 'package.json']) cpSync(`node_modules/webgpu/${f}`, `${pkg}/${f}`);
cpSync('node_modules/webgpu/dist/linux-x64', `${pkg}/dist/linux-x64`, { recursive: true });
if (pack) {
  writeFileSync(`${out}/node.xz`, execFileSync('xz', ['-9', '-T0', '-c', process.execPath], { maxBuffer: 1 << 30 }));
  execFileSync('xz', ['-9', '-T0', '-f', `${pkg}/dist/linux-x64/dawn.node`]);
}
console.log(`wrote ${out}/device.mjs and ${dirname(pkg)}/webgpu (linux-x64)${pack ? `, ${out}/node.xz (${process.version}), dawn.node.xz` : ''}`);
