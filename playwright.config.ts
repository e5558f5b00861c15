// End-to-end tests of the lab page in Debian's Chromium (headless), against the Vite dev server.
// Two projects: with WebGPU (SwiftShader here) and without it (no --enable-unsafe-webgpu).
import { defineConfig } from '@playwright/test';
import { chromiumLaunch, E2E_PORT } from './e2e/fixtures';

const baseURL = `http://127.0.0.1:${E2E_PORT}`;

export default defineConfig({
  testDir: 'e2e',
  testMatch: '*.spec.ts',
  outputDir: 'test-results',
  timeout: 180_000,
  expect: { timeout: 15_000 },
  // The machine is small and SwiftShader is CPU-bound: one browser at a time.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL,
    headless: true,
    viewport: { width: 1280, height: 720 },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    { name: 'webgpu', testMatch: ['page.spec.ts', 'lab.spec.ts', 'embed.spec.ts', 'csp.spec.ts'], use: { browserName: 'chromium', launchOptions: chromiumLaunch({ webgpu: true }) } },
    { name: 'no-webgpu', testMatch: 'no-webgpu.spec.ts', use: { browserName: 'chromium', launchOptions: chromiumLaunch({ webgpu: false }) } },
  ],
  webServer: {
    command: `npx vite --host 127.0.0.1 --port ${E2E_PORT} --strictPort`,
    url: baseURL,
    reuseExistingServer: !process.env.CI,
    timeout: 120_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
