// Files crossing between Node and the headless page over HTTP instead of page.evaluate: the
// checkpoint and the prior mask file go to the page, the exported mask files come back. Chromium's
// DevTools pipe (Playwright's channel to the browser) holds 100 MiB, so a GPT-2 checkpoint (171 MB
// in f16, 498 MB in f32) or its U8 mask (~81 MiB, base64 ~108 MiB) cannot go through it.
//
// FileRoutes is a connect-style request handler that the driver mounts on its own Vite dev server
// (tools/lib/headless-driver.ts), so the files are same-origin for headless.html: no CORS, no
// preflight for the uploads, and a page under the lab's CSP (connect-src 'self') may fetch them.
// Under its prefix it serves only what was registered for the run:
// - serve(path): GET/HEAD of one file on disk under an unguessable URL, streamed from disk
//   (createReadStream, never read whole into Node's memory), with Content-Length, no caching;
//   the file must still have the size it had when registered;
// - receive(name, maxBytes): an upload slot for a file of at most maxBytes, whose bytes resolve the
//   slot's promise: one PUT with a Content-Length, or consecutive PUTs of parts, each with a
//   Content-Length and `X-Lab-Part: <offset>/<total>` (UPLOAD_PART_HEADER), in order. Parts exist
//   because Chromium hands every request body to the DevTools client (Playwright) inside one
//   Network event, as one base64 string: a body over ~384 MB (a GPT-2-small learning state is
//   1.5 GB) exceeds V8's longest string and kills the driver. The page sends 32 MiB parts
//   (src/embed/remote-files.ts uploadBytes);
// anything else under the prefix is 404. Requests must come from the page's origin: a Host other
// than the server's (DNS rebinding), an Origin header of another origin, or a Sec-Fetch-Site other
// than same-origin/none (another site's page, even a no-cors GET) get 403. No
// Access-Control-Allow-Origin is ever sent. Paths outside the prefix go to next() (Vite).
import { randomBytes } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename } from 'node:path';
import { pipeline, Transform } from 'node:stream';

export const FILES_PREFIX = '/__lab-files/';

/** A file registered with serve(): `url` is absolute (the page's origin). */
export interface ServedFile {
  name: string;
  path: string;
  size: number;
  url: string;
}

/** An upload slot from receive(): the page PUTs to `url`; `bytes` resolves with the body. */
export interface UploadSlot {
  name: string;
  url: string;
  maxBytes: number;
  /** Rejects when the upload is refused or broken, or when the slot is removed first. */
  bytes: Promise<Uint8Array>;
}

export interface ServeOptions {
  /** The name in the URL and in messages (default: the file's base name). */
  name?: string;
  /** Bytes handed to the socket so far, after every chunk. */
  onProgress?: (sent: number, size: number) => void;
}

/** `<offset>/<total>` of one part of an upload (see the file comment). */
export const UPLOAD_PART_HEADER = 'x-lab-part';

type Route =
  | { kind: 'file'; file: ServedFile; onProgress?: ServeOptions['onProgress'] }
  | {
      kind: 'upload';
      slot: UploadSlot;
      busy: boolean;
      /** the file being assembled from parts (allocated by the first part) and the bytes received */
      file: Buffer | null;
      got: number;
      resolve: (b: Uint8Array) => void;
      reject: (e: Error) => void;
    };

type Next = (err?: unknown) => void;

export class FileRoutes {
  private readonly routes = new Map<string, Route>();
  private readonly active = new Set<{ destroy(error?: Error): void }>();
  private readonly host: string;

  /** `origin`: the page's origin, e.g. http://127.0.0.1:5173 (the server this handler is mounted on). */
  constructor(readonly origin: string) {
    const u = new URL(origin);
    if (u.origin !== origin) throw new TypeError(`FileRoutes: "${origin}" is not an origin (scheme://host:port, no path)`);
    this.host = u.host;
  }

  private newPath(name: string): string {
    // 192 random bits: the path cannot be guessed by another process or page
    return `${FILES_PREFIX}${randomBytes(24).toString('base64url')}/${encodeURIComponent(name)}`;
  }

  /** Registers a file on disk (it must exist and be a file; its size now is the size served). */
  serve(path: string, opts: ServeOptions = {}): ServedFile {
    const st = statSync(path);
    if (!st.isFile()) throw new Error(`${path} is not a file`);
    const name = opts.name ?? basename(path);
    const p = this.newPath(name);
    const file: ServedFile = { name, path, size: st.size, url: this.origin + p };
    this.routes.set(p, { kind: 'file', file, onProgress: opts.onProgress });
    return file;
  }

  /** Opens an upload slot for one PUT of at most `maxBytes`. */
  receive(name: string, maxBytes: number): UploadSlot {
    if (!(Number.isSafeInteger(maxBytes) && maxBytes > 0)) throw new RangeError(`FileRoutes.receive: maxBytes must be a positive integer (got ${maxBytes})`);
    const p = this.newPath(name);
    let resolve!: (b: Uint8Array) => void;
    let reject!: (e: Error) => void;
    const bytes = new Promise<Uint8Array>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // a slot nobody awaits (the page failed before uploading) must not become an unhandled rejection
    bytes.catch(() => {});
    const slot: UploadSlot = { name, url: this.origin + p, maxBytes, bytes };
    this.routes.set(p, { kind: 'upload', slot, busy: false, file: null, got: 0, resolve, reject });
    return slot;
  }

