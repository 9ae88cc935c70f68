"""The NumPy schedulers of Chapter 9 (exported into optbook.numpy_optim) against torch.optim.lr_scheduler, and the NumPy
clip_grad_norm_ against torch.nn.utils.clip_grad_norm_.

Every scheduler runs over a grid of its arguments, on the book's NumPy SGD (momentum) and Adam
with one and with three parameter groups of different learning rates, side by side with torch's
scheduler on torch.optim.SGD / Adam: each step is ``optimizer.step`` then ``scheduler.step``, and
after each, the learning rates (and, for OneCycleLR, momentum or betas) of every group must equal
torch's to 1e-12 relative. Each case is run three times: straight through; with a resume at step 55
(both ``state_dict``s saved, fresh optimizer and scheduler built, both loaded); and with the user
halving every learning rate at step 30 (which the chained forms must carry on from). The parameters
themselves are compared too, and the schedulers' ``state_dict``s at the end (same keys, same values
as torch's). The worst deviation of each class is printed by the last test.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
import warnings
from collections import Counter, defaultdict

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as TS

from optbook import numpy_optim as no

TOL = 1e-12          # relative, as optbook.torch_check.ROUND_OFF
STEPS = 100
RESUME_AT = 55
SCALE_AT = 30
GROUP_LRS = [0.1, 0.03, 0.5]
SHAPES = [(3, 2), (4,), ()]

WORST_LR: dict[str, float] = defaultdict(float)      # worst relative deviation of lr / momentum, per class
WORST_PARAM: dict[str, float] = defaultdict(float)   # worst relative deviation of the parameters
CASES: Counter = Counter()                            # runs per class

_rng = np.random.default_rng(9)
PARAMS0 = [_rng.standard_normal(s) for s in SHAPES]
GRADS = [[_rng.standard_normal(s) for s in SHAPES] for _ in range(STEPS)]


# ---------------------------------------------------------------- optimizers, both sides

def _groups(params, n_groups):
    if n_groups == 1:
        return [{"params": list(params), "lr": GROUP_LRS[0]}]
    return [{"params": [p], "lr": lr} for p, lr in zip(params, GROUP_LRS)]


def make_optimizer(lib, kind, params, n_groups):
    """``lib`` is "numpy" or "torch"; ``kind`` "SGD" (momentum 0.9) or "Adam"."""
    module = no if lib == "numpy" else torch.optim
    if kind == "SGD":
        return module.SGD(_groups(params, n_groups), lr=0.1, momentum=0.9)
    return module.Adam(_groups(params, n_groups), lr=0.1)


def rel(a, b) -> float:
    """|a - b| / max(|a|, |b|), 0 when both are 0; inf when one is NaN or inf and the other is not."""
    a, b = float(a), float(b)
    if a == b:
        return 0.0
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.inf
    return abs(a - b) / max(abs(a), abs(b))


def param_gap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b))) / max(1.0, float(np.max(np.abs(b))))


def compare_groups(np_opt, t_opt, np_sched, t_sched) -> float:
    """Worst relative deviation of what the schedulers set: lrs, last lrs, momentum / betas."""
    worst = 0.0
    last_np, last_t = np_sched.get_last_lr(), t_sched.get_last_lr()
    assert len(last_np) == len(np_opt.param_groups) == len(last_t)
    for a, b in zip(last_np, last_t):
        worst = max(worst, rel(a, b))
    for g, h in zip(np_opt.param_groups, t_opt.param_groups, strict=True):
        for key in ("lr", "initial_lr", "momentum", "max_lr", "min_lr", "max_momentum", "base_momentum"):
            assert (key in g) == (key in h), key
            if key in g:
                worst = max(worst, rel(g[key], h[key]))
        if "betas" in g:
            worst = max(worst, rel(g["betas"][0], h["betas"][0]), rel(g["betas"][1], h["betas"][1]))
    return worst


def compare_state(a, b, path="state_dict") -> float:
    """The NumPy scheduler's state_dict against torch's: same keys, numbers to round-off."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (path, sorted(a), sorted(b))
        return max([compare_state(a[k], b[k], f"{path}[{k!r}]") for k in a] + [0.0])
    if isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), (path, a, b)
        return max([compare_state(x, y, f"{path}[{i}]") for i, (x, y) in enumerate(zip(a, b))] + [0.0])
    if isinstance(a, bool) or a is None or isinstance(a, str):
        assert a == b, (path, a, b)
        return 0.0
    if isinstance(a, (int, float)):
        assert isinstance(b, (int, float)), (path, a, b)
        return rel(a, b)
    assert a == b, (path, a, b)
    return 0.0


