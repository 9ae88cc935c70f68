"""The English and Chinese editions are parallel: same files, same cells in the same order,
byte-identical code, and the same labels, equations, references and figures per cell."""

from __future__ import annotations

import re

import pytest

from helpers import EN, ZH, chapter_names, load, source

NAMES = chapter_names()
LABEL = re.compile(r"^\(([\w-]+)\)=\s*$", re.M)  # a MyST target: (label)=
EQ_LABEL = re.compile(r"\$\$\s*\(([\w-]+)\)")  # $$ ... $$ (label)
ROLE = re.compile(r"\{(eq|ref|numref|doc|cite:p|cite:t|cite|term|download)\}`([^`]*)`")
HEADING = re.compile(r"^(#{1,6}) ", re.M)
ADMONITION_CLASS = re.compile(r":class:\s*(.+)")
DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)


def _pairs():
    return [(load(EN / n), load(ZH / n)) for n in NAMES]


def test_same_files_in_both_editions():
    en = {p.name for p in EN.iterdir() if p.suffix in {".ipynb", ".md"}}
    zh = {p.name for p in ZH.iterdir() if p.suffix in {".ipynb", ".md"}}
    assert en == zh, f"only in English: {sorted(en - zh)}; only in Chinese: {sorted(zh - en)}"


@pytest.mark.parametrize("name", NAMES)
def test_same_cells_and_identical_code(name):
    en, zh = load(EN / name), load(ZH / name)
    assert [c["cell_type"] for c in en["cells"]] == [c["cell_type"] for c in zh["cells"]], "cell types differ"
    for i, (a, b) in enumerate(zip(en["cells"], zh["cells"])):
        assert a.get("metadata", {}).get("tags", []) == b.get("metadata", {}).get("tags", []), f"cell {i}: tags differ"
        if a["cell_type"] == "code":
            assert source(a) == source(b), f"cell {i}: code differs between the editions"
            assert a.get("outputs") == b.get("outputs"), f"cell {i}: outputs differ: re-execute both editions"


def _roles(text):
    # Citations and references must match; {doc} and {term} targets may be worded per edition.
    return sorted((r, t) for r, t in ROLE.findall(text) if r not in {"term"})


@pytest.mark.parametrize("name", NAMES)
def test_markdown_cells_carry_the_same_structure(name):
    en, zh = load(EN / name), load(ZH / name)
    for i, (a, b) in enumerate(zip(en["cells"], zh["cells"])):
        if a["cell_type"] != "markdown":
            continue
        ta, tb = source(a), source(b)
        where = f"{name}, cell {i}"
        assert LABEL.findall(ta) == LABEL.findall(tb), f"{where}: section labels differ"
        assert EQ_LABEL.findall(ta) == EQ_LABEL.findall(tb), f"{where}: equation labels differ"
        assert len(DISPLAY_MATH.findall(ta)) == len(DISPLAY_MATH.findall(tb)), (
            f"{where}: number of display equations differs"
        )
        assert [len(h) for h in HEADING.findall(ta)] == [len(h) for h in HEADING.findall(tb)], (
            f"{where}: headings differ"
        )
        assert _roles(ta) == _roles(tb), f"{where}: references or citations differ"
        assert ADMONITION_CLASS.findall(ta) == ADMONITION_CLASS.findall(tb), f"{where}: admonitions differ"


@pytest.mark.parametrize("name", [p.name for p in EN.glob("*.md")])
def test_markdown_pages_carry_the_same_structure(name):
    ta, tb = (EN / name).read_text(encoding="utf-8"), (ZH / name).read_text(encoding="utf-8")
    assert LABEL.findall(ta) == LABEL.findall(tb)
    assert EQ_LABEL.findall(ta) == EQ_LABEL.findall(tb)
    assert _roles(ta) == _roles(tb)
