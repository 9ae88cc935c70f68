"""Proof that every check of Lab 3 (Adagrad and RMSprop from scratch) is real.

As tests/test_lab_checks_02.py and tests/test_lab_checks_mistakes.py do for Labs 1 and 2: for
every exercise the check must
(a) fail on the stub of the generated lab notebook (the cell's source as `make labs` wrote it),
(b) fail on each of at least eight typical wrong answers with *its* diagnostic message, asserted
    by a phrase of the English line and a phrase of the Chinese line,
(c) pass on the solution (the cell's source in the solutions notebook) and on two correct but
    differently written answers.
The simulated mistakes the checks compare against are proven too: without a mistake they are
torch.optim itself, and each mistake differs from torch on the inputs of its check.
"""

from __future__ import annotations

import math
import re

import labkit
import numpy as np
import pytest
import torch

from optbook import lab_checks_03 as lab3
from optbook.checks import CheckFailed

from helpers import ROOT, load, markdown

LAB3 = "03-adagrad-rmsprop.ipynb"
ALL = ["adagrad_step", "adagrad_rates", "rmsprop_step", "window", "half_life", "RMSprop", "adadelta_step"]


def _namespace(folder: str) -> dict:
    return labkit.namespace(LAB3, folder, ALL, {"np": np})


SOL = _namespace("solutions")


@pytest.fixture(scope="module")
def stub():
    return _namespace("labs")


# ---------------------------------------------------------------- Exercise 1: adagrad_step
def ada_eps_inside(w, g, G, lr, eps=1e-10):
    G = G + g * g
    return w - lr * g / np.sqrt(G + eps), G


def ada_no_eps(w, g, G, lr, eps=1e-10):
    G = G + g * g
    return w - lr * g / np.sqrt(G), G


def ada_precedence(w, g, G, lr, eps=1e-10):
    G = G + g * g
    return w - lr * g / np.sqrt(G) + eps, G


def ada_sum_g(w, g, G, lr, eps=1e-10):
    G = G + g
    return w - lr * g / (np.sqrt(G) + eps), G


def ada_sum_abs(w, g, G, lr, eps=1e-10):
    G = G + np.abs(g)
    return w - lr * g / (np.sqrt(G) + eps), G


def ada_reset(w, g, G, lr, eps=1e-10):
    G = g * g
    return w - lr * g / (np.sqrt(G) + eps), G


def ada_old_G_returned(w, g, G, lr, eps=1e-10):
    G_new = G + g * g
    return w - lr * g / (np.sqrt(G_new) + eps), G  # the updated G is not returned


def ada_stale(w, g, G, lr, eps=1e-10):
    w_new = w - lr * g / (np.sqrt(G) + eps)
    return w_new, G + g * g


def ada_no_sqrt(w, g, G, lr, eps=1e-10):
    G = G + g * g
    return w - lr * g / (G + eps), G


def ada_w_in_place(w, g, G, lr, eps=1e-10):
    G += g * g
    w -= lr * g / (np.sqrt(G) + eps)
    return w, G


def ada_g_in_place(w, g, G, lr, eps=1e-10):
    G = G + g * g
    g /= np.sqrt(G) + eps
    return w - lr * g, G


def ada_swapped(w, g, G, lr, eps=1e-10):
    G = G + g * g
    return G, w - lr * g / (np.sqrt(G) + eps)


def ada_float32(w, g, G, lr, eps=1e-10):
    G = (G + g * g).astype(np.float32)
    return w - np.float32(lr) * g.astype(np.float32) / (np.sqrt(G) + np.float32(eps)), G


def ada_uphill(w, g, G, lr, eps=1e-10):
    G = G + g * g
    return w + lr * g / (np.sqrt(G) + eps), G


def ada_no_return(w, g, G, lr, eps=1e-10):
    G = G + g * g
    w = w - lr * g / (np.sqrt(G) + eps)  # forgot the return


def ada_global(w, g, G, lr, eps=1e-10):
    G = G + np.sum(g * g)  # one accumulator for all the coordinates
    return w - lr * g / (np.sqrt(G) + eps), G


def ada_norm(w, g, G, lr, eps=1e-10):
    G = G + g * g
    return w - lr * g / (np.linalg.norm(np.sqrt(G)) + eps), G  # a norm: the same rate for every coordinate


def ada_tf_init(w, g, G, lr, eps=1e-10):
    if not np.any(G):
        G = G + 0.1  # TensorFlow's initial_accumulator_value
    G = G + g * g
    return w - lr * g / (np.sqrt(G) + eps), G


def ada_hard_eps(w, g, G, lr, eps=1e-10):
    G = G + g * g
    return w - lr * g / (np.sqrt(G) + 1e-10), G  # the default written in, the argument ignored


def ada_returns_root(w, g, G, lr, eps=1e-10):
    G = G + g * g
    return w - lr * g / (np.sqrt(G) + eps), np.sqrt(G)


def ada_returns_denominator(w, g, G, lr, eps=1e-10):
    G = G + g * g
    d = np.sqrt(G) + eps
    return w - lr * g / d, d


def ada_returns_G_plus_eps(w, g, G, lr, eps=1e-10):
    G = G + g * g
    return w - lr * g / (np.sqrt(G) + eps), G + eps


def ada_eps_where_zero(w, g, G, lr, eps=1e-10):
    G = G + g * g
    G = np.where(G == 0, eps, G)  # "keep G away from zero": right step, wrong state where g has been 0
    return w - lr * g / (np.sqrt(G) + eps), G


def ada_clipped(w, g, G, lr, eps=1e-10):
    g = np.clip(g, -10, 10)  # gradient clipping slipped in: only large gradients show it
    G = G + g * g
    return w - lr * g / (np.sqrt(G) + eps), G


def ada_multiplies(w, g, G, lr, eps=1e-10):
    G = G + g * g
    return w - lr * g * (np.sqrt(G) + eps), G  # no simulated mistake: the fallback, with the update to compare


def ada_alt_in_place(w, g, G, lr, eps=1e-10):
    np.add(G, np.square(g), out=G)  # the state may be updated in place
    return w - lr * g / (G**0.5 + eps), G


def ada_alt_loop(w, g, G, lr, eps=1e-10):
    w_new, G_new = np.empty_like(w), np.empty_like(G)
    for i in range(len(w)):
        G_new[i] = G[i] + g[i] ** 2
        w_new[i] = w[i] - lr * g[i] / (math.sqrt(G_new[i]) + eps)
    return w_new, G_new


# ---------------------------------------------------------------- Exercise 2: adagrad_rates
def rates_no_accumulation(grads, lr, eps=1e-10):
    return lr / (np.abs(grads) + eps)


def rates_mean(grads, lr, eps=1e-10):
    t = np.arange(1, len(grads) + 1)[:, None]
    return lr / (np.sqrt(np.cumsum(grads**2, axis=0) / t) + eps)


def rates_cumsum_g(grads, lr, eps=1e-10):
    return lr / (np.sqrt(np.cumsum(grads, axis=0)) + eps)


def rates_axis1(grads, lr, eps=1e-10):
    return lr / (np.sqrt(np.cumsum(grads**2, axis=1)) + eps)


