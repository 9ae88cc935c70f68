"""Proof that every check of Lab 4 (Adam and AdamW from scratch) is real.

The standard tests of tests/labkit.py run on the table EXERCISES: the stub fails, each of at least
eight typical wrong answers fails with *its* message in both languages, the solution and two
differently written correct answers pass. The tests below prove the simulated mistakes the checks
compare against (without a mistake they are torch.optim itself; each mistake differs from torch on
its check's inputs) and the lab's own diagnoses.
"""

from __future__ import annotations

import math

import labkit
import numpy as np
import pytest
import torch

from optbook import lab_checks_04 as lab4
from optbook.checks import torch_path

from helpers import ROOT, load, markdown

LAB4 = "04-adam-adamw.ipynb"
ALL = ["adam_step", "uncorrected_ratio", "amsgrad_step", "adam_l2_step", "adamw_step", "param_groups",
       "keras_adam_step", "torch_eps"]


def _namespace(folder: str) -> dict:
    return labkit.namespace(LAB4, folder, ALL, {"np": np, "torch": torch})


SOL = _namespace("solutions")


@pytest.fixture(scope="module")
def stub():
    return _namespace("labs")


# ---------------------------------------------------------------- a configurable Adam, to write mistakes with
def _adam(w, g, m, v, t, lr, betas, eps, *, bump=1, power=None, den=None, correct=(True, True), ema=None,
          ret=None, v_of=None, stored=None, variance=False):
    b1, b2 = betas
    t_new = t + bump
    m = ema(m, g, b1) if ema else b1 * m + (1 - b1) * g
    sq = v_of(g) if v_of else (g - m) ** 2 if variance else g * g
    v = ema(v, sq, b2) if ema else b2 * v + (1 - b2) * sq
    tt = power(t, t_new) if power else t_new
    c1 = 1 - b1**tt if correct[0] else 1.0
    c2 = 1 - b2**tt if correct[1] else 1.0
    m_hat, v_hat = m / c1, v / c2
    d = den(v_hat, v, c2, eps) if den else np.sqrt(v_hat) + eps
    w_new = w - lr * m_hat / d
    if stored:
        m, v = m_hat, v_hat
    return ret(w_new, m, v, t_new, t) if ret else (w_new, m, v, t_new)


def A(**kw):
    def adam_step(w, g, m, v, t, lr, betas=(0.9, 0.999), eps=1e-8):
        return _adam(w, g, m, v, t, lr, betas, eps, **kw)
    return adam_step


