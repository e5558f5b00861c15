#!/usr/bin/env python3
"""An independent safetensors reader (Python standard library only) for cross-checking our writer.

Usage: read_safetensors.py FILE
Prints one JSON object: header length, metadata, and per tensor its name, dtype, shape, offsets,
sha256 of its bytes and its decoded values (F16/BF16/F32 only). For F32 tensors it also prints the
f16 and bf16 bit patterns Python's own rounding gives (struct 'e' rounds half to even), so the test
can compare them with src/models/dtype.ts. Exits 1 with a message on any format violation.
"""
import hashlib
import json
import math
import struct
import sys

ITEM = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
        "U8": 1, "U16": 2, "U32": 4, "U64": 8, "BOOL": 1}


def die(msg):
    print("read_safetensors.py: " + msg, file=sys.stderr)
    sys.exit(1)


def num(x):
    # JSON has no NaN/Infinity literals: send them as strings JavaScript's Number() understands.
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def f32_to_bf16_bits(x):
    (b,) = struct.unpack("<I", struct.pack("<f", x))
    if (b & 0x7F800000) == 0x7F800000 and (b & 0x7FFFFF):
        return (b >> 16) | 0x40
    lower = b & 0xFFFF
    upper = b >> 16
    if lower > 0x8000 or (lower == 0x8000 and upper & 1):
        upper += 1
    return upper & 0xFFFF


def f32_to_f16_bits(x):
    try:
        return struct.unpack("<H", struct.pack("<e", x))[0]
    except OverflowError:  # |x| rounds beyond 65504: IEEE gives infinity
        return 0xFC00 if x < 0 else 0x7C00


def main():
    if len(sys.argv) != 2:
        die("usage: read_safetensors.py FILE")
    with open(sys.argv[1], "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        die("file shorter than 8 bytes")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        die("header length beyond the file")
    if n % 8 != 0:
        die("header length %d is not a multiple of 8" % n)
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    metadata = header.pop("__metadata__", {})
    spans = sorted((tuple(v["data_offsets"]), k) for k, v in header.items())
    pos = 0
    for (begin, end), name in spans:
        if begin != pos:
            die("tensor %r starts at %d, expected %d" % (name, begin, pos))
        pos = end
    if pos != len(data):
        die("data section has %d bytes, tensors cover %d" % (len(data), pos))
    out = []
    for (begin, end), name in spans:
        info = header[name]
        dtype, shape = info["dtype"], info["shape"]
        count = 1
        for d in shape:
            count *= d
        raw = data[begin:end]
        if count * ITEM[dtype] != len(raw):
            die("tensor %r: size mismatch" % name)
        t = {"name": name, "dtype": dtype, "shape": shape, "offsets": [begin, end],
             "sha256": hashlib.sha256(raw).hexdigest()}
        if dtype == "F32":
            vals = struct.unpack("<%df" % count, raw)
            t["values"] = [num(v) for v in vals]
            t["f16_bits"] = [f32_to_f16_bits(v) for v in vals]
            t["bf16_bits"] = [f32_to_bf16_bits(v) for v in vals]
        elif dtype == "F16":
            t["values"] = [num(v) for v in struct.unpack("<%de" % count, raw)]
        elif dtype == "BF16":
            halves = struct.unpack("<%dH" % count, raw)
            t["values"] = [num(struct.unpack("<f", struct.pack("<I", h << 16))[0]) for h in halves]
        out.append(t)
    print(json.dumps({"header_len": n, "data_len": len(data), "metadata": metadata, "tensors": out}))


if __name__ == "__main__":
    main()
