"""Proof that every check of Lab 5 (schedules and clipping from scratch) is real.

As tests/test_lab_checks_03.py and _04.py do for Labs 3 and 4: for every exercise the check must
(a) fail on the stub of the generated lab notebook (the cell's source as `make labs` wrote it),
(b) fail on each of at least eight typical wrong answers with *its* diagnostic message, asserted
    by a phrase of the English line and a phrase of the Chinese line,
(c) pass on the solution (the cell's source in the solutions notebook) and on two correct but
    differently written answers.
The simulated mistakes the checks compare against are proven too: without a mistake they are
PyTorch itself (SequentialLR, clip_grad_norm_, the whole batch's gradient, a run never
interrupted), and each mistake differs from it on the inputs of its check.
"""

from __future__ import annotations

import copy
import itertools
import math

import labkit
import numpy as np
import pytest
import torch

from optbook import lab_checks_05 as lab5
from optbook.checks import CheckFailed, agree

from helpers import ROOT, load, markdown

LAB5 = "05-schedules.ipynb"
ALL = ["warmup_cosine", "clip_grad_norm", "accumulate_gradients", "save_checkpoint", "train"]


def _namespace(folder: str) -> dict:
    return labkit.namespace(LAB5, folder, ALL, {"np": np, "torch": torch, "math": math})


SOL = _namespace("solutions")


@pytest.fixture(scope="module")
def stub():
    return _namespace("labs")


# ---------------------------------------------------------------- Exercise 1: warmup_cosine
def _sched(first=0, s_used=None, w_div=None, shift=True, span_total=False, half=True, floor=True, degrees=False,
           span_less=0):
    """A configurable warm-up and cosine, to write the mistakes with."""
    def warmup_cosine(step, peak, warmup, total, start_factor=0.1, eta_min=0.0):
        k = step + first
        s = start_factor if s_used is None else s_used
        if k < warmup:
            frac = k / warmup if w_div is None else min(1.0, k / (warmup + w_div))
            return peak * (s + (1 - s) * frac)
        m = eta_min if floor else 0.0
        t = (k - warmup if shift else k) / ((total if span_total else total - warmup) - span_less)
        c = math.cos(t if degrees else math.pi * t)
        return m + (peak - m) * ((1 + c) / 2 if half else c)
    return warmup_cosine


def sched_none(step, peak, warmup, total, start_factor=0.1, eta_min=0.0):
    if step < warmup:
        rate = peak * (start_factor + (1 - start_factor) * step / warmup)
    else:
        rate = eta_min + (peak - eta_min) * (1 + math.cos(math.pi * (step - warmup) / (total - warmup))) / 2  # noqa: F841


def sched_all(step, peak, warmup, total, start_factor=0.1, eta_min=0.0):
    return [_sched()(k, peak, warmup, total, start_factor, eta_min) for k in range(total)]


SCHED_WRONG = [
    (_sched(first=1), r"one step early: at step k you return the rate of step k \+ 1", "整體提前了一步"),
    (_sched(s_used=0.0), r"your warm-up starts at 0", "你的預熱從 0 開始"),
    (_sched(w_div=-1), r"reaches the peak one step early, at step warmup − 1", "提前一步到達峰值"),
    (_sched(shift=False), r"your cosine is not shifted by the warm-up", "沒有按預熱平移"),
    (_sched(span_total=True), r"your cosine lasts total steps instead of total − warmup: it ends far above eta_min, "
     r"at step total − 1 it is still at 0\.0214, where torch's schedule is at 0\.00208",
     "第 total − 1 步還在 0.0214，而 torch 的調度這時是 0.00208"),
    (_sched(span_less=1), r"your cosine lasts total − warmup − 1 steps: it lands on eta_min at the last step",
     "最後一步 k = total − 1 正好落在 eta_min 上"),
    (_sched(shift=False, span_total=True), r"your cosine runs over the whole run, cos\(π·k/total\)",
     "你的餘弦覆蓋了整個訓練"),
    (_sched(half=False), r"not mapped onto \[eta_min, peak\]", "沒有映射到"),
    (_sched(floor=False), r"eta_min is ignored: your cosine falls to 0", "eta_min 被忽略了"),
    (_sched(degrees=True), r"at step \d+ \(cosine phase\) your rate is [\d.]+, expected [\d.]+\. The rate at step k",
     "（餘弦階段）你的學習率是"),
    (sched_none, r"warmup_cosine returned None at step 0", "返回了 None"),
    (sched_all, r"warmup_cosine returned 20 numbers at step 0", "返回了 20 個數"),
]


