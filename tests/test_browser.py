"""The built site in a real browser: headless Chromium (Debian's package) driven by Playwright,
the site served from 127.0.0.1. Every page of every edition loads without console errors or
failed requests and asks no other host for anything; math renders; the language switch lands
on the twin page; search finds Chinese and English terms; every interactive figure answers its
slider without a kernel. One screenshot per edition goes to _build/screenshots/.

The browser is Debian's (`apt-get install chromium chromium-driver`); Playwright's own browser
download is never used. Without the browser these tests are skipped with a message saying so,
except in CI (the variable CI set), where a missing browser fails them.

Nothing here waits for a time to pass or for the network to fall quiet ("networkidle", which
Playwright's documentation advises against: on a busy machine it may come late or never). A
page counts as loaded when the things the tests look at are done: the load event, MathJax's
typesetting, the fonts the page uses and its images. The browser's HTTP cache stays on (nothing
intercepts requests), so the theme's scripts, styles and fonts are read once per session.
"""

from __future__ import annotations

import functools
import gzip
import io
import os
import re
import shutil
import sys
import threading
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from sitebuild import book, built_site, is_redirect, pages

from helpers import ROOT

CHROMIUM = Path(os.environ.get("OPTBOOK_CHROMIUM", "/usr/bin/chromium"))
# Chromium itself refuses every host but 127.0.0.1: a name or address it is asked for resolves to
# nothing, so such a request fails at once (and is recorded, see `browser`) instead of leaving.
LOCAL_ONLY = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", LOCAL_ONLY]
SCREENSHOTS = ROOT / "_build" / "screenshots"
PAGE_BUDGET = 2 * 1024 * 1024  # as tests/test_site.py: bytes a page downloads, gzip-compressed
HOW_TO = ("browser tests NOT run: {why}. To run them: `sudo apt-get install chromium chromium-driver` "
          "(Debian/Ubuntu; or set OPTBOOK_CHROMIUM to a Chromium binary), then `make test`.")
SEARCH = {"zh-hant": "學習率", "zh-hans": "学习率", "en": "momentum"}
SWITCH = "nav.optbook-lang-switch"  # the language switch in every page's header
TIMEOUT_MS = 120_000  # a safety net only: nothing waits for a timeout to pass


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


def is_local(url: str) -> bool:
    return url.startswith(("data:", "blob:", "about:")) or urlsplit(url).hostname == "127.0.0.1"


@pytest.fixture(scope="module")
def browser(playwright, tmp_path_factory):
    """A Chromium with a fresh profile; every request to another host is refused and recorded."""
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path_factory.mktemp("chromium-profile")),
        executable_path=str(CHROMIUM),
        headless=True,
        args=ARGS,
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(TIMEOUT_MS)
    # Requests to other hosts, from any page or worker: Chromium refuses them (LOCAL_ONLY), but
    # the page asked, and that fails the test. Only listened to, so the HTTP cache stays on.
    context.foreign = []
    context.on("request", lambda r: is_local(r.url) or context.foreign.append(r.url))
    yield context
    context.close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def end_headers(self):
        # as GitHub Pages does: the browser may keep a file 10 minutes (the site does not change meanwhile)
        self.send_header("Cache-Control", "max-age=600")
        super().end_headers()

    def send_head(self):
        # Browsers ask a host for /favicon.ico on their own, whatever the page says; the book declares
        # no icon, so answer "nothing" rather than log a 404 in the console of the page being tested.
        if urlsplit(self.path).path == "/favicon.ico" and not Path(self.directory, "favicon.ico").is_file():
            self.send_response(204)
            self.end_headers()
            return None
        return super().send_head()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # the browser may hang up before an answer is written (a page closed): not worth a traceback
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve(directory: Path):
    server = _Server(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(directory)))
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


@functools.cache
def gzipped_size(path: Path) -> int:
    """Bytes the file takes served gzip-compressed; once per file (the theme's are on every page)."""
    return len(gzip.compress(path.read_bytes(), 6))


