"""The three editions as `make book` builds them (warnings as errors), checked: page
languages, the language switch, Chinese search, the generated glossary. The build is the one
the site and browser tests share (tests/sitebuild.py)."""

from __future__ import annotations

import csv
import html
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import opencc
import pytest
import yaml
from sitebuild import built_site, pages

from helpers import CJK, ROOT

sys.path.insert(0, str(ROOT / "tools"))
import book  # noqa: E402

TERMS = list(csv.DictReader((ROOT / "terms.tsv").open(encoding="utf-8", newline=""), delimiter="\t"))
# t2s, not the book's tw2s: a check that text is already Simplified needs a conversion that leaves
# Simplified text as it is, and tw2s does not (显著 → 显着). The particle 著 and the quotation marks
# of the built pages are checked by tests/test_chinese.py.
T2S = opencc.OpenCC("t2s")
LANG = {"en": "en", "zh-hant": "zh-Hant", "zh-hans": "zh-Hans"}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return built_site(tmp_path_factory)


def search_terms(edition_dir: Path) -> dict:
    text = (edition_dir / "searchindex.js").read_text(encoding="utf-8")
    index = json.loads(text[text.index("(") + 1 : text.rindex(")")])
    return {**index["titleterms"], **index["terms"]}


def test_root_page_links_every_edition(site):
    index = (site / "index.html").read_text(encoding="utf-8")
    links = re.findall(r'href="([^"#]+)" hreflang="([^"]+)"', index)
    assert sorted(lang for _, lang in links) == sorted(LANG.values()), links
    for link, _ in links:
        assert (site / link).is_file(), f"the language chooser links to a missing page: {link}"


# ------------------------------------------------------------------ the root page (front door)


VOID = {"meta", "link", "br", "hr", "img", "input", "source", "wbr", "area", "base", "col", "embed", "track"}


class FrontDoor(HTMLParser):
    """The root page read as a browser would, strictly: every element closed in order, and
    every text run with the language of its nearest element that has one."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str | None]] = []  # (tag, lang)
        self.errors: list[str] = []
        self.texts: list[tuple[str, str | None, tuple[str, ...]]] = []  # (text, lang, open tags)
        self.links: list[dict] = []
        self.metas: list[dict] = []
        self.ids: list[str] = []
        self.doctype = ""
        self.styles: list[str] = []

    def lang(self):
        return next((lang for _, lang in reversed(self.stack) if lang), None)

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "a":
            self.links.append({**a, "text": "", "lang": a.get("lang") or self.lang()})
        if tag == "meta":
            self.metas.append(a)
        if tag not in VOID:
            self.stack.append((tag, a.get("lang")))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1][0] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1][0] if self.stack else 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data):
        tags = tuple(t for t, _ in self.stack)
        if "style" in tags:
            self.styles.append(data)
        elif data.strip():
            self.texts.append((data.strip(), self.lang(), tags))
            if "a" in tags and self.links:
                self.links[-1]["text"] += data


@pytest.fixture(scope="module")
def front(site) -> FrontDoor:
    page = FrontDoor()
    page.feed((site / "index.html").read_text(encoding="utf-8"))
    page.close()
    return page


def test_root_page_is_valid_small_and_readable_on_a_phone(site, front):
    size = (site / "index.html").stat().st_size
    assert size < 12 * 1024, f"the root page weighs {size} bytes"
    assert front.doctype.lower() == "doctype html"
    assert not front.errors and not front.stack, (front.errors, front.stack)
    assert len(front.ids) == len(set(front.ids)), "duplicate ids"
    assert any(m.get("charset", "").lower() == "utf-8" for m in front.metas)
    viewport = next(m["content"] for m in front.metas if m.get("name") == "viewport")
    assert "width=device-width" in viewport and "initial-scale=1" in viewport
    css = "".join(front.styles)
    fixed = re.findall(r"(?<![-\w])(?:min-)?width\s*:\s*[\d.]+(?:px|rem|em|pt|cm|mm|in)\b", css)
    assert not fixed, f"fixed widths overflow a phone: {fixed}"
    assert not re.search(r"@import|url\(|@font-face", css), "the root page fetches fonts or stylesheets"
    text = (site / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"<link\b|<script\b|<img\b|<iframe\b", text), "the root page loads something"


def test_root_page_marks_the_language_of_every_text(front):
    """English text under lang="en", Traditional under zh-Hant, Simplified under zh-Hans."""
    s2t = opencc.OpenCC("s2t")
    seen = set()
    for text, lang, tags in front.texts:
        if "title" in tags:
            continue  # <title> names the book in the three scripts: no element can mark that
        assert lang in LANG.values(), f"{text!r} has no language (lang={lang})"
        seen.add(lang)
        runs = CJK.findall(text)
        if lang == "en":
            assert not runs, f"Chinese {runs} marked as English"
        else:
            assert runs or text in {"·", "SGD", "AdamW"}, f"{text!r} marked {lang}"
            for run in runs:
                if lang == "zh-Hans":
                    assert T2S.convert(run) == run, f"{run!r} marked zh-Hans is not Simplified"
                else:
                    assert s2t.convert(run) == run, f"{run!r} marked zh-Hant is not Traditional"
    assert seen == set(LANG.values())


def test_root_page_is_the_books_front_door(site, front):
    """The title in the three scripts, a line on the book in each language, the three editions,
    each edition's section on how to read the book, and the repository."""
    h1 = [(text, lang) for text, lang, tags in front.texts if "h1" in tags]
    titles = {"en": book._config_title(), "zh-Hant": book.TITLE_ZH, "zh-Hans": book.simplified_text(book.TITLE_ZH)}
    assert sorted(h1, key=lambda x: x[1]) == sorted(((t, lang) for lang, t in titles.items()), key=lambda x: x[1])
    how_to_read = {
        "en": "Who it is for, and how to read it",
        "zh-Hant": "適合誰讀，怎麼讀",
        "zh-Hans": "适合谁读，怎么读",
    }
    for key, lang in LANG.items():
        src = book.EDITIONS[key].src
        about = [t for t, la, tags in front.texts if la == lang and tags[-1] == "p" and "a" not in tags]
        assert about and len(max(about, key=len)) >= 40, f"no line on what the book is in {lang}: {about}"
        own = [a for a in front.links if a.get("hreflang") == lang]
        read = [a for a in own if "#" not in a["href"]]
        assert len(read) == 1 and read[0]["href"] == f"{key}/{src}/00-preface.html", own
        assert read[0]["text"].strip() and read[0]["lang"] == lang
        how = [a for a in own if "#" in a["href"]]
        assert len(how) == 1, own
        path, anchor = how[0]["href"].split("#")
        target = (site / path).read_text(encoding="utf-8")
        heading = re.search(rf'<section id="{re.escape(anchor)}">\s*<h2>(.*?)<a class="headerlink"', target)
        assert heading, f"{how[0]['href']}: no such section"
        assert html.unescape(heading.group(1)).strip() == how_to_read[lang] == how[0]["text"].strip()
    repo = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]["url"]
    assert [a["href"] for a in front.links if a["href"] == repo] == [repo], "no link to the repository"


