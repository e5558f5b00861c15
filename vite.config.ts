import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

// WGSL files are imported as text with `?raw`. Pages: the lab (index.html) and the headless entry
// used by the CLI and regression runs (headless.html). The embed client helper is built as its own
// entry so host pages can load it (dist/embed/client.js).

/**
 * Content-Security-Policy of the built lab: no inline or eval'd script. It goes into the built
 * pages as a <meta> (dev mode is left alone: Vite's React refresh injects an inline script), and
 * into `vite preview` as a header together with frame-ancestors, which a <meta> cannot carry;
 * set CSP_FRAME_ANCESTORS (e.g. "'self' https://lessons.example") to let other sites embed the lab.
 * 'unsafe-inline' styles stay allowed for inline style attributes and Plotly's injected styles.
 * 'wasm-unsafe-eval' lets the WebAssembly engine compile its kernels (src/wasm/load.ts): under a bare
 * script-src 'self' Chromium refuses WebAssembly.compile ("violates … 'unsafe-eval' is not an allowed
 * source"); it allows WebAssembly only, not eval or new Function.
 */
export const CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; connect-src 'self'; img-src 'self' data: blob:; " +
  "style-src 'self' 'unsafe-inline'; font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'";
const frameAncestors = process.env.CSP_FRAME_ANCESTORS;

const cspMeta = (): Plugin => ({
  name: 'csp-meta',
  apply: 'build',
  transformIndexHtml: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CSP }, injectTo: 'head-prepend' }],
});

/**
 * Cross-origin isolation for the lab's own page: with these two headers `crossOriginIsolated` is true,
 * so the page (and its engine worker) has SharedArrayBuffer and the WebAssembly engine runs its thread
 * pool (src/wasm/pool.ts). Sent by the dev server (also the CLI tools' server: tools/lib/headless-driver.ts
 * starts Vite with this file) and by `vite preview` (`npm start`). Everything the page loads is its own
 * origin (models opened from disk are files, not fetches), so require-corp blocks nothing. An embedded
 * lab is not isolated (its host page would have to be isolated too and delegate it), so it runs on one
 * thread and says so; COOP does not apply inside an iframe, and COEP require-corp on the framed document
 * does not stop a host without COEP from framing it.
 */
export const ISOLATION_HEADERS = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } as const;

export default defineConfig({
  plugins: [react(), cspMeta()],
  worker: { format: 'es' },
  server: { headers: { ...ISOLATION_HEADERS, ...(frameAncestors ? { 'Content-Security-Policy': `frame-ancestors ${frameAncestors}` } : {}) } },
  preview: { headers: { ...ISOLATION_HEADERS, 'Content-Security-Policy': `${CSP}; frame-ancestors ${frameAncestors ?? "'self'"}` } },
  build: {
    target: 'es2022',
    sourcemap: true,
    rollupOptions: {
      input: { main: 'index.html', headless: 'headless.html', 'embed-client': 'src/embed/client.ts' },
      output: {
        entryFileNames: (chunk) => (chunk.name === 'embed-client' ? 'embed/client.js' : 'assets/[name]-[hash].js'),
      },
      preserveEntrySignatures: 'exports-only',
    },
  },
});
