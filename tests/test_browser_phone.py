"""The built site on a phone, 390 x 844 CSS pixels (issue 19), in the browser of test_browser.py:

* no page scrolls sideways (the document is no wider than the window);
* the header's buttons (sidebar, language menu, search, page contents, theme) are on the screen;
* no display equation's box is wider than its column (a long equation scrolls inside its box);
* the language menu opens with a tap and with the keyboard, lists the three editions on the
  screen, and its link lands on the twin page; at desktop width it is the row of links;
* the sidebar's titles (the labs' short titles, tools/site_phone.py) fit in two lines.

The check of every page (tests/phone.py) runs inside tests/test_browser.py's visit of every page,
so that each page is loaded once; this file proves that check and holds the menu and sidebar tests.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from phone import DESKTOP, PHONE, phone_issues
from sitebuild import book
from test_browser import READY, SWITCH, browser, playwright, server, site  # noqa: F401


def phone_tab(browser):  # noqa: F811
    """A tab of the shared browser at phone size (the other tests' tab stays at desktop size)."""
    page = browser.new_page()
    page.set_viewport_size(PHONE)
    return page


def test_the_phone_check_sees_a_page_too_wide_and_a_button_off_screen(browser, server, site):  # noqa: F811
    """tests/test_browser.py runs phone.phone_issues on every page; here it must fail a page made
    too wide, and pass the page as built."""
    page = browser.new_page()
    try:
        page.goto(f"{server}/en/chapters/en/03-momentum.html", wait_until="load")
        page.wait_for_function(READY)
        issues, has_math = phone_issues(page)
        assert issues == [] and has_math, issues
        page.evaluate("""() => { const d = document.createElement('div'); d.style.width = '900px';
          d.style.height = '10px'; document.querySelector('main').appendChild(d);
          document.querySelector('.header-article__inner .theme-switch-button').style.marginLeft = '2000px'; }""")
        issues, _ = phone_issues(page)
        assert any("scrolls sideways" in i for i in issues), issues
        assert any("theme button is off the screen" in i for i in issues), issues
    finally:
        page.close()


@pytest.mark.parametrize("key", list(book.EDITIONS))
def test_the_language_menu_on_a_phone(browser, server, site, key):  # noqa: F811
    """Closed at first (the header fits); a tap opens it with every edition on the screen; Escape
    closes it; Enter on the focused summary opens it again; its link lands on the twin page."""
    edition = book.EDITIONS[key]
    rel = f"{key}/{edition.src}/00-preface.html"
    page = phone_tab(browser)
    try:
        page.goto(f"{server}/{rel}", wait_until="load")
        page.wait_for_function(READY)
        menu, summary = page.locator(f"{SWITCH} details"), page.locator(f"{SWITCH} summary")
        entries = page.locator(f"{SWITCH} .optbook-lang")
        assert menu.get_attribute("open") is None and not entries.first.is_visible()
        summary.click()
        assert menu.get_attribute("open") is not None
        boxes = entries.evaluate_all("es => es.map(e => e.getBoundingClientRect().toJSON())")
        assert len(boxes) == 3 and all(b["width"] > 0 and 0 <= b["left"] and b["right"] <= PHONE["width"]
                                        for b in boxes), boxes
        page.keyboard.press("Escape")
        assert menu.get_attribute("open") is None
        summary.focus()
        page.keyboard.press("Enter")
        assert menu.get_attribute("open") is not None
        other = next(e for e in book.EDITIONS.values() if e.key != key)
        with page.expect_navigation(wait_until="load"):
            page.locator(f'{SWITCH} a[hreflang="{other.lang_attr}"]').click()
        assert urlsplit(page.url).path == f"/{other.key}/{other.src}/00-preface.html", page.url
    finally:
        page.close()


def test_the_language_switch_is_a_row_on_a_desktop(browser, server, site):  # noqa: F811
    page = browser.new_page()
    page.set_viewport_size(DESKTOP)
    try:
        page.goto(f"{server}/en/chapters/en/00-preface.html", wait_until="load")
        page.wait_for_function(READY)
        assert not page.locator(f"{SWITCH} summary").is_visible()
        tops = page.locator(f"{SWITCH} .optbook-lang").evaluate_all(
            "es => es.map(e => e.checkVisibility() ? Math.round(e.getBoundingClientRect().top) : null)")
        assert len(tops) == 3 and None not in tops and len(set(tops)) == 1, tops
    finally:
        page.close()


SIDEBAR_LINES = """() => [...document.querySelectorAll('.bd-sidebar-primary nav.bd-links a.reference')].map(a => {
  const lh = parseFloat(getComputedStyle(a).lineHeight) || 1.5 * parseFloat(getComputedStyle(a).fontSize);
  return [a.textContent.trim(), Math.round(a.getBoundingClientRect().height / lh)];
})"""


@pytest.mark.parametrize("key", list(book.EDITIONS))
def test_the_sidebar_titles_fit_in_two_lines(browser, server, site, key):  # noqa: F811
    """At desktop width, where the sidebar shows: every entry, the labs' short titles among them,
    takes at most two lines; a lab's page keeps its full bilingual heading."""
    page = browser.new_page()
    page.set_viewport_size(DESKTOP)
    try:
        page.goto(f"{server}/{key}/labs/01-gd-sgd.html", wait_until="load")
        page.wait_for_function(READY)
        entries = page.evaluate(SIDEBAR_LINES)
        labs = [t for t, _ in entries if t.startswith(("Lab ", "Solutions ", "實驗 ", "实验 ", "解答 "))]
        assert len(labs) >= 10, entries
        too_long = [(t, n) for t, n in entries if n > 2]
        assert not too_long, too_long
        heading = page.locator("main h1").first.inner_text()
        assert " / " in heading and "from scratch" in heading, heading
    finally:
        page.close()
