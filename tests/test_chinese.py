"""The Chinese edition: Traditional characters, the book's preferred terms, and a term list
consistent with itself; the Simplified edition made from it (tools/book.py): 著 as the particle
turned into 着, quotation marks turned into mainland ones, checked on the built pages too."""

from __future__ import annotations

import csv
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import opencc
import pytest
from sitebuild import built_site, pages

from helpers import CJK, ROOT, ZH, load, markdown

sys.path.insert(0, str(ROOT / "tools"))
import book  # noqa: E402

S2T = opencc.OpenCC("s2t")
T2S = opencc.OpenCC("t2s")
TW2S = opencc.OpenCC("tw2s")
TERMS = list(csv.DictReader((ROOT / "terms.tsv").open(encoding="utf-8", newline=""), delimiter="\t"))
# OpenCC's s2t prefers some older variant forms that are as correct in Traditional text as the
# common ones (才/纔, 裡/裏 ...), and it resolves a few characters that are one character in
# Simplified and two in Traditional by guessing from the phrase, sometimes wrongly for correct
# Traditional text (歐幾里得 → 裡, 干擾 → 幹, 證明了 → 瞭, 曲率 → 麴, 平台 → 臺). Both sides of
# the comparison are folded to one form for these characters only.
VARIANTS = str.maketrans("纔裏裡羣峯牀綫麪喫衆爲祕僞啓鷄幹乾瞭麴臺", "才里里群峰床線麵吃眾為秘偽啟雞干干了曲台")
PAGES = sorted(ZH.glob("*.ipynb")) + sorted(ZH.glob("*.md")) + sorted((ROOT / "solutions").glob("*.ipynb"))


def text_of(path):
    return markdown(load(path)) if path.suffix == ".ipynb" else path.read_text(encoding="utf-8")


def test_term_list_is_complete_and_consistent():
    assert TERMS, "terms.tsv is empty"
    seen = set()
    for row in TERMS:
        assert row["en"] and row["zh_hant"], row
        assert row["en"] not in seen, f"{row['en']} is listed twice"
        seen.add(row["en"])
        assert row["zh_hans"] == book.to_simplified(row["zh_hant"]), (
            f"{row['en']}: the Simplified form must be the book's conversion (OpenCC tw2s) of {row['zh_hant']!r}"
        )
        assert row["zh_tw"] != row["zh_hant"], f"{row['en']}: leave zh_tw blank when Taiwan uses the same form"
        assert row["def_en"] and row["def_zh"], f"{row['en']}: a definition in both languages"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_written_in_traditional_characters(path):
    text = text_of(path)
    for run in CJK.findall(text):
        converted = S2T.convert(run).translate(VARIANTS)
        assert converted == run.translate(VARIANTS), (
            f"{path.name}: {run!r} has Simplified characters; Traditional: {converted!r}"
        )


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_uses_the_books_terms(path):
    text = text_of(path)
    for row in TERMS:
        if row["zh_tw"]:
            assert row["zh_tw"] not in text, (
                f"{path.name} uses the Taiwan form {row['zh_tw']!r} for {row['en']!r}; "
                f"the book writes {row['zh_hant']!r}"
            )


# ------------------------------------------------------- the conversion to Simplified


# Words whose 著 stays 著 in Simplified that OpenCC's tw2s keeps by itself; book.KEEP_ZHU lists
# the ones it does not, which the book protects.
ZHU_KEPT_BY_TW2S = ("著名", "著作", "顯著", "著稱", "著者", "名著", "巨著", "合著", "著述", "著書", "著錄", "昭著")
ZHU_WORDS = sorted({book.to_simplified(w) for w in book.KEEP_ZHU + ZHU_KEPT_BY_TW2S}, key=len, reverse=True)
QUOTE_MARKS = re.compile("[「」『』]")


