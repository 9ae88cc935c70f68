"""Reading the built book (issue 19), in the browser of tests/test_browser.py and in the HTML:

* **Hide code / 只看正文.** The button at the top of a chapter hides the code cells and their
  text outputs (the share of the page's visible characters that is code falls from about half
  to about nothing) and keeps every figure and slider; the choice holds on the next page, in a
  lab, until the button is pressed again; its labels are the edition's (Simplified converted).
* **Anchors shared by the editions.** Every section's id (the `<section id>`) is its label, or
  the slug of its English heading, the same in the three editions (tools/site_reading.py);
  no section is left with a numbered id; every in-page link still lands on an id of its page.
* **The language switch keeps the place.** On `07-adam.html#adam-bias` each link of the switch
  ends with `#adam-bias` and, clicked, lands on the twin's section; a new fragment (hashchange),
  an old id of a section, or, without a fragment, the section scrolled to, update the links.
"""

from __future__ import annotations

import importlib
import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from sitebuild import book, is_redirect, pages, small_site
from test_browser import SWITCH, Visit, browser, open_page, playwright, server, site  # noqa: F401

from helpers import ROOT

site_reading = importlib.import_module("site_reading")  # tools/, which sitebuild puts on sys.path

# What the reader sees of a page's article: its visible characters, those of its code cells
# (a cell's innerText counts only what is rendered), its visible figures and text outputs, the
# hide-code button's state.
READING = """() => {
  const article = document.querySelector('article.bd-article');
  const shown = (e) => e.checkVisibility({visibilityProperty: true}) && e.getBoundingClientRect().width > 0;
  let code = 0;
  article.querySelectorAll('div.cell').forEach((c) => { if (shown(c)) code += c.innerText.trim().length; });
  const button = document.querySelector('button.optbook-hide-code');
  return {
    total: article.innerText.trim().length, code,
    figures: [...article.querySelectorAll('div.cell_output img, div.cell_output svg:not(button svg)')]
      .filter(shown).length,
    sliders: [...article.querySelectorAll('div.cell .optbook-slider')].filter(shown).length,
    textOutputs: [...article.querySelectorAll('div.cell_output .output.stream, div.cell_output .output.text_plain')]
      .filter(shown).length,
    inputs: [...article.querySelectorAll('div.cell_input')].filter(shown).length,
    button: button && {text: button.textContent.trim(), pressed: button.getAttribute('aria-pressed'),
                       shown: shown(button)},
    prose: document.documentElement.classList.contains('optbook-prose-only'),
  };
}"""
UI = {"en": ("Hide code", "Show code"), "zh-hant": ("只看正文", "顯示代碼"), "zh-hans": ("只看正文", "显示代码")}


def own_chapters(built: Path, key: str) -> list[Path]:
    src = built / key / book.EDITIONS[key].src
    return sorted(p for p in src.glob("[01][0-9]-*.html")
                  if not p.name.startswith("00-") and 'class="cell_input' in p.read_text(encoding="utf-8"))


def reading(visit: Visit) -> dict:
    state = visit.page.evaluate(READING)
    state["share"] = state["code"] / max(state["total"], 1)
    return state


@pytest.mark.parametrize("key", list(book.EDITIONS))
def test_hide_code_switch_hides_code_keeps_figures_and_is_remembered(browser, server, site, key):  # noqa: F811
    hide, show = UI[key]
    assert site_reading.reading_ui(key)["hide"] == hide and site_reading.reading_ui(key)["show"] == show
    chapters = own_chapters(site, key)
    first, second = chapters[0], chapters[1]
    lab = site / key / "labs" / "01-gd-sgd.html"
    visit = open_page(browser, server, site, first)
    try:
        visit.page.evaluate("localStorage.removeItem('optbook-hide-code')")
        visit.page.reload(wait_until="load")
        visit.ready()
        before = reading(visit)
        assert before["button"] == {"text": hide, "pressed": "false", "shown": True}, before
        assert before["share"] > 0.25 and before["inputs"] > 5 and before["figures"] >= 1, before
        visit.page.locator("button.optbook-hide-code").click()
        after = reading(visit)
        assert after["button"] == {"text": show, "pressed": "true", "shown": True}, after
        assert after["share"] < 0.02 and after["inputs"] == 0 and after["textOutputs"] == 0, after
        assert after["figures"] == before["figures"] and after["sliders"] == before["sliders"], (before, after)
        assert not visit.errors and not visit.foreign, visit.errors + visit.foreign
    finally:
        visit.close()
    print(f"{key} {first.name}: code {before['share']:.0%} of the visible characters, {after['share']:.1%} hidden; "
          f"{after['figures']} figures shown both ways")
    # remembered: the next chapter and a lab open with the code hidden
    for path in (second, lab):
        visit = open_page(browser, server, site, path)
        try:
            state = reading(visit)
            assert state["prose"] and state["button"]["text"] == show and state["button"]["pressed"] == "true", state
            assert state["share"] < 0.02 and state["inputs"] == 0, (path.name, state)
        finally:
            visit.close()
    # pressed again: shown, here and on the next page
    visit = open_page(browser, server, site, second)
    try:
        visit.page.locator("button.optbook-hide-code").click()
        state = reading(visit)
        assert not state["prose"] and state["button"]["text"] == hide and state["share"] > 0.25, state
    finally:
        visit.close()
    visit = open_page(browser, server, site, first)
    try:
        state = reading(visit)
        assert not state["prose"] and state["inputs"] == before["inputs"] and state["share"] > 0.25, state
    finally:
        visit.close()