def rates_off_by_one(grads, lr, eps=1e-10):
    G = np.vstack([np.zeros((1, grads.shape[1])), np.cumsum(grads**2, axis=0)[:-1]])
    return lr / (np.sqrt(G) + eps)


def rates_eps_inside(grads, lr, eps=1e-10):
    return lr / np.sqrt(np.cumsum(grads**2, axis=0) + eps)


def rates_no_eps(grads, lr, eps=1e-10):
    return lr / np.sqrt(np.cumsum(grads**2, axis=0))


def rates_no_sqrt(grads, lr, eps=1e-10):
    return lr / (np.cumsum(grads**2, axis=0) + eps)


def rates_steps(grads, lr, eps=1e-10):
    return lr * grads / (np.sqrt(np.cumsum(grads**2, axis=0)) + eps)


def rates_no_axis(grads, lr, eps=1e-10):
    return lr / (np.sqrt(np.cumsum(grads**2)) + eps)


def rates_transposed(grads, lr, eps=1e-10):
    return (lr / (np.sqrt(np.cumsum(grads**2, axis=0)) + eps)).T


def rates_last(grads, lr, eps=1e-10):
    return lr / (np.sqrt(np.sum(grads**2, axis=0)) + eps)


def rates_in_place(grads, lr, eps=1e-10):
    grads **= 2
    return lr / (np.sqrt(np.cumsum(grads, axis=0)) + eps)


def rates_fourth_root(grads, lr, eps=1e-10):
    return lr / (np.cumsum(grads**2, axis=0) ** 0.25 + eps)


def rates_square_of_sum(grads, lr, eps=1e-10):
    return lr / (np.sqrt(np.cumsum(grads, axis=0) ** 2) + eps)


def rates_abs_of_sum(grads, lr, eps=1e-10):
    return lr / (np.abs(np.cumsum(grads, axis=0)) + eps)


def rates_global(grads, lr, eps=1e-10):
    G = np.cumsum(np.sum(grads**2, axis=1, keepdims=True), axis=0)
    return lr / (np.sqrt(G) + eps) * np.ones(grads.shape[1])


def rates_one_per_step(grads, lr, eps=1e-10):
    return lr / (np.sqrt(np.cumsum(np.sum(grads**2, axis=1))) + eps)


def rates_precedence(grads, lr, eps=1e-10):
    return lr / np.sqrt(np.cumsum(grads**2, axis=0)) + eps


def rates_unseen_zero(grads, lr, eps=1e-10):
    G = np.cumsum(grads**2, axis=0)
    return np.where(G > 0, lr / (np.sqrt(G) + eps), 0.0)  # "no gradient yet, no rate"


def rates_hard_eps(grads, lr, eps=1e-10):
    return lr / (np.sqrt(np.cumsum(grads**2, axis=0)) + 1e-10)


def rates_window(grads, lr, eps=1e-10):
    G = np.cumsum(grads**2, axis=0)
    G[100:] -= G[:-100].copy()  # a sum over the last 100 steps only: right up to step 100
    return lr / (np.sqrt(G) + eps)


def rates_sqrt_lr(grads, lr, eps=1e-10):
    return np.sqrt(lr) / (np.sqrt(np.cumsum(grads**2, axis=0)) + eps)


def rates_alt_loop(grads, lr, eps=1e-10):
    G, out = np.zeros(grads.shape[1]), []
    for g in grads:
        G = G + g * g
        out.append(lr / (np.sqrt(G) + eps))
    return np.array(out)


def rates_alt_accumulate(grads, lr, eps=1e-10):
    return np.divide(lr, np.add(np.sqrt(np.add.accumulate(np.square(grads))), eps))


# ---------------------------------------------------------------- Exercise 3: rmsprop_step
def rms_eps_inside(w, g, v, lr, alpha=0.99, eps=1e-8):
    v = alpha * v + (1 - alpha) * g * g
    return w - lr * g / np.sqrt(v + eps), v


def rms_alpha_swapped(w, g, v, lr, alpha=0.99, eps=1e-8):
    v = (1 - alpha) * v + alpha * g * g
    return w - lr * g / (np.sqrt(v) + eps), v


def rms_reset(w, g, v, lr, alpha=0.99, eps=1e-8):
    v = (1 - alpha) * g * g
    return w - lr * g / (np.sqrt(v) + eps), v


def rms_no_one_minus(w, g, v, lr, alpha=0.99, eps=1e-8):
    v = alpha * v + g * g
    return w - lr * g / (np.sqrt(v) + eps), v


def rms_adagrad(w, g, v, lr, alpha=0.99, eps=1e-8):
    v = v + g * g
    return w - lr * g / (np.sqrt(v) + eps), v


def rms_ema_g(w, g, v, lr, alpha=0.99, eps=1e-8):
    v = alpha * v + (1 - alpha) * g
    return w - lr * g / (np.sqrt(v) + eps), v


def rms_stale(w, g, v, lr, alpha=0.99, eps=1e-8):
    w_new = w - lr * g / (np.sqrt(v) + eps)
    return w_new, alpha * v + (1 - alpha) * g * g


def rms_no_sqrt(w, g, v, lr, alpha=0.99, eps=1e-8):
    v = alpha * v + (1 - alpha) * g * g
    return w - lr * g / (v + eps), v


def rms_precedence(w, g, v, lr, alpha=0.99, eps=1e-8):
    v = alpha * v + (1 - alpha) * g * g
    return w - lr * (g / np.sqrt(v) + eps), v


def rms_w_in_place(w, g, v, lr, alpha=0.99, eps=1e-8):
    v = alpha * v + (1 - alpha) * g * g
    w -= lr * g / (np.sqrt(v) + eps)
    return w, v


def rms_v_none(w, g, v, lr, alpha=0.99, eps=1e-8):
    v = alpha * v + (1 - alpha) * g * g
    return w - lr * g / (np.sqrt(v) + eps), None


def rms_float32(w, g, v, lr, alpha=0.99, eps=1e-8):
    v = (alpha * v + (1 - alpha) * g * g).astype(np.float32)
    return w - lr * g / (np.sqrt(v) + np.float32(eps)), v


def rms_hard_eps(w, g, v, lr, alpha=0.99, eps=1e-8):
    v = alpha * v + (1 - alpha) * g * g
    return w - lr * g / (np.sqrt(v) + 1e-8), v


def rms_hard_alpha_keras(w, g, v, lr, alpha=0.99, eps=1e-8):
    v = 0.9 * v + 0.1 * g * g  # Keras's default rho = 0.9 written in
    return w - lr * g / (np.sqrt(v) + eps), v


def rms_bias_stuck(w, g, v, lr, alpha=0.99, eps=1e-8):
    v = alpha * v + (1 - alpha) * g * g
    return w - lr * g / (np.sqrt(v / (1 - alpha)) + eps), v  # a bias correction whose t never moves


def rms_init_ones(w, g, v, lr, alpha=0.99, eps=1e-8):
    if not np.any(v):
        v = np.ones_like(v)  # TensorFlow 1's mean square starts at 1
    v = alpha * v + (1 - alpha) * g * g
    return w - lr * g / (np.sqrt(v) + eps), v