def sched_alt_branchless(step, peak, warmup, total, start_factor=0.1, eta_min=0.0):
    warm = peak * (start_factor + (1 - start_factor) * min(step, warmup) / warmup)
    t = max(step - warmup, 0) / (total - warmup)
    cos = eta_min + 0.5 * (peak - eta_min) * (1 + np.cos(np.pi * t))
    return np.float64(warm if step < warmup else cos)


def sched_alt_torch(step, peak, warmup, total, start_factor=0.1, eta_min=0.0):
    return float(lab5.torch_rates(peak, warmup, total, start_factor, eta_min, steps=step + 1)[-1])


def sched_alt_tensor(step, peak, warmup, total, start_factor=0.1, eta_min=0.0):
    """A 0-d float64 torch tensor is a number too."""
    return torch.tensor(SOL["warmup_cosine"](step, peak, warmup, total, start_factor, eta_min), dtype=torch.float64)


# ---------------------------------------------------------------- Exercise 2: clip_grad_norm
def _total(grads):
    return math.sqrt(sum(float(np.sum(g * g)) for g in grads))


def clip_by_value(grads, max_norm):
    total = _total(grads)
    for g in grads:
        np.clip(g, -max_norm, max_norm, out=g)
    return total


def clip_per_array(grads, max_norm):
    for g in grads:
        n = np.linalg.norm(g)
        g *= min(1.0, max_norm / (n + 1e-6))
    return _total(grads)


def clip_no_clamp(grads, max_norm):
    total = _total(grads)
    for g in grads:
        g *= max_norm / (total + 1e-6)
    return total


def clip_sum_of_norms(grads, max_norm):
    total = sum(np.linalg.norm(g) for g in grads)
    for g in grads:
        g *= min(1.0, max_norm / total)
    return total


def clip_no_sqrt(grads, max_norm):
    total = sum(float(np.sum(g**2)) for g in grads)
    for g in grads:
        g *= min(1.0, max_norm / (total + 1e-6))
    return total


def clip_inverted(grads, max_norm):
    total = _total(grads)
    for g in grads:
        g *= min(1.0, total / max_norm)
    return total


def clip_rebinds(grads, max_norm):
    total = _total(grads)
    coef = min(1.0, max_norm / (total + 1e-6))
    for g in grads:
        g = g * coef  # noqa: PLW2901 - the mistake: a new array, the name rebound
    return total


def clip_new_list_entries(grads, max_norm):
    total = _total(grads)
    coef = min(1.0, max_norm / (total + 1e-6))
    for i in range(len(grads)):
        grads[i] = grads[i] * coef
    return total


def clip_returns_after(grads, max_norm):
    total = _total(grads)
    for g in grads:
        g *= min(1.0, max_norm / (total + 1e-6))
    return _total(grads)


def clip_returns_list(grads, max_norm):
    total = _total(grads)
    return [g * min(1.0, max_norm / (total + 1e-6)) for g in grads]


def clip_no_return(grads, max_norm):
    total = _total(grads)
    for g in grads:
        g *= min(1.0, max_norm / (total + 1e-6))


def _clip_eps(eps):
    def clip_grad_norm(grads, max_norm):
        total = math.sqrt(sum(float(np.sum(g**2)) for g in grads))
        for g in grads:
            g *= min(1.0, max_norm / (total + eps))
        return total
    return clip_grad_norm


def clip_squares_returned(grads, max_norm):
    total = _total(grads)
    for g in grads:
        g *= min(1.0, max_norm / (total + 1e-6))
    return total**2


CLIP_WRONG = [
    (clip_by_value, r"clipping by value, like np\.clip or clip_grad_value_", "按值裁剪"),
    (clip_per_array, r"you clipped each array by its own norm", "按每個數組自己的範數分別裁剪"),
    (clip_no_clamp, r"the gradients were scaled up: the factor max_norm/total_norm is not clamped at 1",
     "梯度被放大了"),
    (clip_sum_of_norms, r"your total norm is the sum of the arrays' norms", "各數組範數之和"),
    (clip_no_sqrt, r"the sum of squares, without the square root", "少了開方"),
    (clip_inverted, r"the factor is upside down", "因子上下顛倒了"),
    (clip_rebinds, r"the arrays were not changed: `g = g \* coef` makes a new array", "數組沒有被修改"),
    (clip_new_list_entries, r"you put new arrays into the list", "往列表裡放了新的數組"),
    (clip_returns_after, r"returned the norm after clipping", "返回的是裁剪之後的範數"),
    (clip_returns_list, r"clip_grad_norm returned a list", "返回的是一個列表"),
    (clip_no_return, r"clip_grad_norm returned None", "返回了 None"),
    (clip_squares_returned, r"clip_grad_norm returned [\d.]+, but the total norm before clipping is [\d.]+",
     "但裁剪之前的總範數是"),
    (_clip_eps(1e-4), r"your arrays are scaled by one factor, as they should be, but it is 0\.199996.*outside the "
     r"accepted range .* with ε ≈ 1\.0e-04", "其中 ε ≈ 1.0e-04"),
    (_clip_eps(-1e-6), r"your arrays are scaled by one factor, .* with ε ≈ -1\.0e-06\. .* compute the norm in "
     r"float64", "其中 ε ≈ -1.0e-06"),
]


