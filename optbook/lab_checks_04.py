"""The checks of Lab 4 (Adam and AdamW from scratch), one per exercise.

Each ``check_*`` function runs the student's code step by step on fixed random gradients and
compares it with ``torch.optim.Adam`` / ``AdamW`` themselves (Exercises 1, 3, 4, 5), with the
formula of the uncorrected step (Exercise 2), or with the weight decay that
``torch.optim.AdamW`` gives each parameter of a model (Exercise 6). A check prints one line
per language (``✓ Exercise n: ...``) or raises :class:`optbook.checks.CheckFailed` saying what
is wrong and what to do. The classic mistakes are recognised by simulating each of them
(:func:`adam_path`) and comparing with what the student's code did: ε inside the root, ε added
to the parameter by operator precedence, TensorFlow's ε̂ (added before the correction), a step
counter never incremented (the correction stuck at t = 1), the wrong power in the correction
(βᵗ⁻¹, β·t, β₁ in both), no correction, β and 1 − β swapped, the two betas swapped, v of g
instead of g², the corrected moments stored as the state, a state that restarts at every call;
for AMSGrad the maximum over the corrected v (Optax's convention), the maximum stored after
correction, over g², or written back into v; for the weight decay L2 where decoupled
decay was asked and vice versa, the decay not multiplied by lr, applied after the Adam step
instead of before, divided by √v̂, of the wrong sign or twice too large; for the parameter
groups decay on biases or on normalization weights (chosen by name), a group without its
``weight_decay`` entry (it inherits AdamW's default), a parameter missing or given twice; for
Keras's form (Exercise 7) PyTorch's ε in its place, a wrong lr_t, and ε̂ converted the wrong way.
tests/test_lab_checks_04.py proves every one of them.

The step functions are functional, as in Lab 3: they take the state arrays and the step count
``t`` (the number of steps taken so far, 0 at the first call) and return
``(new parameters, *new state, t + 1)``; the caller passes the state back at the next step.
Updating the state arrays in place is allowed; changing w or g is not.
"""

from __future__ import annotations

import itertools

import numpy as np

from optbook.checks import (
    agree as _agree,
)
from optbook.checks import (
    as_array,
    call,
    close,
    diagnose,
    distinct,
    fail,
    passed,
    relative_error,
    run_steps,
    simulator,
    torch_path,
)
from optbook.checks import (
    fixed as _fixed,
)
from optbook.checks import (
    num as _num,
)

__all__ = [
    "adam_path",
    "uncorrected_ratio_variant",
    "check_adam",
    "check_uncorrected",
    "check_amsgrad",
    "check_adam_l2",
    "check_adamw",
    "check_param_groups",
]

DEFAULT_BETAS = (0.9, 0.999)


