// Where the bundled checkpoints and data come from: fetch() under the page's base URL in the
// browser, the public/ folder in Node. Paths are relative to public/ (e.g. 'data/en.val.bin').
export interface AssetLoader {
  load(path: string, onProgress?: (loaded: number, total: number) => void): Promise<Uint8Array>;
}

/** Bundled models: name → folder under public/checkpoints. */
export const BUNDLED_MODELS = ['tiny-gpt', 'tiny-vit'] as const;
export type BundledModel = (typeof BUNDLED_MODELS)[number];

export class AssetError extends Error {}

export function fetchLoader(base: string): AssetLoader {
  return {
    async load(path, onProgress) {
      // Only our own relative asset paths: never a URL chosen by a message sender.
      if (!/^[a-z0-9][a-z0-9._/-]*$/i.test(path) || path.includes('..')) throw new AssetError(`refusing to load asset path "${path}"`);
      const url = new URL(path, base).href;
      const res = await fetch(url);
      if (!res.ok) throw new AssetError(`could not load ${path}: HTTP ${res.status}`);
      const total = Number(res.headers.get('content-length') ?? 0);
      if (!res.body) return new Uint8Array(await res.arrayBuffer());
      const reader = res.body.getReader();
      const chunks: Uint8Array[] = [];
      let loaded = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        loaded += value.length;
        onProgress?.(loaded, total || loaded);
      }
      const out = new Uint8Array(loaded);
      let o = 0;
      for (const c of chunks) {
        out.set(c, o);
        o += c.length;
      }
      return out;
    },
  };
}
