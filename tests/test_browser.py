"""The built site in a real browser: headless Chromium (Debian's package) driven by Playwright,
the site served from 127.0.0.1. Every page of every edition loads without console errors or
failed requests and asks no other host for anything; math renders; the language switch lands
on the twin page; search finds Chinese and English terms; every interactive figure answers its
slider without a kernel. One screenshot per edition goes to _build/screenshots/.

The browser is Debian's (`apt-get install chromium chromium-driver`); Playwright's own browser
download is never used. Without the browser these tests are skipped with a message saying so,
except in CI (the variable CI set), where a missing browser fails them.
"""

from __future__ import annotations

import functools
import gzip
import io
import os
import shutil
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from sitebuild import book, built_site, is_redirect, pages

from helpers import ROOT

CHROMIUM = Path(os.environ.get("OPTBOOK_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "_build" / "screenshots"
PAGE_BUDGET = 2 * 1024 * 1024  # as tests/test_site.py: bytes a page downloads, gzip-compressed
HOW_TO = ("browser tests NOT run: {why}. To run them: `sudo apt-get install chromium chromium-driver` "
          "(Debian/Ubuntu; or set OPTBOOK_CHROMIUM to a Chromium binary), then `make test`.")
SEARCH = {"zh-hant": "學習率", "zh-hans": "学习率", "en": "momentum"}


def _no_browser(why: str):
    if os.environ.get("CI"):
        pytest.fail(f"CI is set and the browser tests cannot run: {why}. .ci/run installs Debian's chromium.")
    pytest.skip(HOW_TO.format(why=why))


@pytest.fixture(scope="module")
def playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("the Python package playwright is not installed (make install)")
    if not CHROMIUM.is_file():
        _no_browser(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright, tmp_path_factory):
    """A Chromium with a fresh profile; every request to another host is blocked and recorded."""
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path_factory.mktemp("chromium-profile")),
        executable_path=str(CHROMIUM),
        headless=True,
        args=ARGS,
        viewport={"width": 1280, "height": 900},
    )
    # generous: on 2 cores the browser shares the machine with the notebooks nbval runs
    context.set_default_timeout(120_000)
    context.foreign = []  # requests to other hosts, never let through

    def route(r):
        host = urlsplit(r.request.url).hostname
        if r.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            r.continue_()  # note: routing every request also turns off the HTTP cache
        else:
            context.foreign.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    yield context
    context.close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(directory: Path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return built_site(tmp_path_factory)


@pytest.fixture(scope="module")
def server(site):
    srv, url = serve(site)
    yield url
    srv.shutdown()


class Visit:
    """Open a page and record what goes wrong while it loads."""

    def __init__(self, browser, url: str, root: Path, idle: bool = True):
        self.page = browser.new_page()
        self.errors: list[str] = []
        self.files: list[Path] = []
        self.root = root
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url} {r.failure}"))
        self.page.on("response", self._response)
        foreign_before = len(browser.foreign)
        self.page.goto(url, wait_until="load")
        if idle:  # wait for what loads late (MathJax's fonts) too
            self.page.wait_for_load_state("networkidle")
        self.foreign = browser.foreign[foreign_before:]

    def _response(self, response):
        if response.status >= 400:
            self.errors.append(f"HTTP {response.status}: {response.url}")
        path = unquote(urlsplit(response.url).path).lstrip("/")
        if response.url.startswith("http://127.0.0.1") and (self.root / path).is_file():
            self.files.append(self.root / path)

    def weight(self) -> tuple[int, int]:
        files = set(self.files)
        return sum(f.stat().st_size for f in files), sum(len(gzip.compress(f.read_bytes(), 6)) for f in files)

    def wait_for_math(self) -> int:
        """Wait for MathJax to finish; return how many math elements the page has."""
        n = self.page.locator(".math").count()
        if n:
            self.page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
            self.page.evaluate("() => MathJax.startup.promise")
        return n

    def close(self):
        self.page.close()


# Text left in a page when math did not render; code blocks may show such markup on purpose.
RAW_MATH = ("$$", "\\[", "\\]", "\\(", "\\begin{")
VISIBLE_PROSE = """() => {
  const main = (document.querySelector('main') || document.body).cloneNode(true);
  main.querySelectorAll('pre, code, mjx-container, script, style, .highlight').forEach(e => e.remove());
  return main.innerText;
}"""


