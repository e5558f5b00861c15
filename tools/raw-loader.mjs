// Node ESM hooks so `import text from './x.wgsl?raw'` works outside Vite (tools run with tsx).
// Usage: node --import tsx --import ./tools/raw-loader.mjs tools/<script>.ts
import { register } from 'node:module';

register('./raw-hooks.mjs', import.meta.url);