def test_pages_without_code_have_no_hide_code_button(site):  # noqa: F811
    for key in book.EDITIONS:
        for path in pages(site / key):
            text = path.read_text(encoding="utf-8")
            has_button = 'class="optbook-hide-code"' in text
            assert has_button == ('class="cell_input' in text), f"{path.relative_to(site)}: button {has_button}"


# ------------------------------------------------------------------------------- anchors

SECTION_ID = re.compile(r'<section\b[^>]*?\bid="([^"]+)"')
IDS = re.compile(r'\sid="([^"]+)"')
LOCAL_HREF = re.compile(r'href="#([^"]+)"')


def docname(built: Path, key: str, path: Path) -> str:
    return path.relative_to(built / key).with_suffix("").as_posix()


def book_pages(built: Path, key: str) -> list[Path]:
    """The edition's chapters, labs and solutions: the pages whose sections have shared ids."""
    return [p for p in pages(built / key)
            if site_reading.english_source(docname(built, key, p)) is not None
            and not is_redirect(p.read_text(encoding="utf-8"))]


def test_every_section_id_is_shared_by_the_editions(site):  # noqa: F811
    problems, checked = [], 0
    en = book.EDITIONS["en"]
    for path in book_pages(site, "en"):
        doc = docname(site, "en", path)
        expected = site_reading.page_anchors(doc)
        for key, edition in book.EDITIONS.items():
            twin = site / key / (doc.replace(en.src + "/", edition.src + "/", 1) + ".html")
            ids = SECTION_ID.findall(twin.read_text(encoding="utf-8"))
            if ids != expected:
                diff = [(a, b) for a, b in zip(ids, expected) if a != b][:4]
                problems.append(f"{twin.relative_to(site)}: {len(ids)} sections, {len(expected)} expected; "
                                f"first differences (page, expected): {diff}")
            numbered = [i for i in ids if re.fullmatch(r"id\d+", i)]
            if numbered:
                problems.append(f"{twin.relative_to(site)}: numbered section ids {numbered}")
            checked += 1
    assert checked >= 30, checked
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("key", list(book.EDITIONS))
def test_every_in_page_link_lands_on_an_id_of_its_page(site, key):  # noqa: F811
    problems = {}
    for path in pages(site / key):
        text = path.read_text(encoding="utf-8")
        ids = set(IDS.findall(text))
        broken = sorted({h for h in LOCAL_HREF.findall(text) if unquote(h) not in ids})
        if broken:
            problems[path.relative_to(site).as_posix()] = broken[:8]
    assert not problems, problems


def test_section_ids_of_a_chapter_built_on_its_own(tmp_path):
    """The transform alone, without the book's build: Chapter 7 in English and in Chinese,
    built by Sphinx with myst-nb and tools/site_reading.py, has the same section ids in the
    same order, the ones page_anchors announces; old ids stay as spans, none is numbered."""

    src = tmp_path / "src"
    for folder in ("chapters/en", "chapters/zh"):
        (src / folder).mkdir(parents=True)
        shutil.copy2(ROOT / folder / "07-adam.ipynb", src / folder / "07-adam.ipynb")
    (src / "index.md").write_text("# Index\n\n```{toctree}\nchapters/en/07-adam\nchapters/zh/07-adam\n```\n",
                                  encoding="utf-8")
    small_site(src, tmp_path, extensions=("amsmath", "colon_fence", "deflist", "dollarmath"), heading_anchors=3)
    expected = site_reading.page_anchors("chapters/zh/07-adam")
    assert "adam-bias" in expected and expected[0] == "adam-and-amsgrad"
    for folder in ("chapters/en", "chapters/zh"):
        text = (tmp_path / "html" / folder / "07-adam.html").read_text(encoding="utf-8")
        assert SECTION_ID.findall(text) == expected, folder
        assert not re.search(r'id="id\d+"></span>', text)
        ids = set(IDS.findall(text))
        assert all(unquote(h) in ids for h in LOCAL_HREF.findall(text))
    en = (tmp_path / "html" / "chapters/en/07-adam.html").read_text(encoding="utf-8")
    old = "bias-correction-the-first-steps-are-too-large-without-it"  # Sphinx's id, kept as a span
    assert re.search(rf'<section id="adam-bias">\s*<span id="{old}">', en)


