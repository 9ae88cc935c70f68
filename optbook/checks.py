"""Automatic checks for the labs: verdicts a student can act on, not bare assertion errors.

A lab's check cell calls a function of a ``lab_checks_NN`` module with the student's code. A
check that passes prints what was verified; a check that fails raises ``CheckFailed`` whose
message says what is wrong and what to try ("the gradient is B times too large: average the
loss over the batch"). Every message is bilingual: English first, then Chinese on the next
line. The machinery every lab reuses lives here:

* :func:`call` and :func:`student_code` run the student's code: an unfinished stub becomes
  "not done yet", and any other exception becomes a verdict naming the exception and the
  student's own line (the last frame of the traceback outside optbook and the libraries),
  with a hint for the common ones (``== None`` on an array, a batch indexed without its
  labels, a float given to ``range``, a DataLoader given ``sampler=``).
* :func:`iterate` consumes what a generator yields, with the same capture.
* :class:`Inputs` keeps copies of what a check passed in, to say which argument the student
  changed in place; :func:`no_alias` fails on a result that shares memory with an input.
* :func:`close` compares with a reference and names how they differ: a near miss ("right to
  about 7 digits: something is computed in float32", with enough digits printed to see the
  difference), a sign, a constant factor, or the worst entry; :func:`close_path` compares
  a sequence of iterates, and at the first step where they part compares the *step*
  w_k − w_{k−1}, so that the sign and factor diagnoses apply to it.

Each lab's own checks are written with the lab, on top of these helpers, and
tests/test_lab_checks*.py prove every check real: it must fail on the lab's stub, fail with
its diagnostic on typical wrong answers, and pass on the solution and on correct
alternatives.
"""

from __future__ import annotations

import copy
import re
import sys
import sysconfig
import traceback
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path

import numpy as np


class CheckFailed(AssertionError):
    """A lab check failed; the message (English, then Chinese) tells the student what to fix."""

    def __init__(self, en: str, zh: str | None = None):
        self.en, self.zh = en, zh
        super().__init__(en if zh is None else f"{en}\n{zh}")


def fail(en: str, zh: str) -> None:
    """Raise the bilingual verdict ``en`` / ``zh``."""
    raise CheckFailed(en, zh)


def exercise_zh(exercise: str) -> str:
    """"Exercise 3" → "練習 3"."""
    return re.sub(r"^Exercise\b", "練習", exercise)


def passed(exercise: str, what_en: str, what_zh: str | None = None) -> None:
    """The lines a passing check prints: English, then Chinese."""
    print(f"✓ {exercise}: {what_en}")
    if what_zh is not None:
        print(f"✓ {exercise_zh(exercise)} 通過：{what_zh}")


# ---------------------------------------------------------------- running the student's code
_OPTBOOK = str(Path(__file__).resolve().parent)
_LIBRARIES = tuple(
    {str(Path(p).resolve()) for key in ("stdlib", "platstdlib", "purelib", "platlib")
     if (p := sysconfig.get_paths().get(key))}
    | {str(Path(sys.prefix).resolve()), str(Path(sys.base_prefix).resolve())}
)


def _is_library(filename: str) -> bool:
    try:
        path = str(Path(filename).resolve())
    except (OSError, ValueError):  # pragma: no cover - an unusual name
        return False
    return "site-packages" in path or "dist-packages" in path or path.startswith(_LIBRARIES)


def _in_optbook(filename: str) -> bool:
    try:
        return str(Path(filename).resolve()).startswith(_OPTBOOK)
    except (OSError, ValueError):  # pragma: no cover
        return False


def student_frame(tb) -> traceback.FrameSummary | None:
    """The frame of the student's own code where an exception arose: the last frame of the
    traceback outside optbook and outside the installed libraries (None if there is none)."""
    frames = [f for f in traceback.extract_tb(tb) if not _in_optbook(f.filename) and not _is_library(f.filename)]
    return frames[-1] if frames else None


Hint = tuple[Callable[[BaseException, str], bool], str, str]


def _message(e: BaseException) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else ""


