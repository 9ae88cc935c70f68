"""Proof that every check of Lab 2 (momentum and Nesterov from scratch) is real.

As tests/test_lab_checks.py does for Lab 1: for every exercise the check must
(a) fail on the stub of the generated lab notebook (the cell's source as `make labs` wrote it),
(b) fail on each typical wrong answer with *its* diagnostic message (asserted by a regex), and
(c) pass on the solution (the cell's source in the solutions notebook).
"""

from __future__ import annotations

import numpy as np
import pytest

from optbook import lab_checks_02 as lab2
from optbook.checks import CheckFailed

from helpers import ROOT, load, source

LAB2 = "02-momentum-nesterov.ipynb"
ALL = ["sgdm_step", "textbook_step", "nesterov_step", "lookahead_step", "sgd_step", "heavy_ball_rate",
       "measured_rate"]


def _defining_cell(nb: dict, name: str) -> str:
    """The source of the code cell that defines function ``name``."""
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and f"def {name}(" in source(cell):
            return source(cell)
    raise AssertionError(f"no cell defines {name}()")


def _namespace(folder: str) -> dict:
    """Execute the cells defining the lab's functions from labs/ or solutions/ in one namespace."""
    nb = load(ROOT / folder / LAB2)
    ns = {"np": np}
    for name in ALL:
        exec(compile(_defining_cell(nb, name), f"{folder}/{LAB2}:{name}", "exec"), ns)
    return ns


@pytest.fixture(scope="module")
def solution():
    return _namespace("solutions")


@pytest.fixture(scope="module")
def stub():
    return _namespace("labs")


# ---------------------------------------------------------------- wrong answers, one family per exercise
def sgdm_damp_first(w, g, buf, lr, momentum, dampening):
    buf = (1 - dampening) * g if buf is None else momentum * buf + (1 - dampening) * g
    return w - lr * buf, buf


def sgdm_lr_in_buffer(w, g, buf, lr, momentum, dampening):
    buf = lr * g if buf is None else momentum * buf + lr * (1 - dampening) * g
    return w - buf, buf


def sgdm_uphill(w, g, buf, lr, momentum, dampening):
    buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
    return w + lr * buf, buf


def sgdm_no_return(w, g, buf, lr, momentum, dampening):
    buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
    w = w - lr * buf  # forgot the return


def textbook_lr_outside(w, g, v, lr, gamma):
    v = gamma * v + g
    return w - lr * v, v


def textbook_lr_twice(w, g, v, lr, gamma):
    v = gamma * v + lr * g
    return w - lr * v, v


def textbook_uphill(w, g, v, lr, gamma):
    v = gamma * v + lr * g
    return w + v, v


def nesterov_heavy_ball(w, g, buf, lr, momentum):
    buf = g.copy() if buf is None else momentum * buf + g
    return w - lr * buf, buf


def nesterov_stale(w, g, buf, lr, momentum):
    d = g if buf is None else g + momentum * buf  # the buffer before its update
    buf = g.copy() if buf is None else momentum * buf + g
    return w - lr * d, buf


def lookahead_at_theta(theta, v, grad, lr, momentum):
    v = momentum * v - lr * grad(theta)
    return theta + v, v


def lookahead_plus_v(theta, v, grad, lr, momentum):
    v = momentum * v - lr * grad(theta + v)
    return theta + v, v


def lookahead_two_calls(theta, v, grad, lr, momentum):
    g_here = grad(theta)  # computed "to compare", never needed
    g_ahead = grad(theta + momentum * v)
    v = momentum * v - lr * (g_ahead + 0.0 * g_here)
    return theta + v, v


def sgd_wd_after(w, g, buf, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False):
    if maximize:
        g = -g
    if momentum != 0:
        buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
        d = g + momentum * buf if nesterov else buf
    else:
        d = g
    return w - lr * (d + weight_decay * w), buf  # weight decay added after the momentum


def sgd_maximize_update(w, g, buf, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                        maximize=False):
    g = g + weight_decay * w
    if momentum != 0:
        buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
        d = g + momentum * buf if nesterov else buf
    else:
        d = g
    return (w + lr * d if maximize else w - lr * d), buf  # the update negated, not the gradient


def _radii(lr, momentum, lam):
    s = 1 + momentum - lr * lam
    disc = np.sqrt(complex(s * s - 4 * momentum))
    return sorted([abs((s + disc) / 2), abs((s - disc) / 2)])


def rate_sqrt_beta(lr, momentum, eigenvalues):
    return float(np.sqrt(momentum))


def rate_smaller_root(lr, momentum, eigenvalues):
    return max(_radii(lr, momentum, lam)[0] for lam in eigenvalues)


def rate_fastest_direction(lr, momentum, eigenvalues):
    return min(_radii(lr, momentum, lam)[1] for lam in eigenvalues)


def measure_first_ratio(errors, double_root=False):
    return float(errors[1] / errors[0])


def measure_no_k(errors, double_root=False):
    k = np.arange(1, len(errors) + 1)
    half = len(errors) // 2
    return float(np.exp(np.polyfit(k[half:], np.log(errors[half:]), 1)[0]))  # ignores double_root


def measure_whole_sequence(errors, double_root=False):
    k = np.arange(1, len(errors) + 1)
    y = np.log(errors) - (np.log(k) if double_root else 0.0)
    return float(np.exp(np.polyfit(k, y, 1)[0]))  # the transient included


