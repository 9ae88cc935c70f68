"""The built site is self-contained and light: no page makes the browser fetch anything from
another host (MathJax, fonts, icons, widget managers are all served by the site), and no page
with its assets weighs more than the budget. Also: the GitHub workflows that test and publish
the site are valid workflows. tests/test_browser.py checks the same site in a real browser."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sitebuild import (
    all_pages,
    book,
    built_site,
    external_fetches_in_css,
    external_fetches_in_page,
    is_redirect,
    local_refs,
)

from helpers import ROOT

PAGE_BUDGET = 2 * 1024 * 1024  # bytes a reader downloads for one page, as GitHub Pages serves it (gzip)
WEIGHT_REPORT = ROOT / "_build" / "page-weight.txt"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return built_site(tmp_path_factory)


# ------------------------------------------------------------------- the scanner itself


CDN_PAGE = """<!DOCTYPE html><html><head>
<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>
<link rel="stylesheet" href="//fonts.googleapis.com/css?family=Lato">
<link rel="preload" as="font" href="https://example.org/font.woff2">
<link rel="icon" href="http://example.org/favicon.ico">
<style>body { background: url('https://example.org/bg.png'); }</style>
<script>fetch("https://api.example.org/data.json").then(r => r.json());</script>
</head><body>
<img src="https://example.org/figure.png">
<iframe src="https://www.youtube.com/embed/x"></iframe>
<div style="background-image: url(https://example.org/tile.png)"></div>
</body></html>"""

CLEAN_PAGE = """<!DOCTYPE html><html><head>
<script src="../_static/mathjax/tex-mml-chtml.js"></script>
<link rel="stylesheet" href="_static/optbook.css">
<link rel="canonical" href="https://optbook.example.org/page.html">
<script type="text/x-thebe-config">{ binderUrl: "https://mybinder.org" }</script>
<script>var THEBE_JS_URL = "https://unpkg.com/thebe@0.8.2/lib/index.js";</script>
</head><body>
<a href="https://colab.research.google.com/github/x/y.ipynb">Open in Colab</a>
<img src="data:image/png;base64,iVBORw0KGgo=">
<img src="../_images/figure.png">
</body></html>"""


def test_the_scan_catches_every_kind_of_external_fetch():
    found = external_fetches_in_page(CDN_PAGE)
    for what in ("cdn.jsdelivr.net", "fonts.googleapis.com", "font.woff2", "favicon.ico", "bg.png",
                 "api.example.org", "figure.png", "youtube.com", "tile.png"):
        assert any(what in f for f in found), f"the scan missed {what}: {found}"
    assert external_fetches_in_css("@import url('https://fonts.googleapis.com/css');") != []
    assert external_fetches_in_css('@font-face { src: url("//cdn.example.org/f.woff2") }') != []


def test_the_scan_passes_local_assets_and_links_the_reader_clicks():
    assert external_fetches_in_page(CLEAN_PAGE) == []
    assert external_fetches_in_css("a { background: url(data:image/svg+xml;x) } b { src: url(../f.woff2) }") == []


# ------------------------------------------------------------------------- the real site


def test_no_page_fetches_from_another_host(site):
    checked, bad = 0, {}
    for page in all_pages(site):
        found = external_fetches_in_page(page.read_text(encoding="utf-8"))
        if found:
            bad[page.relative_to(site).as_posix()] = found
        checked += 1
    assert checked >= 3 * 5, f"only {checked} pages found"
    assert not bad, f"pages fetch from other hosts: {bad}"


def test_no_stylesheet_of_the_site_fetches_from_another_host(site):
    sheets = sorted(site.rglob("*.css"))
    assert len(sheets) >= 10
    bad = {}
    for css in sheets:
        found = external_fetches_in_css(css.read_text(encoding="utf-8", errors="replace"))
        if found:
            bad[css.relative_to(site).as_posix()] = found
    assert not bad, f"stylesheets fetch from other hosts: {bad}"


@pytest.mark.parametrize("key", list(book.EDITIONS))
def test_mathjax_is_served_by_the_site(site, key):
    static = site / key / "_static" / "mathjax"
    assert (static / book.MATHJAX_SCRIPT).is_file()
    assert list((static / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff")), "MathJax's fonts are missing"
    with_math = 0
    for page in (site / key).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        if 'class="math' in text:
            with_math += 1
            assert f"_static/mathjax/{book.MATHJAX_SCRIPT}" in text, f"{page.name} has math but not the local MathJax"
    assert with_math >= 1, "no page with math: the MathJax check checked nothing"


def test_page_weight(site):
    """Every page with what it loads: report all, and the heaviest within the budget."""
    rows = []
    for page in all_pages(site):
        text = page.read_text(encoding="utf-8")
        if is_redirect(text):
            continue
        files = [page, *local_refs(page)]
        raw = sum(f.stat().st_size for f in files)
        served = sum(len(gzip.compress(f.read_bytes(), 6)) for f in files)
        rows.append((served, raw, len(files) - 1, page.relative_to(site).as_posix()))
    rows.sort(reverse=True)
    lines = [f"{'gzip KiB':>9} {'raw KiB':>8} {'assets':>6}  page  (HTML + the files it references directly)"]
    lines += [f"{s / 1024:9.0f} {r / 1024:8.0f} {n:6d}  {p}" for s, r, n, p in rows]
    WEIGHT_REPORT.parent.mkdir(parents=True, exist_ok=True)
    WEIGHT_REPORT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    heaviest = rows[0]
    assert heaviest[0] <= PAGE_BUDGET, (
        f"{heaviest[3]} weighs {heaviest[0] / 2**20:.2f} MB as served (budget 2 MB): "
        f"smaller figures or fewer slider frames. All pages: {WEIGHT_REPORT}"
    )


# --------------------------------------------------------------------------- workflows


WORKFLOWS = ROOT / ".github" / "workflows"


def check_workflow(path: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("check-jsonschema")
    cmd = [str(exe if exe.exists() else shutil.which("check-jsonschema")), "--builtin-schema",
           "vendor.github-workflows", str(path)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", ["pages.yml", "test.yml"])
def test_workflow_is_valid(name):
    result = check_workflow(WORKFLOWS / name)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_workflow_check_catches_an_invalid_workflow(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  build:\n    steps: [{run: make test}]\n")  # no runs-on
    assert check_workflow(bad).returncode != 0


def test_pages_workflow_builds_and_deploys_main():
    wf = yaml.safe_load((WORKFLOWS / "pages.yml").read_text(encoding="utf-8"))
    on = wf[True] if True in wf else wf["on"]  # YAML 1.1 reads the key `on` as true
    assert on["push"]["branches"] == ["main"]
    assert wf["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert wf["concurrency"]["group"] == "pages"
    text = (WORKFLOWS / "pages.yml").read_text(encoding="utf-8")
    for needed in ("actions/configure-pages@", "actions/upload-pages-artifact@", "actions/deploy-pages@",
                   "make book", "path: _build/html"):
        assert needed in text, needed


def test_test_workflow_runs_make_test_on_pull_requests_with_a_browser():
    wf = yaml.safe_load((WORKFLOWS / "test.yml").read_text(encoding="utf-8"))
    on = wf[True] if True in wf else wf["on"]
    assert "pull_request" in on
    text = (WORKFLOWS / "test.yml").read_text(encoding="utf-8")
    assert "apt-get install" in text and "chromium" in text and "make test" in text
