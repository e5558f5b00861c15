// Files the headless page exchanges with its driver over HTTP (tools/lib/file-routes.ts, mounted on
// the driver's Vite server, so same-origin) instead of through page.evaluate, whose DevTools pipe
// holds 100 MiB: model weights and prior masks are fetched from URLs, exported masks are PUT to one.
import { checkUserFile, type UserFileKind } from '../lab/files';

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

/** PUTs `bytes` to `url` (an upload slot of the driver). */
export async function uploadBytes(url: string, bytes: Uint8Array, name = url): Promise<void> {
  const res = await fetch(url, { method: 'PUT', body: bytes as Uint8Array<ArrayBuffer>, cache: 'no-store' });
  if (!res.ok) throw new Error(`uploading ${name} failed: the server answered ${res.status} ${(await res.text()).trim().slice(0, 200)}`);
}

/** The shard index of a sharded Hugging Face checkpoint is named like this. */
export const SHARD_INDEX_SUFFIX = '.safetensors.index.json';

/**
 * A model's weight files: one `.safetensors` file, or a shard index (`model.safetensors.index.json`)
 * and the shards it names. Returns the single file; a sharded checkpoint is refused by name until
 * the lab reads shards (the list shape already carries them).
 */
export function singleCheckpointFile(files: RemoteFile[]): RemoteFile {
  if (!Array.isArray(files) || files.length === 0) throw new TypeError('the model needs its weight files (got none)');
  for (const f of files) checkRemoteFile(f);
  const index = files.find((f) => f.name.endsWith(SHARD_INDEX_SUFFIX));
  const weights = files.filter((f) => f.name.endsWith('.safetensors'));
  if (index)
    throw new Error(
      `${index.name} with ${weights.length} shard(s): the lab cannot read a sharded checkpoint yet; give one .safetensors file (transformers' save_pretrained(dir, max_shard_size="10GB") writes one)`,
    );
  if (weights.length !== 1 || files.length !== 1)
    throw new Error(`the model's weights are one .safetensors file or a shard index with its shards (got ${files.map((f) => f.name).join(', ')})`);
  return weights[0];
}
