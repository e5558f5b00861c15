// The driver's file routes (tools/lib/file-routes.ts) with the page's side of them
// (src/embed/remote-files.ts, window.lab.exportMaskTo), on a bare Node server: registered files are
// served byte-exact with their Content-Length, streamed from disk (a 150 MiB file without holding
// it), everything else and every other origin refused; uploads arrive whole or are refused.
import { createHash } from 'node:crypto';
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAutomation } from '../../src/embed/automation';
import { checkpointFileList, fetchRemoteFile, uploadBytes, type RemoteFile } from '../../src/embed/remote-files';
import type { LabControl } from '../../src/embed/types';
import { DEFAULT_CONFIG } from '../../src/lab/config';
import { USER_FILE_LIMITS } from '../../src/lab/files';
import { rngBitsCpu } from '../../src/ops/rng';
import { FILES_PREFIX, FileRoutes } from '../../tools/lib/file-routes';
import { testSeed } from '../helpers/random';

const seed = testSeed();
const MiB = 2 ** 20;

function randomBytes(n: number, stream: number): Uint8Array {
  const words = rngBitsCpu({ seed, stream, offset: 0 }, Math.ceil(n / 4));
  return new Uint8Array(words.buffer, 0, n);
}

let tmp = '';
let server: Server;
let routes: FileRoutes;
let origin = '';

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'file-routes-'));
  server = createServer((req, res) => routes.handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  origin = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  routes = new FileRoutes(origin);
});
afterAll(async () => {
  routes.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(tmp, { recursive: true, force: true });
});

