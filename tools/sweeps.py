"""The sweeps behind Chapters 10 and 11: tune, then run the final seeds; write optbook/results/*.json.

    make sweeps                        # both studies (or: python tools/sweeps.py cnn lm)
    python tools/sweeps.py cnn --jobs 2

Every run is one call of ``optbook.train.train`` on one thread with deterministic algorithms,
so the numbers do not depend on how many runs go in parallel (``--jobs``); only the recorded
wall-clock seconds do. The protocol (after Choi et al. 2019):

1. every optimizer gets the same schedule, step budget and log grid of learning rates, tuned
   on the validation split with *tuning seeds* (1000, 1001, ...); a grid whose best point
   sits at an edge is extended one point at a time;
2. at its best learning rate each optimizer then runs with the *final seeds* 0–4, paired
   (same initial weights and batch order for every optimizer); only these runs touch the
   test split.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "optbook" / "results"  # package data, so a pip-installed optbook has it

# ---------------------------------------------------------------- the two studies' settings
GRID = [0.001, 0.00316, 0.01, 0.0316, 0.1, 0.316, 1.0]  # the same log grid for every optimizer
FINAL_SEEDS = [0, 1, 2, 3, 4]
ADAMW_WD = 0.1  # AdamW's decoupled weight decay in the main comparisons (PyTorch multiplies it by lr)

CNN = dict(
    steps=600,  # 19 epochs of the 1,000 training images in batches of 32
    eval_every=25,
    target=0.15,  # validation cross-entropy; fixed from a pilot run before the sweep
    tuning_seeds=[1000, 1001],
    long_steps=1800,  # "given more epochs": three times the budget, re-tuned
    long_optimizers=["SGD", "Momentum", "Adam", "AdamW"],
    wd_lrs=[0.001, 0.00316, 0.01, 0.0316],
    wd_values=[0.0, 0.0001, 0.001, 0.01, 0.1, 1.0],
)
LM = dict(
    steps=600,
    warmup=30,  # 5 % linear warm-up in the main comparison, then cosine decay, for every optimizer
    eval_every=100,
    target=4.8,  # validation nats per token; fixed from a pilot run before the sweep
    tuning_seeds=[1000],
    warmup_lrs=[0.001, 0.00316, 0.01],
    warmup_steps=[0, 60],
    warmup_seeds=[0, 1],
    wd_lrs=[0.001, 0.00316, 0.01],
    wd_values=[0.0, 0.01, 0.1, 1.0],  # Adam + L2 against AdamW: 24 grid runs, one tuning seed
)

_TASKS: dict = {}


def _task(kind: str, **kw):
    """Build (once per process) the task a run needs."""
    from optbook import data
    from optbook.train import DigitsTask, LanguageTask

    key = (kind, tuple(sorted(kw.items())))
    if key not in _TASKS:
        if kind == "cnn":
            _TASKS[key] = DigitsTask(data.digits())
        else:
            _TASKS[key] = LanguageTask(data.pydoc_corpus(), **kw)
    return _TASKS[key]


def _init_worker():
    import optbook

    optbook.seed_everything(0, threads=1)


def one_run(spec: dict) -> dict:
    """Run one configuration (a dict of ``train`` arguments plus ``task`` and ``task_kw``)."""
    from optbook.train import train

    spec = dict(spec)
    task = _task(spec.pop("task"), **spec.pop("task_kw", {}))
    return train(task, **spec).as_dict()


def run_all(pool, specs: list[dict]) -> list[dict]:
    return list(pool.map(one_run, specs))


def _compact(run: dict, curves: bool) -> dict:
    keep = ["optimizer", "lr", "seed", "steps", "weight_decay", "warmup", "final", "diverged", "steps_to_target",
            "seconds", "seconds_to_target"]
    if curves:
        keep += ["eval_steps", "train_loss", "val_loss"]
    return {k: run[k] for k in keep}


def tune(pool, base: dict, optimizers: list[str], seeds: list[int], wd_of) -> dict:
    """Round-based tuning of every optimizer on the shared grid, runs in parallel within a round."""
    from optbook.train import best, next_extension

    trials: dict[str, dict[float, list[float]]] = {o: {} for o in optimizers}
    todo = {o: list(GRID) for o in optimizers}
    while any(todo.values()):
        specs = [dict(base, optimizer=o, lr=lr, seed=s, weight_decay=wd_of(o)) for o in optimizers
                 for lr in todo[o] for s in seeds]
        for spec, r in zip(specs, run_all(pool, specs)):
            trials[spec["optimizer"]].setdefault(spec["lr"], []).append(r["final"]["val_loss"])
        for o in optimizers:
            means = {lr: sum(v) / len(v) for lr, v in trials[o].items()}
            new = next_extension(means) if len(trials[o]) < len(GRID) + 3 else None
            todo[o] = [] if new is None else [new]
    out = {}
    for o in optimizers:
        means = {lr: sum(v) / len(v) for lr, v in sorted(trials[o].items())}
        out[o] = {"lrs": list(means), "val_loss": [means[lr] for lr in means], "best_lr": best(means)}
    return out


def final_runs(pool, base: dict, tuned: dict, wd_of, curves=True) -> dict:
    specs = [dict(base, optimizer=o, lr=t["best_lr"], seed=s, weight_decay=wd_of(o),
                  final_splits=("train", "val", "test")) for o, t in tuned.items() for s in FINAL_SEEDS]
    out: dict[str, list] = {o: [] for o in tuned}
    for spec, r in zip(specs, run_all(pool, specs)):
        out[spec["optimizer"]].append(_compact(r, curves))
    return out


def _wd(o):
    return ADAMW_WD if o == "AdamW" else 0.0


def cnn_study(pool) -> dict:
    from optbook.train import OPTIMIZERS

    c = CNN
    base = dict(task="cnn", steps=c["steps"], eval_every=c["eval_every"], target=c["target"])
    res: dict = {"config": {**c, "grid": GRID, "final_seeds": FINAL_SEEDS, "adamw_wd": ADAMW_WD, "batch_size": 32,
                            "batchnorm": False}}
    t0 = time.perf_counter()
    res["tuning"] = tune(pool, base, list(OPTIMIZERS), c["tuning_seeds"], _wd)
    res["final"] = final_runs(pool, base, res["tuning"], _wd)
    print(f"cnn: main comparison done after {time.perf_counter() - t0:.0f} s", flush=True)

    long = dict(base, steps=c["long_steps"], eval_every=3 * c["eval_every"])
    res["long_tuning"] = tune(pool, long, c["long_optimizers"], c["tuning_seeds"], _wd)
    res["long_final"] = final_runs(pool, long, res["long_tuning"], _wd, curves=False)
    print(f"cnn: long budget done after {time.perf_counter() - t0:.0f} s", flush=True)

    cnn_weight_decay(pool, res)
    res["sweep_seconds"] = time.perf_counter() - t0
    return res


def cnn_weight_decay(pool, res: dict) -> None:
    """Adam + L2 against AdamW on a learning-rate × decay grid (tuning seeds, validation loss)."""
    c = CNN
    base = dict(task="cnn", steps=c["steps"], eval_every=c["eval_every"], target=c["target"])
    weight_decay_grid(pool, res, c, base)


def lm_weight_decay(pool, res: dict) -> None:
    """The same Adam + L2 against AdamW grid for the language model (pre-LN, 5 % warm-up)."""
    c = LM
    base = dict(task="lm", task_kw={"pre_ln": True}, steps=c["steps"], warmup=c["warmup"],
                eval_every=c["eval_every"], target=c["target"])
    weight_decay_grid(pool, res, c, base)


def weight_decay_grid(pool, res: dict, c: dict, base: dict) -> None:
    t0 = time.perf_counter()
    specs = [dict(base, optimizer=o, lr=lr, seed=s, weight_decay=wd) for o in ("Adam", "AdamW")
             for wd in c["wd_values"] for lr in c["wd_lrs"] for s in c["tuning_seeds"]]
    grid: dict = {}
    for spec, r in zip(specs, run_all(pool, specs)):
        grid.setdefault(spec["optimizer"], {}).setdefault((spec["weight_decay"], spec["lr"]), []).append(
            r["final"]["val_loss"])
    res["wd_grid"] = {o: [[sum(g[(wd, lr)]) / len(g[(wd, lr)]) for lr in c["wd_lrs"]] for wd in c["wd_values"]]
                      for o, g in grid.items()}
    # Each one's best (lr, wd) cell, then the final seeds on the test split.
    picks = {}
    for o, rows in res["wd_grid"].items():
        i, j = min(((i, j) for i in range(len(rows)) for j in range(len(rows[0]))), key=lambda ij: rows[ij[0]][ij[1]])
        picks[o] = {"weight_decay": c["wd_values"][i], "lr": c["wd_lrs"][j]}
    res["wd_best"] = picks
    specs = [dict(base, optimizer=o, lr=p["lr"], seed=s, weight_decay=p["weight_decay"],
                  final_splits=("train", "val", "test")) for o, p in picks.items() for s in FINAL_SEEDS]
    res["wd_final"] = {o: [] for o in picks}
    for spec, r in zip(specs, run_all(pool, specs)):
        res["wd_final"][spec["optimizer"]].append(_compact(r, False))
    res["config"]["wd_lrs"], res["config"]["wd_values"] = c["wd_lrs"], c["wd_values"]
    res["wd_seconds"] = time.perf_counter() - t0


def lm_study(pool) -> dict:
    from optbook import data
    from optbook.train import OPTIMIZERS

    c = LM
    corpus = data.pydoc_corpus()
    base = dict(task="lm", task_kw={"pre_ln": True}, steps=c["steps"], warmup=c["warmup"],
                eval_every=c["eval_every"], target=c["target"])
    res: dict = {"config": {**c, "grid": GRID, "final_seeds": FINAL_SEEDS, "adamw_wd": ADAMW_WD, "vocab_size": 1000,
                            "context": 32, "batch_size": 16, "d": 64, "layers": 2, "heads": 4},
                 "unigram_val": data.unigram_loss(corpus.train, corpus.val, corpus.vocab_size),
                 "unigram_test": data.unigram_loss(corpus.train, corpus.test, corpus.vocab_size)}
    t0 = time.perf_counter()
    res["tuning"] = tune(pool, base, list(OPTIMIZERS), c["tuning_seeds"], _wd)
    res["final"] = final_runs(pool, base, res["tuning"], _wd)
    print(f"lm: main comparison done after {time.perf_counter() - t0:.0f} s", flush=True)
    # Warm-up or not, post-LN or pre-LN, for Adam over a range of learning rates (validation only).
    specs = [dict(base, task_kw={"pre_ln": pre}, optimizer="Adam", lr=lr, seed=s, warmup=w)
             for pre in (False, True) for w in c["warmup_steps"] for lr in c["warmup_lrs"] for s in c["warmup_seeds"]]
    res["warmup"] = [dict(_compact(r, True), pre_ln=spec["task_kw"]["pre_ln"])
                     for spec, r in zip(specs, run_all(pool, specs))]
    lm_weight_decay(pool, res)
    res["sweep_seconds"] = time.perf_counter() - t0
    return res


def _clean(x):
    """Round floats to 6 significant digits (the file stays small) and write inf as null."""
    if isinstance(x, float):
        return None if not math.isfinite(x) else float(f"{x:.6g}")
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    return x


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("studies", nargs="*", default=["cnn", "lm"], choices=["cnn", "lm", "cnn-wd", "lm-wd"],
                    help="cnn-wd (lm-wd) re-runs only the weight-decay grid of an existing "
                         "optbook/results/cnn.json (lm.json)")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    with ProcessPoolExecutor(args.jobs, initializer=_init_worker) as pool:
        for study in args.studies:
            if study in ("cnn-wd", "lm-wd"):
                path = RESULTS / f"{study[:-3]}.json"
                res = json.loads(path.read_text())
                (cnn_weight_decay if study == "cnn-wd" else lm_weight_decay)(pool, res)
                path.write_text(json.dumps(_clean(res), indent=1) + "\n")
                print(f"{study}: rewrote the weight-decay part of {path} after {res['wd_seconds']:.0f} s")
                continue
            res = (cnn_study if study == "cnn" else lm_study)(pool)
            res["jobs"] = args.jobs
            path = RESULTS / f"{study}.json"
            path.write_text(json.dumps(_clean(res), indent=1) + "\n")
            print(f"{study}: wrote optbook/results/{path.name} after {res['sweep_seconds']:.0f} s", flush=True)


if __name__ == "__main__":
    sys.exit(main())