def _gradients(seed: int, steps: int, dim: int, scale=1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.asarray(scale) * rng.standard_normal((steps, dim))


# ---------------------------------------------------------------- the reference and its mistakes
def adam_path(w0, grads, lrs, betas=DEFAULT_BETAS, eps=1e-8, weight_decay=0.0, decay=None, amsgrad=False,
              mistake=None, states: bool = False):
    """PyTorch's Adam in NumPy, or the same with one classic ``mistake``.

    ``decay`` is None (no weight decay), ``"l2"`` (``torch.optim.Adam(weight_decay=λ)``: λ·w added
    to the gradient) or ``"decoupled"`` (``torch.optim.AdamW``: w ← w·(1 − lr·λ) before the step);
    ``amsgrad`` keeps the running maximum of the raw v and corrects it at the step, as torch does.
    Returns the iterates (and, with ``states=True``, the state after each step as a list of
    (m, v, v_max)).
    """
    b1, b2 = betas
    if mistake == "betas_order":
        b1, b2 = b2, b1
    shape = np.shape(w0)
    w, m, v, vmax = np.array(w0, dtype=float), np.zeros(shape), np.zeros(shape), np.zeros(shape)
    path, history = [], []
    kind = decay
    if mistake == "decay_ignored":
        kind = None
    elif mistake == "l2_instead":
        kind = "l2"
    elif mistake in ("decoupled_instead", "decoupled_instead_step"):
        kind = "decoupled"
    with np.errstate(all="ignore"):
        for t, (g, lr) in enumerate(zip(grads, lrs), start=1):
            g = np.asarray(g, dtype=float)
            if mistake == "reset":
                m, v, vmax, tt = np.zeros(shape), np.zeros(shape), np.zeros(shape), 1
            else:
                tt = t
            lam = weight_decay
            w_before = w
            gm = gv = g
            if kind == "l2":
                d = {"l2_double": 2 * lam * w, "l2_sign": -lam * w, "l2_lr": lr * lam * w}.get(mistake, lam * w)
                gm = g + d
                gv = g if mistake == "l2_m_only" else g + d
            if kind == "decoupled" and mistake not in ("decay_after", "decay_normalized", "decoupled_instead_step"):
                factor = {"decay_no_lr": 1 - lam, "decay_sign": 1 + lr * lam}.get(mistake, 1 - lr * lam)
                w = w * factor
            m_old, v_old = m, v
            if mistake == "beta_swapped":
                m = (1 - b1) * m + b1 * gm
                v = (1 - b2) * v + b2 * gv * gv
            else:
                m = b1 * m + (1 - b1) * gm
                sq = {"v_of_g": gv, "v_abs": np.abs(gv), "v_variance": (gv - m) ** 2,
                      "v_variance_old": (gv - m_old) ** 2}.get(mistake, gv * gv)
                v = b2 * v + (1 - b2) * sq
            M, V = (m_old, v_old) if mistake == "stale" else (m, v)
            c1, c2 = 1 - b1**tt, 1 - b2**tt
            if mistake == "stuck_t1":
                c1, c2 = 1 - b1, 1 - b2
            elif mistake == "power_t_minus_1":
                c1, c2 = 1 - b1 ** (tt - 1), 1 - b2 ** (tt - 1)
            elif mistake == "beta_times_t":
                c1, c2 = 1 - b1 * tt, 1 - b2 * tt
            elif mistake == "beta1_both":
                c2 = c1
            elif mistake == "no_correction":
                c1 = c2 = 1.0
            elif mistake == "m_only":
                c2 = 1.0
            elif mistake == "v_only":
                c1 = 1.0
            if amsgrad:
                if mistake == "no_max":
                    under = V / c2
                elif mistake == "max_corrected":
                    vmax = np.maximum(vmax, V / c2)
                    under = vmax
                elif mistake == "max_stored_corrected":
                    vmax = np.maximum(vmax, V) / c2
                    under = vmax
                elif mistake == "max_of_g2":
                    vmax = np.maximum(vmax, g * g)
                    under = vmax / c2
                elif mistake == "max_uncorrected":
                    vmax = np.maximum(vmax, V)
                    under = vmax
                elif mistake == "max_into_v":
                    v = np.maximum(vmax, v)
                    vmax = v
                    under = v / c2
                elif mistake == "max_stale":
                    vmax = np.maximum(vmax, v_old)
                    under = vmax / c2
                else:
                    vmax = np.maximum(vmax, V)
                    under = vmax / c2
            else:
                under = V / c2
            m_hat = M / c1
            if mistake == "eps_inside":
                den = np.sqrt(under + eps)
            elif mistake == "eps_hat":
                den = (np.sqrt(under * c2) + eps) / np.sqrt(c2)
            elif mistake == "no_sqrt":
                den = under + eps
            elif mistake == "eps_squared":
                den = np.sqrt(under + eps * eps)
            elif mistake in ("eps_on_w", "eps_on_step", "no_eps"):
                den = np.sqrt(under)
            else:
                den = np.sqrt(under) + eps
            step = lr * m_hat / den
            if mistake == "eps_on_step":
                step = lr * (m_hat / den + eps)
            if mistake == "decay_normalized":
                step = lr * (m_hat + lam * w_before) / den
            if mistake == "decoupled_instead_step":
                step = step + lr * lam * w_before
            w = w + step if mistake == "uphill" else w - step
            if mistake == "eps_on_w":
                w = w + eps
            if kind == "decoupled" and mistake == "decay_after":
                w = w * (1 - lr * lam)
            if mistake == "store_corrected":
                m, v = m / c1, v / c2
            path.append(w.copy())
            history.append((m.copy(), v.copy(), vmax.copy()))
    return (np.array(path), history) if states else np.array(path)


# Several ways of writing one mistake, simulated under one message.
_VARIANTS = {
    "eps_precedence": ("eps_on_w", "eps_on_step"),
    "v_of_g": ("v_of_g", "v_abs"),
    "v_variance": ("v_variance", "v_variance_old"),
    "no_eps": ("no_eps", "eps_squared"),
    "decoupled_instead": ("decoupled_instead", "decoupled_instead_step"),
}

CORE_MISTAKES = {
    "eps_inside": ("ε is inside the square root, √(v̂ + ε). PyTorch's Adam adds ε after the root, m̂/(√v̂ + ε); "
                   "the two differ wherever v̂ is not much larger than ε (for ε = 1e-8, gradients below about 1e-4), "
                   "and slightly everywhere, which this check, comparing to 9 digits, sees even with gradients of "
                   "size 1. Write np.sqrt(v_hat) + eps",
                   "ε 放在了平方根裡面，即 √(v̂ + ε)。PyTorch 的 Adam 是開方之後再加 ε，即 m̂/(√v̂ + ε)；"
                   "只要 v̂ 不比 ε 大很多，兩者就明顯不同（ε = 1e-8 時，即梯度小於約 1e-4）；"
                   "其餘地方也略有差別，這個檢查比較到 9 位有效數字，梯度量級為 1 時也看得出來。"
                   "請寫成 np.sqrt(v_hat) + eps"),
    "no_eps": ("there is no ε in your denominator, m̂/√v̂ (or only ε² inside the root, √(v̂ + ε²), which for "
               "ε = 1e-8 is almost none): PyTorch's Adam divides by √v̂ + ε, which keeps the step "
               "finite where v̂ is 0 and smaller than lr where √v̂ is not much larger than ε. Write "
               "np.sqrt(v_hat) + eps",
               "你的分母裡沒有 ε，即 m̂/√v̂（或者只在根號裡放了 ε²，即 √(v̂ + ε²)，ε = 1e-8 時幾乎等於沒有）："
               "PyTorch 的 Adam 除以 √v̂ + ε，這樣 v̂ 為 0 時步子也是有限的，"
               "√v̂ 不比 ε 大很多時步子也小於 lr。請寫成 np.sqrt(v_hat) + eps"),
    "eps_precedence": ("ε is not in the denominator: by operator precedence, w - lr * m_hat / np.sqrt(v_hat) + eps "
                       "adds ε to the parameter (or to the step), the slip of a well-known textbook's TensorFlow "
                       "Adam. Put the denominator in parentheses, lr * m_hat / (np.sqrt(v_hat) + eps)",
                       "ε 沒有加到分母上。按運算符優先級，w - lr * m_hat / np.sqrt(v_hat) + eps 是把 ε 加到了參數"
                       "（或步子）上，一本知名教材的 TensorFlow 版 Adam 就犯了這個錯。分母要加括號，"
                       "寫成 lr * m_hat / (np.sqrt(v_hat) + eps)"),
    "eps_hat": ("ε is added to √v before its correction, m̂/((√v + ε)/√(1 − β₂ᵗ)): that is the paper's ε̂ form, "
                "which TensorFlow and Keras use. PyTorch adds ε after the correction, m̂/(√v̂ + ε) with "
                "v̂ = v/(1 − β₂ᵗ)",
                "ε 加在了修正之前的 √v 上，即 m̂/((√v + ε)/√(1 − β₂ᵗ))：這是原論文的 ε̂ 寫法，TensorFlow 和 Keras "
                "用的就是它。PyTorch 是修正之後再加 ε，即 m̂/(√v̂ + ε)，其中 v̂ = v/(1 − β₂ᵗ)"),
    "stuck_t1": ("your bias correction stays at that of t = 1 (1 − β instead of 1 − βᵗ), as with a step counter "
                 "that never moves: the correction is 1/(1 − β₁ᵗ) for m and 1/(1 − β₂ᵗ) for v, with t the number "
                 "of steps taken, this one included",
                 "你的偏差修正一直停在 t = 1 時的值（用的是 1 − β 而不是 1 − βᵗ），就像一個從不增加的步數計數器："
                 "m 的修正是 1/(1 − β₁ᵗ)，v 的修正是 1/(1 − β₂ᵗ)，t 是包括這一步在內已走的步數"),
    "power_t_minus_1": ("the correction uses βᵗ⁻¹, the count before this step (at the first step 1 − β⁰ = 0, so m̂ "
                        "and v̂ are infinite and their ratio is NaN): increment t first, t ← t + 1, then divide by "
                        "1 − βᵗ",
                        "修正用的是 βᵗ⁻¹，即按這一步之前的步數來算（第一步時 1 − β⁰ = 0，m̂ 和 v̂ 都是無窮大，"
                        "兩者之比是 NaN）："
                        "要先把 t 加一，t ← t + 1，再除以 1 − βᵗ"),
    "beta_times_t": ("the correction uses 1 − β·t instead of 1 − βᵗ (β ** t, a power, not β * t); 1 − β·t turns "
                     "negative after a few steps",
                     "修正用的是 1 − β·t 而不是 1 − βᵗ（是冪 β ** t，不是乘積 β * t）；1 − β·t 走不了幾步就變成負數"),
    "beta1_both": ("v is corrected with β₁: each moment has its own correction, m̂ = m/(1 − β₁ᵗ) and "
                   "v̂ = v/(1 − β₂ᵗ)",
                   "v 的修正用了 β₁：兩個矩各有各的修正，m̂ = m/(1 − β₁ᵗ)，v̂ = v/(1 − β₂ᵗ)"),
    "no_correction": ("there is no bias correction: Adam divides m by 1 − β₁ᵗ and v by 1 − β₂ᵗ, since both start "
                      "at 0 and are pulled towards it; without it the first step is (1 − β₁)/√(1 − β₂) ≈ 3.16 times "
                      "the learning rate (Exercise 2)",
                      "沒有做偏差修正：Adam 要把 m 除以 1 − β₁ᵗ、把 v 除以 1 − β₂ᵗ，因為兩者都從 0 開始，"
                      "會偏向 0；不修正的話，第一步是學習率的 (1 − β₁)/√(1 − β₂) ≈ 3.16 倍（練習 2）"),
    "m_only": ("only m is corrected: v needs its correction too, v̂ = v/(1 − β₂ᵗ)",
               "只修正了 m：v 也要修正，v̂ = v/(1 − β₂ᵗ)"),
    "v_only": ("only v is corrected: m needs its correction too, m̂ = m/(1 − β₁ᵗ)",
               "只修正了 v：m 也要修正，m̂ = m/(1 − β₁ᵗ)"),
    "beta_swapped": ("β and 1 − β are swapped: the old average keeps the weight β, m ← β₁·m + (1 − β₁)·g and "
                     "v ← β₂·v + (1 − β₂)·g²",
                     "β 和 1 − β 放反了：舊的平均值保留權重 β，m ← β₁·m + (1 − β₁)·g，v ← β₂·v + (1 − β₂)·g²"),
    "betas_order": ("the two betas are swapped: betas = (β₁, β₂) = (0.9, 0.999) by default, β₁ for the first moment "
                    "m and β₂ for the second moment v; unpack them as beta1, beta2 = betas",
                    "兩個 beta 用反了：betas = (β₁, β₂)，默認為 (0.9, 0.999)，β₁ 用於一階矩 m，β₂ 用於二階矩 v；"
                    "請寫成 beta1, beta2 = betas"),
    "v_of_g": ("v averages g (or |g|), not g²: v ← β₂·v + (1 − β₂)·g * g, the uncentered second moment, never "
               "negative",
               "v 平均的是 g（或 |g|），而不是 g²：應為 v ← β₂·v + (1 − β₂)·g * g，即未中心化的二階矩，不會是負數"),
    "v_variance": ("v averages (g − m)², a variance: Adam's v is the uncentered second moment, the average of g² "
                   "itself, with no mean subtracted (calling v \"the variance of the gradient\" is a common "
                   "misreading): v ← β₂·v + (1 − β₂)·g * g",
                   "v 平均的是 (g − m)²，即方差：Adam 的 v 是未中心化的二階矩，平均的就是 g² 本身，不減去均值"
                   "（把 v 說成「梯度的方差」是常見的誤讀）：應為 v ← β₂·v + (1 − β₂)·g * g"),
    "store_corrected": ("you returned the corrected moments m̂ and v̂ as the state: return m and v themselves; the "
                        "correction is applied afresh at every step, in the step only, with that step's t",
                        "你把修正後的 m̂ 和 v̂ 當作狀態返回了：請返回 m 和 v 本身；修正只在計算步子時做，"
                        "每一步用那一步的 t 重新做"),
    "reset": ("the state starts afresh at every call: m, v and t must be the ones passed in, updated and returned; "
              "the caller passes them back at the next step",
              "每次調用時狀態都從頭開始：m、v 和 t 要用傳進來的值，更新後再返回，調用者下一步會把它們傳回給你"),
    "stale": ("the step uses m and v before this step's gradient enters them: update m and v first, then step with "
              "the new ones",
              "這一步用的是還沒納入本步梯度的 m 和 v：要先更新 m 和 v，再用新的值走這一步"),
    "no_sqrt": ("the square root is missing: the denominator is √v̂ + ε, not v̂ + ε",
                "少了平方根：分母是 √v̂ + ε，而不是 v̂ + ε"),
    "uphill": ("your steps go uphill: the update is w ← w − lr·m̂/(√v̂ + ε), with a minus sign",
               "你的步子在往上走：更新是 w ← w − lr·m̂/(√v̂ + ε)，是減號"),
}


def _hyper_fixed(betas, eps, weight_decay=None) -> dict:
    out = {**_fixed("eps", eps, (1e-8,), ("the argument eps", "參數 eps"), "ε"),
           **_fixed("betas", tuple(betas), (DEFAULT_BETAS,), ("the argument betas", "參數 betas"), "betas")}
    if weight_decay is not None:
        out.update(_fixed("weight_decay", weight_decay, (1e-2, 0.0),
                          ("the argument weight_decay", "參數 weight_decay"), "λ"))
    return out


# ---------------------------------------------------------------- running a functional step
_W_FIX = ("return a new array, w - lr * ..., instead of updating w in place (`w -= ...`, `w *= ...`): the caller "
          "keeps the previous w",
          "請返回一個新數組 w - lr * ...，不要原地更新 w（`w -= ...`、`w *= ...`），因為調用者還保留著上一步的 w")
_G_FIX = ("leave g as it is (no `g += ...`, `g *= ...`) and compute into new arrays: the caller still holds its "
          "gradient",
          "不要改動 g（不要寫 `g += ...`、`g *= ...`），計算結果要放進新數組：調用者手裡還拿著這個梯度")


def _run(one, w0, n_states: int, grads, lrs, name: str, names: tuple[str, ...]):
    """Feed ``grads`` to ``one(w, g, states, t, lr)`` returning ``(w, *states, t)``: the iterates and the states
    (:func:`optbook.checks.run_steps` with the step count). The states and t a step returns are passed back at
    the next step; w and g must not change in place."""
    return run_steps(one, w0, [np.zeros(np.shape(w0)) for _ in range(n_states)], grads, lrs, name, names,
                     (_W_FIX, _G_FIX), counted=True)


def _wrong_state(name, names, got_states, ref_states, setting, k: int = 1) -> None:
    """At step ``k`` w is right but a returned state is not: say which, and what it should be (the states
    returned in another order are named as such)."""
    rules = {"m": "β₁·m + (1 − β₁)·g", "v": "β₂·v + (1 − β₂)·g * g", "v_max": "max(v_max, v), over the raw v"}
    rules_zh = {"m": "β₁·m + (1 − β₁)·g", "v": "β₂·v + (1 − β₂)·g * g", "v_max": "max(v_max, v)，取原始 v 的最大值"}
    n = len(ref_states)
    for perm in itertools.permutations(range(n)):
        if list(perm) != list(range(n)) and all(_agree(got_states[i], ref_states[p]) for i, p in enumerate(perm)):
            ret = "(" + ", ".join(names) + ")"
            late = ((" (they differ only from this step on, so w is still right here)",
                     "（兩者到這一步才開始不同，所以這一步 w 還是對的）") if k > 1 else ("", ""))
            fail(f"with {setting[0]}: w is right after step {k}, but {name} returned its states in the wrong order"
                 f"{late[0]}: return {ret}, in that order",
                 f"在 {setting[1]} 時，第 {k} 步後 w 是對的，但 {name} 返回的各個狀態順序不對{late[1]}："
                 f"應按 {ret} 的順序返回")
    for s_name, got, ref in zip(names[1:-1], got_states, ref_states):
        if not _agree(got, ref):
            fail(f"with {setting[0]}: w is right after step {k}, but the {s_name} that {name} returned is not "
                 f"{s_name} ← {rules[s_name]}: return {s_name} itself (uncorrected); the caller passes it back at the "
                 "next step",
                 f"在 {setting[1]} 時，第 {k} 步後 w 是對的，但 {name} 返回的 {s_name} 不是 {s_name} ← "
                 f"{rules_zh[s_name]}：請返回 {s_name} 本身（未經修正），調用者下一步會把它傳回給你")


def _diagnose(got, history, expected, w0, mistakes: dict, simulate, setting, hint, names, name, refs) -> None:
    """:func:`optbook.checks.diagnose`, and where no mistake matches, the states returned at the steps where w
    is still right (``refs``: the expected states after each step)."""
    def states():
        for k in range(len(expected)):
            if not _agree(got[k], expected[k]):
                break
            if not all(_agree(a, b) for a, b in zip(history[k], refs[k])):
                _wrong_state(name, names, history[k], refs[k], setting, k + 1)

    diagnose(got, expected, w0, mistakes, simulate, setting, hint, _VARIANTS, then=states)


def _setting(betas, eps, lr, extra: str = "", extra_zh: str = "") -> tuple[str, str]:
    b = f"betas = ({betas[0]:g}, {betas[1]:g}), eps = {_num(eps)}, lr = {lr:g}"
    b_zh = f"betas = ({betas[0]:g}, {betas[1]:g})、eps = {_num(eps)}、lr = {lr:g}"
    return (b + (f", {extra}" if extra else ""), b_zh + (f"、{extra_zh}" if extra_zh else ""))


ADAM_HINT = ("Compare your step with Adam's, coordinate by coordinate, with m, v from the ones passed in (zeros and "
             "t = 0 at the first step): t ← t + 1, m ← β₁·m + (1 − β₁)·g, v ← β₂·v + (1 − β₂)·g², "
             "m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ), w ← w − lr·m̂/(√v̂ + ε)",
             "請逐坐標對照 Adam 的一步，m、v 從傳進來的值開始（第一步是全零，t = 0）：t ← t + 1，"
             "m ← β₁·m + (1 − β₁)·g，v ← β₂·v + (1 − β₂)·g²，m̂ = m/(1 − β₁ᵗ)，v̂ = v/(1 − β₂ᵗ)，"
             "w ← w − lr·m̂/(√v̂ + ε)")


def _check_steps(ex, call_step, n_states, names, name, cases, torch_name, torch_kwargs, mistakes_fn, hint,
                 decay=None, amsgrad=False):
    """Run a functional Adam-family step on every case against torch; diagnose a path that differs."""
    for n, case in enumerate(cases):
        betas, eps, lr, grads, wd, extra, extra_zh = case
        w0 = np.random.default_rng(40 + n).standard_normal(grads.shape[1]) * 2.0
        lrs = np.full(len(grads), lr)
        setting = _setting(betas, eps, lr, extra, extra_zh)
        got, history = _run(lambda w, g, s, t, lr_, c=case: call_step(w, g, s, t, lr_, c),
                            w0, n_states, grads, lrs, name, names)
        kwargs = torch_kwargs(case)
        expected = torch_path(torch_name, w0, grads, lrs, betas=tuple(betas), eps=eps, **kwargs)
        if not _agree(got, expected):
            sim_kwargs = dict(w0=w0, grads=grads, lrs=lrs, betas=tuple(betas), eps=eps, weight_decay=wd, decay=decay,
                              amsgrad=amsgrad)
            _, ref_states = adam_path(**sim_kwargs, states=True)
            refs = [list(r[:2]) + ([r[2]] if amsgrad else []) for r in ref_states]
            _diagnose(got, history, expected, w0, mistakes_fn(case), simulator(adam_path, **sim_kwargs), setting, hint,
                      names, name, refs)


# ---------------------------------------------------------------- Exercise 1: Adam's step
def _adam_cases():
    """(betas, eps, lr, gradients, weight_decay, what, what in Chinese)."""
    return [
        ((0.9, 0.999), 1e-8, 0.01, _gradients(11, 40, 4), 0.0, "", ""),
        ((0.8, 0.99), 1e-3, 0.05, _gradients(12, 40, 4, np.array([1e-3, 1e-2, 1.0, 10.0])), 0.0,
         "gradients of sizes 1e-3 to 10", "梯度量級從 1e-3 到 10"),
        ((0.9, 0.999), 1e-8, 0.001, _gradients(13, 40, 3, 1e-7), 0.0, "gradients of size 1e-7",
         "梯度量級為 1e-7"),
    ]


def check_adam(adam_step) -> None:
    """Exercise 1: ``adam_step(w, g, m, v, t, lr, betas, eps)`` → ``(w, m, v, t)``, one step of ``torch.optim.Adam``."""
    ex = "Exercise 1"
    _check_steps(
        ex, lambda w, g, s, t, lr, c: call(adam_step, w, g, s[0], s[1], t, lr, c[0], c[1],
                                           exercise=ex, name="adam_step"),
        2, ("w", "m", "v", "t"), "adam_step", _adam_cases(), "Adam", lambda c: {},
        lambda c: {**CORE_MISTAKES, **_hyper_fixed(c[0], c[1])}, ADAM_HINT)
    passed(ex, "the steps and the step count match torch.optim.Adam with betas = (0.9, 0.999) and (0.8, 0.99), "
               "with eps = 1e-8 and 1e-3 and with gradients from 1e-7 to 10, without touching w or g",
           "在 betas = (0.9, 0.999) 和 (0.8, 0.99)、eps = 1e-8 和 1e-3、梯度量級從 1e-7 到 10 這幾種情況下，"
           "每一步和步數都與 torch.optim.Adam 一致，而且沒有改動 w 和 g")


# ---------------------------------------------------------------- Exercise 2: the uncorrected step
def uncorrected_ratio_variant(t, beta1, beta2, mistake=None):
    """(1 − β₁ᵗ)/√(1 − β₂ᵗ), the uncorrected Adam step over lr for a constant gradient (ε neglected), or a mistake."""
    t = np.asarray(t, dtype=float)
    with np.errstate(all="ignore"):
        if mistake == "corrected":
            return np.ones_like(t)
        if mistake == "no_sqrt":
            return (1 - beta1**t) / (1 - beta2**t)
        if mistake == "swapped":
            return (1 - beta2**t) / np.sqrt(1 - beta1**t)
        if mistake == "inverse":
            return np.sqrt(1 - beta2**t) / (1 - beta1**t)
        if mistake == "powers":
            return beta1**t / np.sqrt(beta2**t)
        if mistake == "first_only":
            return np.full_like(t, (1 - beta1) / np.sqrt(1 - beta2))
        if mistake == "sqrt_both":
            return np.sqrt((1 - beta1**t) / (1 - beta2**t))
        if mistake == "rmsprop":
            return 1 / np.sqrt(1 - beta2**t)
        if mistake == "t_minus_1":
            return (1 - beta1 ** (t - 1)) / np.sqrt(1 - beta2 ** (t - 1))
        if mistake == "eps_kept":
            return (1 - beta1**t) / (np.sqrt(1 - beta2**t) + 1e-8)
        return (1 - beta1**t) / np.sqrt(1 - beta2**t)


RATIO_MISTAKES = {
    "corrected": ("your ratio is 1 at every step: that is the corrected step, m̂/√v̂ = g/|g|. Without the "
                  "correction m_t = (1 − β₁ᵗ)·g and v_t = (1 − β₂ᵗ)·g², so the step over lr is "
                  "(1 − β₁ᵗ)/√(1 − β₂ᵗ)",
                  "你的比值每一步都是 1：那是修正之後的步子，m̂/√v̂ = g/|g|。不修正時 m_t = (1 − β₁ᵗ)·g，"
                  "v_t = (1 − β₂ᵗ)·g²，所以步子除以 lr 是 (1 − β₁ᵗ)/√(1 − β₂ᵗ)"),
    "no_sqrt": ("the square root is missing: the step divides by √v_t = √(1 − β₂ᵗ)·|g|, so the ratio is "
                "(1 − β₁ᵗ)/√(1 − β₂ᵗ)",
                "少了平方根：步子除以的是 √v_t = √(1 − β₂ᵗ)·|g|，所以比值是 (1 − β₁ᵗ)/√(1 − β₂ᵗ)"),
    "swapped": ("β₁ and β₂ are swapped: m (with β₁) is in the numerator, √v (with β₂) in the denominator",
                "β₁ 和 β₂ 放反了：分子是 m（用 β₁），分母是 √v（用 β₂）"),
    "inverse": ("the fraction is upside down: the step is lr·m_t/√v_t, so the ratio is (1 − β₁ᵗ)/√(1 − β₂ᵗ)",
                "分子分母放反了：步子是 lr·m_t/√v_t，所以比值是 (1 − β₁ᵗ)/√(1 − β₂ᵗ)"),
    "powers": ("you used βᵗ where 1 − βᵗ belongs: from m = 0, t steps of a constant g give m_t = (1 − β₁ᵗ)·g "
               "(the weights (1 − β₁)·β₁ᵏ sum to 1 − β₁ᵗ)",
               "你用的是 βᵗ，應該用 1 − βᵗ：從 m = 0 出發，恆定的 g 走 t 步後 m_t = (1 − β₁ᵗ)·g"
               "（權重 (1 − β₁)·β₁ᵏ 加起來是 1 − β₁ᵗ）"),
    "first_only": ("your ratio is the same at every t, that of the first step, (1 − β₁)/√(1 − β₂): after t steps "
                   "it is (1 − β₁ᵗ)/√(1 − β₂ᵗ)",
                   "你的比值每個 t 都一樣，都是第一步的 (1 − β₁)/√(1 − β₂)：走了 t 步之後應是 (1 − β₁ᵗ)/√(1 − β₂ᵗ)"),
    "sqrt_both": ("the square root covers the numerator too: only v is under the root, (1 − β₁ᵗ)/√(1 − β₂ᵗ)",
                  "平方根把分子也蓋住了：只有 v 在根號下，即 (1 − β₁ᵗ)/√(1 − β₂ᵗ)"),
    "rmsprop": ("the factor 1 − β₁ᵗ of m is missing (that is RMSprop's ratio, which has no m): "
                "(1 − β₁ᵗ)/√(1 − β₂ᵗ)",
                "少了 m 的因子 1 − β₁ᵗ（那是沒有 m 的 RMSprop 的比值）：應為 (1 − β₁ᵗ)/√(1 − β₂ᵗ)"),
    "t_minus_1": ("your ratio is that of step t − 1 (0/0 at the first step): after step t the moments have seen "
                  "t gradients, m_t = (1 − β₁ᵗ)·g",
                  "你的比值是第 t − 1 步的（第一步是 0/0）：第 t 步之後兩個矩已經納入了 t 個梯度，m_t = (1 − β₁ᵗ)·g"),
    "eps_kept": ("your ratios keep ε = 1e-8, as uncorrected Adam run with g = 1 gives, m_t/(√v_t + ε): the formula "
                 "neglects ε, (1 − β₁ᵗ)/√(1 − β₂ᵗ), the ratio for any size of g well above ε. They differ by a "
                 "relative ε/√(1 − β₂ᵗ), about 3e-7 at t = 1",
                 "你的比值保留了 ε = 1e-8，就像用 g = 1 模擬未修正的 Adam 得到的 m_t/(√v_t + ε)：公式忽略了 ε，"
                 "即 (1 − β₁ᵗ)/√(1 − β₂ᵗ)，這是 g 遠大於 ε 時、與 g 大小無關的比值。兩者的相對差是 ε/√(1 − β₂ᵗ)，"
                 "t = 1 時約為 3e-7"),
}


def _float32_values(x: np.ndarray) -> bool:
    """Whether every number of ``x`` is a float32 number: what a computation in float32 returns."""
    with np.errstate(all="ignore"):
        return bool(np.array_equal(x, x.astype(np.float32).astype(float), equal_nan=True))


_ARRAY_HINTS = [
    (lambda e, line: isinstance(e, TypeError) and ("length-1 arrays" in str(e) or "0-dimensional" in str(e)
                                                   or "only size-1 arrays" in str(e)),
     "a function of the math module (math.sqrt, math.pow) takes one number, and t is an array: use NumPy's "
     "np.sqrt and **, which work element by element",
     "math 模塊的函數（math.sqrt、math.pow）只接受一個數，而 t 是一個數組：請用 NumPy 的 np.sqrt 和 **，"
     "它們逐元素運算"),
]


def check_uncorrected(uncorrected_ratio) -> None:
    """Exercise 2: ``uncorrected_ratio(t, beta1, beta2)`` → (1 − β₁ᵗ)/√(1 − β₂ᵗ), for an array of t."""
    ex = "Exercise 2"
    t = np.arange(1, 5001)
    for beta1, beta2 in ((0.9, 0.999), (0.5, 0.9), (0.99, 0.9999)):
        head = (f"with betas = ({beta1:g}, {beta2:g})", f"在 betas = ({beta1:g}, {beta2:g}) 時")
        t_in = t.copy()
        with np.errstate(all="ignore"):
            out = call(uncorrected_ratio, t_in, beta1, beta2, exercise=ex, name="uncorrected_ratio", hints=_ARRAY_HINTS)
        got = as_array(out, "uncorrected_ratio(t, beta1, beta2)")
        if got.shape != t.shape:
            fail(f"uncorrected_ratio returned shape {got.shape} for t of shape {t.shape}: return one ratio per t "
                 "(NumPy's ** and np.sqrt work element by element on the array t)",
                 f"t 的形狀是 {t.shape}，uncorrected_ratio 返回的形狀卻是 {got.shape}：每個 t 返回一個比值"
                 "（NumPy 的 ** 和 np.sqrt 對數組 t 逐元素運算）")
        expected = uncorrected_ratio_variant(t, beta1, beta2)
        if _agree(got, expected, rtol=1e-9, atol=0.0):
            continue
        for mistake, (en, zh) in RATIO_MISTAKES.items():
            if _agree(got, uncorrected_ratio_variant(t, beta1, beta2, mistake), rtol=1e-9, atol=0.0):
                fail(f"{head[0]}: {en}", f"{head[1]}，{zh}")
        rel = relative_error(got, expected)
        if 0 < rel < 1e-4 and not _float32_values(got):
            worst = int(np.argmax(np.abs(got - expected)))
            a, e = distinct(float(got[worst]), float(expected[worst]))
            digits = int(round(-np.log10(rel)))
            fail(f"{head[0]}: your ratios are right to about {digits} digits only (at t = {worst + 1} you have {a}, "
                 f"expected {e}): not round-off, and not float32 (your numbers are not float32 values), but a small "
                 "term kept or left out. The formula is (1 − β₁ᵗ)/√(1 − β₂ᵗ), with ε neglected",
                 f"{head[1]}，你的比值只有約 {digits} 位有效數字是對的（t = {worst + 1} 時你的是 {a}，應為 {e}）："
                 "這不是捨入誤差，也不是 float32（你的數不是 float32 數），而是多留或漏掉了一個小項。"
                 "公式是 (1 − β₁ᵗ)/√(1 − β₂ᵗ)，其中忽略了 ε")
        close(got, expected, f"the ratio array {head[0]}", rtol=1e-9, atol=0.0, what_zh=f"{head[1]}的比值")
    one = call(uncorrected_ratio, 1, 0.9, 0.999, exercise=ex, name="uncorrected_ratio", hints=_ARRAY_HINTS)
    if not _agree(np.asarray(one, dtype=float).reshape(-1)[:1], [0.1 / np.sqrt(0.001)]):
        fail(f"uncorrected_ratio(1, 0.9, 0.999) returned {one!r}: with an integer t it should work too, and give "
             "0.1/√0.001 ≈ 3.162",
             f"uncorrected_ratio(1, 0.9, 0.999) 返回了 {one!r}：t 是整數時也要能算，結果應是 0.1/√0.001 ≈ 3.162")
    passed(ex, "the uncorrected step over lr is (1 − β₁ᵗ)/√(1 − β₂ᵗ) for t = 1 to 5000 and three pairs of betas: "
               "3.162 at the first step with the defaults",
           "t 從 1 到 5000、三組 betas 下，未修正的步子除以 lr 都是 (1 − β₁ᵗ)/√(1 − β₂ᵗ)：默認值下第一步是 3.162")


# ---------------------------------------------------------------- Exercise 3: AMSGrad
AMSGRAD_MISTAKES = {
    "no_max": ("there is no maximum: this is plain Adam. AMSGrad keeps v_max ← max(v_max, v) and divides by "
               "√(v_max/(1 − β₂ᵗ)) + ε, so the denominator never shrinks",
               "沒有取最大值：這就是普通的 Adam。AMSGrad 要維護 v_max ← max(v_max, v)，並除以 "
               "√(v_max/(1 − β₂ᵗ)) + ε，這樣分母就不會變小"),
    "max_corrected": ("you took the maximum over the corrected v̂ = v/(1 − β₂ᵗ) (Optax's convention, and "
                      "PyTorch's documentation until 2024): torch.optim.Adam(amsgrad=True) keeps the maximum of the "
                      "raw v, v_max ← max(v_max, v), and corrects it at the step, √(v_max/(1 − β₂ᵗ)) + ε",
                      "你對修正後的 v̂ = v/(1 − β₂ᵗ) 取了最大值（Optax 的做法，PyTorch 的文檔 2024 年以前"
                      "也這樣寫）："
                      "torch.optim.Adam(amsgrad=True) 取的是原始 v 的最大值，v_max ← max(v_max, v)，"
                      "走步時再修正，√(v_max/(1 − β₂ᵗ)) + ε"),
    "max_stored_corrected": ("you stored the maximum after correcting it, v_max ← max(v_max, v)/(1 − β₂ᵗ), so the "
                             "next maximum compares a corrected value with a raw one: keep v_max ← max(v_max, v) "
                             "raw, and divide by 1 − β₂ᵗ only in the step",
                             "你把修正之後的最大值存了下來，v_max ← max(v_max, v)/(1 − β₂ᵗ)，於是下一步的最大值是"
                             "拿修正過的值和原始值比：請讓 v_max ← max(v_max, v) 保持原始值，只在走步時除以 1 − β₂ᵗ"),
    "max_of_g2": ("your maximum is over g², not over v: v_max ← max(v_max, v), the maximum of the average",
                  "你取的是 g² 的最大值，而不是 v 的：應為 v_max ← max(v_max, v)，即平均值的最大值"),
    "max_uncorrected": ("the maximum is not corrected in the step: divide by √(v_max/(1 − β₂ᵗ)) + ε, with v_max the "
                        "running maximum of the raw v",
                        "走步時沒有修正最大值：應除以 √(v_max/(1 − β₂ᵗ)) + ε，其中 v_max 是原始 v 的歷史最大值"),
    "max_into_v": ("the maximum was written back into v, so the average itself continues from the maximum: keep v "
                   "as Adam's average, v ← β₂·v + (1 − β₂)·g², and the maximum apart, v_max ← max(v_max, v)",
                   "最大值被寫回了 v，平均值本身就從最大值繼續走了：v 要保持 Adam 的平均，v ← β₂·v + (1 − β₂)·g²，"
                   "最大值另外存，v_max ← max(v_max, v)"),
    "max_stale": ("the maximum is taken over v before this step's update: update v first, then v_max ← max(v_max, v)",
                  "最大值取的是本步更新之前的 v：要先更新 v，再取 v_max ← max(v_max, v)"),
}

AMSGRAD_HINT = ("Compare your step with AMSGrad's in torch.optim.Adam(amsgrad=True), coordinate by coordinate: "
                "t ← t + 1, m and v as in Adam, v_max ← max(v_max, v) (raw, from 0), "
                "w ← w − lr·(m/(1 − β₁ᵗ))/(√(v_max/(1 − β₂ᵗ)) + ε)",
                "請逐坐標對照 torch.optim.Adam(amsgrad=True) 的 AMSGrad 一步：t ← t + 1，m 和 v 與 Adam 相同，"
                "v_max ← max(v_max, v)（原始值，從 0 開始），w ← w − lr·(m/(1 − β₁ᵗ))/(√(v_max/(1 − β₂ᵗ)) + ε)")


def _amsgrad_cases():
    steps = 40
    shrinking = _gradients(21, steps, 4) * np.geomspace(10.0, 0.1, steps)[:, None]
    spiky = _gradients(22, steps, 4, 0.1)
    spiky[[3, 17], :] *= 100.0
    return [
        ((0.9, 0.999), 1e-8, 0.01, shrinking, 0.0, "gradients shrinking from 10 to 0.1", "梯度從 10 縮小到 0.1"),
        ((0.8, 0.99), 1e-8, 0.05, spiky, 0.0, "two spikes of 100 times the usual gradient",
         "有兩次梯度突增到平常的 100 倍"),
    ]


def check_amsgrad(amsgrad_step) -> None:
    """Exercise 3: ``amsgrad_step(w, g, m, v, v_max, t, lr, betas, eps)`` → ``(w, m, v, v_max, t)``."""
    ex = "Exercise 3"
    core = {k: CORE_MISTAKES[k] for k in ("eps_inside", "no_eps", "eps_precedence", "no_correction", "stuck_t1",
                                          "beta_swapped", "betas_order", "store_corrected", "reset")}
    _check_steps(
        ex, lambda w, g, s, t, lr, c: call(amsgrad_step, w, g, s[0], s[1], s[2], t, lr, c[0], c[1],
                                           exercise=ex, name="amsgrad_step"),
        3, ("w", "m", "v", "v_max", "t"), "amsgrad_step", _amsgrad_cases(), "Adam", lambda c: {"amsgrad": True},
        lambda c: {**AMSGRAD_MISTAKES, **core, **_hyper_fixed(c[0], c[1])}, AMSGRAD_HINT, amsgrad=True)
    passed(ex, "the steps match torch.optim.Adam(amsgrad=True) with shrinking gradients and with spikes: the maximum "
               "is over the raw v and corrected at the step",
           "在梯度逐漸縮小和梯度突增兩種情況下，每一步都與 torch.optim.Adam(amsgrad=True) 一致：最大值取的是原始 v，"
           "走步時再修正")


# ---------------------------------------------------------------- Exercises 4 and 5: the two weight decays
DECAY_MISTAKES_L2 = {
    "decoupled_instead": ("this is AdamW's decoupled decay, w ← w·(1 − lr·λ) beside the Adam step: "
                          "torch.optim.Adam(weight_decay=λ) is L2, it adds λ·w to the gradient, g ← g + λ·w, before "
                          "m and v, so the decay is divided by √v̂ like the rest of the gradient",
                          "這是 AdamW 的解耦衰減，即在 Adam 的步子之外另做 w ← w·(1 − lr·λ)："
                          "torch.optim.Adam(weight_decay=λ) 是 L2，它在更新 m 和 v 之前把 λ·w 加到梯度上，"
                          "g ← g + λ·w，所以衰減項和梯度的其餘部分一樣要除以 √v̂"),
    "decay_ignored": ("weight_decay is ignored: these are the steps of Adam without decay. Add λ·w to the gradient "
                      "first, g ← g + λ·w",
                      "weight_decay 被忽略了：這是沒有衰減的 Adam 的步子。要先把 λ·w 加到梯度上，g ← g + λ·w"),
    "l2_m_only": ("λ·w enters m but not v: torch replaces the gradient, g ← g + λ·w, and both moments see the new g",
                  "λ·w 進了 m 卻沒有進 v：torch 是把梯度整個換掉，g ← g + λ·w，兩個矩用的都是新的 g"),
    "l2_double": ("you added 2λ·w, the gradient of λ·‖w‖²: PyTorch's weight_decay adds λ·w (the gradient of "
                  "(λ/2)·‖w‖²)",
                  "你加的是 2λ·w，即 λ·‖w‖² 的梯度：PyTorch 的 weight_decay 加的是 λ·w（即 (λ/2)·‖w‖² 的梯度）"),
    "l2_sign": ("the decay has the wrong sign: g ← g + λ·w pulls w towards 0; g − λ·w pushes it away",
                "衰減項的符號反了：g ← g + λ·w 才會把 w 拉向 0；g − λ·w 會把它推開"),
    "l2_lr": ("you multiplied the L2 term by lr, g ← g + lr·λ·w: L2 adds λ·w to the gradient, and the learning rate "
              "enters once, in the step",
              "你把 L2 項乘上了 lr，g ← g + lr·λ·w：L2 是把 λ·w 加到梯度上，學習率只在走步時出現一次"),
}

DECAY_MISTAKES_W = {
    "l2_instead": ("this is L2 (λ·w added to the gradient, then divided by √v̂ with it), the weight_decay of "
                   "torch.optim.Adam: AdamW decouples it, w ← w·(1 − lr·λ) first, then Adam's step with g alone",
                   "這是 L2（把 λ·w 加到梯度上，再和梯度一起除以 √v̂），也就是 torch.optim.Adam 的 weight_decay："
                   "AdamW 把它解耦了，先做 w ← w·(1 − lr·λ)，再只用 g 走 Adam 的一步"),
    "decay_ignored": ("weight_decay is ignored: these are the steps of Adam without decay. Multiply w by 1 − lr·λ "
                      "first",
                      "weight_decay 被忽略了：這是沒有衰減的 Adam 的步子。要先把 w 乘以 1 − lr·λ"),
    "decay_no_lr": ("the decay is not multiplied by lr, w ← w·(1 − λ): PyTorch's AdamW shrinks by 1 − lr·λ (the "
                    "paper multiplies λ by the schedule's factor only, so its λ is PyTorch's lr·λ)",
                    "衰減沒有乘 lr，即 w ← w·(1 − λ)：PyTorch 的 AdamW 收縮的是 1 − lr·λ"
                    "（原論文的 λ 只乘調度乘子，所以論文的 λ 相當於 PyTorch 的 lr·λ）"),
    "decay_after": ("the decay is applied after the Adam step, (w − lr·u)·(1 − lr·λ): torch applies "
                    "w ← w·(1 − lr·λ) first and then subtracts lr·u, with u = m̂/(√v̂ + ε). The two differ by "
                    "lr²·λ·u per step, slightly, but they differ",
                    "衰減是在 Adam 的步子之後做的，即 (w − lr·u)·(1 − lr·λ)：torch 先做 w ← w·(1 − lr·λ)，"
                    "再減去 lr·u，其中 u = m̂/(√v̂ + ε)。兩者每一步相差 lr²·λ·u，差得不多，但確實不同"),
    "decay_normalized": ("the decay is divided by √v̂ + ε, w − lr·(m̂ + λ·w)/(√v̂ + ε): decoupled decay stays "
                         "outside the normalization, w ← w·(1 − lr·λ), then w ← w − lr·m̂/(√v̂ + ε)",
                         "衰減項被除以了 √v̂ + ε，即 w − lr·(m̂ + λ·w)/(√v̂ + ε)：解耦衰減不參與歸一化，"
                         "先做 w ← w·(1 − lr·λ)，再做 w ← w − lr·m̂/(√v̂ + ε)"),
    "decay_sign": ("the decay has the wrong sign, w·(1 + lr·λ): decay shrinks the weights, w ← w·(1 − lr·λ)",
                   "衰減的符號反了，w·(1 + lr·λ)：衰減是收縮權重，w ← w·(1 − lr·λ)"),
}

L2_HINT = ("Compare your step with torch.optim.Adam(weight_decay=λ), coordinate by coordinate: g ← g + λ·w, then "
           "Adam's step with this g: t ← t + 1, m ← β₁·m + (1 − β₁)·g, v ← β₂·v + (1 − β₂)·g², "
           "w ← w − lr·m̂/(√v̂ + ε)",
           "請逐坐標對照 torch.optim.Adam(weight_decay=λ) 的一步：g ← g + λ·w，然後用這個 g 走 Adam 的一步："
           "t ← t + 1，m ← β₁·m + (1 − β₁)·g，v ← β₂·v + (1 − β₂)·g²，w ← w − lr·m̂/(√v̂ + ε)")

ADAMW_HINT = ("Compare your step with torch.optim.AdamW, coordinate by coordinate: w ← w·(1 − lr·λ) first, then "
              "Adam's step with g alone: t ← t + 1, m ← β₁·m + (1 − β₁)·g, v ← β₂·v + (1 − β₂)·g², "
              "w ← w − lr·m̂/(√v̂ + ε)",
              "請逐坐標對照 torch.optim.AdamW 的一步：先做 w ← w·(1 − lr·λ)，再只用 g 走 Adam 的一步："
              "t ← t + 1，m ← β₁·m + (1 − β₁)·g，v ← β₂·v + (1 − β₂)·g²，w ← w − lr·m̂/(√v̂ + ε)")


def _decay_cases():
    """Large lr and λ show an order of operations that the defaults hide; the defaults run too."""
    return [
        ((0.9, 0.999), 1e-8, 0.1, _gradients(31, 40, 4), 0.2, "weight_decay = 0.2", "weight_decay = 0.2"),
        ((0.8, 0.99), 1e-3, 0.05, _gradients(32, 40, 4, np.array([0.01, 0.1, 1.0, 10.0])), 0.5,
         "weight_decay = 0.5, gradients of sizes 0.01 to 10", "weight_decay = 0.5、梯度量級從 0.01 到 10"),
        ((0.9, 0.999), 1e-8, 0.001, _gradients(33, 40, 3), 0.01, "weight_decay = 0.01",
         "weight_decay = 0.01"),
    ]


def _decay_mistakes(own: dict, c) -> dict:
    core = {k: CORE_MISTAKES[k] for k in ("eps_inside", "no_eps", "eps_precedence", "eps_hat",
                                          "no_correction", "stuck_t1",
                                          "beta_swapped", "betas_order", "store_corrected", "reset")}
    return {**own, **core, **_hyper_fixed(c[0], c[1], c[4])}


def check_adam_l2(adam_l2_step) -> None:
    """Exercise 4: ``adam_l2_step(w, g, m, v, t, lr, betas, eps, weight_decay)`` → ``(w, m, v, t)``:
    one step of ``torch.optim.Adam(weight_decay=λ)``, L2."""
    ex = "Exercise 4"
    _check_steps(
        ex, lambda w, g, s, t, lr, c: call(adam_l2_step, w, g, s[0], s[1], t, lr, c[0], c[1], c[4],
                                           exercise=ex, name="adam_l2_step"),
        2, ("w", "m", "v", "t"), "adam_l2_step", _decay_cases(), "Adam", lambda c: {"weight_decay": c[4]},
        lambda c: _decay_mistakes(DECAY_MISTAKES_L2, c), L2_HINT, decay="l2")
    passed(ex, "the steps match torch.optim.Adam(weight_decay=λ), L2, with λ = 0.01, 0.2 and 0.5",
           "在 λ = 0.01、0.2 和 0.5 時，每一步都與 torch.optim.Adam(weight_decay=λ)（L2）一致")


def check_adamw(adamw_step) -> None:
    """Exercise 5: ``adamw_step(w, g, m, v, t, lr, betas, eps, weight_decay)`` → ``(w, m, v, t)``:
    one step of ``torch.optim.AdamW``, decoupled decay multiplied by lr, before the Adam step."""
    ex = "Exercise 5"
    _check_steps(
        ex, lambda w, g, s, t, lr, c: call(adamw_step, w, g, s[0], s[1], t, lr, c[0], c[1], c[4],
                                           exercise=ex, name="adamw_step"),
        2, ("w", "m", "v", "t"), "adamw_step", _decay_cases(), "AdamW", lambda c: {"weight_decay": c[4]},
        lambda c: _decay_mistakes(DECAY_MISTAKES_W, c), ADAMW_HINT, decay="decoupled")
    passed(ex, "the steps match torch.optim.AdamW with λ = 0.01, 0.2 and 0.5: the decay is multiplied by lr and "
               "applied before the Adam step",
           "在 λ = 0.01、0.2 和 0.5 時，每一步都與 torch.optim.AdamW 一致：衰減乘了 lr，並且在 Adam 的步子之前做")


# ---------------------------------------------------------------- Exercise 6: parameter groups
def _models():
    """Two small torch models, made the same way at every call (the global RNG is left as it was)."""
    import torch
    from torch import nn

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(10, 4)
            self.proj = nn.Linear(4, 3, bias=False)
            self.norm = nn.BatchNorm1d(3)
            self.head = nn.Linear(3, 2)
            self.temperature = nn.Parameter(torch.tensor(1.0))

        def forward(self, x):  # pragma: no cover - not run by the check
            return self.head(self.norm(self.proj(self.embed(x)))) / self.temperature

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        mlp = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.ReLU(), nn.Linear(8, 1)).double()
        tagger = Tagger().double()
    return [(mlp, 0.1, "a Linear–LayerNorm–Linear network", "一個 Linear–LayerNorm–Linear 網絡"),
            (tagger, 0.05, "a model with an embedding, a Linear without bias, a BatchNorm and a scalar parameter",
             "一個帶嵌入層、無偏置 Linear、BatchNorm 和一個標量參數的模型")]


