#!/usr/bin/env python3
"""Independent numpy reference of SparseGPT for N:M masks (used by tests/node/baselines.test.ts).

Reads JSON from stdin:
  {"rows": out, "cols": in, "n": keep per group, "m": group size, "blockSize": int,
   "percDamp": float, "update": bool, "w": [out*in floats, row-major [out, in]], "h": [in*in floats]}
Writes JSON to stdout: {"mask": [0/1 ...], "weight": [...], "error": float}, both [out, in] row-major.

Written from the paper's algorithm (Frantar & Alistarh 2023, Algorithm 1 + the reference code's
N:M branch), vectorised over rows, and on purpose by a different route to U than the TypeScript
port: U = cholesky(inv(H))ᵀ with numpy's LAPACK inverse instead of a Cholesky-based inverse.
"""
import json
import sys

import numpy as np


def sparsegpt(W, H, n, m, blocksize, percdamp, update):
    W = W.astype(np.float64).copy()
    H = H.astype(np.float64).copy()
    rows, cols = W.shape
    dead = np.diag(H) == 0
    H[dead, dead] = 1.0
    W[:, dead] = 0.0
    H[np.diag_indices(cols)] += percdamp * np.mean(np.diag(H))
    U = np.linalg.cholesky(np.linalg.inv(H)).T  # upper, UᵀU = H⁻¹
    Ud = np.diag(U)

    keep = np.zeros((rows, cols), dtype=bool)
    Q = W.copy()
    loss = 0.0
    for b0 in range(0, cols, blocksize):
        b1 = min(b0 + blocksize, cols)
        W1 = W[:, b0:b1].copy()
        E1 = np.zeros_like(W1)
        for i in range(b1 - b0):
            c = b0 + i
            if c % m == 0:
                score = W1[:, i:i + m] ** 2 / Ud[c:c + m][None, :] ** 2
                # Stable sort on −score: ties keep the lower column, like the TypeScript port.
                order = np.argsort(-score, axis=1, kind="stable")[:, :n]
                np.put_along_axis(keep[:, c:c + m], order, True, axis=1)
            w = W1[:, i]
            q = np.where(keep[:, c], w, 0.0)
            e = (w - q) / Ud[c]
            loss += float(np.sum(e ** 2)) / 2
            Q[:, c] = q
            E1[:, i] = e
            if update:
                W1[:, i:] -= np.outer(e, U[c, b0 + i:b1])
        if update:
            W[:, b1:] -= E1 @ U[b0:b1, b1:]
    weight = Q if update else None
    return keep, weight, loss


def main():
    req = json.load(sys.stdin)
    rows, cols = int(req["rows"]), int(req["cols"])
    W = np.array(req["w"], dtype=np.float64).reshape(rows, cols)
    H = np.array(req["h"], dtype=np.float64).reshape(cols, cols)
    keep, weight, loss = sparsegpt(W, H, int(req["n"]), int(req["m"]), int(req["blockSize"]),
                                   float(req["percDamp"]), bool(req["update"]))
    out = {
        "mask": keep.astype(np.uint8).ravel().tolist(),
        "weight": (weight if weight is not None else W).ravel().tolist(),
        "error": loss,
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
