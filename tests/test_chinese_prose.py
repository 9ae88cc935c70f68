"""The Chinese prose: what a native reader trips over, each class of finding made a rule.

* one term, one word: terms.tsv's ``avoid`` column lists the variants a page must not use;
* the English term in parentheses at its first use in a chapter's body prose;
* no English words inside ``\\text{}`` of a formula;
* quoted section titles (見「…」一節) name sections that exist;
* in the rendered pages, a section reference sits inside 「」 and an equation reference
  follows 式, so a title with commas and colons does not run into the sentence;
* no ambiguous 倍 (「提高了 3 倍」: to 3× or by 3×?);
* the thirty-second answers of the interview questions in one form, italic as in English.

Each rule is proven on a small failing example as well.
"""

from __future__ import annotations

import csv
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sitebuild import built_site, pages

from helpers import CJK, ROOT, ZH, load, source

TERMS = list(csv.DictReader((ROOT / "terms.tsv").open(encoding="utf-8", newline=""), delimiter="\t"))
CHAPTERS = sorted(ZH.glob("*.ipynb"))
PAGES = CHAPTERS + sorted(ZH.glob("*.md")) + sorted((ROOT / "solutions").glob("*.ipynb"))


def md_cells(path: Path) -> list[str]:
    """The Markdown a Chinese reader reads: a chapter's cells; of a bilingual lab, the Chinese paragraphs."""
    if path.suffix == ".md":
        return [path.read_text(encoding="utf-8")]
    cells = [source(c) for c in load(path)["cells"] if c["cell_type"] == "markdown"]
    if path.parent.name == "solutions":  # English first, then 中文, in the same cell
        cells = ["\n\n".join(p for p in re.split(r"\n\s*\n", c) if CJK.search(p)) for c in cells]
    return cells


# ------------------------------------------------------------------ prose extraction

_FENCE = re.compile(r"^(`{3,}|~{3,}).*?^\1\s*$", re.S | re.M)
_DISPLAY = re.compile(r"\$\$.*?\$\$(\s*\([\w:-]+\))?", re.S)
_INLINE_MATH = re.compile(r"\$[^$\n]+\$")
_ROLE = re.compile(r"\{[\w:-]+\}`[^`]*`")
_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def body_prose(md: str) -> str:
    """The body prose of a Markdown cell: no code, math, headings, captions, labels, link texts."""
    text = _FENCE.sub(" ", md)
    text = _DISPLAY.sub(" ", text)
    kept = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith(("#", ":::", "```", ":class:", ":label:", ":name:", ":width:", ":alt:")) or re.match(
            r"^\([\w:-]+\)=$", s
        ):
            kept.append("")  # headings, directive lines and their titles (captions), labels
            continue
        kept.append(line)
    text = "\n".join(kept)
    text = _ROLE.sub(" ", text)
    text = _CODE.sub(" ", text)
    text = _INLINE_MATH.sub(" ", text)
    return _LINK.sub(" ", text)


# ------------------------------------------------------------------ one term, one word


def avoided(texts: list[str]) -> list[str]:
    found = []
    for row in TERMS:
        for variant in filter(None, (v.strip() for v in row.get("avoid", "").split("|"))):
            for t in texts:
                if variant in t:
                    found.append(f"{variant!r} (write {row['zh_hant']!r}, {row['en']!r})")
                    break
    return found


def test_every_term_row_has_an_avoid_column():
    assert TERMS and "avoid" in TERMS[0], "terms.tsv needs the column 'avoid' (variants a page must not use)"
    assert any(r["avoid"] for r in TERMS)
    for row in TERMS:
        for v in filter(None, row["avoid"].split("|")):
            assert v.strip() != row["zh_hant"], f"{row['en']}: the form to write cannot also be avoided"


def test_the_avoided_variants_check_catches_one():
    row = next(r for r in TERMS if r["avoid"])
    assert avoided([f"這裡用了{row['avoid'].split('|')[0]}。"])


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_one_term_one_word(path):
    texts = [_FENCE.sub(" ", t) for t in md_cells(path)]
    assert not avoided(texts), f"{path.name} uses variants the book avoids: {avoided(texts)}"


