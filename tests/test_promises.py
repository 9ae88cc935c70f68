"""What the book promises its reader, checked (issue 19).

* **No promise the book does not keep.** Every mention of a chapter in the Markdown of the
  chapters, labs and solutions ("Chapter 12", "Chapters 10–11", "第 12 章", "第 10、11 章",
  "第十二章" ...) names chapters in _toc.yml, or says right after it that it is planned
  (`Chapter 12 (planned)`, `第 12 章（規劃中）`), and then is no link; a chapter said to be
  planned that is in _toc.yml is a stale promise. The preface's table of chapters follows
  the same rule row by row.
* **Key points.** Every chapter 01–13 ends (its last Markdown cell) with
  `(<prefix>-key-points)=` and `## Key points` / `## 要點`: five bullets, each ending with a
  `{ref}` to a section of that chapter, the same sections in both editions.
* **Alt text.** Every code cell that shows figures gives, in its metadata, the sentence that
  says what to see (`optbook.alt`, one per figure), in its edition's language; every image
  of the built pages carries it as its alt (tools/site_reading.py), in every edition.

Each rule is proven on small fake inputs first (a bad reference, a missing key point, a
notebook with and without alt text, down to the HTML of a small Sphinx build), then applied
to the book.
"""

from __future__ import annotations

import copy
import html
import json
import re
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from sitebuild import small_site

from helpers import CJK, EN, ROOT, ZH, load, source

sys.path.insert(0, str(ROOT / "tools"))
import site_reading  # noqa: E402

import book  # noqa: E402

# --------------------------------------------------------------------- the table of contents


def toc_chapters(toc: dict | None = None) -> set[int]:
    """The numbers of the chapters in _toc.yml (chapters/en/NN-...)."""
    toc = toc if toc is not None else yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = re.findall(r"chapters/en/(\d+)-", json.dumps(toc))
    return {int(n) for n in files}


def written_pages() -> list[Path]:
    """The pages whose Markdown the authors write: both chapters' editions, labs, solutions."""
    out = []
    for d in (EN, ZH, ROOT / "labs", ROOT / "solutions"):
        out += sorted(p for p in d.glob("*") if p.suffix in {".ipynb", ".md"})
    return out


def markdown_cells(path: Path) -> list[str]:
    if path.suffix == ".md":
        return [path.read_text(encoding="utf-8")]
    return [source(c) for c in load(path)["cells"] if c["cell_type"] == "markdown"]


# --------------------------------------------------------------------- chapter references

ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
ZH_NUM = r"(?:\d+|[零〇一二兩三四五六七八九十]+)"
RANGE = r"(?:–|—|-|~|～|至|到|to)"
EN_LIST = r"(?:–|—|-|to|and|or|&|,|, and|, or)"
ZH_LIST = r"(?:–|—|-|~|～|至|到|、|，|,|和|與|与|及|或)"
# "Chapter 12", "Chapters 10–11", "Chapters 3, 4 and 5" (a list only after "Chapters")
EN_REF = re.compile(rf"\b[Cc]hapter\s+(\d+)\b|\b[Cc]hapters\s+(\d+(?:\s*{EN_LIST}\s*\d+)*)\b")
# "第 12 章", "第 10–11 章", "第 10、11 章", "第十二章"
ZH_REF = re.compile(rf"第\s*({ZH_NUM}(?:\s*{ZH_LIST}\s*{ZH_NUM})*)\s*章")
PLANNED = {"en": re.compile(r"\s*\(planned\)"), "zh": re.compile(r"\s*（規劃中）")}
# words that make a mention a promise of a chapter to come, near it (before or after)
PROMISE = re.compile(r"planned|forthcoming|upcoming|not yet written|to come|future chapter|"
                     r"規劃|計劃中|计划中|尚未|將來|即將|待寫|后续将|後續將", re.I)
NEAR = 16  # characters either side of a mention searched for PROMISE


