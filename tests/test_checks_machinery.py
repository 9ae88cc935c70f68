"""Unit tests of optbook.checks, the machinery every lab check is built on: bilingual verdicts,
the student's exceptions turned into messages that name their line, inputs changed in place and
shared memory caught, near misses and factors named. Each helper is shown catching its mistake
and letting the right answer through."""

from __future__ import annotations

import re

import numpy as np
import pytest

from optbook import checks
from optbook.checks import CheckFailed


def test_a_verdict_is_english_then_chinese():
    e = CheckFailed("the step has the wrong sign", "步子的符號反了")
    assert str(e) == "the step has the wrong sign\n步子的符號反了" and e.en and e.zh
    assert checks.exercise_zh("Exercise 3") == "練習 3"


def test_a_pass_prints_both_lines(capsys):
    checks.passed("Exercise 2", "right", "正確")
    assert capsys.readouterr().out == "✓ Exercise 2: right\n✓ 練習 2 通過：正確\n"


def _student_none_check(buf):
    if buf == None:  # noqa: E711 - the mistake under test
        return 0
    return 1


def test_an_exception_in_student_code_names_its_line_and_hints():
    with pytest.raises(CheckFailed) as info:
        checks.call(_student_none_check, np.ones(3), exercise="Exercise 1")
    msg = str(info.value)
    assert "ValueError" in msg and "_student_none_check" in msg and "buf == None" in msg
    assert "`is None`" in msg and "提示" in msg


def test_an_exception_of_the_check_itself_is_not_disguised():
    # np.ones raises inside the library: no frame is the student's, so the error stays what it is
    with pytest.raises(TypeError):
        checks.call(np.ones, "not a shape", exercise="Exercise 1")


def test_a_stub_is_not_done_yet():
    def stub():
        raise NotImplementedError("write the update")

    with pytest.raises(CheckFailed, match="not done yet") as info:
        checks.call(stub, exercise="Exercise 4")
    assert "練習 4 還沒有完成" in str(info.value)


def _batches_with_swapped_range(n, batch_size):
    for start in range(0, batch_size, n / 2):  # the mistake: arguments swapped, a float step
        yield np.arange(start, start + batch_size)


def test_an_error_inside_a_generator_is_reported_as_itself():
    with pytest.raises(CheckFailed) as info:
        checks.iterate(_batches_with_swapped_range(10, 3), "Exercise 3", "shuffled_batches", "yield batches",
                       "逐批 yield")
    msg = str(info.value)
    assert "TypeError" in msg and "range(start, stop, step)" in msg and "generator" not in msg.split("Hint")[0]
    with pytest.raises(CheckFailed, match="cannot be iterated over"):
        checks.iterate(3.0, "Exercise 3", "shuffled_batches", "yield batches", "逐批 yield")
    assert checks.iterate(iter([1, 2]), "Exercise 3", "f", "", "") == [1, 2]


def test_an_input_changed_in_place_is_named():
    w0 = np.ones(3)
    kept = checks.Inputs(w0=w0, lr=0.1)
    kept.untouched("gd")  # nothing changed yet
    w0 -= 0.5
    with pytest.raises(CheckFailed, match="changed its argument w0 in place") as info:
        kept.untouched("gd")
    assert "原地修改" in str(info.value)
    with pytest.raises(CheckFailed) as info:
        kept.untouched("gd", at=" at step 2", at_zh="（第 2 步）")
    assert "in place at step 2" in str(info.value) and "w0（第 2 步）" in str(info.value)
    with pytest.raises(CheckFailed) as info:
        kept.untouched("gd", at=" at step 2")  # no Chinese given: no English inside the Chinese line
    assert "參數 w0，" in str(info.value)


def test_shared_memory_is_caught():
    g = np.arange(4.0)
    assert checks.shares_memory(g, g) and checks.shares_memory(g[1:], g)
    assert not checks.shares_memory(g.copy(), g)
    with pytest.raises(CheckFailed, match="is the array g itself"):
        checks.no_alias(g, "the buffer", {"g": g}, "the next gradient overwrites it", "下一個梯度會覆蓋它")
    checks.no_alias(g.copy(), "the buffer", {"g": g}, "", "")


