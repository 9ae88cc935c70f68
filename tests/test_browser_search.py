"""The book's search in a browser (tools/site_search.py, _static/search-engine.js): natural
queries in each edition, unspaced Chinese, the other script, a term with its English, a
question, each finding the section that answers it among the first five results; snippets
without math source; every result link landing on its section; the header's search box leading
to the results; the search page within the page-weight budget.

The expected sections are named by page and heading (as the edition writes it), not by anchor:
the anchors are read from the built pages at build time, whatever ids the build gives them.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, unquote, urljoin, urlsplit

import pytest
from sitebuild import book
from test_browser import PAGE_BUDGET, Visit, browser, playwright, server, site  # noqa: F401

# (query, page, heading of the section expected among the first five results)
QUERIES = {
    "zh-hans": [
        ("学习率预热", "chapters/zh/09-schedules.html", "预热：为什么有用，以及 RAdam"),
        ("动量法", "chapters/zh/03-momentum.html", "动量"),
        ("为什么要预热", "chapters/zh/09-schedules.html", "预热：为什么有用，以及 RAdam"),
        ("Transformer预热", "chapters/zh/11-compare-transformer.html", "预热：后置 LN 与前置 LN"),
        ("學習率預熱", "chapters/zh/09-schedules.html", "预热：为什么有用，以及 RAdam"),  # Traditional
        ("動量", "chapters/zh/03-momentum.html", "动量"),  # Traditional
        ("权重衰减 weight decay", "chapters/zh/glossary.html", "权重衰减 · weight decay"),  # term + English
        ("偏差修正", "chapters/zh/07-adam.html", "偏差修正：不修正时头几步太大"),
        ("梯度裁剪按范数", "chapters/zh/09-schedules.html", "梯度裁剪：按全局范数，还是按值"),
        ("批量大小和学习率", "chapters/zh/02-sgd.html", "学习率与批量大小"),
        ("warm-up", "chapters/zh/09-schedules.html", "预热：为什么有用，以及 RAdam"),  # English in Chinese
    ],
    "zh-hant": [
        ("學習率預熱", "chapters/zh/09-schedules.html", "預熱：為什麼有用，以及 RAdam"),
        ("学习率预热", "chapters/zh/09-schedules.html", "預熱：為什麼有用，以及 RAdam"),  # Simplified
        ("动量", "chapters/zh/03-momentum.html", "動量"),  # Simplified
        ("動量法", "chapters/zh/03-momentum.html", "動量"),
        ("為什麼要預熱", "chapters/zh/09-schedules.html", "預熱：為什麼有用，以及 RAdam"),
        ("为什么要预热", "chapters/zh/09-schedules.html", "預熱：為什麼有用，以及 RAdam"),  # Simplified
        ("Transformer預熱", "chapters/zh/11-compare-transformer.html", "預熱：後置 LN 與前置 LN"),
        ("权重衰减", "chapters/zh/08-adamw.html", "SGD：L2 與權重衰減是同一個算法"),  # Simplified
        ("偏差修正 bias correction", "chapters/zh/glossary.html", "偏差修正 · bias correction"),
        ("批量大小", "chapters/zh/02-sgd.html", "學習率與批量大小"),
    ],
    "en": [
        ("momentum", "chapters/en/03-momentum.html", "Momentum"),
        ("warm-up", "chapters/en/09-schedules.html", "Warm-up: why it helps, and RAdam"),
        ("AdamW", "chapters/en/08-adamw.html", "AdamW"),
        ("learning rate and batch size", "chapters/en/02-sgd.html", "Learning rate and batch size"),
        ("why does Adam need bias correction",
         "chapters/en/07-adam.html", "Bias correction: the first steps are too large without it"),
        ("weight decay", "chapters/en/08-adamw.html", "SGD: L2 and weight decay are one algorithm"),
    ],
}
TOP = 5
# Math source a snippet must not show: TeX commands, math delimiters, braces.
TEX = re.compile(r"\\[A-Za-z]+|\\[()\[\]]|\$\$|\$[^$\s][^$]*\$|[{}]")
# The element an id names and its heading as the page shows it (a section's; a glossary term's own
# text, the first of the entry's terms, which the result's title lists with " · ").
HEADING_OF = """(id) => {
  const el = document.getElementById(id);
  if (!el) return null;
  const h = el.tagName === 'SECTION' ? el.querySelector(':is(h1, h2, h3, h4, h5, h6)') : el;
  const c = h.cloneNode(true);
  c.querySelectorAll('.headerlink').forEach(e => e.remove());
  return [el.tagName, c.textContent.replace(/\\s+/g, ' ').trim()];
}"""
RESULTS = """() => [...document.querySelectorAll('#search-results ul.search > li')].map(li => ({
  href: li.querySelector(':scope > a').getAttribute('href'),
  title: li.querySelector(':scope > a').textContent,
  snippet: li.querySelector(':scope > p.context').textContent,
}))"""


class _Ids(HTMLParser):
    """A page's ids: for each, the tag and, for a <section>, its heading's text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: dict[str, str] = {}
        self.headings: dict[str, str] = {}
        self._open: list[str] = []  # sections whose heading is being read or awaited
        self._in_heading: str | None = None
        self._skip = 0
        self._buf: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.setdefault(a["id"], tag)
            if tag == "section":
                self._open.append(a["id"])
        if re.fullmatch(r"h[1-6]", tag) and self._open and self._open[-1] not in self.headings:
            self._in_heading, self._buf = self._open[-1], []
        if self._in_heading and tag == "a" and "headerlink" in (a.get("class") or ""):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag == "a" and self._skip:
            self._skip -= 1
        if self._in_heading and re.fullmatch(r"h[1-6]", tag):
            self.headings[self._in_heading] = re.sub(r"\s+", " ", "".join(self._buf)).strip()
            self._in_heading = None

    def handle_data(self, data):
        if self._in_heading and not self._skip:
            self._buf.append(data)