@pytest.mark.parametrize("key", list(book.EDITIONS))
def test_each_edition_has_only_its_own_pages_and_language(site, key):
    edition_dir = site / key
    other = "chapters/zh" if key == "en" else "chapters/en"
    htmls = pages(edition_dir)
    assert len(htmls) >= 4
    for page in htmls:
        rel = page.relative_to(edition_dir).as_posix()
        assert not rel.startswith(other), f"{key} contains another edition's page {rel}"
        text = page.read_text(encoding="utf-8")
        if 'http-equiv="Refresh"' in text or 'http-equiv="refresh"' in text:
            continue  # Jupyter Book's redirect to the root page
        assert f'<html lang="{LANG[key]}"' in text, f"{key}/{rel}: wrong <html lang>"


@pytest.mark.parametrize("key", list(book.EDITIONS))
def test_every_page_links_to_its_twins(site, key):
    checked = 0
    for page in pages(site / key):
        text = page.read_text(encoding="utf-8")
        if "optbook-lang-switch" not in text:
            assert "http-equiv" in text.lower(), f"{page.relative_to(site)} has no language switch"
            continue
        nav = text[text.index("optbook-lang-switch") : text.index("</nav>", text.index("optbook-lang-switch"))]
        links = re.findall(r'href="([^"]+)" hreflang="([^"]+)"', nav)
        assert sorted(lang for _, lang in links) == sorted(v for k, v in LANG.items() if k != key)
        for href, _ in links:
            target = (page.parent / href).resolve()
            assert target.is_file(), f"{page.relative_to(site)}: the switch points to a missing page {href}"
            assert target.name == page.name, f"{page.relative_to(site)}: the switch leads to {href}, not its twin"
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize("key, column", [("zh-hant", "zh_hant"), ("zh-hans", "zh_hans")])
def test_chinese_search_finds_every_term(site, key, column):
    terms = search_terms(site / key)
    missing = [row[column] for row in TERMS for word in CJK.findall(row[column]) if word not in terms]
    assert not missing, f"the {key} search index lacks these terms: {missing}"
    for word in ("梯度下降", "學習率" if key == "zh-hant" else "学习率", "動量" if key == "zh-hant" else "动量"):
        assert word in terms


