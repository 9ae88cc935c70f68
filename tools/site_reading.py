"""Reading the built book (issue 19): section anchors shared by the editions, figures' alt
text, and the "hide code / 只看正文" switch. tools/book.py calls it twice: at staging
(stage_tree: the alt text of the staged notebooks) and as part of its Sphinx extension
(setup: the anchors, the images' alt, the switch's button).

**Anchors.** Sphinx gives a section the id of its heading's slug, which for a Chinese
heading is empty, so it numbers it (`#id12`), and a `(label)=` before the heading only adds
a second id. Here every section of a page takes one id shared by the three editions, the
first, on its `<section>`, in the page's contents and its `{ref}` links:

* the label written before its heading, `(adam-bias)=` -> `id="adam-bias"`;
* for a section without a label, the slug of its English heading (docutils' make_id of
  the heading's plain text: `## Interview questions` -> `interview-questions`), taken
  from the English twin of the page, section by section (parity: same headings in the same
  order), with -2, -3 ... for a slug met twice.

The ids Sphinx gave before stay as empty `<span id>` at the top of the section, so old
links keep working. /tmp/s5/anchors.md and section_anchors() say the same for other tools.
The page's JavaScript (_static/optbook-reading.js) carries the reader's place into the
language switch's links: the fragment, mapped to the section's shared id, or else the
section at the top of the window.

**Alt text.** A code cell that shows figures says what to see in its metadata,
`"optbook": {"alt": "..."}` (a list, one per figure, for several; CONTRIBUTING.md). Each
image output gets it as its `alt` (myst-nb's own `mystnb.image.alt` is one per cell, so a
transform sets it per figure, figure_alt_text); a slider (optbook.interactive) is HTML
written by the cell, so the staged copy of the notebook gets the alt written into its
frames' `<img>` tags (stage_alt_text), "sentence (η = 0.1)" for each frame. The
Simplified edition's alt text is converted with the rest of the page.

**Hide code.** A button at the top of every page with code cells hides the cells' code
and their text outputs and keeps figures and sliders; the choice is kept in localStorage,
so it holds on every page of every edition until the reader presses it again. It works
without a kernel (CSS and a few lines of JavaScript, _static/optbook-reading.*).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGLISH = "chapters/en"
CHAPTER_DIRS = ("chapters/en", "chapters/zh")
PAGE_DIRS = ("labs", "solutions")  # one bilingual notebook for every edition

# ------------------------------------------------------------------------------ anchors

_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,}|:{3,})")
_HEADING = re.compile(r"^[ \t]{0,3}(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
_LABEL = re.compile(r"^[ \t]{0,3}\(([^()\s]+)\)=[ \t]*$")
_ROLE = re.compile(r"\{[\w:+-]+\}`([^`]*)`")
_EXPLICIT = re.compile(r"^(.*?)\s*<[^<>]+>$", re.S)  # {ref}`text <label>`
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


def markdown_headings(text: str) -> list[tuple[int, str | None, str]]:
    """The headings of a Markdown text, in order: (level, label written before it or None,
    heading text). Fenced blocks (code, directives) hold no headings."""
    out, label, fence = [], None, None
    for line in text.splitlines():
        if fence is not None:
            stripped = line.strip()
            if stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
                fence = None
            continue
        if m := _FENCE.match(line):
            fence, label = m.group(1), None
            continue
        if m := _LABEL.match(line):
            label = m.group(1)
        elif m := _HEADING.match(line):
            out.append((len(m.group(1)), label, m.group(2)))
            label = None
        elif line.strip():
            label = None
    return out


def source_headings(path: Path) -> list[tuple[int, str | None, str]]:
    """The headings of a notebook's Markdown cells (or of a Markdown page), in order."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".ipynb":
        return markdown_headings(re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S))
    cells = json.loads(text)["cells"]
    return [h for c in cells if c["cell_type"] == "markdown" for h in markdown_headings("".join(c["source"]))]


def plain_heading(text: str) -> str:
    """A Markdown heading as the reader reads it: no roles, code marks, math dollars, links."""

    def role(m):
        inner = m.group(1)
        explicit = _EXPLICIT.match(inner)
        return explicit.group(1) if explicit else inner

    text = _ROLE.sub(role, text)
    text = _LINK.sub(r"\1", text)
    return re.sub(r"[`$*]", "", text).strip()


def slug(heading: str) -> str:
    from docutils.nodes import make_id

    return make_id(plain_heading(heading)) or "section"


def section_anchors(headings: list[tuple[int, str | None, str]]) -> list[str]:
    """The shared id of each section, from the headings of the page's English twin: its
    label, or the slug of its heading (-2, -3 ... when met before; never a label's id)."""
    from docutils.nodes import make_id

    labels = {make_id(label) for _, label, _ in headings if label}
    used, out = set(labels), []
    for _, label, text in headings:
        if label:
            out.append(make_id(label))
            continue
        base = anchor = slug(text)
        n = 1
        while anchor in used:
            n += 1
            anchor = f"{base}-{n}"
        used.add(anchor)
        out.append(anchor)
    return out