def adam_precedence(w, g, m, v, t, lr, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    t = t + 1
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    return w - lr * (m / (1 - b1**t)) / np.sqrt(v / (1 - b2**t)) + eps, m, v, t


def adam_reset(w, g, m, v, t, lr, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = (1 - b1) * g
    v = (1 - b2) * g * g
    return w - lr * (m / (1 - b1)) / (np.sqrt(v / (1 - b2)) + eps), m, v, t + 1


def adam_w_in_place(w, g, m, v, t, lr, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    t = t + 1
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    w -= lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return w, m, v, t


def adam_hard_eps(w, g, m, v, t, lr, betas=(0.9, 0.999), eps=1e-8):
    return SOL["adam_step"](w, g, m, v, t, lr, betas, 1e-8)


def adam_float32(w, g, m, v, t, lr, betas=(0.9, 0.999), eps=1e-8):
    f = np.float32
    w32 = SOL["adam_step"](w.astype(f), g.astype(f), m.astype(f), v.astype(f), t, f(lr), betas, f(eps))[0]
    return (w32.astype(np.float64),) + SOL["adam_step"](w, g, m, v, t, lr, betas, eps)[1:]


def adam_no_return(w, g, m, v, t, lr, betas=(0.9, 0.999), eps=1e-8):
    SOL["adam_step"](w, g, m, v, t, lr, betas, eps)


def adam_multiplies(w, g, m, v, t, lr, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    t = t + 1
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    return w - lr * (m / (1 - b1**t)) * (np.sqrt(v / (1 - b2**t)) + eps), m, v, t


def adam_alt_in_place(w, g, m, v, t, lr, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    t += 1
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * np.square(g)
    step_size = lr / (1 - beta1**t)
    denom = np.sqrt(v) / math.sqrt(1 - beta2**t) + eps   # torch's own arrangement
    return w - step_size * m / denom, m, v, t


def adam_alt_lerp(w, g, m, v, t, lr, betas=(0.9, 0.999), eps=1e-8):
    t = t + 1
    m = m + (1 - betas[0]) * (g - m)
    v = v + (1 - betas[1]) * (g**2 - v)
    return w - lr * m / (1 - betas[0] ** t) / (np.sqrt(v / (1 - betas[1] ** t)) + eps), m, v, t


ADAM_WRONG = [
    (A(den=lambda vh, v, c2, e: np.sqrt(vh + e)), r"ε is inside the square root, √\(v̂ \+ ε\)", "放在了平方根裡面"),
    (adam_precedence, r"ε is not in the denominator: by operator precedence", "運算符優先級"),
    (A(den=lambda vh, v, c2, e: (np.sqrt(v) + e) / np.sqrt(c2)), r"the paper's ε̂ form, which TensorFlow and Keras",
     "原論文的 ε̂ 寫法"),
    (A(ret=lambda w, m, v, t_new, t: (w, m, v, t)), r"the step counter is never incremented: adam_step returned the "
     r"t passed in .* stays at that of t = 1", "步數計數器從來沒有增加"),
    (A(power=lambda t, t_new: t), r"the correction uses βᵗ⁻¹, the count before this step \(at the first step "
     r"1 − β⁰ = 0, so m̂ and v̂ are infinite and their ratio is NaN\)", "m̂ 和 v̂ 都是無窮大"),
    (A(ret=lambda w, m, v, t_new, t: (w, m, v, t_new + 1)), r"adam_step returned t = 2 after step 1", "返回的 t 是 2"),
    (A(power=lambda t, t_new: 1), r"your bias correction stays at that of t = 1 \(1 − β instead of 1 − βᵗ\)",
     "停在 t = 1 時的值"),
    (adam_reset, r"the state starts afresh at every call", "從頭開始"),
    (A(correct=(False, False)), r"there is no bias correction", "沒有做偏差修正"),
    (A(correct=(True, False)), r"only m is corrected", "只修正了 m"),
    (A(ema=lambda a, x, b: (1 - b) * a + b * x), r"β and 1 − β are swapped", "β 和 1 − β 放反了"),
    (lambda w, g, m, v, t, lr, betas=(0.9, 0.999), eps=1e-8: SOL["adam_step"](w, g, m, v, t, lr, betas[::-1], eps),
     r"the two betas are swapped", "兩個 beta 用反了"),
    (A(v_of=lambda g: g), r"v averages g \(or \|g\|\), not g²", "平均的是 g"),
    (A(v_of=np.abs), r"v averages g \(or \|g\|\), not g²", "平均的是 g"),
    (A(stored=True), r"you returned the corrected moments m̂ and v̂ as the state", "修正後的 m̂ 和 v̂"),
    (A(ret=lambda w, m, v, t_new, t: (w, v, m, t_new)), r"w is right after step 1, but adam_step returned its "
     r"states in the wrong order: return \(w, m, v, t\), in that order", "返回的各個狀態順序不對："),
    (A(ret=lambda w, m, v, t_new, t: (w, m + 0.5, v, t_new)), r"w is right after step 1, but the m that adam_step "
     r"returned is not m ← β₁·m \+ \(1 − β₁\)·g", "返回的 m 不是"),
    (A(den=lambda v_hat, v, c2, eps: np.sqrt(v_hat + eps * eps)), r"with betas = \(0\.9, 0\.999\), eps = 1e-8, "
     r"lr = 0\.01: there is no ε in your denominator, m̂/√v̂ \(or only ε² inside the root", "你的分母裡沒有 ε"),
    (A(den=lambda v_hat, v, c2, eps: np.sqrt(v_hat)), r"with betas = \(0\.9, 0\.999\), eps = 1e-8, "
     r"lr = 0\.01: there is no ε in your denominator, m̂/√v̂ \(or only ε² inside the root", "你的分母裡沒有 ε"),
    (A(v_of=None, ema=None, den=None, ret=None, stored=None, variance=True), r"v averages \(g − m\)², a variance: "
     r"Adam's v is the uncentered second moment", "v 平均的是 (g − m)²，即方差"),
    (adam_w_in_place, r"adam_step changed its argument w in place at step 1", "原地修改了傳入的參數 w"),
    (adam_hard_eps, r"the eps passed in is not used: your steps are those of ε = 1e-8, .* this run passed "
     r"eps = 0\.001", "傳入的 eps 沒有用上"),
    (adam_float32, r"right to about \d digits: something is computed in float32", "float32"),
    (lambda w, g, m, v, t, lr, betas=(0.9, 0.999), eps=1e-8:
     (w.copy(),) + SOL["adam_step"](w, g, m, v, t, lr, betas, eps)[1:],
     r"is zero where it should not be", "是零"),
    (adam_no_return, r"adam_step returned None: did you forget the `return`", "忘了寫 `return`"),
    (adam_multiplies, r"differs from the expected value: .*\. Compare your step with Adam's, coordinate by "
     r"coordinate", "請逐坐標對照 Adam 的一步"),
]

def _uphill(w, g, m, v, t, lr, betas=(0.9, 0.999), eps=1e-8):
    w1, m, v, t = SOL["adam_step"](w, g, m, v, t, lr, betas, eps)
    return 2 * w - w1, m, v, t


ADAM_WRONG.append((_uphill, r"your steps go uphill", "往上走"))


# ---------------------------------------------------------------- Exercise 2: uncorrected_ratio
def _ratio(mistake):
    def uncorrected_ratio(t, beta1=0.9, beta2=0.999):
        return lab4.uncorrected_ratio_variant(t, beta1, beta2, mistake)
    return uncorrected_ratio


def ratio_math(t, beta1=0.9, beta2=0.999):
    return (1 - beta1**t) / math.sqrt(1 - beta2**t)


def ratio_int_only(t, beta1=0.9, beta2=0.999):
    t = np.asarray(t)
    if t.ndim == 0:
        return [0.0]
    return (1 - beta1**t) / np.sqrt(1 - beta2**t)


def ratio_simulated(t, beta1=0.9, beta2=0.999):
    """The ratio measured on uncorrected Adam itself, g = 1 and eps = 1e-8: ε is kept."""
    t = np.asarray(t)
    out, m, v = [], 0.0, 0.0
    for _ in range(int(np.max(t))):
        m, v = beta1 * m + (1 - beta1), beta2 * v + (1 - beta2)
        out.append(m / (math.sqrt(v) + 1e-8))
    return np.array(out)[t - 1]


def ratio_small_term(t, beta1=0.9, beta2=0.999):
    return lab4.uncorrected_ratio_variant(t, beta1, beta2) * (1 + 1e-8)


def ratio_float32(t, beta1=0.9, beta2=0.999):
    t = np.asarray(t, dtype=np.float32)
    return ((1 - np.float32(beta1) ** t) / np.sqrt(1 - np.float32(beta2) ** t)).astype(np.float32)


RATIO_WRONG = [
    (_ratio("corrected"), r"your ratio is 1 at every step: that is the corrected step", "比值每一步都是 1"),
    (_ratio("no_sqrt"), r"the square root is missing", "少了平方根"),
    (_ratio("swapped"), r"β₁ and β₂ are swapped", "放反了"),
    (_ratio("inverse"), r"the fraction is upside down", "分子分母放反了"),
    (_ratio("powers"), r"you used βᵗ where 1 − βᵗ belongs", "你用的是 βᵗ"),
    (_ratio("first_only"), r"your ratio is the same at every t, that of the first step", "每個 t 都一樣"),
    (_ratio("sqrt_both"), r"the square root covers the numerator too", "把分子也蓋住了"),
    (_ratio("rmsprop"), r"the factor 1 − β₁ᵗ of m is missing", "RMSprop"),
    (_ratio("t_minus_1"), r"your ratio is that of step t − 1", "第 t − 1 步"),
    (ratio_simulated, r"with betas = \(0\.9, 0\.999\): your ratios keep ε = 1e-8, as uncorrected Adam run with "
     r"g = 1 gives", "你的比值保留了 ε = 1e-8"),
    (ratio_small_term, r"with betas = \(0\.9, 0\.999\): your ratios are right to about 8 digits only .*not "
     r"float32 \(your numbers are not float32 values\), but a small term", "也不是 float32"),
    (ratio_float32, r"the ratio array with betas = \(0\.9, 0\.999\) is right to about \d digits: something is "
     r"computed in float32", "float32"),
    (ratio_math, r"uncorrected_ratio raised TypeError .* use NumPy's np.sqrt", "請用 NumPy 的 np.sqrt"),
    (ratio_int_only, r"uncorrected_ratio\(1, 0\.9, 0\.999\) returned \[0\.0\]", "t 是整數時也要能算"),
    (lambda t, beta1=0.9, beta2=0.999: 3.16, r"uncorrected_ratio returned shape \(\) for t of shape \(5000,\)",
     "每個 t 返回一個比值"),
]


def ratio_alt_loop(t, beta1=0.9, beta2=0.999):
    out = []
    for k in np.atleast_1d(t):
        m = v = 0.0
        for _ in range(int(k)):
            m = beta1 * m + (1 - beta1)
            v = beta2 * v + (1 - beta2)
        out.append(m / math.sqrt(v))
    return np.array(out) if np.ndim(t) else out[0]


def ratio_alt_expm1(t, beta1=0.9, beta2=0.999):
    t = np.asarray(t, dtype=float)
    return -np.expm1(t * np.log(beta1)) / np.sqrt(-np.expm1(t * np.log(beta2)))


# ---------------------------------------------------------------- Exercise 3: amsgrad_step
def _ams(mistake=None):
    def amsgrad_step(w, g, m, v, v_max, t, lr, betas=(0.9, 0.999), eps=1e-8):
        b1, b2 = betas
        t = t + (0 if mistake == "counter" else 1)
        tt = t + 1 if mistake == "counter" else t
        v_old = v
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        c2 = 1 - b2**tt
        if mistake == "no_max":
            under = v / c2
        elif mistake == "max_corrected":
            v_max = np.maximum(v_max, v / c2)
            under = v_max
        elif mistake == "max_stored_corrected":
            v_max = np.maximum(v_max, v) / c2
            under = v_max
        elif mistake == "max_of_g2":
            v_max = np.maximum(v_max, g * g)
            under = v_max / c2
        elif mistake == "max_uncorrected":
            v_max = np.maximum(v_max, v)
            under = v_max
        elif mistake == "max_into_v":
            v = np.maximum(v_max, v)
            v_max = v
            under = v / c2
        elif mistake == "max_stale":
            v_max = np.maximum(v_max, v_old)
            under = v_max / c2
        else:
            v_max = np.maximum(v_max, v)
            under = v_max / c2
        den = np.sqrt(under + eps) if mistake == "eps_inside" else np.sqrt(under) + eps
        w = w - lr * (m / (1 - b1**tt)) / den
        if mistake == "v_max_none":
            v_max = None
        if mistake == "swapped":
            return w, m, v_max, v, t
        return w, m, v, v_max, t
    return amsgrad_step


AMS_WRONG = [
    (_ams("no_max"), r"there is no maximum: this is plain Adam", "普通的 Adam"),
    (_ams("max_corrected"), r"you took the maximum over the corrected v̂ .*Optax's convention", "Optax 的做法"),
    (_ams("max_stored_corrected"), r"you stored the maximum after correcting it", "修正之後的最大值存了下來"),
    (_ams("max_of_g2"), r"your maximum is over g², not over v", "g² 的最大值"),
    (_ams("max_uncorrected"), r"the maximum is not corrected in the step", "沒有修正最大值"),
    (_ams("max_into_v"), r"the maximum was written back into v", "最大值被寫回了 v"),
    (_ams("max_stale"), r"the maximum is taken over v before this step's update", "本步更新之前的 v"),
    (_ams("eps_inside"), r"with betas = \(0\.8, 0\.99\), .*: ε is inside the square root", "放在了平方根裡面"),
    (_ams("counter"), r"the step counter is never incremented: amsgrad_step returned the t passed in", "步數計數器"),
    (_ams("v_max_none"), r"amsgrad_step returned v_max = None at step 1", "返回的 v_max 是 None"),
    (_ams("swapped"), r"w is right after step \d+, but amsgrad_step returned its states in the wrong order \(they "
     r"differ only from this step on, so w is still right here\): return \(w, m, v, v_max, t\)",
     "返回的各個狀態順序不對"),
]


def ams_alt_in_place(w, g, m, v, v_max, t, lr, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    t += 1
    m *= b1
    m += (1 - b1) * g
    v *= b2
    v += (1 - b2) * g * g
    np.maximum(v_max, v, out=v_max)
    return w - lr / (1 - b1**t) * m / (np.sqrt(v_max) / math.sqrt(1 - b2**t) + eps), m, v, v_max, t


def ams_alt_via_adam(w, g, m, v, v_max, t, lr, betas=(0.9, 0.999), eps=1e-8):
    _, m, v, t = SOL["adam_step"](w, g, m, v, t, lr, betas, eps)
    v_max = np.maximum(v_max, v)
    m_hat, vmax_hat = m / (1 - betas[0] ** t), v_max / (1 - betas[1] ** t)
    return w - lr * m_hat / (np.sqrt(vmax_hat) + eps), m, v, v_max, t


# ---------------------------------------------------------------- Exercises 4 and 5: the two decays
def _step(w, g, m, v, t, lr, betas, eps):
    return SOL["adam_step"](w, g, m, v, t, lr, betas, eps)


def _decay(kind):
    def step(w, g, m, v, t, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        lam = weight_decay
        if kind == "l2":
            return _step(w, g + lam * w, m, v, t, lr, betas, eps)
        if kind == "decoupled":
            return _step(w * (1 - lr * lam), g, m, v, t, lr, betas, eps)
        if kind == "decoupled_step":          # w − lr·(u + λw): decoupled, written in one line
            w1, m, v, t = _step(w, g, m, v, t, lr, betas, eps)
            return w1 - lr * lam * w, m, v, t
        if kind == "none":
            return _step(w, g, m, v, t, lr, betas, eps)
        if kind == "l2_m_only":
            b1, b2 = betas
            t = t + 1
            m = b1 * m + (1 - b1) * (g + lam * w)
            v = b2 * v + (1 - b2) * g * g
            return w - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps), m, v, t
        if kind == "l2_double":
            return _step(w, g + 2 * lam * w, m, v, t, lr, betas, eps)
        if kind == "l2_sign":
            return _step(w, g - lam * w, m, v, t, lr, betas, eps)
        if kind == "l2_lr":
            return _step(w, g + lr * lam * w, m, v, t, lr, betas, eps)
        if kind == "l2_hard":
            return _step(w, g + 0.01 * w, m, v, t, lr, betas, eps)
        if kind == "no_lr":
            return _step(w * (1 - lam), g, m, v, t, lr, betas, eps)
        if kind == "after":
            w1, m, v, t = _step(w, g, m, v, t, lr, betas, eps)
            return w1 * (1 - lr * lam), m, v, t
        if kind == "normalized":
            b1, b2 = betas
            t = t + 1
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            return w - lr * (m / (1 - b1**t) + lam * w) / (np.sqrt(v / (1 - b2**t)) + eps), m, v, t
        if kind == "sign":
            return _step(w * (1 + lr * lam), g, m, v, t, lr, betas, eps)
        if kind == "w_hard":
            return _step(w * (1 - lr * 0.01), g, m, v, t, lr, betas, eps)
        if kind == "stuck":
            b1, b2 = betas
            w = w * (1 - lr * lam)
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            return w - lr * (m / (1 - b1)) / (np.sqrt(v / (1 - b2)) + eps), m, v, t + 1
        if kind == "l2_eps_inside":
            b1, b2 = betas
            g = g + lam * w
            t = t + 1
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            return w - lr * (m / (1 - b1**t)) / np.sqrt(v / (1 - b2**t) + eps), m, v, t
        raise ValueError(kind)
    return step


L2_WRONG = [
    (_decay("decoupled"), r"this is AdamW's decoupled decay", "解耦衰減"),
    (_decay("decoupled_step"), r"this is AdamW's decoupled decay", "解耦衰減"),
    (_decay("none"), r"weight_decay is ignored: these are the steps of Adam without decay\. Add λ·w", "被忽略了"),
    (_decay("l2_m_only"), r"λ·w enters m but not v", "進了 m 卻沒有進 v"),
    (_decay("l2_double"), r"you added 2λ·w", "你加的是 2λ·w"),
    (_decay("l2_sign"), r"the decay has the wrong sign: g ← g \+ λ·w", "衰減項的符號反了"),
    (_decay("l2_lr"), r"you multiplied the L2 term by lr", "乘上了 lr"),
    (_decay("l2_hard"), r"the weight_decay passed in is not used: your steps are those of λ = 0\.01, .* this run "
     r"passed "
     r"weight_decay = 0\.2", "傳入的 weight_decay"),
    (_decay("l2_eps_inside"), r"ε is inside the square root", "放在了平方根裡面"),
]

W_WRONG = [
    (_decay("l2"), r"this is L2 .* AdamW decouples it", "這是 L2"),
    (_decay("none"), r"weight_decay is ignored: .* Multiply w by 1 − lr·λ first", "被忽略了"),
    (_decay("no_lr"), r"the decay is not multiplied by lr, w ← w·\(1 − λ\)", "衰減沒有乘 lr"),
    (_decay("after"), r"the decay is applied after the Adam step", "在 Adam 的步子之後"),
    (_decay("normalized"), r"the decay is divided by √v̂ \+ ε", "被除以了 √v̂ + ε"),
    (_decay("sign"), r"the decay has the wrong sign, w·\(1 \+ lr·λ\)", "衰減的符號反了"),
    (_decay("w_hard"), r"the weight_decay passed in is not used: your steps are those of λ = 0\.01",
     "傳入的 weight_decay"),
    (_decay("stuck"), r"your bias correction stays at that of t = 1", "停在 t = 1 時的值"),
]


def l2_alt_inline(w, g, m, v, t, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    b1, b2 = betas
    g = g + weight_decay * w
    t += 1
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g**2
    return w - lr / (1 - b1**t) * m / (np.sqrt(v) / math.sqrt(1 - b2**t) + eps), m, v, t


def l2_alt_torch_form(w, g, m, v, t, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    decayed = np.add(g, np.multiply(weight_decay, w))   # torch's grad.add(param, alpha=weight_decay)
    return SOL["adam_step"](w, decayed, m, v, t, lr, betas, eps)


# ---------------------------------------------------------------- Exercise 6: param_groups
def pg_all(model, weight_decay):
    return [{"params": list(model.parameters()), "weight_decay": weight_decay}]


def pg_no_key(model, weight_decay):
    decay = [p for p in model.parameters() if p.ndim >= 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": [p for p in model.parameters() if p.ndim < 2]}]


def pg_by_name(model, weight_decay):
    decay = [p for n, p in model.named_parameters() if "bias" not in n]
    no_decay = [p for n, p in model.named_parameters() if "bias" in n]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def pg_inverted(model, weight_decay):
    return [{"params": [p for p in model.parameters() if p.ndim < 2], "weight_decay": weight_decay},
            {"params": [p for p in model.parameters() if p.ndim >= 2], "weight_decay": 0.0}]


def pg_none(model, weight_decay):
    return [{"params": list(model.parameters()), "weight_decay": 0.0}]


def pg_twice(model, weight_decay):
    return [{"params": [p for p in model.parameters() if p.ndim >= 2], "weight_decay": weight_decay},
            {"params": list(model.parameters()), "weight_decay": 0.0}]


def pg_missing(model, weight_decay):
    return [{"params": [p for p in model.parameters() if p.ndim >= 2], "weight_decay": weight_decay}]


def pg_names(model, weight_decay):
    return [{"params": [n for n, p in model.named_parameters() if p.ndim >= 2], "weight_decay": weight_decay},
            {"params": [n for n, p in model.named_parameters() if p.ndim < 2], "weight_decay": 0.0}]


def pg_pairs(model, weight_decay):
    return [{"params": [(n, p) for n, p in model.named_parameters() if p.ndim >= 2], "weight_decay": weight_decay},
            {"params": [(n, p) for n, p in model.named_parameters() if p.ndim < 2], "weight_decay": 0.0}]


def pg_copies(model, weight_decay):
    return [{"params": [p.detach().clone() for p in model.parameters() if p.ndim >= 2], "weight_decay": weight_decay},
            {"params": [p for p in model.parameters() if p.ndim < 2], "weight_decay": 0.0}]


def pg_hard(model, weight_decay):
    return SOL["param_groups"](model, 0.01)


def pg_dict(model, weight_decay):
    return {"params": list(model.parameters()), "weight_decay": weight_decay}


def pg_generator_twice(model, weight_decay):
    ps = model.parameters()
    decay = [p for p in ps if p.ndim >= 2]
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": [p for p in ps if p.ndim < 2], "weight_decay": 0.0}]


def pg_scalar_decayed(model, weight_decay):
    decay = [p for p in model.parameters() if p.ndim >= 2 or p.ndim == 0]
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": [p for p in model.parameters() if p.ndim == 1], "weight_decay": 0.0}]


PG_WRONG = [
    (pg_all, r"every parameter is decayed, '0\.bias' \(shape \(8,\)\) too", "每個參數都做了衰減"),
    (pg_no_key, r"the group of '0\.bias' has no 'weight_decay' entry, so it takes AdamW's default, weight_decay = "
     r"0\.01: write 'weight_decay': 0\.0", "沿用了 AdamW 的默認值"),
    (pg_by_name, r"'1\.weight' \(shape \(8,\)\) is decayed: it is a normalization layer's weight", "歸一化層的權重"),
    (pg_inverted, r"the two groups are the wrong way round", "兩組弄反了"),
    (pg_none, r"no parameter is decayed", "沒有任何參數做衰減"),
    (pg_twice, r"the parameter '0\.weight' is in groups 0 and 1", "同時出現在第 0 組和第 1 組"),
    (pg_missing, r"the parameter '0\.bias' is in no group, so AdamW would never update it: every parameter of "
     r"model\.named_parameters\(\) goes into one of the groups$", "不在任何一組裡"),
    (pg_generator_twice, r"the parameter '0\.bias' is in no group.*Group 1 is empty: model\.parameters\(\) \(and "
     r"named_parameters\(\)\) is a generator", "同一個生成器第二次遍歷時什麼也得不到"),
    (pg_names, r"group 0's 'params' holds names \(such as '0\.weight'\)", "裡放的是名字"),
    (pg_pairs, r"holds \(name, parameter\) pairs from named_parameters\(\)", "(名字, 參數) 對"),
    (pg_copies, r"group 0 holds a tensor that is not one of the model's parameters", "不是模型的參數"),
    (pg_hard, r"'0\.weight' is decayed with weight_decay = 0\.01, not the 0\.1 passed in", "而不是傳入的 0.1"),
    (pg_dict, r"param_groups returned one dict: return a list of groups", "返回的是一個字典"),
    (pg_scalar_decayed, r"on a model with an embedding, .*: 'temperature' \(shape \(\)\) is decayed: biases and other "
     r"parameters with p\.ndim < 2", "'temperature'（形狀 ()）被衰減了"),
]


def pg_alt_named(model, weight_decay):
    groups = {"decay": [], "no_decay": []}
    for _, p in model.named_parameters():
        groups["decay" if p.dim() > 1 else "no_decay"].append(p)
    return ({"params": groups["decay"], "weight_decay": weight_decay},
            {"params": groups["no_decay"], "weight_decay": 0.0, "lr": 1e-3})


def pg_alt_generator(model, weight_decay):
    yield {"params": (p for p in model.parameters() if p.ndim >= 2), "weight_decay": weight_decay}
    yield {"params": (p for p in model.parameters() if p.ndim < 2), "weight_decay": 0}


# ---------------------------------------------------------------- Exercise 7: keras_adam_step and torch_eps
def _keras(mistake=None):
    def keras_adam_step(w, g, m, v, t, lr, betas=(0.9, 0.999), epsilon=1e-7):
        b1, b2 = betas
        t_new = t + 1
        tt = 1 if mistake == "stuck" else t_new
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        c1, c2 = 1 - b1**tt, 1 - b2**tt
        if mistake == "torch_form":
            return w - lr * (m / c1) / (np.sqrt(v / c2) + epsilon), m, v, t_new
        lr_t = {"no_sqrt": lr * c2 / c1, "no_c1": lr * np.sqrt(c2), "inverted": lr * c1 / np.sqrt(c2)}.get(
            mistake, lr * np.sqrt(c2) / c1)
        den = np.sqrt(v + epsilon) if mistake == "eps_inside" else np.sqrt(v) + epsilon
        return w - lr_t * m / den, m, v, (t if mistake == "counter" else t_new)
    return keras_adam_step


def _teps(mistake=None):
    def torch_eps(epsilon, t, beta2=0.999):
        return lab4.torch_eps_variant(epsilon, t, beta2, mistake)
    return torch_eps


def teps_math(epsilon, t, beta2=0.999):
    return epsilon / math.sqrt(1 - beta2**t)


def keras_alt_via_adam(w, g, m, v, t, lr, betas=(0.9, 0.999), epsilon=1e-7):
    return SOL["adam_step"](w, g, m, v, t, lr, betas, epsilon / np.sqrt(1 - betas[1] ** (t + 1)))


def teps_alt_loop(epsilon, t, beta2=0.999):
    return np.array([epsilon / math.sqrt(1 - beta2 ** int(k)) for k in np.atleast_1d(t)]).reshape(np.shape(t))


def teps_alt_log(epsilon, t, beta2=0.999):
    return epsilon * np.exp(-0.5 * np.log1p(-np.power(beta2, np.asarray(t, dtype=float))))


RIGHT_TEPS = SOL["torch_eps"]
KERAS_WRONG = [
    ((_keras("torch_form"), RIGHT_TEPS), r"these are PyTorch's steps, ε added after the correction",
     "這是 PyTorch 的步子"),
    ((_keras("eps_inside"), RIGHT_TEPS), r"ε̂ is inside the square root", "放在了平方根裡面"),
    ((_keras("no_sqrt"), RIGHT_TEPS), r"the correction of v enters lr_t without its root", "少了平方根"),
    ((_keras("no_c1"), RIGHT_TEPS), r"lr_t has no 1/\(1 − β₁ᵗ\)", "lr_t 少了 1/(1 − β₁ᵗ)"),
    ((_keras("inverted"), RIGHT_TEPS), r"lr_t is upside down", "lr_t 上下顛倒了"),
    ((_keras("stuck"), RIGHT_TEPS), r"your bias correction stays at that of t = 1", "停在 t = 1 時的值"),
    ((_keras("counter"), RIGHT_TEPS), r"the step counter is never incremented: keras_adam_step returned the t",
     "步數計數器從來沒有增加"),
    ((SOL["keras_adam_step"], _teps("times")), r"you multiplied by √\(1 − β₂ᵗ\): that converts the other way",
     "那是反方向的換算"),
    ((SOL["keras_adam_step"], _teps("no_sqrt")), r"the root is missing", "少了平方根"),
    ((SOL["keras_adam_step"], _teps("same")), r"your ε is ε̂ at every step", "每一步都等於 ε̂"),
    ((SOL["keras_adam_step"], _teps("times_no_sqrt")), r"you multiplied by 1 − β₂ᵗ", "你乘上了 1 − β₂ᵗ"),
    ((SOL["keras_adam_step"], _teps("t_minus_1")), r"your ε is that of step t − 1", "第 t − 1 步"),
    ((SOL["keras_adam_step"], _teps("t_plus_1")), r"your ε is that of step t \+ 1: here t is already the step's "
     r"number, 1 at the first step", "不要再加 1"),
    ((SOL["keras_adam_step"], _teps("beta_power")), r"you used β₂ᵗ where 1 − β₂ᵗ belongs", "你用的是 β₂ᵗ"),
    ((SOL["keras_adam_step"], teps_math), r"torch_eps raised TypeError .* use NumPy's np.sqrt",
     "請用 NumPy 的 np.sqrt"),
]


# ---------------------------------------------------------------- the exercises
EXERCISES = {
    # exercise: (check, name in the notebook, wrong answers (answer, English regex, Chinese phrase), right answers)
    "adam": (lab4.check_adam, "adam_step", ADAM_WRONG, [adam_alt_in_place, adam_alt_lerp]),
    "ratio": (lab4.check_uncorrected, "uncorrected_ratio", RATIO_WRONG, [ratio_alt_loop, ratio_alt_expm1]),
    "amsgrad": (lab4.check_amsgrad, "amsgrad_step", AMS_WRONG, [ams_alt_in_place, ams_alt_via_adam]),
    "l2": (lab4.check_adam_l2, "adam_l2_step", L2_WRONG, [l2_alt_inline, l2_alt_torch_form]),
    "adamw": (lab4.check_adamw, "adamw_step", W_WRONG, [_decay("decoupled_step"), _decay("decoupled")]),
    "groups": (lab4.check_param_groups, "param_groups", PG_WRONG, [pg_alt_named, pg_alt_generator]),
    "keras": (lab4.check_keras, ("keras_adam_step", "torch_eps"), KERAS_WRONG,
              [(keras_alt_via_adam, teps_alt_loop), (SOL["keras_adam_step"], teps_alt_log)]),
}


def _run_check(exercise, answer):
    check, name = EXERCISES[exercise][:2]
    return check(*answer) if isinstance(name, tuple) else check(answer)


# The standard tests (tests/labkit.py): the stub fails, each wrong answer gets its own message in both
# languages, the solution and the alternatives pass.
labkit.standard_tests(globals(), lab=LAB4, module=lab4, exercises=EXERCISES, solution=SOL, run_check=_run_check)


# ---------------------------------------------------------------- the simulations behind the diagnoses
CORE = ["eps_inside", "eps_squared", "no_eps", "v_variance", "v_variance_old", "eps_on_w", "eps_on_step", "eps_hat",
        "stuck_t1", "power_t_minus_1", "beta_times_t",
        "beta1_both", "no_correction", "m_only", "v_only", "beta_swapped", "betas_order", "v_of_g", "v_abs",
        "store_corrected", "reset", "stale", "no_sqrt", "uphill"]
SIMULATED = {
    "adam": (lab4._adam_cases, "Adam", lambda c: {}, None, False, CORE),
    "amsgrad": (lab4._amsgrad_cases, "Adam", lambda c: {"amsgrad": True}, None, True,
                CORE + ["no_max", "max_corrected", "max_stored_corrected", "max_of_g2", "max_uncorrected",
                        "max_into_v", "max_stale"]),
    "l2": (lab4._decay_cases, "Adam", lambda c: {"weight_decay": c[4]}, "l2", False,
           CORE + ["decoupled_instead", "decoupled_instead_step", "decay_ignored", "l2_m_only", "l2_double",
                   "l2_sign", "l2_lr"]),
    "adamw": (lab4._decay_cases, "AdamW", lambda c: {"weight_decay": c[4]}, "decoupled", False,
              CORE + ["l2_instead", "decay_ignored", "decay_no_lr", "decay_after", "decay_normalized", "decay_sign"]),
}


@pytest.mark.parametrize("exercise", list(SIMULATED))
def test_simulations_are_torch_and_each_mistake_differs(exercise):
    cases_fn, name, extra, decay, amsgrad, mistakes = SIMULATED[exercise]
    runs = []
    for c in cases_fn():
        betas, eps, lr, grads, wd, *_ = c
        w0, lrs = np.linspace(-2, 2, grads.shape[1]), np.full(len(grads), lr)
        ref = torch_path(name, w0, grads, lrs, betas=betas, eps=eps, **extra(c))
        assert np.allclose(lab4.adam_path(w0, grads, lrs, betas, eps, wd, decay, amsgrad), ref, rtol=1e-12,
                           atol=1e-15)
        runs.append((w0, grads, lrs, betas, eps, wd, ref))
    for m in mistakes:
        assert any(not lab4._agree(lab4.adam_path(w0, g, lrs, b, e, wd, decay, amsgrad, mistake=m), ref)
                   for w0, g, lrs, b, e, wd, ref in runs), m


def test_every_message_of_the_tables_is_simulated():
    """A message no simulation can produce would never be shown: each key is a mistake of adam_path."""
    simulated = {m for *_, ms in SIMULATED.values() for m in ms}
    for table in (lab4.CORE_MISTAKES, lab4.AMSGRAD_MISTAKES, lab4.DECAY_MISTAKES_L2, lab4.DECAY_MISTAKES_W):
        for key in table:
            assert set(lab4._VARIANTS.get(key, (key,))) <= simulated, key


def test_the_order_of_the_decoupled_decay_matters_but_slightly():
    """Decay after the Adam step instead of before: lr²·λ·u apart per step, caught by the check's large lr·λ."""
    betas, eps, lr, grads, wd, *_ = lab4._decay_cases()[0]
    w0, lrs = np.ones(grads.shape[1]), np.full(len(grads), lr)
    before = lab4.adam_path(w0, grads, lrs, betas, eps, wd, "decoupled")
    after = lab4.adam_path(w0, grads, lrs, betas, eps, wd, "decoupled", mistake="decay_after")
    gap = np.max(np.abs(before - after))
    assert 1e-4 < gap < 0.1


def test_uncorrected_ratio_reference():
    t = np.arange(1, 5001)
    r = lab4.uncorrected_ratio_variant(t, 0.9, 0.999)
    assert r[0] == pytest.approx(0.1 / math.sqrt(0.001), rel=1e-12)
    m, v = 0.0, 0.0
    for k in range(1, 101):           # the formula is the uncorrected Adam of a constant gradient
        m, v = 0.9 * m + 0.1, 0.999 * v + 0.001
        assert m / math.sqrt(v) == pytest.approx(r[k - 1], rel=1e-12)
    for mistake in lab4.RATIO_MISTAKES:
        assert not np.allclose(lab4.uncorrected_ratio_variant(t, 0.9, 0.999, mistake), r, rtol=1e-9, atol=0.0,
                               equal_nan=True), mistake


def test_the_models_of_exercise_6_need_the_shape_rule():
    """Each rule by name fails on one of the models; the shape rule is the only one that passes both."""
    models = lab4._models()
    ndims = {n: p.ndim for model, *_ in models for n, p in model.named_parameters()}
    assert any(d == 1 and "weight" in n for n, d in ndims.items())     # a normalization weight
    assert any(d == 0 for d in ndims.values())                          # a scalar
    assert any(d == 2 and "embed" in n for n, d in ndims.items())       # an embedding is decayed
    first = [p.detach().clone() for p in models[0][0].parameters()]
    again = [p.detach() for p in lab4._models()[0][0].parameters()]
    assert all(torch.equal(a, b) for a, b in zip(first, again)), "the models are the same at every call"


@pytest.mark.parametrize("folder", ["solutions", "labs"])
def test_the_lab_text_says_what_is_compared(folder):
    text = markdown(load(ROOT / folder / LAB4))
    assert "`torch.optim.Adam` and `AdamW` themselves for the steps" in text
    assert "各個單步直接與 `torch.optim.Adam` 和 `AdamW` 本身比較" in text


def test_the_keras_form_and_its_conversion():
    """Keras's step is the ε̂ form of adam_path; torch.optim.Adam with eps = ε̂/√(1 − β₂ᵗ) at step t takes it;
    every simulated mistake differs from it."""
    for betas, eps_hat, lr, grads, *_ in lab4._keras_cases():
        w0, n = np.linspace(-1, 1, grads.shape[1]), len(grads)
        keras = lab4.keras_path(w0, grads, lr, betas, eps_hat)
        assert np.allclose(keras, lab4.adam_path(w0, grads, np.full(n, lr), betas, eps_hat, mistake="eps_hat"),
                           rtol=1e-12, atol=1e-15)
        eps_t = lab4.torch_eps_variant(eps_hat, np.arange(1, n + 1), betas[1])
        assert np.allclose(lab4._torch_path_eps(w0, grads, lr, betas, eps_t), keras, rtol=1e-12, atol=1e-15)
        assert not np.allclose(lab4._torch_path_eps(w0, grads, lr, betas, [eps_hat] * n), keras, rtol=1e-9)
        for m in lab4.KERAS_MISTAKES:
            assert not lab4._agree(lab4.keras_path(w0, grads, lr, betas, eps_hat, m), keras), m
    t = np.arange(1, 100)
    for m in lab4.TORCH_EPS_MISTAKES:
        assert not lab4._agree(lab4.torch_eps_variant(1e-7, t, 0.999, m), lab4.torch_eps_variant(1e-7, t, 0.999)), m


def test_the_eps_inside_message_says_where_the_forms_differ():
    """√(v̂ + ε) − √v̂ ≈ ε/(2√v̂) for v̂ ≫ ε, and about √ε for v̂ ≲ ε: the forms part where v̂ is not much larger
    than ε, i.e. for ε = 1e-8 where |g| is below about √ε = 1e-4."""
    en, zh = lab4.CORE_MISTAKES["eps_inside"]
    assert "wherever v̂ is not much larger than ε (for ε = 1e-8, gradients below about 1e-4" in en
    assert "只要 v̂ 不比 ε 大很多" in zh and "√v̂ 不比 ε" not in zh and "comparing to 9 digits" in en
    eps = 1e-8
    for g, apart in ((1.0, False), (1e-4, True), (1e-6, True)):
        rel = (g / np.sqrt(g * g + eps) - g / (g + eps)) / (g / (g + eps))
        assert (abs(rel) > 1e-3) == apart, g


def test_power_t_minus_1_gives_infinite_moments_not_zero_over_zero():
    b1, b2, g = 0.9, 0.999, 0.3
    m, v = (1 - b1) * g, (1 - b2) * g * g
    with np.errstate(all="ignore"):
        m_hat, v_hat = np.float64(m) / (1 - b1**0), np.float64(v) / (1 - b2**0)
        assert np.isinf(m_hat) and np.isinf(v_hat) and np.isnan(m_hat / np.sqrt(v_hat))
    assert "0/0" not in lab4.CORE_MISTAKES["power_t_minus_1"][0]