def test_english_search_finds_terms(site):
    terms = search_terms(site / "en")
    for word in ("gradient", "momentum", "adamw", "optim"):
        assert word in terms, word


@pytest.mark.parametrize(
    "key, placeholder", [("en", "Search this book"), ("zh-hant", "搜索本書"), ("zh-hans", "搜索本书")]
)
def test_interface_strings_in_the_editions_script(site, key, placeholder):
    zh_skip = {"zh-hant": "跳到正文", "zh-hans": "跳到正文"}
    root_page = next(p for p in pages(site / key) if "00-preface" in p.name)
    text = root_page.read_text(encoding="utf-8")
    assert placeholder in text
    if key != "en":  # the theme's own strings, from tools/i18n/theme.zh_Hant.po
        assert zh_skip[key] in text and "Skip to main content" not in text


def test_simplified_edition_is_simplified(site):
    for page in pages(site / "zh-hans"):
        text = page.read_text(encoding="utf-8")
        body = text[text.find("<main") : text.find("</main>")]
        body = re.sub(r'<nav class="optbook-lang-switch".*?</nav>', " ", body, flags=re.S)  # names itself
        body = re.sub(r"<[^>]+>", " ", body)
        # the glossary shows the Traditional and Taiwan forms on purpose, also those with Latin inside
        # ("經驗 Fisher 矩陣"): every run of Chinese characters of such a form is allowed on that page
        shown = {run for row in TERMS for form in (row["zh_hant"], row["zh_tw"]) for run in CJK.findall(form)}
        for run in CJK.findall(body):
            if page.name == "glossary.html" and run in shown:
                continue
            assert T2S.convert(run) == run, f"{page.name}: {run!r} is not Simplified"


@pytest.mark.parametrize("key", list(book.EDITIONS))
def test_glossary_lists_every_term(site, key):
    src = book.EDITIONS[key].src
    # as the reader sees it: entities decoded, typographic apostrophes (docutils' smart quotes) plain
    text = html.unescape((site / key / src / "glossary.html").read_text(encoding="utf-8")).replace("\u2019", "'")
    for row in TERMS:
        assert row["en"] in text
        assert row["zh_hans" if key == "zh-hans" else "zh_hant"] in text


# ------------------------------------------------------------- sidebars and titles of the labs


BILINGUAL = [f"{d}/{p.stem}" for d in ("labs", "solutions") for p in sorted((ROOT / d).glob("*.ipynb"))]


def expected_short_title(heading: str, key: str) -> str:
    """A bilingual heading's half in the edition's language: "English / 中文 (note / 註)"."""
    note = re.search(r" \((.+) / (.+)\)$", heading)
    main = heading[: note.start()] if note else heading
    en, zh = main.split(" / ")
    if key == "en":
        return f"{en} ({note.group(1)})" if note else en
    zh = f"{zh}（{note.group(2)}）" if note else zh
    return T2S.convert(zh) if key == "zh-hans" else zh


def sidebar(page: Path, edition: Path) -> dict[str, str]:
    """The sidebar's entries of a built page: {page it links to, relative to the edition: text}."""
    text = page.read_text(encoding="utf-8")
    start = text.index("bd-docs-nav")
    nav = text[start : text.index("</nav>", start)]
    entries = re.findall(r'<li class="toctree-l1[^"]*"><a class="[^"]*" href="([^"]+)">(.*?)</a>', nav, re.S)
    return {
        (page.parent / href).resolve().relative_to(edition.resolve()).as_posix()
        if href != "#"
        else page.relative_to(edition).as_posix(): html.unescape(title)
        for href, title in entries
    }


def test_the_labs_are_bilingual():
    assert len(BILINGUAL) >= 4
    for doc in BILINGUAL:
        heading = book.page_heading(ROOT / f"{doc}.ipynb")
        assert " / " in heading and CJK.search(heading), heading
        halves = (expected_short_title(heading, "en"), expected_short_title(heading, "zh-hant"))
        assert book.split_bilingual(heading) == halves
    assert book.split_bilingual("Lab 1: GD and SGD from scratch / 實驗 1：從零實現 GD 與 SGD (solutions / 解答)") == (
        "Lab 1: GD and SGD from scratch (solutions)",
        "實驗 1：從零實現 GD 與 SGD（解答）",
    )
    assert book.split_bilingual("Gradient descent") is None and book.split_bilingual("input / output") is None