def test_a_float32_answer_is_a_near_miss_not_a_difference():
    rng = np.random.default_rng(0)
    X, r = rng.standard_normal((500, 30)), rng.standard_normal(500)
    expected = X.T @ r / 500
    computed_in_float32 = X.astype(np.float32).T @ r.astype(np.float32) / np.float32(500)
    with pytest.raises(CheckFailed, match="float32") as info:
        checks.close(computed_in_float32, expected, "the gradient")
    msg = str(info.value)
    assert "1 times" not in msg
    a, e = msg.split("you have ")[1].split(", expected ")
    assert a != e.split(")")[0], "the digits printed must tell the two numbers apart"


def test_factors_and_signs_are_named_and_the_right_answer_passes():
    e = np.array([1.0, -2.0, 3.0])
    with pytest.raises(CheckFailed, match="wrong sign"):
        checks.close(-e, e, "g")
    with pytest.raises(CheckFailed, match="0.125 times"):
        checks.close(e / 8, e, "g")
    with pytest.raises(CheckFailed, match="NaN"):
        checks.close(np.array([1.0, np.nan, 3.0]), e, "g")
    with pytest.raises(CheckFailed, match="shape"):
        checks.close(e[:2], e, "g")
    with pytest.raises(CheckFailed, match="torch tensor"):
        import torch

        checks.close(torch.tensor(e), e, "g")
    checks.close(e * (1 + 1e-12), e, "g")


def test_a_path_is_compared_step_by_step():
    start = np.zeros(2)
    steps = np.array([[0.1, 0.2], [0.1, 0.1], [0.05, 0.0]])
    expected = start + np.cumsum(steps, axis=0)
    checks.close_path(expected.copy(), expected, start, "lr = 0.1")
    wrong = expected.copy()
    wrong[1:] = expected[0] - np.cumsum(steps[1:], axis=0)  # from step 2 on, the step has the wrong sign
    with pytest.raises(CheckFailed, match=r"the step w_2 − w_1 .* wrong sign"):
        checks.close_path(wrong, expected, start, "lr = 0.1")


def test_distinct_prints_enough_digits():
    assert checks.distinct(-0.5082611, -0.5082613) == ("-0.5082611", "-0.5082613")
    assert checks.distinct(1.0, 2.0) == ("1", "2")


def test_a_near_miss_reads_well_in_chinese_after_latin_and_after_chinese():
    e = np.array([1.0, 2.0])
    with pytest.raises(CheckFailed) as info:
        checks.near_miss(e * (1 + 1e-6), e, "w", "w")
    assert "w 只有約 6 位" in str(info.value)
    with pytest.raises(CheckFailed) as info:
        checks.near_miss(e * (1 + 1e-6), e, "w after step 1", "第 1 步後的 w（第二個分量）")
    assert "（第二個分量）只有約 6 位" in str(info.value)


def test_every_verdict_of_close_reads_well_after_a_chinese_subject():
    e = np.array([1.0, 2.0])
    cases = [(np.array([1.0, np.nan]), "含有 NaN"), (-e, "的符號反了"), (2 * e, "是正確值的 2 倍"),
             (np.array([1.0, 5.0]), "與正確值不同")]
    for got, phrase in cases:
        with pytest.raises(CheckFailed) as info:
            checks.close(got, e, "w after step 1", what_zh="第 1 步後的 w（lr = 0.01）")
        assert f"（lr = 0.01）{phrase}" in str(info.value), str(info.value)
    with pytest.raises(CheckFailed) as info:
        checks.close(2 * e, e, "w", what_zh="w")
    assert "w 是正確值的 2 倍" in str(info.value)


# ---------------------------------------------------------------- functional steps (Labs 3 and 4)
def test_agree_is_nan_aware_and_refuses_what_is_not_numbers():
    assert checks.agree([1.0, np.nan], [1.0 + 1e-12, np.nan])
    assert not checks.agree([1.0, 2.0], [1.0, 2.0 + 1e-6])
    assert not checks.agree(np.ones(3), np.ones((3, 1)))
    assert not checks.agree("abc", [1.0])
    assert not checks.agree(None, [1.0])


def test_num_writes_hyper_parameters_as_the_labs_do():
    assert [checks.num(x) for x in (0.9, 0.001, 1e-8, 1e-4, 0.5, 10.0)] == ["0.9", "0.001", "1e-8", "1e-4", "0.5",
                                                                             "10"]


