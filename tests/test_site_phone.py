"""The labs' short sidebar titles (tools/site_phone.py, through tools/book.py's toc_title)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from sitebuild import book

from helpers import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import site_phone  # noqa: E402


def staged(tmp_path: Path, edition, path: Path) -> Path:
    """The page as the edition stages it (converted to Simplified for zh-hans)."""
    out = tmp_path / edition.key / path.parent.name / path.name
    out.parent.mkdir(parents=True, exist_ok=True)
    if edition.convert:
        book.convert_notebook(path, out)
    else:
        out.write_bytes(path.read_bytes())
    return out


def lab_pages() -> list[Path]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    return [ROOT / f"{f}.ipynb" for f in files if f.startswith(("labs/", "solutions/"))]


@pytest.mark.parametrize("key", list(book.EDITIONS))
def test_every_lab_in_the_sidebar_has_a_short_title(tmp_path, key):
    edition, labs = book.EDITIONS[key], lab_pages()
    assert len(labs) >= 10
    for path in labs:
        title = book.toc_title(edition, staged(tmp_path, edition, path))
        number = path.stem.split("-")[0].lstrip("0")
        kind = site_phone.KINDS[path.parent.name][0 if key == "en" else 1]
        kind = book.zh_text(edition, kind) if key != "en" else kind
        assert title.startswith(f"{kind} {number}"), (path, title)
        assert site_phone.columns(title) <= site_phone.SIDEBAR_COLUMNS, (path, title)
        assert (" / " in title) is False and "from scratch" not in title and "從零" not in title, title
        if key == "zh-hans":
            assert book.to_simplified(title) == title, title
        if key != "en":
            assert "：" in title and any("\u4e00" <= ch <= "\u9fff" for ch in title.split("：")[1]), title


def test_the_examples_of_the_issue(tmp_path):
    en, hant = book.EDITIONS["en"], book.EDITIONS["zh-hant"]
    lab, sol = ROOT / "labs" / "01-gd-sgd.ipynb", ROOT / "solutions" / "01-gd-sgd.ipynb"
    assert book.toc_title(en, staged(tmp_path, en, lab)) == "Lab 1: GD and SGD"
    assert book.toc_title(hant, staged(tmp_path, hant, lab)) == "實驗 1：梯度下降與 SGD"
    assert book.toc_title(en, staged(tmp_path, en, sol)) == "Solutions 1: GD and SGD"
    assert book.toc_title(hant, staged(tmp_path, hant, sol)) == "解答 1：梯度下降與 SGD"


def test_a_lab_without_a_subject_keeps_its_own_title_without_from_scratch(tmp_path):
    heading = "# Lab 9: Lion from scratch / 實驗 9：從零實現 Lion (solutions / 解答)"
    path = tmp_path / "solutions" / "09-lion.ipynb"
    path.parent.mkdir()
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": [heading]}], "metadata": {},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert book.toc_title(book.EDITIONS["en"], path) == "Solutions 9: Lion"
    assert book.toc_title(book.EDITIONS["zh-hant"], path) == "解答 9：Lion"


def test_columns_count_wide_characters_twice():
    assert site_phone.columns("Lab 1") == 5
    assert site_phone.columns("實驗 1：SGD") == 4 + 2 + 2 + 3
