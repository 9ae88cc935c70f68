"""The two toy models of the comparison chapters, small enough to train in seconds on one CPU core.

* :class:`DigitsCNN` — two 3×3 convolutions and a linear classifier for 8×8 digits, with no
  BatchNorm by default (so weight decay acts on the weights' scale directly).
* :class:`TinyTransformer` — a decoder-only (causal) Transformer language model with a choice
  of post-LN (the original Transformer) or pre-LN layers.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class DigitsCNN(nn.Module):
    """conv(1→c1) → ReLU → max-pool → conv(c1→c2) → ReLU → max-pool → linear(4·c2 → 10).

    ``batchnorm=True`` inserts ``BatchNorm2d`` after each convolution (the chapter's runs use
    ``False``).
    """

    def __init__(self, c1: int = 8, c2: int = 16, batchnorm: bool = False):
        super().__init__()
        if c1 < 1 or c2 < 1:
            raise ValueError(f"channel counts must be positive, got c1={c1}, c2={c2}")

        def norm(c):
            return nn.BatchNorm2d(c) if batchnorm else nn.Identity()

        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1),
            norm(c1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 8×8 → 4×4
            nn.Conv2d(c1, c2, 3, padding=1),
            norm(c2),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 4×4 → 2×2
        )
        self.head = nn.Linear(4 * c2, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1:] != (1, 8, 8):
            raise ValueError(f"DigitsCNN expects a batch of shape (n, 1, 8, 8), got {tuple(x.shape)}")
        return self.head(self.features(x).flatten(1))


class Block(nn.Module):
    """One Transformer layer: causal self-attention and an MLP, each with a residual connection.

    post-LN (Vaswani et al.): ``x = LN(x + f(x))``; pre-LN: ``x = x + f(LN(x))``.
    """

    def __init__(self, d: int, heads: int, pre_ln: bool):
        super().__init__()
        if d % heads:
            raise ValueError(f"the width d={d} must be divisible by the number of heads {heads}")
        self.heads, self.pre_ln = heads, pre_ln
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        n, t, d = x.shape
        q, k, v = self.qkv(x).view(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.heads)
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        att = scores.masked_fill(mask, float("-inf")).softmax(-1)
        return self.proj((att @ v).transpose(1, 2).reshape(n, t, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pre_ln:
            x = x + self.attention(self.ln1(x))
            return x + self.mlp(self.ln2(x))
        x = self.ln1(x + self.attention(x))
        return self.ln2(x + self.mlp(x))


class TinyTransformer(nn.Module):
    """A causal language model: token + position embeddings, ``layers`` blocks, a tied output layer.

    ``pre_ln=True`` gives pre-LN blocks and a final LayerNorm before the output (as GPT-2);
    ``pre_ln=False`` the original post-LN blocks. Returns logits of shape ``(n, t, vocab)``.
    """

    def __init__(self, vocab: int, d: int = 64, heads: int = 4, layers: int = 2, context: int = 32, pre_ln=True):
        super().__init__()
        if vocab < 2 or d < 1 or layers < 1 or context < 1:
            raise ValueError(f"bad sizes: vocab={vocab}, d={d}, layers={layers}, context={context}")
        self.context = context
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(context, d)
        self.blocks = nn.ModuleList(Block(d, heads, pre_ln) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d) if pre_ln else nn.Identity()
        nn.init.normal_(self.tok.weight, std=0.02)
        nn.init.normal_(self.pos.weight, std=0.02)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        if idx.dim() != 2 or idx.shape[1] > self.context:
            raise ValueError(
                f"expected token ids of shape (n, t) with t <= context = {self.context}, got {tuple(idx.shape)}"
            )
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1], device=idx.device))
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x) @ self.tok.weight.T  # weights tied with the input embedding


def count_parameters(model: nn.Module) -> int:
    """The number of trainable numbers in ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
