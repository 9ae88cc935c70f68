"""The experiments of Chapter 9: learning-rate schedules built from ``torch.optim.lr_scheduler``,
their closed forms, a schedule study on the digits CNN, and small models for the toolbox.

* :func:`make_schedule` — the five schedules of the study (constant, step, cosine, linear to
  zero, warm-up–stable–decay), each a linear warm-up followed by the decay, built from
  torch's own classes (``SequentialLR`` of ``LinearLR``, ``MultiStepLR``, ``CosineAnnealingLR``,
  ``ConstantLR``); :func:`closed_form` is the same multiplier written as a formula, so the
  chapter can check one against the other.
* :func:`lr_sequence` — the learning rate each optimizer step *uses*, read before the step.
* :func:`run` — train :class:`~optbook.models.DigitsCNN` with SGD + momentum under one
  schedule; the seed fixes the initial weights and the batch order (paired seeds). Optional
  iterate averaging (EMA or a uniform tail average) with ``torch.optim.swa_utils``.
* :func:`sweep` — tune each schedule's peak rate on a small grid, then run paired final
  seeds; ``python -m optbook.toolbox`` writes ``optbook/results/schedules.json``.
* :class:`BNMLP` — a one-hidden-layer MLP on the 64 pixels with an optional BatchNorm, for
  gradient accumulation and scale invariance.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.optim import lr_scheduler as L

from optbook.data import digits
from optbook.train import DigitsTask, best, mean_std, paired_difference, t_quantile, tune

SCHEDULES = ("constant", "step", "cosine", "linear", "wsd")
RESULTS = Path(__file__).resolve().parent / "results" / "schedules.json"

# The study's protocol, fixed before the runs.
STEPS = 600  # 19 epochs of 1,000 images in batches of 32
WARMUP = 30  # every schedule starts with the same linear warm-up (5 % of the run)
MOMENTUM = 0.9
GRID = (0.0125, 0.025, 0.05, 0.1, 0.2)  # factors of 2
TUNE_SEEDS = (0, 1, 2)
FINAL_SEEDS = (100, 101, 102, 103, 104)
EVAL_EVERY = 50
STEP_MILESTONES = (0.5, 0.75)  # step schedule: ×0.1 at 50 % and 75 % of the run
WSD_DECAY = 0.2  # WSD: the last 20 % of the run decays linearly to zero
EMA_DECAY = 0.98  # iterate averaging: EMA of the weights, a window of about 50 steps
TAIL_START = 0.5  # ... or the uniform average of the iterates of the second half


def _check(name: str, steps: int, warmup: int) -> None:
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; choose one of {', '.join(SCHEDULES)}")
    if not isinstance(steps, int) or not isinstance(warmup, int) or steps < 2 or not 1 <= warmup < steps // 2:
        raise ValueError(f"need integers steps >= 2 and 1 <= warmup < steps/2, got steps={steps}, warmup={warmup}")


def make_schedule(name: str, opt: torch.optim.Optimizer, steps: int, warmup: int) -> L.LRScheduler:
    """Schedule ``name`` for a run of ``steps`` optimizer steps, from torch's classes.

    Every schedule is ``SequentialLR([LinearLR(1/warmup → 1 over warmup steps), decay],
    milestones=[warmup])``; the decay part is, over the remaining ``n = steps - warmup`` steps:
    constant (``ConstantLR(factor=1)``), step (``MultiStepLR``, ×0.1 at 50 % and 75 % of the
    run), cosine (``CosineAnnealingLR(T_max=n)``, to 0), linear (``LinearLR(1 → 0, n)``) and
    WSD (``SequentialLR([warm-up, ConstantLR, LinearLR(1 → 0)])``, the decay over the last 20 %).
    Call ``scheduler.step()`` once after each ``optimizer.step()``.
    """
    _check(name, steps, warmup)
    n = steps - warmup
    warm = L.LinearLR(opt, start_factor=1.0 / warmup, end_factor=1.0, total_iters=warmup)
    if name == "constant":
        decay = L.ConstantLR(opt, factor=1.0, total_iters=n)
    elif name == "step":
        decay = L.MultiStepLR(opt, milestones=[round(f * steps) - warmup for f in STEP_MILESTONES], gamma=0.1)
    elif name == "cosine":
        decay = L.CosineAnnealingLR(opt, T_max=n, eta_min=0.0)
    elif name == "linear":
        decay = L.LinearLR(opt, start_factor=1.0, end_factor=0.0, total_iters=n)
    else:  # wsd: three phases in one SequentialLR (torch cannot nest a SequentialLR in another)
        d = round(WSD_DECAY * steps)
        stable = L.ConstantLR(opt, factor=1.0, total_iters=n - d)
        down = L.LinearLR(opt, start_factor=1.0, end_factor=0.0, total_iters=d)
        return L.SequentialLR(opt, [warm, stable, down], milestones=[warmup, steps - d])
    return L.SequentialLR(opt, [warm, decay], milestones=[warmup])


def closed_form(name: str, k: int, steps: int, warmup: int) -> float:
    """The multiplier of the base rate used by optimizer step ``k + 1`` (``k = 0, 1, ...``), as a formula."""
    _check(name, steps, warmup)
    if k < 0:
        raise ValueError(f"the step index k counts from 0, got {k}")
    if k < warmup:
        return 1.0 / warmup + (1.0 - 1.0 / warmup) * k / warmup
    n, j = steps - warmup, k - warmup
    if name == "constant":
        return 1.0
    if name == "step":
        return 0.1 ** sum(j >= round(f * steps) - warmup for f in STEP_MILESTONES)
    if name == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * min(j, n) / n))
    if name == "linear":
        return max(0.0, 1.0 - j / n)
    d = round(WSD_DECAY * steps)
    return 1.0 if j < n - d else max(0.0, 1.0 - (j - (n - d)) / d)


def lr_sequence(make, steps: int, lr: float = 1.0) -> list[float]:
    """The learning rate of each of ``steps`` optimizer steps under ``make(optimizer)``.

    The rate is read from the parameter group *before* each ``optimizer.step()``, which is
    the rate that step uses; the scheduler steps after it, as PyTorch requires.
    """
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    sched = make(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


@dataclass
class ScheduleRun:
    """One training run: its configuration, its validation curve and its final numbers."""

    schedule: str
    lr: float
    seed: int
    steps: int
    averaging: str
    eval_steps: list[int] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    final: dict = field(default_factory=dict)
    diverged: bool = False
    steps_to_target: int | None = None  # kept for optbook.compare.check_reproduction

    def as_dict(self) -> dict:
        return asdict(self)


_TASK: DigitsTask | None = None


def task() -> DigitsTask:
    """The digits task of Chapter 10 (batches of 32, no BatchNorm), built once."""
    global _TASK
    if _TASK is None:
        _TASK = DigitsTask(digits(), batch_size=32)
    return _TASK


def _finite(v: float) -> float:
    return v if math.isfinite(v) else math.inf


def run(schedule: str, lr: float, seed: int, steps: int = STEPS, warmup: int = WARMUP,
        averaging: str = "none", final_splits=("train", "val"), eval_every: int = EVAL_EVERY) -> ScheduleRun:
    """Train a fresh DigitsCNN with ``SGD(lr, momentum=0.9)`` under ``schedule``.

    ``averaging`` evaluates, instead of the last iterate, an ``AveragedModel`` of the iterates:
    ``"ema"`` (decay ``EMA_DECAY``, updated every step) or ``"tail"`` (the uniform average of
    the iterates from ``TAIL_START`` of the run on: stochastic weight averaging at a constant
    rate). The averaged model is what the validation curve and the final numbers measure.
    """
    if averaging not in ("none", "ema", "tail"):
        raise ValueError(f"averaging must be 'none', 'ema' or 'tail', got {averaging!r}")
    if not lr > 0:
        raise ValueError(f"the learning rate must be positive, got {lr!r}")
    t = task()
    torch.manual_seed(seed)
    model = t.model()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=MOMENTUM)
    sched = make_schedule(schedule, opt, steps, warmup)
    avg = None
    if averaging == "ema":
        ema = torch.optim.swa_utils.get_ema_multi_avg_fn(EMA_DECAY)
        avg = torch.optim.swa_utils.AveragedModel(model, multi_avg_fn=ema)
    elif averaging == "tail":
        avg = torch.optim.swa_utils.AveragedModel(model)
    tail_from = round(TAIL_START * steps)
    gen = torch.Generator().manual_seed(seed)
    batches = t.batches(gen)
    out = ScheduleRun(schedule, lr, seed, steps, averaging)

    def measured():
        if avg is None or (averaging == "tail" and avg.n_averaged.item() == 0):
            return model
        return avg.module

    def record(k):
        m = measured()
        m.eval()
        v = t.evaluate(m, "val")[0]
        model.train()
        out.eval_steps.append(k)
        out.val_loss.append(_finite(v))
        return out.val_loss[-1]

    model.train()
    record(0)
    for k in range(1, steps + 1):
        x, y = next(batches)
        loss = t.loss(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if not math.isfinite(loss.item()):
            out.diverged = True
            break
        if avg is not None and (averaging == "ema" or k > tail_from):
            avg.update_parameters(model)
        if (k % eval_every == 0 or k == steps) and not math.isfinite(record(k)):
            out.diverged = True
            break
    m = measured()
    m.eval()
    for split in final_splits:
        loss_v, acc = (math.inf, 0.0) if out.diverged else t.evaluate(m, split)
        out.final[f"{split}_loss"], out.final[f"{split}_acc"] = _finite(loss_v), acc
    return out


def sweep(progress=print) -> dict:
    """The study: tune each schedule's peak rate on ``GRID``, extended by factors of 2 while the
    best sits at an edge (mean validation loss over ``TUNE_SEEDS``), then run ``FINAL_SEEDS`` at
    the best rate, and the constant rate with EMA and tail averaging at the constant schedule's
    best rate. Returns what ``main`` stores."""
    tuning, final = {}, {}
    for name in SCHEDULES:
        def mean_val(lr, name=name):
            vals = [run(name, lr, s).final["val_loss"] for s in TUNE_SEEDS]
            progress(f"tune {name:8} lr {lr:<6g} val loss {sum(vals) / len(vals):.4f}")
            return sum(vals) / len(vals)

        res = tune(mean_val, GRID, factor=2.0)  # extended by factors of 2 while the best is at an edge
        tuning[name] = {"lrs": list(res), "val_loss": list(res.values()), "best_lr": best(res)}
    splits = ("train", "val", "test")
    for name in SCHEDULES:
        final[name] = [run(name, tuning[name]["best_lr"], s, final_splits=splits).as_dict() for s in FINAL_SEEDS]
        progress(f"final {name:8} test loss {mean_std([r['final']['test_loss'] for r in final[name]])}")
    for av in ("ema", "tail"):
        lr = tuning["constant"]["best_lr"]
        final[f"constant+{av}"] = [run("constant", lr, s, averaging=av, final_splits=splits).as_dict()
                                   for s in FINAL_SEEDS]
        progress(f"final constant+{av} done")
    protocol = {"steps": STEPS, "warmup": WARMUP, "momentum": MOMENTUM, "grid": list(GRID),
                "tune_seeds": list(TUNE_SEEDS), "final_seeds": list(FINAL_SEEDS), "batch_size": 32,
                "ema_decay": EMA_DECAY, "tail_start": TAIL_START, "torch": torch.__version__}
    return {"protocol": protocol, "tuning": tuning, "final": final}


def load() -> dict:
    """The stored study (``optbook/results/schedules.json``)."""
    if not RESULTS.exists():
        raise ValueError("no stored schedule study: run `python -m optbook.toolbox` (expected "
                         "optbook/results/schedules.json)")
    return json.loads(RESULTS.read_text(encoding="utf-8"))


def paired_table(final: dict, reference: str, names, key: str, level: float = 0.95) -> str:
    """A printable table of ``name − reference`` for one final metric, paired by seed.

    For each of ``names`` it gives the mean difference, its ``level`` confidence interval, and
    the Bonferroni-adjusted interval for ``len(names)`` comparisons (each at the level
    ``1 − (1 − level) / len(names)``), so that all of them hold together with probability
    at least ``level``. Raises ``ValueError`` for an unknown name or metric.
    """
    names = list(names)
    if not names:
        raise ValueError("no comparisons asked for")
    for n in [reference] + names:
        if n not in final:
            raise ValueError(f"{n!r} is not among the runs {list(final)}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")

    def values(n):
        runs = sorted(final[n], key=lambda r: r["seed"])
        if key not in runs[0]["final"]:
            raise ValueError(f"unknown metric {key!r}; the runs have {sorted(runs[0]['final'])}")
        return [r["final"][key] for r in runs], [r["seed"] for r in runs]

    ref, ref_seeds = values(reference)
    adjusted = 1 - (1 - level) / len(names)
    t0, t1 = t_quantile(level, len(ref) - 1), t_quantile(adjusted, len(ref) - 1)
    plural = "s" if len(names) > 1 else ""
    lines = [f"{key}: run - {reference}, paired over {len(ref)} seeds; {int(round(level * 100))}% CI"
             f" (t = {t0:.2f}) and Bonferroni-adjusted for {len(names)} comparison{plural} (t = {t1:.2f})"]
    for n in names:
        v, seeds = values(n)
        if seeds != ref_seeds:
            raise ValueError(f"{n!r} and {reference!r} were not run on the same seeds")
        m, lo, hi = paired_difference(v, ref, level)
        _, alo, ahi = paired_difference(v, ref, adjusted)
        mark = "excludes 0" if alo > 0 or ahi < 0 else ("excludes 0 unadjusted only" if lo > 0 or hi < 0 else "")
        row = f"  {n:11}{m:+8.4f}   [{lo:+.4f}, {hi:+.4f}]   adjusted [{alo:+.4f}, {ahi:+.4f}]   {mark}"
        lines.append(row.rstrip())
    return "\n".join(lines)


class BNMLP(nn.Module):
    """``Linear(64 → hidden)`` → [``BatchNorm1d``] → ReLU → ``Linear(hidden → 10)`` on flattened 8×8 digits.

    With ``batchnorm=True`` the loss does not change when the first layer's weights are
    multiplied by any ``c > 0`` (up to BatchNorm's ``eps``): it is scale-invariant in them.
    The first layer has no bias then (BatchNorm removes any constant).
    """

    def __init__(self, hidden: int = 32, batchnorm: bool = False, eps: float = 1e-5):
        super().__init__()
        if hidden < 1:
            raise ValueError(f"hidden must be positive, got {hidden}")
        self.fc1 = nn.Linear(64, hidden, bias=not batchnorm)
        self.norm = nn.BatchNorm1d(hidden, eps=eps) if batchnorm else nn.Identity()
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.norm(self.fc1(x.reshape(len(x), -1)))))


def accumulated_grads(model: nn.Module, x: torch.Tensor, y: torch.Tensor, micro: int,
                      divide: bool = True) -> list[torch.Tensor]:
    """The gradients after accumulating ``micro`` equal micro-batches of ``(x, y)``.

    Each micro-batch's mean loss is divided by ``micro`` (``divide=True``), so the sum of the
    ``backward()`` calls is the gradient of the mean loss over the whole batch; ``micro=1`` is
    the whole batch at once. Returns copies of the ``.grad`` of every parameter.
    """
    if micro < 1 or len(x) % micro:
        raise ValueError(f"the batch of {len(x)} must split into {micro} equal micro-batches")
    model.zero_grad(set_to_none=True)
    for xs, ys in zip(x.chunk(micro), y.chunk(micro)):
        loss = nn.functional.cross_entropy(model(xs), ys)
        (loss / micro if divide else loss).backward()
    return [p.grad.detach().clone() for p in model.parameters()]


def main() -> None:  # pragma: no cover - the sweep takes minutes
    import optbook

    optbook.seed_everything(0)
    result = sweep()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":  # pragma: no cover
    main()