HINTS: list[Hint] = [
    (lambda e, line: isinstance(e, ValueError) and "truth value of an array" in str(e)
     and re.search(r"[=!]=\s*None", line) is not None,
     "`== None` compares an array element by element; test for None with `is None` (or `is not None`)",
     "對數組用 `== None` 會逐元素比較；判斷是否為 None 要寫 `is None`（或 `is not None`）"),
    (lambda e, line: isinstance(e, ValueError) and "truth value of an array" in str(e),
     "an `if`, `and`, `or` or `not` was applied to an array: test for None with `is None`, and reduce an array "
     "with np.any or np.all",
     "對數組用了 `if`、`and`、`or` 或 `not`。判斷 None 要用 `is None`；數組要先用 np.any 或 np.all 化成一個布爾值"),
    (lambda e, line: isinstance(e, ValueError) and ("Using a target size" in str(e)
                                                          or re.search(r"Target size .* must be the same", str(e))),
     "the batch reached the loss with an extra dimension: with `sampler=` the DataLoader takes each index array "
     "as one example and batches them again; give the list of index arrays as `batch_sampler=`",
     "批量進入損失函數時多了一維。用 `sampler=` 時，DataLoader 把每個索引數組當作一個樣本，又再組一次批；"
     "索引數組的列表應該傳給 `batch_sampler=`"),
    (lambda e, line: isinstance(e, ValueError) and "broadcast" in str(e),
     "two arrays of different lengths meet: if one of them is a batch X[idx], index the labels with the same "
     "indices too, y[idx]",
     "兩個數組長度不同，無法一起運算。如果其中一個是批量 X[idx]，標籤也要用同一組索引取出，即 y[idx]"),
    (lambda e, line: isinstance(e, ValueError) and "matmul" in str(e),
     "the shapes of a matrix product do not match: print the shapes of both sides (X is B×d, w has length d)",
     "矩陣乘法兩邊的形狀對不上。把兩邊的 shape 打印出來看看（X 是 B×d，w 的長度是 d）"),
    (lambda e, line: isinstance(e, TypeError) and "cannot be interpreted as an integer" in str(e),
     "range() wants integers: check the order of its arguments, range(start, stop, step), e.g. "
     "range(0, n, batch_size), and use // rather than / for a count",
     "range() 只接受整數。請檢查參數的順序 range(start, stop, step)，例如 range(0, n, batch_size)；"
     "求個數要用 // 而不是 /"),
    (lambda e, line: isinstance(e, IndexError),
     "an index is out of range or has the wrong type: batch indices are integers in 0..n−1",
     "索引越界或類型不對。批量的索引應該是 0..n−1 之間的整數"),
    (lambda e, line: isinstance(e, (ValueError, TypeError)) and "math domain error" in str(e),
     "a real square root (or log) of a negative number: use a complex square root, np.sqrt(complex(x)) or "
     "cmath.sqrt",
     "對負數取了實數平方根（或對數）。請改用複數平方根，即 np.sqrt(complex(x)) 或 cmath.sqrt"),
    (lambda e, line: isinstance(e, RuntimeError) and "Found dtype" in str(e),
     "two tensors of different dtypes meet: make the data and the model both torch.float64",
     "兩個張量的 dtype 不同，無法一起運算。請把數據和模型都設成 torch.float64"),
    (lambda e, line: isinstance(e, RuntimeError) and "does not require grad" in str(e),
     "backward() found no parameter in the graph: compute the loss from the model's output",
     "backward() 在計算圖中找不到參數。損失要由模型的輸出算出來"),
    (lambda e, line: isinstance(e, NameError),
     "a name is not defined: run the cells above this one first, and check the spelling",
     "有名稱未定義。請先運行上面的單元，並檢查拼寫"),
]


def student_error(e: BaseException, name: str, hints: Iterable[Hint] = ()) -> CheckFailed | None:
    """The verdict for an exception raised inside the student's code (None if no frame of the
    traceback is the student's: then the exception is the check's own and is not disguised)."""
    frame = student_frame(e.__traceback__)
    if frame is None:
        return None
    line = (frame.line or "").strip()
    kind, text = type(e).__name__, _message(e)
    where_en = f"line {frame.lineno} of {frame.name}" + (f": `{line}`" if line else "")
    where_zh = f"{frame.name} 的第 {frame.lineno} 行" + (f"：`{line}`" if line else "")
    en = f"{name} raised {kind}" + (f" ({text})" if text else "") + f" in {where_en}"
    zh = f"{name} 拋出了 {kind}" + (f"（{text}）" if text else "") + f"，出錯的是 {where_zh}"
    for matches, hint_en, hint_zh in [*hints, *HINTS]:
        if matches(e, line):
            return CheckFailed(f"{en}. Hint: {hint_en}", f"{zh}。提示：{hint_zh}。")
    return CheckFailed(f"{en}. Read that line: the error is in your code, not in the check",
                       f"{zh}。看看這一行：錯誤出在你的代碼裡，而不是檢查裡。")