def test_fixed_names_each_constant_but_the_one_passed_and_simulator_runs_it():
    out = checks.fixed("eps", 1e-3, (1e-8, 1e-3), ("the argument eps", "參數 eps"), "ε")
    assert list(out) == [("fixed", "eps", 1e-8)]
    en, zh = out[("fixed", "eps", 1e-8)]
    assert "your steps are those of ε = 1e-8" in en and "this run passed eps = 0.001" in en
    assert "傳入的 eps 沒有用上" in zh and "請使用參數 eps" in zh
    betas = checks.fixed("betas", (0.8, 0.99), ((0.9, 0.999),), ("the argument betas", "參數 betas"))
    assert "betas = (0.9, 0.999), a constant" in betas[("fixed", "betas", (0.9, 0.999))][0]

    def path(eps=1.0, scale=2.0, mistake=None):
        return ("mistake", mistake) if mistake else ("run", eps * scale)
    simulate = checks.simulator(path, eps=1.0, scale=3.0)
    assert simulate("uphill") == ("mistake", "uphill")
    assert simulate(("fixed", "eps", 0.5)) == ("run", 1.5)


def test_unpack_and_kept_name_the_slip():
    assert checks.unpack((1, 2), "step", ("w", "v")) == (1, 2)
    for out, phrase in ((None, "forget the `return`"), (np.ones(2), "got a single ndarray"),
                        ((1, 2, 3), "the 2 items (w, v), got 3")):
        with pytest.raises(CheckFailed, match=re.escape(phrase)):
            checks.unpack(out, "step", ("w", "v"))
    checks.kept("step", "w", np.ones(2), np.ones(2), 1, ("copy it", "複製"))
    with pytest.raises(CheckFailed, match="step changed its argument w in place at step 3: copy it") as info:
        checks.kept("step", "w", np.ones(2), np.zeros(2), 3, ("copy it", "複製"))
    assert "第 3 步" in info.value.zh


def test_remind_appends_the_update_to_compare_with():
    with pytest.raises(CheckFailed) as info:
        checks.remind(CheckFailed("w differs.", "w 不同。"), ("Compare with Adam", "請對照 Adam"))
    assert info.value.en == "w differs. Compare with Adam" and info.value.zh == "w 不同。請對照 Adam"


@pytest.mark.parametrize("t, phrase", [(0, "the step counter is never incremented"), (2, "returned t = 2 after step 1"),
                                       (1.5, "t is the number of steps taken, an integer"),
                                       (True, "t is the number of steps taken, an integer")])
def test_step_count_names_each_wrong_count(t, phrase):
    with pytest.raises(CheckFailed, match=re.escape(phrase)) as info:
        checks.step_count(t, 1, "adam_step")
    assert info.value.zh


def test_step_count_accepts_the_count_as_int_float_or_0d_array():
    for t in (3, 3.0, np.int64(3), np.array(3)):
        checks.step_count(t, 3, "adam_step")


def _sgd_counted(w, g, states, t, lr):
    (buf,) = states
    buf = 0.5 * buf + g
    return w - lr * buf, buf, t + 1


def test_run_steps_with_and_without_a_count():
    grads, lrs = np.ones((3, 2)), np.full(3, 0.1)
    path, history = checks.run_steps(_sgd_counted, np.zeros(2), [np.zeros(2)], grads, lrs, "step", ("w", "b", "t"),
                                     (("w fix", "w 修正"), ("g fix", "g 修正")), counted=True)
    assert np.allclose(path[:, 0], [-0.1, -0.25, -0.425]) and np.allclose(history[-1][0], 1.75)

    def uncounted(w, g, states, lr):
        return _sgd_counted(w, g, states, 0, lr)[:2]
    seen = []
    path2, _ = checks.run_steps(uncounted, np.zeros(2), [np.zeros(2)], grads, lrs, "step", ("w", "b"),
                                (("w fix", "w 修正"), ("g fix", "g 修正")),
                                on_return=lambda k, out: seen.append(("return", k)),
                                on_states=lambda k, w, states, given: seen.append(("states", k)))
    assert np.array_equal(path, path2) and seen[:3] == [("return", 1), ("states", 1), ("return", 2)]