def clip_alt_exact(grads, max_norm):
    total = float(np.linalg.norm(np.concatenate([g.ravel() for g in grads])))
    if total > max_norm:
        for g in grads:
            np.multiply(g, max_norm / total, out=g)
    return total


def clip_alt_torch(grads, max_norm):
    params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, g in zip(params, grads):
        p.grad = torch.from_numpy(g)  # shares memory with g: torch scales g itself
    return float(torch.nn.utils.clip_grad_norm_(params, max_norm))


def clip_alt_torch_tensor(grads, max_norm):
    """The tensor clip_grad_norm_ returns, 0-d, returned as it is."""
    params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, g in zip(params, grads):
        p.grad = torch.from_numpy(g)
    return torch.nn.utils.clip_grad_norm_(params, max_norm)


# ---------------------------------------------------------------- Exercise 3: accumulate_gradients
def _accum(zero="first", weight="size", after=None):
    def accumulate_gradients(model, loss_fn, micro_batches):
        if zero == "first":
            model.zero_grad()
        n, m = sum(len(X) for X, _ in micro_batches), len(micro_batches)
        for X, y in micro_batches:
            if zero == "each":
                model.zero_grad()
            w = {"size": len(X) / n, "count": 1 / m, "none": 1.0, "total": 1 / n, "size_only": len(X)}[weight]
            (loss_fn(model(X), y) * w).backward()
        if after:
            after(model, micro_batches)
    return accumulate_gradients


def _step_taken(model, micro_batches):
    with torch.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad


def _grads_dropped(model, micro_batches):
    model.zero_grad()  # "to clean up": set_to_none=True leaves p.grad None


def _data_scaled(model, micro_batches):
    for X, _ in micro_batches:
        X.mul_(1.0)
        X.add_(0.0)
        X[0, 0] += 1.0  # the data changed in place


def _averaged_again(model, micro_batches):
    for p in model.parameters():
        p.grad /= len(micro_batches)


def accum_one_pass_sum(model, loss_fn, micro_batches):
    """The weighted losses summed, one backward pass: the right gradient, all the graphs in memory at once."""
    n = sum(len(X) for X, _ in micro_batches)
    total = sum(loss_fn(model(X), y) * len(X) for X, y in micro_batches) / n
    grads = torch.autograd.grad(total, list(model.parameters()))
    for p, g in zip(model.parameters(), grads):
        p.grad = g.clone()


def accum_one_pass_concat(model, loss_fn, micro_batches):
    """The micro-batches concatenated again, one backward(): no accumulation at all."""
    model.zero_grad()
    X = torch.cat([X for X, _ in micro_batches])
    y = torch.cat([y for _, y in micro_batches])
    loss_fn(model(X), y).backward()


def accum_twice(model, loss_fn, micro_batches):
    """Each micro-batch's backward() twice, at half the weight: the right gradient, twice the work."""
    model.zero_grad()
    n = sum(len(X) for X, _ in micro_batches)
    for X, y in micro_batches:
        for _ in range(2):
            (loss_fn(model(X), y) * (len(X) / n / 2)).backward()