def not_done(exercise: str, e: BaseException) -> CheckFailed:
    return CheckFailed(
        f"{exercise} is not done yet: replace the line `raise NotImplementedError(...)` with your code. Hint: {e}",
        f"{exercise_zh(exercise)} 還沒有完成：把 `raise NotImplementedError(...)` 這一行換成你的代碼。提示：{e}",
    )


@contextmanager
def student_code(exercise: str, name: str, hints: Iterable[Hint] = ()):
    """Run the block as the student's code: a stub says "not done yet", an exception says where."""
    try:
        yield
    except CheckFailed:
        raise
    except NotImplementedError as e:
        raise not_done(exercise, e) from None
    except Exception as e:
        verdict = student_error(e, name, hints)
        if verdict is None:
            raise
        raise verdict from None


def call(fn: Callable, *args, exercise: str, name: str | None = None, hints: Iterable[Hint] = (), **kwargs):
    """Call the student's ``fn``: an unfinished stub or an exception becomes a clear verdict."""
    with student_code(exercise, name or getattr(fn, "__name__", "your function"), hints):
        return fn(*args, **kwargs)


def iterate(out, exercise: str, name: str, what_en: str, what_zh: str, hints: Iterable[Hint] = ()) -> list:
    """Everything ``out`` (a generator or a list) yields; an exception inside it becomes a verdict.

    Only ``iter(out)`` is tested for a TypeError: an error raised by the code inside the
    generator is reported as what it is, with the student's line.
    """
    if out is None:
        fail(f"{name} returned None: {what_en}", f"{name} 返回了 None：{what_zh}")
    try:
        it = iter(out)
    except TypeError:
        fail(f"{name} returned a {type(out).__name__}, which cannot be iterated over: {what_en}",
             f"{name} 返回的是 {type(out).__name__}，無法迭代：{what_zh}")
    items = []
    with student_code(exercise, name, hints):
        for item in it:
            items.append(item)
            if len(items) > 100_000:  # pragma: no cover - an endless generator
                fail(f"{name} yields without end: stop after one pass over the data",
                     f"{name} 沒完沒了地 yield：走完一遍數據就應該停下")
    return items


