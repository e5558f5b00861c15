import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// WGSL files are imported as text with `?raw`. Pages: the lab (index.html) and the headless entry
// used by the CLI and regression runs (headless.html). The embed client helper is built as its own
// entry so host pages can load it (dist/embed/client.js).
export default defineConfig({
  plugins: [react()],
  worker: { format: 'es' },
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
