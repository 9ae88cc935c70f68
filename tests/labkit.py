"""The standard proof of a lab's checks, written once for every lab (tests/test_lab_checks_0N.py).

A lab's test module lists its exercises in a table, ``EXERCISES[exercise] = (check, names, wrong answers,
correct alternatives)``: the check function (None where ``run_check`` calls it itself), the name or
names the exercise defines, the wrong answers as ``(answer, English regex, Chinese phrase)`` and the
correct but differently written answers. :func:`standard_tests` then defines in that module the tests
every lab's checks must pass:

* the solutions notebook marks one ``# BEGIN SOLUTION`` cell per exercise, in the table's order, and
  calls each check once; the module has no check the table leaves out;
* at least eight wrong answers and two alternatives per exercise;
* the check fails on the stub of the generated lab ("is not done yet", 「還沒有完成」);
* each wrong answer fails with *its* message, in both languages, and prints no ✓;
* within an exercise, different mistakes get different messages (the same message only for two ways of
  writing one mistake, which the table marks by giving them the same phrases);
* the check passes on the solution (two lines, ✓ in each language) and on every alternative.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from types import ModuleType

import pytest

from optbook.checks import CheckFailed

from helpers import ROOT, load, source


def names_of(name) -> tuple[str, ...]:
    """The names an exercise defines: one name, or a tuple (or list) of them."""
    return tuple(name) if isinstance(name, (tuple, list)) else (name,)


def defining_cell(nb: dict, name: str) -> str:
    """The source of the code cell that defines function or class ``name``."""
    for cell in nb["cells"]:
        src = source(cell)
        if cell["cell_type"] == "code" and (f"def {name}(" in src or f"class {name}:" in src):
            return src
    raise AssertionError(f"no cell defines {name}")


def namespace(lab: str, folder: str, names, preset: dict) -> dict:
    """The names the cells of ``folder/lab`` define, run from ``preset`` (np, torch, ...)."""
    nb = load(ROOT / folder / lab)
    ns = dict(preset)
    for name in names:
        exec(compile(defining_cell(nb, name), f"{folder}/{lab}:{name}", "exec"), ns)
    return ns


def standard_tests(into: dict, *, lab: str, module: ModuleType, exercises: dict, solution: dict,
                   run_check: Callable, answer_from: Callable | None = None,
                   check_name: Callable | None = None) -> None:
    """Define the standard tests of a lab's checks in the module whose globals are ``into``.

    ``run_check(exercise, answer)`` runs an exercise's check; ``answer_from(ns, exercise)`` takes the
    answer out of a namespace (by default the one name, or the tuple of names, of the table);
    ``check_name(exercise)`` is the name of the check the notebook calls (by default the table's
    check's). The tests use the module's fixture ``stub``, the namespace of the generated lab.
    """
    def answer_of(ns, exercise):
        if answer_from is not None:
            return answer_from(ns, exercise)
        name = exercises[exercise][1]
        return tuple(ns[n] for n in name) if isinstance(name, tuple) else ns[name]

    def check_of(exercise):
        return check_name(exercise) if check_name is not None else exercises[exercise][0].__name__

    wrong = [(ex, i) for ex, (_, _, wrongs, _) in exercises.items() for i in range(len(wrongs))]
    right = [(ex, i) for ex, (_, _, _, rights) in exercises.items() for i in range(len(rights))]

    def test_every_lab_exercise_is_covered():
        nb = load(ROOT / "solutions" / lab)
        code = [source(c) for c in nb["cells"] if c["cell_type"] == "code"]
        marked = [src for src in code if "# BEGIN SOLUTION" in src]
        assert len(marked) == len(exercises), "one proof per exercise of the lab"
        for (exercise, (_, name, _, _)), src in zip(exercises.items(), marked):
            for n in names_of(name):
                assert f"def {n}(" in src or f"class {n}:" in src, f"the exercises are proved in order: {n}"
            call = f"check.{check_of(exercise)}({', '.join(names_of(name))})"
            assert sum(call in s for s in code) == 1, f"the notebook calls {call} once, after the exercise"
        checks = sorted(n for n in dir(module) if n.startswith("check_"))
        assert checks == sorted(check_of(ex) for ex in exercises)

    def test_enough_mistakes_per_exercise():
        for ex, (_, _, wrongs, rights) in exercises.items():
            assert len(wrongs) >= 8 and len(rights) >= 2, ex

    @pytest.mark.parametrize("exercise", list(exercises))
    def test_check_fails_on_the_stub(exercise, stub):
        generated = load(ROOT / "labs" / lab)
        for n in names_of(exercises[exercise][1]):
            assert "NotImplementedError" in defining_cell(generated, n)
        with pytest.raises(CheckFailed, match="is not done yet") as info:
            run_check(exercise, answer_of(stub, exercise))
        assert "還沒有完成" in info.value.zh

    @pytest.mark.parametrize("exercise, i", wrong, ids=[f"{e}-{i}" for e, i in wrong])
    def test_wrong_answer_is_named_in_both_languages(exercise, i, capsys):
        answer, en, zh = exercises[exercise][2][i]
        with pytest.raises(CheckFailed) as info:
            run_check(exercise, answer)
        assert info.value.zh is not None and str(info.value) == f"{info.value.en}\n{info.value.zh}"
        assert re.search(en, info.value.en), info.value.en
        assert zh in info.value.zh, info.value.zh
        assert capsys.readouterr().out == "", "a failing check prints no ✓"

    def test_each_wrong_answer_has_its_own_message():
        """Within an exercise, answers with different mistakes get different messages (the same message only
        for two ways of writing one mistake, which the table marks by giving them the same phrases)."""
        for exercise, (_, _, wrongs, _) in exercises.items():
            seen = {}
            for answer, en, zh in wrongs:
                with pytest.raises(CheckFailed) as info:
                    run_check(exercise, answer)
                seen.setdefault(info.value.en, set()).add((en, zh))
            for message, phrases in seen.items():
                assert len(phrases) == 1, f"{exercise}: one message for different mistakes: {message}"

    @pytest.mark.parametrize("exercise", list(exercises))
    def test_check_passes_on_the_solution(exercise, capsys):
        run_check(exercise, answer_of(solution, exercise))
        out = capsys.readouterr().out.splitlines()
        assert len(out) == 2 and out[0].startswith("✓ Exercise") and out[1].startswith("✓ 練習")

    @pytest.mark.parametrize("exercise, i", right, ids=[f"{e}-{i}" for e, i in right])
    def test_correct_alternative_passes(exercise, i, capsys):
        run_check(exercise, exercises[exercise][3][i])
        out = capsys.readouterr().out.splitlines()
        assert out[0].startswith("✓ Exercise") and out[1].startswith("✓ 練習")

    for test in (test_every_lab_exercise_is_covered, test_enough_mistakes_per_exercise, test_check_fails_on_the_stub,
                 test_wrong_answer_is_named_in_both_languages, test_each_wrong_answer_has_its_own_message,
                 test_check_passes_on_the_solution, test_correct_alternative_passes):
        test.__module__ = into["__name__"]
        into[test.__name__] = test
