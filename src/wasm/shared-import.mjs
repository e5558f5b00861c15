// The shared-memory build of a kernel module, derived from its unshared build: the two differ only in
// the limits of the `env.memory` import (asc --sharedMemory --maximumMemory N declares it shared with
// maximum N; the code is the same). So src/wasm/generated/ keeps only the unshared modules and the
// loader rewrites the import for the thread pool; tools/build-wasm.mjs compiles the shared build with
// asc too and refuses to write anything unless this rewrite gives it byte for byte.
// Plain JavaScript (with shared-import.d.mts) so that the build script, run by bare Node, can import it.

/** Unsigned LEB128 at `i`: [value, next index]. */
function readLeb(bytes, i) {
  let v = 0,
    shift = 0,
    b;
  do {
    b = bytes[i++];
    v += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return [v, i];
}

function leb(v) {
  const out = [];
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
}

function skipName(bytes, i) {
  const [len, j] = readLeb(bytes, i);
  return j + len;
}

/**
 * `bytes` (a module whose imported memory is unshared, limits without a maximum) with that import
 * declared shared with maximum `maxPages`; a module that imports no memory is returned as it is.
 */
export function withSharedMemoryImport(bytes, maxPages) {
  let i = 8; // magic, version
  while (i < bytes.length) {
    const id = bytes[i];
    const [size, body] = readLeb(bytes, i + 1);
    const end = body + size;
    if (id === 2) {
      // the import section: count, then (module name, field name, kind, description) entries
      let [count, p] = readLeb(bytes, body);
      for (; count > 0; count--) {
        p = skipName(bytes, skipName(bytes, p));
        const kind = bytes[p++];
        if (kind === 0)
          p = readLeb(bytes, p)[1]; // function: type index
        else if (kind === 1) {
          p++; // table: reference type, then limits
          const flags = bytes[p++];
          p = readLeb(bytes, p)[1];
          if (flags & 1) p = readLeb(bytes, p)[1];
        } else if (kind === 3)
          p += 2; // global: value type, mutability
        else if (kind === 2) {
          const flags = bytes[p];
          if (flags !== 0) throw new Error(`withSharedMemoryImport: the memory import already has limits flags ${flags}`);
          const [min, q] = readLeb(bytes, p + 1);
          const limits = [0x03, ...leb(min), ...leb(maxPages)]; // shared, with a maximum
          const section = [...bytes.subarray(body, p), ...limits, ...bytes.subarray(q, end)];
          return new Uint8Array([...bytes.subarray(0, i), 2, ...leb(section.length), ...section, ...bytes.subarray(end)]);
        } else throw new Error(`withSharedMemoryImport: unknown import kind ${kind}`);
      }
    }
    i = end;
  }
  return bytes;
}