# ---------------------------------------------------------------- inputs kept, aliasing
def _torch_tensor(value) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def snapshot(value):
    """A deep copy of ``value`` (arrays, tensors, and lists, tuples or dicts of them)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if _torch_tensor(value):
        return value.detach().clone()
    if isinstance(value, (list, tuple)):
        return type(value)(snapshot(v) for v in value)
    if isinstance(value, dict):
        return {k: snapshot(v) for k, v in value.items()}
    try:
        return copy.deepcopy(value)
    except Exception:  # pragma: no cover - an object that cannot be copied is not compared
        return value


def same(a, b) -> bool:
    """Whether ``a`` still equals its snapshot ``b`` exactly (NaN equal to NaN)."""
    if isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))
    if _torch_tensor(b):
        return a.shape == b.shape and bool(np.array_equal(a.detach().numpy(), b.numpy(), equal_nan=True))
    if isinstance(b, (list, tuple)):
        return isinstance(a, (list, tuple)) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(b, dict):
        return isinstance(a, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in b)
    try:
        return bool(a == b)
    except Exception:  # pragma: no cover
        return True


class Inputs:
    """The arguments a check passes to the student's function, with copies to compare against.

    ``Inputs(w0=w0, X=X).untouched("gd")`` fails if ``gd`` changed ``w0`` or ``X`` in place,
    naming the argument and the usual fix (start from a copy).
    """

    def __init__(self, **named):
        self.named = named
        self.before = {k: snapshot(v) for k, v in named.items()}

    def untouched(self, fn_name: str, fix_en: str | None = None, fix_zh: str | None = None, at: str = "",
                  at_zh: str | None = None) -> None:
        """``at`` (" at step 3") and ``at_zh`` ("（第 3 步）") say where, in each language; by default
        the Chinese line leaves ``at`` out rather than put English into it."""
        where_zh = at_zh if at_zh is not None else ""
        for k, v in self.named.items():
            if not same(v, self.before[k]):
                fail(f"{fn_name} changed its argument {k} in place{at}: the caller still needs it. "
                     + (fix_en or f"Work on a copy (e.g. {k} = np.array({k}, dtype=float)) or write "
                                  f"`{k} = {k} - …` instead of `{k} -= …`"),
                     f"{fn_name} 原地修改了傳入的參數 {k}{where_zh}，可調用者之後還要用它。"
                     + (fix_zh or f"先複製一份（例如 {k} = np.array({k}, dtype=float)），或寫成 `{k} = {k} - …`，"
                                  f"不要寫 `{k} -= …`"))


def shares_memory(a, b) -> bool:
    """Whether two arrays (or tensors) share memory."""
    a = a.detach().numpy() if _torch_tensor(a) else a
    b = b.detach().numpy() if _torch_tensor(b) else b
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
        return False
    return bool(np.may_share_memory(a, b) and np.shares_memory(a, b, max_work=10**6))


def no_alias(result, what: str, inputs: dict, why_en: str, why_zh: str) -> None:
    """Fail if ``result`` shares memory with one of ``inputs`` (name → array), saying which and why it matters."""
    for name, value in inputs.items():
        if shares_memory(result, value):
            fail(f"{what} is the array {name} itself (they share memory): {why_en}",
                 f"{what} 就是 {name} 這個數組本身（兩者共用內存）：{why_zh}")


# ---------------------------------------------------------------- comparisons
def as_array(value, what: str) -> np.ndarray:
    """``value`` as a float array, or a verdict saying what came back instead."""
    if value is None:
        fail(f"{what} returned None: did you forget the `return` statement?",
             f"{what} 返回了 None：是不是忘了寫 `return`？")
    if _torch_tensor(value) and value.ndim == 0:
        fail(f"{what} returned a torch tensor of one number (0-d): return the number itself, float(t) or t.item()",
             f"{what} 返回的是只含一個數的 torch 張量（0 維）：請返回這個數本身，即 float(t) 或 t.item()")
    if _torch_tensor(value):
        fail(f"{what} returned a torch tensor: return a NumPy array, e.g. t.detach().numpy()",
             f"{what} 返回的是 torch 張量：請返回 NumPy 數組，例如 t.detach().numpy()")
    if np.iscomplexobj(value):
        fail(f"{what} returned complex numbers: return real numbers (the modulus np.abs(z) where a size is meant)",
             f"{what} 返回了複數：應該返回實數（要的是大小時取模 np.abs(z)）")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        fail(f"{what} should be an array of numbers, got {type(value).__name__}",
             f"{what} 應該返回一個數值數組，實際得到的是 {type(value).__name__}")
    return arr


def same_shape(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    if actual.shape != expected.shape:
        fail(f"{what} has shape {actual.shape}, expected {expected.shape}",
             f"{what} 的形狀是 {actual.shape}，應該是 {expected.shape}")


def ratio(actual: np.ndarray, expected: np.ndarray) -> float | None:
    """The constant c with actual ≈ c · expected, if there is one (else None)."""
    denom = float(np.vdot(expected, expected))
    if denom == 0.0:
        return None
    c = float(np.vdot(actual, expected)) / denom
    if np.allclose(actual, c * expected, rtol=1e-6, atol=1e-12 * max(1.0, float(np.max(np.abs(expected))))):
        return c
    return None


def distinct(a: float, b: float) -> tuple[str, str]:
    """``a`` and ``b`` printed with the fewest significant digits (at least 6) that tell them apart."""
    for p in range(6, 18):
        sa, sb = f"{a:#.{p}g}", f"{b:#.{p}g}"
        if sa != sb:
            return (sa, sb) if p > 6 else (f"{a:.6g}", f"{b:.6g}")
    return repr(float(a)), repr(float(b))


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    err = float(np.max(np.abs(actual - expected))) if expected.size else 0.0
    return err / scale if scale > 0 else (np.inf if err > 0 else 0.0)


def _subject_zh(zh: str) -> str:
    """The Chinese subject of a message, followed by a space only after Latin text: 「w 只有」, 「（…）只有」."""
    return zh + ("" if not zh or not zh[-1].isascii() else " ")


def near_miss(actual: np.ndarray, expected: np.ndarray, what: str, what_zh: str | None = None) -> None:
    """Fail with "right to about n digits" if ``actual`` agrees with ``expected`` to 1e-3 relative but no better."""
    rel = relative_error(actual, expected)
    if not 0 < rel < 1e-3:
        return
    zh = _subject_zh(what_zh or what)
    worst = int(np.argmax(np.abs(actual - expected)))
    index = tuple(int(i) for i in np.unravel_index(worst, expected.shape)) if expected.shape else ()
    a, e = distinct(float(actual.flat[worst]), float(expected.flat[worst]))
    at_en = f" (at index {index} you have {a}, expected {e})" if index else f" (you have {a}, expected {e})"
    at_zh = f"（在索引 {index} 處你的是 {a}，應為 {e}）" if index else f"（你的是 {a}，應為 {e}）"
    digits = int(round(-np.log10(rel)))
    if rel > 1e-9 and rel < 1e-4:
        fail(f"{what} is right to about {digits} digits: something is computed in float32{at_en}. Compute in "
             "float64 (np.float64, torch.float64; torch.tensor of float32 data stays float32)",
             f"{zh}只有約 {digits} 位有效數字是對的{at_zh}，可見有某一步是用 float32 算的。請全部用 float64 計算"
             "（np.float64、torch.float64；由 float32 數據建的 torch.tensor 仍是 float32）。")
    fail(f"{what} is right to about {digits} digits only{at_en}: that is not round-off but a small term missing, "
         "extra or slightly off",
         f"{zh}只有約 {digits} 位有效數字是對的{at_zh}。這不是捨入誤差，而是少了、多了或算錯了一個小項。")


def close(actual, expected, what: str, rtol: float = 1e-7, atol: float = 1e-10, what_zh: str | None = None) -> None:
    """Fail unless ``actual`` equals ``expected`` to the tolerance, saying how it differs.

    A near miss (float32) is named first; then a result off by a constant factor (a sign, a
    missing 1/B, a factor 2), since that is the most common mistake and the easiest to fix
    once named; otherwise the worst entry, printed with digits enough to tell the numbers apart.
    """
    zh = _subject_zh(what_zh or what)
    a = as_array(actual, what)
    e = np.asarray(expected, dtype=float)
    same_shape(a, e, what)
    if not np.all(np.isfinite(a)):
        fail(f"{what} contains NaN or infinity: look for a division by zero, an overflow, or the square root or "
             "log of a negative number",
             f"{zh}含有 NaN 或無窮大：檢查有沒有除以零、溢出，或對負數開平方、取對數")
    if np.allclose(a, e, rtol=rtol, atol=atol):
        return
    near_miss(a, e, what, what_zh)
    c = ratio(a, e)
    if c is not None:
        if np.isclose(c, -1.0):
            fail(f"{what} has the wrong sign: check the direction of the step or of the derivative",
                 f"{zh}的符號反了：請檢查步子的方向或導數的方向")
        if np.isclose(c, 0.0):
            fail(f"{what} is zero where it should not be", f"{zh}是零，但它不應該是零")
        fail(f"{what} is {c:.4g} times the expected value: look for a missing or extra factor",
             f"{zh}是正確值的 {c:.4g} 倍：找找是少了還是多了某個因子")
    if e.shape == ():
        a_s, e_s = distinct(float(a), float(e))
        fail(f"{what} differs from the expected value: you have {a_s}, expected {e_s}",
             f"{zh}與正確值不同：你的是 {a_s}，應為 {e_s}")
    worst = int(np.argmax(np.abs(a - e)))
    index = tuple(int(i) for i in np.unravel_index(worst, e.shape))
    a_s, e_s = distinct(float(a.flat[worst]), float(e.flat[worst]))
    fail(f"{what} differs from the expected value: at index {index} you have {a_s}, expected {e_s}",
         f"{zh}與正確值不同：在索引 {index} 處你的是 {a_s}，應為 {e_s}")


def agrees(a, b, rtol: float = 1e-9, atol: float = 1e-12) -> bool:
    """Whether two arrays have the same shape and agree to the tolerance."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def close_path(got: np.ndarray, expected: np.ndarray, start, setting_en: str, setting_zh: str | None = None,
               name: str = "w", rtol: float = 1e-9, atol: float = 1e-12) -> None:
    """Compare iterates ``got[k]`` with ``expected[k]`` (k = 0 is the first step from ``start``).

    At the first step where they part, the student's step ``got[k] − got[k−1]`` is compared
    with the expected step from the same point, so a step of the wrong sign or off by a factor
    is named as such; then the iterate itself.
    """
    zh = setting_zh or setting_en
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    for k in range(len(expected)):
        if not agrees(got[k], expected[k], rtol, atol):
            prev = np.asarray(start, dtype=float) if k == 0 else expected[k - 1]
            step, ref = got[k] - prev, expected[k] - prev
            if np.all(np.isfinite(step)) and np.any(ref != 0):
                close(step, ref, f"the step {name}_{k + 1} − {name}_{k} ({setting_en})", rtol=1e-6,
                      atol=atol * 10, what_zh=f"第 {k + 1} 步的步子 {name}_{k + 1} − {name}_{k}（{zh}）")
            close(got[k], expected[k], f"{name} after step {k + 1} ({setting_en})", rtol=rtol, atol=atol,
                  what_zh=f"第 {k + 1} 步後的 {name}（{zh}）")
    close(got, expected, f"the iterates ({setting_en})", rtol=rtol, atol=atol, what_zh=f"迭代點（{zh}）")


