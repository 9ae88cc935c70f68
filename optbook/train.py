"""The training loop, the tuning protocol and the paired statistics of the comparison chapters.

One function, :func:`train`, runs every experiment of Chapters 10 and 11: a task (digits
classification or language modelling), an optimizer from ``torch.optim`` by name, a learning
rate, a step budget, a schedule (linear warm-up, then cosine decay to zero) and a seed. The
seed fixes both the initial weights and the order of the mini-batches, so runs with the same
seed and different optimizers are *paired*: they differ only in the optimizer.

:func:`tune` is the protocol of Choi et al. (2019): the same log grid of learning rates for
every optimizer, extended when the best value sits at an edge. :func:`paired_difference`
gives the mean and confidence interval of a paired difference across seeds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from optbook.data import Corpus, Split
from optbook.models import DigitsCNN, TinyTransformer

OPTIMIZERS = ("SGD", "Momentum", "Nesterov", "Adagrad", "RMSprop", "Adam", "AdamW")
MOMENTUM = 0.9


def make_optimizer(name: str, params, lr: float, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """A ``torch.optim`` optimizer by the book's name, with PyTorch's defaults otherwise.

    ``Momentum`` and ``Nesterov`` are ``SGD`` with ``momentum=0.9``. ``weight_decay`` is
    passed on unchanged: for every optimizer except ``AdamW`` that is an L2 term added to the
    gradient; for ``AdamW`` it is decoupled decay, ``θ ← θ − lr·wd·θ``.
    """
    if not lr > 0:
        raise ValueError(f"the learning rate must be positive, got {lr!r}")
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be non-negative, got {weight_decay!r}")
    o = torch.optim
    makers = {
        "SGD": lambda: o.SGD(params, lr=lr, weight_decay=weight_decay),
        "Momentum": lambda: o.SGD(params, lr=lr, momentum=MOMENTUM, weight_decay=weight_decay),
        "Nesterov": lambda: o.SGD(params, lr=lr, momentum=MOMENTUM, nesterov=True, weight_decay=weight_decay),
        "Adagrad": lambda: o.Adagrad(params, lr=lr, weight_decay=weight_decay),
        "RMSprop": lambda: o.RMSprop(params, lr=lr, weight_decay=weight_decay),
        "Adam": lambda: o.Adam(params, lr=lr, weight_decay=weight_decay),
        "AdamW": lambda: o.AdamW(params, lr=lr, weight_decay=weight_decay),
    }
    if name not in makers:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(makers)}")
    return makers[name]()


def lr_factor(step: int, total: int, warmup: int = 0) -> float:
    """The schedule every run uses: linear warm-up over ``warmup`` steps, then cosine decay to 0.

    ``step`` counts from 0; the factor multiplies the base learning rate of step ``step``.
    """
    if total < 1 or not 0 <= warmup < total:
        raise ValueError(f"need total >= 1 and 0 <= warmup < total, got total={total}, warmup={warmup}")
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / (total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


class DigitsTask:
    """Classify scikit-learn's digits with :class:`DigitsCNN`; mini-batches drawn epoch by epoch."""

    name = "digits-cnn"

    def __init__(self, splits: dict[str, Split], batch_size: int = 32, batchnorm: bool = False):
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.batch_size, self.batchnorm = batch_size, batchnorm
        self.data = {k: (torch.from_numpy(s.x), torch.from_numpy(s.y)) for k, s in splits.items()}

    def model(self) -> nn.Module:
        return DigitsCNN(batchnorm=self.batchnorm)

    def batches(self, gen: torch.Generator):
        x, y = self.data["train"]
        while True:  # one permutation per epoch; the last incomplete batch is dropped
            order = torch.randperm(len(y), generator=gen)
            for i in range(0, len(y) - self.batch_size + 1, self.batch_size):
                j = order[i : i + self.batch_size]
                yield x[j], y[j]

    @staticmethod
    def loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(out, y)

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: str) -> tuple[float, float]:
        """Mean cross-entropy and accuracy on a whole split."""
        x, y = self.data[split]
        out = model(x)
        return nn.functional.cross_entropy(out, y).item(), (out.argmax(1) == y).float().mean().item()


