"""The built site that tests/test_site.py and tests/test_browser.py check, and how to read it.

The book is built once per test session (`tools/book.py build`, all three editions, warnings
as errors) into the session's temporary folder; under pytest-xdist the workers share that one
build, guarded by a file lock, so the two test files cost one build, not two.
"""

from __future__ import annotations

import os
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from filelock import FileLock

from helpers import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import book  # noqa: E402

NOT_PAGES = {"_static", "_sources", "_sphinx_design_static", "_images"}


def built_site(tmp_path_factory) -> Path:
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # one folder per session
    return build_into(shared)


def build_into(shared: Path) -> Path:
    """Build the book into ``shared``/optbook-site once: whoever takes the lock first builds it (the
    session's controller starts a build in a process of its own as the session starts, see
    conftest.py, so that the workers run other tests meanwhile), the others wait for it."""
    out, done = shared / "optbook-site" / "html", shared / "optbook-site" / "built"
    with FileLock(str(shared / "optbook-site.lock")):
        if not done.exists():
            status = book.build(list(book.EDITIONS), out, staging=shared / "optbook-site" / "editions")
            assert status == 0, "the book does not build with warnings as errors: see the log above"
            done.write_text("ok")
    return out


def pages(edition_dir: Path) -> list[Path]:
    """The edition's HTML pages (not the theme's or Sphinx's own files)."""
    return sorted(p for p in edition_dir.rglob("*.html") if not NOT_PAGES & set(p.relative_to(edition_dir).parts))


def all_pages(site: Path) -> list[Path]:
    return [site / "index.html"] + [p for key in book.EDITIONS for p in pages(site / key)]


def is_redirect(text: str) -> bool:
    return 'http-equiv="refresh"' in text.lower()


# ---------------------------------------------------------------------- what a page fetches


# The elements that make the browser fetch something when the page loads, and the attribute.
FETCHING = {"script": "src", "img": "src", "iframe": "src", "source": "src", "video": "src", "audio": "src",
            "embed": "src", "object": "data", "track": "src", "input": "src"}
FETCHING_LINKS = {"stylesheet", "preload", "modulepreload", "icon", "shortcut", "apple-touch-icon", "prefetch",
                  "manifest", "mask-icon"}
# Script types the browser runs (a JSON or x-thebe-config block is data, read only on demand).
JS_TYPES = {"", "text/javascript", "application/javascript", "module"}
URL = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s"'`)<>]*""")
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""")
# Inline scripts may name a URL that is fetched only when the reader asks for it, never when the
# page loads. Each one here says why; tests/test_browser.py proves no page load requests it.
ON_DEMAND = {
    # sphinx-thebe: loaded only when a reader presses a live-code button; the book enables none
    # (launch_buttons has Colab only), so the page never fetches it.
    "https://unpkg.com/thebe@0.8.2/lib/index.js",
}


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str]] = []  # (what, url)
        self.inline_js: list[str] = []
        self.inline_css: list[str] = []
        self._in: str | None = None
        self._buf: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag in FETCHING and a.get(FETCHING[tag]):
            self.refs.append((tag, a[FETCHING[tag]]))
        if tag in {"img", "source"} and a.get("srcset"):
            self.refs += [(tag, part.split()[0]) for part in a["srcset"].split(",") if part.strip()]
        if tag == "link" and set(a.get("rel", "").lower().split()) & FETCHING_LINKS and a.get("href"):
            self.refs.append(("link " + a["rel"], a["href"]))
        if a.get("style"):
            self.inline_css.append(a["style"])
        if tag == "script" and not a.get("src") and a.get("type", "").lower() in JS_TYPES:
            self._in, self._buf = "js", []
        elif tag == "style":
            self._in, self._buf = "css", []

    def handle_data(self, data):
        if self._in:
            self._buf.append(data)

    def handle_endtag(self, tag):
        if self._in and tag in {"script", "style"}:
            (self.inline_js if self._in == "js" else self.inline_css).append("".join(self._buf))
            self._in = None


def is_external(url: str) -> bool:
    """True for a URL on another host (http:, https:, protocol-relative); data: and relative are local."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme in {"data", "blob", "about", "javascript", "mailto"}:
        return False
    return bool(parts.netloc) or parts.scheme not in {"", "file"}


def css_urls(css: str) -> list[str]:
    return [a or b for a, b in CSS_URL.findall(css)]


def external_fetches_in_page(text: str) -> list[str]:
    """What a page's HTML makes the browser fetch from another host when it loads."""
    parser = _Refs()
    parser.feed(text)
    bad = [f"<{what}> {url}" for what, url in parser.refs if is_external(url)]
    bad += [f"inline style url({u})" for css in parser.inline_css for u in css_urls(css) if is_external(u)]
    for js in parser.inline_js:
        bad += [f"inline script names {u}" for u in URL.findall(js) if u not in ON_DEMAND]
    return bad


def external_fetches_in_css(css: str) -> list[str]:
    return [f"url({u})" for u in css_urls(css) if is_external(u)]


def local_refs(page: Path) -> list[Path]:
    """The site's own files a page references directly (scripts, styles, preloads, images)."""
    parser = _Refs()
    parser.feed(page.read_text(encoding="utf-8"))
    out = []
    for _, url in parser.refs:
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or not parts.path:
            continue
        target = (page.parent / unquote(parts.path)).resolve()
        if target.is_file() and target not in out:
            out.append(target)
    return out


def small_site(src: Path, out: Path, extensions: tuple[str, ...] = (), heading_anchors: int = 0) -> Path:
    """Build the small Sphinx project in ``src`` (its index.md and pages already written) with
    myst-nb and tools/site_reading.py, as the book's build uses them; return its HTML folder."""
    from sphinx.application import Sphinx

    conf = [
        "import sys",
        f"sys.path.insert(0, {str(ROOT / 'tools')!r})",
        "import site_reading",
        "extensions = ['myst_nb']",
        "nb_execution_mode = 'off'",
    ]
    if extensions:
        conf.append(f"myst_enable_extensions = {list(extensions)!r}")
    if heading_anchors:
        conf.append(f"myst_heading_anchors = {heading_anchors}")
    conf.append("def setup(app):\n    site_reading.setup(app)\n")
    (src / "conf.py").write_text("\n".join(conf), encoding="utf-8")
    app = Sphinx(str(src), str(src), str(out / "html"), str(out / "doctrees"), "html",
                 status=None, warning=None, freshenv=True)
    app.build()
    return out / "html"


if __name__ == "__main__":   # conftest.py: python tests/sitebuild.py SHARED_FOLDER
    build_into(Path(sys.argv[1]))