def english_source(docname: str, root: Path = ROOT) -> Path | None:
    """The source whose headings decide a page's anchors: a chapter's English twin; a lab,
    a solution, itself (the repository's file)."""
    parts = docname.split("/")
    if "/".join(parts[:2]) in CHAPTER_DIRS and len(parts) == 3:
        base = root / ENGLISH / parts[2]
    elif parts[0] in PAGE_DIRS and len(parts) == 2:
        base = root / docname
    else:
        return None
    return next((base.with_suffix(s) for s in (".ipynb", ".md") if base.with_suffix(s).is_file()), None)


def page_anchors(docname: str, root: Path = ROOT) -> list[str] | None:
    """The shared ids of a page's sections, in document order (None: not a book page)."""
    src = english_source(docname, root)
    return section_anchors(source_headings(src)) if src else None


_NUMBERED = re.compile(r"id\d+")


def share_section_ids(document, anchors: list[str], labels: list[str | None]) -> str | None:
    """Give the sections of a doctree their shared ids, first (the `<section id>`); the
    ids they had stay after it (empty spans in HTML). Returns why it could not, or None."""
    from docutils import nodes
    from docutils.nodes import fully_normalize_name

    sections = list(document.findall(nodes.section))
    if len(sections) != len(anchors):
        return f"{len(sections)} sections, but the English twin has {len(anchors)} headings"
    for section, label in zip(sections, labels):
        # by name: its id may be another one when a Chinese heading's slug took the label's
        if label and fully_normalize_name(label) not in section["names"]:
            return f"label {label!r} is not on section {section['names']}"
    for section, anchor, label in zip(sections, anchors, labels):
        holder = document.ids.get(anchor)
        if holder is not None and holder is not section and anchor in holder["ids"]:
            holder["ids"].remove(anchor)  # a Chinese slug that happens to be an English one
        numbered = [i for i in section["ids"] if _NUMBERED.fullmatch(i)]
        for i in numbered:  # Sphinx's id12 for a heading without a slug: replaced, not kept
            document.ids.pop(i, None)
        section["ids"] = [anchor] + [i for i in section["ids"] if i != anchor and i not in numbered]
        document.ids[anchor] = section
        # {ref} links go to the shared id (the std domain reads nameids after us)
        for name in section["names"]:
            if document.nameids.get(name) in numbered:
                document.nameids[name] = anchor
        if label:
            document.nameids[fully_normalize_name(label)] = anchor
    return None


# ----------------------------------------------------------------------------- alt text


def figure_alts(metadata: dict) -> list[str] | None:
    """The alt texts a code cell's metadata gives, one per figure; None if none or malformed."""
    alt = (metadata.get("optbook") or {}).get("alt")
    if isinstance(alt, str):
        alt = [alt]
    if not isinstance(alt, list) or not alt or not all(isinstance(a, str) and a.strip() for a in alt):
        return None
    return [a.strip() for a in alt]


def _html(output: dict) -> str:
    value = output.get("data", {}).get("text/html", "")
    return value if isinstance(value, str) else "".join(value)


def is_slider(output: dict) -> bool:
    return 'class="optbook-slider"' in _html(output)


def is_figure(output: dict) -> bool:
    """An output the reader sees as a figure: an image, or an interactive figure (a slider)."""
    data = output.get("data", {})
    return any(mime.startswith("image/") for mime in data) or is_slider(output)


_CJK = re.compile(r"[\u3400-\u9fff]")
_IMG = re.compile(r"<img\b[^>]*>")
_ALT = re.compile(r'\salt="[^"]*"')
_DATA_LABEL = re.compile(r'\sdata-label="([^"]*)"')
_PARAM = re.compile(r"<label\b[^>]*>(.*?) = <span", re.S)


def slider_with_alt(markup: str, alt: str) -> str:
    """A slider's HTML with `alt` on each frame, followed by the frame's parameter value."""
    param = _PARAM.search(markup)
    param = html.unescape(param.group(1)) if param else None
    left, right = ("（", "）") if _CJK.search(alt) else (" (", ")")

    def frame(m):
        tag = m.group()
        label = _DATA_LABEL.search(tag)
        value = html.unescape(label.group(1)) if label else None
        text = alt if value is None else f"{alt}{left}{param + ' = ' if param else ''}{value}{right}"
        attr = f' alt="{html.escape(text, quote=True)}"'
        return _ALT.sub(lambda _: attr, tag, count=1) if _ALT.search(tag) else tag[:4] + attr + tag[4:]

    return _IMG.sub(frame, markup)


def _set_lines(output: dict, mime: str, text: str) -> None:
    old = output["data"][mime]
    output["data"][mime] = text if isinstance(old, str) else text.splitlines(keepends=True)