ACCUM_WRONG = [
    (_accum(weight="none"), r"four micro-batches of 8 examples: your gradient is the sum of the micro-batches' mean",
     "各微批量平均梯度之和"),
    (_accum(weight="count"), r"micro-batches of 8, 8 and 3 examples: the micro-batches have different sizes, and you "
     r"divided each loss by their number", "短的微批量得到了和完整微批量一樣的權重"),
    (_accum(zero=None), r"your gradient includes the gradient that was already in p\.grad",
     "還包含 p.grad 中原有的梯度"),
    (_accum(zero="each"), r"only the last micro-batch is left in p\.grad", "只剩下最後一個微批量的梯度"),
    (_accum(zero="each", weight="count"), r"only the last micro-batch is left in p\.grad",
     "只剩下最後一個微批量的梯度"),
    (_accum(weight="total"), r"divided by the total number of examples N: it is already a mean",
     "被除以了樣本總數 N"),
    (_accum(weight="size_only"), r"multiplied by its size len\(X\) but not divided by the total N",
     "梯度是正確值的 N 倍"),
    (_accum(after=_step_taken), r"accumulate_gradients changed the model's parameters", "改動了模型的參數"),
    (_accum(after=_grads_dropped), r"weight\.grad is None: call backward\(\) on each micro-batch's loss",
     "weight.grad 是 None"),
    (_accum(after=_data_scaled), r"changed the micro-batches in place", "原地修改了微批量"),
    (_accum(after=_averaged_again), r"the accumulated gradient \(four micro-batches of 8 examples\) is 0\.25 times the "
     r"expected value", "是正確值的 0.25 倍"),
    (accum_one_pass_sum, r"autograd computed the gradient once, in one backward pass over all the 4 micro-batches",
     "autograd 只算了一次梯度"),
    (accum_one_pass_concat, r"autograd computed the gradient once, in one backward pass over all the 4 micro-batches",
     "autograd 只算了一次梯度"),
    (accum_twice, r"p\.grad holds the right gradient, but autograd computed it 8 times for 4 micro-batches",
     "autograd 卻算了 8 次梯度"),
]


def accum_alt_concat_free(model, loss_fn, micro_batches):
    for p in model.parameters():
        p.grad = None
    sizes = [len(X) for X, _ in micro_batches]
    for (X, y), n in zip(micro_batches, sizes):
        loss = loss_fn(model(X), y) * n / sum(sizes)
        loss.backward()


def accum_alt_autograd_per_micro(model, loss_fn, micro_batches):
    """torch.autograd.grad once per micro-batch, the gradients added by hand: one backward pass per micro-batch."""
    n = sum(len(X) for X, _ in micro_batches)
    params = list(model.parameters())
    acc = [torch.zeros_like(p) for p in params]
    for X, y in micro_batches:
        for a, g in zip(acc, torch.autograd.grad(loss_fn(model(X), y) * (len(X) / n), params)):
            a += g
    for p, a in zip(params, acc):
        p.grad = a


# ---------------------------------------------------------------- Exercise 4: save_checkpoint, load_checkpoint
def _save(model=True, optimizer=True, scheduler=True, objects=False):
    def save_checkpoint(model_, optimizer_, scheduler_):
        if objects:
            return {"model": model_, "optimizer": optimizer_, "scheduler": scheduler_}
        out = {}
        if model:
            out["model"] = model_.state_dict()
        if optimizer:
            out["optimizer"] = optimizer_.state_dict()
        if scheduler:
            out["scheduler"] = scheduler_.state_dict()
        return out
    return save_checkpoint


def _load(model=True, optimizer=True, scheduler=True, extra_step=False, reset_lr=False):
    def load_checkpoint(checkpoint, model_, optimizer_, scheduler_):
        if model:
            model_.load_state_dict(checkpoint["model"])
        if optimizer:
            optimizer_.load_state_dict(checkpoint["optimizer"])
        if scheduler and "scheduler" in checkpoint:
            scheduler_.load_state_dict(checkpoint["scheduler"])
        if extra_step:
            scheduler_.step()
        if reset_lr:
            for group in optimizer_.param_groups:
                group["lr"] = group["initial_lr"]
    return load_checkpoint


def save_none(model, optimizer, scheduler):
    {"model": model.state_dict()}  # noqa: B018 - forgot the return


RESUME_WRONG = [
    # not loading and not saving the scheduler are one mistake written two ways: the same phrases
    ((_save(), _load(scheduler=False)), r"the scheduler was not loaded, so it counts its steps from 0 again",
     "調度器沒有加載"),
    ((_save(scheduler=False), _load()), r"the scheduler was not loaded, so it counts its steps from 0 again",
     "調度器沒有加載"),
    ((_save(), _load(optimizer=False, scheduler=False)), r"the rates restart the warm-up from start_factor·peak",
     "調度器和優化器都沒有加載"),
    ((_save(), _load(optimizer=False)), r"the first step after resuming used start_factor·peak, .* the momentum "
     r"buffers are lost", "還要加載 optimizer.state_dict()"),
    ((_save(), _load(model=False)), r"the parameters after resuming are those of the freshly built model",
     "恢復後的參數是新建模型的參數"),
    ((_save(), _load(extra_step=True)), r"after resuming, the rates are one step ahead", "學習率提前了一步"),
    ((save_none, _load()), r"save_checkpoint returned None", "save_checkpoint 返回了 None"),
    ((_save(objects=True), _load()), r"cannot be read back with torch\.load\(\.\.\., weights_only=True\)",
     "無法用 torch.load"),
    ((_save(), _load(reset_lr=True)), r"at step 2, step 1 after resuming, the rate is 0\.1, expected 0\.055",
     "恢復後的第 1 步）的學習率是 0.1，應為 0.055"),
]


