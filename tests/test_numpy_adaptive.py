"""The adaptive NumPy optimizers (Adagrad from Chapter 5, RMSprop and Adadelta from Chapter 6,
Adam from Chapter 7, AdamW from Chapter 8) against torch.optim: every argument over a grid,
learning-rate and hyper-parameter changes between steps, parameter groups, groups added mid-run,
state_dict round trips mid-run, and PyTorch's error messages. The worst deviation of each family
is recorded and checked."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest
import torch

from optbook import numpy_optim as no
from optbook.torch_check import ROUND_OFF, max_deviation

SHAPES = [(3, 4), (5,), (), (2, 3)]


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(11)
    params0 = [rng.standard_normal(s) for s in SHAPES]
    # gradients over six orders of magnitude, so eps and the accumulators matter
    grads = [[rng.standard_normal(s) * 10.0 ** rng.integers(-4, 2) for s in SHAPES] for _ in range(20)]
    return params0, grads


def _grid(**axes):
    names = list(axes)
    return [dict(zip(names, values)) for values in itertools.product(*axes.values())]


ADAGRAD = _grid(lr=[1e-3, 0.1, 1.0], lr_decay=[0.0, 0.05], weight_decay=[0.0, 0.1],
                initial_accumulator_value=[0.0, 0.1], eps=[1e-10, 1e-3], maximize=[False, True])
# centered with alpha = 0 is left out: there v - m^2 = g^2 - g^2 is zero up to round-off, and the
# square root of round-off (1e-8 |g|) is not determined by the computation (torch's fused
# multiply-add and NumPy's two roundings give different ones); it is a degenerate setting.
RMSPROP = [kw for kw in _grid(lr=[1e-3, 0.1], alpha=[0.0, 0.5, 0.99], eps=[1e-8, 1e-3], weight_decay=[0.0, 0.1],
                              momentum=[0.0, 0.9], centered=[False, True], maximize=[False, True])
           if not (kw["centered"] and kw["alpha"] == 0.0)]
ADADELTA = _grid(lr=[1.0, 0.1], rho=[0.0, 0.9, 0.95, 1.0], eps=[1e-6, 1e-3], weight_decay=[0.0, 0.1],
                 maximize=[False, True])
# Adam: every argument, beta1 and beta2 down to 0 (sign descent; torch takes the lerp's other
# branch when 1 - beta1 >= 0.5); AdamW: its own default weight decay and larger ones.
ADAM = _grid(lr=[1e-3, 0.1], betas=[(0.0, 0.0), (0.5, 0.9), (0.9, 0.999)], eps=[1e-8, 1e-3],
             weight_decay=[0.0, 0.1], amsgrad=[False, True], maximize=[False, True],
             decoupled_weight_decay=[False, True])
ADAMW = _grid(lr=[1e-3, 0.1], betas=[(0.0, 0.9), (0.9, 0.999)], eps=[1e-8, 1e-3], weight_decay=[0.0, 1e-2, 0.5],
              amsgrad=[False, True], maximize=[False, True])

FAMILIES = {
    "Adagrad": (no.Adagrad, torch.optim.Adagrad, ADAGRAD),
    "RMSprop": (no.RMSprop, torch.optim.RMSprop, RMSPROP),
    "Adadelta": (no.Adadelta, torch.optim.Adadelta, ADADELTA),
    "Adam": (no.Adam, torch.optim.Adam, ADAM),
    "AdamW": (no.AdamW, torch.optim.AdamW, ADAMW),
}
# schedules: none; lr from the first step; lr twice, mid-run; another hyper-parameter mid-run
SCHEDULES = {
    "Adagrad": [{}, {0: {"lr": 0.05}}, {3: {"lr": 0.2}, 11: {"lr": 1e-3}}, {6: {"lr_decay": 0.2, "eps": 1e-6}}],
    "RMSprop": [{}, {0: {"lr": 0.05}}, {3: {"lr": 0.2}, 11: {"lr": 1e-3}}, {6: {"alpha": 0.9, "eps": 1e-6}}],
    "Adadelta": [{}, {0: {"lr": 0.5}}, {3: {"lr": 0.2}, 11: {"lr": 2.0}}, {6: {"rho": 0.5, "eps": 1e-4}}],
    "Adam": [{}, {0: {"lr": 0.05}}, {3: {"lr": 0.2}, 11: {"lr": 1e-3}},
             {6: {"betas": (0.8, 0.99), "eps": 1e-6}, 13: {"weight_decay": 0.05}}],
    "AdamW": [{}, {0: {"lr": 0.05}}, {3: {"lr": 0.2}, 11: {"lr": 1e-3}},
              {6: {"betas": (0.5, 0.9)}, 13: {"weight_decay": 0.2, "eps": 1e-6}}],
}

WORST: dict[str, list[float]] = {name: [] for name in FAMILIES}


def _id(kw):
    return ",".join(f"{k}={v}" for k, v in kw.items())


def _cases(name):
    return [pytest.param(name, kw, id=f"{name}-{_id(kw)}") for kw in FAMILIES[name][2]]


@pytest.mark.parametrize("name, kw", [c for name in FAMILIES for c in _cases(name)])
def test_matches_torch_on_the_full_grid(name, kw, problem):
    ours, theirs, _ = FAMILIES[name]
    for changes in SCHEDULES[name]:
        dev = max_deviation(lambda ps: ours(ps, **kw), lambda ps: theirs(ps, **kw), *problem, changes=changes)
        WORST[name].append(dev)
        assert dev <= ROUND_OFF, (kw, changes, dev)


def _groups(ps, settings):
    cuts = [0, 2, 3, 4][: len(settings)] + [len(ps)]
    return [dict(params=ps[a:b], **s) for (a, b), s in zip(itertools.pairwise(cuts), settings)]


GROUPED = {
    "Adagrad": [
        (dict(lr=0.1), [dict(lr=0.5), dict(weight_decay=0.1, lr_decay=0.1)]),
        (dict(lr=0.05, eps=1e-3, initial_accumulator_value=0.1), [dict(eps=1e-10), dict(maximize=True), {}]),
    ],
    "RMSprop": [
        (dict(lr=0.01), [dict(lr=0.05, alpha=0.9), dict(momentum=0.9)]),
        (dict(lr=0.01, centered=True, momentum=0.5), [dict(centered=False), dict(alpha=0.5, weight_decay=0.1), {}]),
    ],
    "Adadelta": [
        (dict(lr=1.0), [dict(lr=0.3, rho=0.5), dict(eps=1e-3)]),
        (dict(lr=0.5, weight_decay=0.1), [dict(maximize=True), dict(rho=0.99), {}]),
    ],
    "Adam": [
        (dict(lr=0.01), [dict(lr=0.05, betas=(0.5, 0.9)), dict(amsgrad=True, weight_decay=0.1)]),
        (dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
         [dict(weight_decay=0.0), dict(decoupled_weight_decay=False), dict(eps=1e-3, maximize=True)]),
    ],
    "AdamW": [
        (dict(lr=0.01), [dict(weight_decay=0.0), dict(lr=0.05)]),   # no decay on "biases", as Chapter 8 does
        (dict(lr=0.01, weight_decay=0.1, amsgrad=True), [dict(amsgrad=False), dict(betas=(0.0, 0.99)), {}]),
    ],
}


def _grouped_cases():
    return [pytest.param(name, case, id=f"{name}-{i}")
            for name, cases in GROUPED.items() for i, case in enumerate(cases)]


@pytest.mark.parametrize("name, case", _grouped_cases())
def test_groups_with_per_group_schedules_match_torch(name, case, problem):
    ours, theirs, _ = FAMILIES[name]
    kw, settings = case
    per_group = {5: [{"lr": 0.02}] + [{}] * (len(settings) - 1)}
    for changes in [{}, per_group, {0: {"lr": 0.07}, 9: [{"lr": 0.3}] * len(settings)}]:
        dev = max_deviation(lambda ps: ours(_groups(ps, settings), **kw),
                            lambda ps: theirs(_groups(ps, settings), **kw), *problem, changes=changes)
        WORST[name].append(dev)
        assert dev <= ROUND_OFF, (case, changes, dev)


@pytest.mark.parametrize("name, case", _grouped_cases())
@pytest.mark.parametrize("when", [1, 8])
def test_a_group_added_mid_run_matches_torch(name, case, when, problem):
    ours, theirs, _ = FAMILIES[name]
    kw, settings = case

    def add(np_opt, t_opt, np_params, t_params):
        np_opt.add_param_group(_groups(np_params, settings)[-1])
        t_opt.add_param_group(_groups(t_params, settings)[-1])

    dev = max_deviation(lambda ps: ours(_groups(ps, settings)[:-1], **kw),
                        lambda ps: theirs(_groups(ps, settings)[:-1], **kw), *problem, hooks={when: add})
    WORST[name].append(dev)
    assert dev <= ROUND_OFF, (case, when, dev)


@pytest.mark.parametrize("name, case", _grouped_cases())
@pytest.mark.parametrize("when", [0, 1, 12])
def test_a_state_dict_round_trip_mid_run_matches_torch(name, case, when, problem):
    ours, theirs, _ = FAMILIES[name]
    kw, settings = case

    def reload(np_opt, t_opt, np_params, t_params):
        fresh = dict(kw, lr=0.9)  # other values: load_state_dict must restore the saved ones
        np_new = ours(_groups(np_params, [{} for _ in settings]), **fresh)
        np_new.load_state_dict(copy.deepcopy(np_opt.state_dict()))
        t_new = theirs(_groups(t_params, [{} for _ in settings]), **fresh)
        t_new.load_state_dict(copy.deepcopy(t_opt.state_dict()))
        return np_new, t_new

    dev = max_deviation(lambda ps: ours(_groups(ps, settings), **kw),
                        lambda ps: theirs(_groups(ps, settings), **kw), *problem, hooks={when: reload})
    WORST[name].append(dev)
    assert dev <= ROUND_OFF, (case, when, dev)


def test_the_accumulator_starts_at_the_constructors_value_in_every_group_as_in_torch(problem):
    """torch.optim.Adagrad fills every accumulator from its constructor's initial_accumulator_value,
    even in a group that names another one; the NumPy Adagrad does the same (and the check would
    see the difference: a first step with G_0 = 1 instead of 0 is much smaller)."""
    settings = [dict(initial_accumulator_value=1.0), {}]
    dev = max_deviation(lambda ps: no.Adagrad(_groups(ps, settings), lr=0.1),
                        lambda ps: torch.optim.Adagrad(_groups(ps, settings), lr=0.1), *problem)
    assert dev <= ROUND_OFF
    w = np.array([1.0])
    opt = no.Adagrad([{"params": [w], "initial_accumulator_value": 1.0}], lr=0.1)
    opt.step([np.array([1e-3])])
    np.testing.assert_allclose(w, 1.0 - 0.1 * 1e-3 / (1e-3 + 1e-10))  # G_1 = 0 + g^2: the group's 1.0 is unused


def test_the_harness_sees_a_wrong_adaptive_rule(problem):
    """A NumPy RMSprop with eps inside the root must fail the comparison: the check is not vacuous."""

    class EpsInside(no.RMSprop):
        def _update(self, p, g, state, group):
            v = state.setdefault("square_avg", np.zeros_like(p))
            v *= group["alpha"]
            v += (1 - group["alpha"]) * g * g
            p -= group["lr"] * g / np.sqrt(v + group["eps"])

    dev = max_deviation(lambda ps: EpsInside(ps, lr=0.01), lambda ps: torch.optim.RMSprop(ps, lr=0.01), *problem)
    assert dev > 1e-6


def test_first_steps_follow_the_chapters_formulas():
    g = np.array([2.0, -1e-3])
    w = np.zeros(2)
    no.Adagrad([w], lr=0.1).step([g])  # G_1 = g^2: a step of lr * sign(g) (up to eps)
    np.testing.assert_allclose(w, -0.1 * np.sign(g), rtol=1e-6)
    w = np.zeros(2)
    no.RMSprop([w], lr=0.01, alpha=0.99).step([g])  # v_1 = (1 - alpha) g^2: lr / sqrt(1 - alpha) = 10 lr
    np.testing.assert_allclose(w, -0.1 * np.sign(g), rtol=1e-4)
    w = np.zeros(2)
    no.Adadelta([w], rho=0.9, eps=1e-6).step([g])  # u_0 = 0: delta = sqrt(eps) / sqrt((1 - rho) g^2 + eps) * g
    np.testing.assert_allclose(w, -np.sqrt(1e-6) / np.sqrt(0.1 * g * g + 1e-6) * g)


@pytest.mark.parametrize(
    "name, kwargs, message",
    [
        ("Adagrad", {"lr": -0.1}, r"^Invalid learning rate: -0\.1$"),
        ("Adagrad", {"lr_decay": -1.0}, r"^Invalid lr_decay value: -1\.0$"),
        ("Adagrad", {"weight_decay": -1e-4}, r"^Invalid weight_decay value: -0\.0001$"),
        ("Adagrad", {"initial_accumulator_value": -0.1}, r"^Invalid initial_accumulator_value value: -0\.1$"),
        ("Adagrad", {"eps": -1e-10}, r"^Invalid epsilon value: -1e-10$"),
        ("RMSprop", {"lr": -1.0}, r"^Invalid learning rate: -1\.0$"),
        ("RMSprop", {"eps": -1.0}, r"^Invalid epsilon value: -1\.0$"),
        ("RMSprop", {"momentum": -0.9}, r"^Invalid momentum value: -0\.9$"),
        ("RMSprop", {"weight_decay": -0.5}, r"^Invalid weight_decay value: -0\.5$"),
        ("RMSprop", {"alpha": -0.99}, r"^Invalid alpha value: -0\.99$"),
        ("Adadelta", {"lr": -1.0}, r"^Invalid learning rate: -1\.0$"),
        ("Adadelta", {"rho": 1.5}, r"^Invalid rho value: 1\.5$"),
        ("Adadelta", {"rho": -0.1}, r"^Invalid rho value: -0\.1$"),
        ("Adadelta", {"eps": -1e-6}, r"^Invalid epsilon value: -1e-06$"),
        ("Adadelta", {"weight_decay": -0.1}, r"^Invalid weight_decay value: -0\.1$"),
        ("Adam", {"lr": -1e-3}, r"^Invalid learning rate: -0\.001$"),
        ("Adam", {"eps": -1e-8}, r"^Invalid epsilon value: -1e-08$"),
        ("Adam", {"betas": (1.0, 0.999)}, r"^Invalid beta parameter at index 0: 1\.0$"),
        ("Adam", {"betas": (0.9, -0.1)}, r"^Invalid beta parameter at index 1: -0\.1$"),
        ("Adam", {"betas": (0, 0)}, r"^betas must be either both floats or both Tensors$"),
        ("Adam", {"weight_decay": -0.01}, r"^Invalid weight_decay value: -0\.01$"),
        ("AdamW", {"betas": (0.9, 1.0)}, r"^Invalid beta parameter at index 1: 1\.0$"),
        ("AdamW", {"weight_decay": -0.01}, r"^Invalid weight_decay value: -0\.01$"),
    ],
)
def test_invalid_arguments_raise_torchs_errors(name, kwargs, message):
    ours, theirs, _ = FAMILIES[name]
    with pytest.raises(ValueError, match=message):
        ours([np.zeros(2)], **kwargs)
    with pytest.raises(ValueError, match=message):
        theirs([torch.zeros(2, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_defaults_and_keyword_only_arguments(name):
    import inspect

    ours, theirs, _ = FAMILIES[name]
    mine = inspect.signature(ours).parameters
    torchs = inspect.signature(theirs).parameters
    for arg, param in mine.items():
        if arg == "params":
            continue
        assert param.default == torchs[arg].default, (name, arg)
    # maximize is keyword-only here (torch's RMSprop also takes it by position, after capturable and
    # foreach, which the NumPy optimizers do not have: a positional call would mean different things)
    assert mine["maximize"].kind is inspect.Parameter.KEYWORD_ONLY
    if name == "Adam":
        assert mine["decoupled_weight_decay"].kind is inspect.Parameter.KEYWORD_ONLY


def test_adamw_is_adam_with_decoupled_decay_and_stays_so_after_loading_an_adam_state(problem):
    """torch 2.13: AdamW(...) is Adam(..., decoupled_weight_decay=True); loading a state saved by
    Adam (decoupled_weight_decay=False in its groups) into AdamW keeps the decay decoupled."""
    kw = dict(lr=0.05, weight_decay=0.3)
    dev = max_deviation(lambda ps: no.AdamW(ps, **kw),
                        lambda ps: torch.optim.Adam(ps, decoupled_weight_decay=True, **kw), *problem)
    assert dev <= ROUND_OFF

    def reload(np_opt, t_opt, np_params, t_params):
        np_old, t_old = no.Adam(np_params, **kw), torch.optim.Adam(t_params, **kw)
        np_opt.load_state_dict(np_old.state_dict())
        t_opt.load_state_dict(t_old.state_dict())
        assert np_opt.param_groups[0]["decoupled_weight_decay"] is True
        assert t_opt.param_groups[0]["decoupled_weight_decay"] is True

    dev = max_deviation(lambda ps: no.AdamW(ps, **kw), lambda ps: torch.optim.AdamW(ps, **kw), *problem,
                        hooks={4: reload})
    assert dev <= ROUND_OFF
    # and the L2 form is another algorithm: the harness sees the difference
    dev = max_deviation(lambda ps: no.Adam(ps, **kw), lambda ps: torch.optim.AdamW(ps, **kw), *problem)
    assert dev > 1e-6


def test_amsgrad_takes_the_maximum_of_the_raw_second_moment():
    """PyTorch keeps max(v_max, v) over the raw v and bias-corrects the maximum; the maximum of the
    corrected v (Optax's scale_by_amsgrad, the docs before pytorch#142323) is another rule."""
    g = [np.array([1.0]), np.array([0.1]), np.array([0.1])]
    w = np.zeros(1)
    opt = no.Adam([w], lr=1.0, betas=(0.0, 0.5), eps=0.0, amsgrad=True)
    for gk in g:
        opt.step([gk])
    # raw v: 0.5, 0.255, 0.13375 -> max 0.5; third step divides by sqrt(0.5 / (1 - 0.5**3))
    last = -0.1 / np.sqrt(0.5 / (1 - 0.5**3))
    first_two = -1.0 / np.sqrt(0.5 / 0.5) - 0.1 / np.sqrt(0.5 / 0.75)
    np.testing.assert_allclose(w, first_two + last, rtol=1e-14)


def test_zz_worst_deviation_per_family():
    """Runs last in this module (pytest keeps file order): every family was compared, all at round-off."""
    for name, devs in WORST.items():
        assert len(devs) > 50, (name, len(devs))
        assert max(devs) <= ROUND_OFF, name
    print({name: (len(devs), f"{max(devs):.1e}") for name, devs in WORST.items()})