@pytest.mark.parametrize("key", list(book.EDITIONS))
def test_every_page_loads_cleanly_and_renders_its_math(browser, server, site, key):
    start = time.perf_counter()
    checked, with_math, weights, problems = 0, 0, [], {}
    for path in pages(site / key):
        rel = path.relative_to(site).as_posix()
        visit = Visit(browser, f"{server}/{rel}", site)
        try:
            issues = list(visit.errors) + [f"request to another host: {u}" for u in visit.foreign]
            n_math = visit.wait_for_math()
            if n_math:
                with_math += 1
                rendered = visit.page.locator("mjx-container").count()
                if rendered < n_math:
                    issues.append(f"{n_math} math elements but {rendered} rendered by MathJax")
                if visit.page.locator("mjx-merror, [data-mjx-error]").count():
                    issues.append("MathJax reports an error in a formula")
                prose = visit.page.evaluate(VISIBLE_PROSE)
                issues += [f"raw math markup {m!r} left in the text" for m in RAW_MATH if m in prose]
                issues += [e for e in visit.errors if e not in issues]  # fonts MathJax loaded late
            raw, served = visit.weight()
            weights.append((served, raw, rel))
        finally:
            visit.close()
        if issues:
            problems[rel] = issues
        checked += 1
    assert checked >= 5
    assert not problems, problems
    assert with_math >= 1, f"no page of {key} has math: the math check checked nothing"
    served, raw, heaviest = max(weights)
    print(f"{key}: {checked} pages in {time.perf_counter() - start:.1f} s; heaviest {heaviest}: "
          f"{served / 1024:.0f} KiB served gzip-compressed ({raw / 1024:.0f} KiB raw)")
    assert served <= PAGE_BUDGET, f"{heaviest} loads {served / 2**20:.2f} MB (gzip) in the browser: over 2 MB"


@pytest.mark.parametrize("key", list(book.EDITIONS))
def test_language_switch_lands_on_the_twin_page(browser, server, site, key):
    checked = 0
    for path in pages(site / key):
        rel = path.relative_to(site / key).as_posix()
        if is_redirect(path.read_text(encoding="utf-8")):
            continue
        visit = Visit(browser, f"{server}/{key}/{rel}", site, idle=False)
        try:
            links = visit.page.locator("nav.optbook-lang-switch a.optbook-lang")
            targets = [(links.nth(i).get_attribute("hreflang"), links.nth(i).get_attribute("href"))
                       for i in range(links.count())]
            assert len(targets) == len(book.EDITIONS) - 1, f"{key}/{rel}: switch shows {targets}"
            for n, (lang, _) in enumerate(targets):
                other = next(e for e in book.EDITIONS.values() if e.lang_attr == lang)
                if n:
                    visit.page.go_back(wait_until="domcontentloaded")
                with visit.page.expect_navigation(wait_until="domcontentloaded"):
                    visit.page.locator(f'nav.optbook-lang-switch a[hreflang="{lang}"]').click()
                twin = rel.replace(book.EDITIONS[key].src + "/", other.src + "/", 1)
                landed = urlsplit(visit.page.url).path
                assert landed == f"/{other.key}/{twin}", f"{key}/{rel} -> {lang} landed on {landed}"
                assert visit.page.locator("html").get_attribute("lang") == lang
                current = visit.page.locator("nav.optbook-lang-switch .current").get_attribute("lang")
                assert current == lang
            # leaving a page early cancels what it was still loading (ERR_ABORTED): not an error
            errors = [e for e in visit.errors if "net::ERR_ABORTED" not in e]
            assert not errors, errors
        finally:
            visit.close()
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize("key", list(book.EDITIONS))
def test_search_finds_a_term_and_links_to_its_pages(browser, server, site, key):
    term = SEARCH[key]
    visit = Visit(browser, f"{server}/{key}/search.html?q={term}", site)
    try:
        results = visit.page.locator("#search-results ul.search li a")
        results.first.wait_for(timeout=120_000)
        hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
        assert hrefs, f"searching {term!r} in {key} found nothing"
        src = book.EDITIONS[key].src
        paths = [urlsplit(h).path for h in hrefs]
        # results stay in this edition: its chapters, the labs and solutions it includes, its index pages
        own = (src + "/", "labs/", "solutions/")
        assert all(p.startswith(own) or p in {"index.html", "genindex.html"} for p in paths), paths
        assert f"{src}/glossary.html" in paths, f"the glossary defines {term!r} but is not among {paths}"
        for href in dict.fromkeys(paths):  # every result page exists and contains the term
            visit.page.goto(f"{server}/{key}/{href}")
            assert term.lower() in visit.page.locator("main").inner_text().lower(), f"{href} lacks {term!r}"
        # going on to the next result cancels what a page was still loading (ERR_ABORTED): not an error;
        # whether every page loads completely is test_every_page_loads_cleanly_and_renders_its_math's job
        errors = [e for e in visit.errors if "net::ERR_ABORTED" not in e]
        assert not errors, errors
    finally:
        visit.close()


