"""The PyTorch-on-CPU peer of the lab's mask-learning step (tools/bench/run.ts calls it).

Same architectures as src/models/presets.ts (tiny-gpt: d=64, 4 layers, 4 heads, ctx 128, vocab 256;
tiny-vit: hidden 64, 4 layers, 4 heads, 16 patches + CLS, MLP 256), frozen weights, 2:4 mask logits
(6 candidates per group of 4 along the input dimension) on every masked Linear, one Gumbel-softmax
sample per step, W * m in the forward, backward to the logits, AdamW on the logits only. One thread.
Prints JSON: {available, version, threads, blas, steps: [{model, items, itemName, stepMs, itemsPerSecond}]}.
Usage: /usr/bin/python3 tools/bench/torch_step.py [timed_steps]
"""
import itertools
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.manual_seed(1)
CAND = torch.tensor([[1.0 if i in c else 0.0 for i in range(4)] for c in itertools.combinations(range(4), 2)])  # [6, 4]


class MaskedLinear:
    """y = x · (W ⊙ m)ᵀ + b with W [out, in] frozen and m sampled from learnable logits."""

    def __init__(self, fan_in, fan_out, masked=True):
        self.w = torch.randn(fan_out, fan_in) * 0.02
        self.b = torch.zeros(fan_out)
        self.logits = torch.zeros(fan_out * fan_in // 4, 6).normal_(0, 0.1).requires_grad_() if masked else None
        self.mask = None

    def sample(self, kappa, tau):
        if self.logits is None:
            return
        g = -torch.log(-torch.log(torch.rand_like(self.logits).clamp_min(1e-20)))
        y = F.softmax((self.logits * kappa + g) / tau, dim=-1)
        self.mask = (y @ CAND).reshape(self.w.shape)  # groups of 4 consecutive inputs

    def __call__(self, x):
        w = self.w * self.mask if self.mask is not None else self.w
        return F.linear(x, w, self.b)


def attention(x, qkv, proj, heads, causal):
    B, T, C = x.shape
    q, k, v = (t.reshape(B, T, heads, C // heads).transpose(1, 2) for t in qkv(x))
    att = (q @ k.transpose(-1, -2)) / (C // heads) ** 0.5
    if causal:
        att = att.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float('-inf'))
    return proj((F.softmax(att, -1) @ v).transpose(1, 2).reshape(B, T, C))


class Gpt:
    def __init__(self, d=64, layers=4, heads=4, ctx=128, vocab=256):
        self.wte, self.wpe, self.heads = torch.randn(vocab, d) * 0.02, torch.randn(ctx, d) * 0.01, heads
        self.blocks = [dict(attn=MaskedLinear(d, 3 * d), proj=MaskedLinear(d, d), fc=MaskedLinear(d, 4 * d), out=MaskedLinear(4 * d, d)) for _ in range(layers)]
        self.d = d

    def linears(self):
        return [l for b in self.blocks for l in b.values()]

    def loss(self, tokens, targets):
        T = tokens.shape[1]
        x = self.wte[tokens] + self.wpe[:T]
        for b in self.blocks:
            qkv = lambda h: b['attn'](h).chunk(3, dim=-1)
            x = x + attention(F.layer_norm(x, (self.d,)), qkv, b['proj'], self.heads, True)
            x = x + b['out'](F.gelu(b['fc'](F.layer_norm(x, (self.d,)))))
        logits = F.layer_norm(x, (self.d,)) @ self.wte.T
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


class Vit:
    def __init__(self, d=64, layers=4, heads=4, mlp=256, patch=7, image=28, labels=10):
        self.patch, self.d, self.heads = patch, d, heads
        self.embed = MaskedLinear(patch * patch, d, masked=False)
        n = (image // patch) ** 2
        self.cls, self.pos = torch.randn(1, 1, d) * 0.02, torch.randn(1, n + 1, d) * 0.02
        self.blocks = [dict(q=MaskedLinear(d, d), k=MaskedLinear(d, d), v=MaskedLinear(d, d), o=MaskedLinear(d, d), fc=MaskedLinear(d, mlp), out=MaskedLinear(mlp, d)) for _ in range(layers)]
        self.head = MaskedLinear(d, labels, masked=False)

    def linears(self):
        return [l for b in self.blocks for l in b.values()]

    def loss(self, images, labels):
        B, p = images.shape[0], self.patch
        x = images.reshape(B, 28 // p, p, 28 // p, p).permute(0, 1, 3, 2, 4).reshape(B, -1, p * p)
        x = torch.cat([self.cls.expand(B, -1, -1), self.embed(x)], 1) + self.pos
        for b in self.blocks:
            qkv = lambda h: (b['q'](h), b['k'](h), b['v'](h))
            x = x + attention(F.layer_norm(x, (self.d,)), qkv, b['o'], self.heads, False)
            x = x + b['out'](F.gelu(b['fc'](F.layer_norm(x, (self.d,)))))
        return F.cross_entropy(self.head(F.layer_norm(x, (self.d,))[:, 0]), labels)


def bench(name, model, batch_fn, items, item_name, steps):
    logits = [l.logits for l in model.linears()]
    opt = torch.optim.AdamW(logits, lr=2e-3, weight_decay=0.0)

    def step(i):
        for l in model.linears():
            l.sample(kappa=10.0, tau=4.0)
        loss = model.loss(*batch_fn(i))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(logits, 1.0)
        opt.step()

    step(0)  # warm-up
    ms = []
    for i in range(steps):
        t0 = time.perf_counter()
        step(i + 1)
        ms.append((time.perf_counter() - t0) * 1000)
    med = sorted(ms)[len(ms) // 2]
    return dict(model=name, items=items, itemName=item_name, stepMs=ms, itemsPerSecond=items / (med / 1000))


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    # the build's BLAS as torch reports it ("BLAS_INFO=open" is OpenBLAS on Debian)
    cfg = torch.__config__.show().replace(',', '\n')
    info = [l.strip() for l in cfg.split('\n') if 'BLAS_INFO=' in l]
    blas = info[0].split('=', 1)[1] if info else 'unknown BLAS'
    blas = {'open': 'OpenBLAS', 'mkl': 'MKL'}.get(blas, blas)
    if blas == 'generic':
        # Debian builds against the generic libblas.so.3, which the alternatives system points at a provider
        real = os.path.realpath('/etc/alternatives/libblas.so.3-x86_64-linux-gnu')
        blas = 'OpenBLAS via libblas.so.3' if 'openblas' in real else f'generic BLAS ({real})'
    out = dict(available=True, version=torch.__version__, threads=torch.get_num_threads(), blas=blas, steps=[])
    gpt = Gpt()
    tok = lambda i: (torch.randint(0, 256, (8, 128)), torch.randint(0, 256, (8, 128)))
    out['steps'].append(bench('tiny-gpt', gpt, tok, 8 * 128, 'tokens', steps))
    vit = Vit()
    img = lambda i: (torch.randn(64, 784), torch.randint(0, 10, (64,)))
    out['steps'].append(bench('tiny-vit', vit, img, 64, 'images', steps))
    print(json.dumps(out))


if __name__ == '__main__':
    main()