def torch_path(name: str, w0, grads, lrs, schedule: dict | None = None, **kwargs) -> np.ndarray:
    """The iterates of ``torch.optim.<name>([w], **kwargs)`` from ``w0`` fed ``grads`` in float64, with
    ``lr = lrs[k]`` at step ``k``: the reference a lab's check compares the student's run with.
    ``schedule`` changes other hyper-parameters the same way: ``{"eps": values}`` sets eps to
    ``values[k]`` before step ``k``."""
    import torch

    p = torch.tensor(np.array(w0, dtype=float), requires_grad=True)
    opt = getattr(torch.optim, name)([p], lr=float(lrs[0]), **kwargs)
    path = []
    for k, (g, lr) in enumerate(zip(grads, lrs)):
        opt.param_groups[0]["lr"] = float(lr)
        for key, values in (schedule or {}).items():
            opt.param_groups[0][key] = float(values[k])
        p.grad = torch.tensor(np.array(g, dtype=float))
        opt.step()
        path.append(p.detach().numpy().copy())
    return np.array(path)


# ---------------------------------------------------------------- functional steps (Labs 3 and 4)
# A functional step takes the parameters w, the gradient g, the state arrays (and, in Lab 4, the step
# count t) and returns the new w, the new states (and t + 1); the caller passes them back at the next step.
def agree(a, b, rtol: float = 1e-9, atol: float = 1e-12) -> bool:
    """Same shape and equal to the tolerance, NaN equal to NaN (a simulated mistake may produce NaN too);
    False for what is not an array of numbers."""
    try:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))