# ------------------------------------------------------------------ interactive figures


def check_sliders(page) -> int:
    """Move every slider of a page with the keyboard; the shown frame must follow. Returns how many."""
    sliders = page.locator("div.optbook-slider")
    for i in range(sliders.count()):
        slider = sliders.nth(i)
        imgs = slider.locator("img")
        n = imgs.count()
        control = slider.locator("input[type=range]")

        def visible(imgs=imgs, n=n, i=i):
            shown = [k for k in range(n) if imgs.nth(k).is_visible()]
            assert len(shown) == 1, f"slider {i}: {len(shown)} frames visible at once"
            return shown[0]

        value = slider.locator("[id$='-value']")
        assert visible() == int(control.input_value())
        control.focus()
        control.press("End")
        assert visible() == n - 1 and control.input_value() == str(n - 1)
        assert value.inner_text() == imgs.nth(n - 1).get_attribute("data-label")
        control.press("Home")
        assert visible() == 0
        assert value.inner_text() == imgs.nth(0).get_attribute("data-label")
        if n > 2:
            control.press("ArrowRight")
            assert visible() == 1
    return sliders.count()


def test_every_slider_of_the_book_answers_its_control(browser, server, site):
    found = 0
    for key in book.EDITIONS:
        for path in pages(site / key):
            if "optbook-slider" not in path.read_text(encoding="utf-8"):
                continue
            visit = Visit(browser, f"{server}/{path.relative_to(site).as_posix()}", site)
            try:
                found += check_sliders(visit.page)
                assert not visit.errors and not visit.foreign, visit.errors + visit.foreign
            finally:
                visit.close()
    # Until a chapter adds a slider, the test below checks the same control on a page of its own.
    print(f"sliders in the book: {found}")


def test_a_slider_page_answers_its_control(browser, tmp_path):
    from PIL import Image

    from optbook.interactive import slider

    def png(colour):
        buf = io.BytesIO()
        Image.new("RGB", (40, 20), colour).save(buf, format="PNG")
        return buf.getvalue()

    colours = ["red", "green", "blue", "black"]
    one = slider([png(c) for c in colours], [f"0.{k}" for k in range(4)], param="η", title="Learning rate", start=1)
    two = slider([png(c) for c in colours[:2]], ["0.9", "0.99"], param="β", title="Momentum")
    (tmp_path / "index.html").write_text('<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
                                         f"<body><main>{one.data}{two.data}</main></body></html>", encoding="utf-8")
    srv, url = serve(tmp_path)
    try:
        visit = Visit(browser, f"{url}/index.html", tmp_path)
        try:
            assert check_sliders(visit.page) == 2
            assert not visit.errors and not visit.foreign
        finally:
            visit.close()
    finally:
        srv.shutdown()


# -------------------------------------------------------------------------- screenshots


def test_screenshot_of_each_edition(browser, server, site):
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    from PIL import Image

    for key, edition in book.EDITIONS.items():
        visit = Visit(browser, f"{server}/{key}/{edition.src}/00-preface.html", site)
        try:
            visit.wait_for_math()
            visit.page.evaluate("() => document.fonts.ready")
            target = SCREENSHOTS / f"{key}-00-preface.png"
            visit.page.screenshot(path=str(target), full_page=False)
        finally:
            visit.close()
        with Image.open(target) as img:
            assert img.size == (1280, 900)
            assert len(img.convert("L").getcolors(1 << 16) or []) > 8, f"{target.name} is blank"
