"""The three editions as `make book` builds them (warnings as errors), checked: page
languages, the language switch, Chinese search, the generated glossary. The build is the one
the site and browser tests share (tests/sitebuild.py)."""

from __future__ import annotations

import csv
import html
import json
import re
import sys
from pathlib import Path

import opencc
import pytest
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
    links = re.findall(r'href="([^"]+)"', index)
    assert len(links) == 3
    for link in links:
        assert (site / link).is_file(), f"the language chooser links to a missing page: {link}"


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
        for run in CJK.findall(body):
            if run in {row["zh_hant"] for row in TERMS} | {row["zh_tw"] for row in TERMS}:
                continue  # the glossary shows the Traditional and Taiwan forms on purpose
            assert T2S.convert(run) == run, f"{page.name}: {run!r} is not Simplified"


@pytest.mark.parametrize("key", list(book.EDITIONS))
def test_glossary_lists_every_term(site, key):
    src = book.EDITIONS[key].src
    # as the reader sees it: entities decoded, typographic apostrophes (docutils' smart quotes) plain
    text = html.unescape((site / key / src / "glossary.html").read_text(encoding="utf-8")).replace("\u2019", "'")
    for row in TERMS:
        assert row["en"] in text
        assert row["zh_hans" if key == "zh-hans" else "zh_hant"] in text