def _alt_save_renamed(model, optimizer, scheduler):
    return {"sched": copy.deepcopy(scheduler.state_dict()), "opt": copy.deepcopy(optimizer.state_dict()),
            "weights": copy.deepcopy(model.state_dict()), "note": "step count inside 'sched'"}


def _alt_load_renamed(checkpoint, model, optimizer, scheduler):
    scheduler.load_state_dict(checkpoint["sched"])  # the order of the three loads does not matter
    model.load_state_dict(checkpoint["weights"])
    optimizer.load_state_dict(checkpoint["opt"])


def _alt_save_nested(model, optimizer, scheduler):
    return {"training": [model.state_dict(), optimizer.state_dict(), scheduler.state_dict()]}


def _alt_load_nested(checkpoint, model, optimizer, scheduler):
    for obj, state in zip((model, optimizer, scheduler), checkpoint["training"]):
        obj.load_state_dict(state)


# ---------------------------------------------------------------- Exercise 5: train
def _loop(order="right", per_batch=1, per_epoch=0, before=0, zero="before", epochs_less=0, skip_first=False,
          epoch_start=0):
    def train(model, optimizer, scheduler, batches, epochs, loss_fn):
        for _ in range(before):
            scheduler.step()
        k = 0
        for _epoch in range(epochs - epochs_less):
            for _ in range(epoch_start):
                scheduler.step()
            for X, y in batches:
                if zero == "before":
                    optimizer.zero_grad()
                loss = loss_fn(model(X), y)
                loss.backward()
                if zero == "after_backward":
                    optimizer.zero_grad()
                if order == "scheduler_first":
                    scheduler.step()
                optimizer.step()
                if order == "right" and not (skip_first and k == 0):
                    for _ in range(per_batch):
                        scheduler.step()
                k += 1
            for _ in range(per_epoch):
                scheduler.step()
    return train


LOOP_WRONG = [
    (_loop(order="scheduler_first"), r"your loop uses each rate one step early: the first step already has the rate "
     r"of step 1", "把每個學習率都提前了一步使用"),
    # the wrong order and one scheduler step before the loop are one mistake written two ways: the same phrases
    (_loop(before=1), r"your loop uses each rate one step early: the first step already has the rate "
     r"of step 1", "把每個學習率都提前了一步使用"),
    (_loop(per_batch=0, per_epoch=1), r"your loop steps the scheduler once per epoch", "每個輪次才調用一次"),
    (_loop(per_epoch=1), r"after every batch and once more at the end of each epoch", "每個輪次結束時又多調用一次"),
    (_loop(per_batch=0, epoch_start=1), r"once per epoch, at the start of the epoch: .* the rate of step 1 \(0\.04, "
     r"where the schedule starts at 0\.01\)", "你的循環在每個輪次開始時調用一次 scheduler.step()"),
    (_loop(per_batch=2), r"your loop steps the scheduler twice per batch", "調度的速度是預定的兩倍"),
    (_loop(per_batch=0), r"the rate never changes: scheduler\.step\(\) is never called", "一次也沒有調用"),
    (_loop(zero=None), r"the gradients of all the steps pile up in p\.grad", "各步的梯度都堆在了一起"),
    (_loop(zero="after_backward"), r"zero_grad\(\) comes between backward\(\) and optimizer\.step\(\)",
     "放在了 backward() 和 optimizer.step() 之間"),
    (_loop(epochs_less=1), r"your loop called optimizer\.step\(\) 8 times, expected 12", "應為 12 次"),
    (_loop(skip_first=True), r"at step 1 your loop used the rate 0\.01, the schedule intended 0\.04",
     "第 1 步你的循環用的學習率是 0.01，調度預定的是 0.04"),
]


def loop_alt_flat(model, optimizer, scheduler, batches, epochs, loss_fn):
    for X, y in itertools.chain.from_iterable(itertools.repeat(batches, epochs)):
        optimizer.zero_grad(set_to_none=False)
        loss_fn(model(X), y).backward()
        optimizer.step()
        scheduler.step()


