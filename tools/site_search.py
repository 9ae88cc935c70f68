"""The book's own search: sections, not pages; Chinese queries segmented as the index is; either
script finds the same sections (issue 19, "Search").

Sphinx's search (searchtools.js) splits a query on white space and punctuation, so an unspaced
Chinese query (学习率预热) is one "word" that the jieba-segmented index does not hold, and it
finds nothing; its results are pages, with the page's first lines (often its table of contents,
or raw LaTeX) as the summary. This module replaces it on each edition's search page:

* at build time (`write_index`, from tools/book.py once an edition is built), every built page is
  cut into its sections, as the built HTML has them (their anchors read from the pages, so they
  follow whatever ids the build gives the sections): page, anchor, heading and the section's own
  prose, without code, outputs, display math, tables of contents or header links; inline math
  becomes plain text (η, β₁) or an ellipsis, never LaTeX source. Each glossary entry is a record
  of its own (its term's anchor). With them go the edition's vocabulary (the Chinese words of
  Sphinx's jieba index, searchindex.js `terms`, and every Chinese form in terms.tsv, the user
  dictionary jieba segmented with, and the words jieba finds in the edition's text folded to
  Simplified, which its dictionary knows) and a map of the Traditional characters the book's text can
  be written with to their Simplified form (OpenCC tw2s, per character), and the glossary's
  terms across languages (terms.tsv: warm-up is 预热). All of it goes into
  `_static/search-data.js`, which only the search page loads.
* in the browser, `_static/search-engine.js` folds the query and the records to one script
  (Simplified, lower case) with that map, so 動量 and 动量 are the same word in either edition,
  segments the query by forward maximum matching against the vocabulary (longest word first;
  a run of characters no word covers falls back to its bigrams), adds the edition's name of a
  glossary term written in the other language, and ranks the sections by the
  words they hold (heading over text, rare words over common ones, the whole query over its
  parts). Results link to the section, with the sentence around the match as the snippet.

`search_template()` is the search page's template (written into each staged edition by
`stage`): the theme's page, with the book's data and engine instead of Sphinx's search scripts.
tests/test_search.py checks this module and the engine (under node); tests/test_browser_search.py
searches the built site.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA_FILE = "search-data.js"  # written into each built edition's _static (not the repository's)
ENGINE_FILE = "search-engine.js"  # _static/search-engine.js in the repository

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK = re.compile(f"[{CJK}]")
# Pages that are not the book's text: the search page itself and the general index.
SKIP_PAGES = {"search.html", "genindex.html", "py-modindex.html"}
# Elements whose text a reader does not search for: code and its outputs, display math, header
# links (¶), tables of contents, navigation, buttons.
DROP = (
    "script", "style", "template", "nav", "button", "a.headerlink", "div.toctree-wrapper", "div.contents",
    "nav.contents", "div.cell_input", "div.cell_output", "div.highlight", "pre", "div.math", "span.eqno",
    ".optbook-slider", "div.output", "form",
)
BLOCKS = {"p", "li", "div", "dt", "dd", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "br",
          "caption", "figcaption", "blockquote", "table", "ul", "ol", "dl", "section", "aside"}
_SEP = "\x1e"  # a block boundary while the text is being cleaned; a newline in the record


# ------------------------------------------------------------------------- inline math


GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε", "zeta": "ζ",
    "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν",
    "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "upsilon": "υ", "phi": "φ", "varphi": "φ",
    "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ",
    "Pi": "Π", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
}
SYMBOLS = {
    "cdot": "·", "times": "×", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "approx": "≈", "ne": "≠",
    "neq": "≠", "infty": "∞", "nabla": "∇", "to": "→", "rightarrow": "→", "in": "∈", "ell": "ℓ", "sum": "Σ",
    "prod": "Π", "sqrt": "√", "pm": "±", "partial": "∂", "odot": "⊙", "sim": "∼", "propto": "∝", "ll": "≪",
    "gg": "≫", "ldots": "…", "cdots": "⋯", "dots": "…", "mid": "|", "top": "ᵀ", "log": "log", "exp": "exp",
    "min": "min", "max": "max", "arg": "arg", "lim": "lim", "sin": "sin", "cos": "cos", "quad": " ",
    "qquad": " ", "lVert": "‖", "rVert": "‖", "Vert": "‖", "|": "‖", "lvert": "|", "rvert": "|", "{": "{",
    "}": "}", "%": "%", "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉", "langle": "⟨", "rangle": "⟩",
}
# Commands that only dress their argument (\mathrm{lr} reads lr) or only space or size things.
WRAPPERS = ("mathrm", "mathbf", "mathit", "mathsf", "mathtt", "mathcal", "mathbb", "boldsymbol", "bm",
            "text", "textrm", "textbf", "textit", "operatorname", "hat", "bar", "tilde", "widehat",
            "overline", "vec", "mathnormal")
SPACING = ("left", "right", "big", "Big", "bigl", "bigr", "Bigl", "Bigr", "displaystyle", "textstyle",
           ",", ";", ":", "!", " ", "limits")
SUPERSCRIPTS = str.maketrans("0123456789+-=()nTti", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿᵀᵗⁱ")
SUBSCRIPTS = str.maketrans("0123456789+-=()tijk", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₜᵢⱼₖ")
ELLIPSIS = "…"
MAX_MATH = 40  # longer inline formulas are not read out in a snippet


def math_text(tex: str) -> str:
    """Inline math as plain text for a snippet: `\\(\\beta_1\\)` reads β₁, `\\(\\eta\\)` η; what
    cannot be written without LaTeX (fractions, matrices, long formulas) reads "…". Never any
    backslash, dollar or brace."""
    tex = tex.strip()
    for left, right in (("\\(", "\\)"), ("$", "$"), ("\\[", "\\]")):
        if tex.startswith(left) and tex.endswith(right) and len(tex) >= len(left) + len(right):
            tex = tex[len(left) : len(tex) - len(right)].strip()
    if len(tex) > MAX_MATH * 2:
        return ELLIPSIS
    out = tex
    out = re.sub(r"\\(" + "|".join(WRAPPERS) + r")\*?\s*\{([^{}]*)\}", r"\2", out)
    out = re.sub(r"\\(" + "|".join(re.escape(s) for s in SPACING if s.isalpha()) + r")(?![A-Za-z])", "", out)
    out = re.sub(r"\\[,;:! ]", " ", out)
    out = re.sub(r"\\(" + "|".join(WRAPPERS) + r")(?![A-Za-z])\s*", "", out)  # \hat v: v

    def command(m):
        name = m.group(1)
        return GREEK.get(name) or SYMBOLS.get(name) or m.group(0)

    out = re.sub(r"\\([A-Za-z]+|[|{}%])", command, out)

    def script(m, table):
        body = m.group(2) if m.group(2) is not None else m.group(3)
        if body and all(ord(ch) in table for ch in body):
            return body.translate(table)
        return ("^" if table is SUPERSCRIPTS else "_") + body

    out = re.sub(r"(\^)(?:\{([^{}]*)\}|([A-Za-z0-9]))", lambda m: script(m, SUPERSCRIPTS), out)
    out = re.sub(r"(_)(?:\{([^{}]*)\}|([A-Za-z0-9]))", lambda m: script(m, SUBSCRIPTS), out)
    out = out.replace("{", "").replace("}", "").replace("&", " ").replace("~", " ")
    out = re.sub(r"\s+", " ", out).strip()
    if "\\" in out or "$" in out or not out or len(out) > MAX_MATH:
        return ELLIPSIS
    return out


# --------------------------------------------------------------------------- records


# LaTeX left in a page's text outside math elements (a reference whose text is a heading with
# math in it): a command with its braced arguments, read as inline math is.
_STRAY_TEX = re.compile(r"\\[A-Za-z]+(?:\s*\{(?:[^{}]|\{[^{}]*\})*\}|\s+\\?[A-Za-z](?![A-Za-z]))*")


def clean_text(text: str) -> str:
    """A section's text as stored: white space collapsed, none left between two Chinese
    characters (a soft line break of the source, or an inline element's edge), block
    boundaries as single newlines, stray LaTeX read as plain text (see math_text)."""
    text = _STRAY_TEX.sub(lambda m: math_text(m.group()), text)
    text = re.sub(r"[ \t\r\n\f\v\u00a0\u3000]+", " ", text)
    text = re.sub(f"(?<=[{CJK}，。：；、「」“”（）！？]) (?=[{CJK}，。：；、「」“”（）！？])", "", text)
    text = re.sub(f" *{_SEP}[ {_SEP}]*", "\n", text)
    return text.strip("\n ")


def _text_of(node) -> str:
    """The text of a (cleaned) element, block elements separated."""
    from bs4 import NavigableString, Tag

    parts: list[str] = []

    def walk(n):
        for child in n.children:
            if isinstance(child, Tag):
                if child.name == "section":
                    continue  # a subsection is a record of its own
                block = child.name in BLOCKS
                if block:
                    parts.append(_SEP)
                walk(child)
                if block:
                    parts.append(_SEP)
            elif isinstance(child, NavigableString) and type(child).__name__ in {"NavigableString", "CData"}:
                parts.append(str(child))

    walk(node)
    return clean_text("".join(parts))


def _heading(section):
    for child in section.children:
        if getattr(child, "name", None) in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            return child
    return None


def page_records(html_text: str, url: str) -> tuple[str, list[dict]]:
    """A built page's title and its records: one per section that has an id (its own text, not
    its subsections'), one per glossary entry. Each record: url, anchor, title, text."""
    from bs4 import BeautifulSoup

    start, end = html_text.find('<article class="bd-article"'), html_text.rfind("</article>")
    if 0 <= start < end:  # the article alone: the sidebar and header are a third of the parsing
        html_text = html_text[start : end + len("</article>")]
    soup = BeautifulSoup(html_text, "html.parser")
    article = soup.select_one("article.bd-article") or soup.select_one("main") or soup.body
    if article is None:
        return "", []
    for el in article.select(", ".join(DROP)):  # one walk of the tree
        if not el.decomposed:  # (inside one dropped already)
            el.decompose()
    for el in article.select("span.math"):
        el.replace_with(math_text(el.get_text()))
    records: list[dict] = []
    sections = [s for s in article.find_all("section") if s.get("id")]
    page_title = ""
    if sections and (h := _heading(sections[0])) is not None:
        page_title = clean_text(h.get_text()).replace("\n", " ")
    # glossary entries first (their text leaves the section's)
    for dl in article.select("dl.glossary"):
        terms = []  # the <dt>s of one entry (the Chinese editions give two: 動量, momentum)
        for child in dl.find_all(["dt", "dd"], recursive=False):
            if child.name == "dt":
                terms.append(child)
                continue
            anchor = next((dt.get("id") for dt in terms if dt.get("id")), None)
            if anchor:
                title = " · ".join(clean_text(dt.get_text()).replace("\n", " ") for dt in terms)
                records.append({"url": url, "anchor": anchor, "title": title, "text": _text_of(child)})
            terms = []
        dl.decompose()
    for section in sections:
        heading = _heading(section)
        title = clean_text(heading.get_text()).replace("\n", " ") if heading is not None else page_title
        if heading is not None:
            heading.extract()
        records.append({"url": url, "anchor": section["id"], "title": title, "text": _text_of(section)})
    if not sections:  # a page without sections (a lab's stub): the whole article
        records.append({"url": url, "anchor": "", "title": page_title, "text": _text_of(article)})
    return page_title, records


def edition_pages(html_dir: Path) -> list[Path]:
    out = []
    for path in sorted(html_dir.rglob("*.html")):
        rel = path.relative_to(html_dir)
        if rel.parts[0].startswith("_") or rel.as_posix() in SKIP_PAGES:
            continue
        text = path.read_text(encoding="utf-8")
        if 'http-equiv="refresh"' in text.lower():
            continue
        out.append(path)
    return out


# ------------------------------------------------------------------------- vocabulary


def sphinx_terms(searchindex: Path) -> list[str]:
    """The words of Sphinx's index (searchindex.js `terms`)."""
    if not searchindex.is_file():
        return []
    text = searchindex.read_text(encoding="utf-8")
    start, end = text.index("(") + 1, text.rindex(")")
    return list(json.loads(text[start:end]).get("terms", {}))


def dictionary_words(path: Path | None) -> list[str]:
    """The words of jieba's user dictionary (tools/book.py jieba_dictionary): one a line."""
    if path is None or not path.is_file():
        return []
    return [line.split()[0] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def jieba_words(texts) -> list[str]:
    """The words jieba (cut_for_search, its own dictionary) finds in the Chinese runs of the
    texts: the vocabulary of a Traditional edition, whose own index jieba cut poorly (its
    dictionary is Simplified), taken from its text folded to Simplified."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    runs = "\n".join(run for text in texts for run in re.findall(f"[{CJK}]{{2,}}", text))
    return list(dict.fromkeys(tokenizer.cut_for_search(runs, HMM=False)))


def vocabulary(words, fold: dict[str, str]) -> list[str]:
    """The Chinese words a query is segmented against, folded (see fold_text), longest first:
    words of two or more characters, all Chinese (a single character needs no dictionary)."""
    out = set()
    for word in words:
        word = fold_text(word.strip(), fold)
        if len(word) >= 2 and all(_CJK.match(ch) for ch in word):
            out.add(word)
    return sorted(out, key=lambda w: (-len(w), w))


# --------------------------------------------------------------------------- scripts


@cache
def _converter(config: str):
    import opencc

    return opencc.OpenCC(config)


def fold_map(texts) -> dict[str, str]:
    """Traditional character → Simplified (OpenCC tw2s, one character at a time), for every
    character the texts hold and every Traditional form OpenCC gives for them (s2t, s2tw,
    s2hk): a query in either script folds onto the same characters as the book's text. A
    character that is Simplified already (one s2t changes) stays as it is."""
    chars = {ch for text in texts for ch in text if _CJK.match(ch)}
    candidates = set(chars)
    for config in ("s2t", "s2tw", "s2hk"):
        candidates |= {t for ch in chars for t in _converter(config).convert(ch) if _CJK.match(t)}
    out = {}
    for ch in sorted(candidates):
        if _converter("s2t").convert(ch) != ch:
            continue  # a Simplified character already (OpenCC's tw2s would turn 么 into 幺)
        simplified = _converter("tw2s").convert(ch)
        if len(simplified) == 1 and simplified != ch:
            out[ch] = simplified
    return out


def fold_text(text: str, fold: dict[str, str]) -> str:
    """What the engine matches on (the mirror of `fold` in search-engine.js): characters folded
    to Simplified, letters to lower case; the same length as the text."""
    out = []
    for ch in text:
        ch = fold.get(ch, ch)
        out.append(ch.lower() if len(ch.lower()) == len(ch) else ch)
    return "".join(out)


# ------------------------------------------------------------------------------ build


def synonyms(edition_key: str, fold: dict[str, str], path: Path = ROOT / "terms.tsv") -> list[list[str]]:
    """The glossary's terms across languages, [query form, edition form] pairs: in a Chinese
    edition an English term (warm-up) also searches its Chinese name (预热), in the English edition
    a Chinese name (either script, or Taiwan's) its English term. Folded as the engine folds."""
    if not path.is_file():
        return []
    import csv

    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    pairs = []
    for row in rows:
        en = row["en"].strip().lower()
        forms = {fold_text(row[k].strip(), fold) for k in ("zh_hant", "zh_hans", "zh_tw") if row.get(k, "").strip()}
        if not en:
            continue
        if edition_key == "en":
            pairs += [[zh, en] for zh in sorted(forms) if _CJK.search(zh)]
        else:
            main = fold_text(row["zh_hans" if edition_key == "zh-hans" else "zh_hant"].strip(), fold)
            if main:
                pairs.append([en, main])
    return pairs


def edition_texts(edition_key: str) -> list[str]:
    """Texts whose characters the script map must cover beyond the built pages: terms.tsv."""
    path = ROOT / "terms.tsv"
    return [path.read_text(encoding="utf-8")] if path.is_file() else []


def build_data(html_dir: Path, dict_path: Path | None = None, edition_key: str = "") -> dict:
    """The search data of a built edition: pages, records, vocabulary, script map."""
    pages, records = [], []
    for path in edition_pages(html_dir):
        url = path.relative_to(html_dir).as_posix()
        title, recs = page_records(path.read_text(encoding="utf-8"), url)
        page_index = len(pages)
        pages.append([url, title])
        records += [[page_index, r["anchor"], r["title"], r["text"]] for r in recs if r["title"] or r["text"]]
    fold = fold_map([r[2] + r[3] for r in records] + edition_texts(edition_key))
    folded = [fold_text(r[2] + "\n" + r[3], fold) for r in records]
    words = sphinx_terms(html_dir / "searchindex.js") + dictionary_words(dict_path) + jieba_words(folded)
    words = vocabulary(words, fold)
    return {"pages": pages, "records": records, "words": words,
            "fold": "".join(k + v for k, v in sorted(fold.items())), "synonyms": synonyms(edition_key, fold)}


def write_index(html_dir: Path, dict_path: Path | None = None, edition_key: str = "") -> Path:
    """Write the edition's search data into its _static (tools/book.py, after the build)."""
    data = build_data(html_dir, dict_path, edition_key)
    target = html_dir / "_static" / DATA_FILE
    target.write_text("window.OPTBOOK_SEARCH_DATA = " + json.dumps(data, ensure_ascii=False, separators=(",", ":"))
                      + ";\n", encoding="utf-8")
    return target


# The search page: pydata-sphinx-theme's (its search field, an empty #search-results), with the
# book's search data instead of Sphinx's searchtools.js, language_data.js and searchindex.js.
# The engine itself is in _static, which Jupyter Book gives every page; it acts on this one.
SEARCH_TEMPLATE = """{#- The book's search page (tools/site_search.py): the theme's, with the book's own search. -#}
{%- extends "!search.html" %}
{% block scripts -%}
  {{ script() }}
  <script src="{{ pathto('_static/search-data.js', 1) }}"></script>
{%- endblock scripts %}
"""


def search_template() -> str:
    return SEARCH_TEMPLATE


def stage(dest: Path) -> None:
    """Put the search page's template into a staged edition (tools/book.py stage)."""
    (dest / "_templates").mkdir(parents=True, exist_ok=True)
    (dest / "_templates" / "search.html").write_text(search_template(), encoding="utf-8")
