"""The site on a phone and in a narrow sidebar (issue 19): the labs' short sidebar titles.

A lab's heading is bilingual and long ("Lab 1: GD and SGD from scratch / 實驗 1：從零實現 GD
與 SGD (solutions / 解答)"); tools/book.py's toc_title gives the sidebar its half in the
edition's language, and `short_title` here makes that half short enough for the sidebar's
two lines: "Lab 1: GD and SGD", "實驗 1：梯度下降與 SGD", "Solutions 1: GD and SGD",
"解答 1：梯度下降與 SGD". The page keeps its full bilingual heading; the browser's tab and the
previous / next links use the short title too (tools/book.py _toc_titles).

The subject of each lab is written once, below, in English and in Traditional characters (the
Simplified edition converts it); a lab without an entry falls back to its own heading with
"from scratch" / "從零實現" left out. tests/test_browser_phone.py checks that every sidebar
entry fits (SIDEBAR_COLUMNS here, and two lines at the sidebar's width in the browser).

The rest of the phone work is static: _static/optbook-phone.css (the language menu, equations
that scroll inside their box, figures at their page size) and _templates/lang-switch.html.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

# file stem of the lab (labs/ and solutions/ share it) -> (English subject, Traditional subject)
SUBJECTS = {
    "01-gd-sgd": ("GD and SGD", "梯度下降與 SGD"),
    "02-momentum-nesterov": ("Momentum, Nesterov", "動量與 Nesterov"),
    "03-adagrad-rmsprop": ("Adagrad, RMSprop", "Adagrad 與 RMSprop"),
    "04-adam-adamw": ("Adam and AdamW", "Adam 與 AdamW"),
    "05-schedules": ("Schedules, clipping", "學習率調度與裁剪"),
}
# the words that open a sidebar title: (English, Traditional), for a lab and for its solutions
KINDS = {"labs": ("Lab", "實驗"), "solutions": ("Solutions", "解答")}
#: the widest a sidebar title may be, in columns (a CJK character takes two): two lines of the
#: sidebar hold about 2 x 26 columns; a title of at most this many never needs a third
SIDEBAR_COLUMNS = 32

_NUMBER = re.compile(r"(\d+)")
_SCRATCH = (" from scratch", "從零實現")


def columns(text: str) -> int:
    """The width of `text` in columns: 2 for a wide (CJK) character, 1 for the others."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def short_title(page: Path, halves: tuple[str, str], english: bool, convert: Callable[[str], str] = str) -> str:
    """The sidebar title of a staged lab or solutions page whose heading splits into `halves`
    (English, Chinese as staged). `convert` turns Traditional text into the edition's script.
    A page outside labs/ and solutions/ keeps its half of the heading."""
    en, zh = halves
    kind = KINDS.get(page.parent.name)
    number = _NUMBER.search(en)
    if kind is None or number is None:
        return en if english else zh
    subject = SUBJECTS.get(page.stem)
    if subject is not None:
        text = subject[0] if english else convert(subject[1])
    else:  # not listed: the lab's own title, after its number, without "from scratch"
        text = re.split(r"[:：]\s*", (en if english else zh).split(" (")[0].split("（")[0], maxsplit=1)[-1]
        for words in _SCRATCH:
            text = text.replace(words, "").strip()
    if english:
        return f"{kind[0]} {number.group(1)}: {text}"
    return f"{convert(kind[1])} {number.group(1)}：{text}"