def rms_init_g2(w, g, v, lr, alpha=0.99, eps=1e-8):
    v = g * g if not np.any(v) else alpha * v + (1 - alpha) * g * g
    return w - lr * g / (np.sqrt(v) + eps), v


def rms_global(w, g, v, lr, alpha=0.99, eps=1e-8):
    v = alpha * v + (1 - alpha) * np.sum(g * g)
    return w - lr * g / (np.sqrt(v) + eps), v


def rms_returns_root(w, g, v, lr, alpha=0.99, eps=1e-8):
    v = alpha * v + (1 - alpha) * g * g
    return w - lr * g / (np.sqrt(v) + eps), np.sqrt(v)


def rms_returns_v_plus_eps(w, g, v, lr, alpha=0.99, eps=1e-8):
    v = alpha * v + (1 - alpha) * g * g
    return w - lr * g / (np.sqrt(v) + eps), v + eps


def rms_floor(w, g, v, lr, alpha=0.99, eps=1e-8):
    v = alpha * v + (1 - alpha) * g * g
    return w - lr * g / (np.sqrt(v + 1e-16) + eps), v  # a second, tiny ε under the root


def rms_abs_average(w, g, v, lr, alpha=0.99, eps=1e-8):
    v = alpha * v + (1 - alpha) * np.abs(g)  # two mistakes at once: no simulation, the fallback
    return w - lr * g / (v + eps), v


def rms_alt_in_place(w, g, v, lr, alpha=0.99, eps=1e-8):
    v *= alpha
    v += (1 - alpha) * g * g
    return w - lr * g / (v**0.5 + eps), v


def rms_alt_lerp(w, g, v, lr, alpha=0.99, eps=1e-8):
    v = v + (1 - alpha) * (np.square(g) - v)
    return np.subtract(w, lr * np.divide(g, np.sqrt(v) + eps)), v


# ---------------------------------------------------------------- Exercise 4: window and half_life
def _right_window(alpha):
    return 1 / (1 - alpha)


def _right_half_life(alpha):
    return math.log(2) / math.log(1 / alpha)


def _bisect_half_life(alpha, tol):
    """The half-life found by bisection on alpha ** k = 1/2, stopped at the tolerance ``tol``."""
    lo, hi = 0.0, 1e4
    while hi - lo > tol:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if alpha**mid > 0.5 else (lo, mid)
    return (lo + hi) / 2


def _pair(window=_right_window, half_life=_right_half_life):
    return window, half_life


MEMORY_WRONG = [
    (_pair(_right_half_life, _right_window), r"window and half_life are swapped", "對調了"),
    (_pair(half_life=lambda a: 1 / (1 - a)), r"that is the window 1/\(1 − α\), not the half-life", "不是半衰期"),
    (_pair(half_life=lambda a: math.log(2) / (1 - a)), r"an approximation for α near 1", "近似"),
    (_pair(half_life=lambda a: 0.5 / (1 - a)), r"half the window is not the half-life", "窗口的一半"),
    (_pair(half_life=lambda a: np.log(2) / np.log(a)), r"your half-life is negative", "負的"),
    (_pair(half_life=lambda a: np.log(1 / a) / np.log(2)), r"the fraction is upside down", "分子分母放反了"),
    (_pair(half_life=lambda a: np.log(2) / np.log(1 / (1 - a))), r"1 − α as the decay factor", "衰減因子"),
    (_pair(half_life=lambda a: np.log(2) / np.log10(1 / a)), r"different bases", "底不同"),
    (_pair(half_life=lambda a: round(_right_half_life(a))), r"rounded the half-life", "取成了整數"),
    (_pair(half_life=lambda a: math.ceil(_right_half_life(a))), r"rounded the half-life", "取成了整數"),
    (_pair(window=lambda a: a / (1 - a)), r"one less than the window", "比窗口少 1"),
    (_pair(window=lambda a: 2 / (1 - a) - 1), r"pandas' span", "span"),
    (_pair(window=lambda a: 1 / a), r"α and 1 − α are swapped", "放反了"),
    (_pair(window=lambda a: 1 - a), r"the weight of the newest value; the window is its inverse", "倒數"),
    (_pair(window=_right_half_life), r"that is the half-life ln 2/ln\(1/α\), not the window", "這是半衰期"),
    (_pair(window=lambda a: int(1 / (1 - a))), r"rounded the window", "取成了整數"),
    (_pair(window=lambda a: np.array([1 / (1 - a)])), r"returned shape \(1,\): return one number", "應返回一個數"),
    (_pair(half_life=lambda a: 1 / math.log(1 / a)), r"that is the time constant 1/ln\(1/α\)", "時間常數"),
    # near misses: the message prints digits enough to tell the two numbers apart, and names the cause
    (_pair(half_life=lambda a: _bisect_half_life(a, 1e-6)),
     r"half_life\(0\.5\) returned 0\.9999998, expected 1\.000000: right to about 7 digits only\. Return the closed "
     r"form ln 2/ln\(1/α\)", "只有約 7 位有效數字是對的。請直接返回閉式解 ln 2/ln(1/α)"),
    (_pair(window=lambda a: np.float32(1 / (1 - a))),
     r"window\(0\.97\) returned 33\.333332, expected 33\.333333: right to about 7 digits only\. Return the closed "
     r"form 1/\(1 − α\), computed in float64", "並用 float64 計算"),
    (_pair(window=lambda a: sum(a**k for k in range(1000))),
     r"window\(0\.99\) returned 99\.9957, expected 100: right to about 4 digits only", "截斷的求和"),
]

NEAR_MISSES = MEMORY_WRONG[-3:]

MEMORY_RIGHT = [
    _pair(lambda a: float(np.sum(a ** np.arange(200_000))), lambda a: math.log(0.5, a)),
    _pair(lambda a: np.float64(1.0) / np.subtract(1.0, a), lambda a: 1 / np.log2(1 / a)),
]


