"""Unit tests of optbook.checks, the machinery every lab check is built on: bilingual verdicts,
the student's exceptions turned into messages that name their line, inputs changed in place and
shared memory caught, near misses and factors named. Each helper is shown catching its mistake
and letting the right answer through."""

from __future__ import annotations

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
