// Size checks on files the user opens, made from File.size *before* file.arrayBuffer() reads them
// into memory: a 40 GB file picked by mistake must be refused, not crash the tab.
//
// The parsers check the contents afterwards; this only bounds what we are willing to read.

export type UserFileKind = 'safetensors' | 'config' | 'index' | 'mask' | 'state';

export class FileSizeError extends Error {
  override name = 'FileSizeError';
  constructor(
    message: string,
    readonly file: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super(message);
  }
}

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/**
 * Largest accepted size per kind — the one table: the page's checkpoint picker (sortModelFiles in
 * lab/model-files.ts), the prior-mask picker (ui/components/ConfigPanel.tsx) and the headless
 * fetches read it. safetensors: 2 GiB for one file (a typed array over one ArrayBuffer) and for a
 * sharded checkpoint's shards together (a browser tab cannot hold the weights and the learning
 * state beyond that); config.json: 10 MiB (real ones are ~1 KiB, ViT id2label with 1000 classes
 * ~30 KiB); the shard index (model.safetensors.index.json): 10 MiB (a GPT-2's is a few KiB); mask
 * files: 512 MiB (U8, one byte per masked weight: GPT-2 small's is ~81 MiB); learning state: 2 GiB
 * (three f32 arrays per candidate logit: ~18 bytes per masked weight at 2:4, 1.53 GB for GPT-2
 * small's 85 M masked weights; one ArrayBuffer).
 */
export const USER_FILE_LIMITS: Record<UserFileKind, number> = {
  safetensors: 2 * GiB,
  config: 10 * MiB,
  index: 10 * MiB,
  mask: 512 * MiB,
  state: 2 * GiB,
};

const WHAT: Record<UserFileKind, string> = {
  safetensors: 'model weights (.safetensors)',
  config: 'model config (config.json)',
  index: 'shard index (model.safetensors.index.json)',
  mask: 'mask file',
  state: 'saved learning state',
};

function human(bytes: number): string {
  if (bytes >= GiB) return `${(bytes / GiB).toFixed(2)} GiB`;
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

/** Throws a FileSizeError naming the file, its size and the limit when it must not be read. */
export function checkUserFile(file: { name: string; size: number }, kind: UserFileKind): void {
  const limit = USER_FILE_LIMITS[kind];
  if (limit === undefined) throw new TypeError(`checkUserFile: unknown file kind ${JSON.stringify(kind)} (safetensors, config, index, mask or state)`);
  const name = typeof file?.name === 'string' && file.name ? file.name : '(unnamed file)';
  const size = file?.size;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) {
    throw new FileSizeError(`"${name}": the file size ${String(size)} is not a byte count; cannot open it as the ${WHAT[kind]}.`, name, Number.NaN, limit);
  }
  if (size === 0) throw new FileSizeError(`"${name}" is empty (0 bytes); it cannot be the ${WHAT[kind]}.`, name, 0, limit);
  if (size > limit) {
    throw new FileSizeError(
      `"${name}" is ${human(size)} (${size} bytes); the ${WHAT[kind]} may be at most ${human(limit)} (${limit} bytes). Is this the right file?`,
      name,
      size,
      limit,
    );
  }
}