# ---------------------------------------------------------------- Exercise 5: the RMSprop class
def _rms_class(mistake=None):
    store = {}  # a module-level store, for the "shared state" mistake

    class RMSpropWrong:
        def __init__(self, lr=0.01, alpha=0.99, eps=1e-8, momentum=0.0, centered=False):
            self.lr, self.alpha, self.eps = lr, alpha, eps
            self.momentum, self.centered = momentum, centered
            self.state = store if mistake == "shared" else {}
            self.lr0 = lr  # for the "lr read once" mistake

        def step(self, w, g):
            s = self.state
            if not s or mistake == "reset":
                s.update(v=np.ones_like(w) if mistake == "init_ones" else np.zeros_like(w), m=np.zeros_like(w),
                         b=np.zeros_like(w), t=0)
            s["t"] += 1
            a = 1 - self.alpha if mistake == "alpha_swapped" else self.alpha
            lr = self.lr0 if mistake == "lr_cached" else self.lr
            eps = 1e-8 if mistake == "hard_eps" else self.eps
            old_m = s["m"]
            if mistake == "init_g2" and s["t"] == 1:
                s["v"], s["m"] = g * g, g.copy()
            else:
                s["v"] = a * s["v"] + (1 - a) * (np.sum(g * g) if mistake == "global" else g * g)
                s["m"] = a * s["m"] + (1 - a) * g
            v, m = s["v"], old_m if mistake == "stale_mean" else s["m"]
            if mistake in ("bias", "bias_both"):
                v = v / (1 - self.alpha ** s["t"])
                if mistake == "bias_both":
                    m = m / (1 - self.alpha ** s["t"])
            if mistake == "bias_t1":
                v = v / (1 - self.alpha)
            if self.centered and mistake != "centered_ignored":
                c = v - m if mistake == "centered_mean" else v - m * m
                if mistake == "centered_stored":
                    s["v"] = c
            else:
                c = v
            d = np.sqrt(c + eps) if mistake == "eps_inside" else np.sqrt(c) + eps
            if mistake == "root_minus_mean" and self.centered:
                d = np.sqrt(v) - np.abs(m) + eps
            if self.momentum > 0 and mistake != "momentum_ignored":
                if mistake == "momentum_before":
                    s["b"] = self.momentum * s["b"] + g
                    return w - lr * s["b"] / d
                if mistake == "lr_in_buffer":
                    s["b"] = self.momentum * s["b"] + lr * g / d
                    return w - s["b"]
                if mistake == "nesterov":
                    s["b"] = self.momentum * s["b"] + g / d
                    return w - lr * (self.momentum * s["b"] + g / d)
                if mistake == "momentum_ema":
                    s["b"] = self.momentum * s["b"] + (1 - self.momentum) * g / d
                else:
                    s["b"] = self.momentum * s["b"] + g / d
                step = lr * s["b"]
            else:
                step = lr * g / d
            if mistake == "uphill":
                return w + step
            if mistake == "w_in_place":
                w -= step
                return w
            if mistake == "tuple":
                return w - step, s
            return w - step

    return RMSpropWrong


class RMSpropAltSetdefault:
    """Correct: the state created lazily with setdefault, the buffers updated in place."""

    def __init__(self, lr=0.01, alpha=0.99, eps=1e-8, momentum=0.0, centered=False):
        self.lr, self.alpha, self.eps = lr, alpha, eps
        self.momentum, self.centered = momentum, centered
        self.state = {}

    def step(self, w, g):
        v = self.state.setdefault("square_avg", np.zeros_like(w))
        v *= self.alpha
        v += (1 - self.alpha) * np.square(g)
        if self.centered:
            m = self.state.setdefault("grad_avg", np.zeros_like(w))
            m += (1 - self.alpha) * (g - m)
            d = np.sqrt(v - m**2) + self.eps
        else:
            d = np.sqrt(v) + self.eps
        if self.momentum:
            b = self.state.setdefault("momentum_buffer", np.zeros_like(w))
            b *= self.momentum
            b += g / d
            return w - self.lr * b
        return w - self.lr * g / d


class RMSpropAltTorch:
    """Correct: torch.optim.RMSprop itself behind the lab's interface."""

    def __init__(self, lr=0.01, alpha=0.99, eps=1e-8, momentum=0.0, centered=False):
        self.lr, self.kw = lr, dict(alpha=alpha, eps=eps, momentum=momentum, centered=centered)
        self.state = {}

    def step(self, w, g):
        if not self.state:
            self.state["p"] = torch.tensor(np.array(w, dtype=float), requires_grad=True)
            self.state["opt"] = torch.optim.RMSprop([self.state["p"]], lr=self.lr, **self.kw)
        p, opt = self.state["p"], self.state["opt"]
        with torch.no_grad():
            p.copy_(torch.as_tensor(w))
        opt.param_groups[0]["lr"] = self.lr
        p.grad = torch.tensor(np.array(g, dtype=float))
        opt.step()
        return p.detach().numpy().copy()


# ---------------------------------------------------------------- Exercise 6: adadelta_step
def _adadelta(mistake=None):
    def adadelta_step(w, g, v, u, lr=1.0, rho=0.9, eps=1e-6):
        if mistake == "reset":
            v, u = np.zeros_like(w), np.zeros_like(w)
        if mistake == "hard_eps":
            eps = 1e-6
        if mistake == "hard_rho":
            rho = 0.9
        r = 1 - rho if mistake == "rho_swapped" else rho
        v_new = r * v + (1 - r) * g * g
        V = v if mistake == "stale_v" else v_new
        num = np.sqrt(u) + eps if mistake in ("eps_outside", "eps_outside_num") else np.sqrt(u + eps)
        if mistake == "no_eps_num":
            num = np.sqrt(u)
        den = np.sqrt(V) + eps if mistake == "eps_outside" else np.sqrt(V + eps)
        if mistake == "eps_squared":
            num, den = np.sqrt(u + eps**2), np.sqrt(V + eps**2)
        delta = den / num * g if mistake == "inverted" else num / den * g
        if mistake == "u_of_g":
            u = r * u + (1 - r) * g * g
        elif mistake == "u_with_lr":
            u = r * u + (1 - r) * (lr * delta) ** 2
        elif mistake == "u_of_delta":
            u = r * u + (1 - r) * delta
        else:
            u = r * u + (1 - r) * delta * delta
        w_new = w - delta if mistake == "lr_ignored" else w - lr * delta
        if mistake == "wrong_order":
            return w_new, u, v_new
        if mistake == "returns_denominator":
            return w_new, np.sqrt(v_new + eps), u
        return w_new, v_new, u

    return adadelta_step


def adadelta_alt_in_place(w, g, v, u, lr=1.0, rho=0.9, eps=1e-6):
    v *= rho
    v += (1 - rho) * g * g
    delta = np.sqrt((u + eps) / (v + eps)) * g
    u *= rho
    u += (1 - rho) * delta**2
    return w - lr * delta, v, u


def adadelta_alt_loop(w, g, v, u, lr=1.0, rho=0.9, eps=1e-6):
    w2, v2, u2 = w.copy(), v.copy(), u.copy()
    for i in range(len(w)):
        v2[i] = rho * v[i] + (1 - rho) * g[i] ** 2
        d = math.sqrt(u[i] + eps) / math.sqrt(v2[i] + eps) * g[i]
        u2[i] = rho * u[i] + (1 - rho) * d * d
        w2[i] = w[i] - lr * d
    return w2, v2, u2