# What a page needs before the tests look at it, after its load event: MathJax may still be
# typesetting then (its startup promise resolves when all math is typeset); laying the page out starts
# loading the fonts its text and math use, document.fonts.ready resolves when they are in; and
# images added by a script after the load event must be complete too (but for loading="lazy"
# ones, which load only when scrolled to). Every step ends by itself.
READY = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  document.body.getBoundingClientRect();
  await document.fonts.ready;
  const loaded = () => [...document.images].every(i => i.complete || i.loading === 'lazy');
  while (!loaded()) await new Promise(r => setTimeout(r, 10));
  return true;
}"""


# The web font files a page uses: those of the @font-face rules whose face document.fonts has
# loaded. Chromium loads a font only when text needs it, but a font file it holds in memory from an
# earlier page it hands over at once to any page that declares it (MathJax declares them all), used
# or not; counting those would make a page's weight depend on the pages visited before it.
FONT_FILES = {".woff", ".woff2", ".ttf", ".otf", ".eot"}
FONTS_USED = """() => {
  const bare = family => family.replace(/["']/g, '').trim();
  const loaded = new Set([...document.fonts].filter(f => f.status === 'loaded').map(f => bare(f.family)));
  const urls = [];
  const visit = (rules, base) => {
    for (const rule of rules) {
      if (rule instanceof CSSImportRule) { if (rule.styleSheet) visit(rule.styleSheet.cssRules, rule.styleSheet.href); }
      else if (rule instanceof CSSFontFaceRule) {
        if (!loaded.has(bare(rule.style.getPropertyValue('font-family')))) continue;
        for (const m of rule.style.getPropertyValue('src').matchAll(/url\\(["']?([^"')]+)["']?\\)/g))
          urls.push(new URL(m[1], base).href);
      } else if (rule.cssRules) visit(rule.cssRules, base);
    }
  };
  for (const sheet of document.styleSheets) {
    try { visit(sheet.cssRules, sheet.href || document.baseURI); } catch (e) {}  // another host's: not readable
  }
  return urls;
}"""


class Visit:
    """Open a page, wait until it is ready, and record what goes wrong meanwhile and after.

    The visits take turns in one tab of the browser (on a busy machine a new tab for each costs a
    third of a page load); close() leaves the page for about:blank before it stops listening, so
    whatever the page still sends is this visit's, and the next one starts from nothing.
    """

    def __init__(self, browser, url: str, root: Path, redirect: str | None = None):
        self.page = browser.pages[0] if browser.pages else browser.new_page()
        self.errors: list[str] = []
        self.files: list[Path] = []
        self.root = root
        self._listeners = [
            ("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}")),
            ("pageerror", lambda e: self.errors.append(f"uncaught: {e}")),
            ("requestfailed", lambda r: self.errors.append(f"failed: {r.url} {r.failure}")),
            ("response", self._response),
        ]
        for event, listener in self._listeners:
            self.page.on(event, listener)
        self._browser, self._foreign_before = browser, len(browser.foreign)
        self.page.goto(url, wait_until="load")
        if redirect:  # a <meta http-equiv="refresh"> page: wait for the page it leads to
            self.page.wait_for_url(lambda u: u == redirect, wait_until="load")
        self.ready()

    def ready(self):
        """Wait for what a page loads after its load event (see READY); call after every navigation."""
        self.page.wait_for_function(READY)

    @property
    def foreign(self) -> list[str]:
        """Requests to another host since this visit began."""
        return self._browser.foreign[self._foreign_before:]

    def _response(self, response):
        if response.status >= 400:
            self.errors.append(f"HTTP {response.status}: {response.url}")
        path = unquote(urlsplit(response.url).path).lstrip("/")
        if response.url.startswith("http://127.0.0.1") and (self.root / path).is_file():
            self.files.append(self.root / path)

    def weight(self) -> tuple[int, int]:
        """Bytes of the files the page loaded (raw, gzip-compressed), as on a first visit: a web font
        counts only if the page uses it (see FONTS_USED)."""
        used = {self.root / unquote(urlsplit(u).path).lstrip("/") for u in self.page.evaluate(FONTS_USED)}
        files = {f for f in self.files if f.suffix not in FONT_FILES or f in used}
        return sum(f.stat().st_size for f in files), sum(gzipped_size(f) for f in files)

    def close(self):
        try:
            self.page.goto("about:blank")
        except Exception:  # a tab that cannot leave its page (crashed, say) is not used again
            self.page.close()
        finally:
            for event, listener in self._listeners:
                self.page.remove_listener(event, listener)


# A redirect page of the site: <meta http-equiv="Refresh" content="0; url=chapters/en/00-preface.html" />
REFRESH = re.compile(r"""<meta\s+http-equiv=["']?refresh["']?\s+content=["']\d+;\s*url=([^"']+)""", re.IGNORECASE)


def open_page(browser, server: str, site: Path, path: Path) -> Visit:
    """Visit a page of the built site by its file; a redirect is followed to the page it leads to."""
    url = f"{server}/{path.relative_to(site).as_posix()}"
    text = path.read_text(encoding="utf-8")
    if not is_redirect(text):
        return Visit(browser, url, site)
    target = REFRESH.search(text)
    assert target, f"{path.name}: a redirect whose target cannot be read"
    return Visit(browser, url, site, redirect=urljoin(url, target.group(1)))


def test_a_request_to_another_host_is_refused_and_recorded(browser, tmp_path):
    """What makes the site tests fail on an outside request: a page naming other hosts (by name and
    by address, in markup and from a script) has every request to them recorded, and refused by
    Chromium itself (ERR_NAME_NOT_RESOLVED even for an address, which without LOCAL_ONLY would be
    tried); the page's own requests are not recorded."""
    outside = ["https://cdn.example.org/style.css", "https://unpkg.com/thebe@0.8.2/lib/index.js",
               "https://example.com/figure.png", "http://192.0.2.1/figure.png", "https://api.example.net/data"]
    (tmp_path / "local.css").write_text("main { margin: 1rem; }", encoding="utf-8")
    (tmp_path / "index.html").write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="stylesheet" href="local.css">'
        f'<link rel="stylesheet" href="{outside[0]}"><script src="{outside[1]}"></script></head>'
        f'<body><main><img src="{outside[2]}"><img src="{outside[3]}"><script>fetch("local.css");'
        f'window.outside = fetch("{outside[4]}").then(() => "answered", () => "refused");</script>'
        "</main></body></html>", encoding="utf-8")
    srv, url = serve(tmp_path)
    try:
        visit = Visit(browser, f"{url}/index.html", tmp_path)
        try:
            # the script's fetch may outlast the page's load: wait for its end
            assert visit.page.wait_for_function("() => window.outside").json_value() == "refused"
            assert sorted(visit.foreign) == sorted(outside), visit.foreign
            failed = [e for e in visit.errors if e.startswith("failed: ")]
            assert len(failed) == len(outside) and all("ERR_NAME_NOT_RESOLVED" in e for e in failed), failed
        finally:
            visit.close()
    finally:
        srv.shutdown()


# ------------------------------------------------------------------------ language switch


class _Switch(HTMLParser):
    """A page's <html lang> and its language switch: the current edition's lang, the links' (hreflang, href)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lang: str | None = None
        self.current: list[str] = []
        self.links: list[tuple[str, str]] = []
        self._in_switch = False

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        classes = a.get("class", "").split()
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "nav" and "optbook-lang-switch" in classes:
            self._in_switch = True
        elif self._in_switch and "optbook-lang" in classes:
            if "current" in classes:
                self.current.append(a.get("lang", ""))
            if tag == "a":
                self.links.append((a.get("hreflang", ""), a.get("href", "")))

    def handle_endtag(self, tag):
        if tag == "nav":
            self._in_switch = False


@functools.cache
def switch_of(path: Path) -> _Switch:
    parser = _Switch()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def twin_of(key: str, rel: str, lang: str) -> tuple[book.Edition, str]:
    """The edition whose lang is `lang`, and the path in it of page `rel` of edition `key`."""
    other = next(e for e in book.EDITIONS.values() if e.lang_attr == lang)
    return other, rel.replace(book.EDITIONS[key].src + "/", other.src + "/", 1)


def switch_pages(site: Path, key: str) -> list[Path]:
    """The edition's pages that show the language switch (a redirect page shows nothing)."""
    return [p for p in pages(site / key) if not is_redirect(p.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("key", list(book.EDITIONS))
def test_every_language_switch_links_to_the_twin_page(site, key):
    """In the HTML of every page: each link of the switch, resolved as the browser resolves it,
    is the same page in the other edition, which exists and says it is in that language."""
    edition, problems = book.EDITIONS[key], {}
    others = sorted(e.lang_attr for e in book.EDITIONS.values() if e.key != key)
    checked = switch_pages(site, key)
    for path in checked:
        rel, switch, issues = path.relative_to(site / key).as_posix(), switch_of(path), []
        if switch.lang != edition.lang_attr or switch.current != [edition.lang_attr]:
            issues.append(f"<html lang={switch.lang}>, switch marks {switch.current} as current")
        if sorted(lang for lang, _ in switch.links) != others:
            issues.append(f"switch links to {switch.links}, not once to each of {others}")
        for lang, href in switch.links:
            if lang not in others:
                continue
            other, twin = twin_of(key, rel, lang)
            target = Path(os.path.normpath(path.parent / unquote(urlsplit(href).path)))
            if target != site / other.key / twin:
                issues.append(f"{lang}: {href} leads to {os.path.relpath(target, site)}, not {other.key}/{twin}")
            elif not target.is_file():
                issues.append(f"{lang}: {href} leads to no page")
            elif switch_of(target).lang != lang or switch_of(target).current != [lang]:
                issues.append(f"{lang}: {href} lands on a page that is not in {lang}")
        if issues:
            problems[rel] = issues
    assert len(checked) >= 3
    assert not problems, problems


@pytest.mark.parametrize("key", list(book.EDITIONS))
def test_the_language_switch_lands_on_the_twin_page_when_clicked(browser, server, site, key):
    """Clicked in the browser, on two pages per edition (the links are checked on every page above):
    the first of its own chapters, whose twins are in other folders, and the first page outside
    them (a lab, a solution, an index), whose twins have the same path."""
    src = book.EDITIONS[key].src + "/"
    shown = switch_pages(site, key)
    own = [p for p in shown if p.relative_to(site / key).as_posix().startswith(src)]
    sample = own[:1] + [p for p in shown if p not in own][:1]
    assert len(sample) == 2, sample
    for path in sample:
        rel = path.relative_to(site / key).as_posix()
        for lang, _ in switch_of(path).links:
            other, twin = twin_of(key, rel, lang)
            visit = open_page(browser, server, site, path)  # afresh for each link: nothing left from the last
            try:
                with visit.page.expect_navigation(wait_until="load"):
                    visit.page.locator(f'{SWITCH} a[hreflang="{lang}"]').click()
                visit.ready()
                landed = urlsplit(visit.page.url).path
                assert landed == f"/{other.key}/{twin}", f"{key}/{rel} -> {lang} landed on {landed}"
                assert visit.page.locator("html").get_attribute("lang") == lang
                assert visit.page.locator(f"{SWITCH} .current").get_attribute("lang") == lang
                assert not visit.errors and not visit.foreign, visit.errors + visit.foreign
            finally:
                visit.close()


# -------------------------------------------------------------------------------- search


# Sphinx's search shows its results one by one, fetching each result page for the summary under
# its link (a <p class="context">, or a <span> when the index has a description), then writes
# "found N pages" in the status line: wait until all that is done, so nothing is left loading.
SEARCH_DONE = """() => {
  const status = document.querySelector('#search-results p.search-summary');
  const items = [...document.querySelectorAll('#search-results ul.search li')];
  return status && status.textContent && items.every(li => li.querySelector(':scope > p.context, :scope > span'));
}"""
# Each result page, fetched by the browser from its link's URL: the HTTP status and the text of its <main>.
MAIN_TEXT = """async (urls) => Promise.all(urls.map(async (url) => {
  const response = await fetch(url);
  const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
  const main = doc.querySelector('main');
  if (main) main.querySelectorAll('script, style, template').forEach(e => e.remove());
  return [response.status, main ? main.textContent : ''];
}))"""


@pytest.mark.parametrize("key", list(book.EDITIONS))
def test_search_finds_a_term_and_links_to_its_pages(browser, server, site, key):
    term = SEARCH[key]
    visit = Visit(browser, f"{server}/{key}/search.html?q={term}", site)
    try:
        visit.page.wait_for_function(SEARCH_DONE)
        hrefs = visit.page.locator("#search-results ul.search li a").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))")
        assert hrefs, f"searching {term!r} in {key} found nothing"
        src = book.EDITIONS[key].src
        paths = [urlsplit(h).path for h in hrefs]
        # results stay in this edition: its chapters, the labs and solutions it includes, its index pages
        own = (src + "/", "labs/", "solutions/")
        assert all(p.startswith(own) or p in {"index.html", "genindex.html"} for p in paths), paths
        assert f"{src}/glossary.html" in paths, f"the glossary defines {term!r} but is not among {paths}"
        # every result page exists and contains the term (each one's loading is checked by
        # test_every_page_loads_cleanly_and_renders_its_math: here only what the link leads to)
        results = list(dict.fromkeys(paths))
        found = visit.page.evaluate(MAIN_TEXT, [urljoin(visit.page.url, p) for p in results])
        for href, (status, text) in zip(results, found):
            assert status == 200 and term.lower() in text.lower(), f"{href} (HTTP {status}) lacks {term!r}"
        assert not visit.errors and not visit.foreign, visit.errors + visit.foreign
    finally:
        visit.close()


# ------------------------------------------------------------------ interactive figures


# What a slider shows, read in one go: the frames on the screen (by index; "visible" as Playwright's
# is_visible has it: a box that is not empty, and no visibility: hidden), the control's value, the
# label written beside it, and each frame's own label.
SLIDER_STATE = """slider => {
  const imgs = [...slider.querySelectorAll('img')];
  const shown = imgs.flatMap((img, k) => {
    const box = img.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && getComputedStyle(img).visibility !== 'hidden' ? [k] : [];
  });
  return {shown, value: slider.querySelector('input[type=range]').value,
          label: slider.querySelector("[id$='-value']").innerText, labels: imgs.map(img => img.dataset.label)};
}"""


def check_sliders(page) -> int:
    """Move every slider of a page with the keyboard; the shown frame must follow. Returns how many."""
    sliders = page.locator("div.optbook-slider")
    for i in range(sliders.count()):
        slider = sliders.nth(i)
        control = slider.locator("input[type=range]")

        def shows(frame: int | None = None, slider=slider, i=i) -> int:
            """Assert the slider shows one frame, `frame` (default: the control's value), labelled as it."""
            state = slider.evaluate(SLIDER_STATE)
            frame = int(state["value"]) if frame is None else frame
            assert len(state["shown"]) == 1, f"slider {i}: {len(state['shown'])} frames visible at once"
            assert state["shown"] == [frame] and state["value"] == str(frame), f"slider {i}: {state}"
            assert state["label"] == state["labels"][frame], f"slider {i}: {state}"
            return len(state["labels"])

        n = shows()
        control.press("End")  # the control takes the focus, as a reader's click or Tab gives it
        shows(n - 1)
        control.press("Home")
        shows(0)
        if n > 2:
            control.press("ArrowRight")
            shows(1)
    return sliders.count()


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
        # a Visit is ready when its math is typeset and its fonts are in (READY)
        visit = Visit(browser, f"{server}/{key}/{edition.src}/00-preface.html", site)
        try:
            target = SCREENSHOTS / f"{key}-00-preface.png"
            visit.page.screenshot(path=str(target), full_page=False)
        finally:
            visit.close()
        with Image.open(target) as img:
            assert img.size == (1280, 900)
            assert len(img.convert("L").getcolors(1 << 16) or []) > 8, f"{target.name} is blank"
