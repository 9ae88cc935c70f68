"""The Chinese edition: Traditional characters, the book's preferred terms, and a term list
consistent with itself."""

from __future__ import annotations

import csv

import opencc
import pytest

from helpers import CJK, ROOT, ZH, load, markdown

S2T = opencc.OpenCC("s2t")
T2S = opencc.OpenCC("t2s")
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
        assert row["zh_hans"] == T2S.convert(row["zh_hant"]), (
            f"{row['en']}: the Simplified form must be OpenCC's conversion of {row['zh_hant']!r}"
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