# ---------------------------------------------------------------- the exercises
EXERCISES = {
    # exercise: (check, names in the notebook, wrong answers (answer, English regex, Chinese phrase), right answers)
    "adagrad": (lab3.check_adagrad, ["adagrad_step"], [
        (ada_eps_inside, r"ε is inside the square root, g/√\(G \+ ε\)", "放在了平方根裡面"),
        (ada_no_eps, r"ε is missing: the step is lr·g/\(√G \+ ε\)", "漏了 ε"),
        (ada_precedence, r"ε is not in the denominator: by operator precedence", "運算符優先級"),
        (ada_sum_g, r"G accumulates the gradients g \(or \|g\|\), not their squares", "累加的是梯度 g"),
        (ada_sum_abs, r"G accumulates the gradients g \(or \|g\|\), not their squares", "累加的是梯度 g"),
        (ada_reset, r"G starts afresh at every call .* sign descent .* return the updated G", "從頭開始"),
        (ada_old_G_returned, r"w is right after step 1, but the G that adagrad_step returned is the G passed in, "
         r"not updated: return G itself", "返回的 G 是傳進來的那個 G，沒有更新"),
        (ada_stale, r"the step uses G before this step's g² is added", "還沒加上本步 g² 的 G"),
        (ada_no_sqrt, r"the square root is missing: the denominator is √G \+ ε", "少了平方根"),
        (ada_w_in_place, r"adagrad_step changed its argument w in place at step 1", "原地修改了傳入的參數 w"),
        (ada_g_in_place, r"adagrad_step changed its argument g in place at step 1", "原地修改了傳入的參數 g"),
        (ada_swapped, r"returned its results in the wrong order: return \(w, G\)", "順序不對"),
        (ada_float32, r"right to about \d digits: something is computed in float32", "float32"),
        (ada_uphill, r"your steps go uphill", "往上走"),
        (ada_no_return, r"adagrad_step returned None: did you forget the `return`", "忘了寫 `return`"),
        (ada_global, r"G is summed over all the coordinates .* G is per coordinate, G ← G \+ g \* g", "對所有坐標求和"),
        (ada_norm, r"G is summed over all the coordinates .* G is per coordinate, G ← G \+ g \* g", "對所有坐標求和"),
        (ada_tf_init, r"your accumulator starts at 0\.1, TensorFlow's initial_accumulator_value", "從 0.1 開始"),
        (ada_hard_eps, r"the eps passed in is not used: your steps are those of ε = 1e-10, .* this run passed eps = "
         r"0\.1\. Use the argument eps", "傳入的 eps 沒有用上：你的步子對應的是 ε = 1e-10"),
        (ada_returns_root, r"w is right after step 1, but the G that adagrad_step returned is its root √G: return G "
         r"itself", "返回的 G 是它的平方根 √G"),
        (ada_returns_denominator, r"w is right after step 1, but the G that adagrad_step returned is √G \+ ε, the "
         r"denominator", "返回的 G 是分母 √G + ε"),
        (ada_returns_G_plus_eps, r"w is right after step 1, but the G that adagrad_step returned is G \+ ε, while ε "
         r"belongs only where G enters the step", "返回的 G 是 G + ε，而 ε 只應出現在 G 進入步子的地方"),
        (ada_eps_where_zero, r"one's always zero, lr = 0\.1: w is right after step 1, but the G that adagrad_step "
         r"returned is G with ε where it should be 0", "換成了 ε 的 G"),
        (ada_clipped, r"gradients of sizes 1e-6 to 1e3, lr = 0\.1 changed to 0\.02 at step 11: w is right after "
         r"step 1, but the G that adagrad_step returned is not the accumulator", "返回的 G 不是累加器"),
        (ada_multiplies, r"differs from the expected value: .*\. Compare your step with Adagrad's, coordinate by "
         r"coordinate: G ← G \+ g \* g .* then w ← w − lr·g/\(√G \+ ε\)$", "請逐坐標對照 Adagrad 的一步"),
    ], [ada_alt_in_place, ada_alt_loop]),
    "rates": (lab3.check_rates, ["adagrad_rates"], [
        (rates_no_accumulation, r"use only the current gradient", "只用了當前梯度"),
        (rates_mean, r"you averaged the squares", "取了平均"),
        (rates_cumsum_g, r"you accumulated g \(or \|g\|\), not g²", "累加的是 g"),
        (rates_axis1, r"over the coordinates \(axis=1\)", "沿坐標方向"),
        (rates_off_by_one, r"uses G_\{t−1\}, the sum before g_t", "還沒加上 g_t"),
        (rates_eps_inside, r"ε is inside the root, lr/√\(G \+ ε\)", "根號裡面"),
        (rates_no_eps, r"ε is missing: on a coordinate that has seen no gradient yet", "漏了 ε"),
        (rates_no_sqrt, r"the square root is missing: the rate is lr/\(√G \+ ε\)", "少了平方根"),
        (rates_steps, r"you returned the steps lr·g/\(√G \+ ε\)", "返回的是步子"),
        (rates_no_axis, r"a flat array of \d+ numbers: np.cumsum without axis=", "攤平"),
        (rates_transposed, r"the transpose", "行列顛倒"),
        (rates_last, r"the rates of one step", "只是某一步"),
        (rates_in_place, r"changed its argument grads in place", "原地修改了傳入的參數 grads"),
        (rates_fourth_root, r"your rates fall like t\^−0\.25; Adagrad's fall like t\^−0\.50", "按 t^−0.25 下降"),
        (rates_square_of_sum, r"you squared the sum, \(g_1 \+ … \+ g_t\)².*Adagrad sums the squares",
         "你求的是和的平方"),
        (rates_abs_of_sum, r"you squared the sum, \(g_1 \+ … \+ g_t\)².*Adagrad sums the squares", "你求的是和的平方"),
        (rates_global, r"G is summed over the coordinates as well", "還對各個坐標求了和"),
        (rates_one_per_step, r"one rate per step: each coordinate has its own rate", "每一步只有一個學習率"),
        (rates_precedence, r"by operator precedence, lr / np\.sqrt\(G\) \+ eps adds ε to the rate", "加到了學習率上"),
        (rates_unseen_zero, r"on a rare feature and a late one .*: on a coordinate that has seen no gradient yet "
         r"\(G = 0\) your rate is not lr/ε", "你的學習率不是 lr/ε"),
        (rates_hard_eps, r"on eps = 0\.5 .*: the eps passed in is not used: your steps are those of ε = 1e-10",
         "傳入的 eps 沒有用上"),
        (rates_window, r"your rates fall like t\^−0\.23; Adagrad's fall like t\^−0\.50", "按 t^−0.23 下降"),
        (rates_sqrt_lr, r"is 3\.162 times the expected value: look for a missing or extra factor\. The rate of step t "
         r"is lr/\(√G_t \+ ε\)", "第 t 步的學習率是 lr/(√G_t + ε)"),
    ], [rates_alt_loop, rates_alt_accumulate]),
    "rmsprop": (lab3.check_rmsprop, ["rmsprop_step"], [
        (rms_eps_inside, r"as in TensorFlow's and Keras's RMSprop", "TensorFlow 和 Keras"),
        (rms_alpha_swapped, r"α and 1 − α are swapped", "放反了"),
        (rms_reset, r"v starts afresh at every call", "從頭開始"),
        (rms_no_one_minus, r"the new g² enters without its weight 1 − α", "少乘了權重 1 − α"),
        (rms_adagrad, r"this is Adagrad's sum", "Adagrad 的累加和"),
        (rms_ema_g, r"v averages g, not g²", "平均的是 g"),
        (rms_stale, r"the step uses v before this step's g² enters", "還沒納入本步 g² 的 v"),
        (rms_no_sqrt, r"the square root is missing: the denominator is √v \+ ε", "少了平方根"),
        (rms_precedence, r"by operator precedence, lr \* g / np.sqrt\(v\) \+ eps", "運算符優先級"),
        (rms_w_in_place, r"rmsprop_step changed its argument w in place", "原地修改了傳入的參數 w"),
        (rms_v_none, r"rmsprop_step returned v = None at step 1", "返回的 v 是 None"),
        (rms_float32, r"right to about \d digits: something is computed in float32", "float32"),
        (rms_hard_eps, r"with alpha = 0\.9, eps = 1e-4, .*: the eps passed in is not used: your steps are those of "
         r"ε = 1e-8, .* this run passed eps = 1e-4", "傳入的 eps 沒有用上：你的步子對應的是 ε = 1e-8"),
        (rms_hard_alpha_keras, r"the alpha passed in is not used: your steps are those of α = 0\.9, .* this run "
         r"passed alpha = 0\.99", "傳入的 alpha 沒有用上"),
        (rms_bias_stuck, r"you divided v by 1 − α in the step: that is a bias correction v/\(1 − αᵗ\) stuck at t = 1",
         "停在 t = 1 的偏差修正"),
        (rms_init_ones, r"your mean square starts at 1, as in TensorFlow 1's RMSPropOptimizer", "TensorFlow 1"),
        (rms_init_g2, r"at the first step v is set to g² instead of being averaged", "直接設成了 g²"),
        (rms_global, r"v averages the sum of g² over all the coordinates", "所有坐標上 g² 的和"),
        (rms_returns_root, r"w is right after step 1, but the v that rmsprop_step returned is its root √v",
         "返回的 v 是它的平方根 √v"),
        (rms_returns_v_plus_eps, r"w is right after step 1, but the v that rmsprop_step returned is v \+ ε",
         "返回的 v 是 v + ε"),
        (rms_floor, r"the step w_1 − w_0 \(alpha = 0\.9, eps = 1e-8, gradients of size 1e-7, lr = 0\.01\) differs .*\. "
         r"Compare your step with RMSprop's", "請逐坐標對照 RMSprop 的一步"),
        (rms_abs_average, r"differs from the expected value: .*\. Compare your step with RMSprop's, coordinate by "
         r"coordinate: v ← α·v \+ \(1 − α\)·g \* g", "請逐坐標對照 RMSprop 的一步"),
    ], [rms_alt_in_place, rms_alt_lerp]),
    "memory": (None, ["window", "half_life"], MEMORY_WRONG, MEMORY_RIGHT),
    "class": (lab3.check_rmsprop_class, ["RMSprop"], [
        (_rms_class("eps_inside"), r"ε is inside the square root: PyTorch's denominator is √v \+ ε", "平方根裡面"),
        (_rms_class("bias"), r"you added a bias correction, v/\(1 − αᵗ\): that is Adam's", "偏差修正"),
        (_rms_class("bias_both"), r"you added a bias correction, v/\(1 − αᵗ\): that is Adam's", "偏差修正"),
        (_rms_class("reset"), r"the state starts afresh at every call", "從頭開始"),
        (_rms_class("centered_mean"), r"subtracts ḡ instead of ḡ²", "你減去的是 ḡ，而應減去 ḡ²"),
        (_rms_class("centered_stored"), r"was written back into the average", "寫回了平均值"),
        (_rms_class("centered_ignored"), r"centered=True is ignored", "centered=True 被忽略了"),
        (_rms_class("momentum_before"), r"momentum is applied before the normalization", "歸一化之前"),
        (_rms_class("momentum_ema"), r"the momentum buffer is an average", "緩衝被寫成了平均"),
        (_rms_class("lr_in_buffer"), r"learning rate is folded into the momentum buffer .* changed lr at step 11",
         "學習率被併進了動量緩衝"),
        (_rms_class("momentum_ignored"), r"momentum is ignored", "momentum 被忽略了"),
        (_rms_class("alpha_swapped"), r"α and 1 − α are swapped", "放反了"),
        (_rms_class("shared"), r"two new RMSprop objects given the same first step took different steps", "共用了狀態"),
        (_rms_class("w_in_place"), r"RMSprop.step changed its argument w in place at step 1", "原地修改了傳入的參數 w"),
        (_rms_class("tuple"), r"RMSprop.step returned a tuple: return the new w only", "只需返回新的 w"),
        (_rms_class("init_ones"), r"your mean square starts at 1, as in TensorFlow 1's RMSPropOptimizer",
         "TensorFlow 1"),
        (_rms_class("init_g2"), r"at the first step v is set to g² \(and ḡ to g\)", "直接設成了 g²"),
        (_rms_class("bias_t1"), r"you divided v by 1 − α, a bias correction v/\(1 − αᵗ\) stuck at t = 1",
         "停在 t = 1 的偏差修正"),
        (_rms_class("stale_mean"), r"centered=True, .*: the denominator uses ḡ before this step's update",
         "分母用的是還沒更新的 ḡ"),
        (_rms_class("root_minus_mean"), r"your centered denominator is √v − \|ḡ\| \+ ε", "兩個平方根之差"),
        (_rms_class("lr_cached"), r"your steps did not follow the learning rate changed at step 11: .* Read "
         r"self\.lr at every step", "請在每一步都讀取 self.lr"),
        (_rms_class("hard_eps"), r"the eps passed in is not used: your steps are those of ε = 1e-8, .* this run passed "
         r"eps = 0\.001\. Use self\.eps", "請使用 self.eps"),
        (_rms_class("nesterov"), r"your step looks ahead, .* torch\.optim\.RMSprop has no Nesterov option", "前瞻"),
        (_rms_class("global"), r"v averages the sum of g² over all the coordinates", "所有坐標上 g² 的和"),
        (_rms_class("uphill"), r"has the wrong sign: .*\. Compare your step with torch\.optim\.RMSprop's "
         r"\(centered=False, momentum=0\), per coordinate, with v from 0: v ← α·v \+ \(1 − α\)·g², d = √v \+ ε, "
         r"w ← w − lr·g/d$", "請逐坐標對照 torch.optim.RMSprop 的一步（centered=False，momentum=0）"),
    ], [RMSpropAltSetdefault, RMSpropAltTorch]),
    "adadelta": (lab3.check_adadelta, ["adadelta_step"], [
        (_adadelta("eps_outside"), r"ε is outside a root: .* inside both", "根號外面"),
        (_adadelta("eps_outside_num"), r"ε is outside a root: .* inside both", "根號外面"),
        (_adadelta("no_eps_num"), r"w never moves: the numerator √u has no ε", "一動不動"),
        (_adadelta("inverted"), r"the ratio is upside down", "上下顛倒"),
        (_adadelta("lr_ignored"), r"lr is ignored: the paper's Adadelta has no learning rate", "lr 被忽略了"),
        (_adadelta("u_with_lr"), r"u accumulates \(lr·δ\)²", "(lr·δ)²"),
        (_adadelta("u_of_g"), r"u averages g², like v", "平均的是 g²"),
        (_adadelta("stale_v"), r"δ uses v before this step's g² enters", "還沒納入本步 g² 的 v"),
        (_adadelta("rho_swapped"), r"ρ and 1 − ρ are swapped", "放反了"),
        (_adadelta("reset"), r"v and u start afresh at every call", "從頭開始"),
        (_adadelta("wrong_order"), r"returned its results in the wrong order: return \(w, v, u\)", "順序不對"),
        (_adadelta("u_of_delta"), r"w is right after step 1, but the u that adadelta_step returned is wrong: u "
         r"averages δ, not δ²", "u 平均的是 δ，而不是 δ²"),
        (_adadelta("hard_eps"), r"with rho = 0\.9, eps = 0\.001, lr = 1: the eps passed in is not used: your steps are "
         r"those of ε = 1e-6", "傳入的 eps 沒有用上"),
        (_adadelta("hard_rho"), r"with rho = 0\.95, eps = 1e-6, lr = 1: the rho passed in is not used: your steps are "
         r"those of ρ = 0\.9", "傳入的 rho 沒有用上"),
        (_adadelta("returns_denominator"), r"w is right after step 1, but the v that adadelta_step returned is "
         r"√\(v \+ ε\), the denominator", "返回的 v 是分母 √(v + ε)"),
        (_adadelta("eps_squared"), r"differs from the expected value: .*\. Compare your step with Adadelta's, "
         r"coordinate by coordinate", "請逐坐標對照 Adadelta 的一步"),
    ], [adadelta_alt_in_place, adadelta_alt_loop]),
}