def loop_alt_closure(model, optimizer, scheduler, batches, epochs, loss_fn):
    for _ in range(epochs):
        for X, y in batches:
            def closure(X=X, y=y):
                optimizer.zero_grad()
                loss = loss_fn(model(X), y)
                loss.backward()
                return loss
            optimizer.step(closure)
            scheduler.step()


# ---------------------------------------------------------------- the exercises
EXERCISES = {
    # exercise: (check, names in the notebook, wrong answers (answer, English regex, Chinese phrase), right answers)
    "schedule": (lab5.check_schedule, ("warmup_cosine",), SCHED_WRONG,
                 [sched_alt_branchless, sched_alt_torch, sched_alt_tensor]),
    "clip": (lab5.check_clip, ("clip_grad_norm",), CLIP_WRONG,
             [clip_alt_exact, clip_alt_torch, clip_alt_torch_tensor, _clip_eps(1e-8)]),
    "accumulation": (lab5.check_accumulation, ("accumulate_gradients",), ACCUM_WRONG,
                     [accum_alt_concat_free, accum_alt_autograd_per_micro]),
    "resume": (lab5.check_resume, ("save_checkpoint", "load_checkpoint"), RESUME_WRONG,
               [(_alt_save_renamed, _alt_load_renamed), (_alt_save_nested, _alt_load_nested)]),
    "loop": (lab5.check_training_loop, ("train",), LOOP_WRONG, [loop_alt_flat, loop_alt_closure]),
}
WRONG = [(ex, i) for ex, (_, _, wrongs, _) in EXERCISES.items() for i in range(len(wrongs))]
RIGHT = [(ex, i) for ex, (_, _, _, rights) in EXERCISES.items() for i in range(len(rights))]


def _run(exercise, answer):
    check, names, _, _ = EXERCISES[exercise]
    return check(*answer) if len(names) > 1 else check(answer)


def test_the_second_function_of_exercise_4_is_checked_too(stub):
    """The stub of load_checkpoint alone (save_checkpoint written) is not done either."""
    with pytest.raises(CheckFailed, match="is not done yet"):
        lab5.check_resume(SOL["save_checkpoint"], stub["load_checkpoint"])


def _answer(ns, exercise):
    names = EXERCISES[exercise][1]
    return tuple(ns[n] for n in names) if len(names) > 1 else ns[names[0]]


# The standard tests (tests/labkit.py): every exercise proved in order, the stub fails, each wrong answer gets
# its own message in both languages, the solution and the alternatives pass.
labkit.standard_tests(globals(), lab=LAB5, module=lab5, exercises=EXERCISES, solution=SOL, run_check=_run,
                      answer_from=_answer)


# ---------------------------------------------------------------- the references and the simulations
def test_the_schedule_formula_is_torchs_sequential_lr():
    for case in lab5.SCHEDULE_CASES:
        peak, warmup, total, s, m = case
        rates = lab5.torch_rates(*case)
        assert rates[0] == pytest.approx(s * peak, rel=1e-12)          # the warm-up starts at start_factor·peak
        assert rates[warmup] == pytest.approx(peak, rel=1e-12)         # the peak at step W
        assert np.all(np.diff(rates[: warmup + 1]) > 0) and np.all(np.diff(rates[warmup:]) < 0)
        assert m < rates[-1] < m + 0.05 * (peak - m)                   # just above eta_min at the last step
        assert np.allclose([lab5.schedule_variant(k, *case) for k in range(total)], rates, rtol=1e-12, atol=0)


def test_each_schedule_mistake_differs_from_torch():
    for m in lab5.SCHEDULE_MISTAKES:
        assert any(not agree(lab5.torch_rates(*c), [lab5.schedule_variant(k, *c, mistake=m) for k in range(c[2])])
                   for c in lab5.SCHEDULE_CASES), m


def test_the_clip_reference_is_torch_and_both_forms_are_told_apart_by_the_tolerance():
    for grads, max_norm, _ in lab5._clip_cases():
        expected, total = lab5.torch_clip(grads, max_norm)
        torch_form, value = lab5.clip_variant(grads, max_norm)
        exact, _ = lab5.clip_variant(grads, max_norm, exact=False)
        assert value == pytest.approx(total, rel=1e-12)
        assert all(np.allclose(a, b, rtol=1e-13, atol=0) for a, b in zip(torch_form, expected))
        if total > max_norm:  # the two accepted forms differ by about 1e-6/total, above the check's 1e-9
            gap = max(float(np.max(np.abs(a - b) / np.abs(b))) for a, b in zip(exact, expected))
            assert 1e-9 < gap == pytest.approx(1e-6 / total, rel=1e-3)


