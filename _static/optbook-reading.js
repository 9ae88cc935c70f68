/* Reading the book (tools/site_reading.py, issue 19): the "hide code / 只看正文" switch, and
   the language switch that keeps the reader's place.

   Hide code: the button site_reading puts at the top of every page with code cells toggles
   the class optbook-prose-only on <html> (optbook-reading.css hides the cells' code and text
   outputs, figures and sliders stay); the choice is kept in localStorage, so every page of
   every edition opens the same way until the reader presses the button again. This script
   runs in <head>, before the page is drawn, so hidden code never flashes.

   Keeping the place: each link of the language switch (a.optbook-lang[hreflang], wherever the
   header puts it) gets the fragment of the section the reader is in: the page's fragment,
   mapped to the id the three editions share (an old id of a section, or a numbered id inside
   one, becomes the section's id), or, without a fragment, the section at the top of the window.
   Section ids are the same in every edition (site_reading.share_section_ids). */
(function () {
  "use strict";
  var KEY = "optbook-hide-code";
  var PROSE = "optbook-prose-only";
  var root = document.documentElement;

  function stored() {
    try { return window.localStorage.getItem(KEY) === "1"; } catch (e) { return false; }
  }
  function store(on) {
    try {
      if (on) window.localStorage.setItem(KEY, "1"); else window.localStorage.removeItem(KEY);
    } catch (e) { /* storage refused (private mode): the switch still works on this page */ }
  }

  root.classList.add("optbook-js");
  if (stored()) root.classList.add(PROSE);

  function buttons() { return document.querySelectorAll("button.optbook-hide-code"); }

  function showState() {
    var on = root.classList.contains(PROSE);
    buttons().forEach(function (b) {
      b.setAttribute("aria-pressed", on ? "true" : "false");
      b.textContent = on ? b.getAttribute("data-show") : b.getAttribute("data-hide");
    });
  }

  function toggle() {
    var on = !root.classList.contains(PROSE);
    root.classList.toggle(PROSE, on);
    store(on);
    showState();
    updateSwitch();
  }

  // ------------------------------------------------------------------ the reader's place

  function sectionOf(el) {
    while (el && el.tagName !== "SECTION") el = el.parentElement;
    return el && el.id ? el : null;
  }

  // The fragment as the other editions know it.
  function sharedFragment(id) {
    var el = document.getElementById(id);
    if (!el) return id;
    if (el.tagName === "SECTION") return id;
    var section = sectionOf(el.parentElement);
    // an old id of a section: an empty <span> at its top, before its heading
    if (el.tagName === "SPAN" && !el.textContent && section && el.parentElement === section) return section.id;
    // a numbered id (a citation, a footnote) differs between editions: its section does not
    if (/^id\d+$/.test(id)) return section ? section.id : "";
    return id;  // labels, equations (equation-...), section ids: shared
  }

  function sectionAtTop() {
    if (window.scrollY <= 0) return "";
    // what hides the top of the window: the sticky article header, the page's scroll padding
    var header = document.querySelector(".bd-header-article");
    var padding = parseFloat(window.getComputedStyle(root).scrollPaddingTop) || 0;
    var covered = Math.max(header ? header.getBoundingClientRect().bottom : 0, padding, 0);
    var top = covered + 0.1 * window.innerHeight;
    var found = "";
    document.querySelectorAll("main section[id]").forEach(function (s) {
      if (s.getBoundingClientRect().top <= top) found = s.id;
    });
    return found;
  }

  function currentFragment() {
    var hash = window.location.hash.slice(1);
    if (hash) {
      try { hash = decodeURIComponent(hash); } catch (e) { /* keep it as written */ }
      return sharedFragment(hash);
    }
    return sectionAtTop();
  }

  function updateSwitch() {
    var links = document.querySelectorAll("a.optbook-lang[hreflang]");
    if (!links.length) return;
    var fragment = currentFragment();
    links.forEach(function (a) {
      if (!a.hasAttribute("data-optbook-href")) a.setAttribute("data-optbook-href", a.getAttribute("href").split("#")[0]);
      var base = a.getAttribute("data-optbook-href");
      a.setAttribute("href", fragment ? base + "#" + encodeURIComponent(fragment) : base);
    });
  }

  var pending = false;
  function onScroll() {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () { pending = false; updateSwitch(); });
  }

  function start() {
    buttons().forEach(function (b) { b.addEventListener("click", toggle); });
    showState();
    updateSwitch();
    // just before a link is followed, whatever the reader did since
    document.addEventListener("pointerdown", function (e) {
      if (e.target.closest && e.target.closest("a.optbook-lang[hreflang]")) updateSwitch();
    }, true);
    document.addEventListener("focusin", function (e) {
      if (e.target.matches && e.target.matches("a.optbook-lang[hreflang]")) updateSwitch();
    });
  }

  window.addEventListener("hashchange", updateSwitch);
  window.addEventListener("scroll", onScroll, { passive: true });
  window.addEventListener("load", updateSwitch);  // after the browser has scrolled to the fragment
  window.addEventListener("storage", function (e) {  // pressed in another tab of the book
    if (e.key === KEY) { root.classList.toggle(PROSE, stored()); showState(); }
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
