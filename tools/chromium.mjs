// Where Debian's Chromium lives and the flags that give it WebGPU headless on this machine class.
import { existsSync } from 'node:fs';

export function chromiumPath() {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return fromEnv;
  return '/usr/bin/chromium';
}

export function chromiumArgs({ webgpu = true } = {}) {
  const args = ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
  if (webgpu) args.push('--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader');
  // Chromium refuses to start as root without this.
  if (typeof process.getuid === 'function' && process.getuid() === 0) args.push('--no-sandbox');
  return args;
}

export function chromiumExists() {
  return existsSync(chromiumPath());
}