@pytest.mark.parametrize("key", list(book.EDITIONS))
def test_sidebars_name_the_labs_in_the_editions_language(site, key):
    """Each edition's sidebar gives a bilingual page (a lab, a solution) its title in the edition's
    own language only, short; its tab title and its neighbours' next / previous links too. The
    page keeps its bilingual heading."""
    preface = next(p for p in pages(site / key) if p.name == "00-preface.html")
    entries = sidebar(preface, site / key)
    assert len(entries) >= 10, entries
    for doc in BILINGUAL:
        heading = book.page_heading(ROOT / f"{doc}.ipynb")
        import site_phone  # the labs' short titles (tools/site_phone.py; tools/ is on sys.path via sitebuild)

        halves = (expected_short_title(heading, "en"), expected_short_title(heading, "zh-hant"))
        convert = T2S.convert if key == "zh-hans" else str
        expected = site_phone.short_title(ROOT / f"{doc}.ipynb", halves, key == "en", convert)
        assert entries[f"{doc}.html"] == expected, f"{key} sidebar: {entries[f'{doc}.html']!r}, not {expected!r}"
        assert len(expected) <= (60 if key == "en" else 25) and len(expected) < len(heading), expected
        text = (site / key / f"{doc}.html").read_text(encoding="utf-8")
        title = html.unescape(re.search(r"<title>(.*?)</title>", text, re.S).group(1))
        assert title.startswith(expected + " \u2014 "), f"{key}/{doc}: <title> {title!r}"
        h1 = re.search(r'<article.*?<h1>(.*?)<a class="headerlink"', text, re.S).group(1)
        h1 = html.unescape(re.sub(r"<[^>]+>", "", h1))
        assert h1 == (T2S.convert(heading) if key == "zh-hans" else heading), f"{key}/{doc}: heading {h1!r}"
        for neighbour in re.findall(r'<p class="prev-next-title">(.*?)</p>', text, re.S):
            assert " / " not in neighbour, f"{key}/{doc}: a neighbour's link reads {neighbour!r}"
    for title in entries.values():
        assert " / " not in title, f"{key} sidebar: {title!r} is bilingual"
        if key != "en":
            assert not title.startswith("Lab"), f"{key} sidebar leads with English: {title!r}"


# --------------------------------------------------------------------- the glossary's wording


GLOSSARY_LABELS = {"zh-hant": ("繁體", "簡體", "臺灣用法"), "zh-hans": ("繁体", "简体", "台湾用法")}


def glossary_text(site: Path, key: str) -> str:
    page = (site / key / book.EDITIONS[key].src / "glossary.html").read_text(encoding="utf-8")
    main = page[page.index("<main") : page.index("</main>")]
    main = re.sub(r'<nav class="optbook-lang-switch".*?</nav>', " ", main, flags=re.S)
    main = re.sub(r'<a class="headerlink".*?</a>', "", main, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", main))


@pytest.mark.parametrize("key", ["zh-hant", "zh-hans"])
def test_chinese_glossary_uses_chinese_punctuation(site, key):
    text = glossary_text(site, key)
    hant, hans, tw = GLOSSARY_LABELS[key]
    optimizer = next(row for row in TERMS if row["en"] == "optimizer")
    names = f"（{hant}：{optimizer['zh_hant']}；{hans}：{optimizer['zh_hans']}；{tw}：{optimizer['zh_tw']}）"
    assert names in text, f"the {key} glossary does not write the names as {names}"
    ascii_next_to_cjk = re.findall(r"[\u3400-\u9fff] ?[:;,?!]|[:;,?!] ?[\u3400-\u9fff]", text)
    assert not ascii_next_to_cjk, f"ASCII punctuation in the {key} glossary's Chinese: {ascii_next_to_cjk[:10]}"


@pytest.mark.parametrize("key", list(book.EDITIONS))
def test_glossary_intro_describes_the_page(site, key):
    """The glossary is a definition list: its introduction speaks of entries, not of columns."""
    text = glossary_text(site, key)
    intro = text[: text.index("optimizer")]
    if key == "en":
        assert "column" not in intro and "entry" in intro, intro
    else:
        assert not re.search("[一二三第]列|列中|表格", intro), intro
        assert ("詞條" if key == "zh-hant" else "词条") in intro, intro