def _group_params(group, k: int, names_of: dict):
    params = group["params"]
    import torch

    if isinstance(params, torch.Tensor):
        return [params]
    if isinstance(params, (str, bytes)) or not hasattr(params, "__iter__"):
        fail(f"group {k}'s 'params' is a {type(params).__name__}: give a list of the model's parameters (tensors)",
             f"第 {k} 組的 'params' 是 {type(params).__name__}：請給出模型參數（張量）的列表")
    params = list(params)
    for p in params:
        if isinstance(p, str):
            fail(f"group {k}'s 'params' holds names (such as {p!r}): give the tensors themselves, p rather than "
                 "name in `for name, p in model.named_parameters()`",
                 f"第 {k} 組的 'params' 裡放的是名字（例如 {p!r}）：要放張量本身，即 "
                 "`for name, p in model.named_parameters()` 中的 p，而不是 name")
        if isinstance(p, tuple):
            fail(f"group {k}'s 'params' holds (name, parameter) pairs from named_parameters(): keep the parameter p "
                 "of each pair only",
                 f"第 {k} 組的 'params' 裡放的是 named_parameters() 給出的 (名字, 參數) 對：每一對只保留參數 p")
        if not isinstance(p, torch.Tensor):
            fail(f"group {k}'s 'params' holds a {type(p).__name__}: give the model's parameters (tensors)",
                 f"第 {k} 組的 'params' 裡有一個 {type(p).__name__}：請給出模型的參數（張量）")
        if id(p) not in names_of:
            fail(f"group {k} holds a tensor that is not one of the model's parameters (a copy? p.detach(), p.clone() "
                 "or p.data make new tensors, and the optimizer would update those instead of the model): give the "
                 "parameters as model.named_parameters() yields them",
                 f"第 {k} 組裡有一個張量不是模型的參數（是不是複製了一份？p.detach()、p.clone() 或 p.data 都會"
                 "得到新的張量，優化器更新的就是它們而不是模型）：請直接用 model.named_parameters() 給出的參數")
    return params