def test_anchors_of_headings_with_and_without_labels():
    text = ("(x-why)=\n## Why: it matters\n\nText.\n\n### Smooth convex: $O(1/k)$\n\n```python\n# not a heading\n```\n"
            "## Exercises\n\n:::{note}\n## inside a directive\n:::\n\n## Exercises\n\n(x-label)=\nA paragraph.\n\n"
            "## {ref}`The label <x-why>` again\n")
    headings = site_reading.markdown_headings(text)
    assert [h[1] for h in headings] == ["x-why", None, None, None, None]
    assert site_reading.section_anchors(headings) == ["x-why", "smooth-convex-o-1-k", "exercises", "exercises-2",
                                                      "the-label-again"]


# ---------------------------------------------------------------------- the language switch

LINKS = f"() => [...document.querySelectorAll('{SWITCH} a.optbook-lang[hreflang]')].map(a => a.getAttribute('href'))"
LINKS_END_WITH = f"""(end) => {{
  const links = [...document.querySelectorAll('{SWITCH} a.optbook-lang[hreflang]')];
  return links.length === 2 && links.every(a => a.getAttribute('href').endsWith(end));
}}"""
TARGET = """(id) => {
  const e = document.getElementById(id);
  return e && {tag: e.tagName};
}"""
ARRIVED = """(id) => {
  const top = document.getElementById(id).getBoundingClientRect().top;
  return top >= -2 && top < innerHeight / 3;
}"""
CASES = [("en", "chapters/en/07-adam.html", "adam-bias"),
         ("zh-hant", "chapters/zh/01-gradient-descent.html", "the-direction"),
         ("zh-hans", "chapters/zh/07-adam.html", "adam-eps")]


@pytest.mark.parametrize("key,page,fragment", CASES)
def test_the_language_switch_carries_the_fragment(browser, server, site, key, page, fragment):  # noqa: F811
    others = [e for e in book.EDITIONS.values() if e.key != key]
    for other in others:
        visit = Visit(browser, f"{server}/{key}/{page}#{fragment}", site)
        try:
            visit.page.wait_for_function(LINKS_END_WITH, arg=f"#{fragment}")
            with visit.page.expect_navigation(wait_until="load"):
                visit.page.locator(f'{SWITCH} a[hreflang="{other.lang_attr}"]').click()
            visit.ready()
            landed = urlsplit(visit.page.url)
            twin = page.replace(book.EDITIONS[key].src + "/", other.src + "/", 1)
            assert landed.path == f"/{other.key}/{twin}" and landed.fragment == fragment, visit.page.url
            target = visit.page.evaluate(TARGET, fragment)
            assert target and target["tag"] == "SECTION", f"{other.key}/{twin} has no section #{fragment}: {target}"
            # the theme scrolls smoothly: the section comes to the top of the window, under the header
            visit.page.wait_for_function(ARRIVED, arg=fragment)
            assert not visit.errors and not visit.foreign, visit.errors + visit.foreign
        finally:
            visit.close()


def test_the_language_switch_follows_hashchange_old_ids_and_scrolling(browser, server, site):  # noqa: F811
    page = "zh-hant/chapters/zh/07-adam.html"
    visit = Visit(browser, f"{server}/{page}", site)
    try:
        assert all("#" not in h for h in visit.page.evaluate(LINKS)), visit.page.evaluate(LINKS)
        visit.page.evaluate("location.hash = '#adam-reddi'")  # a link followed inside the page
        visit.page.wait_for_function(LINKS_END_WITH, arg="#adam-reddi")
        old = visit.page.evaluate("() => document.querySelector('section#adam-why > span[id]').id")
        visit.page.evaluate(f"location.hash = '#{old}'")  # an old id of a section: its shared id
        visit.page.wait_for_function(LINKS_END_WITH, arg="#adam-why")
        visit.page.evaluate("history.replaceState(null, '', location.pathname)")  # no fragment any more
        visit.page.evaluate("document.getElementById('adam-numpy').scrollIntoView()")
        visit.page.wait_for_function(LINKS_END_WITH, arg="#adam-numpy")
        assert not visit.errors and not visit.foreign, visit.errors + visit.foreign
    finally:
        visit.close()
    # the fragment is the twin's section id: the link's target exists in every edition
    for key in book.EDITIONS:
        text = (site / key / book.EDITIONS[key].src / "07-adam.html").read_text(encoding="utf-8")
        assert '<section id="adam-numpy">' in text and '<section id="adam-why">' in text, key
