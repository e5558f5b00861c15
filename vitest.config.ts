import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { chromiumPath, chromiumArgs } from './tools/chromium.mjs';

// Three projects: `node` runs pure TypeScript (CPU twins, RNG, autograd, parsers);
// `browser` runs WGSL kernels in Debian's Chromium on whatever WebGPU adapter it finds;
// `large` runs the slow end-to-end checks (`npm run test:large`, not part of `npm test`).
// REQUIRE_WEBGPU=1 (set by .ci/run) turns a missing adapter into a failure instead of a skip.
const requireWebGPU = process.env.REQUIRE_WEBGPU === '1';
// TEST_SEED replays a failing random seed; the browser tests have no process.env, so it is compiled in.
const testSeed = process.env.TEST_SEED ?? '';

export default defineConfig({
  define: { __REQUIRE_WEBGPU__: JSON.stringify(requireWebGPU), __TEST_SEED__: JSON.stringify(testSeed) },
  // COOP/COEP (as the lab's own servers send, vite.config.ts): the browser project's page is
  // cross-origin isolated, so tests/browser/wasm-threads.test.ts runs the WebAssembly thread pool
  server: { headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['tests/node/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
        },
      },
      {
        // minutes each on the CPU adapter, so not in `npm test`: `npm run test:large`
        extends: true,
        test: {
          name: 'large',
          include: ['tests/large/**/*.test.ts'],
          environment: 'node',
          testTimeout: 1_800_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['tests/browser/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({
              launchOptions: { executablePath: chromiumPath(), args: chromiumArgs() },
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
});