def converted_texts():
    """Every Chinese text the book converts to Simplified: the Chinese chapters' and the
    bilingual labs' and solutions' cells and stored text outputs, the Markdown pages, the term
    list, the interface catalogue and tools/book.py's own strings."""
    notebooks = sorted(ZH.glob("*.ipynb")) + sorted((ROOT / "labs").glob("*.ipynb"))
    notebooks += sorted((ROOT / "solutions").glob("*.ipynb"))
    for path in notebooks:
        for i, cell in enumerate(load(path)["cells"]):
            yield f"{path.name} cell {i}", "".join(cell["source"])
            for out in cell.get("outputs", []):
                if "text" in out:
                    yield f"{path.name} cell {i} stream", "".join(out["text"])
                for mime in book.OUTPUT_TEXT:
                    if mime in out.get("data", {}):
                        yield f"{path.name} cell {i} {mime}", "".join(out["data"][mime])
    for path in sorted(ZH.glob("*.md")):
        yield path.name, path.read_text(encoding="utf-8")
    for name in ("terms.tsv", "tools/i18n/theme.zh_Hant.po"):
        yield name, (ROOT / name).read_text(encoding="utf-8")
    strings = [book.TITLE_ZH, *(zh for _, zh in book.UI.values()), *book.CAPTIONS.values()]
    yield "tools/book.py", "\n".join(strings + [zh for _, zh in book.GLOSSARY_TEXT.values()])


def test_tw2s_differs_from_t2s_only_on_the_particle_zhu():
    """tw2s was chosen over t2s for 著 → 着 alone: over the book's text it must change nothing else."""
    checked = 0
    for where, text in converted_texts():
        a, b = T2S.convert(text), TW2S.convert(text)
        checked += len(text)
        assert len(a) == len(b), f"{where}: t2s and tw2s give texts of different lengths"
        other = {(x, y) for x, y in zip(a, b) if x != y and (x, y) != ("著", "着")}
        assert not other, f"{where}: tw2s and t2s differ on more than 著/着: {sorted(other)}"
    assert checked > 100_000


def test_the_particle_zhu_becomes_zhe():
    assert book.to_simplified("沿著山谷，隨著迭代，意味著趨勢，帶著動量") == "沿着山谷，随着迭代，意味着趋势，带着动量"


@pytest.mark.parametrize("word", book.KEEP_ZHU)
def test_protected_words_keep_zhu(word):
    assert "着" in TW2S.convert(word), f"tw2s converts {word} correctly: it needs no place in book.KEEP_ZHU"
    simplified = book.to_simplified(word)
    assert "著" in simplified and "着" not in simplified
    assert T2S.convert(word) == simplified  # the other characters converted as usual
    assert book.to_simplified(f"他沿著{word}走") == f"他沿着{simplified}走"


@pytest.mark.parametrize("word", ZHU_KEPT_BY_TW2S)
def test_words_tw2s_keeps_with_zhu(word):
    assert "著" in TW2S.convert(word) and "着" not in TW2S.convert(word), (
        f"tw2s turns the 著 of {word} into 着: list it in book.KEEP_ZHU"
    )
    assert book.to_simplified(word) == TW2S.convert(word)


def test_quotation_marks_in_simplified_markdown_but_not_in_code():
    page = "\n".join([
        "他說「沿著『谷底』走」。`s = \"「x」\"` 與 ``a `「y」` b`` 之後「z」",
        "```python", 'print("「不變」")', "```",
        ":::{note} 標題「甲」", "內文「乙」", ":::",
        "````{admonition} 「丙」", "```{code-cell} python", 'x = "「丁」"', "```", "後文「戊」", "````",
    ])
    assert book.simplified_markdown(page).split("\n") == [
        "他说“沿着‘谷底’走”。`s = \"「x」\"` 与 ``a `「y」` b`` 之后“z”",
        "```python", 'print("「不变」")', "```",
        ":::{note} 标题“甲”", "内文“乙”", ":::",
        "````{admonition} “丙”", "```{code-cell} python", 'x = "「丁」"', "```", "后文“戊”", "````",
    ]