/** A raw request (headers as given, Host included), the body hashed as it streams in, never kept whole. */
function raw(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: Uint8Array; onChunk?: () => void } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; sha256: string; length: number; text: string }> {
  return new Promise((res, rej) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (r) => {
      const h = createHash('sha256');
      let length = 0;
      let text = '';
      r.on('data', (c: Buffer) => {
        h.update(c);
        length += c.length;
        if (text.length < 500) text += c.toString('utf8', 0, Math.min(c.length, 500));
        opts.onChunk?.();
      });
      r.on('end', () => res({ status: r.statusCode ?? 0, headers: r.headers, sha256: h.digest('hex'), length, text }));
      r.on('error', rej);
    });
    req.on('error', rej);
    req.end(opts.body);
  });
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe(`file routes (seed ${seed})`, () => {
  it('serve: a registered file byte-exact with its Content-Length, GET and HEAD, no caching', async () => {
    const n = 1 * MiB + (seed % 4093) + 1;
    const bytes = randomBytes(n, 1);
    const p = join(tmp, 'model.safetensors');
    writeFileSync(p, bytes);
    const f = routes.serve(p);
    expect(f).toMatchObject({ name: 'model.safetensors', size: n, path: p });
    expect(f.url.startsWith(`${origin}${FILES_PREFIX}`)).toBe(true);
    expect(f.url.endsWith('/model.safetensors')).toBe(true);
    const r = await fetch(f.url);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-length')).toBe(String(n));
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
    expect(sha256(new Uint8Array(await r.arrayBuffer()))).toBe(sha256(bytes));
    const head = await raw(f.url, { method: 'HEAD', headers: { host: new URL(origin).host } });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(n));
    expect(head.length).toBe(0);
    // the page's reader: size checked, body read into one buffer of the announced size
    const got = await fetchRemoteFile({ name: f.name, url: f.url, size: f.size }, 'safetensors');
    expect(sha256(got)).toBe(sha256(bytes));
    // two registrations of one file get different, unguessable URLs
    const g = routes.serve(p);
    expect(g.url).not.toBe(f.url);
    expect(g.url.slice(origin.length + FILES_PREFIX.length).split('/')[0]).toMatch(/^[\w-]{32}$/);
    routes.remove(f.url);
    routes.remove(g.url);
    expect((await fetch(f.url)).status).toBe(404);
  });

  it('refuses unregistered paths, other methods, other origins, cross-site requests and a wrong Host', async () => {
    const p = join(tmp, 'mask.safetensors');
    writeFileSync(p, randomBytes(1000, 2));
    const f = routes.serve(p);
    const host = new URL(origin).host;
    const tokenless = `${origin}${FILES_PREFIX}mask.safetensors`;
    const guessed = f.url.replace(/\/__lab-files\/./, (m) => m.slice(0, -1) + (m.endsWith('A') ? 'B' : 'A'));
    for (const url of [tokenless, guessed, `${origin}/`, `${origin}/etc/passwd`, `${origin}${FILES_PREFIX}`, `${origin}${FILES_PREFIX}../../etc/passwd`])
      expect((await raw(url, { headers: { host } })).status, url).toBe(404);
    expect((await raw(f.url, { method: 'POST', headers: { host } })).status).toBe(405);
    expect((await raw(f.url, { method: 'PUT', headers: { host }, body: new Uint8Array(3) })).status).toBe(405);
    const refusedHeaders: Record<string, string>[] = [
      { host, origin: 'http://evil.example' },
      { host, origin: `http://localhost:${new URL(origin).port}` },
      { host, 'sec-fetch-site': 'cross-site' },
      { host, 'sec-fetch-site': 'same-site' },
      { host: `evil.example:${new URL(origin).port}` },
      { host: `localhost:${new URL(origin).port}` },
    ];
    for (const headers of refusedHeaders) {
      const r = await raw(f.url, { headers });
      expect(r.status, JSON.stringify(headers)).toBe(403);
      expect(r.length).toBeLessThan(200);
      expect(r.headers['access-control-allow-origin']).toBeUndefined();
    }
    // the page's own requests pass: same origin, or no Origin at all
    expect((await raw(f.url, { headers: { host, origin, 'sec-fetch-site': 'same-origin' } })).status).toBe(200);
    // a file that changed size since it was registered is refused, not served with a wrong length
    writeFileSync(p, randomBytes(999, 3));
    expect((await raw(f.url, { headers: { host } })).status).toBe(409);
    routes.remove(f.url);
  });

  it('streams a 150 MiB file from disk without holding it in memory', { timeout: 60_000 }, async () => {
    const size = 150 * MiB + (seed % 977);
    const p = join(tmp, 'big.safetensors');
    // sparse (zeros) with seeded bytes at seeded places, so a wrong offset changes the hash; the
    // expected content is built in memory (hashing it is faster than reading the file back)
    const expected = Buffer.alloc(size);
    const fd = openSync(p, 'w+');
    ftruncateSync(fd, size);
    const marks = randomBytes(64 * 8, 4);
    const mark = (at: number, b: Uint8Array) => {
      writeSync(fd, b, 0, b.length, at);
      expected.set(b, at);
    };
    for (let i = 0; i < 64; i++) mark(Math.floor((new Uint32Array(marks.buffer, i * 8, 1)[0] / 2 ** 32) * (size - 4)), marks.subarray(i * 8 + 4, i * 8 + 8));
    mark(size - 4, marks.subarray(0, 4));
    closeSync(fd);
    const want = sha256(expected);

    let sent = 0;
    const f = routes.serve(p, { onProgress: (s, total) => ((sent = s), expect(total).toBe(size)) });
    const base = process.memoryUsage().arrayBuffers;
    let peak = 0;
    const r = await raw(f.url, { headers: { host: new URL(origin).host }, onChunk: () => (peak = Math.max(peak, process.memoryUsage().arrayBuffers - base)) });
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(String(size));
    expect(r.length).toBe(size);
    expect(r.sha256).toBe(want);
    expect(sent).toBe(size);
    // the server reads 64 KiB chunks; holding the file would add its 150 MiB to the buffers in use
    // (the margin is this client's chunks awaiting garbage collection, tens of MiB)
    expect(peak).toBeLessThan(100 * MiB);

    // and the page's reader takes it whole, byte-exact
    const got = await fetchRemoteFile({ name: f.name, url: f.url, size }, 'safetensors');
    expect(Buffer.from(got.buffer, got.byteOffset, got.length).equals(expected)).toBe(true);
    routes.remove(f.url);
    rmSync(p);
  });

  it('exportMaskTo PUTs the exported bytes into an upload slot, once', async () => {
    const n = 3 * MiB + (seed % 1000);
    const mask = randomBytes(n, 5);
    const control = {
      exportMask: async () => mask,
      subscribe: () => () => {},
      getState: async () => ({ state: 'done', step: 0, totalSteps: 0, config: DEFAULT_CONFIG, model: null, engine: 'cpu' }),
    } as unknown as LabControl;
    const lab = createAutomation(control);
    const slot = routes.receive('mask.safetensors', USER_FILE_LIMITS.mask);
    expect(await lab.exportMaskTo('safetensors', slot.url)).toEqual({ bytes: n });
    expect(sha256(await slot.bytes)).toBe(sha256(mask));
    // the slot is gone once used
    expect((await fetch(slot.url, { method: 'PUT', body: new Uint8Array(1) })).status).toBe(404);
    // GET on a slot is not a download
    const s2 = routes.receive('mask.packed', 100);
    expect((await raw(s2.url, { headers: { host: new URL(origin).host } })).status).toBe(405);
    routes.remove(s2.url);
    await expect(s2.bytes).rejects.toThrow(/closed before the file arrived/);
  });

  it('an upload in parts (as the page sends one over 32 MiB) is assembled in order; a part out of order or disagreeing on the size fails the slot', async () => {
    const n = 5 * 1000 + (seed % 997);
    const bytes = randomBytes(n, 6);
    const slot = routes.receive('mask.state', n);
    // parts of 1000 bytes: several PUTs, the last one short
    await uploadBytes(slot.url, bytes, 'mask.state', 1000);
    expect(sha256(await slot.bytes)).toBe(sha256(bytes));
    expect((await fetch(slot.url, { method: 'PUT', body: new Uint8Array(1) })).status).toBe(404);

    const part = (url: string, offset: number, total: number, body: Uint8Array) =>
      fetch(url, { method: 'PUT', body: body as Uint8Array<ArrayBuffer>, headers: { 'X-Lab-Part': `${offset}/${total}` } });
    const skip = routes.receive('mask.state', 100);
    expect((await part(skip.url, 0, 20, new Uint8Array(10))).status).toBe(204);
    expect((await part(skip.url, 15, 20, new Uint8Array(5))).status).toBe(400);
    await expect(skip.bytes).rejects.toThrow(/the part at byte 15 came when byte 10 was expected/);

    const resize = routes.receive('mask.state', 100);
    expect((await part(resize.url, 0, 20, new Uint8Array(10))).status).toBe(204);
    expect((await part(resize.url, 10, 30, new Uint8Array(10))).status).toBe(400);
    await expect(resize.bytes).rejects.toThrow(/this part says the file is 30 bytes, the first said 20/);

    const big = routes.receive('mask.state', 100);
    expect((await part(big.url, 0, 101, new Uint8Array(10))).status).toBe(413);
    await expect(big.bytes).rejects.toThrow(/mask\.state is 101 bytes, more than the 100 allowed/);
  });

  it('refuses an upload over its limit, without a Content-Length, or from another origin', async () => {
    const host = new URL(origin).host;
    const over = routes.receive('mask.state', 1000);
    const r = await raw(over.url, { method: 'PUT', headers: { host, 'content-length': '1001' }, body: new Uint8Array(1001) }).catch(() => null);
    // the server answers 413 at once (the client may see the connection close instead)
    if (r) expect(r.status).toBe(413);
    await expect(over.bytes).rejects.toThrow(/mask\.state is 1001 bytes, more than the 1000 allowed/);

    const chunked = routes.receive('mask.packed', 1000);
    const c = await raw(chunked.url, { method: 'PUT', headers: { host, 'transfer-encoding': 'chunked' }, body: new Uint8Array(10) });
    expect(c.status).toBe(411);
    await expect(chunked.bytes).rejects.toThrow(/Content-Length is required/);

    const foreign = routes.receive('mask.packed', 1000);
    const o = await raw(foreign.url, { method: 'PUT', headers: { host, origin: 'http://evil.example', 'content-length': '3' }, body: new Uint8Array(3) });
    expect(o.status).toBe(403);
    // still open for the page
    const ok = new Uint8Array([9, 8, 7]);
    expect((await fetch(foreign.url, { method: 'PUT', body: ok })).status).toBe(204);
    expect(Array.from(await foreign.bytes)).toEqual([9, 8, 7]);
  });

  it('the page reader checks the size against USER_FILE_LIMITS before fetching, and the announced length', async () => {
    const nowhere: RemoteFile = { name: 'model.safetensors', url: `${origin}${FILES_PREFIX}x/model.safetensors`, size: USER_FILE_LIMITS.safetensors + 1 };
    await expect(fetchRemoteFile(nowhere, 'safetensors')).rejects.toThrow(/may be at most 2\.00 GiB/);
    await expect(fetchRemoteFile({ ...nowhere, size: 0 }, 'safetensors')).rejects.toThrow(/is empty/);
    await expect(fetchRemoteFile({ ...nowhere, size: USER_FILE_LIMITS.mask + 1 }, 'mask')).rejects.toThrow(/mask file may be at most 512\.0 MiB/);
    await expect(fetchRemoteFile({ ...nowhere, size: 10 }, 'safetensors')).rejects.toThrow(/model\.safetensors: the server answered 404/);
    const p = join(tmp, 'small.safetensors');
    writeFileSync(p, randomBytes(100, 6));
    const f = routes.serve(p);
    await expect(fetchRemoteFile({ name: f.name, url: f.url, size: 99 }, 'safetensors')).rejects.toThrow(/sends 100 bytes, expected 99/);
    routes.remove(f.url);
  });

  it('a model is one .safetensors file, or a shard index and its shards (the index first); anything else is named and refused', () => {
    const file = (name: string, size = 10): RemoteFile => ({ name, url: `${origin}/${name}`, size });
    const names = (files: RemoteFile[]) => checkpointFileList(files).map((f) => f.name);
    const INDEX = 'model.safetensors.index.json';
    const [s1, s2] = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    expect(names([file('model.safetensors')])).toEqual(['model.safetensors']);
    expect(names([file(s2), file(INDEX), file(s1)])).toEqual([INDEX, s1, s2]);
    expect(() => checkpointFileList([file(INDEX)])).toThrow(/^model\.safetensors\.index\.json came without its shards/);
    expect(() => checkpointFileList([file(s1), file(s2)])).toThrow(
      /^model-00001-of-00002\.safetensors, model-00002-of-00002\.safetensors are shards .* without model\.safetensors\.index\.json/,
    );
    expect(() => checkpointFileList([file('a.safetensors'), file('b.safetensors')])).toThrow(/^Two checkpoints, a\.safetensors, b\.safetensors/);
    expect(() => checkpointFileList([file(INDEX), file(s1), file('config.json')])).toThrow(/\(got config\.json: not a weight file\)$/);
    expect(() => checkpointFileList([file(INDEX), file(INDEX)])).toThrow(/^Two files are named model\.safetensors\.index\.json/);
    // sizes: each shard and their sum, before anything is fetched
    const half = USER_FILE_LIMITS.safetensors / 2 + 1;
    expect(() => checkpointFileList([file(INDEX), file(s1, half), file(s2, half)])).toThrow(
      /^The 2 shards hold 2\.00 GiB together: the lab refuses checkpoints over 2 GiB/,
    );
    expect(() => checkpointFileList([file(INDEX), file(s1, USER_FILE_LIMITS.safetensors + 1)])).toThrow(/^model-00001-of-00002\.safetensors is 2\.00 GiB/);
    expect(() => checkpointFileList([file(INDEX, USER_FILE_LIMITS.index + 1), file(s1)])).toThrow(/is 10\.0 MiB: that is not a shard index/);
    expect(() => checkpointFileList([])).toThrow(/got none/);
    expect(() => checkpointFileList([{ name: 'x' } as RemoteFile])).toThrow(/\{ name, url, size \}/);
  });
});