def run_pair(make, kind, n_groups, *, resume_at=None, scale_at=None, steps=STEPS, cross_load=False):
    """Run ``make(L, opt)`` (L = the NumPy module or torch's lr_scheduler) on both sides.

    Returns (worst lr deviation, worst parameter deviation, worst state_dict deviation).
    ``cross_load``: at the resume, the NumPy scheduler loads *torch's* scheduler state_dict.
    """
    np_params = [p.copy() for p in PARAMS0]
    t_params = [torch.tensor(p.copy(), requires_grad=True) for p in PARAMS0]
    np_opt = make_optimizer("numpy", kind, np_params, n_groups)
    t_opt = make_optimizer("torch", kind, t_params, n_groups)
    np_sched, t_sched = make(no, np_opt), make(TS, t_opt)
    worst = compare_groups(np_opt, t_opt, np_sched, t_sched)
    worst_param = 0.0
    for k in range(steps):
        np_opt.step(GRADS[k])
        for p, g in zip(t_params, GRADS[k]):
            p.grad = torch.tensor(g)
        t_opt.step()
        np_sched.step()
        t_sched.step()
        if k == scale_at:  # the user changes the rates between two steps
            for g, h in zip(np_opt.param_groups, t_opt.param_groups):
                g["lr"] *= 0.5
                h["lr"] *= 0.5
        if k == resume_at:
            saved_np = (np_opt.state_dict(), np_sched.state_dict())
            saved_t = copy.deepcopy((t_opt.state_dict(), t_sched.state_dict()))   # as torch.save would
            np_opt = make_optimizer("numpy", kind, np_params, n_groups)
            t_opt = make_optimizer("torch", kind, t_params, n_groups)
            np_sched, t_sched = make(no, np_opt), make(TS, t_opt)   # scheduler first, then load (torch's advice)
            np_opt.load_state_dict(saved_np[0])
            t_opt.load_state_dict(saved_t[0])
            np_sched.load_state_dict(copy.deepcopy(saved_t[1]) if cross_load else saved_np[1])
            t_sched.load_state_dict(saved_t[1])
        worst = max(worst, compare_groups(np_opt, t_opt, np_sched, t_sched))
        for a, t in zip(np_params, t_params):
            worst_param = max(worst_param, param_gap(a, t.detach().numpy()))
    state_dev = compare_state(np_sched.state_dict(), t_sched.state_dict())
    return worst, worst_param, state_dev


def check(name, make, kind, n_groups, torch_warns_order=False, **kw):
    for variant in ({}, {"resume_at": RESUME_AT}, {"scale_at": SCALE_AT}):
        with warnings.catch_warnings():
            warnings.simplefilter("error")          # neither side may warn in a correct loop
            if torch_warns_order:   # torch's own false alarm for a nested SequentialLR (NOTES.md)
                warnings.filterwarnings("ignore", re.escape("Detected call of `lr_scheduler.step()` before"),
                                        UserWarning)
            dev, dev_param, dev_state = run_pair(make, kind, n_groups, **variant, **kw)
        CASES[name] += 1
        WORST_LR[name] = max(WORST_LR[name], dev, dev_state)
        WORST_PARAM[name] = max(WORST_PARAM[name], dev_param)
        assert dev <= TOL and dev_state <= TOL, (name, variant, dev, dev_state)
        assert dev_param <= TOL, (name, variant, dev_param)


# ---------------------------------------------------------------- the grids

def grid(**axes):
    names = list(axes)
    return [dict(zip(names, values)) for values in itertools.product(*axes.values())]


def transformer_warmup(warmup=20, d_model=512):
    """The Transformer's rate, "Attention is all you need" eq. (3), as a LambdaLR factor (step = epoch + 1)."""
    return lambda epoch: d_model ** -0.5 * min((epoch + 1) ** -0.5, (epoch + 1) * warmup ** -1.5)


class Halving:
    """A callable object: its attributes are saved by LambdaLR.state_dict (a lambda's are not)."""

    def __init__(self, every):
        self.every = every
        self.calls = 0

    def __call__(self, epoch):
        self.calls += 1
        return 0.5 ** (epoch // self.every)


LAMBDAS = {
    "transformer": lambda n: transformer_warmup(),
    "exp0.95": lambda n: (lambda e: 0.95 ** e),
    "floor_div_30": lambda n: (lambda e: e // 30),           # 0 for 30 steps
    "per_group": lambda n: ([transformer_warmup(10), lambda e: 0.95 ** e, lambda e: 1.0 / (1 + e)][:n] if n > 1
                            else (lambda e: 0.9 ** e)),
    "callable_object": lambda n: Halving(every=15),
}


def sequential(kind):
    """SequentialLR cases: name -> factory(L, opt)."""
    return {
        # warm-up, stable, decay (WSD): linear up in 10 steps, constant to 70, linear to zero in 30
        "WSD": lambda L, o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.01, end_factor=1.0, total_iters=10),
                                               L.ConstantLR(o, factor=1.0, total_iters=60),
                                               L.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=30)],
                                           milestones=[10, 70]),
        "warmup_cosine": lambda L, o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.1, total_iters=10),
                                                         L.CosineAnnealingLR(o, T_max=90)], milestones=[10]),
        "warmup_cosine_eta_min": lambda L, o: L.SequentialLR(
            o, [L.LinearLR(o, start_factor=0.01, total_iters=5), L.CosineAnnealingLR(o, T_max=40, eta_min=1e-3)],
            milestones=[5]),
        "lambda_then_exponential": lambda L, o: L.SequentialLR(
            o, [L.LambdaLR(o, transformer_warmup()), L.ExponentialLR(o, gamma=0.97)], milestones=[20]),
        "constant_step_multistep": lambda L, o: L.SequentialLR(
            o, [L.ConstantLR(o, factor=0.1, total_iters=5), L.StepLR(o, step_size=10, gamma=0.5),
                L.MultiStepLR(o, milestones=[10, 20], gamma=0.3)], milestones=[5, 50]),
        "linear_then_warm_restarts": lambda L, o: L.SequentialLR(
            o, [L.LinearLR(o, start_factor=0.2, total_iters=10), L.CosineAnnealingWarmRestarts(o, T_0=20, T_mult=2)],
            milestones=[10]),
        "linear_then_lambda": lambda L, o: L.SequentialLR(
            o, [L.LinearLR(o, start_factor=0.2, total_iters=10), L.LambdaLR(o, lambda e: 1.0 / (1 + e))],
            milestones=[10]),
        "polynomial_then_exponential": lambda L, o: L.SequentialLR(
            o, [L.PolynomialLR(o, total_iters=40, power=2.0), L.ExponentialLR(o, gamma=0.9)], milestones=[30]),
        "one_scheduler": lambda L, o: L.SequentialLR(o, [L.StepLR(o, step_size=10)], milestones=[]),
        "milestone_at_0": lambda L, o: L.SequentialLR(
            o, [L.ConstantLR(o, factor=0.5), L.LinearLR(o, start_factor=0.5, total_iters=20)], milestones=[0]),
        "nested_first": lambda L, o: L.SequentialLR(
            o, [L.SequentialLR(o, [L.LinearLR(o, start_factor=0.1, total_iters=5),
                                   L.ConstantLR(o, factor=0.5, total_iters=5)], milestones=[5]),
                L.CosineAnnealingLR(o, T_max=80)], milestones=[20]),
    }


