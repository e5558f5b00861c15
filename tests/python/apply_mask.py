#!/usr/bin/env python3
"""Apply a lab mask file (safetensors, one U8 0/1 tensor per masked weight) to a checkpoint.

Independent of the lab's code. The mask file's metadata (written by the lab's exportMaskSafetensors):
format = "maskllm-mask", version = "1", n, m, model, layouts (JSON {name: "in_out" | "out_in"}) and
crc32 (CRC-32 chained over the mask bytes in name order). Every mask must be exactly N:M along the
weight's INPUT dimension, which depends on how the weight is stored:

* GPT-2 Conv1D, stored [in, out]: each column, split into runs of M consecutive rows;
* torch Linear (ViT), stored [out, in]: each row, split into runs of M consecutive columns.

The layout is decided here from the architecture (not trusted from the file) and must agree with the
file's `layouts` entry.

CLI: apply_mask.py --checkpoint DIR --mask FILE
Prints JSON {n, m, weights, kept, total}; exits 2 with a message when the mask is not valid.
"""
import argparse
import json
import os
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_models  # noqa: E402


class MaskError(Exception):
    pass


def layout_of(model):
    """Storage layout of the model's Linear weights: 'in_out' (GPT-2 Conv1D) or 'out_in' (torch Linear)."""
    return "in_out" if isinstance(model, hf_models.Gpt2) else "out_in"


def read_mask_file(path):
    """Returns (masks {name: uint8 array}, n, m, layouts) after checking format, version, dtypes and CRC."""
    try:
        tensors, meta, dtypes = hf_models.read_safetensors(path)
    except hf_models.ModelError as e:
        raise MaskError(str(e))
    if meta.get("format") != "maskllm-mask":
        raise MaskError(f"{path}: metadata format is {meta.get('format')!r}, expected 'maskllm-mask'")
    if meta.get("version") != "1":
        raise MaskError(f"{path}: mask format version {meta.get('version')!r}, this reader knows '1'")
    try:
        n, m = int(meta["n"]), int(meta["m"])
        layouts = json.loads(meta["layouts"])
    except (KeyError, ValueError) as e:
        raise MaskError(f"{path}: metadata n / m / layouts missing or malformed ({e})")
    if not (1 <= n <= m and m >= 2):
        raise MaskError(f"{path}: {n}:{m} is not an N:M pattern (need 1 <= n <= m, m >= 2)")
    crc = 0
    for name in sorted(tensors):  # code-unit order = the lab's sort for these ASCII names
        if dtypes[name] != "U8":
            raise MaskError(f"{path}: mask {name} has dtype {dtypes[name]}, expected U8")
        crc = zlib.crc32(tensors[name].tobytes(), crc)
    if str(crc) != meta.get("crc32"):
        raise MaskError(f"{path}: CRC mismatch (stored {meta.get('crc32')}, computed {crc})")
    return tensors, n, m, layouts


def check_nm(name, mask, n, m, layout):
    """Raises MaskError unless every group of m consecutive inputs keeps exactly n weights."""
    if mask.ndim != 2:
        raise MaskError(f"{name}: mask shape {list(mask.shape)} is not 2-D")
    bad = np.argwhere((mask != 0) & (mask != 1))
    if len(bad):
        r, c = bad[0]
        raise MaskError(f"{name}: mask value {int(mask[r, c])} at [{r}, {c}] is not 0 or 1")
    out_in = mask if layout == "out_in" else mask.T  # view as [out, in] either way
    rows, cols = out_in.shape
    if cols % m:
        raise MaskError(f"{name}: input dimension {cols} ({layout}) is not a multiple of m={m}")
    kept = out_in.reshape(rows, cols // m, m).sum(axis=2, dtype=np.int64)
    wrong = np.argwhere(kept != n)
    if len(wrong):
        r, g = wrong[0]
        where = f"column {r}, rows {g * m}..{g * m + m - 1}" if layout == "in_out" else f"row {r}, columns {g * m}..{g * m + m - 1}"
        raise MaskError(f"{name}: not {n}:{m} along the input dimension ({layout}): {where} keep {int(kept[r, g])}"
                        f" of {m} ({len(wrong)} bad group(s) in all)")


def apply_masks(model, masks, n, m, file_layouts=None):
    """Checks every mask against the model and multiplies it into model.weights in place."""
    layout = layout_of(model)
    for name, mask in sorted(masks.items()):
        if name not in model.weights:
            raise MaskError(f"mask {name} names no weight of the model")
        w = model.weights[name]
        if w.shape != mask.shape:
            raise MaskError(f"{name}: mask shape {list(mask.shape)} differs from the weight's {list(w.shape)}")
        if file_layouts is not None and file_layouts.get(name) != layout:
            raise MaskError(f"{name}: the file says layout {file_layouts.get(name)!r}, a "
                            f"{type(model).__name__} weight is stored {layout!r}")
        check_nm(name, mask, n, m, layout)
    for name, mask in masks.items():
        model.weights[name] = model.weights[name] * mask
    return layout


def load_and_apply(model, path):
    masks, n, m, layouts = read_mask_file(path)
    apply_masks(model, masks, n, m, layouts)
    return masks, n, m


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", required=True, help="directory with config.json and model.safetensors")
    ap.add_argument("--mask", required=True, help="mask safetensors file")
    args = ap.parse_args()
    try:
        model = hf_models.load(args.checkpoint)
        masks, n, m = load_and_apply(model, args.mask)
    except (MaskError, hf_models.ModelError) as e:
        print(f"apply_mask.py: {e}", file=sys.stderr)
        sys.exit(2)
    kept = int(sum(int(v.sum()) for v in masks.values()))
    total = int(sum(v.size for v in masks.values()))
    print(json.dumps({"n": n, "m": m, "weights": len(masks), "kept": kept, "total": total}))


if __name__ == "__main__":
    main()