def _run_check(exercise, answer):
    check = EXERCISES[exercise][0]
    if exercise == "memory":
        return lab3.check_memory(*answer)
    return check(answer)


# The standard tests (tests/labkit.py): the stub fails, each wrong answer gets its own message in both
# languages, the solution and the alternatives pass.
labkit.standard_tests(
    globals(), lab=LAB3, module=lab3, exercises=EXERCISES, solution=SOL, run_check=_run_check,
    answer_from=lambda ns, ex: tuple(ns[n] for n in EXERCISES[ex][1]) if ex == "memory" else ns[EXERCISES[ex][1][0]],
    check_name=lambda ex: EXERCISES[ex][0].__name__ if EXERCISES[ex][0] else "check_memory")


# ---------------------------------------------------------------- the simulations behind the diagnoses
def _cases_of(exercise):
    if exercise == "adagrad":
        cases, _ = lab3._adagrad_cases()
        return [(lambda m, c=c: lab3.adagrad_path(np.ones(c[2].shape[1]), c[2], c[1], c[0], m),
                 lambda c=c: lab3.torch_path("Adagrad", np.ones(c[2].shape[1]), c[2], c[1], eps=c[0])) for c in cases]
    if exercise == "rmsprop":
        cases, _ = lab3._rmsprop_cases()
        return [(lambda m, c=c: lab3.rmsprop_path(np.ones(c[3].shape[1]), c[3], c[2], c[0], c[1], m),
                 lambda c=c: lab3.torch_path("RMSprop", np.ones(c[3].shape[1]), c[3], c[2], alpha=c[0], eps=c[1]))
                for c in cases]
    raise ValueError(exercise)