def build_cases():
    cases = []   # (class name, id, factory(L, opt), kind, n_groups)

    def add(name, cid, make, kinds=("SGD", "Adam"), groups=(1, 3)):
        for kind in kinds:
            for n in groups:
                cases.append(pytest.param(name, make, kind, n, id=f"{name}-{cid}-{kind}-{n}groups"))

    for key, lam in LAMBDAS.items():
        add("LambdaLR", key, lambda L, o, lam=lam: L.LambdaLR(o, lr_lambda=lam(len(o.param_groups))))
    multiplicative = {
        "constant0.95": lambda n: (lambda e: 0.95),
        "every_10th": lambda n: (lambda e: 0.5 if e % 10 == 0 else 1.0),
        "per_group": lambda n: ([lambda e: 0.99, lambda e: 1.0 - 1.0 / (e + 10), lambda e: 0.97][:n] if n > 1
                                else (lambda e: 0.98)),
        "callable_object": lambda n: Halving(every=1000),     # 1 except at epoch 0 (skipped): constant
    }
    for key, lam in multiplicative.items():
        add("MultiplicativeLR", key, lambda L, o, lam=lam: L.MultiplicativeLR(o, lr_lambda=lam(len(o.param_groups))))
    chained = {
        "constant_exponential": lambda L, o: L.ChainedScheduler([L.ConstantLR(o, factor=0.1, total_iters=5),
                                                                 L.ExponentialLR(o, gamma=0.95)]),
        "warmup_times_cosine": lambda L, o: L.ChainedScheduler([L.LinearLR(o, start_factor=0.05, total_iters=10),
                                                                L.CosineAnnealingLR(o, T_max=100, eta_min=1e-4)]),
        "step_multistep_given_optimizer": lambda L, o: L.ChainedScheduler(
            [L.StepLR(o, step_size=9, gamma=0.7), L.MultiStepLR(o, milestones=[20, 60], gamma=0.5)], optimizer=o),
        "nested_in_sequential": lambda L, o: L.SequentialLR(
            o, [L.ChainedScheduler([L.ConstantLR(o, factor=0.5, total_iters=8), L.ExponentialLR(o, 0.98)]),
                L.PolynomialLR(o, total_iters=60, power=1.5)], milestones=[30]),
    }
    for key, make in chained.items():
        add("ChainedScheduler", key, make)
    for kw in grid(step_size=[1, 7, 30], gamma=[0.1, 0.5, 0.9]):
        add("StepLR", kw, lambda L, o, kw=kw: L.StepLR(o, **kw))
    for kw in grid(milestones=[[30, 80], [10, 10, 50], [0, 25, 25, 99], [200]], gamma=[0.1, 0.5]):
        add("MultiStepLR", kw, lambda L, o, kw=kw: L.MultiStepLR(o, **kw))
    for kw in grid(factor=[1.0 / 3, 0.5, 1.0], total_iters=[0, 5, 40, 150]):
        add("ConstantLR", kw, lambda L, o, kw=kw: L.ConstantLR(o, **kw))
    for kw in grid(start_factor=[1.0 / 3, 0.05, 1.0], end_factor=[1.0, 0.5, 0.0], total_iters=[5, 40, 100, 150]):
        add("LinearLR", kw, lambda L, o, kw=kw: L.LinearLR(o, **kw))
    for kw in grid(gamma=[0.9, 0.99, 1.0, 1.02]):
        add("ExponentialLR", kw, lambda L, o, kw=kw: L.ExponentialLR(o, **kw))
    for kw in grid(total_iters=[5, 50, 100, 150], power=[1.0, 2.0, 0.5, 3.0]):
        add("PolynomialLR", kw, lambda L, o, kw=kw: L.PolynomialLR(o, **kw))
    for kw in grid(T_max=[1, 10, 33, 100, 1000], eta_min=[0.0, 1e-4, 0.01]):
        add("CosineAnnealingLR", kw, lambda L, o, kw=kw: L.CosineAnnealingLR(o, **kw))
    for kw in grid(T_0=[1, 10, 30], T_mult=[1, 2, 3], eta_min=[0.0, 1e-3]):
        add("CosineAnnealingWarmRestarts", kw, lambda L, o, kw=kw: L.CosineAnnealingWarmRestarts(o, **kw))
    for key, make in sequential(None).items():
        add("SequentialLR", key, make)
    # the linear decay to zero, two ways
    add("LinearLR", "linear_to_zero", lambda L, o: L.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=STEPS))
    add("PolynomialLR", "linear_to_zero", lambda L, o: L.PolynomialLR(o, total_iters=STEPS, power=1.0))
    # OneCycleLR: the full product of the shape options, with SGD (momentum) and Adam (betas)
    for kw in grid(anneal_strategy=["cos", "linear"], three_phase=[False, True], cycle_momentum=[True, False],
                   pct_start=[0.3, 0.25, 0.5]):
        add("OneCycleLR", kw, lambda L, o, kw=kw: L.OneCycleLR(o, max_lr=1.0, total_steps=STEPS, **kw))
    one_cycle_special = {
        "per_group_lists": lambda L, o: L.OneCycleLR(o, max_lr=[1.0, 0.3, 2.0], total_steps=STEPS,
                                                     base_momentum=[0.8, 0.85, 0.9], max_momentum=[0.9, 0.95, 0.99]),
        "div_factors": lambda L, o: L.OneCycleLR(o, max_lr=[0.5, 0.1, 1.0], total_steps=STEPS, div_factor=10.0,
                                                 final_div_factor=100.0, three_phase=True),
        "epochs_steps": lambda L, o: L.OneCycleLR(o, max_lr=[0.5, 0.1, 1.0], epochs=10, steps_per_epoch=10,
                                                  anneal_strategy="linear"),
    }
    for key, make in one_cycle_special.items():
        add("OneCycleLR", key, make, groups=(3,))
    add("OneCycleLR", "longer_cycle", lambda L, o: L.OneCycleLR(o, max_lr=0.2, total_steps=250, pct_start=0.1))
    return cases


