"""The checks of Lab 2 (momentum and Nesterov from scratch), one per exercise.

Each ``check_*`` function runs the student's function step by step on fixed random
gradients (or on a fixed surface), compares with a reference — ``torch.optim.SGD`` itself
wherever PyTorch has the method — and either prints one line (``✓ Exercise n: ...``) or
raises :class:`optbook.checks.CheckFailed` saying what is wrong and what to do. The classic
mistakes are recognised by simulating each of them and comparing with what the student's
code did: dampening applied on the first step, the learning rate folded into PyTorch's
buffer (exposed by changing the learning rate mid-run), plain heavy ball where Nesterov was
asked for (a direction built from the buffer before its update is exactly that), the
gradient taken at the wrong point or twice per step, weight decay added after the momentum,
``maximize`` negating the update instead of the gradient, the wrong root or the wrong
eigenvalue in a rate, a rate measured on the transient or without the factor ``k`` of a
double root. tests/test_lab_checks_02.py proves every one of them.

The step functions of the lab are functional: they take the state (a momentum buffer or a
velocity) and return the pair ``(new parameters, new state)``; the checks pass copies, so
updating arrays in place inside the student's function is harmless.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from optbook import quadratic
from optbook.checks import CheckFailed, as_array, call, close, passed


def _agrees(a: np.ndarray, b: np.ndarray, rtol: float = 1e-9) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=1e-12))


def _pair(out, name: str, state: str):
    """The pair ``(w, state)`` a step function returns, or a verdict saying what came back instead."""
    if out is None:
        raise CheckFailed(f"{name} returned None: did you forget the `return` statement? Return the pair (w, {state})")
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(f"{name} should return the pair (w, {state}), got {type(out).__name__}")
    return out


def _run(one: Callable, w0, s0, grads, lrs, name: str, state: str, need_state: bool = True):
    """Feed ``grads`` to a step function ``one(w, g, s, lr)``; the iterates and the states, as arrays."""
    w, s, path, states = np.array(w0, dtype=float), s0, [], []
    for k, (g, lr) in enumerate(zip(grads, lrs), start=1):
        out = one(w.copy(), np.array(g, dtype=float), None if s is None else np.array(s, dtype=float), lr)
        w_new, s = _pair(out, name, state)
        w = as_array(w_new, f"the w that {name} returned at step {k}")
        if w.shape != np.shape(w0):
            raise CheckFailed(f"at step {k} {name} returned w of shape {w.shape}, expected {np.shape(w0)}")
        if need_state:
            if s is None:
                raise CheckFailed(f"{name} returned {state} = None at step {k}: return the updated {state}; "
                                  f"the caller passes it back to you at the next step")
            s = as_array(s, f"the {state} that {name} returned at step {k}")
            if s.shape != np.shape(w0):
                raise CheckFailed(f"at step {k} {name} returned {state} of shape {s.shape}, expected {np.shape(w0)}")
        path.append(w)
        states.append(None if s is None else np.array(s, dtype=float))
    return np.array(path), states


def _first_difference(got: np.ndarray, expected: np.ndarray, setting: str) -> None:
    """Fail at the first step where two paths part, saying how they differ there."""
    for k in range(len(expected)):
        if not _agrees(got[k], expected[k]):
            close(got[k], expected[k], f"w after step {k + 1} ({setting})", rtol=1e-9, atol=1e-12)
    close(got, expected, f"the iterates ({setting})", rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- references
def torch_path(w0, grads, lrs, **kwargs) -> np.ndarray:
    """The iterates of ``torch.optim.SGD(**kwargs)`` fed ``grads``, with ``lr = lrs[k]`` at step ``k``."""
    import torch

    p = torch.tensor(np.array(w0, dtype=float), requires_grad=True)
    opt = torch.optim.SGD([p], lr=float(lrs[0]), **kwargs)
    path = []
    for g, lr in zip(grads, lrs):
        opt.param_groups[0]["lr"] = float(lr)
        p.grad = torch.tensor(np.array(g, dtype=float))
        opt.step()
        path.append(p.detach().numpy().copy())
    return np.array(path)


def momentum_path(w0, grads, lrs, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False,
                  mistake: str | None = None) -> np.ndarray:
    """PyTorch's SGD in NumPy, or the same with one classic ``mistake`` (to recognise it).

    ``mistake`` is one of ``damp_first`` (dampening on the first step), ``lr_in_buffer``
    (b ← βb + lr(1−τ)g, w ← w − b), ``uphill``, ``heavy_ball`` (Nesterov's flag ignored),
    ``wd_after`` (weight decay added to the direction after the momentum), ``wd_ignored``,
    ``maximize_update`` (the update negated instead of the gradient), ``maximize_ignored``.
    """
    w, b, path = np.array(w0, dtype=float), None, []
    for g, lr in zip(grads, lrs):
        g = np.array(g, dtype=float)
        if maximize and mistake not in ("maximize_update", "maximize_ignored"):
            g = -g
        if weight_decay and mistake not in ("wd_after", "wd_ignored"):
            g = g + weight_decay * w
        scale = lr if mistake == "lr_in_buffer" else 1.0
        if momentum:
            if b is None:
                b = g * scale * ((1 - dampening) if mistake == "damp_first" else 1.0)
            else:
                b = momentum * b + (1 - dampening) * scale * g
            if nesterov and mistake != "heavy_ball":
                d = scale * g + momentum * b
            else:
                d = b
        else:
            d = scale * g
        if weight_decay and mistake == "wd_after":
            d = d + weight_decay * w * scale
        step = d if mistake == "lr_in_buffer" else lr * d
        w = w + step if mistake == "uphill" or (maximize and mistake == "maximize_update") else w - step
        path.append(w.copy())
    return np.array(path)


def textbook_path(w0, grads, lrs, gamma, mistake: str | None = None) -> tuple[np.ndarray, list]:
    """The textbook form v ← γv + lr·g, w ← w − v from v = 0, or a classic ``mistake`` of it.

    ``mistake``: ``lr_outside`` (PyTorch's form: v ← γv + g, w ← w − lr·v), ``lr_twice``
    (w ← w − lr·v), ``uphill`` (w ← w + v).
    """
    w, v, path, vs = np.array(w0, dtype=float), np.zeros(np.shape(w0)), [], []
    for g, lr in zip(grads, lrs):
        v = gamma * v + (g if mistake == "lr_outside" else lr * g)
        if mistake in ("lr_outside", "lr_twice"):
            w = w - lr * v
        elif mistake == "uphill":
            w = w + v
        else:
            w = w - v
        path.append(w.copy())
        vs.append(v.copy())
    return np.array(path), vs


def _gradients(seed: int, steps: int, dim: int = 4) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return list(rng.standard_normal((steps, dim)))


def _schedule(steps: int, lr: float, at: int, factor: float) -> np.ndarray:
    """``lr`` for steps 1..at−1, then ``lr * factor``: a change mid-run."""
    return np.where(np.arange(1, steps + 1) < at, lr, lr * factor)


# ---------------------------------------------------------------- Exercise 1: PyTorch's buffer
SGDM_MISTAKES = {
    "damp_first": "dampening was applied on the first step: PyTorch starts the buffer as the first gradient "
                  "itself, b₁ = g₁, without the factor (1 − dampening); dampening acts from step 2 on "
                  "(`buf = g.copy()` when buf is None)",
    "lr_in_buffer": "the learning rate is folded into the buffer (b ← βb + lr·(1 − τ)·g, w ← w − b): that equals "
                    "PyTorch only while lr is constant, and this check changed lr at step {at}. Keep lr out of the "
                    "buffer: b ← βb + (1 − τ)·g, then w ← w − lr·b",
    "uphill": "your steps go uphill: the update is w ← w − lr·b, with a minus sign",
}


def check_sgdm(sgdm_step) -> None:
    """Exercise 1: ``sgdm_step(w, g, buf, lr, momentum, dampening)`` → ``(w, buf)``, PyTorch's convention.

    ``buf`` is None at the first step. Run against ``torch.optim.SGD(momentum=...)`` with and
    without dampening, at a constant learning rate and with a learning rate changed mid-run.
    """
    ex = "Exercise 1"
    steps, at = 30, 11
    grads = _gradients(1, steps)
    w0 = np.array([1.0, -2.0, 0.5, 3.0])
    cases = [(0.9, 0.0, np.full(steps, 0.1)), (0.9, 0.5, _schedule(steps, 0.1, at, 0.2))]
    for momentum, dampening, lrs in cases:
        setting = f"momentum={momentum}, dampening={dampening}, " + (
            "lr = 0.1" if lrs[0] == lrs[-1] else f"lr = 0.1 changed to 0.02 at step {at}")
        got, _ = _run(lambda w, g, b, lr, m=momentum, d=dampening: call(sgdm_step, w, g, b, lr, m, d, exercise=ex),
                      w0, None, grads, lrs, "sgdm_step", "buf")
        expected = torch_path(w0, grads, lrs, momentum=momentum, dampening=dampening)
        if not _agrees(got, expected):
            for mistake, message in SGDM_MISTAKES.items():
                if _agrees(got, momentum_path(w0, grads, lrs, momentum, dampening, mistake=mistake)):
                    raise CheckFailed(message.format(at=at))
            _first_difference(got, expected, setting)
    passed(ex, "the buffer matches torch.optim.SGD(momentum=0.9), with dampening and with lr changed mid-run")


# ---------------------------------------------------------------- Exercise 2: the textbook form
TEXTBOOK_MISTAKES = {
    "lr_outside": "you wrote PyTorch's form (v ← γv + g, w ← w − lr·v); the two agree at a constant lr, but this "
                  "check changed lr at step {at}. In the textbook form the velocity carries the learning rate: "
                  "v ← γv + lr·g, then w ← w − v",
    "lr_twice": "the learning rate is applied twice: v already contains lr·g, so the update is w ← w − v",
    "uphill": "your steps go uphill: the update is w ← w − v, with a minus sign",
}


def check_textbook(textbook_step) -> None:
    """Exercise 2: ``textbook_step(w, g, v, lr, gamma)`` → ``(w, v)``: v ← γv + lr·g, w ← w − v, from v = 0."""
    ex = "Exercise 2"
    steps, at = 30, 16
    grads = _gradients(2, steps)
    w0 = np.array([0.5, 1.0, -1.0, 2.0])
    for lrs in (np.full(steps, 0.1), _schedule(steps, 0.1, at, 0.1)):
        setting = "gamma=0.9, " + ("lr = 0.1" if lrs[0] == lrs[-1] else f"lr = 0.1 changed to 0.01 at step {at}")
        got, vs = _run(lambda w, g, v, lr: call(textbook_step, w, g, v, lr, 0.9, exercise=ex),
                       w0, np.zeros(4), grads, lrs, "textbook_step", "v")
        expected, v_expected = textbook_path(w0, grads, lrs, 0.9)
        if not _agrees(got, expected):
            for mistake, message in TEXTBOOK_MISTAKES.items():
                if _agrees(got, textbook_path(w0, grads, lrs, 0.9, mistake=mistake)[0]):
                    raise CheckFailed(message.format(at=at))
            _first_difference(got, expected, setting)
    if not _agrees(np.array(vs), np.array(v_expected)):  # w right under both schedules, v not
        raise CheckFailed("w is right but the returned v is not: return the velocity v = γv + lr·g itself "
                          "(the caller passes it back at the next step)")
    passed(ex, "the textbook form v ← γv + lr·g, w ← w − v is right, at a constant lr and under a schedule")


# ---------------------------------------------------------------- Exercise 3: Nesterov, PyTorch's form
NESTEROV_MISTAKES = {
    # A direction g + momentum·b built from the buffer *before* its update is b_new = momentum·b_old + g: the
    # "stale buffer" mistake is heavy ball exactly, so one message names both.
    "heavy_ball": "this is plain heavy ball: a step along b, or along g + momentum·b with the buffer taken before its "
                  "update (the same thing, since momentum·b_old + g is the new b). Nesterov in PyTorch's form first "
                  "updates the buffer, b ← momentum·b + g (b = g on the first step), then steps along "
                  "g + momentum·b with the new b",
    "uphill": "your steps go uphill: the update is w ← w − lr·(g + momentum·b), with a minus sign",
}


def check_nesterov(nesterov_step) -> None:
    """Exercise 3: ``nesterov_step(w, g, buf, lr, momentum)`` → ``(w, buf)``, as ``torch.optim.SGD(nesterov=True)``."""
    ex = "Exercise 3"
    steps, at = 30, 11
    grads = _gradients(3, steps)
    w0 = np.array([-1.0, 0.5, 2.0, 1.5])
    for lrs in (np.full(steps, 0.1), _schedule(steps, 0.1, at, 0.3)):
        setting = "momentum=0.9, " + ("lr = 0.1" if lrs[0] == lrs[-1] else f"lr = 0.1 changed to 0.03 at step {at}")
        got, _ = _run(lambda w, g, b, lr: call(nesterov_step, w, g, b, lr, 0.9, exercise=ex),
                      w0, None, grads, lrs, "nesterov_step", "buf")
        expected = torch_path(w0, grads, lrs, momentum=0.9, nesterov=True)
        if not _agrees(got, expected):
            for mistake, message in NESTEROV_MISTAKES.items():
                if _agrees(got, momentum_path(w0, grads, lrs, 0.9, nesterov=True, mistake=mistake)):
                    raise CheckFailed(message)
            if _agrees(got, momentum_path(w0, grads, lrs, 0.9, nesterov=True, mistake="lr_in_buffer")):
                raise CheckFailed(SGDM_MISTAKES["lr_in_buffer"].format(at=at))
            _first_difference(got, expected, setting)
    passed(ex, "the steps match torch.optim.SGD(momentum=0.9, nesterov=True), with lr changed mid-run too")


# ---------------------------------------------------------------- Exercise 4: the look-ahead form
def rosenbrock_grad(w):
    """Gradient of Rosenbrock's function (1 − x)² + 100 (y − x²)²: a surface far from quadratic."""
    x, y = w
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


def lookahead_path(theta0, lr, momentum, steps, at: str = "lookahead"):
    """The look-ahead form, or the same with the gradient taken ``at`` the wrong point."""
    theta, v, thetas, vs = np.array(theta0, dtype=float), np.zeros(2), [], []
    for _ in range(steps):
        point = {"lookahead": theta + momentum * v, "theta": theta, "plus_v": theta + v}[at]
        v = momentum * v - lr * rosenbrock_grad(point)
        theta = theta + v
        thetas.append(theta.copy())
        vs.append(v.copy())
    return np.array(thetas), np.array(vs)


LOOKAHEAD_MISTAKES = {
    "theta": "the gradient is taken at θ, which makes it heavy ball: Nesterov takes it at the look-ahead point "
             "θ + momentum·v, where the momentum alone would carry θ",
    "plus_v": "the gradient is taken at θ + v: the look-ahead point is θ + momentum·v",
}


def check_lookahead(lookahead_step) -> None:
    """Exercise 4: ``lookahead_step(theta, v, grad, lr, momentum)`` → ``(theta, v)``, one gradient per step.

    The look-ahead form v ← βv − lr·∇f(θ + βv), θ ← θ + v from v = 0, on Rosenbrock's function;
    the check counts the calls of ``grad`` and verifies that θ + βv follows
    ``torch.optim.SGD(nesterov=True)`` (the change of variables of Chapter 4).
    """
    import torch

    ex = "Exercise 4"
    lr, momentum, steps = 2e-4, 0.9, 300
    theta0 = np.array([-1.2, 1.0])
    calls = [0]

    def grad(p):
        calls[0] += 1
        return rosenbrock_grad(np.array(p, dtype=float))

    theta, v, thetas, vs = theta0.copy(), np.zeros(2), [], []
    for k in range(1, steps + 1):
        calls[0] = 0
        out = call(lookahead_step, theta.copy(), v.copy(), grad, lr, momentum, exercise=ex)
        theta_new, v_new = _pair(out, "lookahead_step", "v")
        if calls[0] != 1:
            raise CheckFailed(f"lookahead_step called grad {calls[0]} times at step {k}: evaluate it once per step, "
                              "at θ + momentum·v only (the look-ahead form costs one gradient per step, like heavy "
                              "ball: it takes it at the look-ahead point instead of at θ, not in addition)")
        theta = as_array(theta_new, f"the theta that lookahead_step returned at step {k}")
        v = as_array(v_new, f"the v that lookahead_step returned at step {k}")
        if theta.shape != (2,) or v.shape != (2,):
            raise CheckFailed(f"lookahead_step returned shapes {theta.shape} and {v.shape}, expected (2,) and (2,)")
        thetas.append(theta)
        vs.append(v)
    thetas, vs = np.array(thetas), np.array(vs)
    expected, v_expected = lookahead_path(theta0, lr, momentum, steps)
    if not _agrees(thetas, expected):
        if np.all(np.isfinite(thetas)):
            for at, message in LOOKAHEAD_MISTAKES.items():
                if _agrees(thetas, lookahead_path(theta0, lr, momentum, steps, at=at)[0]):
                    raise CheckFailed(message)
            up = np.array(theta0)
            if _agrees(thetas[:1], up + lr * rosenbrock_grad(up)):
                raise CheckFailed("your steps go uphill: v ← momentum·v − lr·grad(θ + momentum·v), with a minus sign")
        _first_difference(thetas, expected, f"lr={lr}, momentum={momentum}, on Rosenbrock's function")
    if not _agrees(vs, v_expected):
        raise CheckFailed("θ is right but the returned v is not: return the velocity v = momentum·v − lr·grad(...) "
                          "(negative along the gradient, θ ← θ + v)")
    p = torch.tensor(theta0, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr, momentum=momentum, nesterov=True)
    ahead = []
    for _ in range(steps):
        p.grad = torch.tensor(rosenbrock_grad(p.detach().numpy()))
        opt.step()
        ahead.append(p.detach().numpy().copy())
    if not _agrees(thetas + momentum * vs, np.array(ahead), rtol=1e-10):  # pragma: no cover - the reference's own check
        raise CheckFailed("θ + momentum·v does not follow torch.optim.SGD(nesterov=True): report this to the authors")
    passed(ex, f"one gradient per step, and θ + β·v follows torch.optim.SGD(nesterov=True) for {steps} steps on "
               "Rosenbrock's function")


# ---------------------------------------------------------------- Exercise 5: every argument of torch.optim.SGD
FULL_MISTAKES = {
    "wd_after": "weight decay is added after the momentum: PyTorch adds weight_decay·w to the gradient first, "
                "g ← g + weight_decay·w, and this g then enters the buffer",
    "wd_ignored": "weight_decay is ignored: add weight_decay·w to the gradient before the momentum",
    "maximize_update": "with maximize=True you negated the update instead of the gradient: negate g first "
                       "(g ← −g), then add weight_decay·w, so that weight decay still pulls w towards zero",
    "maximize_ignored": "maximize is ignored: with maximize=True negate the gradient first (g ← −g)",
    "damp_first": SGDM_MISTAKES["damp_first"],
    "lr_in_buffer": "the learning rate is folded into the buffer: it equals PyTorch only while lr is constant, and "
                    "this check changes lr at steps 2 and 9. Keep lr out of the buffer, w ← w − lr·d",
    "heavy_ball": "nesterov=True is ignored: the direction is then g + momentum·b, not b",
    "uphill": "your steps go uphill: the update is w ← w − lr·d, with a minus sign",
}


def _full_cases():
    for momentum in (0.0, 0.9):
        for dampening in (0.0, 0.5):
            for weight_decay in (0.0, 0.1):
                for nesterov in (False, True):
                    for maximize in (False, True):
                        if (momentum == 0 and dampening) or (nesterov and (momentum == 0 or dampening)):
                            continue
                        yield dict(momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                   nesterov=nesterov, maximize=maximize)


def check_sgd(sgd_step) -> None:
    """Exercise 5: ``sgd_step(w, g, buf, lr, momentum, dampening, weight_decay, nesterov, maximize)`` → ``(w, buf)``.

    Every valid combination of the arguments, each run against ``torch.optim.SGD`` with a
    learning rate changed at steps 2 and 9; ``buf`` is None at the first step and may stay
    None when momentum is 0.
    """
    ex = "Exercise 5"
    steps = 15
    grads = _gradients(5, steps, dim=3)
    w0 = np.array([2.0, -1.0, 0.5])
    lrs = np.array([0.1] + [0.05] * 7 + [0.02] * 7)
    n = 0
    for kw in _full_cases():
        setting = ", ".join(f"{k}={v}" for k, v in kw.items())
        got, _ = _run(lambda w, g, b, lr, kw=kw: call(sgd_step, w, g, b, lr, exercise=ex, **kw),
                      w0, None, grads, lrs, "sgd_step", "buf", need_state=bool(kw["momentum"]))
        expected = torch_path(w0, grads, lrs, **kw)
        n += 1
        if not _agrees(got, expected):
            for mistake, message in FULL_MISTAKES.items():
                if _agrees(got, momentum_path(w0, grads, lrs, mistake=mistake, **kw)):
                    raise CheckFailed(f"with {setting}: {message}")
            _first_difference(got, expected, setting)
    passed(ex, f"all {n} valid combinations of momentum, dampening, weight_decay, nesterov and maximize match "
               "torch.optim.SGD, with lr changed mid-run")


# ---------------------------------------------------------------- Exercise 6: the predicted rate
def _roots(lr, momentum, lam):
    s, p = 1 + momentum - lr * lam, momentum
    disc = np.sqrt(complex(s * s - 4 * p))
    return (s + disc) / 2, (s - disc) / 2


def _rate_variant(lr, momentum, eigenvalues, mistake):
    if mistake == "sqrt_beta":
        return float(np.sqrt(momentum))
    per = [sorted(abs(z) for z in _roots(lr, momentum, lam)) for lam in eigenvalues]
    if mistake == "smaller_root":
        return max(r[0] for r in per)
    if mistake == "fastest_direction":
        return min(r[1] for r in per)
    raise ValueError(mistake)


RATE_MISTAKES = {
    "sqrt_beta": "you returned √momentum: that is the modulus only when the roots are complex (under-damped, "
                 "(1 − √β)² < lr·λ < (1 + √β)²); outside that band they are real and the larger |z| exceeds √β. "
                 "Solve z² − (1 + β − lr·λ)z + β = 0 and take the larger |z|",
    "smaller_root": "you took the smaller root: the error is a combination of z₁ᵏ and z₂ᵏ, so the larger |z| (the "
                    "spectral radius) decides the rate; take max(|z₁|, |z₂|)",
    "fastest_direction": "you returned the rate of the fastest direction: the slowest one decides, so take the "
                         "maximum of the spectral radius over the eigenvalues",
}


def rate_cases():
    """``(lr, momentum, eigenvalues, what)``: every regime of the 2×2 recurrence, and Polyak's tuning."""
    lams = np.array([1.0, 10.0, 100.0])
    lr_s, beta_s, _ = quadratic.optimal_heavy_ball(1.0, 100.0)
    return [
        (0.01, 0.5, np.array([1.0, 5.0]), "over-damped in both directions"),
        (0.01, 0.9, lams, "under-damped"),
        (0.037, 0.9, lams, "under-damped, near the stability limit"),
        (0.0303, 0.5, lams, "unstable: both roots real and negative at lambda = 100"),
        (0.0198, 0.0, lams, "gradient descent (momentum 0)"),
        (lr_s, beta_s, np.array([1.0, 100.0]), "Polyak's tuning (double roots)"),
    ]


def check_rate(heavy_ball_rate) -> None:
    """Exercise 6: ``heavy_ball_rate(lr, momentum, eigenvalues)`` → the largest spectral radius over the eigenvalues."""
    ex = "Exercise 6"
    for lr, momentum, lams, what in rate_cases():
        got = call(heavy_ball_rate, lr, momentum, lams.copy(), exercise=ex)
        if np.iscomplexobj(got):
            raise CheckFailed("heavy_ball_rate returned a complex number: the rate is the modulus |z| (np.abs), a "
                              "real number")
        got = as_array(got, "heavy_ball_rate(lr, momentum, eigenvalues)")
        if got.shape != ():
            raise CheckFailed(f"heavy_ball_rate returned shape {got.shape}: return one number, the worst spectral "
                              "radius over the eigenvalues")
        expected = quadratic.rate(lr, momentum, lams)
        if not np.isclose(float(got), expected, rtol=1e-6, atol=0.0):
            for mistake, message in RATE_MISTAKES.items():
                if np.isclose(float(got), _rate_variant(lr, momentum, lams, mistake), rtol=1e-6, atol=0.0):
                    raise CheckFailed(f"for lr={lr:.6g}, momentum={momentum:.6g} ({what}): {message}")
            raise CheckFailed(f"for lr={lr:.6g}, momentum={momentum:.6g}, eigenvalues {lams.tolist()} ({what}) the "
                              f"rate is {expected:.6f}, you have {float(got):.6f}")
    passed(ex, "the rate is right in every regime: over-damped, under-damped, unstable, momentum 0 and Polyak's "
               "tuning, where it equals (√κ − 1)/(√κ + 1)")


# ---------------------------------------------------------------- Exercise 7: the measured rate
def heavy_ball_errors(lams, lr, momentum, steps, seed: int = 0) -> np.ndarray:
    """‖w_k − w*‖ for k = 1..steps, heavy ball from rest on the quadratic diag(lams) from a random start."""
    e = e_prev = np.random.default_rng(seed).standard_normal(len(lams))
    out = []
    for _ in range(steps):
        e, e_prev = e - lr * lams * e + momentum * (e - e_prev), e
        out.append(np.linalg.norm(e))
    return np.array(out)


def measure_cases():
    """``(errors, double_root, true rate, what)``: sequences whose rate is known exactly."""
    lams = np.linspace(1.0, 100.0, 10)
    lr_s, beta_s, rho_s = quadratic.optimal_heavy_ball(1.0, 100.0)
    k = np.arange(1, 201)
    return [
        (heavy_ball_errors(lams, 0.01, 0.5, 900), False, quadratic.rate(0.01, 0.5, lams),
         "heavy ball, lr = 0.01, momentum = 0.5 on eigenvalues 1..100"),
        ((1 + 3 * k) * 0.9**k + 1000 * 0.8**k, True, 0.9, "(1 + 3k)·0.9ᵏ + 1000·0.8ᵏ, a double root"),
        (heavy_ball_errors(lams, lr_s, beta_s, 200), True, rho_s, "heavy ball at Polyak's tuning for kappa = 100"),
    ]


def check_measure(measured_rate) -> None:
    """Exercise 7: ``measured_rate(errors, double_root=False)`` → the rate r of a tail ‖e_k‖ ≈ C·kᵐ·rᵏ."""
    ex = "Exercise 7"
    for errors, double, rho, what in measure_cases():
        got = as_array(call(measured_rate, errors.copy(), double_root=double, exercise=ex),
                       "measured_rate(errors, double_root)")
        if got.shape != ():
            raise CheckFailed(f"measured_rate returned shape {got.shape}: return one number, the rate r")
        r = float(got)
        if abs(r - rho) <= 1e-3 * rho:
            continue
        k = np.arange(1, len(errors) + 1)
        transient = [errors[1] / errors[0], errors[1] / (2 * errors[0])]
        for m in (0, 1):
            transient.append(float(np.exp(np.polyfit(k, np.log(errors) - m * np.log(k), 1)[0])))
        if any(np.isclose(r, t, rtol=1e-6) for t in transient):
            raise CheckFailed(f"on {what}, you measured {r:.6f}, the true rate is {rho:.6f}: your number is pulled by "
                              "the first steps, a transient of the faster modes. Fit log ‖e_k‖ against k over the "
                              "last half of the sequence only")
        if double and rho < r < 1.02 * rho:
            raise CheckFailed(f"on {what}, you measured {r:.6f}, the true rate is {rho:.6f}: at a double root the "
                              "error is ∝ k·rᵏ, and the factor k biases the fit upwards. When double_root is True, "
                              "fit log ‖e_k‖ − log k against k")
        raise CheckFailed(f"on {what}, the rate is {rho:.6f}, you measured {r:.6f}: fit a straight line to log ‖e_k‖ "
                          "(minus log k for a double root) over the last half and return exp(slope)")
    passed(ex, "the fitted rates are within 0.1 % of the true ones, with and without a double root")
