export function withSharedMemoryImport(bytes: Uint8Array, maxPages: number): Uint8Array<ArrayBuffer>;