def num(x: float) -> str:
    """A hyper-parameter as the labs write it: 0.9, 0.001, 1e-8 (not 1e-08 or 0.0001)."""
    return f"{x:.0e}".replace("e-0", "e-") if 0 < x < 1e-3 else f"{x:g}"


def fixed(arg: str, given, constants, use: tuple[str, str], sym: str | None = None) -> dict:
    """Mistakes: the argument ``arg`` ignored for a constant written into the code, one entry per constant.

    The key ``("fixed", arg, c)`` tells :func:`simulator` to run with ``arg = c``; ``use`` says, in
    both languages, what to use instead ("the argument eps", "self.eps"); ``sym`` is the symbol the
    verdict names (ε for eps). A constant may be a number or a tuple (betas).
    """
    sym = sym or arg
    out = {}
    for c in constants:
        if c != given:
            shown, shown_given = ((str(tuple(c)), str(tuple(given))) if isinstance(c, tuple)
                                  else (num(c), num(given)))
            out[("fixed", arg, c)] = (
                f"the {arg} passed in is not used: your steps are those of {sym} = {shown}, a constant written "
                f"into your code, while this run passed {arg} = {shown_given}. Use {use[0]}",
                f"傳入的 {arg} 沒有用上：你的步子對應的是 {sym} = {shown}，一個寫死在代碼裡的常數，"
                f"而這次運行傳入的是 {arg} = {shown_given}。請使用{use[1]}")
    return out


def simulator(path: Callable, **kwargs) -> Callable:
    """``simulate(m)``: ``path(mistake=m, **kwargs)``, or, for a key ``("fixed", arg, value)`` of
    :func:`fixed`, ``path(**kwargs)`` with that one argument replaced."""
    def simulate(m):
        if isinstance(m, tuple) and m[0] == "fixed":
            return path(**{**kwargs, m[1]: m[2]})
        return path(mistake=m, **kwargs)
    return simulate


