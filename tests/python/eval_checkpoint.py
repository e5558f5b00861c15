#!/usr/bin/env python3
"""Evaluate a lab checkpoint independently of the lab (numpy, float64), optionally with a mask applied.

  eval_checkpoint.py --checkpoint DIR [--mask FILE] --data SHARD [--context 128] [--max-windows N] [--batch B]
                     [--tokenizer bytes|gpt2]

GPT-2 on a text shard, the protocol of public/data/DATA.md: the shard's text is tokenized once, whole
(bytes: the shard's bytes are the tokens; gpt2: the text is decoded as UTF-8 and encoded with
GPT-2's byte-level BPE, tests/python/gpt2_bpe.py), then non-overlapping windows of context+1 tokens
at stride = context, window w = tokens [w*T, w*T+T], W = floor((N-1)/T) windows in order (capped at
--max-windows); every target is scored once. The tokenizer follows the checkpoint's vocab_size
unless --tokenizer names one: 50257 -> gpt2, 256 -> bytes (so does a smaller test vocabulary, whose
shard bytes must all be below it); any other size is refused. Prints
{"loss", "ppl", "bits_per_token", "tokens", "bits_per_byte", "bytes", "tokenizer"}: loss = mean
cross-entropy over all targets (nats), bytes = the UTF-8 bytes the scored targets stand for,
bits_per_byte = total nats / bytes / ln 2 (= bits_per_token for bytes).

ViT on an image shard: pixels normalised as (x/255 - 0.2859) / 0.3531, every image once in order;
prints {"accuracy", "loss", "images"} (top-1; a tie goes to the lower class index).

Exits 2 with a message on a bad checkpoint, mask, shard or tokenizer choice.
"""
import argparse
import json
import math
import os
import struct
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apply_mask  # noqa: E402
import gpt2_bpe  # noqa: E402
import hf_models  # noqa: E402

FMNIST_MEAN = 0.2859
FMNIST_STD = 0.3531
SHARD_HEADER = struct.Struct("<4sHHIIIIII")  # magic, version, kind, count, height, width, classes, payload, crc


class ShardError(Exception):
    pass


def read_shard(path):
    """Returns ('text', uint8 tokens) or ('images', uint8 [count, h, w], uint8 labels, num_classes)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < SHARD_HEADER.size:
        raise ShardError(f"{path}: shorter than the 32-byte shard header")
    magic, version, kind, count, h, w, classes, plen, crc = SHARD_HEADER.unpack_from(data, 0)
    if magic != b"MLSH" or version != 1:
        raise ShardError(f"{path}: not an MLSH version 1 shard (magic {magic!r}, version {version})")
    payload = data[SHARD_HEADER.size:]
    if len(payload) != plen:
        raise ShardError(f"{path}: payload is {len(payload)} bytes, the header says {plen}")
    if zlib.crc32(payload) != crc:
        raise ShardError(f"{path}: payload CRC mismatch")
    arr = np.frombuffer(payload, dtype=np.uint8)
    if kind == 1:
        if count != plen:
            raise ShardError(f"{path}: text count {count} differs from payload length {plen}")
        return ("text", arr)
    if kind == 2:
        if plen != count * (h * w + 1):
            raise ShardError(f"{path}: payload {plen} bytes does not hold {count} images of {h}x{w} + labels")
        images = arr[:count * h * w].reshape(count, h, w)
        labels = arr[count * h * w:]
        if count and labels.max() >= classes:
            raise ShardError(f"{path}: label {int(labels.max())} is not below numClasses {classes}")
        return ("images", images, labels, classes)
    raise ShardError(f"{path}: unknown shard kind {kind}")


TOKENIZER_VOCAB = {"bytes": 256, "gpt2": gpt2_bpe.VOCAB}


def choose_tokenizer(requested, vocab):
    """The tokenizer of a GPT-2 checkpoint's vocabulary: `requested`, checked, or the one its size implies."""
    if requested is None:
        if vocab == gpt2_bpe.VOCAB:
            return "gpt2"
        if vocab <= 256:
            return "bytes"
        raise ShardError(f"the checkpoint's vocab_size {vocab} has no tokenizer here "
                         f"(256: bytes, 50257: GPT-2 BPE; a smaller test vocabulary: bytes)")
    if requested == "gpt2" and vocab != gpt2_bpe.VOCAB:
        raise ShardError(f"--tokenizer gpt2 needs vocab_size 50257, the checkpoint's is {vocab}")
    if requested == "bytes" and vocab > 256:
        raise ShardError(f"--tokenizer bytes needs vocab_size 256 or less, the checkpoint's is {vocab}")
    return requested


