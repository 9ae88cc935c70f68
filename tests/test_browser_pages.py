"""Every page of every edition in the browser of test_browser.py, loaded once: no console error,
no request to another host, its math rendered (no raw TeX left in the prose), within the page
budget; its sliders answer their control; and at phone width (tests/phone.py) it fits.

In a file of its own so that under pytest-xdist it runs beside test_browser.py's other tests.
"""

from __future__ import annotations

import time

import pytest
from phone import phone_issues
from sitebuild import book, is_redirect, pages
from test_browser import PAGE_BUDGET, browser, check_sliders, open_page, playwright, server, site  # noqa: F401

# Text left in a page when math did not render; code blocks may show such markup on purpose.
RAW_MATH = ("$$", "\\[", "\\]", "\\(", "\\begin{")
VISIBLE_PROSE = """() => {
  const main = (document.querySelector('main') || document.body).cloneNode(true);
  main.querySelectorAll('pre, code, mjx-container, script, style, .highlight').forEach(e => e.remove());
  return main.innerText;
}"""


@pytest.mark.parametrize("key", list(book.EDITIONS))
def test_every_page_loads_cleanly_and_renders_its_math(browser, server, site, key):  # noqa: F811
    start = time.perf_counter()
    checked, with_math, weights, problems, phone_math, sliders = 0, 0, [], {}, 0, 0
    for path in pages(site / key):
        rel = path.relative_to(site).as_posix()
        shown = not is_redirect(path.read_text(encoding="utf-8"))
        visit = open_page(browser, server, site, path)
        try:
            issues = list(visit.errors) + [f"request to another host: {u}" for u in visit.foreign]
            n_math = visit.page.locator(".math").count()
            if n_math:
                with_math += 1
                rendered = visit.page.locator("mjx-container").count()
                if rendered < n_math:
                    issues.append(f"{n_math} math elements but {rendered} rendered by MathJax")
                if visit.page.locator("mjx-merror, [data-mjx-error]").count():
                    issues.append("MathJax reports an error in a formula")
                prose = visit.page.evaluate(VISIBLE_PROSE)
                issues += [f"raw math markup {m!r} left in the text" for m in RAW_MATH if m in prose]
            raw, served = visit.weight()
            weights.append((served, raw, rel))
            if "optbook-slider" in path.read_text(encoding="utf-8"):
                sliders += check_sliders(visit.page)   # every slider answers its control
            if shown:      # the same page at phone size (tests/phone.py): resized, not reloaded
                phone, has_math = phone_issues(visit.page)
                issues += phone
                phone_math += has_math
        finally:
            visit.close()
        if issues:
            problems[rel] = issues
        checked += 1
    assert checked >= 5
    assert not problems, problems
    assert with_math >= 1, f"no page of {key} has math: the math check checked nothing"
    assert phone_math >= 5, f"only {phone_math} pages of {key} had display math at phone width"
    assert sliders >= 5, f"only {sliders} sliders found in {key}: the slider check checked almost nothing"
    served, raw, heaviest = max(weights)
    print(f"{key}: {checked} pages in {time.perf_counter() - start:.1f} s; heaviest {heaviest}: "
          f"{served / 1024:.0f} KiB served gzip-compressed ({raw / 1024:.0f} KiB raw)")
    assert served <= PAGE_BUDGET, f"{heaviest} loads {served / 2**20:.2f} MB (gzip) in the browser: over 2 MB"
