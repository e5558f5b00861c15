// An AssetLoader for Node: the bundled checkpoints and data shards read from public/ on disk, with
// the same path rules as the page's fetchLoader (relative asset paths only, no '..').
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AssetError, type AssetLoader } from '../../src/lab/assets';

export function nodeAssets(root = resolve(import.meta.dirname, '../../public')): AssetLoader {
  return {
    async load(path, onProgress) {
      if (!/^[a-z0-9][a-z0-9._/-]*$/i.test(path) || path.includes('..')) throw new AssetError(`refusing to load asset path "${path}"`);
      const file = join(root, path);
      let size: number;
      try {
        size = (await stat(file)).size;
      } catch {
        throw new AssetError(`no asset ${path} (looked for ${file})`);
      }
      const buf = await readFile(file);
      onProgress?.(size, size);
      // a Uint8Array of its own (a Buffer may be a view into Node's shared pool)
      return new Uint8Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    },
  };
}