def text_tokens(payload, tokenizer):
    """A text shard's bytes -> (int64 token ids, UTF-8 bytes per token id)."""
    if tokenizer == "bytes":
        return payload.astype(np.int64), np.ones(256, dtype=np.int64)
    raw = payload.tobytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ShardError(f"the text shard is not valid UTF-8 ({e}), so it cannot be tokenized")
    try:
        bpe = gpt2_bpe.Gpt2Bpe()
    except gpt2_bpe.BpeError as e:
        raise ShardError(str(e))
    ids = bpe.encode(text)
    if bpe.decode_bytes(ids) != raw:
        raise ShardError("internal error: the GPT-2 tokens do not spell the shard's text")
    return np.array(ids, dtype=np.int64), np.array(bpe.byte_lengths(), dtype=np.int64)


def eval_text(model, tokens, context, max_windows, batch, byte_lengths=None):
    """`tokens` int ids; `byte_lengths[id]` the UTF-8 bytes of each id (None: 1 per token, bytes)."""
    if not isinstance(model, hf_models.Gpt2):
        raise ShardError("a text shard needs a GPT-2 checkpoint")
    if len(tokens) < context + 1:
        raise ShardError(f"need at least context+1 = {context + 1} tokens, the shard has {len(tokens)}")
    windows = (len(tokens) - 1) // context
    if max_windows is not None:
        windows = min(windows, max_windows)
    total, count, nbytes = 0.0, 0, 0
    for w0 in range(0, windows, batch):
        starts = np.arange(w0, min(windows, w0 + batch)) * context
        idx = starts[:, None] + np.arange(context + 1)[None, :]
        win = np.asarray(tokens)[idx].astype(np.int64)  # [b, context+1]
        losses = model.token_losses(win[:, :-1], win[:, 1:])
        total += float(losses.sum())
        count += losses.size
        nbytes += int(byte_lengths[win[:, 1:]].sum()) if byte_lengths is not None else losses.size
    loss = total / count
    return {"loss": loss, "ppl": math.exp(loss), "bits_per_token": loss / math.log(2), "tokens": count,
            "bits_per_byte": total / nbytes / math.log(2), "bytes": nbytes}


def eval_images(model, images, labels, batch):
    if not isinstance(model, hf_models.Vit):
        raise ShardError("an image shard needs a ViT checkpoint")
    if len(images) == 0:
        raise ShardError("the image shard is empty")
    correct, total = 0, 0.0
    for i0 in range(0, len(images), batch):
        x = images[i0:i0 + batch].astype(np.float64)
        pixels = ((x / 255.0 - FMNIST_MEAN) / FMNIST_STD)[:, None, :, :]  # [B, 1, h, w] grey
        y = labels[i0:i0 + batch].astype(np.int64)
        z = model.logits(pixels)
        correct += int((z.argmax(axis=1) == y).sum())  # argmax takes the first maximum
        total += float(hf_models.cross_entropy(z, y).sum())
    return {"accuracy": correct / len(images), "loss": total / len(images), "images": int(len(images))}


def main():
    ap = argparse.ArgumentParser(description="Independent float64 evaluation of a lab checkpoint.")
    ap.add_argument("--checkpoint", required=True, help="directory with config.json and model.safetensors")
    ap.add_argument("--mask", help="mask safetensors file exported by the lab")
    ap.add_argument("--data", required=True, help="MLSH shard (text for GPT-2, images for ViT)")
    ap.add_argument("--context", type=int, default=128, help="window length T for text (default 128)")
    ap.add_argument("--max-windows", type=int, help="evaluate only the first N text windows")
    ap.add_argument("--batch", type=int, default=32, help="windows / images per forward pass (default 32)")
    ap.add_argument("--tokenizer", choices=sorted(TOKENIZER_VOCAB),
                    help="text tokenizer (default: from vocab_size: 50257 -> gpt2, 256 -> bytes)")
    args = ap.parse_args()
    if args.context < 1 or args.batch < 1 or (args.max_windows is not None and args.max_windows < 1):
        ap.error("--context, --batch and --max-windows must be positive")
    try:
        shard = read_shard(args.data)
        tokenizer = None
        if shard[0] == "text":
            # decided from config.json before the weights are read, so a wrong size fails fast
            config = hf_models.read_config(args.checkpoint)
            if config.get("model_type") != "gpt2":
                raise ShardError("a text shard needs a GPT-2 checkpoint")
            vocab = config.get("vocab_size")
            if not isinstance(vocab, int) or isinstance(vocab, bool) or vocab < 1:
                raise ShardError(f"config.json vocab_size {vocab!r} is not a positive integer")
            tokenizer = choose_tokenizer(args.tokenizer, vocab)
        model = hf_models.load(args.checkpoint)
        if args.mask:
            apply_mask.load_and_apply(model, args.mask)
        if shard[0] == "text":
            tokens, byte_lengths = text_tokens(shard[1], tokenizer)
            result = eval_text(model, tokens, args.context, args.max_windows, args.batch, byte_lengths)
            result["tokenizer"] = tokenizer
        else:
            result = eval_images(model, shard[1], shard[2], args.batch)
    except (hf_models.ModelError, apply_mask.MaskError, ShardError, OSError) as e:
        print(f"eval_checkpoint.py: {e}", file=sys.stderr)
        sys.exit(2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