def check_param_groups(param_groups) -> None:
    """Exercise 6: ``param_groups(model, weight_decay)`` → the list of groups for ``torch.optim.AdamW(groups, lr)``:
    decay λ for the parameters with ndim ≥ 2, none for the others (biases, normalization weights, scalars)."""
    import torch

    ex = "Exercise 6"
    default = torch.optim.AdamW([torch.zeros(1, requires_grad=True)]).defaults["weight_decay"]
    for model, lam, what, what_zh in _models():
        head = (f"on {what} (weight_decay = {lam:g})",
                f"在{' ' if what_zh[:1].isascii() else ''}{what_zh}上（weight_decay = {lam:g}）")
        named = dict(model.named_parameters())
        names_of = {id(p): n for n, p in named.items()}
        out = call(param_groups, model, lam, exercise=ex, name="param_groups")
        if out is None:
            fail("param_groups returned None: did you forget the `return` statement? Return a list of dicts",
                 "param_groups 返回了 None：是不是忘了寫 `return`？請返回一個由字典組成的列表")
        if isinstance(out, dict):
            fail("param_groups returned one dict: return a list of groups, [{'params': [...], 'weight_decay': λ}, "
                 "{'params': [...], 'weight_decay': 0.0}]",
                 "param_groups 返回的是一個字典：請返回由參數組組成的列表，[{'params': [...], 'weight_decay': λ}, "
                 "{'params': [...], 'weight_decay': 0.0}]")
        groups = list(out)
        seen: dict[str, int] = {}
        given = []
        for k, group in enumerate(groups):
            if not isinstance(group, dict) or "params" not in group:
                fail(f"group {k} is not a dict with a 'params' entry: each group is "
                     "{'params': [tensors], 'weight_decay': ...}",
                     f"第 {k} 組不是帶 'params' 鍵的字典：每一組都應是 {{'params': [張量], 'weight_decay': ...}}")
            params = _group_params(group, k, names_of)
            given.append({**group, "params": params})   # a copy: torch fills in the defaults of the groups it gets
            for p in params:
                n = names_of[id(p)]
                if n in seen:
                    fail(f"{head[0]}: the parameter '{n}' is in groups {seen[n]} and {k}: each parameter belongs to "
                         "exactly one group (torch refuses the list)",
                         f"{head[1]}，參數 '{n}' 同時出現在第 {seen[n]} 組和第 {k} 組：每個參數只能屬於一組"
                         "（torch 會拒絕這樣的列表）")
                seen[n] = k
        explicit = {names_of[id(p)]: "weight_decay" in g for g in given for p in g["params"]}
        missing = [n for n in named if n not in seen]
        if missing:
            empty = [k for k, g in enumerate(given) if not g["params"]]
            gen_en, gen_zh = ("", "")
            if empty:
                gen_en = (f". Group {empty[0]} is empty: model.parameters() (and named_parameters()) is a generator, "
                          "and a second pass over the same generator is empty; make a list first, "
                          "params = list(model.parameters()), or call model.parameters() again")
                gen_zh = (f"。第 {empty[0]} 組是空的：model.parameters()（以及 named_parameters()）是生成器，"
                          "同一個生成器第二次遍歷時什麼也得不到；請先轉成列表，params = list(model.parameters())，"
                          "或者重新調用 model.parameters()")
            fail(f"{head[0]}: the parameter '{missing[0]}' is in no group, so AdamW would never update it: every "
                 f"parameter of model.named_parameters() goes into one of the groups{gen_en}",
                 f"{head[1]}，參數 '{missing[0]}' 不在任何一組裡，AdamW 就永遠不會更新它："
                 f"model.named_parameters() 中的每個參數都要放進某一組{gen_zh}")
        opt = torch.optim.AdamW([{**g, "params": list(g["params"])} for g in given], lr=1e-3)
        decay = {names_of[id(p)]: g["weight_decay"] for g in opt.param_groups for p in g["params"]}
        expected = {n: (lam if p.ndim >= 2 else 0.0) for n, p in named.items()}
        if decay == expected:
            continue
        wrong = [n for n in named if decay[n] != expected[n]]
        n = wrong[0]
        p = named[n]
        if expected[n] == 0.0 and not explicit[n] and decay[n] == default:
            fail(f"{head[0]}: the group of '{n}' has no 'weight_decay' entry, so it takes AdamW's default, "
                 f"weight_decay = {default:g}: write 'weight_decay': 0.0 in the group without decay",
                 f"{head[1]}，'{n}' 所在的組沒有 'weight_decay' 鍵，於是它沿用了 AdamW 的默認值 "
                 f"weight_decay = {default:g}：不衰減的那一組要寫上 'weight_decay': 0.0")
        if expected[n] == lam and not explicit[n] and decay[n] == default:
            fail(f"{head[0]}: the group of '{n}' has no 'weight_decay' entry, so it takes AdamW's default "
                 f"{default:g}, not the weight_decay = {lam:g} passed in: write 'weight_decay': weight_decay in it",
                 f"{head[1]}，'{n}' 所在的組沒有 'weight_decay' 鍵，於是用的是 AdamW 的默認值 {default:g}，"
                 f"而不是傳入的 weight_decay = {lam:g}：請在這一組寫上 'weight_decay': weight_decay")
        if all(decay[m] == lam for m in named):
            fail(f"{head[0]}: every parameter is decayed, '{n}' (shape {tuple(p.shape)}) too: this lab's rule, by "
                 "shape, decays only the weight matrices and embeddings, the parameters with p.ndim >= 2; biases, "
                 "normalization weights and scalars get 'weight_decay': 0.0",
                 f"{head[1]}，每個參數都做了衰減，'{n}'（形狀 {tuple(p.shape)}）也不例外："
                 "本實驗按形狀判斷，只有權重矩陣和嵌入，即 p.ndim >= 2 的參數才衰減；"
                 "偏置、歸一化層的權重和標量的組要寫 'weight_decay': 0.0")
        if all(decay[m] == 0.0 for m in named):
            fail(f"{head[0]}: no parameter is decayed: the parameters with p.ndim >= 2 get 'weight_decay': "
                 "weight_decay, the λ passed in",
                 f"{head[1]}，沒有任何參數做衰減：p.ndim >= 2 的參數的組要寫 'weight_decay': weight_decay，即傳入的 λ")
        if all(decay[m] == (0.0 if expected[m] else lam) for m in named):
            fail(f"{head[0]}: the two groups are the wrong way round: the decay goes to the parameters with "
                 "p.ndim >= 2, none to the others",
                 f"{head[1]}，兩組弄反了：p.ndim >= 2 的參數才衰減，其餘的不衰減")
        if expected[n] == 0.0 and decay[n] == lam and p.ndim == 1 and "bias" not in n:
            fail(f"{head[0]}: '{n}' (shape {tuple(p.shape)}) is decayed: it is a normalization layer's weight, a "
                 "vector, which a rule by name ('weight' in the name, or 'bias' not in it) takes for a weight matrix. "
                 "Decide by shape, p.ndim >= 2",
                 f"{head[1]}，'{n}'（形狀 {tuple(p.shape)}）被衰減了：它是歸一化層的權重，是一個向量；"
                 "按名字判斷（名字含 'weight'，或不含 'bias'）就會把它當成權重矩陣。請按形狀判斷，p.ndim >= 2")
        if expected[n] == 0.0 and decay[n] == lam:
            fail(f"{head[0]}: '{n}' (shape {tuple(p.shape)}) is decayed: biases and other parameters with p.ndim < 2 "
                 "get 'weight_decay': 0.0",
                 f"{head[1]}，'{n}'（形狀 {tuple(p.shape)}）被衰減了：偏置等 p.ndim < 2 的參數要寫 'weight_decay': 0.0")
        if expected[n] == lam and decay[n] not in (0.0, lam):
            fail(f"{head[0]}: '{n}' is decayed with weight_decay = {decay[n]:g}, not the {lam:g} passed in: use the "
                 "argument weight_decay",
                 f"{head[1]}，'{n}' 的 weight_decay 是 {decay[n]:g}，而不是傳入的 {lam:g}：請使用參數 weight_decay")
        fail(f"{head[0]}: '{n}' (shape {tuple(p.shape)}) gets weight_decay = {decay[n]:g}, expected {expected[n]:g}: "
             "λ for p.ndim >= 2, 0 for the others",
             f"{head[1]}，'{n}'（形狀 {tuple(p.shape)}）的 weight_decay 是 {decay[n]:g}，應為 {expected[n]:g}："
             "p.ndim >= 2 的取 λ，其餘取 0")
    passed(ex, "on two models every parameter is in one group, the weight matrices and embeddings decay with the λ "
               "passed in, and biases, normalization weights and scalars do not decay",
           "在兩個模型上，每個參數都恰好屬於一組，權重矩陣和嵌入按傳入的 λ 衰減，偏置、歸一化層的權重和標量都不衰減")


