"""Chapter 8's experiment: Adam with L2 against AdamW on a learning-rate × decay grid.

The task is small enough to sweep in a couple of minutes and regularization matters on it:
a one-hidden-layer ReLU network (64 → 64 → 10) on the first ``N_TRAIN`` = 200 training
images of scikit-learn's digits (``optbook.data.digits``), trained full-batch for ``STEPS``
steps in float64 NumPy with the book's optimizers, so that a run is a deterministic
function of its seed (the seed draws the initial weights; the data and its order are fixed).
With 200 images and 4,810 parameters the network fits the training set and overfits: its
validation loss (397 images) is what decay can improve. Weight decay acts on the two weight
matrices only; the biases form a group with ``weight_decay=0``.

The two methods, each in its own parametrization, as in Figure 2 of Loshchilov & Hutter:

* ``"adam_l2"``: ``Adam(weight_decay=decay)``, i.e. the gradient of ``decay/2 * |w|^2`` is added
  to the loss gradient and divided by ``sqrt(v)`` with it;
* ``"adamw"``: ``AdamW(weight_decay=decay / lr)``, i.e. ``decay`` is the fraction by which the
  weights shrink per step, ``lr * weight_decay`` in PyTorch's terms (the paper's λ with its
  schedule multiplier at 1).

``python -m optbook.decay`` runs the grid (``LRS`` × ``DECAYS[method]`` × ``SEEDS``, both
methods, paired by seed) and writes ``optbook/results/adamw_grid.json``; :func:`load` reads it.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "adamw_grid.json"

N_TRAIN = 200  # training images: few enough that the network overfits
HIDDEN = 64
STEPS = 400
METHODS = ("adam_l2", "adamw")
LRS = [0.001, 0.00316, 0.01, 0.0316, 0.1, 0.316]  # 0.316: the edge beyond Adam + L2's best lr
DECAYS = {
    "adam_l2": [0.0, 0.0001, 0.000316, 0.001, 0.00316, 0.01],  # the L2 coefficient λ
    "adamw": [0.0, 0.000316, 0.001, 0.00316, 0.01, 0.0316, 0.1],  # lr * weight_decay: the shrink per step
}
SEEDS = [0, 1, 2, 3, 4]
METRICS = ("train_loss", "val_loss", "val_err", "test_loss", "test_err", "weight_norm")

_DATA = None


def data() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train", "val", "test"}``: float64 inputs of shape (n, 64) in [0, 1] and integer labels."""
    global _DATA
    if _DATA is None:
        from optbook.data import digits

        splits = digits()
        out = {}
        for name, split in splits.items():
            x = split.x.reshape(len(split), -1).astype(np.float64)
            out[name] = (x, split.y)
        out["train"] = (out["train"][0][:N_TRAIN], out["train"][1][:N_TRAIN])
        _DATA = out
    return _DATA


def init(seed: int, hidden: int = HIDDEN) -> list[np.ndarray]:
    """``[W1, b1, W2, b2]``: Gaussian weights (seeded), W1 with std sqrt(2/64) (He), W2 sqrt(1/hidden); zero biases."""
    r = np.random.default_rng(seed)
    return [r.standard_normal((64, hidden)) * math.sqrt(2 / 64), np.zeros(hidden),
            r.standard_normal((hidden, 10)) * math.sqrt(1 / hidden), np.zeros(10)]


def loss_and_grads(params, x, y, grads: bool = True):
    """Mean cross-entropy of the MLP on ``(x, y)``, its error rate, and (if ``grads``) the gradients."""
    w1, b1, w2, b2 = params
    a = x @ w1 + b1
    h = np.maximum(a, 0.0)
    z = h @ w2 + b2
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1))[:, None]
    n = len(y)
    loss = float(-logp[np.arange(n), y].mean())
    err = float((logp.argmax(axis=1) != y).mean())
    if not grads:
        return loss, err
    dz = np.exp(logp)
    dz[np.arange(n), y] -= 1.0
    dz /= n
    dh = dz @ w2.T
    da = dh * (a > 0)
    return loss, err, [x.T @ da, da.sum(axis=0), h.T @ dz, dz.sum(axis=0)]


def make_optimizer(method: str, params, lr: float, decay: float):
    """The optimizer of one grid cell, weights decayed and biases not (see the module's docstring)."""
    from optbook.numpy_optim import Adam, AdamW

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not lr > 0 or not decay >= 0:
        raise ValueError(f"need lr > 0 and decay >= 0, got lr={lr}, decay={decay}")
    w1, b1, w2, b2 = params
    groups = [{"params": [w1, w2]}, {"params": [b1, b2], "weight_decay": 0.0}]
    if method == "adam_l2":
        return Adam(groups, lr=lr, weight_decay=decay)
    return AdamW(groups, lr=lr, weight_decay=decay / lr)


def train(method: str, lr: float, decay: float, seed: int, steps: int = STEPS) -> dict[str, float]:
    """One run; returns the final ``METRICS`` (``weight_norm``: the norm of both weight matrices)."""
    if steps < 1:
        raise ValueError(f"steps must be positive, got {steps}")
    d = data()
    params = init(seed)
    opt = make_optimizer(method, params, lr, decay)
    for _ in range(steps):
        _, _, g = loss_and_grads(params, *d["train"])
        opt.step([g[0], g[2], g[1], g[3]])  # the order of the groups: weights, then biases
    out = {"train_loss": loss_and_grads(params, *d["train"], grads=False)[0]}
    out["val_loss"], out["val_err"] = loss_and_grads(params, *d["val"], grads=False)
    out["test_loss"], out["test_err"] = loss_and_grads(params, *d["test"], grads=False)
    out["weight_norm"] = float(math.sqrt(np.sum(params[0] ** 2) + np.sum(params[2] ** 2)))
    if not all(math.isfinite(v) for v in out.values()):
        out = {k: (v if math.isfinite(v) else None) for k, v in out.items()}
    return out