def stage_alt_text(nb: dict, convert: Callable[[str], str] | None = None) -> bool:
    """Prepare a staged notebook's alt text (in place): converted by `convert` (the
    Simplified edition), and written into the frames of its sliders. Returns whether the
    notebook changed. A cell without alt text, or with fewer alts than figures, is left
    for tests/test_promises.py to report (the build goes on: a build fails on warnings)."""
    changed = False
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        alts = figure_alts(cell.get("metadata", {}))
        if alts is None:
            continue
        if convert is not None:
            converted = [convert(a) for a in alts]
            if converted != alts:
                alt = cell["metadata"]["optbook"]["alt"]
                cell["metadata"]["optbook"]["alt"] = converted[0] if isinstance(alt, str) else converted
                alts, changed = converted, True
        figures = [o for o in cell.get("outputs", []) if is_figure(o)]
        for output, alt in zip(figures, alts):
            if is_slider(output):
                new = slider_with_alt(_html(output), alt)
                if new != _html(output):
                    _set_lines(output, "text/html", new)
                    changed = True
    return changed


def stage_tree(dest: Path, convert: Callable[[str], str] | None = None) -> int:
    """stage_alt_text over every staged notebook of an edition; returns how many changed."""
    n = 0
    for path in sorted(dest.rglob("*.ipynb")):
        if "_build" in path.relative_to(dest).parts:
            continue
        nb = json.loads(path.read_text(encoding="utf-8"))
        if stage_alt_text(nb, convert):
            path.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
            n += 1
    return n


def figure_alt_text(document) -> int:
    """Give each image output of a doctree its cell's alt text (one per figure, in order).
    Returns how many images got one."""
    from docutils import nodes

    def is_cell(node):
        return isinstance(node, nodes.container) and node.get("nb_element") == "cell_code"

    def is_bundle(node):
        return isinstance(node, nodes.container) and node.get("nb_element") == "mime_bundle"

    def bundle_is_figure(bundle):
        for mime in bundle.findall(lambda n: isinstance(n, nodes.container) and "mime_type" in n):
            if mime["mime_type"].startswith("image/"):
                return True
            if mime["mime_type"] == "text/html" and 'class="optbook-slider"' in mime.astext():
                return True
        return False

    n = 0
    for cell in list(document.findall(is_cell)):
        alts = figure_alts(cell.get("cell_metadata") or {})
        if not alts:
            continue
        figures = [b for b in cell.findall(is_bundle) if bundle_is_figure(b)]
        for bundle, alt in zip(figures, alts):
            for image in bundle.findall(nodes.image):
                image["alt"] = alt
                n += 1
    return n


# ---------------------------------------------------------------------- hide-code switch

# (English, Traditional Chinese); the Simplified edition converts the Chinese.
READING_UI = {
    "hide": ("Hide code", "只看正文"),
    "show": ("Show code", "顯示代碼"),
    "hint": ("Hide the code cells and their text output; figures stay", "隱藏代碼單元及其文字輸出，圖表保留"),
}
BUTTON = (
    '<div class="optbook-reading-bar">'
    '<button type="button" class="optbook-hide-code" aria-pressed="false" title="{hint}" '
    'data-hide="{hide}" data-show="{show}">{hide}</button></div>\n'
)


def reading_ui(edition_key: str) -> dict[str, str]:
    import book

    edition = book.EDITIONS[edition_key]
    return {k: en if edition.key == "en" else book.zh_text(edition, zh) for k, (en, zh) in READING_UI.items()}


def button_html(edition_key: str) -> str:
    return BUTTON.format(**{k: html.escape(v, quote=True) for k, v in reading_ui(edition_key).items()})


def has_code_cells(body: str) -> bool:
    return 'class="cell_input' in body


# ----------------------------------------------------------------------------- Sphinx


def _transforms():
    from sphinx.transforms import SphinxTransform
    from sphinx.util import logging

    logger = logging.getLogger(__name__)

    class SharedSectionIds(SphinxTransform):
        """Sections take their shared ids before the page's contents are collected."""

        # after the targets are moved onto their sections (PropagateTargets, 260), before the
        # std domain records the labels' ids (SphinxDomains, 850) and doctree-read (880)
        default_priority = 840

        def apply(self, **kwargs):
            src = english_source(self.env.docname)
            if src is None:
                return
            headings = source_headings(src)
            why = share_section_ids(self.document, section_anchors(headings), [h[1] for h in headings])
            if why:  # tests/test_browser_reading.py fails on the ids this leaves unshared
                logger.info(f"site_reading: {self.env.docname}: anchors left as Sphinx made them: {why}")

    class FigureAltText(SphinxTransform):
        default_priority = 841

        def apply(self, **kwargs):
            figure_alt_text(self.document)

    return SharedSectionIds, FigureAltText


def _add_button(app, pagename, templatename, context, doctree) -> None:
    body = context.get("body")
    edition = (app.config.html_context or {}).get("optbook_edition", "en")
    if isinstance(body, str) and has_code_cells(body):
        context["body"] = button_html(edition) + body


def setup(app) -> None:
    """Called by tools/book.py's setup(): the transforms and the switch's button."""
    for transform in _transforms():
        app.add_transform(transform)
    app.connect("html-page-context", _add_button)