# ---------------------------------------------------------------- Exercise 7: Keras's ε̂
def keras_path(w0, grads, lr, betas, epsilon, mistake=None) -> np.ndarray:
    """Keras's (and TensorFlow's) Adam in NumPy: lr_t = lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ), w ← w − lr_t·m/(√v + ε̂),
    or the same with one classic ``mistake``."""
    b1, b2 = betas
    shape = np.shape(w0)
    w, m, v, path = np.array(w0, dtype=float), np.zeros(shape), np.zeros(shape), []
    with np.errstate(all="ignore"):
        for t, g in enumerate(grads, start=1):
            g = np.asarray(g, dtype=float)
            tt = 1 if mistake == "stuck_t1" else t
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            c1, c2 = 1 - b1**tt, 1 - b2**tt
            if mistake == "torch_form":
                step = lr * (m / c1) / (np.sqrt(v / c2) + epsilon)
            else:
                lr_t = {"lr_t_no_sqrt": lr * c2 / c1, "lr_t_no_c1": lr * np.sqrt(c2),
                        "lr_t_inverted": lr * c1 / np.sqrt(c2)}.get(mistake, lr * np.sqrt(c2) / c1)
                den = np.sqrt(v + epsilon) if mistake == "eps_inside" else np.sqrt(v) + epsilon
                step = lr_t * m / den
            w = w - step
            path.append(w.copy())
    return np.array(path)


