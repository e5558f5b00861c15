// A strict check that bytes are a complete PNG: signature, IHDR first (13 bytes, non-zero size),
// every chunk's CRC-32 (over type and data), at least one IDAT, IEND last with nothing after it.
import { crc32 } from '../../src/sparsity/maskfile';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function checkPng(bytes: Uint8Array): { width: number; height: number } {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) throw new Error('not a PNG (bad signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 8;
  let first = true;
  let idat = 0;
  let size: { width: number; height: number } | null = null;
  for (;;) {
    if (o + 12 > bytes.length) throw new Error(`PNG truncated at byte ${o}`);
    const len = view.getUint32(o);
    if (o + 12 + len > bytes.length) throw new Error(`PNG chunk at byte ${o} runs past the end`);
    const type = String.fromCharCode(...bytes.subarray(o + 4, o + 8));
    const stored = view.getUint32(o + 8 + len);
    const crc = crc32(bytes.subarray(o + 4, o + 8 + len));
    if (crc !== stored) throw new Error(`PNG chunk ${type} at byte ${o}: CRC mismatch`);
    if (first) {
      if (type !== 'IHDR' || len !== 13) throw new Error('PNG does not start with a 13-byte IHDR');
      size = { width: view.getUint32(o + 8), height: view.getUint32(o + 12) };
      if (!size.width || !size.height) throw new Error('PNG has a zero width or height');
      first = false;
    }
    if (type === 'IDAT') idat++;
    o += 12 + len;
    if (type === 'IEND') {
      if (o !== bytes.length) throw new Error('PNG has bytes after IEND');
      if (!idat) throw new Error('PNG has no image data');
      return size!;
    }
  }
}