SIMULATED = {
    "adagrad": ["eps_inside", "no_eps", "no_sqrt", "eps_on_w", "eps_on_step", "sum_g", "sum_abs", "reset", "stale",
                "uphill", "global", "init_tf"],
    "rmsprop": ["eps_inside", "no_sqrt", "eps_on_w", "eps_on_step", "alpha_swapped", "reset", "no_one_minus_alpha",
                "adagrad", "ema_g", "stale", "uphill", "global", "init_ones", "init_g2"],
}


@pytest.mark.parametrize("exercise", list(SIMULATED))
def test_simulations_are_torch_and_each_mistake_differs(exercise):
    cases = _cases_of(exercise)
    for simulate, reference in cases:
        assert np.allclose(simulate(None), reference(), rtol=1e-12, atol=1e-15)
    for mistake in SIMULATED[exercise]:
        assert any(not lab3._agree(simulate(mistake), reference()) for simulate, reference in cases), mistake


def test_class_and_adadelta_simulations():
    lrs = lab3._schedule(30, 0.01, 11, 0.3)
    mistakes = ["eps_inside", "bias", "bias_both", "reset", "centered_mean", "centered_stored", "centered_ignored",
                "momentum_before", "momentum_ema", "lr_in_buffer", "momentum_ignored", "alpha_swapped", "init_ones",
                "init_g2", "bias_t1", "global", "lr_cached", "centered_root_minus", "centered_stale_mean", "nesterov"]
    differs = dict.fromkeys(mistakes, False)
    for n, (centered, momentum) in enumerate(lab3._full_cases()):
        grads, w0 = lab3._gradients(50 + n, 30, 5, shift=0.3), np.ones(5)
        ref = lab3.torch_path("RMSprop", w0, grads, lrs, alpha=0.9, eps=1e-3, momentum=momentum, centered=centered)
        assert np.allclose(lab3.rmsprop_full_path(w0, grads, lrs, 0.9, 1e-3, momentum, centered), ref, rtol=1e-12)
        for m in mistakes:
            differs[m] |= not lab3._agree(lab3.rmsprop_full_path(w0, grads, lrs, 0.9, 1e-3, momentum, centered, m), ref)
    assert all(differs.values()), differs
    lrs = np.full(30, 0.5)
    grads, w0 = lab3._gradients(71, 30, 4), np.ones(4)
    ref = lab3.torch_path("Adadelta", w0, grads, lrs, rho=0.9, eps=1e-6)
    assert np.allclose(lab3.adadelta_path(w0, grads, lrs, 0.9, 1e-6), ref, rtol=1e-12)
    for m in ["reset", "rho_swapped", "stale_v", "eps_outside_both", "eps_outside_num", "eps_outside_den",
              "no_eps_num", "inverted", "u_of_g", "u_with_lr", "lr_ignored", "u_of_delta"]:
        assert not lab3._agree(lab3.adadelta_path(w0, grads, lrs, 0.9, 1e-6, m), ref), m


def test_rates_reference_follows_the_law():
    law, lr, eps, *_ = lab3._rates_cases()[0]
    t = np.arange(1, len(law) + 1)[:, None]
    assert np.all(np.abs(law[:, 0]) == 2.0)
    assert np.allclose(lab3.adagrad_rates_variant(law, lr, eps)[:, :1], lr / (2.0 * np.sqrt(t)), rtol=1e-8)
    assert lab3._decay_exponent(lab3.adagrad_rates_variant(law, lr, eps)[:, 0]) == pytest.approx(-0.5, abs=1e-9)


def test_rates_simulations_differ_from_the_rates():
    cases = lab3._rates_cases()
    for m in ["cumsum_g", "cumsum_abs", "sum_squared", "global", "no_accumulation", "mean", "axis1", "off_by_one",
              "eps_inside", "no_eps", "eps_added", "no_sqrt", "steps", "no_lr", "unseen_zero", "unseen_lr"]:
        assert any(not lab3._agree(lab3.adagrad_rates_variant(g, lr, eps, m), lab3.adagrad_rates_variant(g, lr, eps))
                   for g, lr, eps, *_ in cases), m


def test_a_wrong_state_is_named_only_when_the_step_is_right():
    """The state is judged at step 1 only if w is right there; else the step's own diagnosis speaks."""
    def wrong_both(w, g, G, lr, eps=1e-10):
        G = G + g  # a wrong state that makes the first step wrong too
        return w - lr * g / (np.sqrt(G) + eps), G
    with pytest.raises(CheckFailed) as info:
        lab3.check_adagrad(wrong_both)
    assert "G accumulates the gradients g" in info.value.en and "w is right" not in info.value.en