KERAS_MISTAKES = {
    "torch_form": ("these are PyTorch's steps, ε added after the correction, m̂/(√v̂ + ε): Keras folds both "
                   "corrections into the learning rate, lr_t = lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ), and adds its ε̂ to the "
                   "uncorrected √v, w ← w − lr_t·m/(√v + ε̂)",
                   "這是 PyTorch 的步子，ε 加在修正之後，即 m̂/(√v̂ + ε)：Keras 把兩個修正都併進學習率，"
                   "lr_t = lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ)，並把它的 ε̂ 加到未修正的 √v 上，w ← w − lr_t·m/(√v + ε̂)"),
    "eps_inside": ("ε̂ is inside the square root: Keras adds it to √v, w ← w − lr_t·m/(√v + ε̂)",
                   "ε̂ 放在了平方根裡面：Keras 是把它加到 √v 上，w ← w − lr_t·m/(√v + ε̂)"),
    "lr_t_no_sqrt": ("the correction of v enters lr_t without its root: lr_t = lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ), since v is "
                     "under a root in the step",
                     "v 的修正進入 lr_t 時少了平方根：lr_t = lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ)，因為 v 在步子裡是開了方的"),
    "lr_t_no_c1": ("lr_t has no 1/(1 − β₁ᵗ): it carries the correction of m too, lr_t = lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ)",
                   "lr_t 少了 1/(1 − β₁ᵗ)：m 的修正也要併進去，lr_t = lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ)"),
    "lr_t_inverted": ("lr_t is upside down: m̂ = m/(1 − β₁ᵗ) and √v̂ = √v/√(1 − β₂ᵗ), so lr_t = lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ)",
                      "lr_t 上下顛倒了：m̂ = m/(1 − β₁ᵗ)，√v̂ = √v/√(1 − β₂ᵗ)，所以 lr_t = lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ)"),
    "stuck_t1": CORE_MISTAKES["stuck_t1"],
}

