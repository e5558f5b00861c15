// Makes sure a Chromium is there before the tests run: CHROMIUM_PATH or /usr/bin/chromium.
// When missing and we are root on Debian/Ubuntu, installs Debian's `chromium` (and libvulkan1, which
// the Node `webgpu` package needs) with apt; otherwise stops and says exactly what to install.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromiumPath } from './chromium.mjs';

const path = chromiumPath();
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = existsSync('/usr/bin/apt-get');
const needVulkan = !existsSync('/usr/lib/x86_64-linux-gnu/libvulkan.so.1') && !existsSync('/usr/lib/aarch64-linux-gnu/libvulkan.so.1');

if (existsSync(path) && !needVulkan) process.exit(0);
if (process.env.CHROMIUM_PATH && !existsSync(path)) {
  console.error(`CHROMIUM_PATH is set to ${path}, but no file is there. Point it at a Chromium binary or unset it.`);
  process.exit(1);
}
if (isRoot && hasApt && process.env.NO_APT_INSTALL !== '1') {
  console.log('Installing Debian packages chromium and libvulkan1 (needed for the WebGPU tests)...');
  execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium libvulkan1', { stdio: 'inherit' });
  if (existsSync(path)) process.exit(0);
}
console.error(
  `No Chromium at ${path}. Install Debian's packages with:\n` +
    `  sudo apt-get install -y chromium libvulkan1\n` +
    `or set CHROMIUM_PATH to a Chromium 120+ binary.`,
);
process.exit(1);
