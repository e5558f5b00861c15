#!/usr/bin/env python3
"""Independent float64 forward passes with Hugging Face transformers semantics (numpy only).

Written from the transformers model definitions' documented behaviour, not from the lab's code, to
check that a lab checkpoint (config.json + model.safetensors) means what transformers would make of it:

* GPT2LMHeadModel: token + learned position embeddings, pre-LayerNorm blocks, Conv1D weights stored
  [in, out] (y = x @ W + b), causal multi-head attention scaled by 1/sqrt(head size), GELU from
  config "activation_function" (gelu_new = tanh form), MLP width n_inner (null = 4 * n_embd), final
  ln_f, LM head tied to wte (tie_word_embeddings, default true; a tied file's lm_head.weight, which
  transformers overwrites, is checked for shape and ignored) or lm_head.weight [vocab, n_embd].
  Files in the hub's layout load as published: names with or without the `transformer.` prefix, any
  float dtype, the causal-mask buffers `h.N.attn.bias` / `h.N.attn.masked_bias` ignored.
* ViTForImageClassification: stride-p Conv2d patch embedding [H, C, p, p], CLS token, learned
  positions, pre-LayerNorm encoder layers with separate query/key/value torch Linears ([out, in],
  y = x @ W.T + b), "gelu" = exact erf GELU, "gelu_new" = tanh form, vit.layernorm, classifier on
  the CLS token.

Everything runs in float64. Tensors are read with our own safetensors parser (F64/F32/F16/BF16, and
the integer types for mask files).
"""
import json
import math
import os
import re
import struct

import numpy as np


class ModelError(Exception):
    """A checkpoint or config that transformers would refuse (or that we do not implement)."""


# ------------------------------------------------------------------------------------------ safetensors

# little-endian numpy dtypes; BF16 is handled separately (numpy has no bfloat16)
_NP = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "U8": "u1", "I8": "i1", "BOOL": "u1",
       "U16": "<u2", "I16": "<i2", "U32": "<u4", "I32": "<i4", "U64": "<u8", "I64": "<i8"}
_SIZE = {"BF16": 2, **{k: np.dtype(v).itemsize for k, v in _NP.items()}}
FLOAT_DTYPES = ("F64", "F32", "F16", "BF16")