class LanguageTask:
    """Next-token prediction on a :class:`~optbook.data.Corpus` with :class:`TinyTransformer`.

    Training windows of ``context`` tokens start at random positions of the training stream;
    every split is evaluated on its non-overlapping windows (the training split on as many
    windows as the validation split has, spread evenly), so loss is in nats per token.
    """

    name = "pydoc-lm"

    def __init__(self, corpus: Corpus, context: int = 32, batch_size: int = 16, pre_ln: bool = True, **model_kw):
        if context < 2 or batch_size < 1:
            raise ValueError(f"need context >= 2 and batch_size >= 1, got {context}, {batch_size}")
        self.corpus, self.context, self.batch_size = corpus, context, batch_size
        self.pre_ln, self.model_kw = pre_ln, model_kw
        self.streams = {k: torch.from_numpy(getattr(corpus, k)) for k in ("train", "val", "test")}
        n_val = (len(corpus.val) - 1) // context
        self.windows = {k: self._windows(s, n_val if k == "train" else None) for k, s in self.streams.items()}

    def _windows(self, stream: torch.Tensor, count: int | None):
        n = (len(stream) - 1) // self.context
        starts = torch.arange(n) * self.context
        if count is not None and count < n:
            starts = starts[torch.linspace(0, n - 1, count).long()]
        idx = starts[:, None] + torch.arange(self.context + 1)
        w = stream[idx]
        return w[:, :-1], w[:, 1:]

    def model(self) -> nn.Module:
        return TinyTransformer(self.corpus.vocab_size, context=self.context, pre_ln=self.pre_ln, **self.model_kw)

    def batches(self, gen: torch.Generator):
        s = self.streams["train"]
        offsets = torch.arange(self.context + 1)
        while True:
            starts = torch.randint(0, len(s) - self.context - 1, (self.batch_size,), generator=gen)
            w = s[starts[:, None] + offsets]
            yield w[:, :-1], w[:, 1:]

    @staticmethod
    def loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: str) -> tuple[float, float]:
        """Mean cross-entropy per token and next-token accuracy."""
        x, y = self.windows[split]
        out = model(x)
        return self.loss(out, y).item(), (out.argmax(-1) == y).float().mean().item()


@dataclass
class Run:
    """What one training run leaves: the settings, the curves and the final numbers."""

    optimizer: str
    lr: float
    seed: int
    steps: int
    weight_decay: float
    warmup: int
    eval_steps: list[int]
    train_loss: list[float]  # on the evaluation set of the training split, at eval_steps
    val_loss: list[float]
    final: dict[str, float]  # {split}_loss and {split}_acc after the last step
    diverged: bool
    steps_to_target: int | None  # first evaluation step with val_loss <= target; None = censored
    seconds: float  # wall-clock seconds of the training steps (evaluation excluded)
    seconds_to_target: float | None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _finite(v: float) -> float:
    return v if math.isfinite(v) else math.inf


