#!/usr/bin/env python3
"""Independent reader for the lab's MLSH data shards (layout: public/data/DATA.md). Standard library only.

Usage: python3 tests/python/read_shards.py FILE [FILE ...]
Prints one JSON object per file (a JSON list), with the header fields, the payload CRC-32 it computed
(zlib.crc32) and the first 16 payload bytes (text) or first 16 labels and first image's first row
(images). Exits with status 1 and a message on the first malformed file.
"""
import json
import struct
import sys
import zlib

HEADER = struct.Struct("<4sHHIIIIII")  # magic, version, kind, count, height, width, numClasses, payload, crc
assert HEADER.size == 32


def read_shard(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < HEADER.size:
        raise ValueError(f"{path}: {len(data)} bytes, shorter than the 32-byte header")
    magic, version, kind, count, height, width, num_classes, payload_len, crc = HEADER.unpack_from(data, 0)
    if magic != b"MLSH":
        raise ValueError(f"{path}: bad magic {magic!r}")
    if version != 1:
        raise ValueError(f"{path}: unsupported version {version}")
    payload = data[HEADER.size:]
    if len(payload) != payload_len:
        raise ValueError(f"{path}: payload is {len(payload)} bytes, header says {payload_len}")
    computed = zlib.crc32(payload) & 0xFFFFFFFF
    if computed != crc:
        raise ValueError(f"{path}: CRC mismatch, header {crc:08x}, computed {computed:08x}")
    out = {"path": path, "version": version, "count": count, "crc32": f"{computed:08x}"}
    if kind == 1:
        if payload_len != count:
            raise ValueError(f"{path}: text count {count} != payload {payload_len}")
        out.update(kind="text", first=list(payload[:16]))
    elif kind == 2:
        pixels = count * height * width
        if payload_len != pixels + count:
            raise ValueError(f"{path}: image payload {payload_len} != {pixels} + {count}")
        labels = payload[pixels:]
        if labels and max(labels) >= num_classes:
            raise ValueError(f"{path}: a label is >= numClasses {num_classes}")
        # Image 0, row 14 (the middle row for 28x28): a pixel check that depends on the row-major layout.
        row = min(14, height - 1) * width
        out.update(
            kind="images",
            height=height,
            width=width,
            numClasses=num_classes,
            firstLabels=list(labels[:16]),
            image0Row=list(payload[row:row + width]),
            labelCounts=[labels.count(c) for c in range(num_classes)],
        )
    else:
        raise ValueError(f"{path}: unknown kind {kind}")
    return out


def main(paths):
    try:
        print(json.dumps([read_shard(p) for p in paths]))
    except ValueError as e:
        print(str(e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