KERAS_HINT = ("Compare your step with Keras's Adam, coordinate by coordinate: t ← t + 1, m ← β₁·m + (1 − β₁)·g, "
              "v ← β₂·v + (1 − β₂)·g², lr_t = lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ), w ← w − lr_t·m/(√v + ε̂)",
              "請逐坐標對照 Keras 的 Adam 一步：t ← t + 1，m ← β₁·m + (1 − β₁)·g，v ← β₂·v + (1 − β₂)·g²，"
              "lr_t = lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ)，w ← w − lr_t·m/(√v + ε̂)")


def torch_eps_variant(epsilon, t, beta2, mistake=None):
    """ε = ε̂/√(1 − β₂ᵗ), the eps of torch.optim.Adam whose step t equals Keras's with ε̂, or a mistake of it."""
    t = np.asarray(t, dtype=float)
    with np.errstate(all="ignore"):
        c2 = 1 - beta2**t
        return {"times": epsilon * np.sqrt(c2), "no_sqrt": epsilon / c2, "same": np.full_like(t, epsilon),
                "times_no_sqrt": epsilon * c2, "t_minus_1": epsilon / np.sqrt(1 - beta2 ** (t - 1)),
                "t_plus_1": epsilon / np.sqrt(1 - beta2 ** (t + 1)),
                "beta_power": epsilon / np.sqrt(beta2**t)}.get(mistake, epsilon / np.sqrt(c2))


