"""Reading, summarizing and plotting the stored sweeps of Chapters 10 and 11 (``optbook/results/*.json``).

The sweeps are run by ``make sweeps`` (``tools/sweeps.py``); the chapters load the file,
print tables from it and draw its figures, and re-run one configuration live to show that the
file is what the code produces.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from optbook.plotting import COLORS
from optbook.train import mean_std, paired_difference

RESULTS = Path(__file__).resolve().parent / "results"  # package data: found on Colab too


def load(name: str) -> dict:
    """The stored results of one study (``"cnn"`` or ``"lm"``); ``null`` losses become ``inf``."""
    path = RESULTS / f"{name}.json"
    if not path.exists():
        raise ValueError(f"no stored results {name!r}: run `make sweeps` (expected optbook/results/{name}.json)")

    def fix(x):
        if x is None:
            return math.inf
        if isinstance(x, dict):
            return {k: fix(v) for k, v in x.items()}
        if isinstance(x, list):
            return [fix(v) for v in x]
        return x

    raw = json.loads(path.read_text(encoding="utf-8"))
    # ``steps_to_target`` and ``seconds_to_target`` are null for a censored run: keep them None.
    for group in ("final", "long_final", "wd_final"):
        for runs in raw.get(group, {}).values():
            for r in runs:
                for k in ("steps_to_target", "seconds_to_target"):
                    r[k] = -1 if r[k] is None else r[k]
    out = fix(raw)
    for group in ("final", "long_final", "wd_final"):
        for runs in out.get(group, {}).values():
            for r in runs:
                for k in ("steps_to_target", "seconds_to_target"):
                    r[k] = None if r[k] == -1 else r[k]
    return out


def metric(runs: Sequence[dict], key: str) -> list[float]:
    """One final metric (``"test_loss"``, ``"val_acc"``, ..., or ``"gap"``) of each run, in seed order."""
    if not runs:
        raise ValueError("no runs")
    if key == "gap":  # the generalization gap: test (or validation) loss minus training loss
        held = "test_loss" if "test_loss" in runs[0]["final"] else "val_loss"
        return [a - b for a, b in zip(metric(runs, held), metric(runs, "train_loss"))]
    if key not in runs[0]["final"]:
        raise ValueError(f"unknown metric {key!r}; the runs have {sorted(runs[0]['final'])}")
    return [r["final"][key] for r in sorted(runs, key=lambda r: r["seed"])]


def summary(final: dict[str, list[dict]], keys: Sequence[str] = ("train_loss", "val_loss", "test_loss", "test_acc")):
    """A printable table: mean ± std over seeds of each metric, per optimizer (accuracies in %)."""
    head = f"{'optimizer':10}{'lr':>9}" + "".join(f"{k:>18}" for k in keys)
    lines = [head]
    for name, runs in final.items():
        row = f"{name:10}{runs[0]['lr']:>9.3g}"
        for k in keys:
            scale = 100.0 if k.endswith("acc") else 1.0
            m, s = mean_std([scale * v for v in metric(runs, k)])
            row += f"{m:>11.3f} ± {s:<5.3f}" if scale == 1.0 else f"{m:>11.2f} ± {s:<5.2f}"
        lines.append(row)
    return "\n".join(lines)


def paired(final: dict[str, list[dict]], reference: str, key: str = "test_loss", level: float = 0.95) -> str:
    """A printable table of ``optimizer − reference`` for one metric, paired by seed, with its CI."""
    if reference not in final:
        raise ValueError(f"{reference!r} is not among the optimizers {list(final)}")
    scale = 100.0 if key.endswith("acc") else 1.0
    unit = " (points)" if scale != 1.0 else ""
    lines = [f"{key}{unit}: optimizer - {reference}, mean and {int(level * 100)}% CI over paired seeds"]
    ref = [scale * v for v in metric(final[reference], key)]
    for name, runs in final.items():
        if name == reference:
            continue
        m, lo, hi = paired_difference([scale * v for v in metric(runs, key)], ref, level)
        mark = "  (CI excludes 0)" if lo > 0 or hi < 0 else ""
        lines.append(f"  {name:10}{m:+9.3f}   [{lo:+.3f}, {hi:+.3f}]{mark}")
    return "\n".join(lines)


def censored_median(values: list[float | None]) -> float:
    """The median of ``values`` where ``None`` is a censored run (it never reached the target):
    it counts as larger than every observed value, not as missing, so dropping it cannot make an
    optimizer look faster. ``inf`` when the median falls on a censored run (half or more censored,
    or with an even count the upper middle value)."""
    if not values:
        raise ValueError("the median of no runs is undefined")
    return float(np.median(sorted(math.inf if v is None else float(v) for v in values)))


def median_steps(runs: list[dict], steps: int) -> str:
    """The censored median of steps to target over ``runs``, as the book prints it: ``>steps``
    when it falls on a censored run."""
    med = censored_median([r["steps_to_target"] for r in runs])
    return f"{med:.0f}" if math.isfinite(med) else f">{steps}"


def to_target(final: dict[str, list[dict]], steps: int) -> str:
    """Steps (and stored seconds) to the target per optimizer: medians over every run, a censored
    run counted as slower than every run that reached the target (``censored_median``)."""
    lines = [f"{'optimizer':10}{'reached':>9}{'median steps':>14}{'steps per run':>28}{'time to target [s]':>20}"]
    for name, runs in final.items():
        hit = [r for r in runs if r["steps_to_target"] is not None]
        each = " ".join(str(r["steps_to_target"]) if r["steps_to_target"] is not None else f">{steps}" for r in runs)
        sec = censored_median([r["seconds_to_target"] if r["steps_to_target"] is not None else None for r in runs])
        secs = f"{sec:.2f}" if math.isfinite(sec) else "censored"
        lines.append(f"{name:10}{len(hit):>6}/{len(runs):<2}{median_steps(runs, steps):>14}{each:>28}{secs:>20}")
    return "\n".join(lines)


def sensitivity(tuning: dict[str, dict], title: str, ylim: tuple[float, float] | None = None, ax=None):
    """Final validation loss against lr / best lr, one line per optimizer (diverged runs at the top)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.0))
    top = ylim[1] if ylim else None
    for name, t in tuning.items():
        x = np.asarray(t["lrs"]) / t["best_lr"]
        y = np.asarray(t["val_loss"], dtype=float)
        if top is not None:
            y = np.minimum(y, top)
        ax.plot(x, y, marker="o", markersize=3, label=name, color=COLORS.get(name))
    ax.set_xscale("log")
    ax.axvline(1.0, color="k", lw=0.8, ls=":")
    if ylim:
        ax.set_ylim(*ylim)
    ax.set_xlabel("learning rate / best learning rate")
    ax.set_ylabel("final validation loss")
    ax.set_title(title)
    ax.legend(fontsize=8, ncol=2)
    return ax