def test_each_clip_mistake_differs_and_the_small_gradient_is_needed():
    cases = lab5._clip_cases()
    for m in lab5.CLIP_MISTAKES:
        assert any(not all(agree(a, b) for a, b in zip(lab5.clip_variant(g, mx, m)[0], lab5.torch_clip(g, mx)[0]))
                   for g, mx, _ in cases), m
    g, mx, _ = cases[1]  # below the threshold: only there does the missing clamp show
    assert _total(g) < mx
    for g, mx, _ in (cases[0], cases[2]):
        no_clamp, clipped = lab5.clip_variant(g, mx, "no_clamp")[0], lab5.torch_clip(g, mx)[0]
        assert all(agree(a, b) for a, b in zip(no_clamp, clipped))


def test_the_accumulation_simulations():
    for sizes, _ in lab5.ACCUM_CASES:
        assert agree(lab5.accumulation_variant(sizes), lab5.full_batch_gradient(sizes))
    equal, short = (s for s, _ in lab5.ACCUM_CASES)
    assert agree(lab5.accumulation_variant(equal, "count"), lab5.full_batch_gradient(equal))  # equal sizes: 1/M
    assert not agree(lab5.accumulation_variant(short, "count"), lab5.full_batch_gradient(short))
    no_div = lab5.accumulation_variant(equal, "no_division")
    assert np.allclose(no_div, len(equal) * lab5.full_batch_gradient(equal), rtol=1e-12)
    for m in ["stale", "last_only", "last_only_count", "last_only_none", "by_total", "size_only"]:
        assert not agree(lab5.accumulation_variant(equal, m), lab5.full_batch_gradient(equal)), m


def _uninterrupted():
    """The rates and final parameters of the check's run, never stopped."""
    loss_fn, batches = torch.nn.MSELoss(), lab5._batches(42, [6] * lab5.RUN["total"], 3, 1)
    model, opt, sched = lab5._training()
    lrs = [lab5._train_step(model, opt, sched, b, loss_fn) for b in batches]
    return np.array(lrs), lab5._param_vector(model)


def test_a_right_resume_is_a_run_never_stopped_and_each_mistake_differs():
    lrs, params = _uninterrupted()
    assert np.allclose(lrs, lab5.torch_rates(**lab5.RUN), rtol=1e-12)
    for at, _ in lab5.RESUME_AT:
        r_lrs, r_params = lab5.resume_variant(at)
        assert np.array_equal(r_lrs, lrs[at:]) and np.allclose(r_params, params, rtol=1e-13, atol=0)
        for m in lab5.RESUME_MISTAKES:
            m_lrs, m_params = lab5.resume_variant(at, m)
            assert not (agree(m_lrs, r_lrs) and agree(m_params, r_params)), (at, m)
    assert lab5.RESUME_AT[0][0] < lab5.RUN["warmup"] < lab5.RESUME_AT[1][0]  # saved in the warm-up and after it


def test_the_fresh_objects_differ_from_the_saved_ones():
    """Resuming into objects equal to the saved ones would hide a missing load."""
    assert not np.allclose(lab5._param_vector(lab5._training()[0]), lab5._param_vector(lab5._training(seed=43)[0]))


def test_the_loop_simulations():
    rates, _ = lab5.loop_variant()
    n = lab5.LOOP["epochs"] * lab5.LOOP["batches"]
    intended = lab5.torch_rates(lab5.RUN["peak"], 3, n, lab5.RUN["start_factor"], lab5.RUN["eta_min"])
    assert np.allclose(rates, intended, rtol=1e-12)
    early, _ = lab5.loop_variant("scheduler_first")
    assert np.allclose(early[:-1], intended[1:], rtol=1e-12)  # one step early: the first value is skipped
    assert np.allclose(lab5.loop_variant("step_before_loop")[0], early, rtol=1e-12)
    per_epoch, _ = lab5.loop_variant("per_epoch")
    assert np.allclose(per_epoch, np.repeat(intended[: lab5.LOOP["epochs"]], lab5.LOOP["batches"]), rtol=1e-12)
    for m in ["both", "twice", "never"]:
        assert not agree(lab5.loop_variant(m)[0], rates), m
    for m in ["no_zero_grad", "zero_after_backward"]:
        m_rates, m_params = lab5.loop_variant(m)
        assert agree(m_rates, rates) and not agree(m_params, lab5.loop_variant()[1]), m