def train(
    task,
    optimizer: str,
    lr: float,
    steps: int,
    seed: int,
    weight_decay: float = 0.0,
    warmup: int = 0,
    eval_every: int = 50,
    target: float | None = None,
    final_splits: Sequence[str] = ("train", "val"),
) -> Run:
    """Train a fresh model of ``task`` and return a :class:`Run`.

    The seed fixes the initial weights (``torch.manual_seed``) and the mini-batch order (a
    separate ``torch.Generator``), so two runs with the same seed see the same data in the
    same order. A run whose loss becomes NaN or infinite stops and is marked ``diverged``,
    with infinite losses. ``final_splits`` lists the splits measured at the end: the test
    split belongs there only in final runs.
    """
    if steps < 1 or eval_every < 1:
        raise ValueError(f"need steps >= 1 and eval_every >= 1, got {steps}, {eval_every}")
    torch.manual_seed(seed)
    model = task.model()
    opt = make_optimizer(optimizer, model.parameters(), lr, weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: lr_factor(min(k, steps - 1), steps, warmup))
    gen = torch.Generator().manual_seed(seed)
    batches = task.batches(gen)
    eval_steps, tr, va = [], [], []
    diverged, to_target, secs, secs_target = False, None, 0.0, None

    def record(k):
        model.eval()
        tl, va_l = task.evaluate(model, "train")[0], task.evaluate(model, "val")[0]
        model.train()
        eval_steps.append(k)
        tr.append(_finite(tl))
        va.append(_finite(va_l))
        return va[-1]

    model.train()
    record(0)
    for k in range(1, steps + 1):
        x, y = next(batches)
        t0 = time.perf_counter()
        loss = task.loss(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        secs += time.perf_counter() - t0
        if not math.isfinite(loss.item()):
            diverged = True
            break
        if k % eval_every == 0 or k == steps:
            v = record(k)
            if not math.isfinite(v):
                diverged = True
                break
            if target is not None and to_target is None and v <= target:
                to_target, secs_target = k, secs
    model.eval()
    final = {}
    for split in final_splits:
        loss_v, acc = (math.inf, 0.0) if diverged else task.evaluate(model, split)
        final[f"{split}_loss"], final[f"{split}_acc"] = _finite(loss_v), acc
    return Run(optimizer, lr, seed, steps, weight_decay, warmup, eval_steps, tr, va, final, diverged,
               to_target, secs, secs_target)


def next_extension(results: dict[float, float], factor: float = math.sqrt(10.0)) -> float | None:
    """The learning rate to try next when the best of ``results`` sits at an edge, else ``None``.

    ``results`` maps learning rates to validation losses (lower is better); the new point
    lies ``factor`` beyond the edge, rounded to three significant digits.
    """
    if factor <= 1:
        raise ValueError(f"factor must exceed 1, got {factor}")
    if len(results) < 3:
        raise ValueError("a tuning grid needs at least three learning rates, so the best can be inside it")
    lrs = sorted(results)
    b = best(results)
    if b == lrs[0]:
        return float(f"{lrs[0] / factor:.3g}")
    if b == lrs[-1]:
        return float(f"{lrs[-1] * factor:.3g}")
    return None


def tune(
    run: Callable[[float], float],
    grid: Sequence[float],
    factor: float = math.sqrt(10.0),
    max_extensions: int = 3,
) -> dict[float, float]:
    """Evaluate ``run(lr)`` (the validation loss, lower is better) over a log grid of learning rates.

    When the best value sits at an edge of the grid, one more point ``factor`` beyond that
    edge is tried (:func:`next_extension`), up to ``max_extensions`` times. Returns
    ``{lr: value}`` for every lr tried, sorted by lr.
    """
    results = {float(lr): run(float(lr)) for lr in grid}
    for _ in range(max_extensions):
        new = next_extension(results, factor)
        if new is None:
            break
        results[new] = run(new)
    return dict(sorted(results.items()))


def best(results: dict[float, float]) -> float:
    """The learning rate with the lowest value (ties: the smaller learning rate)."""
    if not results:
        raise ValueError("no results")
    return min(results, key=lambda lr: (results[lr], lr))


def t_quantile(level: float, dof: int) -> float:
    """The two-sided Student-t quantile: P(|T| <= q) = level for ``dof`` degrees of freedom."""
    if not 0 < level < 1 or dof < 1:
        raise ValueError(f"need 0 < level < 1 and dof >= 1, got {level}, {dof}")
    from scipy.stats import t

    return float(t.ppf(0.5 + level / 2, dof))


def paired_difference(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean of ``a - b`` over paired seeds and its ``level`` confidence interval ``(mean, low, high)``.

    Pairing removes what two optimizers share through a seed (initial weights, batch order),
    so the interval is usually much narrower than comparing two means would give.
    """
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if d.ndim != 1 or len(d) < 2:
        raise ValueError("need two equally long sequences with at least two paired values")
    m = float(d.mean())
    h = t_quantile(level, len(d) - 1) * float(d.std(ddof=1)) / math.sqrt(len(d))
    return m, m - h, m + h


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1)."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        raise ValueError("need at least two values")
    return float(v.mean()), float(v.std(ddof=1))


class MLPRun(NamedTuple):
    """What :func:`digits_mlp` returns (a tuple, so it unpacks): the training losses, the
    validation accuracy, the optimizer (with its state), the first step of the first layer's
    weights (absolute values) and the mean absolute step per parameter and step."""

    losses: np.ndarray
    accuracy: float
    opt: torch.optim.Optimizer
    first: torch.Tensor
    travel: float


def digits_mlp(make_optimizer: Callable, X: torch.Tensor, y: torch.Tensor, Xv: torch.Tensor, yv: torch.Tensor,
               steps: int = 100, hidden: int = 32) -> MLPRun:
    """Full-batch training of a 64-``hidden``-10 tanh network in float64 (Chapters 6 and 7's "In PyTorch").

    The network is initialized from ``torch.manual_seed(0)``, so every optimizer starts from the
    same weights; ``make_optimizer(params)`` builds the optimizer; each step is
    ``zero_grad / cross_entropy(model(X), y) / backward / step``. The accuracy is measured on
    ``(Xv, yv)`` after the last step.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, hidden), nn.Tanh(), nn.Linear(hidden, 10)).double()
    opt = make_optimizer(model.parameters())
    w0 = model[0].weight.detach().clone()
    losses, travel, first = [], 0.0, None
    for k in range(steps):
        before = [p.detach().clone() for p in model.parameters()]
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(X), y)
        loss.backward()
        opt.step()
        travel += sum((p.detach() - b).abs().sum().item() for p, b in zip(model.parameters(), before))
        if k == 0:
            first = (model[0].weight.detach() - w0).abs()
        losses.append(loss.item())
    with torch.no_grad():
        accuracy = (model(Xv).argmax(1) == yv).double().mean().item()
    n = sum(p.numel() for p in model.parameters())
    return MLPRun(np.array(losses), accuracy, opt, first, travel / (steps * n))