# ------------------------------------------------------------- English at first use


def _english_forms(en: str) -> list[str]:
    base = en.lower()
    forms = {base, base.replace("-", " "), base.replace(" ", "-"), base.replace("-", "")}
    return sorted(forms)


def first_use_missing(prose: str, zh: str, en: str) -> str | None:
    """None when the first use of ``zh`` in ``prose`` is followed by its English in parentheses."""
    i = prose.find(zh)
    if i < 0:
        return None
    after = prose[i + len(zh) : i + len(zh) + 8]
    m = re.match(r"\s*[（(]([^）)]*)[）)]", prose[i + len(zh) :])
    if m and any(f in m.group(1).lower() for f in _english_forms(en)):
        return None
    # the English may also stand in the parentheses of a longer term that contains this one
    for j in range(max(0, i - 12), i + 1):
        m = re.match(r"[^（(。\n]{0,20}?[（(]([^）)]*)[）)]", prose[j:])
        if m and i < j + m.start(1) and any(f in m.group(1).lower() for f in _english_forms(en)):
            return None
    return f"{zh} ({en}) first used without its English: …{prose[max(0, i - 12) : i + len(zh)]}{after}…"


# everyday words listed in terms.tsv only for their avoided variants
FIRST_USE_EXEMPT = {"optimal"}


def chapter_first_uses(path: Path) -> list[str]:
    prose = "\n".join(body_prose(t) for t in md_cells(path))
    out = []
    for row in TERMS:
        if row["en"] in FIRST_USE_EXEMPT:
            continue
        problem = first_use_missing(prose, row["zh_hant"], row["en"])
        if problem:
            out.append(problem)
    return out


def test_the_first_use_check_catches_a_missing_english():
    assert first_use_missing("學習率決定步長。學習率（learning rate）", "學習率", "learning rate")
    assert first_use_missing("學習率（learning rate）決定步長。", "學習率", "learning rate") is None
    assert first_use_missing("隨機梯度下降（stochastic gradient descent）", "梯度下降", "gradient descent") is None


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_english_at_first_use_in_each_chapter(path):
    problems = chapter_first_uses(path)
    assert not problems, f"{path.name}: " + "; ".join(problems)


# ----------------------------------------------------------- English inside \text{}

# Words a formula may keep in English inside \text{} (names and operators, not prose).
TEXT_ALLOWED = {"lr", "sgd", "adam", "adamw", "adagrad", "rmsprop", "adadelta", "nag", "nesterov", "tr", "diag",
                "softmax", "sign", "max", "min", "argmin", "argmax", "var", "cov", "std", "mean", "relu", "gd",
                "ema", "pytorch", "torch", "tensorflow", "keras", "ln", "post", "pre", "l2",
                # labels of symbols (f_loss, kappa_local, sigma_noise), not prose
                "loss", "noise", "local", "train", "val", "test", "batch", "simple", "eff", "opt", "init"}
_TEXT = re.compile(r"\\(?:text|textrm|mbox|textit|textbf)\{([^{}]*)\}")


def english_in_text(md: str) -> list[str]:
    math = " ".join(m.group(0) for m in re.finditer(r"\$\$.*?\$\$|\$[^$\n]+\$", md, re.S))
    out = []
    for m in _TEXT.finditer(math):
        body = re.sub(r"[A-Za-z]+(?:\\_[A-Za-z]+)+", " ", m.group(1))  # identifiers such as weight\_decay
        words = [w for w in re.findall(r"[A-Za-z]{2,}", body) if w.lower() not in TEXT_ALLOWED]
        if words:
            out.append(m.group(0))
    return out


def test_the_text_check_catches_english():
    assert english_in_text(r"$$x \quad \text{for all } k$$")
    assert not english_in_text(r"$$\text{lr} \cdot g \quad \text{對所有 } k$$")


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_no_english_inside_text_of_formulas(path):
    found = [t for md in md_cells(path) for t in english_in_text(md)]
    assert not found, f"{path.name}: English inside \\text{{}} of a Chinese formula: {found}"