def test_the_buggy_loop_of_the_lab_is_the_off_by_one_and_torch_warns():
    nb = load(ROOT / "solutions" / LAB5)
    ns = {"np": np, "torch": torch}
    exec(compile(labkit.defining_cell(nb, "train_buggy").split("\n\n\nused")[0], "train_buggy", "exec"), ns)
    used, intended, warned = lab5.rates_used(ns["train_buggy"])
    assert np.allclose(used[:-1], intended[1:], rtol=1e-12)
    assert any("before `optimizer.step()`" in w for w in warned)
    with pytest.raises(CheckFailed, match="one step early"):
        lab5.check_training_loop(ns["train_buggy"])
    assert lab5.rates_used(SOL["train"])[2] == []


def test_the_checks_leave_the_global_torch_rng_alone():
    state = torch.get_rng_state()
    lab5.check_accumulation(SOL["accumulate_gradients"])
    lab5.check_resume(SOL["save_checkpoint"], SOL["load_checkpoint"])
    lab5.check_training_loop(SOL["train"])
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.parametrize("folder", ["solutions", "labs"])
def test_the_lab_text_states_the_conventions(folder):
    text = markdown(load(ROOT / folder / LAB5))
    assert "step $k$ ($k = 0, 1, \\dots$) is the call of `optimizer.step()` made after $k$ earlier calls" in text
    assert "第 $k$ 步（$k = 0, 1, \\dots$）是在已經調用過 $k$ 次 `optimizer.step()` 之後的那一次調用" in text
    assert "and any factor between the two" in text and "with $0 \\le \\epsilon \\le 10^{-6}$" in text
    assert "以及介於兩者之間的任何因子" in text
    assert "SequentialLR(opt, [LinearLR(opt," in text and "SequentialLR([" not in text  # the optimizer comes first
    assert "(planned)" not in text and "規劃中" not in text  # Chapter 9 exists
    assert "Chapter 9 treats" in text and "第 9 章講的內容" in text


@pytest.mark.parametrize("eps", [0.0, 1e-12, 1e-8, 1e-7, 1e-6])
def test_any_epsilon_from_0_to_torchs_is_accepted(eps, capsys):
    lab5.check_clip(_clip_eps(eps))
    assert capsys.readouterr().out.startswith("✓ Exercise 2")


@pytest.mark.parametrize("eps", [3e-6, 1e-5, -1e-7])
def test_an_epsilon_outside_the_range_is_named(eps):
    with pytest.raises(CheckFailed, match=r"outside the accepted range") as info:
        lab5.check_clip(_clip_eps(eps))
    assert f"ε ≈ {eps:.1e}" in info.value.en and f"ε ≈ {eps:.1e}" in info.value.zh


def test_the_accumulation_check_counts_one_backward_per_micro_batch():
    """The hook of the check sees M gradient computations of the solution, one of a single pass."""
    for answer, expected in [(SOL["accumulate_gradients"], None), (accum_one_pass_sum, "once"),
                             (accum_one_pass_concat, "once")]:
        if expected is None:
            lab5.check_accumulation(answer)
        else:
            with pytest.raises(CheckFailed, match=expected):
                lab5.check_accumulation(answer)
    # both one-pass answers do leave the right gradient: only the count tells them from accumulation
    for answer in (accum_one_pass_sum, accum_one_pass_concat):
        for sizes, _ in lab5.ACCUM_CASES:
            model, batches = lab5._linear(4, 2, 31), lab5._batches(32, sizes, 4, 2)
            answer(model, torch.nn.MSELoss(), batches)
            assert agree(lab5._grad_vector(model), lab5.full_batch_gradient(sizes))


def test_the_new_simulated_mistakes_differ_from_torch():
    for c in lab5.SCHEDULE_CASES:
        last = lab5.schedule_variant(c[2] - 1, *c, mistake="cosine_one_short")
        assert last == pytest.approx(c[4], abs=1e-15)  # lands on eta_min at the last step
    rates, _ = lab5.loop_variant()
    first, _ = lab5.loop_variant("per_epoch_first")
    assert np.allclose(first, np.repeat(rates[1: lab5.LOOP["epochs"] + 1], lab5.LOOP["batches"]), rtol=1e-12)


def test_a_zero_dim_tensor_is_a_number_but_a_long_tensor_is_not():
    with pytest.raises(CheckFailed, match="returned 20 numbers at step 0"):
        lab5.check_schedule(lambda step, peak, warmup, total, start_factor, eta_min: torch.tensor(
            [SOL["warmup_cosine"](k, peak, warmup, total, start_factor, eta_min) for k in range(total)]))