_IDS: dict[Path, _Ids] = {}


def ids_of(path: Path) -> _Ids:
    if path not in _IDS:
        parser = _Ids()
        parser.feed(path.read_text(encoding="utf-8"))
        _IDS[path] = parser
    return _IDS[path]


def run_query(visit: Visit, base: str, key: str, query: str) -> list[dict]:
    visit.page.goto(f"{base}/{key}/search.html?q={quote(query)}", wait_until="load")
    visit.ready()
    visit.page.wait_for_function("() => document.querySelector('#search-results p.search-summary')")
    return visit.page.evaluate(RESULTS)


def target_of(root: Path, key: str, href: str) -> tuple[Path, str]:
    """The built file and the fragment a result's link (relative to the search page) leads to."""
    parts = urlsplit(urljoin(f"http://x/{key}/search.html", href))
    return root / unquote(parts.path).lstrip("/"), unquote(parts.fragment)


@pytest.mark.parametrize("key", list(book.EDITIONS))
def test_natural_queries_find_their_section(browser, server, site, key):  # noqa: F811
    src = book.EDITIONS[key].src
    assert len(QUERIES[key]) >= (5 if key == "en" else 8)
    visit = Visit(browser, f"{server}/{key}/search.html", site)
    report, problems = [], []
    try:
        for query, page, heading in QUERIES[key]:
            results = run_query(visit, server, key, query)
            top = results[:TOP]
            report.append(f"{key} {query!r}: " + " | ".join(f"{r['title']} ({r['href']})" for r in top[:3]))
            if not any(urlsplit(r["href"]).path == page and r["title"] == heading for r in top):
                problems.append(f"{query!r}: {page} «{heading}» not among the first {TOP}: "
                                f"{[(r['title'], r['href']) for r in top]}")
            for r in results[:20]:
                if TEX.search(r["snippet"]) or TEX.search(r["title"]):
                    problems.append(f"{query!r}: math source in the result {r['title']!r}: {r['snippet']!r}")
                if not r["snippet"].strip():
                    problems.append(f"{query!r}: {r['title']!r} has no snippet")
            for r in top:
                path, anchor = target_of(site, key, r["href"])
                rel = path.relative_to(site / key).as_posix()
                if not (rel.startswith((src + "/", "labs/", "solutions/")) and path.is_file()):
                    problems.append(f"{query!r}: {r['href']} is not a page of the {key} edition")
                    continue
                ids = ids_of(path)
                if not anchor or anchor not in ids.ids:
                    problems.append(f"{query!r}: {r['href']}: no element with id {anchor!r} on {rel}")
                elif ids.ids[anchor] == "section" and ids.headings.get(anchor) != r["title"]:
                    problems.append(f"{query!r}: {r['href']} lands on «{ids.headings.get(anchor)}», "
                                    f"not «{r['title']}»")
        assert not visit.errors and not visit.foreign, visit.errors + visit.foreign
    finally:
        visit.close()
    print("\n".join(report))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("key", list(book.EDITIONS))