def remind(e: CheckFailed, hint: tuple[str, str]) -> None:
    """Fail with the verdict ``e`` followed by ``hint``, the update to compare with."""
    fail(f"{e.en.rstrip('. ')}. {hint[0]}", f"{(e.zh or e.en).rstrip('。 ')}。{hint[1]}")


def unpack(out, name: str, names: tuple[str, ...]):
    """``out`` if it is a tuple (or list) of the ``len(names)`` items ``names``, else the verdict."""
    ret = "(" + ", ".join(names) + ")"
    if out is None:
        fail(f"{name} returned None: did you forget the `return` statement? Return {ret}",
             f"{name} 返回了 None：是不是忘了寫 `return`？應返回 {ret}")
    if not isinstance(out, (tuple, list)):
        fail(f"{name} should return {ret}, got a single {type(out).__name__}",
             f"{name} 應返回 {ret}，實際只得到一個 {type(out).__name__}")
    if len(out) != len(names):
        fail(f"{name} should return the {len(names)} items {ret}, got {len(out)}",
             f"{name} 應返回 {ret} 這 {len(names)} 項，實際得到 {len(out)} 項")
    return out


def kept(name: str, arg: str, before, now, k: int, fix: tuple[str, str]) -> None:
    """Fail if the argument ``arg`` no longer equals its copy ``before`` after step ``k``."""
    if not same(now, before):
        fail(f"{name} changed its argument {arg} in place at step {k}: {fix[0]}",
             f"第 {k} 步 {name} 原地修改了傳入的參數 {arg}：{fix[1]}")


def step_count(t, k: int, name: str) -> None:
    """The step count a functional step returned after step ``k`` (the caller passed ``k − 1``) must be ``k``."""
    import numbers

    if isinstance(t, np.ndarray) and t.shape == ():
        t = t.item()
    if isinstance(t, bool) or not isinstance(t, numbers.Real) or t != int(t):
        fail(f"{name} returned t = {t!r} at step {k}: t is the number of steps taken, an integer; after this step "
             f"it is {k}. Return t + 1, last",
             f"第 {k} 步 {name} 返回的 t 是 {t!r}：t 是已走的步數，應是整數；走完這一步應是 {k}。"
             "請把 t + 1 作為返回值的最後一項")
    if int(t) == k - 1:
        fail(f"the step counter is never incremented: {name} returned the t passed in (t = {k - 1} at step {k}), so "
             "the caller passes it back unchanged and your bias correction stays at that of t = 1 (the slip of a "
             "well-known textbook's TensorFlow Adam). Increment it first, t = t + 1, correct with 1 − βᵗ, and "
             "return the new t",
             f"步數計數器從來沒有增加：{name} 返回的是傳進來的 t（第 {k} 步時 t = {k - 1}），調用者原樣傳回，"
             "你的偏差修正就一直停在 t = 1 時的值（一本知名教材的 TensorFlow 版 Adam 就是這樣）。"
             "請先加一，t = t + 1，用 1 − βᵗ 修正，再返回新的 t")
    if int(t) != k:
        fail(f"{name} returned t = {int(t)} after step {k}: t counts the steps taken, so after step {k} it is {k} "
             "(the caller passes 0 at the first step; add 1 once per call)",
             f"第 {k} 步後 {name} 返回的 t 是 {int(t)}：t 數的是已走的步數，第 {k} 步後應是 {k}"
             "（第一步時調用者傳入 0；每次調用加 1，只加一次）")


