"""optbook.numpy_optim is generated from the chapters: check that it is current and that the
generator keeps its promises (one owner per name, imports hoisted)."""

from __future__ import annotations

import importlib
import json
import sys

import pytest

from helpers import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import export  # noqa: E402


def test_module_is_current():
    current = (ROOT / "optbook" / "numpy_optim.py").read_text(encoding="utf-8")
    assert current == export.render(), (
        "optbook/numpy_optim.py differs from the chapters' export cells: run `make export`"
    )


def test_every_exported_name_is_importable():
    module = importlib.import_module("optbook.numpy_optim")
    for name in module.__all__:
        assert hasattr(module, name), name


def _book(tmp_path, cells_per_chapter):
    (tmp_path / "chapters" / "en").mkdir(parents=True)
    for name, cells in cells_per_chapter.items():
        nb = {
            "cells": [
                {"cell_type": "code", "metadata": {"tags": tags}, "source": src, "outputs": [], "execution_count": None}
                for src, tags in cells
            ],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        (tmp_path / "chapters" / "en" / name).write_text(json.dumps(nb))
    return tmp_path


def test_render_hoists_imports_and_keeps_chapter_order(tmp_path):
    root = _book(
        tmp_path,
        {
            "02-b.ipynb": [("import numpy as np\n\nclass B:\n    x = np.pi\n", ["export"])],
            "01-a.ipynb": [
                ("import numpy as np\n\ndef a():\n    return np.e\n", ["export"]),
                ("print('not exported')\n", []),
            ],
        },
    )
    text = export.render(root)
    assert text.count("import numpy as np") == 1
    assert text.index("def a()") < text.index("class B")
    assert "__all__ = ['a', 'B']" in text
    assert "not exported" not in text
    namespace = {}
    exec(compile(text, "numpy_optim", "exec"), namespace)
    assert namespace["a"]() == pytest.approx(2.718281828)


def test_a_name_defined_in_two_chapters_is_refused(tmp_path):
    root = _book(
        tmp_path,
        {
            "01-a.ipynb": [("class SGD:\n    pass\n", ["export"])],
            "03-c.ipynb": [("class SGD:\n    pass\n", ["export"])],
        },
    )
    with pytest.raises(export.ExportError, match="'SGD' is exported by both 01-a.ipynb and 03-c.ipynb"):
        export.render(root)


def test_a_broken_export_cell_is_reported(tmp_path):
    root = _book(tmp_path, {"01-a.ipynb": [("def broken(:\n", ["export"])]})
    with pytest.raises(export.ExportError, match="not valid Python"):
        export.render(root)


def test_render_puts_first_party_imports_in_their_own_block(tmp_path):
    root = _book(
        tmp_path,
        {"01-a.ipynb": [("import numpy as np\nfrom optbook.param_groups import ParamGroups\n\n"
                         "class A(ParamGroups):\n    x = np.pi\n", ["export"])]},
    )
    text = export.render(root)
    assert "import numpy as np\n\nfrom optbook.param_groups import ParamGroups\n" in text