# ---------------------------------------------------------- quoted section titles

_QUOTED_SECTION = re.compile(r"「([^「」]{2,60})」(?:一節|這一節|那一節|小節)|見「([^「」]{2,60})」")


def headings() -> set[str]:
    out = set()
    for path in PAGES + sorted((ROOT / "chapters" / "en").glob("*.ipynb")):
        for md in md_cells(path):
            for line in md.splitlines():
                if line.startswith("#"):
                    title = re.sub(r"[*`$]", "", line.lstrip("#").strip())
                    out.add(title)
                    # bilingual lab titles: each half is a title the text may quote
                    out.update(part.strip() for part in title.split(" / "))
    return out


def unresolved_titles(texts: list[str], known: set[str]) -> list[str]:
    out = []
    for t in texts:
        for m in _QUOTED_SECTION.finditer(t):
            quoted = m.group(1) or m.group(2)
            if re.search(r"\{[\w:-]+\}`", quoted):
                continue  # a {ref} role: Sphinx resolves it, and the build fails on a broken one
            title = re.sub(r"[*`$]", "", quoted)
            if title not in known and (m.group(1) or _looks_like_title(title)):
                out.append(title)
    return out


def _looks_like_title(title: str) -> bool:
    # 見「…」 also quotes words; only a quote of a heading's length and shape counts as a title
    return len(title) >= 6 and not title.endswith(("的", "了"))


def test_the_title_check_catches_a_missing_section():
    assert unresolved_titles(["見「NumPy，從零實現」一節。"], {"用 NumPy 從零實現"}) == ["NumPy，從零實現"]
    assert unresolved_titles(["見「用 NumPy 從零實現」一節。"], {"用 NumPy 從零實現"}) == []
    assert unresolved_titles(["見「{ref}`mom-numpy`」一節。"], set()) == []


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_quoted_section_titles_exist(path):
    texts = [_FENCE.sub(" ", t) for t in md_cells(path)]
    missing = unresolved_titles(texts, headings())
    assert not missing, f"{path.name} quotes section titles that no page has: {missing}"


# -------------------------------------------------------------------- ambiguous 倍

_BEI = re.compile(r"(提高|增加|增長|增大|加快|擴大|長|(?<!放)大|快|多)了?\s*"
                  r"(\$[^$]+\$|[\d.,]+|[一二三四五六七八九十百千萬兩幾]+)\s*倍")


def ambiguous_bei(text: str) -> list[str]:
    return [m.group(0) for m in _BEI.finditer(text) if "原來的" not in text[max(0, m.start() - 6) : m.end()]]


def test_the_bei_check_catches_the_ambiguous_form():
    assert ambiguous_bei("上限提高了 $1+\\beta$ 倍")
    assert ambiguous_bei("時間只長了六倍")
    assert not ambiguous_bei("上限提高到原來的 $1+\\beta$ 倍")
    assert not ambiguous_bei("步數約為原來的六倍")


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_no_ambiguous_bei(path):
    found = [b for md in md_cells(path) for b in ambiguous_bei(_FENCE.sub(" ", md))]
    assert not found, f"{path.name}: 「提高了 N 倍」 reads as ×(N+1); write 「提高到原來的 N 倍」: {found}"


# ----------------------------------------------------------- thirty-second answers


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_thirty_second_answers_are_italic_as_in_english(path):
    texts = "\n".join(md_cells(path))
    assert "**30 秒回答" not in texts, f"{path.name}: write *30 秒回答。* in italic, as every chapter does"
    if ":class: dropdown interview" in texts:
        assert "*30 秒回答。*" in texts


# -------------------------------------------------------- rendered cross-references


