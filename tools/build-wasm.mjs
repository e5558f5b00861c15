// `npm run build:wasm`: compiles the AssemblyScript kernels in wasm/ (one file per kernel family)
// with asc, twice per family — SIMD128, and SIMD128 + relaxed SIMD — and writes them as base64 into
// src/wasm/generated/<family>.ts, which every loader (Vite, vitest in Node and Chromium, tsx tools)
// imports as plain TypeScript. The generated files are committed; tests/node/wasm-build.test.ts
// rebuilds them with buildAll() and checks they are identical byte for byte. Each family is also
// built for a shared memory (the thread pool, src/wasm/pool.ts), only to check that the loader's
// rewrite of the memory import (src/wasm/shared-import.mjs) gives exactly that module.
//
// `node tools/build-wasm.mjs --check`: rebuild in memory, exit 1 naming every file that differs.
import asc from 'assemblyscript/asc';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withSharedMemoryImport } from '../src/wasm/shared-import.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The kernel families, in wasm/<name>.ts. */
export const FAMILIES = ['matmul', 'attention', 'rows', 'sampling'];
/** Flags common to both variants (see the issue: -O3, stub runtime, no assertions, memory from JS). */
const COMMON = ['-O3', '--runtime', 'stub', '--noAssert', '--importMemory', '--noExportMemory'];
const VARIANTS = { simd: ['--enable', 'simd'], relaxed: ['--enable', 'simd,relaxed-simd'] };
/**
 * The shared-memory build of a variant: the memory import is declared `shared` with a maximum, for the
 * thread pool's one WebAssembly.Memory that every worker instantiates the same modules on.
 *
 * Traps: an import matches only a memory of the same sharedness (an unshared module refuses a shared
 * memory and the reverse), so both builds are kept — a shared memory needs SharedArrayBuffer, which a
 * browser gives only to a cross-origin-isolated page. A shared memory must declare a maximum, and the
 * memory JS creates must have a maximum no larger than the declared one: SHARED_MAX_PAGES here and
 * src/wasm/load.ts's SHARED_MAX_PAGES are the same number (4 GiB, memory32's limit; JS may ask for less).
 */
export const SHARED_MAX_PAGES = 65536;
const SHARED = ['--enable', 'threads', '--sharedMemory', '--maximumMemory', String(SHARED_MAX_PAGES)];

/** Section ids of a module (wasm binary format: magic, version, then id + LEB128 size + payload). */
function sectionIds(bytes) {
  const ids = [];
  let i = 8;
  while (i < bytes.length) {
    const id = bytes[i++];
    let size = 0,
      shift = 0,
      b;
    do {
      b = bytes[i++];
      size |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    ids.push(id);
    i += size;
  }
  return ids;
}

async function compile(family, variant, shared) {
  const file = `wasm/${family}.ts`;
  // asc merges repeated --enable flags
  const flags = [...COMMON, ...VARIANTS[variant], ...(shared ? SHARED : [])];
  let binary = null;
  const stderr = [];
  const { error } = await asc.main([file, ...flags, '--outFile', 'out.wasm'], {
    readFile: (name, base) => {
      try {
        return readFileSync(join(root, base ?? '', name), 'utf8');
      } catch {
        return null;
      }
    },
    writeFile: (name, contents) => {
      if (name.endsWith('.wasm')) binary = contents;
    },
    listFiles: () => [],
    stderr: { write: (s) => stderr.push(String(s)) },
    stdout: { write: () => {} },
  });
  const what = `${file} (${variant}${shared ? ', shared memory' : ''})`;
  if (error || !binary) throw new Error(`asc failed on ${what}: ${error?.message ?? 'no output'}\n${stderr.join('')}`);
  // data section (id 11): static data would be written into the engine's tensors at instantiation
  if (sectionIds(binary).includes(11)) throw new Error(`${what} has static data; kernels must keep everything in their scratch`);
  return binary;
}

const b64 = (bytes) => Buffer.from(bytes).toString('base64');

/** Every generated file: path (relative to the root) → contents. */
export async function buildAll() {
  const files = {};
  for (const family of FAMILIES) {
    const built = {};
    for (const variant of Object.keys(VARIANTS)) built[variant] = await compile(family, variant, false);
    // only the unshared builds are written: the loader derives the shared ones (src/wasm/shared-import.mjs),
    // which must be what asc builds with --sharedMemory, byte for byte (checked on the SIMD128 build:
    // the rewrite touches the import section only, which the variants share)
    const shared = await compile(family, 'simd', true);
    if (Buffer.compare(Buffer.from(withSharedMemoryImport(built.simd, SHARED_MAX_PAGES)), Buffer.from(shared)) !== 0) {
      throw new Error(
        `wasm/${family}.ts: the shared build differs from the unshared one beyond the memory import; src/wasm/shared-import.mjs cannot derive it`,
      );
    }
    const sizes = Object.entries(built).map(([name, bytes]) => `${bytes.length} (${name})`);
    files[`src/wasm/generated/${family}.ts`] = [
      `// Generated by tools/build-wasm.mjs from wasm/${family}.ts (npm run build:wasm); do not edit.`,
      `// Bytes: ${sizes.join(', ')}; base64. The shared-memory builds (the thread pool) are derived at load.`,
      // the shape prettier gives a string (npm run lint checks the tree): on the line if it fits in 160
      ...Object.entries(built).map(([name, bytes]) => {
        const line = `export const ${name} = '${b64(bytes)}';`;
        return line.length <= 160 ? line : `export const ${name} =\n  '${b64(bytes)}';`;
      }),
      '',
    ].join('\n');
  }
  return files;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes('--check');
  const files = await buildAll();
  const stale = [];
  for (const [path, text] of Object.entries(files)) {
    const full = join(root, path);
    if (check) {
      let old = null;
      try {
        old = readFileSync(full, 'utf8');
      } catch {
        /* missing */
      }
      if (old !== text) stale.push(path);
    } else {
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, text);
      console.log(`wrote ${path}`);
    }
  }
  if (stale.length) {
    console.error(`out of date (run npm run build:wasm): ${stale.join(', ')}`);
    process.exit(1);
  }
}