def mean_curves(final: dict[str, list[dict]], key: str = "val_loss", ax=None, **kw):
    """The mean over seeds of a stored curve (``"val_loss"`` or ``"train_loss"``) per optimizer."""
    if ax is None:
        _, ax = plt.subplots()
    for name, runs in final.items():
        steps = runs[0]["eval_steps"]
        ys = np.mean([r[key] for r in runs], axis=0)
        ax.plot(steps, ys, label=name, color=COLORS.get(name), **kw)
    ax.set_xlabel("step")
    ax.set_ylabel(key.replace("_", " "))
    return ax


# Round-off and a live re-run of a stored float32 training run. The first evaluations agree
# to about 1e-5 on every kernel set (round-off has not grown yet); later, a chaotic run
# amplifies it: Chapter 10's Momentum run at lr 0.1 ends 4 % away with torch's AVX2 kernels in
# place of AVX-512 on the same machine, after 16 % in mid-run. So the check is tight early and loose at the end.
EARLY_EVALUATIONS = 4
EARLY_RTOL = 1e-3
FINAL_RTOL = 0.1


def check_reproduction(live, stored: dict, early: int = EARLY_EVALUATIONS, early_rtol: float = EARLY_RTOL,
                       final_rtol: float = FINAL_RTOL) -> str:
    """Assert that the live ``Run`` reproduces the ``stored`` one up to what round-off explains.

    * the first ``early`` validation losses agree within ``early_rtol`` (same code, data,
      seed and order: before round-off has grown, only it can differ);
    * every final loss and accuracy agrees within ``final_rtol``;
    * the step at which the target was reached differs by at most one evaluation interval
      (a loss crossing the target near a check may cross one check later or earlier).

    Returns one line saying what was checked; raises AssertionError saying what differs.
    """
    lv, sv = list(live.val_loss), list(stored["val_loss"])
    if len(lv) != len(sv):
        raise AssertionError(f"the live run evaluated {len(lv)} times, the stored one {len(sv)}")
    for i, (a, b) in enumerate(zip(lv[:early], sv[:early])):
        if not abs(a - b) <= early_rtol * abs(b):
            raise AssertionError(f"validation loss at evaluation {i}: live {a:.6g}, stored {b:.6g}: "
                                 f"beyond round-off (rtol {early_rtol:g}) before it could grow")
    for key, b in stored["final"].items():
        a = live.final[key]
        if not abs(a - b) <= final_rtol * abs(b) + 1e-9:
            raise AssertionError(f"final {key}: live {a:.6g}, stored {b:.6g}: beyond rtol {final_rtol:g}")
    interval = live.eval_steps[1] - live.eval_steps[0] if len(live.eval_steps) > 1 else 0
    a, b = live.steps_to_target, stored["steps_to_target"]
    if (a is None) != (b is None) or (a is not None and abs(a - b) > interval):
        raise AssertionError(f"target reached at step {a} live, {b} stored: more than one evaluation apart")
    return (f"the live run reproduces the stored one: first {early} validation losses within {early_rtol:g}, "
            f"final numbers within {final_rtol:.0%}, target within one evaluation")