def test_only_the_simplified_edition_changes_quotation_marks():
    assert book.zh_text(book.EDITIONS["zh-hant"], "「沿著」") == "「沿著」"
    assert book.zh_text(book.EDITIONS["zh-hans"], "「沿著」") == "“沿着”"


def test_simplified_notebook_converts_markdown_and_outputs_not_code(tmp_path):
    code = 'print("「沿著」")\n'
    nb = {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["「隨著」迭代\n", "`「碼」`"]},
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": [code], "outputs": [
            {"output_type": "stream", "name": "stdout", "text": ["「沿著」\n", "土著\n"]},
            {"output_type": "execute_result", "execution_count": 1, "metadata": {},
             "data": {"text/plain": "『意味著』", "image/png": "「不是文字」"}},
        ]},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    src, dst = tmp_path / "zh.ipynb", tmp_path / "hans.ipynb"
    src.write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    book.convert_notebook(src, dst)
    md, cell = json.loads(dst.read_text(encoding="utf-8"))["cells"]
    assert md["source"] == ["“随着”迭代\n", "`「码」`"]
    assert cell["source"] == [code]
    assert cell["outputs"][0]["text"] == ["“沿着”\n", "土著\n"]
    assert cell["outputs"][1]["data"] == {"text/plain": "‘意味着’", "image/png": "「不是文字」"}


# ------------------------------------------------------------- the built 简体 pages


class _VisibleText(HTMLParser):
    """A page's text as the reader sees it, without code (<pre>, <code>) and scripts."""

    HIDDEN = {"pre", "code", "script", "style", "template", "textarea"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if tag in self.open:
            while self.open.pop() != tag:
                pass

    def handle_data(self, data):
        if not self.HIDDEN & set(self.open):
            self.parts.append(data)


def simplified_faults(page_html: str) -> list[str]:
    """What in a Simplified page's visible text is left from the Traditional: 著 used as the
    particle (著 anywhere but in ZHU_WORDS) and the quotation marks 「」『』."""
    parser = _VisibleText()
    parser.feed(page_html)
    text = " ".join(parser.parts)
    masked = re.sub("|".join(ZHU_WORDS), lambda m: "\0" * len(m.group()), text)
    faults = [f"著 in {text[max(0, m.start() - 4) : m.end() + 4]!r}" for m in re.finditer("著", masked)]
    faults += [f"{m.group()} in {text[max(0, m.start() - 4) : m.end() + 4]!r}" for m in QUOTE_MARKS.finditer(text)]
    return faults


SYNTHETIC_PAGE = """<!DOCTYPE html><html lang="zh-Hans"><head><title>测试</title>
<script>const s = "「脚本」";</script></head><body><main>
<p>动量沿著山谷前进，即「重球」。</p>
<p>土著、著名、显著、原著都保留著。</p>
<pre>print("「代码」沿著")</pre><p>行内 <code>"『代码』"</code>。</p>
</main></body></html>"""


def test_the_simplified_page_check_catches_zhu_and_quotation_marks():
    faults = simplified_faults(SYNTHETIC_PAGE)
    assert sum("沿著" in f for f in faults) == 1, faults
    assert sum(f.startswith(("「", "」")) for f in faults) == 2, faults
    assert sum("保留著" in f for f in faults) == 1, faults  # the particle next to the kept words
    assert len(faults) == 4, f"the check reports what it should not (words that keep 著, code): {faults}"
    clean = SYNTHETIC_PAGE.replace("沿著", "沿着").replace("「重球」", "“重球”").replace("留著", "留着")
    assert simplified_faults(clean) == []


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return built_site(tmp_path_factory)


def test_built_simplified_pages_have_no_traditional_zhu_or_quotation_marks(site):
    checked, bad = 0, {}
    for page in pages(site / "zh-hans"):
        faults = simplified_faults(page.read_text(encoding="utf-8"))
        if faults:
            bad[page.relative_to(site).as_posix()] = faults
        checked += 1
    assert checked >= 5, f"only {checked} Simplified pages found"
    assert not bad, f"Simplified pages with 著 as the particle or 「」『』: {bad}"