def run_steps(one: Callable, w0, states0, grads, lrs, name: str, names: tuple[str, ...],
              fixes: tuple[tuple[str, str], tuple[str, str]], alias_fix: tuple[str, str] = ("return a new array",
                                                                                          "請返回一個新數組"),
              counted: bool = False, on_return: Callable | None = None, on_states: Callable | None = None):
    """Feed ``grads`` to a functional step and return its iterates and the states after each step.

    ``one(w, g, states, lr)`` returns ``(w, *states)``; with ``counted`` it is ``one(w, g, states, t, lr)``
    returning ``(w, *states, t + 1)``, t = 0 at the first call, and the count returned is checked
    (:func:`step_count`). ``names`` names the returned items. The gradient array itself is passed and
    kept, so that changing it in place is caught, as is changing w in place (``fixes`` says what to do
    instead, for w and for g) or returning a state that is g itself (``alias_fix``, in which ``{s}``
    stands for the state's name). The states a step returns are passed back unchanged at the next step
    (updating them in place is the student's right). ``on_return(k, out)`` runs on what step k returned,
    before anything else is checked; ``on_states(k, w, states, given)`` once w and the states are
    arrays of the right shape (``given``: the states passed in).
    """
    shape = np.shape(w0)
    w = np.array(w0, dtype=float)
    states = [np.array(s, dtype=float) for s in states0]
    state_names = names[1:-1] if counted else names[1:]
    t, path, history = 0, [], []
    for k, (g, lr) in enumerate(zip(grads, lrs), start=1):
        g = np.array(g, dtype=float)
        w_in = w.copy()
        given = [s.copy() for s in states]
        w_before, g_before = snapshot(w_in), snapshot(g)
        with np.errstate(all="ignore"):
            out = one(w_in, g, tuple(states), t, float(lr)) if counted else one(w_in, g, tuple(states), lr)
        out = unpack(out, name, names)
        if on_return is not None:
            on_return(k, out)
        kept(name, "w", w_before, w_in, k, fixes[0])
        kept(name, "g", g_before, g, k, fixes[1])
        for s_name, s in zip(state_names, out[1:]):
            if s is not None and shares_memory(s, g):
                fail(f"at step {k} the {s_name} that {name} returned is the gradient array g itself (they share "
                     f"memory): {alias_fix[0].format(s=s_name)}",
                     f"第 {k} 步 {name} 返回的 {s_name} 就是梯度數組 g 本身（兩者共用內存）："
                     f"{alias_fix[1].format(s=s_name)}")
        if shares_memory(out[0], g):
            fail(f"at step {k} the w that {name} returned is the gradient array g itself: return a new array",
                 f"第 {k} 步 {name} 返回的 w 就是梯度數組 g 本身：請返回一個新數組")
        w = as_array(out[0], f"the w that {name} returned at step {k}")
        if w.shape != shape:
            fail(f"at step {k} {name} returned w of shape {w.shape}, expected {shape}",
                 f"第 {k} 步 {name} 返回的 w 形狀是 {w.shape}，應為 {shape}")
        new = []
        for s_name, s in zip(state_names, out[1:]):
            if s is None:
                fail(f"{name} returned {s_name} = None at step {k}: return the updated {s_name}; the caller passes "
                     "it back to you at the next step",
                     f"第 {k} 步 {name} 返回的 {s_name} 是 None：請返回更新後的 {s_name}，調用者下一步會把它傳回給你")
            s = as_array(s, f"the {s_name} that {name} returned at step {k}")
            if s.shape != shape:
                fail(f"at step {k} {name} returned {s_name} of shape {s.shape}, expected {shape}",
                     f"第 {k} 步 {name} 返回的 {s_name} 形狀是 {s.shape}，應為 {shape}")
            new.append(s)
        if counted:
            step_count(out[-1], k, name)
            t = k
        states = new
        if on_states is not None:
            on_states(k, w, states, given)
        path.append(w.copy())
        history.append([s.copy() for s in states])
    return np.array(path), history


def diagnose(got, expected, start, mistakes: dict, simulate: Callable, setting: tuple[str, str],
             hint: tuple[str, str], variants: dict | None = None, then: Callable | None = None) -> None:
    """At a path that is not the expected one: the first simulated mistake it equals, else where it parts.

    ``mistakes`` maps a mistake to its verdict (English, Chinese); ``simulate(m)`` is the path with
    mistake ``m`` (see :func:`simulator`), and ``variants`` lists, for a mistake written in several
    ways, the simulations that share its verdict. ``then()``, if given, runs when no mistake matched
    (a lab's own diagnoses, such as a wrong state). Otherwise the verdict of :func:`close_path`
    (where the run parts, and how: a sign, a factor, the worst entry) is followed by ``hint``, the
    update to compare with, except for a near miss in float32, which says all there is to say.
    """
    variants = variants or {}
    for key, (en, zh) in mistakes.items():
        if any(agree(got, simulate(m)) for m in variants.get(key, (key,))):
            fail(f"with {setting[0]}: {en}", f"在 {setting[1]} 時，{zh}")
    if then is not None:
        then()
    try:
        close_path(got, expected, start, *setting)
    except CheckFailed as e:
        if "float32" in e.en:
            raise
        remind(e, hint)
