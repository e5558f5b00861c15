import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// WGSL files are imported as text with `?raw` (see src/gpu/shaders.ts).
export default defineConfig({
  plugins: [react()],
  worker: { format: 'es' },
  build: { target: 'es2022', sourcemap: true },
});