def read_safetensors(path):
    """Returns (tensors, metadata, dtypes): tensors maps name -> numpy array in the file's shape
    (floats converted to float64, integers kept), dtypes maps name -> the file's dtype string."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ModelError(f"{path}: {len(blob)} bytes, too short for the 8-byte header length")
    (hlen,) = struct.unpack_from("<Q", blob, 0)
    if hlen > len(blob) - 8:
        raise ModelError(f"{path}: header length {hlen} runs past the end of the {len(blob)}-byte file")
    try:
        header = json.loads(blob[8:8 + hlen].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelError(f"{path}: header is not UTF-8 JSON ({e})")
    if not isinstance(header, dict):
        raise ModelError(f"{path}: header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    data = memoryview(blob)[8 + hlen:]
    tensors, dtypes = {}, {}
    covered = 0
    for name, info in header.items():
        dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in _SIZE:
            raise ModelError(f"{path}: tensor {name!r} has unsupported dtype {dtype}")
        count = 1
        for d in shape:
            count *= d
        if not (0 <= begin <= end <= len(data)) or end - begin != count * _SIZE[dtype]:
            raise ModelError(f"{path}: tensor {name!r} ({dtype} {shape}) has bad data_offsets [{begin}, {end}]"
                             f" (data section {len(data)} bytes)")
        covered += end - begin
        raw = data[begin:end]
        if dtype == "BF16":
            # bfloat16 is the top half of a float32: shift the 16 bits up and reinterpret
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = bits.view("<f4").astype(np.float64)
        elif dtype in FLOAT_DTYPES:
            arr = np.frombuffer(raw, dtype=_NP[dtype]).astype(np.float64)
        else:
            arr = np.frombuffer(raw, dtype=_NP[dtype]).copy()
        tensors[name] = arr.reshape(shape)
        dtypes[name] = dtype
    if covered != len(data):
        raise ModelError(f"{path}: tensors cover {covered} bytes of a {len(data)}-byte data section")
    return tensors, metadata, dtypes


# ------------------------------------------------------------------------------------------ math

def layer_norm(x, w, b, eps):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)  # biased, as torch.nn.LayerNorm
    return (x - mu) / np.sqrt(var + eps) * w + b


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


_erf = np.frompyfunc(math.erf, 1, 1)


def gelu_erf(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64))


ACTIVATIONS = {"gelu_new": gelu_tanh, "gelu_pytorch_tanh": gelu_tanh, "gelu": gelu_erf,
               "relu": lambda x: np.maximum(x, 0.0)}


def activation(name):
    if name not in ACTIVATIONS:
        raise ModelError(f"activation {name!r} is not implemented (have {sorted(ACTIVATIONS)})")
    return ACTIVATIONS[name]


def softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def cross_entropy(logits, targets):
    """Per-row -log softmax(logits)[target], float64. logits [N, K], targets [N] ints."""
    z = logits - logits.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(z).sum(axis=-1))
    return lse - z[np.arange(len(targets)), targets]


def multi_head_attention(q, k, v, heads, causal, scale):
    """q, k, v [B, T, D] -> [B, T, D]; heads split the last dim in contiguous slices (as transformers)."""
    B, T, D = q.shape
    hd = D // heads
    split = lambda t: t.reshape(B, T, heads, hd).transpose(0, 2, 1, 3)  # [B, h, T, hd]
    s = split(q) @ split(k).transpose(0, 1, 3, 2) * scale
    if causal:
        s = np.where(np.tril(np.ones((T, T), dtype=bool)), s, -np.inf)  # the diagonal is always kept
    return (softmax(s) @ split(v)).transpose(0, 2, 1, 3).reshape(B, T, D)


# ------------------------------------------------------------------------------------------ loading

def read_config(directory):
    path = os.path.join(directory, "config.json")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise ModelError(f"cannot read {path}: {e}")


def _take(tensors, expected, optional_prefix="", ignore=()):
    """Strictly map file tensors to the expected {name: shape}; returns {name: float64 array}."""
    out, used = {}, set()
    for name, shape in expected.items():
        key = name if name in tensors else None
        if key is None and optional_prefix and name.startswith(optional_prefix) and name[len(optional_prefix):] in tensors:
            key = name[len(optional_prefix):]  # hub GPT-2 files omit "transformer."
        if key is None:
            raise ModelError(f"checkpoint lacks tensor {name} (shape {list(shape)})")
        t = tensors[key]
        if list(t.shape) != list(shape):
            raise ModelError(f"tensor {key} has shape {list(t.shape)}, the config needs {list(shape)}")
        if t.dtype != np.float64:
            raise ModelError(f"tensor {key} is not a floating-point tensor")
        out[name] = t
        used.add(key)
    extra = [n for n in tensors if n not in used and not any(p(n) for p in ignore)]
    if extra:
        raise ModelError(f"checkpoint has {len(extra)} tensor(s) the model does not use: {', '.join(sorted(extra)[:4])}")
    return out


def load(directory):
    """Reads DIR/config.json and DIR/model.safetensors and returns a Gpt2 or Vit."""
    config = read_config(directory)
    tensors, _, _ = read_safetensors(os.path.join(directory, "model.safetensors"))
    kind = config.get("model_type")
    if kind == "gpt2":
        return Gpt2(config, tensors)
    if kind == "vit":
        return Vit(config, tensors)
    raise ModelError(f"config.json model_type {kind!r} is neither 'gpt2' nor 'vit'")


# ------------------------------------------------------------------------------------------ GPT-2

class Gpt2:
    """GPT2LMHeadModel. `weights` uses the canonical names (with the `transformer.` prefix)."""

    def __init__(self, config, tensors):
        c = config
        self.vocab = c["vocab_size"]
        self.positions = c.get("n_positions", c.get("n_ctx"))
        self.d = c["n_embd"]
        self.layers = c["n_layer"]
        self.heads = c["n_head"]
        self.eps = c.get("layer_norm_epsilon", 1e-5)
        self.act = activation(c.get("activation_function", "gelu_new"))
        self.inner = c.get("n_inner") or 4 * self.d
        self.tied = c.get("tie_word_embeddings", True)
        self.scale_attn = c.get("scale_attn_weights", True)
        self.inverse_layer_scale = c.get("scale_attn_by_inverse_layer_idx", False)
        if c.get("add_cross_attention", False):
            raise ModelError("add_cross_attention is not implemented")
        if self.d % self.heads:
            raise ModelError(f"n_head {self.heads} does not divide n_embd {self.d}")
        D, I = self.d, self.inner
        exp = {"transformer.wte.weight": (self.vocab, D), "transformer.wpe.weight": (self.positions, D)}
        for i in range(self.layers):
            h = f"transformer.h.{i}."
            exp.update({h + "ln_1.weight": (D,), h + "ln_1.bias": (D,),
                        h + "attn.c_attn.weight": (D, 3 * D), h + "attn.c_attn.bias": (3 * D,),
                        h + "attn.c_proj.weight": (D, D), h + "attn.c_proj.bias": (D,),
                        h + "ln_2.weight": (D,), h + "ln_2.bias": (D,),
                        h + "mlp.c_fc.weight": (D, I), h + "mlp.c_fc.bias": (I,),
                        h + "mlp.c_proj.weight": (I, D), h + "mlp.c_proj.bias": (D,)})
        exp.update({"transformer.ln_f.weight": (D,), "transformer.ln_f.bias": (D,)})
        if not self.tied:
            exp["lm_head.weight"] = (self.vocab, D)
        # causal-mask buffers `[transformer.]h.N.attn.bias` [1, 1, P, P] and `...attn.masked_bias` [] (any
        # dtype): not weights. Exactly these names: `attn.c_attn.bias` is a weight, used above.
        ignore = [lambda n: re.fullmatch(r"(transformer\.)?h\.\d+\.attn\.(bias|masked_bias)", n) is not None]
        if self.tied and "lm_head.weight" in tensors:
            # tied: transformers overwrites it with wte, so its values do not matter, but its shape must fit
            if list(tensors["lm_head.weight"].shape) != [self.vocab, D]:
                raise ModelError(f"lm_head.weight has shape {list(tensors['lm_head.weight'].shape)}, "
                                 f"the tied head is [{self.vocab}, {D}]")
            ignore.append(lambda n: n == "lm_head.weight")
        self.weights = _take(tensors, exp, "transformer.", ignore)

    # Conv1D weights are [in, out] (transposed w.r.t. torch Linear): y = x @ W + b
    def _conv1d(self, x, name):
        return x @ self.weights[name + ".weight"] + self.weights[name + ".bias"]

    def hidden(self, ids):
        """ids [B, T] ints -> the final hidden states (after ln_f) [B, T, n_embd]."""
        w = self.weights
        B, T = ids.shape
        if T > self.positions:
            raise ModelError(f"context {T} exceeds n_positions {self.positions}")
        if ids.min() < 0 or ids.max() >= self.vocab:
            raise ModelError(f"token id {int(ids.max())} is outside the vocabulary of {self.vocab}")
        x = w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][np.arange(T)]
        for i in range(self.layers):
            h = f"transformer.h.{i}."
            a = layer_norm(x, w[h + "ln_1.weight"], w[h + "ln_1.bias"], self.eps)
            q, k, v = np.split(self._conv1d(a, h + "attn.c_attn"), 3, axis=-1)
            scale = 1.0 / math.sqrt(self.d // self.heads) if self.scale_attn else 1.0
            if self.inverse_layer_scale:
                scale /= i + 1
            x = x + self._conv1d(multi_head_attention(q, k, v, self.heads, True, scale), h + "attn.c_proj")
            m = layer_norm(x, w[h + "ln_2.weight"], w[h + "ln_2.bias"], self.eps)
            x = x + self._conv1d(self.act(self._conv1d(m, h + "mlp.c_fc")), h + "mlp.c_proj")
        return layer_norm(x, w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], self.eps)

    def head(self):
        """The LM head [vocab, n_embd] (a torch Linear without bias): wte when tied, else lm_head.weight."""
        return self.weights["transformer.wte.weight"] if self.tied else self.weights["lm_head.weight"]

    def logits(self, ids):
        """ids [B, T] ints -> logits [B, T, vocab]."""
        return self.hidden(ids) @ self.head().T

    # rows of logits held at once by token_losses: with GPT-2's 50,257 tokens, 256 rows are ~100 MB of float64
    LOSS_ROWS = 256

    def token_losses(self, inputs, targets):
        """inputs, targets [B, T] -> per-target cross-entropy [B*T] (float64), LOSS_ROWS rows of logits at a time."""
        x = self.hidden(inputs).reshape(-1, self.d)
        t = targets.reshape(-1)
        bad = t[(t < 0) | (t >= self.vocab)]
        if len(bad):
            raise ModelError(f"target id {int(bad[0])} is outside the vocabulary of {self.vocab}")
        head = self.head()
        return np.concatenate([cross_entropy(x[r:r + self.LOSS_ROWS] @ head.T, t[r:r + self.LOSS_ROWS])
                               for r in range(0, len(t), self.LOSS_ROWS)])


# ------------------------------------------------------------------------------------------ ViT

class Vit:
    """ViTForImageClassification (no pooler). `weights` keys are the Hugging Face names."""

    def __init__(self, config, tensors):
        c = config
        self.H = c["hidden_size"]
        self.layers = c["num_hidden_layers"]
        self.heads = c["num_attention_heads"]
        self.inter = c["intermediate_size"]
        self.image = c["image_size"]
        self.patch = c["patch_size"]
        self.channels = c.get("num_channels", 3)
        self.eps = c.get("layer_norm_eps", 1e-12)
        self.qkv_bias = c.get("qkv_bias", True)
        self.act = activation(c.get("hidden_act", "gelu"))
        labels = c.get("id2label")
        self.labels = len(labels) if labels else c.get("num_labels", 2)
        if self.image % self.patch:
            raise ModelError(f"patch_size {self.patch} does not divide image_size {self.image}")
        if self.H % self.heads:
            raise ModelError(f"num_attention_heads {self.heads} does not divide hidden_size {self.H}")
        H, I, p = self.H, self.inter, self.patch
        P = (self.image // p) ** 2
        e = "vit.embeddings."
        exp = {e + "cls_token": (1, 1, H), e + "position_embeddings": (1, P + 1, H),
               e + "patch_embeddings.projection.weight": (H, self.channels, p, p),
               e + "patch_embeddings.projection.bias": (H,)}
        for i in range(self.layers):
            l = f"vit.encoder.layer.{i}."
            for q in ("query", "key", "value"):
                exp[f"{l}attention.attention.{q}.weight"] = (H, H)
                if self.qkv_bias:
                    exp[f"{l}attention.attention.{q}.bias"] = (H,)
            exp.update({l + "attention.output.dense.weight": (H, H), l + "attention.output.dense.bias": (H,),
                        l + "layernorm_before.weight": (H,), l + "layernorm_before.bias": (H,),
                        l + "layernorm_after.weight": (H,), l + "layernorm_after.bias": (H,),
                        l + "intermediate.dense.weight": (I, H), l + "intermediate.dense.bias": (I,),
                        l + "output.dense.weight": (H, I), l + "output.dense.bias": (H,)})
        exp.update({"vit.layernorm.weight": (H,), "vit.layernorm.bias": (H,),
                    "classifier.weight": (self.labels, H), "classifier.bias": (self.labels,)})
        # ViTForImageClassification builds ViTModel without the pooler: a pooler in the file is unused
        self.weights = _take(tensors, exp, ignore=[lambda n: n.startswith("vit.pooler.")])

    # torch Linear weights are [out, in]: y = x @ W.T + b
    def _linear(self, x, name, bias=True):
        y = x @ self.weights[name + ".weight"].T
        return y + self.weights[name + ".bias"] if bias else y

    def logits(self, pixels):
        """pixels [B, C, S, S] (already normalised) -> logits [B, labels]."""
        w = self.weights
        B, C, S, S2 = pixels.shape
        if (C, S, S2) != (self.channels, self.image, self.image):
            raise ModelError(f"pixel_values {list(pixels.shape[1:])} do not match the config's "
                             f"[{self.channels}, {self.image}, {self.image}]")
        p, g = self.patch, self.image // self.patch
        # Conv2d(kernel p, stride p) = per-patch dot product with the [H, C·p·p] flattened kernel
        patches = pixels.reshape(B, C, g, p, g, p).transpose(0, 2, 4, 1, 3, 5).reshape(B, g * g, C * p * p)
        kernel = w["vit.embeddings.patch_embeddings.projection.weight"].reshape(self.H, -1)
        x = patches @ kernel.T + w["vit.embeddings.patch_embeddings.projection.bias"]
        cls = np.broadcast_to(w["vit.embeddings.cls_token"], (B, 1, self.H))
        x = np.concatenate([cls, x], axis=1) + w["vit.embeddings.position_embeddings"]
        scale = 1.0 / math.sqrt(self.H // self.heads)
        for i in range(self.layers):
            l = f"vit.encoder.layer.{i}."
            a = layer_norm(x, w[l + "layernorm_before.weight"], w[l + "layernorm_before.bias"], self.eps)
            q, k, v = (self._linear(a, f"{l}attention.attention.{n}", self.qkv_bias) for n in ("query", "key", "value"))
            x = x + self._linear(multi_head_attention(q, k, v, self.heads, False, scale), l + "attention.output.dense")
            m = layer_norm(x, w[l + "layernorm_after.weight"], w[l + "layernorm_after.bias"], self.eps)
            x = x + self._linear(self.act(self._linear(m, l + "intermediate.dense")), l + "output.dense")
        x = layer_norm(x, w["vit.layernorm.weight"], w["vit.layernorm.bias"], self.eps)
        return self._linear(x[:, 0, :], "classifier")
