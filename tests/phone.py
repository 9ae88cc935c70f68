"""The phone check of a page (issue 19), 390 x 844 CSS pixels: no sideways scroll, the header's
buttons on the screen, no display equation wider than its column.

tests/test_browser.py runs it on every page it opens (after its desktop checks it narrows the
same tab to phone size, so every page is loaded once); tests/test_browser_phone.py holds the
other phone tests and the proof that this check sees a page that is too wide.
"""

from __future__ import annotations

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# the header's buttons a reader needs on a phone; the page-contents button only where the page has contents
BUTTONS = {
    "sidebar": ".primary-toggle",
    "language menu": "nav.optbook-lang-switch summary",
    "search": ".search-button__button",
    "theme": ".theme-switch-button",
    "page contents": ".secondary-toggle",
}
LAYOUT = """(buttons) => {
  const inView = (e) => {
    const b = e.getBoundingClientRect(), s = getComputedStyle(e);
    return b.width > 0 && b.height > 0 && s.visibility !== 'hidden' && b.left >= 0 && b.right <= innerWidth + 0.5
      && b.top >= 0 && b.bottom <= innerHeight;
  };
  const out = {scroll: document.documentElement.scrollWidth, width: innerWidth, buttons: {}, wide: [], culprits: []};
  if (out.scroll > innerWidth) {  // what sticks out: the outermost elements past the window's right edge
    const past = (e) => e.getBoundingClientRect().right > innerWidth + 0.5 && getComputedStyle(e).display !== 'none'
      && getComputedStyle(e).position !== 'fixed';
    const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
      (e.classList.length ? '.' + [...e.classList].slice(0, 2).join('.') : '');
    const clipped = (e) => { for (let a = e.parentElement; a; a = a.parentElement)
      if (getComputedStyle(a).overflowX !== 'visible') return a !== document.documentElement && a !== document.body;
      return false; };
    for (const e of document.querySelectorAll('body *')) {
      if (past(e) && !(e.parentElement && past(e.parentElement)) && !clipped(e) && out.culprits.length < 3)
        out.culprits.push(name(e) + ' in ' + name(e.parentElement));
    }
  }
  for (const [name, sel] of Object.entries(buttons)) {
    const e = document.querySelector('.header-article__inner ' + sel);
    out.buttons[name] = e === null ? null : inView(e);
  }
  for (const c of document.querySelectorAll('mjx-container[display="true"]')) {
    const column = (c.closest('div.math') || c.parentElement).getBoundingClientRect();
    const box = c.getBoundingClientRect();
    if (box.width > column.width + 0.5 || box.right > column.right + 0.5 || box.left < column.left - 0.5)
      out.wide.push([(c.closest('div.math') || {}).id || c.textContent.slice(0, 30), Math.round(box.width),
                     Math.round(column.width)]);
  }
  return out;
}"""



def phone_issues(page) -> tuple[list[str], bool]:
    """What is wrong with the page open in ``page`` at phone size, and whether it has display math.
    The tab is resized to PHONE for the check, then back to its size (the tab may be shared)."""
    before = page.viewport_size
    page.set_viewport_size(PHONE)
    try:
        got = page.evaluate(LAYOUT, BUTTONS)
        has_math = page.locator('mjx-container[display="true"]').count() > 0
    finally:
        if before:
            page.set_viewport_size(before)
    issues = []
    if got["scroll"] > got["width"]:
        issues.append(f"at phone width it scrolls sideways: {got['scroll']} px wide in a {got['width']} px "
                      f"window ({', '.join(got['culprits']) or 'outside <main>'})")
    for name, state in got["buttons"].items():
        if state is False or (state is None and name != "page contents"):
            issues.append(f"at phone width the {name} button is {'missing' if state is None else 'off the screen'}")
    issues += [f"at phone width equation {label} is {w} px wide in a {c} px column" for label, w, c in got["wide"]]
    return issues, has_math
