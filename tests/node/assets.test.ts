// fetchLoader (src/lab/assets.ts) is the only way the lab fetches anything at run time: a model name
// or asset path that reaches it from a URL parameter or a postMessage command must never make the
// lab fetch from another origin or outside its own base folder.
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AssetError, fetchLoader } from '../../src/lab/assets';
import { testSeed } from '../helpers/random';

const BASE = 'https://lab.example/maskllm/';

function stubFetch() {
  const urls: string[] = [];
  vi.stubGlobal('fetch', async (url: string) => {
    urls.push(url);
    return new Response(new Uint8Array([1, 2, 3]), { status: 200, headers: { 'content-length': '3' } });
  });
  return urls;
}

afterEach(() => vi.unstubAllGlobals());

describe('fetchLoader: only the lab’s own relative asset paths', () => {
  it('loads a bundled asset under the base URL', async () => {
    const urls = stubFetch();
    const bytes = await fetchLoader(BASE).load('checkpoints/tiny-gpt/config.json');
    expect(Array.from(bytes)).toEqual([1, 2, 3]);
    expect(urls).toEqual(['https://lab.example/maskllm/checkpoints/tiny-gpt/config.json']);
  });

  it.each([
    'checkpoints/https://evil.example/x/config.json', // a "model name" that is a URL
    'https://evil.example/model.safetensors',
    '//evil.example/model.safetensors',
    '/etc/passwd',
    '../secret.json',
    'checkpoints/../../../x',
    'checkpoints/tiny-gpt/..%2F..%2Fx',
    'checkpoints\\..\\x',
    'data:text/plain,hi',
    'javascript:alert(1)',
    '',
    ' checkpoints/tiny-gpt/config.json',
  ])('refuses %j without fetching, naming the path', async (path) => {
    const urls = stubFetch();
    await expect(fetchLoader(BASE).load(path)).rejects.toThrow(AssetError);
    await expect(fetchLoader(BASE).load(path)).rejects.toThrow(`refusing to load asset path "${path}"`);
    expect(urls).toEqual([]);
  });

  it('for 3,000 arbitrary paths: refused, or fetched from the same origin under the base folder', async () => {
    const urls = stubFetch();
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.webUrl(), fc.stringMatching(/^[a-z0-9./:%\\-]{0,40}$/)), async (path) => {
        urls.length = 0;
        try {
          await fetchLoader(BASE).load(path);
        } catch (e) {
          expect(e).toBeInstanceOf(AssetError);
          expect(urls).toEqual([]);
          return;
        }
        expect(urls).toHaveLength(1);
        const u = new URL(urls[0]);
        expect(u.origin).toBe('https://lab.example');
        expect(u.pathname.startsWith('/maskllm/')).toBe(true);
      }),
      { numRuns: 3000, seed: testSeed() },
    );
  });
});
