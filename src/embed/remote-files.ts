// Files the headless page exchanges with its driver over HTTP (tools/lib/file-routes.ts, mounted on
// the driver's Vite server, so same-origin) instead of through page.evaluate, whose DevTools pipe
// holds 100 MiB: model weights and prior masks are fetched from URLs, exported masks are PUT to one.
import { checkUserFile, type UserFileKind } from '../lab/files';
import { sortWeightFiles } from '../lab/model-files';
import { INDEX_SUFFIX, isWeightFile } from '../models/sharded';

/** A file the driver serves: its name (e.g. model.safetensors), URL and size in bytes. */
export interface RemoteFile {
  name: string;
  url: string;
  size: number;
}

function checkRemoteFile(f: RemoteFile): void {
  if (typeof f !== 'object' || f === null || typeof f.name !== 'string' || typeof f.url !== 'string' || typeof f.size !== 'number')
    throw new TypeError(`a remote file is { name, url, size } (got ${JSON.stringify(f)})`);
}

/**
 * The bytes of `f`: its declared size is checked against USER_FILE_LIMITS[kind] before anything is
 * read, the server must announce that size (Content-Length), and the body is read into one buffer
 * of that size (no second copy) and must fill it exactly.
 */
export async function fetchRemoteFile(f: RemoteFile, kind: UserFileKind, onProgress?: (done: number, total: number) => void): Promise<Uint8Array> {
  checkRemoteFile(f);
  checkUserFile({ name: f.name, size: f.size }, kind);
  const res = await fetch(f.url, { cache: 'no-store' });
  if (!res.ok) throw new Error(`${f.name}: the server answered ${res.status} ${(await res.text()).trim().slice(0, 200)}`);
  const declared = res.headers.get('content-length');
  if (declared === null || Number(declared) !== f.size) {
    await res.body?.cancel();
    throw new Error(`${f.name}: the server sends ${declared === null ? 'no Content-Length' : `${declared} bytes`}, expected ${f.size}`);
  }
  const out = new Uint8Array(f.size);
  const reader = res.body!.getReader();
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (got + value.length > f.size) {
      await reader.cancel();
      throw new Error(`${f.name}: the server sent more than the ${f.size} bytes announced`);
    }
    out.set(value, got);
    got += value.length;
    onProgress?.(got, f.size);
  }
  if (got !== f.size) throw new Error(`${f.name}: received ${got} of ${f.size} bytes`);
  return out;
}

/**
 * Bytes per PUT of an upload. Chromium passes each request body to the DevTools client (the
 * driver's Playwright) as one base64 string in a Network event; V8 strings end at ~512 M characters,
 * so a body over ~384 MB would kill the driver (a GPT-2-small learning state is 1.5 GB).
 */
export const UPLOAD_PART_BYTES = 32 * 2 ** 20;

/** PUTs `bytes` to `url` (an upload slot of the driver, tools/lib/file-routes.ts), in parts of `partBytes`, in order. */
export async function uploadBytes(url: string, bytes: Uint8Array, name = url, partBytes = UPLOAD_PART_BYTES): Promise<void> {
  const total = bytes.length;
  let offset = 0;
  do {
    const body = bytes.subarray(offset, Math.min(total, offset + partBytes)) as Uint8Array<ArrayBuffer>;
    const res = await fetch(url, { method: 'PUT', body, cache: 'no-store', headers: { 'X-Lab-Part': `${offset}/${total}` } });
    if (!res.ok) throw new Error(`uploading ${name} failed: the server answered ${res.status} ${(await res.text()).trim().slice(0, 200)}`);
    offset += body.length;
  } while (offset < total);
}

/**
 * A model's weight files as the driver lists them: one `.safetensors` file, or the shard index
 * (`model.safetensors.index.json`) and its `.safetensors` shards; nothing else. Each file and the
 * shards together are checked against USER_FILE_LIMITS (lab/model-files.ts) before anything is
 * fetched. Returns them in fetch order: the index first, then the shards by name.
 */
export function checkpointFileList(files: RemoteFile[]): RemoteFile[] {
  if (!Array.isArray(files) || files.length === 0) throw new TypeError('the model needs its weight files (got none)');
  for (const f of files) checkRemoteFile(f);
  const other = files.filter((f) => !isWeightFile(f.name));
  if (other.length > 0)
    throw new Error(
      `the model's weights are one .safetensors file, or model${INDEX_SUFFIX} and its .safetensors shards (got ${other.map((f) => f.name).join(', ')}: ${other.length === 1 ? 'not a weight file' : 'not weight files'})`,
    );
  const sorted = sortWeightFiles(files);
  if (typeof sorted === 'string') throw new Error(sorted);
  return sorted.index ? [sorted.index, ...sorted.weights] : sorted.weights;
}
