"""PyTorch's training step for the bench: the same shapes and the same step as attn's 'train' case.

One forward + backward + AdamW step of BERT sequence classification (or ViT image classification) built from
the bench's config.json, with torch's own layers: nn.Linear, nn.LayerNorm, exact (erf) GELU, scaled
dot-product attention with an additive padding mask, dropout as configured, cross-entropy, AdamW (weight
decay off for biases and LayerNorm, as attn's noDecayForBiasAndNorm). Weights are torch's random init: the
time of a step does not depend on their values. Measured as case.ts measures attn: one warm-up step, then
steps until the budget is spent (2 <= steps <= max_iters); wall and process CPU time per step; peak RSS.

  python3 train_torch.py '{"kind":"bert","config":{...},"batch":8,"seq":128,"threads":1,...}'
Prints one line: RESULT {json}
"""

import json
import math
import resource
import sys
import time

import torch
from torch import nn
from torch.nn import functional as F


class Attention(nn.Module):
    def __init__(self, hidden, heads, p):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.dense = nn.Linear(hidden, hidden)
        self.drop = nn.Dropout(p)

    def forward(self, x, mask):  # x [b, t, H], mask [b, 1, 1, t] additive
        b, t, hidden = x.shape
        split = lambda y: y.view(b, t, self.heads, hidden // self.heads).transpose(1, 2)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(hidden // self.heads)
        if mask is not None:
            scores = scores + mask
        ctx = self.drop(scores.softmax(-1)) @ v  # [b, h, t, d]
        return self.dense(ctx.transpose(1, 2).reshape(b, t, hidden))


class Layer(nn.Module):
    """Post-norm (BERT) or pre-norm (ViT) encoder layer."""

    def __init__(self, c, pre_norm):
        super().__init__()
        h, eps, p = c["hidden_size"], c.get("layer_norm_eps", 1e-12), c["hidden_dropout_prob"]
        self.pre_norm = pre_norm
        self.attn = Attention(h, c["num_attention_heads"], c["attention_probs_dropout_prob"])
        self.ln1, self.ln2 = nn.LayerNorm(h, eps=eps), nn.LayerNorm(h, eps=eps)
        self.up, self.down = nn.Linear(h, c["intermediate_size"]), nn.Linear(c["intermediate_size"], h)
        self.drop = nn.Dropout(p)

    def forward(self, x, mask):
        if self.pre_norm:
            x = x + self.drop(self.attn(self.ln1(x), mask))
            return x + self.drop(self.down(F.gelu(self.up(self.ln2(x)))))
        x = self.ln1(x + self.drop(self.attn(x, mask)))
        return self.ln2(x + self.drop(self.down(F.gelu(self.up(x)))))


class Bert(nn.Module):
    def __init__(self, c, labels=2):
        super().__init__()
        h = c["hidden_size"]
        self.words = nn.Embedding(c["vocab_size"], h)
        self.positions = nn.Embedding(c["max_position_embeddings"], h)
        self.types = nn.Embedding(c.get("type_vocab_size", 2), h)
        self.ln = nn.LayerNorm(h, eps=c.get("layer_norm_eps", 1e-12))
        self.drop = nn.Dropout(c["hidden_dropout_prob"])
        self.layers = nn.ModuleList(Layer(c, False) for _ in range(c["num_hidden_layers"]))
        self.pooler = nn.Linear(h, h)
        self.classifier = nn.Linear(h, labels)

    def forward(self, ids, attention_mask):
        t = ids.shape[1]
        pos = torch.arange(t).unsqueeze(0)
        x = self.drop(self.ln(self.words(ids) + self.positions(pos) + self.types(torch.zeros_like(ids))))
        mask = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, mask)
        return self.classifier(self.drop(torch.tanh(self.pooler(x[:, 0]))))


class ViT(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, p = c["hidden_size"], c["patch_size"]
        n = (c["image_size"] // p) ** 2
        self.patch = nn.Conv2d(c.get("num_channels", 3), h, p, stride=p)
        self.cls = nn.Parameter(torch.zeros(1, 1, h))
        self.positions = nn.Parameter(torch.zeros(1, n + 1, h))
        self.drop = nn.Dropout(c["hidden_dropout_prob"])
        self.layers = nn.ModuleList(Layer(c, True) for _ in range(c["num_hidden_layers"]))
        self.ln = nn.LayerNorm(h, eps=c.get("layer_norm_eps", 1e-12))
        self.classifier = nn.Linear(h, c.get("num_labels", 1000))

    def forward(self, pixels):
        x = self.patch(pixels).flatten(2).transpose(1, 2)
        x = self.drop(torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.positions)
        for layer in self.layers:
            x = layer(x, None)
        return self.classifier(self.ln(x)[:, 0])


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    a = json.loads(sys.argv[1])
    torch.set_num_threads(a["threads"])
    torch.manual_seed(1234)
    # HF's defaults where the config is silent: BERT drops out 0.1, ViT nothing.
    p = 0.1 if a["kind"] == "bert" else 0.0
    c = {"hidden_dropout_prob": p, "attention_probs_dropout_prob": p, **a["config"]}
    b = a["batch"]
    t0 = time.perf_counter()
    labels = torch.arange(b) % 2
    if a["kind"] == "bert":
        model = Bert(c)
        g = torch.Generator().manual_seed(7)
        ids = torch.randint(1000, 30000, (b, a["seq"]), generator=g)
        ids[:, 0] = 101
        mask = torch.ones(b, a["seq"], dtype=torch.long)
        loss_fn = lambda: F.cross_entropy(model(ids, mask), labels)
    else:
        model = ViT(c)
        g = torch.Generator().manual_seed(11)
        px = torch.rand(b, 3, c["image_size"], c["image_size"], generator=g) * 2 - 1
        loss_fn = lambda: F.cross_entropy(model(px), labels)
    decay = [p for n, p in model.named_parameters() if p.ndim > 1 and "ln" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim > 1 and "ln" not in n)]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-5
    )
    model.train()
    load_ms = (time.perf_counter() - t0) * 1000

    losses = []

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
        losses.append(loss.item())

    w0 = time.perf_counter()
    step()
    min_iters = 1 if (time.perf_counter() - w0) * 1000 > a["budgetMs"] else 2
    latencies, cpu = [], []
    start = time.perf_counter()
    while len(latencies) < a["maxIters"] and (
        len(latencies) < min_iters or (time.perf_counter() - start) * 1000 < a["budgetMs"]
    ):
        c0, s0 = cpu_seconds(), time.perf_counter()
        step()
        latencies.append((time.perf_counter() - s0) * 1000)
        cpu.append((cpu_seconds() - c0) * 1000)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    info = {"torch": torch.__version__, "threads": torch.get_num_threads(), "losses": losses}
    print("RESULT " + json.dumps({"latenciesMs": latencies, "cpuMs": cpu, "loadMs": load_ms, "peakRssMB": peak, "info": info}))


if __name__ == "__main__":
    main()
