// End-to-end tests of the lab page in Debian's Chromium (headless). Two servers: the Vite dev server
// (page, embed, lesson and no-WebGPU specs) and the production build served by `vite preview` — the
// page `npm start` serves — for the mask-learning flow, whose main-thread budget is measured on what
// ships (React's development build is several times slower). Projects: with WebGPU (SwiftShader
// here) and without it (no --enable-unsafe-webgpu).
import { defineConfig } from '@playwright/test';
import { chromiumLaunch, E2E_BUILT_PORT, E2E_PORT } from './e2e/fixtures';

const baseURL = `http://127.0.0.1:${E2E_PORT}`;
const builtURL = `http://127.0.0.1:${E2E_BUILT_PORT}`;

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
    {
      name: 'webgpu',
      testMatch: ['page.spec.ts', 'embed.spec.ts', 'csp.spec.ts', 'model-files.spec.ts'],
      use: { browserName: 'chromium', launchOptions: chromiumLaunch({ webgpu: true }) },
    },
    {
      name: 'webgpu-built',
      testMatch: ['lab.spec.ts', 'group-view.spec.ts', 'tour.spec.ts', 'layout.spec.ts', 'first-step.spec.ts', 'layer-map.spec.ts'],
      use: { baseURL: builtURL, browserName: 'chromium', launchOptions: chromiumLaunch({ webgpu: true }) },
    },
    { name: 'no-webgpu', testMatch: 'no-webgpu.spec.ts', use: { browserName: 'chromium', launchOptions: chromiumLaunch({ webgpu: false }) } },
  ],
  webServer: [
    {
      command: `npx vite --host 127.0.0.1 --port ${E2E_PORT} --strictPort`,
      url: baseURL,
      reuseExistingServer: !process.env.CI,
      timeout: 120_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
    {
      // a fresh build every run (a stale dist-e2e would test old code)
      command: `npx vite build --outDir dist-e2e --emptyOutDir --logLevel warn && npx vite preview --outDir dist-e2e --host 127.0.0.1 --port ${E2E_BUILT_PORT} --strictPort`,
      url: builtURL,
      reuseExistingServer: false,
      timeout: 400_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
  ],
});