CASE_LIST = build_cases()


@pytest.mark.parametrize("name, make, kind, n_groups", CASE_LIST)
def test_matches_torch_step_by_step(name, make, kind, n_groups, request):
    check(name, make, kind, n_groups, torch_warns_order="nested" in request.node.name)


@pytest.mark.parametrize("name, make, kind, n_groups",
                         [c for c in CASE_LIST if c.values[2] == "SGD" and c.values[3] == 3])
def test_loads_torchs_state_dict(name, make, kind, n_groups):
    """A NumPy scheduler resumes from the state_dict of torch's scheduler (same keys, same meaning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dev, dev_param, dev_state = run_pair(make, kind, n_groups, resume_at=RESUME_AT, cross_load=True)
    assert max(dev, dev_param, dev_state) <= TOL


RESUMABLE = {   # classes built with last_epoch >= 0 (torch's other way to resume: groups keep initial_lr)
    "LambdaLR": lambda L, o, e: L.LambdaLR(o, transformer_warmup(), last_epoch=e),
    "StepLR": lambda L, o, e: L.StepLR(o, step_size=4, gamma=0.5, last_epoch=e),
    "MultiStepLR": lambda L, o, e: L.MultiStepLR(o, milestones=[12, 20, 30], gamma=0.5, last_epoch=e),
    "ConstantLR": lambda L, o, e: L.ConstantLR(o, factor=0.5, total_iters=15, last_epoch=e),
    "LinearLR": lambda L, o, e: L.LinearLR(o, start_factor=0.1, total_iters=25, last_epoch=e),
    "ExponentialLR": lambda L, o, e: L.ExponentialLR(o, gamma=0.9, last_epoch=e),
    "PolynomialLR": lambda L, o, e: L.PolynomialLR(o, total_iters=30, power=2.0, last_epoch=e),
    "CosineAnnealingLR": lambda L, o, e: L.CosineAnnealingLR(o, T_max=30, eta_min=1e-3, last_epoch=e),
    "CosineAnnealingWarmRestarts": lambda L, o, e: L.CosineAnnealingWarmRestarts(o, T_0=7, T_mult=2, last_epoch=e),
    "OneCycleLR": lambda L, o, e: L.OneCycleLR(o, max_lr=1.0, total_steps=60, last_epoch=e),
    "SequentialLR": lambda L, o, e: L.SequentialLR(o, [L.LinearLR(o, total_iters=5), L.ExponentialLR(o, 0.9)],
                                                   milestones=[8], last_epoch=e),
}


@pytest.mark.parametrize("name", list(RESUMABLE))
@pytest.mark.parametrize("last_epoch", [3, 11, 12])
def test_built_with_last_epoch_matches_torch(name, last_epoch):
    """A scheduler built with last_epoch >= 0 over groups that already have initial_lr, as torch
    documents for resuming (its quirks included: the first step is not always the next rate)."""
    make = RESUMABLE[name]
    np_opt = make_optimizer("numpy", "SGD", [p.copy() for p in PARAMS0], 3)
    t_params = [torch.tensor(p.copy(), requires_grad=True) for p in PARAMS0]
    t_opt = make_optimizer("torch", "SGD", t_params, 3)
    make(no, np_opt, -1)               # a first scheduler stores initial_lr (and OneCycleLR's entries)
    make(TS, t_opt, -1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")    # torch's step-order warning: no optimizer step here
        ns, ts = make(no, np_opt, last_epoch), make(TS, t_opt, last_epoch)
        assert compare_groups(np_opt, t_opt, ns, ts) <= TOL
        for _ in range(40):
            t_opt.step()
            ns.step()
            ts.step()
            assert compare_groups(np_opt, t_opt, ns, ts) <= TOL
    assert compare_state(ns.state_dict(), ts.state_dict()) <= TOL


# ---------------------------------------------------------------- behaviour beyond the grid

class StandIn:
    """What the classes may assume of an optimizer: a list of parameter groups, nothing else."""

    def __init__(self, groups):
        self.param_groups = groups


@pytest.mark.parametrize("make", [
    lambda L, o: L.CosineAnnealingLR(o, T_max=30, eta_min=1e-3),
    lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=60),
    sequential("SGD")["WSD"],
    lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=7, T_mult=2),
], ids=["cosine", "one_cycle", "WSD", "warm_restarts"])
@pytest.mark.parametrize("field", ["momentum", "betas"])
def test_runs_on_a_stand_in_with_param_groups_only(make, field):
    extra = (lambda: {"momentum": 0.9}) if field == "momentum" else (lambda: {"betas": (0.9, 0.999)})
    stand_in = StandIn([{"lr": lr, **extra()} for lr in GROUP_LRS])
    t_groups = [{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in GROUP_LRS]
    t_opt = torch.optim.SGD(t_groups, momentum=0.9) if field == "momentum" else torch.optim.Adam(t_groups)
    ns, ts = make(no, stand_in), make(TS, t_opt)
    for _ in range(59):
        t_opt.step()
        ns.step()
        ts.step()
        assert compare_groups(stand_in, t_opt, ns, ts) <= TOL


@pytest.mark.parametrize("n_groups", [1, 2, 5])
def test_get_last_lr_has_one_value_per_group(n_groups):
    groups = [{"lr": 0.1 * (i + 1), "momentum": 0.9} for i in range(n_groups)]
    for make in [lambda o: no.StepLR(o, 2), lambda o: no.LambdaLR(o, lambda e: 1 / (e + 1)),
                 lambda o: no.OneCycleLR(o, 1.0, total_steps=10),
                 lambda o: no.SequentialLR(o, [no.LinearLR(o), no.ExponentialLR(o, 0.9)], [3]),
                 lambda o: no.CosineAnnealingWarmRestarts(o, 3)]:
        opt = StandIn(copy.deepcopy(groups))
        sched = make(opt)
        for _ in range(6):
            assert sched.get_last_lr() == [g["lr"] for g in opt.param_groups]
            assert len(sched.get_last_lr()) == n_groups
            sched.step()
        if not isinstance(sched, no.SequentialLR):     # which has no base_lrs, as in torch
            assert len(sched.base_lrs) == n_groups
        assert all("initial_lr" in g for g in opt.param_groups)


def test_initial_lr_is_stored_and_kept():
    """As torch: the first scheduler stores initial_lr; a second one keeps it (setdefault)."""
    opt = StandIn([{"lr": 0.1}, {"lr": 0.2}])
    no.StepLR(opt, 5)
    opt.param_groups[0]["lr"] = 0.7
    s = no.ExponentialLR(opt, 0.5)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.2] == s.base_lrs


def test_get_lr_outside_step_warns_as_torch():
    t_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    for name in ["StepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR"]:
        args = {"StepLR": (3,), "ExponentialLR": (0.9,), "CosineAnnealingLR": (10,), "LinearLR": ()}[name]
        ns = getattr(no, name)(StandIn([{"lr": 0.1}]), *args)
        ts = getattr(TS, name)(t_opt, *args)
        with pytest.warns(UserWarning) as ours:
            ns.get_lr()
        with pytest.warns(UserWarning) as theirs:
            ts.get_lr()
        assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]


def test_state_dict_is_a_copy_and_lambda_objects_are_saved():
    opt = StandIn([{"lr": 0.1}])
    fn = Halving(every=3)
    s = no.LambdaLR(opt, fn)
    for _ in range(5):
        s.step()
    saved = s.state_dict()
    assert saved["lr_lambdas"] == [{"every": 3, "calls": 6}]
    assert no.LambdaLR(StandIn([{"lr": 0.1}]), lambda e: 1.0).state_dict()["lr_lambdas"] == [None]
    s.step()
    assert saved["last_epoch"] == 5 and saved["_last_lr"] == [0.1 * 0.5]    # not changed by the later step
    fresh_fn = Halving(every=1)
    fresh = no.LambdaLR(StandIn([{"lr": 0.1, "initial_lr": 0.1}]), fresh_fn)
    fresh.load_state_dict(saved)
    assert fresh_fn.every == 3 and fresh.last_epoch == 5


# ---------------------------------------------------------------- errors: torch's types and words

def raised(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        return type(e), str(e)
    return None, None


def _np_opt(kind="SGD", n=1):
    params = [np.zeros(2) for _ in range(n)]
    groups = [{"params": [p], "lr": 0.1 * (i + 1)} for i, p in enumerate(params)]
    return {"SGD": lambda: no.SGD(groups, lr=0.1, momentum=0.9), "Adam": lambda: no.Adam(groups),
            "Adagrad": lambda: no.Adagrad(groups)}[kind]()


def _t_opt(kind="SGD", n=1):
    groups = [{"params": [torch.zeros(2, requires_grad=True)], "lr": 0.1 * (i + 1)} for i in range(n)]
    return {"SGD": lambda: torch.optim.SGD(groups, lr=0.1, momentum=0.9), "Adam": lambda: torch.optim.Adam(groups),
            "Adagrad": lambda: torch.optim.Adagrad(groups)}[kind]()


def _step_too_far(L, o):
    s = L.OneCycleLR(o, max_lr=1.0, total_steps=3)
    for _ in range(4):
        o.step() if L is TS else None      # (torch warns if its optimizer has not stepped)
        s.step()


def _two_optimizers(L, o):
    other = _np_opt() if L is no else _t_opt()
    return L.SequentialLR(o, [L.StepLR(o, 2), L.StepLR(other, 2)], milestones=[3])


ERRORS = {
    "LinearLR start_factor=0": lambda L, o: L.LinearLR(o, start_factor=0),
    "LinearLR start_factor=1.5": lambda L, o: L.LinearLR(o, start_factor=1.5),
    "LinearLR end_factor=-0.1": lambda L, o: L.LinearLR(o, end_factor=-0.1),
    "LinearLR end_factor=1.5": lambda L, o: L.LinearLR(o, end_factor=1.5),
    "ConstantLR factor=1.5": lambda L, o: L.ConstantLR(o, factor=1.5),
    "ConstantLR factor=-0.5": lambda L, o: L.ConstantLR(o, factor=-0.5),
    "LambdaLR two lambdas for three groups": lambda L, o: L.LambdaLR(o, [lambda e: 1.0] * 2),
    "SequentialLR no scheduler": lambda L, o: L.SequentialLR(o, [], milestones=[]),
    "SequentialLR milestones length": lambda L, o: L.SequentialLR(o, [L.LinearLR(o), L.StepLR(o, 3)],
                                                                  milestones=[2, 5]),
    "SequentialLR no milestone for two": lambda L, o: L.SequentialLR(o, [L.LinearLR(o), L.StepLR(o, 3)], milestones=[]),
    "SequentialLR not a scheduler": lambda L, o: L.SequentialLR(o, [object()], milestones=[]),
    "SequentialLR two optimizers": _two_optimizers,
    "OneCycleLR total_steps=0": lambda L, o: L.OneCycleLR(o, 1.0, total_steps=0),
    "OneCycleLR total_steps=10.0": lambda L, o: L.OneCycleLR(o, 1.0, total_steps=10.0),
    "OneCycleLR no length": lambda L, o: L.OneCycleLR(o, 1.0),
    "OneCycleLR epochs only": lambda L, o: L.OneCycleLR(o, 1.0, epochs=3),
    "OneCycleLR epochs=0": lambda L, o: L.OneCycleLR(o, 1.0, epochs=0, steps_per_epoch=5),
    "OneCycleLR steps_per_epoch=-1": lambda L, o: L.OneCycleLR(o, 1.0, epochs=2, steps_per_epoch=-1),
    "OneCycleLR pct_start=1.5": lambda L, o: L.OneCycleLR(o, 1.0, total_steps=10, pct_start=1.5),
    "OneCycleLR pct_start=1 (int)": lambda L, o: L.OneCycleLR(o, 1.0, total_steps=10, pct_start=1),
    "OneCycleLR anneal_strategy": lambda L, o: L.OneCycleLR(o, 1.0, total_steps=10, anneal_strategy="exp"),
    "OneCycleLR max_lr list length": lambda L, o: L.OneCycleLR(o, [1.0, 2.0], total_steps=10),
    "OneCycleLR base_momentum list length": lambda L, o: L.OneCycleLR(o, 1.0, total_steps=10, base_momentum=[0.8] * 2),
    "OneCycleLR step past total_steps": _step_too_far,
    "CosineAnnealingWarmRestarts T_0=0": lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=0),
    "CosineAnnealingWarmRestarts T_0=2.5": lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=2.5),
    "CosineAnnealingWarmRestarts T_mult=0": lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=0),
    "CosineAnnealingWarmRestarts T_mult=1.5": lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=1.5),
    "CosineAnnealingWarmRestarts eta_min='0'": lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=5, eta_min="0"),
    "MultiplicativeLR not callable": lambda L, o: L.MultiplicativeLR(o, [lambda e: 1.0, 0.5, lambda e: 1.0]),
    "MultiplicativeLR two lambdas for three groups": lambda L, o: L.MultiplicativeLR(o, [lambda e: 1.0] * 2),
    "ChainedScheduler no scheduler": lambda L, o: L.ChainedScheduler([]),
    "ChainedScheduler not a scheduler": lambda L, o: L.ChainedScheduler([L.StepLR(o, 2), object()]),
    "ChainedScheduler with ReduceLROnPlateau": lambda L, o: L.ChainedScheduler([L.StepLR(o, 2),
                                                                                L.ReduceLROnPlateau(o)]),
    "SequentialLR with ReduceLROnPlateau": lambda L, o: L.SequentialLR(o, [L.StepLR(o, 2), L.ReduceLROnPlateau(o)],
                                                                       [3]),
    "ReduceLROnPlateau factor=1": lambda L, o: L.ReduceLROnPlateau(o, factor=1.0),
    "ReduceLROnPlateau mode": lambda L, o: L.ReduceLROnPlateau(o, mode="up"),
    "ReduceLROnPlateau threshold_mode": lambda L, o: L.ReduceLROnPlateau(o, threshold_mode="pct"),
    "ReduceLROnPlateau min_lr list length": lambda L, o: L.ReduceLROnPlateau(o, min_lr=[0.0, 0.0]),
    "ReduceLROnPlateau not an optimizer": lambda L, o: L.ReduceLROnPlateau(object()),
    "resume without initial_lr": lambda L, o: L.StepLR(o, 3, last_epoch=4),
    "not an optimizer": lambda L, o: L.StepLR(object(), 3),
    "OneCycleLR not an optimizer": lambda L, o: L.OneCycleLR(object(), 1.0, total_steps=10),
}


@pytest.mark.parametrize("case", list(ERRORS))
@pytest.mark.parametrize("kind", ["SGD", "Adam"])
def test_errors_are_torchs(case, kind):
    n = 3
    ours = raised(lambda: ERRORS[case](no, _np_opt(kind, n)))
    theirs = raised(lambda: ERRORS[case](TS, _t_opt(kind, n)))
    assert theirs[0] is not None, "torch accepts this case"
    assert ours[0] is theirs[0], (ours, theirs)
    if case == "SequentialLR two optimizers":   # the message shows the optimizer's repr: compare around it
        pattern = r"has .* which is different"
        assert re.sub(pattern, "has <opt>, which is different", ours[1], flags=re.S) == \
            re.sub(pattern, "has <opt>, which is different", theirs[1], flags=re.S)
    else:
        assert ours[1] == theirs[1]


def test_one_cycle_refuses_an_optimizer_without_momentum():
    ours = raised(lambda: no.OneCycleLR(_np_opt("Adagrad"), 1.0, total_steps=10))
    theirs = raised(lambda: TS.OneCycleLR(_t_opt("Adagrad"), 1.0, total_steps=10))
    assert ours == theirs and ours[0] is ValueError
    no.OneCycleLR(_np_opt("Adagrad"), 1.0, total_steps=10, cycle_momentum=False)  # accepted, as torch


_mrng = np.random.default_rng(5)
# a validation loss: falls, stalls, falls, stalls (with noise), so the rates drop several times
METRIC = np.concatenate([np.linspace(1.0, 0.5, 25), np.full(30, 0.5), np.linspace(0.5, 0.3, 15), np.full(30, 0.3)])
METRIC = METRIC + 1e-3 * _mrng.standard_normal(METRIC.size)

PLATEAU = grid(mode=["min", "max"], factor=[0.1, 0.5], patience=[0, 3, 10], threshold=[1e-4, 1e-2],
               threshold_mode=["rel", "abs"], cooldown=[0, 4], min_lr=[0, [1e-3, 2e-2, 0.0]])
PLATEAU += grid(mode=["min"], factor=[0.5], patience=[2], threshold=[1e-4], threshold_mode=["rel", "abs"],
                cooldown=[1], min_lr=[1e-3, 0.04], eps=[1e-8, 1e-2])     # min_lr reached; eps large


@pytest.mark.parametrize("kw", PLATEAU, ids=[",".join(f"{k}={v}" for k, v in kw.items()) for kw in PLATEAU])
def test_reduce_lr_on_plateau_matches_torch(kw):
    metric = METRIC if kw["mode"] == "min" else -METRIC
    for resume in (False, True):
        np_opt = make_optimizer("numpy", "SGD", [p.copy() for p in PARAMS0], 3)
        t_opt = make_optimizer("torch", "SGD", [torch.tensor(p.copy(), requires_grad=True) for p in PARAMS0], 3)
        ns, ts = no.ReduceLROnPlateau(np_opt, **kw), TS.ReduceLROnPlateau(t_opt, **kw)
        worst = compare_groups(np_opt, t_opt, ns, ts)
        for k, m in enumerate(metric):
            ns.step(m)
            ts.step(torch.tensor(m))            # torch takes a 0-d tensor (or a float)
            if resume and k == 40:
                saved_np = (np_opt.state_dict(), ns.state_dict())
                saved_t = copy.deepcopy((t_opt.state_dict(), ts.state_dict()))
                np_opt = make_optimizer("numpy", "SGD", [p.copy() for p in PARAMS0], 3)
                t_opt = make_optimizer("torch", "SGD", [torch.tensor(p.copy(), requires_grad=True) for p in PARAMS0], 3)
                ns, ts = no.ReduceLROnPlateau(np_opt, **kw), TS.ReduceLROnPlateau(t_opt, **kw)
                np_opt.load_state_dict(saved_np[0])
                t_opt.load_state_dict(saved_t[0])
                ns.load_state_dict(saved_np[1])
                ts.load_state_dict(saved_t[1])
            worst = max(worst, compare_groups(np_opt, t_opt, ns, ts))
            counters = ("num_bad_epochs", "cooldown_counter", "last_epoch", "best")
            assert [getattr(ns, c) for c in counters] == [getattr(ts, c) for c in counters]
        worst = max(worst, compare_state(ns.state_dict(), ts.state_dict()))
        CASES["ReduceLROnPlateau"] += 1
        WORST_LR["ReduceLROnPlateau"] = max(WORST_LR["ReduceLROnPlateau"], worst)
        assert worst <= TOL


def test_reduce_lr_on_plateau_after_a_group_is_added():
    """As torch: with one min_lr for all, a group added later gets it; with a list, RuntimeError."""
    for min_lr in (1e-3, [1e-3]):
        np_opt, t_opt = _np_opt(), _t_opt()
        ns = no.ReduceLROnPlateau(np_opt, patience=0, min_lr=min_lr)
        ts = TS.ReduceLROnPlateau(t_opt, patience=0, min_lr=min_lr)
        np_opt.add_param_group({"params": [np.zeros(3)], "lr": 0.5})
        t_opt.add_param_group({"params": [torch.zeros(3, requires_grad=True)], "lr": 0.5})
        ours = raised(lambda s=ns: [s.step(m) for m in (1.0, 2.0, 3.0)])
        theirs = raised(lambda s=ts: [s.step(m) for m in (1.0, 2.0, 3.0)])
        assert ours == theirs
        assert [g["lr"] for g in np_opt.param_groups] == [g["lr"] for g in t_opt.param_groups]


# ---------------------------------------------------------------- clip_grad_norm_

CLIP_WORST: dict[str, float] = defaultdict(float)


def _grad_sets(dtype):
    rng = np.random.default_rng(3)
    return {
        "mixed_shapes": [np.array(rng.standard_normal(s) * 10.0 ** rng.integers(-3, 2), dtype=dtype)
                         for s in [(5, 4), (7,), (), (2, 3, 2)]],
        "single": [rng.standard_normal((50,)).astype(dtype)],
        "large": [rng.standard_normal((300, 40)).astype(dtype), rng.standard_normal((40,)).astype(dtype)],
        "with_zeros": [np.zeros(4, dtype=dtype), rng.standard_normal(6).astype(dtype)],
    }


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, 0.5, math.inf, -math.inf, 0.0, "inf", 2])
@pytest.mark.parametrize("max_norm", [1e-3, 1.0, 1e6])
def test_clip_grad_norm_matches_torch(dtype, norm_type, max_norm):
    # float32: sums of up to 12 000 float32 terms, added in different orders by torch and NumPy
    tol = TOL if dtype == np.float64 else 1e-5
    for key, grads in _grad_sets(dtype).items():
        ours = [g.copy() for g in grads]
        tensors = [torch.zeros(g.shape, dtype=torch.float64 if dtype == np.float64 else torch.float32,
                               requires_grad=True) for g in grads]
        for t, g in zip(tensors, grads):
            t.grad = torch.tensor(g.copy())
        total = no.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
        t_total = torch.nn.utils.clip_grad_norm_(tensors, max_norm, norm_type=norm_type)
        assert np.asarray(total).dtype == dtype
        worst = rel(total, t_total.item())
        for a, t in zip(ours, tensors):
            b = t.grad.numpy()
            scale = max(float(np.max(np.abs(b))) if b.size else 0.0, 1e-300)
            worst = max(worst, float(np.max(np.abs(a - b))) / scale if b.size else 0.0)
            assert a.dtype == dtype
        CLIP_WORST[np.dtype(dtype).name] = max(CLIP_WORST[np.dtype(dtype).name], worst)
        assert worst <= tol, (key, worst)


def test_clip_grad_norm_clips_to_max_norm_and_leaves_small_gradients():
    g = [np.array([3.0, 4.0])]
    assert no.clip_grad_norm_(g, 1.0) == 5.0
    assert np.allclose(g[0], [3 / (5 + 1e-6), 4 / (5 + 1e-6)])
    h = [np.array([0.3, 0.4])]
    no.clip_grad_norm_(h, 1.0)
    assert h[0].tolist() == [0.3, 0.4]                      # multiplied by exactly 1.0
    single = np.array([30.0, 40.0])
    no.clip_grad_norm_(single, 5.0)                          # one array, like one tensor
    assert np.allclose(single, [3.0, 4.0], rtol=1e-6)
    assert no.clip_grad_norm_([], 1.0) == 0.0 == torch.nn.utils.clip_grad_norm_([], 1.0).item()
    k = [None, np.array([6.0, 8.0])]
    assert no.clip_grad_norm_(k, 5.0) == 10.0               # None entries (no gradient) are skipped
    with pytest.raises(TypeError, match="must be a NumPy array"):
        no.clip_grad_norm_([np.float64(3.0)], 1.0)           # a scalar cannot be scaled in place


@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply:RuntimeWarning")  # inf * 0, as torch
@pytest.mark.parametrize("bad", [math.inf, math.nan])
@pytest.mark.parametrize("norm_type", [2.0, math.inf])
def test_clip_grad_norm_non_finite(bad, norm_type):
    base = [np.array([1.0, bad, 2.0]), np.array([3.0])]
    tensors = [torch.zeros(n, dtype=torch.float64, requires_grad=True) for n in (3, 1)]
    for t, g in zip(tensors, base):
        t.grad = torch.tensor(g.copy())
    ours = raised(lambda: no.clip_grad_norm_([g.copy() for g in base], 1.0, norm_type, error_if_nonfinite=True))
    theirs = raised(lambda: torch.nn.utils.clip_grad_norm_(tensors, 1.0, norm_type, error_if_nonfinite=True))
    assert ours == theirs and ours[0] is RuntimeError
    grads = [g.copy() for g in base]
    total = no.clip_grad_norm_(grads, 1.0, norm_type)
    t_total = torch.nn.utils.clip_grad_norm_(tensors, 1.0, norm_type)
    assert np.array_equal(np.asarray(total), t_total.numpy(), equal_nan=True)
    for a, t in zip(grads, tensors):
        assert np.array_equal(a, t.grad.numpy(), equal_nan=True)


# ---------------------------------------------------------------- the record (runs last)

def test_zz_worst_deviation_per_class():
    names = ["LambdaLR", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "ConstantLR",
             "PolynomialLR", "SequentialLR", "OneCycleLR", "CosineAnnealingWarmRestarts",
             "MultiplicativeLR", "ChainedScheduler", "ReduceLROnPlateau"]
    lines = [f"{'class':30s} {'runs':>5s} {'lr/momentum/state':>18s} {'parameters':>11s}"]
    for name in names:
        params = f"{WORST_PARAM[name]:11.2e}" if name in WORST_PARAM else f"{'(no steps)':>11s}"
        lines.append(f"{name:30s} {CASES[name]:5d} {WORST_LR[name]:18.2e} {params}")
    for dtype, dev in CLIP_WORST.items():
        lines.append(f"{'clip_grad_norm_ ' + dtype:30s} {'':5s} {dev:18.2e}")
    print("\n" + "\n".join(lines))
    ran = [n for n in names if CASES[n]]
    if len(ran) == len(names):      # the whole file ran (not a -k selection)
        assert all(WORST_LR[n] <= TOL and WORST_PARAM.get(n, 0.0) <= TOL for n in names)
