// Saving a run: config, learning state (exportMask('state') bytes: logits, Adam moments, step),
// metrics rows and evaluations. LabRunner saves through a RunStore: `indexedDbStore` on the page
// (plain IndexedDB API, no wrapper library), which survives a reload and runs in the engine worker
// (IndexedDB exists in workers) so the page's main thread never clones the megabytes of logits;
// `memoryStore()` headless, enough to resume after a lost device.
//
// One record under one key. It is stored as bytes with their length and CRC-32: a partial write or
// a corrupted entry is detected on reading, reported and deleted — never a crash loop on reload.
import type { StepMetrics } from '../sparsity/learner';
import { crc32 } from '../sparsity/maskfile';
import type { ExperimentConfig } from './config';
import type { EvaluationEvent } from './session';

export const SAVE_VERSION = 1;
const MAGIC = 0x5653_4c4d; // 'MLSV' little-endian
const DB_NAME = 'maskllm-lab';
const STORE = 'runs';
const KEY = 'current';

export interface SavedRun {
  savedAt: number;
  config: ExperimentConfig;
  step: number;
  /** exportMask('state') bytes */
  state: Uint8Array;
  metrics: StepMetrics[];
  evaluations: EvaluationEvent[];
}

export interface StoredEntry {
  bytes: Uint8Array;
  length: number;
  crc: number;
}

export class PersistError extends Error {}

/** Where LabRunner keeps the last save of its run (one record). */
export interface RunStore {
  /** Stores the run (replacing the previous one); resolves with the bytes written, once durable. */
  save(run: SavedRun): Promise<number>;
  /** The saved run; `corrupt` (and the record deleted) when it fails its checks; null when none. */
  load(): Promise<{ run: SavedRun } | { corrupt: string } | null>;
  clear(): Promise<void>;
}

/** What the resume offer shows of a saved run. */
export interface SavedRunInfo {
  model: string;
  step: number;
  totalSteps: number;
  savedAt: number;
  metricsRows: number;
}

export type SavedLookup = { saved: SavedRunInfo } | { corrupt: string } | { none: true; unavailable?: string };

/** Layout: magic u32, version u32, header length u32, JSON header, state bytes. */
export function encodeSaved(run: SavedRun): StoredEntry {
  const header = new TextEncoder().encode(
    JSON.stringify({
      savedAt: run.savedAt,
      config: run.config,
      step: run.step,
      metrics: run.metrics,
      evaluations: run.evaluations,
      stateLength: run.state.length,
    }),
  );
  const bytes = new Uint8Array(12 + header.length + run.state.length);
  const dv = new DataView(bytes.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, SAVE_VERSION, true);
  dv.setUint32(8, header.length, true);
  bytes.set(header, 12);
  bytes.set(run.state, 12 + header.length);
  return { bytes, length: bytes.length, crc: crc32(bytes) };
}

/** Checks length, CRC and structure; throws a PersistError naming what is wrong. */
export function decodeSaved(entry: unknown): SavedRun {
  const e = entry as Partial<StoredEntry> | null;
  if (!e || !(e.bytes instanceof Uint8Array) || typeof e.length !== 'number' || typeof e.crc !== 'number')
    throw new PersistError('the saved run is not a {bytes, length, crc} record');
  const b = e.bytes;
  if (b.length !== e.length) throw new PersistError(`the saved run is partial: ${b.length} bytes of ${e.length}`);
  if (crc32(b) !== e.crc) throw new PersistError('the saved run is corrupted (CRC mismatch)');
  if (b.length < 12) throw new PersistError('the saved run is too short for its header');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (dv.getUint32(0, true) !== MAGIC) throw new PersistError('the saved run has a wrong magic number');
  const version = dv.getUint32(4, true);
  if (version !== SAVE_VERSION) throw new PersistError(`the saved run has version ${version}; this page reads version ${SAVE_VERSION}`);
  const hl = dv.getUint32(8, true);
  if (12 + hl > b.length) throw new PersistError('the saved run header runs past its end');
  let h: Record<string, unknown>;
  try {
    h = JSON.parse(new TextDecoder().decode(b.subarray(12, 12 + hl))) as Record<string, unknown>;
  } catch (err) {
    throw new PersistError(`the saved run header is not JSON: ${(err as Error).message}`);
  }
  const state = b.slice(12 + hl);
  if (h.stateLength !== state.length) throw new PersistError(`the saved learning state is ${state.length} bytes, the header says ${String(h.stateLength)}`);
  if (typeof h.config !== 'object' || h.config === null) throw new PersistError('the saved run has no configuration');
  if (!Number.isInteger(h.step) || (h.step as number) < 0) throw new PersistError('the saved run has no valid step');
  if (!Array.isArray(h.metrics) || !Array.isArray(h.evaluations)) throw new PersistError('the saved run has no metrics list');
  return {
    savedAt: Number(h.savedAt) || 0,
    config: h.config as ExperimentConfig,
    step: h.step as number,
    state,
    metrics: h.metrics as StepMetrics[],
    evaluations: h.evaluations as EvaluationEvent[],
  };
}

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    if (typeof indexedDB === 'undefined') return reject(new PersistError('IndexedDB is not available here: the run cannot survive a reload'));
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => {
      if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE);
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new PersistError(`IndexedDB could not be opened: ${req.error?.message ?? 'unknown error'}`));
    req.onblocked = () => reject(new PersistError('IndexedDB is blocked by another tab of the lab'));
  });
}

async function withStore<T>(mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await openDb();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = f(tx.objectStore(STORE));
      let value: T;
      req.onsuccess = () => (value = req.result);
      // resolve on commit, not on request success: a write is only durable then
      tx.oncomplete = () => resolve(value);
      tx.onerror = () => reject(new PersistError(`IndexedDB ${mode} failed: ${tx.error?.message ?? 'unknown error'}`));
      tx.onabort = () => reject(new PersistError(`IndexedDB ${mode} aborted: ${tx.error?.message ?? 'quota exceeded?'}`));
    });
  } finally {
    db.close();
  }
}

export async function saveRun(run: SavedRun): Promise<number> {
  const entry = encodeSaved(run);
  await withStore('readwrite', (s) => s.put(entry, KEY));
  return entry.length;
}

/** The saved run; `corrupt` (and the entry deleted) when it fails its checks; null when none. */
export async function loadRun(): Promise<{ run: SavedRun } | { corrupt: string } | null> {
  const raw = await withStore<unknown>('readonly', (s) => s.get(KEY));
  if (raw === undefined) return null;
  try {
    return { run: decodeSaved(raw) };
  } catch (e) {
    await clearRun();
    return { corrupt: (e as Error).message };
  }
}

export async function clearRun(): Promise<void> {
  await withStore('readwrite', (s) => s.delete(KEY));
}

/** The page's store: IndexedDB, kept across reloads. */
export const indexedDbStore: RunStore = { save: saveRun, load: loadRun, clear: clearRun };

/** A store in memory (headless): the encoded record, so a resume reads exactly what a reload would. */
export function memoryStore(): RunStore {
  let entry: StoredEntry | null = null;
  return {
    async save(run) {
      entry = encodeSaved(run);
      return entry.length;
    },
    async load() {
      if (!entry) return null;
      try {
        return { run: decodeSaved(entry) };
      } catch (e) {
        entry = null;
        return { corrupt: (e as Error).message };
      }
    },
    async clear() {
      entry = null;
    },
  };
}

/** For tests: store an arbitrary value under the run key (e.g. a corrupted entry). */
export async function putRawEntry(value: unknown): Promise<void> {
  await withStore('readwrite', (s) => s.put(value, KEY));
}