class _Refs(HTMLParser):
    """Text before and after every section and equation reference of a page's main text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.refs: list[tuple[str, int, int, str]] = []  # kind, start, end, label
        self._in: list[str] = []
        self._start = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = a.get("class") or ""
        if tag == "a" and "reference internal" in cls:
            kind = "eq" if (a.get("href") or "").split("#")[-1].startswith("equation-") else "a"
            self._in.append(kind)
            self._start = len("".join(self.text))
        elif tag == "span" and "std-ref" in cls and self._in:
            self._in[-1] = "sec"
        elif tag in ("a",):
            self._in.append("other")

    def handle_endtag(self, tag):
        if tag == "a" and self._in:
            kind = self._in.pop()
            if kind in ("sec", "eq"):
                end = len("".join(self.text))
                self.refs.append((kind, self._start, end, "".join(self.text)[self._start : end]))

    def handle_data(self, data):
        self.text.append(data)


def ref_faults(page_html: str, quotes: tuple[str, str] = ("「", "」")) -> list[str]:
    main = page_html.split('<main', 1)[-1].split("</main>", 1)[0]
    p = _Refs()
    p.feed(main)
    text = "".join(p.text)
    out = []
    for kind, start, end, label in p.refs:
        before, after = text[max(0, start - 14) : start], text[end : end + 1]
        if kind == "sec" and not (before.endswith(quotes[0]) and after == quotes[1]):
            out.append(f"section reference not in {''.join(quotes)}: …{before}{label}{text[end:end + 6]}…")
        if kind == "eq" and "式" not in before:
            out.append(f"equation reference without 式: …{before}{label}…")
    return out


def test_the_reference_check_catches_a_bare_title_and_a_bare_equation():
    page = ('<main><p>見 <a class="reference internal" href="#x"><span class="std std-ref">證明：兩種寫法</span></a>'
            '一節，<a class="reference internal" href="#equation-a">(8)</a>。</p></main>')
    assert len(ref_faults(page)) == 2
    good = ('<main><p>見「<a class="reference internal" href="#x"><span class="std std-ref">證明：兩種寫法</span></a>」'
            '一節，式 <a class="reference internal" href="#equation-a">(8)</a>。</p></main>')
    assert ref_faults(good) == []


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return built_site(tmp_path_factory)


def test_rendered_cross_references_read_well_in_chinese(site):
    problems = {}
    for key, quotes in (("zh-hant", ("「", "」")), ("zh-hans", ("“", "”"))):
        for page in pages(site / key):
            faults = ref_faults(page.read_text(encoding="utf-8"), quotes)
            if faults:
                problems[page.relative_to(site).as_posix()] = faults[:5] + ([f"... {len(faults)} in all"]
                                                                           if len(faults) > 5 else [])
    assert not problems, problems


# ------------------------------------------------------------------ one form of percent


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_percent_written_one_way(path):
    prose = "\n".join(body_prose(t) for t in md_cells(path))
    spaced = re.findall(r"\d \s*%", prose)
    assert not spaced, f"{path.name}: write 30%, as the Chinese chapters do, not 30 %: {spaced}"


# ------------------------------------------- the Simplified edition, checked before any build

# The built-site test (tests/test_book.py) finds a Traditional character that the conversion left
# behind only after a three-minute build. This check runs the build's own conversion over every
# Chinese Markdown cell: each run of Chinese characters it produces must already be Simplified
# (a fixed point of t2s), as the glossary's Traditional forms are the only ones shown on purpose.
# OpenCC's tw2s leaves 於 after some words (取決於 -> 取决於, 一個關於 -> 一个關於), which is how
# this check was found to be needed.


def _left_traditional(md: str) -> list[str]:
    import sys

    import opencc

    sys.path.insert(0, str(ROOT / "tools"))
    import book

    t2s = opencc.OpenCC("t2s")
    return sorted({run for run in CJK.findall(book.to_simplified(md)) if t2s.convert(run) != run})


def test_the_simplified_check_catches_a_left_over_character():
    assert _left_traditional("這個結果取決於單位。") == ["这个结果取决於单位"]
    assert _left_traditional("學習率") == []


@pytest.mark.parametrize("path", [p for p in PAGES if p.name != "glossary.md"], ids=lambda p: p.name)
def test_the_conversion_leaves_no_traditional_character(path):
    left = [run for cell in md_cells(path) for run in _left_traditional(cell)]
    assert not left, f"{path.name}: OpenCC's tw2s leaves these runs half-converted, reword them: {left}"
