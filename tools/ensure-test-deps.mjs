// Makes sure what the tests need from the system is there before they run:
//   - a Chromium: CHROMIUM_PATH or /usr/bin/chromium (Debian's package `chromium`),
//   - libvulkan1 (the Node `webgpu` package loads SwiftShader through it),
//   - python3 with numpy (an independent SparseGPT reference) — Debian `python3-numpy`,
//   - Fashion-MNIST IDX files (the data-rebuild test) — Debian `dataset-fashion-mnist`.
// When something is missing and we are root with apt, installs the Debian packages; otherwise stops
// and says exactly what to install.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromiumPath } from './chromium.mjs';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = existsSync('/usr/bin/apt-get');

function hasNumpy() {
  try {
    execSync('/usr/bin/python3 -c "import numpy"', { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const vulkanLibs = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1'];

const checks = [
  { pkg: 'chromium', ok: () => existsSync(chromiumPath()), what: `a Chromium at ${chromiumPath()}` },
  { pkg: 'libvulkan1', ok: () => vulkanLibs.some(existsSync), what: 'libvulkan.so.1' },
  { pkg: 'python3-numpy', ok: hasNumpy, what: '/usr/bin/python3 with numpy' },
  {
    pkg: 'dataset-fashion-mnist',
    ok: () => existsSync('/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz'),
    what: 'Fashion-MNIST in /usr/share/datasets/fashion-mnist',
  },
];

if (process.env.CHROMIUM_PATH && !existsSync(process.env.CHROMIUM_PATH)) {
  console.error(`CHROMIUM_PATH is set to ${process.env.CHROMIUM_PATH}, but no file is there. Point it at a Chromium binary or unset it.`);
  process.exit(1);
}
let missing = checks.filter((c) => !c.ok());
if (missing.length === 0) process.exit(0);
if (isRoot && hasApt && process.env.NO_APT_INSTALL !== '1') {
  const pkgs = missing.map((c) => c.pkg).join(' ');
  console.log(`Installing Debian packages the tests need: ${pkgs}`);
  execSync(`apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${pkgs}`, { stdio: 'inherit' });
  missing = checks.filter((c) => !c.ok());
  if (missing.length === 0) process.exit(0);
}
console.error(
  `The tests need ${missing.map((c) => c.what).join('; ')}.\nInstall the Debian packages with:\n` +
    `  sudo apt-get install -y ${missing.map((c) => c.pkg).join(' ')}\n` +
    `(or set CHROMIUM_PATH to a Chromium 120+ binary).`,
);
process.exit(1);
