// Tuned kernel picks in Node (the `kernels` setting): one JSON file per user, keyed inside by adapter
// and lab version (src/gpu/autotune.ts tuneCacheKey). MASKLLM_TUNE_CACHE overrides the path.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TuneStorage } from '../../src/gpu/autotune';

export const TUNE_CACHE_PATH = process.env.MASKLLM_TUNE_CACHE ?? join(homedir(), '.cache', 'maskllm-lab', 'kernel-picks.json');

export function fileTuneStorage(path = TUNE_CACHE_PATH): TuneStorage {
  const readAll = (): Record<string, unknown> => {
    try {
      const j: unknown = JSON.parse(readFileSync(path, 'utf8'));
      return typeof j === 'object' && j !== null && !Array.isArray(j) ? (j as Record<string, unknown>) : {};
    } catch {
      return {}; // missing or unreadable: an empty cache (tuned again)
    }
  };
  return {
    get: async (key) => readAll()[key],
    set: async (key, value) => {
      const all = { ...readAll(), [key]: value };
      mkdirSync(dirname(path), { recursive: true });
      // write then rename: a concurrent reader never sees half a file
      writeFileSync(`${path}.${process.pid}.tmp`, JSON.stringify(all, null, 1));
      renameSync(`${path}.${process.pid}.tmp`, path);
    },
  };
}