def test_the_search_box_of_a_page_leads_to_results_that_land_on_their_section(browser, server, site, key):  # noqa: F811
    """From a chapter page: the header's search field, Enter, the results; a click on the first
    lands on its section (the element of the fragment exists and is the section's)."""
    query, page, heading = QUERIES[key][0]
    src = book.EDITIONS[key].src
    visit = Visit(browser, f"{server}/{key}/{src}/01-gradient-descent.html", site)
    try:
        visit.page.keyboard.press("Control+k")  # pydata-sphinx-theme's shortcut opens its search field
        field = visit.page.locator("form.bd-search input[name='q']:visible").first
        field.fill(query)
        with visit.page.expect_navigation(wait_until="load"):
            field.press("Enter")
        visit.ready()
        assert urlsplit(visit.page.url).path == f"/{key}/search.html"
        visit.page.wait_for_function("() => document.querySelector('#search-results p.search-summary')")
        results = visit.page.evaluate(RESULTS)
        assert results, f"{query!r} from the search box found nothing"
        first = visit.page.locator("#search-results ul.search > li > a").first
        with visit.page.expect_navigation(wait_until="load"):
            first.click()
        visit.ready()
        landed = urlsplit(visit.page.url)
        assert landed.path == "/" + urlsplit(urljoin(f"/{key}/search.html", results[0]["href"])).path.lstrip("/")
        anchor = unquote(landed.fragment)
        assert anchor, results[0]
        found = visit.page.evaluate(HEADING_OF, anchor)
        assert found is not None, f"{landed.path} has no element with id {anchor!r}"
        tag, text = found
        title = results[0]["title"]
        assert text == title if tag == "SECTION" else title.split(" · ")[0] == text, (anchor, found, title)
        assert not visit.errors and not visit.foreign, visit.errors + visit.foreign
    finally:
        visit.close()


def test_typing_in_the_search_page_updates_the_results(browser, server, site):  # noqa: F811
    key = "zh-hans"
    visit = Visit(browser, f"{server}/{key}/search.html?q=%E5%8A%A8%E9%87%8F", site)  # 动量
    try:
        before = visit.page.evaluate(RESULTS)
        assert before and before[0]["title"] == "动量" or any(r["title"] == "动量" for r in before[:TOP])
        field = visit.page.locator(".bd-search-container form.bd-search input[name='q']")
        assert field.input_value() == "动量"
        field.fill("梯度裁剪")
        visit.page.wait_for_function("() => new URLSearchParams(location.search).get('q') === '梯度裁剪'")
        after = visit.page.evaluate(RESULTS)
        assert any(r["title"].startswith("梯度裁剪") for r in after[:TOP]), after[:TOP]
        assert not visit.errors and not visit.foreign, visit.errors + visit.foreign
    finally:
        visit.close()


@pytest.mark.parametrize("key", list(book.EDITIONS))
def test_the_search_page_uses_the_book_search_within_the_budget(browser, server, site, key):  # noqa: F811
    """Sphinx's search scripts are replaced, not loaded beside the book's; the page with its
    search data stays within the page-weight budget."""
    text = (site / key / "search.html").read_text(encoding="utf-8")
    assert "_static/search-data.js" in text and "_static/search-engine.js" in text
    for old in ("searchtools.js", "searchindex.js", "language_data.js"):
        assert old not in text, old
    visit = Visit(browser, f"{server}/{key}/search.html?q=AdamW", site)
    try:
        visit.page.wait_for_function("() => document.querySelector('#search-results p.search-summary')")
        raw, served = visit.weight()
        print(f"{key}/search.html: {served / 1024:.0f} KiB served gzip-compressed ({raw / 1024:.0f} KiB raw)")
        assert served <= PAGE_BUDGET
        assert visit.page.locator("#search-results ul.search > li").count() > 0
        assert not visit.errors and not visit.foreign, visit.errors + visit.foreign
    finally:
        visit.close()