TORCH_EPS_MISTAKES = {
    "times": ("you multiplied by √(1 − β₂ᵗ): that converts the other way, ε̂ = ε·√(1 − β₂ᵗ). Keras's step is "
              "lr·m̂/(√v̂ + ε̂/√(1 − β₂ᵗ)), so PyTorch's ε is ε̂/√(1 − β₂ᵗ), larger than ε̂ early on",
              "你乘上了 √(1 − β₂ᵗ)：那是反方向的換算，ε̂ = ε·√(1 − β₂ᵗ)。Keras 的一步等於 lr·m̂/(√v̂ + ε̂/√(1 − β₂ᵗ))，"
              "所以 PyTorch 的 ε 是 ε̂/√(1 − β₂ᵗ)，在開始時比 ε̂ 大"),
    "no_sqrt": ("the root is missing: dividing the denominator √v + ε̂ by √(1 − β₂ᵗ) gives √v̂ + ε̂/√(1 − β₂ᵗ)",
                "少了平方根：把分母 √v + ε̂ 除以 √(1 − β₂ᵗ)，得到的是 √v̂ + ε̂/√(1 − β₂ᵗ)"),
    "same": ("your ε is ε̂ at every step: the two agree only once β₂ᵗ ≈ 0; at step t PyTorch needs "
             "ε = ε̂/√(1 − β₂ᵗ), about 31.6·ε̂ at the first step with β₂ = 0.999",
             "你的 ε 每一步都等於 ε̂：只有當 β₂ᵗ ≈ 0 時兩者才一致；第 t 步 PyTorch 需要 ε = ε̂/√(1 − β₂ᵗ)，"
             "β₂ = 0.999 時第一步約為 31.6·ε̂"),
    "times_no_sqrt": ("you multiplied by 1 − β₂ᵗ: PyTorch's ε is ε̂/√(1 − β₂ᵗ)",
                      "你乘上了 1 − β₂ᵗ：PyTorch 的 ε 是 ε̂/√(1 − β₂ᵗ)"),
    "t_minus_1": ("your ε is that of step t − 1: the correction of step t uses 1 − β₂ᵗ",
                  "你的 ε 是第 t − 1 步的：第 t 步的修正用的是 1 − β₂ᵗ"),
    "t_plus_1": ("your ε is that of step t + 1: here t is already the step's number, 1 at the first step (the t "
                 "of the correction, after the increment), not the count passed to the step functions; do not add "
                 "1 to it, ε = ε̂/√(1 − β₂ᵗ)",
                 "你的 ε 是第 t + 1 步的：這裡的 t 已經是這一步的序號，第一步為 1（即修正裡用的、加一之後的 t），"
                 "而不是傳給單步函數的步數；不要再加 1，ε = ε̂/√(1 − β₂ᵗ)"),
    "beta_power": ("you used β₂ᵗ where 1 − β₂ᵗ belongs: ε = ε̂/√(1 − β₂ᵗ)",
                   "你用的是 β₂ᵗ，應該用 1 − β₂ᵗ：ε = ε̂/√(1 − β₂ᵗ)"),
}


def _torch_path_eps(w0, grads, lr, betas, eps_of_step) -> np.ndarray:
    """torch.optim.Adam with its eps set before step t to ``eps_of_step[t - 1]``."""
    return torch_path("Adam", w0, grads, np.full(len(grads), lr), schedule={"eps": eps_of_step}, betas=tuple(betas))


def _keras_cases():
    steps = 40
    return [((0.9, 0.999), 1e-7, 0.01, _gradients(61, steps, 4, 1e-6), "gradients of size 1e-6",
             "梯度量級為 1e-6"),
            ((0.8, 0.99), 1e-3, 0.05, _gradients(62, steps, 4, np.array([1e-3, 1e-2, 1.0, 10.0])),
             "gradients of sizes 1e-3 to 10", "梯度量級從 1e-3 到 10")]


def check_keras(keras_adam_step, torch_eps) -> None:
    """Exercise 7: ``keras_adam_step(w, g, m, v, t, lr, betas, epsilon)`` → ``(w, m, v, t)``, Keras's Adam, and
    ``torch_eps(epsilon, t, beta2)``, the eps with which ``torch.optim.Adam`` takes the same step t."""
    ex = "Exercise 7"
    for n, (betas, eps_hat, lr, grads, what, what_zh) in enumerate(_keras_cases()):
        w0 = np.random.default_rng(70 + n).standard_normal(grads.shape[1]) * 2.0
        setting = _setting(betas, eps_hat, lr, what, what_zh)
        setting = (setting[0].replace("eps =", "epsilon ="), setting[1].replace("eps =", "epsilon ="))
        got, history = _run(lambda w, g, s, t, lr_, b=tuple(betas), e=eps_hat:
                            call(keras_adam_step, w, g, s[0], s[1], t, lr_, b, e, exercise=ex, name="keras_adam_step"),
                            w0, 2, grads, np.full(len(grads), lr), "keras_adam_step", ("w", "m", "v", "t"))
        expected = keras_path(w0, grads, lr, betas, eps_hat)
        if not _agree(got, expected):
            diagnose(got, expected, w0, KERAS_MISTAKES,
                     simulator(keras_path, w0=w0, grads=grads, lr=lr, betas=tuple(betas), epsilon=eps_hat), setting,
                     KERAS_HINT)
    t = np.arange(1, 5001)
    for eps_hat, beta2 in ((1e-7, 0.999), (1e-3, 0.99)):
        head = (f"with epsilon = {_num(eps_hat)}, beta2 = {beta2:g}",
                f"在 epsilon = {_num(eps_hat)}、beta2 = {beta2:g} 時")
        with np.errstate(all="ignore"):
            out = call(torch_eps, eps_hat, t.copy(), beta2, exercise=ex, name="torch_eps", hints=_ARRAY_HINTS)
        got = as_array(out, "torch_eps(epsilon, t, beta2)")
        if got.shape != t.shape:
            fail(f"torch_eps returned shape {got.shape} for t of shape {t.shape}: return one eps per t",
                 f"t 的形狀是 {t.shape}，torch_eps 返回的形狀卻是 {got.shape}：每個 t 返回一個 eps")
        expected = torch_eps_variant(eps_hat, t, beta2)
        if _agree(got, expected, rtol=1e-9, atol=0.0):
            continue
        for key, (en, zh) in TORCH_EPS_MISTAKES.items():
            if _agree(got, torch_eps_variant(eps_hat, t, beta2, key), rtol=1e-9, atol=0.0):
                fail(f"{head[0]}: {en}", f"{head[1]}，{zh}")
        close(got, expected, f"torch_eps {head[0]}", rtol=1e-9, atol=0.0, what_zh=f"{head[1]}的 torch_eps")
    betas, eps_hat, lr, grads, *_ = _keras_cases()[0]
    w0 = np.linspace(-1.0, 1.0, grads.shape[1])
    eps_t = call(torch_eps, eps_hat, np.arange(1, len(grads) + 1), betas[1], exercise=ex, name="torch_eps")
    if not _agree(_torch_path_eps(w0, grads, lr, betas, eps_t), keras_path(w0, grads, lr, betas, eps_hat)):
        fail("torch.optim.Adam with eps = torch_eps(epsilon, t, beta2) at step t does not take Keras's steps",
             "在第 t 步令 eps = torch_eps(epsilon, t, beta2) 時，torch.optim.Adam 走出的步子與 Keras 的不同")
    passed(ex, "your Keras step matches the ε̂ form with epsilon = 1e-7 and 1e-3, and torch.optim.Adam with "
               "eps = torch_eps(epsilon, t, beta2) at step t takes the same steps",
           "你寫的 Keras 一步在 epsilon = 1e-7 和 1e-3 時都符合 ε̂ 寫法；"
           "在第 t 步令 eps = torch_eps(epsilon, t, beta2)，"
           "torch.optim.Adam 走出的步子與它相同")