def test_the_fallback_recalls_the_update_but_a_float32_near_miss_does_not():
    for check, answer in ((lab3.check_adagrad, ada_float32), (lab3.check_rmsprop, rms_float32)):
        with pytest.raises(CheckFailed) as info:
            check(answer)
        assert "float32" in info.value.en and "Compare your step" not in info.value.en
        assert "請逐坐標對照" not in info.value.zh
    with pytest.raises(CheckFailed) as info:
        lab3.check_adagrad(ada_multiplies)
    assert info.value.en.endswith("then w ← w − lr·g/(√G + ε)")
    assert info.value.zh.endswith("然後 w ← w − lr·g/(√G + ε)") and "。請逐坐標對照" in info.value.zh


@pytest.mark.parametrize("pair, en, zh", NEAR_MISSES, ids=["bisection", "float32", "truncated sum"])
def test_a_near_miss_prints_two_different_numbers(pair, en, zh):
    with pytest.raises(CheckFailed) as info:
        lab3.check_memory(*pair)
    got, expected = re.search(r"returned ([^,\s]+), expected ([^:\s]+):", info.value.en).groups()
    assert got != expected
    assert re.search(r"返回了 ([^，\s]+)，應為 ([^：\s]+)：", info.value.zh).groups() == (got, expected)


# Each run of a check must catch a mistake that no other run catches: else it proves nothing, and the
# ✓ line would claim what no test shows. (exercise, the function listing the runs, the run, an answer
# wrong only there, a phrase of the run's name in each language.)
CASE_PROOFS = [
    ("adagrad", "_adagrad_cases", 0, ada_hard_eps, r"with a large eps = 0\.1", "eps 取大值 0.1"),
    ("adagrad", "_adagrad_cases", 1, ada_eps_where_zero, r"one coordinate's gradient zero for 8 steps",
     "一個坐標的梯度前 8 步為零"),
    ("adagrad", "_adagrad_cases", 2, ada_clipped, r"gradients of sizes 1e-6 to 1e3", "梯度的量級從 1e-6 到 1e3"),
    ("rates", "_rates_cases", 0, rates_window, r"on \|g\| = 2 with random signs", "第一個坐標 |g| 恆為 2"),
    ("rates", "_rates_cases", 1, rates_unseen_zero, r"on a rare feature and a late one",
     "一個稀有特徵和一個很晚才出現的特徵"),
    ("rates", "_rates_cases", 2, rates_hard_eps, r"on eps = 0\.5", "在「eps = 0.5」上"),
    ("rmsprop", "_rmsprop_cases", 0, rms_hard_alpha_keras, r"with alpha = 0\.99, eps = 1e-8, lr = 0\.01:",
     "在 alpha = 0.99，eps = 1e-8，lr = 0.01 時"),
    ("rmsprop", "_rmsprop_cases", 1, rms_floor, r"gradients of size 1e-7", "梯度量級為 1e-7"),
    ("rmsprop", "_rmsprop_cases", 2, rms_hard_eps, r"eps = 1e-4, gradients of sizes 1e-3 to 100",
     "eps = 1e-4，梯度量級從 1e-3 到 100"),
    ("adadelta", "_adadelta_cases", 0, _adadelta("lr_ignored"), r"with rho = 0\.9, eps = 1e-6, lr = 0\.5:",
     "在 rho = 0.9，eps = 1e-6，lr = 0.5 時"),
    ("adadelta", "_adadelta_cases", 1, _adadelta("hard_rho"), r"with rho = 0\.95", "在 rho = 0.95"),
    ("adadelta", "_adadelta_cases", 2, _adadelta("hard_eps"), r"with rho = 0\.9, eps = 0\.001",
     "在 rho = 0.9，eps = 0.001"),
]


def _runs(cases_fn):
    out = getattr(lab3, cases_fn)()
    return out if cases_fn == "_rates_cases" else out[0]


def test_every_run_of_every_check_has_its_proof():
    for cases_fn in {c for _, c, *_ in CASE_PROOFS}:
        proved = sorted(i for _, c, i, *_ in CASE_PROOFS if c == cases_fn)
        assert proved == list(range(len(_runs(cases_fn)))), cases_fn


@pytest.mark.parametrize("exercise, cases_fn, i, answer, en, zh", CASE_PROOFS,
                         ids=[f"{e}-run{i}" for e, _, i, *_ in CASE_PROOFS])
def test_each_run_catches_a_mistake_the_others_miss(exercise, cases_fn, i, answer, en, zh, monkeypatch, capsys):
    with pytest.raises(CheckFailed) as info:
        _run_check(exercise, answer)
    assert re.search(en, info.value.en), info.value.en
    assert zh in info.value.zh, info.value.zh
    original = getattr(lab3, cases_fn)
    if cases_fn == "_rates_cases":
        monkeypatch.setattr(lab3, cases_fn, lambda: [c for k, c in enumerate(original()) if k != i])
    else:
        monkeypatch.setattr(lab3, cases_fn, lambda: ([c for k, c in enumerate(original()[0]) if k != i], original()[1]))
    _run_check(exercise, answer)  # without run i, the same answer passes
    assert capsys.readouterr().out.startswith("✓ Exercise")


def test_only_exercise_5_claims_a_learning_rate_changed_mid_run(capsys):
    """In a functional step lr is an argument of every call: a change mid-run can catch nothing there."""
    for exercise, (_, names, _, _) in EXERCISES.items():
        answer = tuple(SOL[n] for n in names) if exercise == "memory" else SOL[names[0]]
        _run_check(exercise, answer)
        out = capsys.readouterr().out
        assert ("lr changed mid-run" in out) == (exercise == "class"), exercise
        assert ("學習率中途改變" in out) == (exercise == "class"), exercise


def test_a_run_is_named_as_lab_2_names_it():
    """「…，lr = 0.01，第 11 步改為 0.001」, as Lab 2's messages read, not 「、lr = … 且第 N 步起」."""
    with pytest.raises(CheckFailed) as info:
        lab3.check_rmsprop(rms_hard_eps)
    assert "在 alpha = 0.9，eps = 1e-4，梯度量級從 1e-3 到 100，lr = 0.01，第 11 步改為 0.001 時，" in info.value.zh
    code = (ROOT / "optbook" / "lab_checks_03.py").read_text(encoding="utf-8")
    assert "步起改為" not in code and "、lr =" not in code


@pytest.mark.parametrize("folder", ["solutions", "labs"])
def test_the_lab_text_says_what_is_compared_and_when_an_approximation_holds(folder):
    text = markdown(load(ROOT / folder / LAB3))
    assert "themselves for the optimizers, the formulas for the rates of Exercise 2" in text
    assert "優化器直接與 `torch.optim.Adagrad`、`RMSprop` 和 `Adadelta` 本身比較，練習 2 的學習率" in text
    assert text.count(r"whenever $(1-\rho)\,g^2 \gg \epsilon$") == 1
    assert text.count(r"只要 $(1-\rho)\,g^2 \gg \epsilon$") == 1