def sweep(lrs=None, decays=None, seeds=None, steps: int = STEPS, log=None) -> dict:
    """The whole grid: ``runs[method][i_lr][i_decay]`` is the list of per-seed results."""
    lrs = list(LRS if lrs is None else lrs)
    decays = {m: list(DECAYS[m] if decays is None else decays[m]) for m in METHODS}
    seeds = list(SEEDS if seeds is None else seeds)
    runs = {}
    for m in METHODS:
        runs[m] = [[[train(m, lr, dec, s, steps) for s in seeds] for dec in decays[m]] for lr in lrs]
        if log:
            log(f"{m}: {len(lrs) * len(decays[m]) * len(seeds)} runs")
    return {"config": {"n_train": N_TRAIN, "hidden": HIDDEN, "steps": steps, "lrs": lrs,
                       "decays": decays, "seeds": seeds},
            "runs": runs}


def load(path: Path | str = RESULTS) -> dict:
    """The stored sweep; raises ValueError if it is missing or does not match this module's grid."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"no stored sweep at {path}: run `python -m optbook.decay`")
    grid = json.loads(path.read_text(encoding="utf-8"))
    cfg = grid.get("config", {})
    for m in METHODS:
        runs = grid.get("runs", {}).get(m)
        if runs is None or len(runs) != len(cfg["lrs"]) or any(len(r) != len(cfg["decays"][m]) for r in runs):
            raise ValueError(f"the stored sweep's {m!r} runs do not match its config: regenerate it")
    return grid


def table(grid: dict, method: str, key: str = "val_loss") -> np.ndarray:
    """``key`` averaged over the seeds, shape (len(lrs), len(decays)); a failed run makes its cell inf."""
    if key not in METRICS:
        raise ValueError(f"key must be one of {METRICS}, got {key!r}")
    runs = grid["runs"][method]
    return np.array([[np.mean([math.inf if r[key] is None else r[key] for r in cell]) for cell in row]
                     for row in runs])


def per_seed(grid: dict, method: str, i_lr: int, i_decay: int, key: str = "test_loss") -> np.ndarray:
    """``key`` of each seed of one cell, in seed order (for paired comparisons)."""
    return np.array([math.inf if r[key] is None else r[key] for r in grid["runs"][method][i_lr][i_decay]])


def best(grid: dict, method: str, key: str = "val_loss") -> tuple[int, int]:
    """Indices ``(i_lr, i_decay)`` of the cell with the lowest seed-mean ``key``."""
    t = table(grid, method, key)
    i, j = np.unravel_index(np.argmin(t), t.shape)
    return int(i), int(j)


def heatmaps(grid: dict, key: str = "val_loss", titles: dict | None = None, vmax: float | None = None):
    """Two heatmaps side by side (Adam + L2, AdamW) of the seed-mean ``key``; the best cell of each boxed."""
    import matplotlib.pyplot as plt

    cfg = grid["config"]
    tables = {m: table(grid, m, key) for m in METHODS}
    finite = np.concatenate([t[np.isfinite(t)] for t in tables.values()])
    vmin = float(finite.min())
    vmax = float(np.quantile(finite, 0.9)) if vmax is None else vmax
    titles = titles or {"adam_l2": "Adam + L2", "adamw": "AdamW"}
    ylabels = {"adam_l2": "decay: the L2 coefficient lam", "adamw": "decay: lr * weight_decay per step"}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for ax, m in zip(axes, METHODS):
        t = tables[m]
        im = ax.imshow(np.minimum(t.T, vmax), origin="lower", cmap="viridis_r", vmin=vmin, vmax=vmax,
                       aspect="auto")
        for i in range(t.shape[0]):
            for j in range(t.shape[1]):
                ax.text(i, j, f"{t[i, j]:.3f}" if np.isfinite(t[i, j]) else "fail", ha="center",
                        va="center", fontsize=7, color="white" if t[i, j] > (vmin + vmax) / 2 else "black")
        bi, bj = best(grid, m, key)
        ax.add_patch(plt.Rectangle((bi - 0.5, bj - 0.5), 1, 1, fill=False, ec="red", lw=2))
        ax.set_xticks(range(len(cfg["lrs"])), [f"{v:g}" for v in cfg["lrs"]])
        ax.set_yticks(range(len(cfg["decays"][m])), [f"{v:g}" for v in cfg["decays"][m]])
        ax.set_xlabel("learning rate lr")
        ax.set_ylabel(ylabels[m])
        ax.set_title(titles[m], fontsize=10)
    fig.colorbar(im, ax=axes, label=f"{key.replace('_', ' ')} (mean over seeds)")
    return fig


def main(argv=None) -> int:
    """``python -m optbook.decay [path]``: run the sweep and write the JSON (default: ``RESULTS``)."""
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0]) if argv else RESULTS
    from optbook import setup

    setup(seed=0)
    grid = sweep(log=print)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(grid, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