@pytest.mark.parametrize("kind, phrase", [
    ("stale_t", "the step counter is never incremented"),
    ("g_in_place", "changed its argument g in place at step 1: g fix"),
    ("w_in_place", "changed its argument w in place at step 1: w fix"),
    ("alias", "the b that step returned is the gradient array g itself (they share memory): do not return g as b"),
    ("none", "returned b = None at step 1"),
    ("shape", "returned b of shape (3,), expected (2,)"),
])
def test_run_steps_names_the_slips_of_a_functional_step(kind, phrase):
    def step(w, g, states, t, lr):
        if kind == "g_in_place":
            g *= 2
        if kind == "w_in_place":
            w -= lr * g
            return w, states[0], t + 1
        b = {"alias": g, "none": None, "shape": np.zeros(3)}.get(kind, states[0] + g)
        return w - lr * g, b, (t if kind == "stale_t" else t + 1)
    with pytest.raises(CheckFailed, match=re.escape(phrase)) as info:
        checks.run_steps(step, np.zeros(2), [np.zeros(2)], np.ones((2, 2)), np.full(2, 0.1), "step", ("w", "b", "t"),
                         (("w fix", "w 修正"), ("g fix", "g 修正")),
                         ("do not return g as {s}", "不要把 g 當作 {s} 返回"), counted=True)
    assert info.value.zh


def test_a_number_returned_as_a_0d_tensor_gets_the_number_hint():
    import torch

    with pytest.raises(CheckFailed, match=re.escape("return the number itself, float(t) or t.item()")) as info:
        checks.as_array(torch.tensor(0.5, dtype=torch.float64), "the rate")
    assert "float(t) 或 t.item()" in info.value.zh and "NumPy" not in info.value.en
    with pytest.raises(CheckFailed, match=re.escape("returned a torch tensor: return a NumPy array")):
        checks.as_array(torch.ones(3, dtype=torch.float64), "w")


def test_diagnose_names_the_simulated_mistake_then_where_the_run_parts():
    start, expected = np.zeros(2), np.array([[1.0, 1.0], [2.0, 2.0]])

    def simulate(m):
        return {"twice": 2 * expected, "slow": expected + 0.5}.get(m, expected)
    mistakes = {"twice": ("the steps are twice too long", "步子長了一倍"), "slow": ("too slow", "太慢")}
    setting, hint = ("lr = 1", "lr = 1"), ("Compare with GD", "請對照 GD")
    with pytest.raises(CheckFailed, match="with lr = 1: the steps are twice too long") as info:
        checks.diagnose(2 * expected, expected, start, mistakes, simulate, setting, hint)
    assert info.value.zh == "在 lr = 1 時，步子長了一倍"
    with pytest.raises(CheckFailed, match="with lr = 1: too slow"):   # a variant simulated under its verdict
        checks.diagnose(expected + 0.5, expected, start, {"late": mistakes["slow"]}, simulate, setting, hint,
                        variants={"late": ("never", "slow")})
    seen = []
    with pytest.raises(CheckFailed) as info:
        checks.diagnose(-expected, expected, start, mistakes, simulate, setting, hint, then=lambda: seen.append(1))
    assert seen == [1] and "wrong sign" in info.value.en and info.value.en.endswith("Compare with GD")
    with pytest.raises(CheckFailed, match="float32") as info:
        checks.diagnose(expected * (1 + 3e-7), expected, start, {}, simulate, setting, hint)
    assert "Compare with GD" not in info.value.en


def test_torch_path_follows_a_schedule_of_any_hyper_parameter():
    import torch

    grads, eps = np.full((3, 1), 1e-6), [1e-3, 1e-6, 1e-9]
    path = checks.torch_path("Adam", np.zeros(1), grads, np.full(3, 0.1), schedule={"eps": eps})
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], lr=0.1)
    for k in range(3):
        opt.param_groups[0]["eps"] = eps[k]
        p.grad = torch.full((1,), 1e-6, dtype=torch.float64)
        opt.step()
        assert p.item() == path[k, 0]
    assert not np.allclose(path, checks.torch_path("Adam", np.zeros(1), grads, np.full(3, 0.1), eps=1e-3))