def zh_number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if "十" in text:
        tens, _, units = text.partition("十")
        return (ZH_DIGITS[tens] if tens else 1) * 10 + (ZH_DIGITS[units] if units else 0)
    return int("".join(str(ZH_DIGITS[c]) for c in text))


def chapter_numbers(listed: str) -> list[int]:
    """The chapters a mention names: "10–11" -> [10, 11], "1-9" -> 1..9, "3, 4 and 5" -> [3, 4, 5]."""
    tokens = re.findall(rf"{ZH_NUM}|{RANGE}", listed)
    out, pending_range = [], False
    for tok in tokens:
        if re.fullmatch(RANGE, tok):
            pending_range = bool(out)
            continue
        n = zh_number(tok)
        if pending_range and out and n > out[-1]:
            out += list(range(out[-1] + 1, n + 1))
        else:
            out.append(n)
        pending_range = False
    return out


def _in_link(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is the text of a link: [ ... ](...) or a {doc}/{ref} role."""
    before, after = text[:start], text[end:]
    line_before = before.rsplit("\n", 1)[-1]
    markdown_link = re.search(r"\[[^\]]*$", line_before) and re.match(r"[^\[\n]*\]\(", after)
    role = re.search(r"\{(?:doc|ref|numref)\}`[^`]*$", line_before)
    return bool(markdown_link or role)


def reference_problems(text: str, toc: set[int], lang: str) -> list[str]:
    """What is wrong with the chapter mentions of a Markdown text (lang: "en" or "zh")."""
    problems = []
    pattern = EN_REF if lang == "en" else ZH_REF
    mentions = list(pattern.finditer(text))
    for k, m in enumerate(mentions):
        listed = next(g for g in m.groups() if g)
        numbers = chapter_numbers(listed)
        missing = [n for n in numbers if n not in toc]
        marked = PLANNED[lang].match(text, m.end()) is not None
        # the words around this mention, up to the mentions before and after it
        lo = max(m.start() - NEAR, mentions[k - 1].end() if k else 0)
        hi = min(m.end() + NEAR, mentions[k + 1].start() if k + 1 < len(mentions) else len(text))
        window = text[lo : m.start()] + text[m.end() : hi]
        promised = marked or PROMISE.search(window) is not None
        where = text[max(0, m.start() - 30) : m.end() + 20].replace("\n", " ")
        if missing and not marked:
            problems.append(f"chapter {missing} is not in _toc.yml, and the text does not say it is planned: …{where}…")
        elif missing and _in_link(text, m.start(), m.end()):
            problems.append(f"planned chapter {missing} written as a link: …{where}…")
        elif not missing and promised:
            problems.append(f"chapter {numbers} is in _toc.yml, but the text still promises it: …{where}…")
    return problems


TABLE_ROW = re.compile(r"^\|\s*(\d{1,2})\s*\|([^|\n]*)\|", re.M)
ROW_PLANNED = re.compile(r"\(planned\)|（規劃中）")


def table_problems(text: str, toc: set[int]) -> list[str]:
    """The preface's table of chapters: a row of a chapter not in _toc.yml says it is
    planned and is no link; a chapter in it is linked and not said to be planned."""
    problems = []
    for m in TABLE_ROW.finditer(text):
        n, title = int(m.group(1)), m.group(2).strip()
        linked = "{doc}" in title
        planned = ROW_PLANNED.search(title) is not None
        if n not in toc and (not planned or linked):
            problems.append(f"table row {n} ({title}): not in _toc.yml, so it must say planned and not link")
        elif n in toc and (planned or not linked):
            problems.append(f"table row {n} ({title}): in _toc.yml, so it must link the chapter and not say planned")
    return problems


def page_lang(path: Path) -> list[str]:
    """The languages a page's Markdown is written in (labs and solutions: both)."""
    if path.parent == EN:
        return ["en"]
    if path.parent == ZH:
        return ["zh"]
    return ["en", "zh"]


def page_reference_problems(path: Path, toc: set[int]) -> list[str]:
    problems = []
    for k, text in enumerate(markdown_cells(path)):
        for lang in page_lang(path):
            problems += [f"Markdown cell {k}: {p}" for p in reference_problems(text, toc, lang)]
        if path.stem == "00-preface":
            problems += [f"Markdown cell {k}: {p}" for p in table_problems(text, toc)]
    return problems


def test_chapter_mentions_are_found_and_judged():
    """The rule on texts with known answers, with chapters 1-11 in the table of contents."""
    toc = set(range(1, 12))
    ok = [
        ("en", "As Chapter 3 showed, and Chapters 10–11 measure, Chapters 1-9 derive each one."),
        ("en", "Chapter 12 (planned) will gather them; see Chapters 3, 4 and 5."),
        ("en", "The CNN of Chapter 10, one and a half decades (Chapter 4 uses the same data), 150 steps."),
        ("zh", "第 3 章證明了這一點；第 10–11 章、第 1 至 9 章、第 10、11 章都在目錄中。"),
        ("zh", "以便第 12 章（規劃中）把它們匯總成一份清單。"),
        ("zh", "| 在 CNN 與 Transformer 上的公平比較 | 第 10、11 章；第 12 章（規劃中） |"),
        ("en", "A schedule is planned for a budget of steps."),  # "planned", but no chapter near
    ]
    for lang, text in ok:
        assert reference_problems(text, toc, lang) == [], text
    bad = [
        ("en", "see Chapter 12 for the answer", "not in _toc.yml"),
        ("en", "Chapters 10–13 compare them", "[12, 13]"),
        ("en", "[Chapter 12 (planned)](12-choosing.ipynb) gathers them", "as a link"),
        ("en", "decoupled decay: the planned Chapter 8).", "still promises"),
        ("en", "a schedule is still needed (Chapter 9, planned);", "still promises"),
        ("en", "Chapter 7 (planned) derives it", "still promises"),
        ("zh", "詳見第 12 章。", "not in _toc.yml"),
        ("zh", "見第十二章。", "[12]"),
        ("zh", "第 10–13 章比較了它們", "[12, 13]"),
        ("zh", "見計劃中的第 8 章）", "still promises"),
        ("zh", "仍然需要學習率調度（見第 9 章（規劃中））", "still promises"),
    ]
    for lang, text, why in bad:
        problems = reference_problems(text, toc, lang)
        assert len(problems) == 1 and why in problems[0], (text, problems)
    assert chapter_numbers("1–9") == list(range(1, 10)) and chapter_numbers("十二") == [12]
    assert chapter_numbers("10、11") == [10, 11] and zh_number("二十") == 20 and zh_number("十三") == 13
    table = "| 11 | {doc}`11-x` | a |\n| 12 | Choosing (planned) | b |\n| 13 | Costs | c |\n| 9 | Schedules | d |\n"
    assert [p.split(" (")[0] for p in table_problems(table, toc)] == ["table row 13", "table row 9"]


def test_a_fake_chapter_with_a_bad_reference_fails(tmp_path):
    """The file-level check on a fake notebook: one bad reference in a Markdown cell is
    reported with its cell; a code cell's comment is not prose and is not read."""
    nb = {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# A chapter\n", "\n", "As Chapter 2 showed."]},
        {"cell_type": "code", "metadata": {}, "source": ["# Chapter 14 is not prose\n"], "outputs": [],
         "execution_count": None},
        {"cell_type": "markdown", "metadata": {}, "source": ["Chapter 12 answers this."]},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "chapters" / "en" / "05-fake.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(nb), encoding="utf-8")
    problems = page_reference_problems(path, set(range(1, 12)))
    assert len(problems) == 1 and problems[0].startswith("Markdown cell 1: chapter [12]"), problems
    nb["cells"][2]["source"] = ["Chapter 12 (planned) answers this."]
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert page_reference_problems(path, set(range(1, 12))) == []
    # once Chapter 12 is written, the same sentence is a stale promise
    assert "still promises" in page_reference_problems(path, set(range(1, 13)))[0]


def test_toc_chapters_are_read_from_the_table_of_contents():
    assert toc_chapters({"parts": [{"chapters": [{"file": "chapters/en/01-a"}, {"file": "labs/01-a"},
                                                 {"file": "chapters/en/12-b"}]}]}) == {1, 12}
    assert {1, 2, 3} <= toc_chapters()


@pytest.mark.parametrize("path", written_pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_page_promises_a_chapter_the_book_does_not_have(path):
    problems = page_reference_problems(path, toc_chapters())
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------- key points

KEY_HEADING = {"en": "## Key points", "zh": "## 要點"}
KP_LABEL = re.compile(r"\(([a-z0-9]+)-key-points\)=")
REF = re.compile(r"\{ref\}`(?:[^`<]*<)?([^`<>]+)>?`")
# the bullet ends with a parenthesis holding the ref: "({ref}`x`)." or "（見「{ref}`x`」一節）。"
ENDS_WITH_REF = re.compile(r"[(（][^()（）]*?\{ref\}`(?:[^`<]*<)?([^`<>]+)>?`[^()（）]*[)）][.。]?$")
LABEL = re.compile(r"^\(([\w-]+)\)=\s*$", re.M)


def chapter_prefix(labels: list[str]) -> str | None:
    """The label prefix of a chapter: the one most of its labels start with (adam-...)."""
    counts = Counter(label.split("-")[0] for label in labels if "-" in label)
    return counts.most_common(1)[0][0] if counts else None


def bullets(text: str) -> list[str]:
    """The top-level bullets of a Markdown text, each with its continuation lines joined."""
    out, current = [], None
    for line in text.splitlines():
        if re.match(r"[-*+] ", line):
            current = line[2:].strip()
            out.append(current)
        elif current is not None and line.strip() and (line.startswith((" ", "\t"))):
            out[-1] = f"{out[-1]} {line.strip()}"
        elif not line.strip():
            current = None
        else:
            current = None
    return out


def key_points(nb: dict, lang: str) -> tuple[list[str], list[str]]:
    """The refs of a chapter's key points, in order, and what is wrong with them."""
    cells = [source(c) for c in nb["cells"] if c["cell_type"] == "markdown"]
    labels = [label for text in cells for label in LABEL.findall(text)]
    prefix = chapter_prefix(labels)
    if not cells:
        return [], ["no Markdown cell"]
    last = cells[-1].strip()
    lines = [line for line in last.splitlines() if line.strip()]
    problems = []
    if len(lines) < 2 or lines[0].strip() != f"({prefix}-key-points)=" or lines[1].strip() != KEY_HEADING[lang]:
        head = " / ".join(line.strip() for line in lines[:2])
        return [], [f"the last Markdown cell does not open with ({prefix}-key-points)= and "
                    f"{KEY_HEADING[lang]!r}: it opens with {head[:80]!r}"]
    items = bullets(last)
    if len(items) != 5:
        problems.append(f"{len(items)} bullets, not five")
    refs, own = [], set(labels) - {f"{prefix}-key-points"}
    for k, item in enumerate(items, 1):
        end = ENDS_WITH_REF.search(item)
        if not end:
            problems.append(f"bullet {k} does not end with ({{ref}}`label`): {item[-60:]!r}")
            continue
        for label in REF.findall(item):
            if label not in own:
                problems.append(f"bullet {k}: {{ref}}`{label}` is not a section of this chapter")
        refs.append(end.group(1))
    return refs, problems


def chapters_owing_key_points() -> list[str]:
    names = {p.name for d in (EN, ZH) for p in d.glob("*.ipynb")}
    return sorted(n for n in names if re.match(r"(0[1-9]|1[0-3])-", n))


def _fake_chapter(last: str, labels=("fk-why", "fk-rate", "fk-bound", "fk-see", "fk-code")) -> dict:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": f"({label})=\n## Section {label}\n"}
             for label in labels]
    return {"cells": cells + [{"cell_type": "markdown", "metadata": {}, "source": last}]}


GOOD_KEY_POINTS = (
    "(fk-key-points)=\n## Key points\n\n"
    "- The step must stay below two over the curvature ({ref}`fk-rate`).\n"
    "- The rate is set by the condition number ({ref}`fk-bound`).\n"
    "- A noisy gradient stops at a floor\n  that the step size sets ({ref}`fk-see`).\n"
    "- Why it is needed ({ref}`fk-why`).\n"
    "- Ten lines of NumPy match PyTorch ({ref}`fk-code`).\n"
)


def test_key_points_rule_on_fake_chapters():
    refs, problems = key_points(_fake_chapter(GOOD_KEY_POINTS), "en")
    assert problems == [] and refs == ["fk-rate", "fk-bound", "fk-see", "fk-why", "fk-code"]
    zh = GOOD_KEY_POINTS.replace("## Key points", "## 要點")
    zh = zh.replace("({ref}`fk-code`).", "（見「{ref}`fk-code`」一節）。")
    assert key_points(_fake_chapter(zh), "zh")[1] == []
    assert "opens with" in key_points(_fake_chapter(GOOD_KEY_POINTS), "zh")[1][0]
    four = GOOD_KEY_POINTS.rsplit("- Ten", 1)[0]
    assert key_points(_fake_chapter(four), "en")[1] == ["4 bullets, not five"]
    foreign = GOOD_KEY_POINTS.replace("fk-bound", "adam-bias")
    assert key_points(_fake_chapter(foreign), "en")[1] == [
        "bullet 2: {ref}`adam-bias` is not a section of this chapter"]
    no_ref = GOOD_KEY_POINTS.replace(" ({ref}`fk-why`)", "")
    assert "bullet 4 does not end with" in key_points(_fake_chapter(no_ref), "en")[1][0]
    not_last = _fake_chapter(GOOD_KEY_POINTS)
    not_last["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "## Exercises\n"})
    assert "does not open with (fk-key-points)=" in key_points(not_last, "en")[1][0]


@pytest.mark.parametrize("name", chapters_owing_key_points())
def test_every_chapter_ends_with_five_key_points(name):
    problems, refs = [], {}
    for lang, folder in (("en", EN), ("zh", ZH)):
        if not (folder / name).is_file():
            problems.append(f"{lang}: {name} is missing")
            continue
        refs[lang], found = key_points(load(folder / name), lang)
        problems += [f"{lang}: {p}" for p in found]
    if len(refs) == 2 and refs["en"] != refs["zh"]:
        problems.append(f"the editions' key points link different sections: en {refs['en']}, zh {refs['zh']}")
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------------------ alt text

FILE_NAME = re.compile(r"^\S*\.(png|svg|jpe?g|gif)$|_images/|^[0-9a-f]{16,}|^(png|image|figure|plot|img)$", re.I)


def is_sentence(alt: str, lang: str) -> bool:
    """A sentence saying what to see: words (en: four or more; zh: eight or more characters
    of Chinese), not a file name or a bare word."""
    alt = alt.strip()
    if not alt or FILE_NAME.search(alt):
        return False
    if lang == "en":
        return len(re.findall(r"[A-Za-z]+", alt)) >= 4 and not CJK.search(alt)
    return sum(len(m) for m in CJK.findall(alt)) >= 8


def figure_cells(nb: dict) -> list[tuple[int, dict, int]]:
    """(index, cell, number of figures) of the code cells that show figures."""
    out = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            n = sum(1 for o in cell.get("outputs", []) if site_reading.is_figure(o))
            if n:
                out.append((i, cell, n))
    return out


def alt_metadata_problems(nb: dict, lang: str) -> list[str]:
    """Every figure cell gives one sentence per figure, in the page's language(s)."""
    problems, seen = [], Counter()
    for i, cell, n in figure_cells(nb):
        alts = site_reading.figure_alts(cell.get("metadata", {}))
        if alts is None:
            problems.append(f"cell {i}: {n} figure(s) but no metadata optbook.alt")
            continue
        if len(alts) != n:
            problems.append(f"cell {i}: {n} figure(s) but {len(alts)} alt text(s)")
        for alt in alts:
            seen[alt] += 1
            langs = ["en", "zh"] if lang == "both" else [lang]
            if not any(is_sentence(alt, la) for la in langs):
                problems.append(f"cell {i}: alt {alt!r} is not a sentence in {lang}")
    problems += [f"alt {alt!r} used for {k} figures: say what each one shows" for alt, k in seen.items() if k > 1]
    return problems


def test_alt_metadata_rule_on_a_fake_notebook():
    png = {"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "<Figure>"}, "metadata": {}}
    cell = {"cell_type": "code", "metadata": {}, "source": "plot()", "outputs": [png, png]}
    nb = {"cells": [cell]}
    assert alt_metadata_problems(nb, "en") == ["cell 0: 2 figure(s) but no metadata optbook.alt"]
    cell["metadata"]["optbook"] = {"tolerance": {"rtol": 0.1}, "alt": "The loss falls ten times faster."}
    assert alt_metadata_problems(nb, "en") == ["cell 0: 2 figure(s) but 1 alt text(s)"]
    cell["metadata"]["optbook"]["alt"] = ["The loss falls ten times faster.", "fig.png"]
    assert alt_metadata_problems(nb, "en") == ["cell 0: alt 'fig.png' is not a sentence in en"]
    cell["metadata"]["optbook"]["alt"] = ["The loss falls ten times faster.", "Both paths end at the minimum."]
    assert alt_metadata_problems(nb, "en") == []
    assert alt_metadata_problems(nb, "zh") != []  # English alt text in a Chinese page
    assert is_sentence("左圖中動量的路徑在谷底來回擺動。", "zh") and not is_sentence("2d7b775f4fa62b1d6de8.png", "en")


NOTEBOOK_PAGES = [(EN, "en"), (ZH, "zh"), (ROOT / "solutions", "both"), (ROOT / "labs", "both")]


@pytest.mark.parametrize("path,lang", [(p, lang) for d, lang in NOTEBOOK_PAGES for p in sorted(d.glob("*.ipynb"))],
                         ids=lambda x: x.relative_to(ROOT).as_posix() if isinstance(x, Path) else x)
def test_every_figure_cell_says_what_to_see(path, lang):
    problems = alt_metadata_problems(load(path), lang)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", sorted(p.name for p in EN.glob("*.ipynb")))
def test_alt_text_in_both_editions_for_the_same_figures(name):
    if not (ZH / name).is_file():
        pytest.fail(f"{name} has no Chinese twin")
    counts = [[len(site_reading.figure_alts(c.get("metadata", {})) or []) for _, c, _ in figure_cells(load(d / name))]
              for d in (EN, ZH)]
    assert counts[0] == counts[1], f"alt texts per figure cell: en {counts[0]}, zh {counts[1]}"


# ------------------------------------------------------- alt text: staging and the built HTML


ONE_PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def _png_output() -> dict:
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": ONE_PIXEL, "text/plain": ["<Figure size 100x100 with 1 Axes>"]}}


def _slider_output() -> dict:
    from optbook.interactive import slider

    frames = [bytes.fromhex("89504e470d0a1a0a") + bytes([k]) for k in range(3)]
    out = slider(frames, ["0.1", "0.2", "0.3"], param="η", title="Learning rate")
    data = {"text/html": out.data.splitlines(keepends=True), "text/plain": ["<IPython.core.display.HTML object>"]}
    return {"output_type": "display_data", "metadata": {}, "data": data}


def fake_notebook(alt_png, alt_slider) -> dict:
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Fake\n"]},
        {"cell_type": "code", "metadata": {}, "source": ["plot()"], "outputs": [_png_output()],
         "execution_count": 1},
        {"cell_type": "code", "metadata": {}, "source": ["slide()"], "outputs": [_slider_output()],
         "execution_count": 2},
    ]
    if alt_png is not None:
        cells[1]["metadata"]["optbook"] = {"alt": alt_png}
    if alt_slider is not None:
        cells[2]["metadata"]["optbook"] = {"tolerance": {"rtol": 0.1, "why": "test"}, "alt": alt_slider}
    for k, cell in enumerate(cells):
        cell["id"] = f"cell-{k}"
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return {"cells": cells, "metadata": {"kernelspec": kernel}, "nbformat": 4, "nbformat_minor": 5}


def slider_alts(nb: dict) -> list[str]:
    markup = "".join(nb["cells"][2]["outputs"][0]["data"]["text/html"])
    return [html.unescape(a) for a in re.findall(r'<img[^>]*\salt="([^"]*)"', markup)]


def test_staging_writes_the_alt_into_sliders_and_converts_it():
    nb = fake_notebook("圖中學習率越大，路徑越早發散。", ["拖動滑塊：學習率超過臨界值後，軌跡開始來回震盪。"])
    before = copy.deepcopy(nb)
    assert slider_alts(nb) == ["Learning rate, η = 0.1", "Learning rate, η = 0.2", "Learning rate, η = 0.3"]
    assert site_reading.stage_alt_text(nb, book.simplified_text) is True
    assert nb["cells"][1]["metadata"]["optbook"]["alt"] == "图中学习率越大，路径越早发散。"
    assert nb["cells"][2]["metadata"]["optbook"]["alt"] == ["拖动滑块：学习率超过临界值后，轨迹开始来回震荡。"]
    assert nb["cells"][2]["metadata"]["optbook"]["tolerance"] == before["cells"][2]["metadata"]["optbook"]["tolerance"]
    assert slider_alts(nb) == [f"拖动滑块：学习率超过临界值后，轨迹开始来回震荡。（η = 0.{k}）" for k in (1, 2, 3)]
    assert [c["source"] for c in nb["cells"]] == [c["source"] for c in before["cells"]]  # code untouched
    # the frames still switch: the markup but for the alt is as the slider wrote it
    strip = re.compile(r'\salt="[^"]*"')
    assert strip.sub("", "".join(nb["cells"][2]["outputs"][0]["data"]["text/html"])) == \
        strip.sub("", "".join(before["cells"][2]["outputs"][0]["data"]["text/html"]))
    en = fake_notebook("The larger rate diverges first.",
                       "Drag the slider: past the critical rate the path oscillates.")
    assert site_reading.stage_alt_text(en) is True and slider_alts(en)[0].endswith("oscillates. (η = 0.1)")
    none = fake_notebook(None, None)
    assert site_reading.stage_alt_text(none, book.simplified_text) is False
    assert slider_alts(none)[0] == "Learning rate, η = 0.1"  # left for the tests to report


class _Images(HTMLParser):
    """The alt of every <img> inside the page's <article> (the header's logos are not figures)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.alts: list[str | None] = []
        self._article = 0

    def handle_starttag(self, tag, attrs):
        if tag == "article":
            self._article += 1
        elif tag == "img" and self._article:
            self.alts.append(dict(attrs).get("alt"))

    def handle_endtag(self, tag):
        if tag == "article":
            self._article -= 1


def page_alt_problems(page_html: str, expected: list[str], lang: str) -> list[str]:
    """Every image of a built page has an alt from its notebook's metadata (a slider's frame:
    that alt followed by its value), a sentence, and not all the same."""
    parser = _Images()
    parser.feed(page_html)
    problems = []
    for k, alt in enumerate(parser.alts):
        alt = (alt or "").strip()
        base = re.sub(r"\s*[(（][^()（）]*[)）]$", "", alt) if alt not in expected else alt
        if alt not in expected and base not in expected:
            problems.append(f"image {k}: alt {alt[:70]!r} is not the alt text of its cell's metadata")
        elif not is_sentence(alt, lang) and not (lang == "both" and (is_sentence(alt, "en") or is_sentence(alt, "zh"))):
            problems.append(f"image {k}: alt {alt[:70]!r} is not a sentence")
    frames = Counter(re.sub(r"\s*[(（][^()（）]*[)）]$", "", a or "") for a in parser.alts)
    if len(parser.alts) >= 2 and len(frames) == 1 and len(set(parser.alts)) == 1:
        problems.append(f"all {len(parser.alts)} images have the same alt")
    return problems


def test_alt_text_reaches_the_html_of_a_small_book(tmp_path):
    """A two-notebook Sphinx build with myst-nb and the book's extension: the PNG and the
    slider frames of the notebook with metadata carry its sentences; the one without fails."""

    src = tmp_path / "src"
    (src / "chapters" / "en").mkdir(parents=True)
    expected = ["The loss falls ten times faster with momentum.",
                "Drag the slider: the path oscillates past the critical rate."]
    good = fake_notebook(expected[0], [expected[1]])
    site_reading.stage_alt_text(good)
    (src / "chapters" / "en" / "good.ipynb").write_text(json.dumps(good), encoding="utf-8")
    (src / "chapters" / "en" / "bare.ipynb").write_text(json.dumps(fake_notebook(None, None)), encoding="utf-8")
    index = "# Index\n\n```{toctree}\nchapters/en/good\nchapters/en/bare\n```\n"
    (src / "index.md").write_text(index, encoding="utf-8")
    small_site(src, tmp_path)
    good_html = (tmp_path / "html" / "chapters" / "en" / "good.html").read_text(encoding="utf-8")
    bare_html = (tmp_path / "html" / "chapters" / "en" / "bare.html").read_text(encoding="utf-8")
    assert 'alt="The loss falls ten times faster with momentum."' in good_html
    assert "critical rate. (η = 0.3)" in html.unescape(good_html)
    assert page_alt_problems(good_html.replace("<body", "<body><article>").replace("</body>", "</article></body>"),
                             expected, "en") == []
    bare = page_alt_problems(bare_html.replace("<body", "<body><article>").replace("</body>", "</article></body>"),
                             expected, "en")
    assert len(bare) == 4 and all("is not the alt text of its cell's metadata" in p for p in bare), bare


# the built site: once per session, shared with the browser tests (tests/sitebuild.py)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    from sitebuild import built_site

    return built_site(tmp_path_factory)


def _built_pages():
    out = []
    for key, edition in book.EDITIONS.items():
        for d, lang in NOTEBOOK_PAGES:
            for p in sorted(d.glob("*.ipynb")):
                folder = edition.src if d in (EN, ZH) else d.name
                if (d == EN) != (key == "en") and d in (EN, ZH):
                    continue
                out.append((key, p, f"{folder}/{p.stem}.html", lang))
    return out


@pytest.mark.parametrize("key,notebook,page,lang", _built_pages(),
                         ids=lambda x: x.relative_to(ROOT).as_posix() if isinstance(x, Path) else str(x))
def test_every_image_of_the_built_pages_has_its_alt_text(site, key, notebook, page, lang):
    built = site / key / page
    if not built.is_file():
        pytest.fail(f"{key}/{page} was not built (is {notebook.name} in _toc.yml?)")
    convert = book.simplified_text if book.EDITIONS[key].convert else (lambda s: s)
    expected = [convert(a) for _, c, _ in figure_cells(load(notebook))
                for a in site_reading.figure_alts(c.get("metadata", {})) or []]
    problems = page_alt_problems(built.read_text(encoding="utf-8"), expected, lang)
    assert not problems, f"{key}/{page}:\n" + "\n".join(problems)
