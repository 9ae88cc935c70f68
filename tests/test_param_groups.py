"""Parameter groups (optbook.param_groups, under Chapter 1's Optimizer): torch's behaviour and
messages, the single-group attribute form, state_dict round trips; and Chapter 1's GD and
Chapter 3's SGD with several groups against torch.optim.SGD doing the same."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest
import torch

from optbook import numpy_optim as no
from optbook.param_groups import ParamGroups
from optbook.torch_check import ROUND_OFF, max_deviation

# ------------------------------------------------------------------ the bookkeeping alone


class Counting(no.Optimizer):
    """A toy optimizer that keeps a step count per parameter (as Adam will): p <- p - lr * t * g."""

    def __init__(self, params, lr=0.1, scale=1.0):
        super().__init__(params, {"lr": lr, "scale": scale})

    def _update(self, p, g, state, group):
        state["step"] = state.get("step", 0) + 1
        state["sum"] = state.get("sum", np.zeros_like(p)) + g
        p -= group["lr"] * group["scale"] * state["step"] * g


def _t(*shapes):
    return [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in shapes]


def test_a_list_of_arrays_is_one_group_with_the_defaults():
    a, b = np.zeros(2), np.zeros(3)
    opt = no.SGD([a, b], lr=0.1, momentum=0.9)
    assert len(opt.param_groups) == 1
    group = opt.param_groups[0]
    assert group["params"][0] is a and group["params"][1] is b
    assert {k: v for k, v in group.items() if k != "params"} == opt.defaults
    assert opt.params[0] is a and len(opt.state) == 2


def test_groups_are_filled_from_the_defaults_as_torch_fills_them():
    a, b = np.zeros(2), np.zeros(3)
    opt = no.SGD([{"params": [a], "lr": 0.5, "name": "head"}, {"params": b, "weight_decay": 0.1}],
                 lr=0.01, momentum=0.9)
    t = torch.optim.SGD([{"params": _t(2), "lr": 0.5, "name": "head"}, {"params": _t(3)[0], "weight_decay": 0.1}],
                        lr=0.01, momentum=0.9)
    for ours, theirs in zip(opt.param_groups, t.param_groups):
        assert len(ours["params"]) == len(theirs["params"]) == 1  # a single array becomes a list
        for k, v in ours.items():
            if k != "params":
                assert theirs[k] == v, k
    assert opt.param_groups[1]["params"][0] is b
    assert len(opt.params) == 2 and opt.params[0] is a and opt.params[1] is b
    assert opt.defaults["lr"] == 0.01  # the constructor's values stay the defaults


def test_a_parameter_in_two_groups_raises_torchs_error():
    a = np.zeros(2)
    ta = _t(2)[0]
    with pytest.raises(ValueError) as ours:
        no.SGD([{"params": [a]}, {"params": [a]}], lr=0.1)
    with pytest.raises(ValueError) as theirs:
        torch.optim.SGD([{"params": [ta]}, {"params": [ta]}], lr=0.1)
    assert str(ours.value) == str(theirs.value) == "some parameters appear in more than one parameter group"
    opt = no.SGD([a], lr=0.1)
    with pytest.raises(ValueError, match="^some parameters appear in more than one parameter group$"):
        opt.add_param_group({"params": [np.zeros(1), a]})
    assert len(opt.param_groups) == 1 and len(opt.state) == 1  # a refused group leaves nothing behind


def test_add_param_group_checks_its_argument_as_torch_does():
    opt = no.GD([np.zeros(2)], lr=0.1)
    t = torch.optim.SGD(_t(2), lr=0.1)
    for bad in ([np.zeros(2)], "params"):
        with pytest.raises(TypeError) as ours:
            opt.add_param_group(bad)
        with pytest.raises(TypeError) as theirs:
            t.add_param_group(bad)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError, match="'params' entry"):
        opt.add_param_group({"lr": 0.1})
    with pytest.raises(TypeError, match=r"^params\[1\] must have a floating dtype"):  # positions count across groups
        opt.add_param_group({"params": [np.zeros(2, dtype=int)]})
    with pytest.raises(TypeError, match=r"^params\[1\] must be a NumPy array, got list"):
        opt.add_param_group({"params": [[1.0, 2.0]]})
    with pytest.raises(ValueError, match="duplicate parameters"):
        w = np.zeros(3)
        opt.add_param_group({"params": [w, w]})
    with pytest.raises(TypeError, match="param_group must be a dict"):  # a list mixing groups and arrays
        no.GD([{"params": [np.zeros(1)]}, np.zeros(1)])
    assert len(opt.param_groups) == 1


def test_added_groups_get_the_defaults_and_state_by_position():
    a, b, c = np.zeros(2), np.zeros(3), np.zeros(1)
    opt = no.SGD([{"params": [a, b], "lr": 0.2}], lr=0.01, momentum=0.9)
    opt.add_param_group({"params": [c], "momentum": 0.5})
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["momentum"] == 0.5
    opt.step([np.ones(2), np.ones(3), np.ones(1)])
    assert [s["momentum_buffer"].shape for s in opt.state] == [(2,), (3,), (1,)]
    np.testing.assert_array_equal(a, -0.2 * np.ones(2))
    np.testing.assert_array_equal(c, -0.01 * np.ones(1))


def test_steps_go_group_by_group_in_order():
    a, b, c = np.zeros(1), np.zeros(2), np.zeros(3)
    seen = []

    class Recorder(no.Optimizer):
        def _update(self, p, g, state, group):
            seen.append((p.shape, float(g[0]), group["tag"]))

    opt = Recorder([{"params": [b, a], "tag": "first"}, {"params": [c], "tag": "second"}], {"lr": 0.1})
    opt.step([np.full(2, 1.0), np.full(1, 2.0), np.full(3, 3.0)])
    assert seen == [((2,), 1.0, "first"), ((1,), 2.0, "first"), ((3,), 3.0, "second")]
    with pytest.raises(ValueError, match="got 2 gradients for 3 parameters"):
        opt.step([np.zeros(2), np.zeros(1)])
    with pytest.raises(ValueError, match=r"gradient 2 has shape \(2,\), but parameter 2 has shape \(3,\)"):
        opt.step([np.zeros(2), np.zeros(1), np.zeros(2)])


def test_the_attribute_form_reads_and_writes_the_single_group():
    w = np.zeros(2)
    opt = no.SGD([w], lr=0.1, momentum=0.9)
    assert opt.lr == 0.1 and opt.momentum == 0.9
    opt.lr = 0.05
    assert opt.param_groups[0]["lr"] == 0.05 and opt.defaults["lr"] == 0.1
    opt.param_groups[0]["momentum"] = 0.5
    assert opt.momentum == 0.5
    assert "lr" not in vars(opt)  # no second copy that could go stale
    with pytest.raises(AttributeError, match="no attribute 'betas'"):
        opt.betas  # noqa: B018
    opt.note = "anything else is an ordinary attribute"
    assert opt.note.startswith("anything")


def test_the_attribute_form_is_an_error_with_several_groups():
    opt = no.SGD([{"params": [np.zeros(2)]}, {"params": [np.zeros(1)], "lr": 0.5}], lr=0.1)
    expected = r"^this optimizer has 2 parameter groups: {} opt.param_groups\[i\]\['lr'\]$"
    with pytest.raises(ValueError, match=expected.format("set")):
        opt.lr = 0.01
    with pytest.raises(ValueError, match=expected.format("read")):
        opt.lr  # noqa: B018
    with pytest.raises(ValueError, match="2 parameter groups"):
        hasattr(opt, "momentum")  # loud, not a silent False
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]  # nothing was written
    single = no.GD([np.zeros(1)], lr=0.1)
    single.add_param_group({"params": [np.zeros(1)]})
    with pytest.raises(ValueError, match="this optimizer has 2 parameter groups"):
        single.lr = 0.2


def test_an_optimizer_can_be_copied_and_pickled():
    import pickle

    opt = no.SGD([{"params": [np.ones(2)]}, {"params": [np.ones(1)], "lr": 0.5}], lr=0.1, momentum=0.9)
    opt.step([np.ones(2), np.ones(1)])
    for twin in (copy.deepcopy(opt), pickle.loads(pickle.dumps(opt))):
        assert [g["lr"] for g in twin.param_groups] == [0.1, 0.5]
        np.testing.assert_array_equal(twin.state[1]["momentum_buffer"], [1.0])
        assert twin.param_groups[0]["params"][0] is not opt.param_groups[0]["params"][0]


def test_state_dict_has_torchs_layout():
    rng = np.random.default_rng(0)
    shapes = [(2, 3), (4,), ()]
    ps = [rng.standard_normal(s) for s in shapes]
    ts = [torch.tensor(p, requires_grad=True) for p in ps]
    ours = no.SGD([{"params": ps[:1], "lr": 0.2}, {"params": ps[1:], "momentum": 0.0}], lr=0.1, momentum=0.9)
    theirs = torch.optim.SGD([{"params": ts[:1], "lr": 0.2}, {"params": ts[1:], "momentum": 0.0}], lr=0.1, momentum=0.9)
    for _ in range(3):
        gs = [rng.standard_normal(s) for s in shapes]
        ours.step(gs)
        for t, g in zip(ts, gs):
            t.grad = torch.tensor(g)
        theirs.step()
    a, b = ours.state_dict(), theirs.state_dict()
    assert set(a) == set(b) == {"state", "param_groups"}
    assert sorted(a["state"]) == sorted(b["state"]) == [0]  # only the parameter with momentum has state
    np.testing.assert_allclose(a["state"][0]["momentum_buffer"], b["state"][0]["momentum_buffer"].numpy(), rtol=1e-14)
    for ga, gb in zip(a["param_groups"], b["param_groups"]):
        assert ga["params"] == gb["params"]
        assert {k: gb[k] for k in ga} == ga  # torch's groups have more keys (foreach, fused, ...)
    assert [g["params"] for g in a["param_groups"]] == [[0], [1, 2]]


def test_state_dict_is_a_copy():
    w = np.ones(2)
    opt = no.SGD([w], lr=0.1, momentum=0.9)
    opt.step([np.ones(2)])
    saved = opt.state_dict()
    opt.step([np.ones(2)])
    opt.lr = 0.3
    np.testing.assert_array_equal(saved["state"][0]["momentum_buffer"], [1.0, 1.0])
    assert saved["param_groups"][0]["lr"] == 0.1


def _run(opt, grads):
    for gs in grads:
        opt.step(gs)


@pytest.mark.parametrize("when", [0, 1, 4])
def test_a_round_trip_resumes_the_run_exactly(when):
    """Saving after ``when`` steps and loading into a fresh optimizer (other hyper-parameters,
    other arrays of the same shapes) continues exactly as the original does."""
    rng = np.random.default_rng(1)
    shapes = [(3,), (2, 2), (1,)]
    p0 = [rng.standard_normal(s) for s in shapes]
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(8)]

    def build(ps, lr):
        opt = Counting([{"params": ps[:2], "scale": 0.5}], lr=lr)
        opt.add_param_group({"params": ps[2:], "lr": 2 * lr})
        return opt

    ps = [p.copy() for p in p0]
    ref = build(ps, 0.1)
    for group in ref.param_groups:  # what a scheduler stores in the groups
        group.setdefault("initial_lr", group["lr"])
    _run(ref, grads[:when])
    saved = copy.deepcopy(ref.state_dict())
    qs = [p.copy() for p in ps]
    resumed = build(qs, 99.0)
    resumed.load_state_dict(saved)
    assert [g["initial_lr"] for g in resumed.param_groups] == [0.1, 0.2]
    assert [g["lr"] for g in resumed.param_groups] == [0.1, 0.2] and resumed.param_groups[0]["scale"] == 0.5
    assert resumed.param_groups[0]["params"][0] is qs[0] and resumed.param_groups[1]["params"][0] is qs[2]
    assert [s.get("step") for s in resumed.state] == [s.get("step") for s in ref.state]
    _run(ref, grads[when:])
    _run(resumed, grads[when:])
    for p, q in zip(ps, qs):
        np.testing.assert_array_equal(p, q)
    assert resumed.state_dict()["state"].keys() == ref.state_dict()["state"].keys()


def test_load_state_dict_refuses_other_groups_with_torchs_messages():
    opt = no.SGD([{"params": [np.zeros(2)]}, {"params": [np.zeros(1), np.zeros(1)]}], lr=0.1)
    t = torch.optim.SGD([{"params": _t(2)}, {"params": _t(1, 1)}], lr=0.1)
    one_group = no.SGD([np.zeros(2)], lr=0.1)
    t_one_group = torch.optim.SGD(_t(2), lr=0.1)
    other_sizes = no.SGD([{"params": [np.zeros(2), np.zeros(1)]}, {"params": [np.zeros(1)]}], lr=0.1)
    t_other_sizes = torch.optim.SGD([{"params": _t(2, 1)}, {"params": _t(1)}], lr=0.1)
    for (ours, source), (theirs, t_source) in [((opt, one_group), (t, t_one_group)),
                                               ((opt, other_sizes), (t, t_other_sizes))]:
        with pytest.raises(ValueError) as e_ours:
            ours.load_state_dict(source.state_dict())
        with pytest.raises(ValueError) as e_theirs:
            theirs.load_state_dict(t_source.state_dict())
        assert str(e_ours.value) == str(e_theirs.value)
    with pytest.raises(ValueError, match="no group lists"):
        one_group.load_state_dict({"state": {5: {}}, "param_groups": one_group.state_dict()["param_groups"]})


def test_load_state_dict_casts_buffers_to_the_parameters_dtype():
    src = no.SGD([np.ones(2)], lr=0.1, momentum=0.9)
    src.step([np.full(2, 1 / 3)])
    w32 = np.ones(2, dtype=np.float32)
    dst = no.SGD([w32], lr=0.1, momentum=0.9)
    dst.load_state_dict(src.state_dict())
    assert dst.state[0]["momentum_buffer"].dtype == np.float32
    c = Counting([np.ones(1, dtype=np.float32)])
    c.load_state_dict({"state": {0: {"step": np.array(3.0)}}, "param_groups": c.state_dict()["param_groups"]})
    assert c.state[0]["step"].dtype == np.float64  # a step count keeps its type, as in torch


def test_param_groups_is_usable_on_its_own():
    class Plain(ParamGroups):
        pass

    opt = Plain([np.zeros(1)], {"lr": 1.0})
    assert opt.lr == 1.0 and opt.state == [{}]
    with pytest.raises(ValueError, match="empty parameter list"):
        Plain([], {"lr": 1.0})


# ------------------------------------------------------------- against torch.optim.SGD

SHAPES = [(3, 4), (5,), (), (2, 3)]


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(7)
    params0 = [rng.standard_normal(s) for s in SHAPES]
    grads = [[rng.standard_normal(s) * 10.0 ** rng.integers(-2, 2) for s in SHAPES] for _ in range(24)]
    return params0, grads


def _groups(ps, settings):
    """Split ``ps`` into ``[ps[0:2], ps[2:3], ps[3:]]``-style groups given per-group settings."""
    cuts = [0, 2, 3, 4][: len(settings)] + [len(ps)]
    return [dict(params=ps[a:b], **s) for (a, b), s in zip(itertools.pairwise(cuts), settings)]


# (constructor arguments, per-group settings): every group differs in lr, momentum or weight decay
GROUPED = [
    (dict(lr=0.1), [dict(lr=0.3), {}]),
    (dict(lr=0.05, momentum=0.9), [dict(momentum=0.0, weight_decay=0.1), dict(lr=0.2, momentum=0.5)]),
    (dict(lr=0.05, momentum=0.9, dampening=0.3), [{}, dict(lr=0.01, dampening=0.0, weight_decay=1e-3)]),
    (dict(lr=0.02, momentum=0.9, nesterov=True), [dict(weight_decay=0.01), dict(momentum=0.5, lr=0.1)]),
    (dict(lr=0.02, momentum=0.5, maximize=True), [dict(maximize=False), dict(momentum=0.99, weight_decay=0.5)]),
    (dict(lr=0.1, momentum=0.9, weight_decay=0.01), [dict(lr=0.01), dict(momentum=0.0), dict(lr=0.5, momentum=0.3)]),
]
CHANGES = [
    {},
    {6: [{"lr": 0.007}, {"lr": 0.3}]},  # per group, mid-run
    {0: [{}, {"lr": 0.04}], 9: [{"lr": 0.2, "momentum": 0.8}, {}], 15: {"lr": 0.01}},  # also every group at once
]


def _ids(case):
    kw, settings = case
    return ",".join(f"{k}={v}" for k, v in kw.items()) + "|" + "|".join(
        ",".join(f"{k}={v}" for k, v in s.items()) or "-" for s in settings
    )


def _fit_changes(changes, n_groups):
    """The schedules above for two groups, adapted to ``n_groups`` (extra groups keep their rates)."""
    out = {}
    for k, change in changes.items():
        out[k] = change if isinstance(change, dict) else list(change[:n_groups]) + [{}] * (n_groups - len(change))
    return out


def _sgd_pair(kw, settings):
    return (lambda ps: no.SGD(_groups(ps, settings), **kw), lambda ps: torch.optim.SGD(_groups(ps, settings), **kw))


DEVIATIONS: dict[str, float] = {}


def _record(name, dev):
    DEVIATIONS[name] = dev
    assert dev <= ROUND_OFF, (name, dev)


@pytest.mark.parametrize("case", GROUPED, ids=_ids)
@pytest.mark.parametrize("changes", CHANGES, ids=["constant", "per-group", "mixed"])
def test_sgd_with_groups_matches_torch(case, changes, problem):
    kw, settings = case
    changes = _fit_changes(changes, len(settings))
    if kw.get("nesterov"):  # keep the schedule to valid nesterov states
        changes = {k: v for k, v in changes.items() if "momentum" not in str(v)}
    _record(f"sgd {_ids(case)} {changes}", max_deviation(*_sgd_pair(kw, settings), *problem, changes=changes))


@pytest.mark.parametrize("case", GROUPED, ids=_ids)
@pytest.mark.parametrize("when", [1, 10])
def test_sgd_group_added_mid_run_matches_torch(case, when, problem):
    kw, settings = case
    n_first = 3 if len(settings) == 3 else 2  # the first groups from the start, the rest added at step `when`

    def make(cls):
        return lambda ps: cls(_groups(ps, settings)[: n_first - 1], **kw)

    def add(np_opt, t_opt, np_params, t_params):
        np_opt.add_param_group(_groups(np_params, settings)[n_first - 1])
        t_opt.add_param_group(_groups(t_params, settings)[n_first - 1])

    dev = max_deviation(make(no.SGD), make(torch.optim.SGD), *problem, hooks={when: add},
                        changes={when + 3: [{"lr": 0.03}] * n_first})
    _record(f"sgd add_param_group at {when} {_ids(case)}", dev)


@pytest.mark.parametrize("case", GROUPED, ids=_ids)
@pytest.mark.parametrize("when", [0, 1, 12])
def test_sgd_state_dict_round_trip_mid_run_matches_torch(case, when, problem):
    kw, settings = case

    def reload(np_opt, t_opt, np_params, t_params):
        fresh = dict(kw, lr=0.9)  # other hyper-parameters: load_state_dict must restore the saved ones
        np_new = no.SGD(_groups(np_params, [{} for _ in settings]), **fresh)
        np_new.load_state_dict(copy.deepcopy(np_opt.state_dict()))
        t_new = torch.optim.SGD(_groups(t_params, [{} for _ in settings]), **fresh)
        t_new.load_state_dict(copy.deepcopy(t_opt.state_dict()))
        return np_new, t_new

    dev = max_deviation(*_sgd_pair(kw, settings), *problem, hooks={when: reload},
                        changes={when + 2: [{"lr": 0.011}] + [{}] * (len(settings) - 1)})
    _record(f"sgd state_dict at {when} {_ids(case)}", dev)


@pytest.mark.parametrize("changes", CHANGES, ids=["constant", "per-group", "mixed"])
def test_gd_with_groups_matches_torch(changes, problem):
    settings = [dict(lr=0.3), {}]
    changes = {k: [{n: v for n, v in c.items() if n == "lr"} for c in ch] if isinstance(ch, list) else ch
               for k, ch in changes.items()}

    def added(np_opt, t_opt, np_params, t_params):
        np_opt.add_param_group({"params": np_params[3:], "lr": 0.05})
        t_opt.add_param_group({"params": t_params[3:], "lr": 0.05})

    def make(cls):
        return lambda ps: cls([{"params": ps[:2], "lr": 0.3}, {"params": ps[2:3]}], lr=0.1)

    dev = max_deviation(*(lambda ps: no.GD(_groups(ps, settings), lr=0.1),
                          lambda ps: torch.optim.SGD(_groups(ps, settings), lr=0.1)), *problem, changes=changes)
    _record(f"gd two groups {changes}", dev)
    grown = {k + 1: v + [{}] if isinstance(v, list) else v for k, v in changes.items() if k + 1 > 5}
    dev = max_deviation(make(no.GD), make(torch.optim.SGD), *problem, hooks={5: added}, changes=grown)
    _record(f"gd add_param_group {grown}", dev)


def test_a_single_group_given_as_a_dict_equals_the_plain_list(problem):
    params0, grads = problem
    kw = dict(lr=0.05, momentum=0.9, weight_decay=0.01)
    dev = max_deviation(lambda ps: no.SGD([{"params": ps}], **kw), lambda ps: torch.optim.SGD(ps, **kw),
                        params0, grads, changes={4: {"lr": 0.2}})  # the attribute form on a one-group dict
    _record("sgd one dict group, attribute schedule", dev)


def test_the_harness_catches_a_group_ignored(problem):
    """A NumPy SGD that reads the first group's lr for every parameter must fail the comparison."""

    class FirstGroupOnly(no.SGD):
        def _update(self, p, g, state, group):
            super()._update(p, g, state, dict(group, lr=self.param_groups[0]["lr"]))

    kw, settings = GROUPED[0]
    dev = max_deviation(lambda ps: FirstGroupOnly(_groups(ps, settings), **kw),
                        lambda ps: torch.optim.SGD(_groups(ps, settings), **kw), *problem)
    assert dev > 1e-3
    with pytest.raises(ValueError, match="group changes for"):
        max_deviation(*_sgd_pair(kw, settings), *problem, changes={1: [{"lr": 0.1}]})
    with pytest.raises(ValueError, match="group 0 has no hyper-parameter 'betas'"):
        max_deviation(*_sgd_pair(kw, settings), *problem, changes={1: [{"betas": 0.1}, {}]})