# ---------------------------------------------------------------- the exercises
EXERCISES = {
    # exercise: (check, name in the notebook, wrong answers with the regex of their diagnostics)
    "sgdm": (
        lab2.check_sgdm,
        "sgdm_step",
        [
            (sgdm_damp_first, r"dampening was applied on the first step: .* b₁ = g₁"),
            (sgdm_lr_in_buffer, r"learning rate is folded into the buffer .* changed lr at step 11\. Keep lr out"),
            (sgdm_uphill, r"steps go uphill: the update is w ← w − lr·b"),
            (sgdm_no_return, r"sgdm_step returned None: did you forget the `return`"),
        ],
    ),
    "textbook": (
        lab2.check_textbook,
        "textbook_step",
        [
            (textbook_lr_outside, r"you wrote PyTorch's form .* changed lr at step 16\. .*v ← γv \+ lr·g"),
            (textbook_lr_twice, r"learning rate is applied twice: .* w ← w − v"),
            (textbook_uphill, r"steps go uphill: the update is w ← w − v"),
        ],
    ),
    "nesterov": (
        lab2.check_nesterov,
        "nesterov_step",
        [
            (nesterov_heavy_ball, r"this is plain heavy ball: a step along b.* then steps along g \+ momentum·b "
                                  r"with the new b"),
            (nesterov_stale, r"this is plain heavy ball: .*with the buffer taken before its update"),
        ],
    ),
    "lookahead": (
        lab2.check_lookahead,
        "lookahead_step",
        [
            (lookahead_at_theta, r"gradient is taken at θ, which makes it heavy ball: .* θ \+ momentum·v"),
            (lookahead_plus_v, r"gradient is taken at θ \+ v: the look-ahead point is θ \+ momentum·v"),
            (lookahead_two_calls, r"called grad 2 times at step 1: evaluate it once per step"),
        ],
    ),
    "sgd": (
        lab2.check_sgd,
        "sgd_step",
        [
            (sgd_wd_after, r"weight_decay=0\.1.*: weight decay is added after the momentum: .* then enters the buffer"),
            (sgd_maximize_update, r"weight_decay=0\.1.*maximize=True: with maximize=True you negated the update "
                                  r"instead of the gradient: negate g first"),
        ],
    ),
    "rate": (
        lab2.check_rate,
        "heavy_ball_rate",
        [
            (rate_sqrt_beta, r"you returned √momentum: .* take the larger \|z\|"),
            (rate_smaller_root, r"you took the smaller root: .* max\(\|z₁\|, \|z₂\|\)"),
            (rate_fastest_direction, r"rate of the fastest direction: the slowest one decides"),
        ],
    ),
    "measure": (
        lab2.check_measure,
        "measured_rate",
        [
            (measure_first_ratio, r"pulled by the first steps, a transient .* last half"),
            (measure_whole_sequence, r"pulled by the first steps, a transient .* last half"),
            (measure_no_k, r"at a double root the error is ∝ k·rᵏ.* fit log ‖e_k‖ − log k"),
        ],
    ),
}

WRONG = [(ex, i) for ex, (_, _, wrongs) in EXERCISES.items() for i in range(len(wrongs))]


def test_every_lab_exercise_is_covered():
    nb = load(ROOT / "solutions" / LAB2)
    code = [source(c) for c in nb["cells"] if c["cell_type"] == "code"]
    marked = [src for src in code if "# BEGIN SOLUTION" in src]
    assert len(marked) == len(EXERCISES) == len(ALL), "one proof per exercise of the lab"
    assert [name for _, name, _ in EXERCISES.values()] == ALL
    for (check, name, _), src in zip(EXERCISES.values(), marked):
        assert f"def {name}(" in src, f"the exercises are proved in the notebook's order: {name}"
        calls = [s for s in code if f"check.{check.__name__}({name})" in s]
        assert len(calls) == 1, f"the notebook calls check.{check.__name__}({name}) once, after the exercise"
    checks = sorted(n for n in dir(lab2) if n.startswith("check_"))
    assert checks == sorted(c.__name__ for c, _, _ in EXERCISES.values()), "every check of lab_checks_02 is proved"


@pytest.mark.parametrize("exercise", list(EXERCISES))
def test_check_fails_on_the_stub(exercise, stub):
    check, name, _ = EXERCISES[exercise]
    assert "NotImplementedError" in _defining_cell(load(ROOT / "labs" / LAB2), name)
    with pytest.raises(CheckFailed, match="is not done yet"):
        check(stub[name])


@pytest.mark.parametrize("exercise, i", WRONG, ids=[f"{e}-{i}" for e, i in WRONG])
def test_check_names_the_mistake(exercise, i, capsys):
    check, _, wrongs = EXERCISES[exercise]
    wrong, message = wrongs[i]
    with pytest.raises(CheckFailed, match=message):
        check(wrong)
    assert capsys.readouterr().out == "", "a failing check prints no ✓"


@pytest.mark.parametrize("exercise", list(EXERCISES))
def test_check_passes_on_the_solution(exercise, solution, capsys):
    check, name, _ = EXERCISES[exercise]
    check(solution[name])
    assert capsys.readouterr().out.startswith("✓ Exercise")


def test_the_mistake_simulations_are_not_the_reference():
    """Each simulated mistake of the momentum checks differs from PyTorch on the inputs the checks use."""
    grads = lab2._gradients(5, 15, dim=3)
    lrs = np.array([0.1] + [0.05] * 7 + [0.02] * 7)
    kw = dict(momentum=0.9, dampening=0.5, weight_decay=0.1, maximize=True)
    reference = lab2.torch_path("SGD", np.ones(3), grads, lrs, **kw)
    assert np.allclose(lab2.momentum_path(np.ones(3), grads, lrs, **kw), reference, rtol=1e-12, atol=1e-14)
    for mistake in ("damp_first", "lr_in_buffer", "uphill", "wd_after", "wd_ignored", "maximize_update",
                    "maximize_ignored"):
        assert not np.allclose(lab2.momentum_path(np.ones(3), grads, lrs, mistake=mistake, **kw), reference), mistake