  /** Unregisters a URL from serve() or receive(); a pending upload's promise rejects. */
  remove(url: string): void {
    const p = url.startsWith(this.origin) ? url.slice(this.origin.length) : url;
    const r = this.routes.get(p);
    if (!r) return;
    this.routes.delete(p);
    if (r.kind === 'upload') r.reject(new Error(`the upload slot for ${r.slot.name} was closed before the file arrived`));
  }

  /** Unregisters everything and breaks transfers in flight. */
  close(): void {
    for (const p of [...this.routes.keys()]) this.remove(this.origin + p);
    for (const s of this.active) s.destroy(new Error('the file server closed'));
    this.active.clear();
  }

  /** The request handler (connect-style; `next` is called for paths outside the prefix). */
  readonly handle = (req: IncomingMessage, res: ServerResponse, next?: Next): void => {
    const path = (req.url ?? '').split('?')[0];
    if (!path.startsWith(FILES_PREFIX)) {
      if (next) next();
      else reply(res, 404, 'not found');
      return;
    }
    const refused = this.foreign(req);
    if (refused) return reply(res, 403, refused);
    const r = this.routes.get(path);
    if (!r) return reply(res, 404, 'not found');
    if (r.kind === 'file') this.sendFile(req, res, r);
    else this.acceptUpload(req, res, path, r);
  };

  private foreign(req: IncomingMessage): string | null {
    if (req.headers.host !== this.host) return `wrong host ${JSON.stringify(req.headers.host ?? '')}`;
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== this.origin) return `origin ${origin} is not allowed`;
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return `a ${String(site)} request is not allowed`;
    return null;
  }

  private sendFile(req: IncomingMessage, res: ServerResponse, r: Extract<Route, { kind: 'file' }>): void {
    const { file } = r;
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, `${req.method ?? ''} is not allowed`, { Allow: 'GET, HEAD' });
    let size: number;
    try {
      const st = statSync(file.path);
      size = st.isFile() ? st.size : -1;
    } catch {
      size = -1;
    }
    if (size !== file.size) return reply(res, 409, `${file.name} changed on disk since it was registered (${file.size} bytes)`);
    res.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(size),
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    if (req.method === 'HEAD' || size === 0) {
      res.end();
      return;
    }
    // exactly the registered bytes: a file that grew is cut at Content-Length, one that shrank ends
    // early and the client sees a short body
    const source = createReadStream(file.path, { start: 0, end: size - 1 });
    let sent = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        sent += chunk.length;
        r.onProgress?.(sent, size);
        cb(null, chunk);
      },
    });
    this.active.add(source);
    pipeline(source, count, res, () => this.active.delete(source));
  }

  private acceptUpload(req: IncomingMessage, res: ServerResponse, path: string, r: Extract<Route, { kind: 'upload' }>): void {
    const { slot } = r;
    if (req.method !== 'PUT') return reply(res, 405, `${req.method ?? ''} is not allowed`, { Allow: 'PUT' });
    if (r.busy) return reply(res, 409, `${slot.name} is already being uploaded`);
    const header = req.headers['content-length'];
    const length = header !== undefined && /^\d+$/.test(header) ? Number(header) : NaN;
    const fail = (status: number, message: string) => {
      this.routes.delete(path);
      r.reject(new Error(`the upload of ${slot.name} failed: ${message}`));
      reply(res, status, message, { Connection: 'close' });
    };
    if (!Number.isSafeInteger(length)) return fail(411, 'a Content-Length is required');
    // a part: offset/total; a whole file: 0/length
    const part = req.headers[UPLOAD_PART_HEADER];
    const m = typeof part === 'string' ? /^(\d+)\/(\d+)$/.exec(part) : null;
    if (part !== undefined && !m) return fail(400, `${UPLOAD_PART_HEADER} must be <offset>/<total>, got ${JSON.stringify(part)}`);
    const offset = m ? Number(m[1]) : 0;
    const total = m ? Number(m[2]) : length;
    if (!Number.isSafeInteger(total) || total > slot.maxBytes) return fail(413, `${slot.name} is ${total} bytes, more than the ${slot.maxBytes} allowed`);
    if (r.file && total !== r.file.length) return fail(400, `this part says the file is ${total} bytes, the first said ${r.file.length}`);
    if (offset !== r.got) return fail(400, `the part at byte ${offset} came when byte ${r.got} was expected (parts go in order)`);
    if (offset + length > total) return fail(400, `the part at byte ${offset} has ${length} bytes, past the file's ${total}`);
    if (m && length === 0 && total > 0) return fail(400, 'an empty part');
    r.busy = true;
    const buf = (r.file ??= Buffer.allocUnsafe(total));
    const end = offset + length;
    let done = false;
    const finish = (f: () => void) => {
      if (done) return;
      done = true;
      this.active.delete(req);
      f();
    };
    this.active.add(req);
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      if (r.got + chunk.length > end) return finish(() => fail(400, `more bytes than the Content-Length ${length}`));
      chunk.copy(buf, r.got);
      r.got += chunk.length;
    });
    req.on('end', () =>
      finish(() => {
        if (r.got !== end) return fail(400, `received ${r.got - offset} of ${length} bytes`);
        r.busy = false;
        if (r.got === total) {
          this.routes.delete(path);
          r.resolve(new Uint8Array(buf.buffer, buf.byteOffset, total));
        }
        res.writeHead(204, { 'Cache-Control': 'no-store' });
        res.end();
      }),
    );
    req.on('error', (e) => finish(() => fail(400, e.message)));
    req.on('close', () => finish(() => fail(400, `the connection closed after ${r.got - offset} of ${length} bytes`)));
  }
}

function reply(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = Buffer.from(message + '\n', 'utf8');
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(body.length), 'Cache-Control': 'no-store', ...headers });
  res.end(body);
}
