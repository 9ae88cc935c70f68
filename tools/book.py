"""Build the book's three editions from one tree (`make book`).

    python tools/book.py build [--out _build/html] [--edition en --edition zh-hant ...]

Each edition is built as its own Jupyter Book from a staging folder, _build/editions/NAME,
that holds only that edition's pages and a configuration derived from the one _config.yml
and _toc.yml:

* en       chapters/en, as written;
* zh-hant  chapters/zh, as written (Traditional characters);
* zh-hans  chapters/zh converted to Simplified characters with OpenCC (tw2s, so that the
           particle 著 becomes 着; see to_simplified) and to mainland quotation marks
           (「」『』 → “”‘’, outside code; see simplified_markdown), at build time only:
           the Simplified edition is never stored and never edited by hand.

Staged pages keep their repository paths (chapters/en/X, chapters/zh/X), so the Colab
and repository links of every page point at the real notebook. Each edition gets its own
page language (<html lang>), interface strings in its own script, a Chinese search index
segmented with the book's term list (terms.tsv) as jieba's user dictionary, and the
glossary generated from that same list. A page with a bilingual heading (the labs) goes by
its half in the edition's language in the sidebar and the browser's tab (toc_title). The
editions land in OUT/en, OUT/zh-hant and OUT/zh-hans, and OUT/index.html, the book's front
door, lets the reader choose (chooser_page). Notebooks are not executed: the
book shows their stored outputs, which nbval checks in `make test`. The site is
self-contained: MathJax is served from each edition's _static (see copy_mathjax), so a
page requests nothing from another host (tests/test_site.py and tests/test_browser.py).
"""

from __future__ import annotations

import argparse
import csv
import html
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
STAGING = ROOT / "_build" / "editions"


@dataclass(frozen=True)
class Edition:
    key: str  # folder of the edition in the built site
    label: str  # its name in the language switch, in its own script
    src: str  # folder of its chapters in the repository
    sphinx_language: str  # Sphinx's locale (catalogues, search language)
    lang_attr: str  # BCP 47 tag for <html lang>
    convert: bool = False  # made from the Traditional chapters with OpenCC


EDITIONS = {
    e.key: e
    for e in (
        Edition("en", "English", "chapters/en", "en", "en"),
        Edition("zh-hant", "繁體中文", "chapters/zh", "zh_TW", "zh-Hant"),
        Edition("zh-hans", "简体中文", "chapters/zh", "zh_CN", "zh-Hans", convert=True),
    )
}

# Interface strings the theme or Jupyter Book hard-code in English, written once in
# Traditional characters; the Simplified edition converts them.
TITLE_ZH = "深度學習優化器：從 SGD 到 AdamW"
UI = {
    "search_bar_text": ("Search this book...", "搜索本書……"),
    "nb_code_prompt_show": ("Show code cell {type}", "顯示代碼"),
    "nb_code_prompt_hide": ("Hide code cell {type}", "隱藏代碼"),
    "togglebutton_hint": ("Click to show", "點擊展開"),
    "togglebutton_hint_hide": ("Click to hide", "點擊收起"),
}
CAPTIONS = {
    "Foundations": "基礎",
    "Optimizers": "優化器",
    "Comparisons": "比較與選擇",
    "Cost": "成本",
    "Labs": "實驗練習",
    "Reference": "參考資料",
}
GLOSSARY_TEXT = {
    "title": ("Glossary", "術語表"),
    "intro": (
        "Every term the book uses. Each entry gives the English term and a one-line definition, "
        "followed in parentheses by the term as the Chinese edition writes it, in Traditional and in "
        "Simplified characters, and by the usage common in Taiwan where it differs.",
        "本書用到的每一個術語。每個詞條先列出中文版的寫法，下一行是英文原名，再給出一句釋義；"
        "釋義後的括號裡並列繁體和簡體兩種寫法，臺灣的慣用說法不同時也一併列出，方便讀者對照其他資料。",
    ),
    "hant": ("Traditional", "繁體"),
    "hans": ("Simplified", "簡體"),
    "tw": ("Taiwan", "臺灣用法"),
}


# Words whose 著 stays 著 in Simplified (zhù, "to write; notable"), which OpenCC's tw2s turns
# into 着 all the same, as it does the particle (沿著 → 沿着). Only the ones tw2s gets wrong
# are listed (著名, 著作, 顯著, 著稱, 名著 ... it keeps by itself: tests/test_chinese.py checks
# both); each is converted on its own, apart from the text around it, by to_simplified.
KEEP_ZHU = ("土著", "原著", "論著", "專著", "編著", "遺著", "譯著", "新著", "卓著")
_KEEP_ZHU = re.compile("|".join(sorted(KEEP_ZHU, key=len, reverse=True)))


@cache
def _tw2s():
    import opencc

    # tw2s, not t2s: t2s leaves the particle 著 as it is (沿著, 隨著, 意味著), where mainland
    # text writes 着. Over the book's Chinese text the two differ on nothing else.
    return opencc.OpenCC("tw2s")


def to_simplified(text: str) -> str:
    """Traditional characters to Simplified ones (OpenCC tw2s, KEEP_ZHU kept with 著)."""
    out, start = [], 0
    for m in _KEEP_ZHU.finditer(text):
        out.append(_tw2s().convert(text[start : m.start()]))
        out.append(_tw2s().convert(m.group()).replace("着", "著"))
        start = m.end()
    out.append(_tw2s().convert(text[start:]))
    return "".join(out)


# Mainland text quotes with “” and ‘’ where Traditional text uses 「」 and 『』.
QUOTES = str.maketrans({"「": "“", "」": "”", "『": "‘", "』": "’"})
# A fenced block that opens with one of these (or a language name, or nothing) is code; any
# other MyST directive ({note}, {admonition} ...) holds Markdown that readers read.
CODE_DIRECTIVES = {"code", "code-block", "sourcecode", "code-cell", "literalinclude", "math", "raw"}
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})\s*(\S*)")
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)", re.S)


def simplified_text(text: str) -> str:
    """Plain Traditional text (no code in it) as the Simplified edition shows it."""
    return to_simplified(text).translate(QUOTES)


def _quote_prose(text: str) -> str:
    """Quotation marks converted everywhere but in inline code (`...`, roles' targets too)."""
    out, start = [], 0
    for m in _CODE_SPAN.finditer(text):
        out += [text[start : m.start()].translate(QUOTES), m.group()]
        start = m.end()
    out.append(text[start:].translate(QUOTES))
    return "".join(out)


def _closes(line: str, opening: str) -> bool:
    """Whether a line closes the fenced block opened by the run of ` or ~ `opening`."""
    m = _FENCE.match(line)
    run = m.group(1) if m else ""
    return bool(m) and not line.strip(" \t\r\n`~") and run[0] == opening[0] and len(run) >= len(opening)


def simplified_markdown(text: str) -> str:
    """A Traditional Markdown page as the Simplified edition shows it: characters converted
    throughout (as before), quotation marks only outside code blocks and inline code."""
    text = to_simplified(text)
    out, prose = [], []
    code = None  # the opening run of ` or ~ of the code block we are in, if any
    directives = []  # the opening runs of the directives ({note} ...) we are in
    for line in text.splitlines(keepends=True):
        m = _FENCE.match(line)
        run, info = (m.group(1), m.group(2)) if m else ("", "")
        if code is not None:
            out.append(line)
            if _closes(line, code):
                code = None
        elif directives and _closes(line, directives[-1]):
            directives.pop()
            out += [_quote_prose("".join(prose)), line]
            prose = []
        elif m and info.startswith("{") and info.strip("{}") not in CODE_DIRECTIVES:
            directives.append(run)  # its title, after the name, is prose
            out += [_quote_prose("".join(prose)), line[: m.end()] + _quote_prose(line[m.end() :])]
            prose = []
        elif m:
            out.append(_quote_prose("".join(prose)))
            prose, code = [], run
            out.append(line)
        else:
            prose.append(line)
    out.append(_quote_prose("".join(prose)))
    return "".join(out)


def zh_text(edition: Edition, text: str) -> str:
    """A Traditional string as the edition shows it."""
    return simplified_text(text) if edition.convert else text


def ui(edition: Edition, key: str) -> str:
    en, zh = UI[key]
    return en if edition.key == "en" else zh_text(edition, zh)


def read_terms(path: Path = ROOT / "terms.tsv") -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


# ---------------------------------------------------------------------------- staging


# Stored outputs a reader reads as text, and how each is converted; images, widgets' state
# and error tracebacks are left as they are.
OUTPUT_TEXT = {"text/plain": simplified_text, "text/markdown": simplified_markdown, "text/html": simplified_text}


def _convert_lines(value, convert):
    """A notebook string field (a string or a list of lines) converted, in the same shape."""
    if isinstance(value, str):
        return convert(value)
    return convert("".join(value)).splitlines(keepends=True)


def convert_notebook(src: Path, dst: Path) -> None:
    """Copy a notebook, converting to Simplified its Markdown cells and the text of its
    stored outputs (streams, text/plain, text/markdown, text/html): the labs and solutions
    print Chinese too.

    Code cells' source is untouched, so the Simplified edition shows the very code of the
    Traditional one.
    """
    nb = json.loads(src.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            text = "".join(cell["source"])
            cell["source"] = simplified_markdown(text).splitlines(keepends=True)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                output["text"] = _convert_lines(output["text"], simplified_text)
            for mime, convert in OUTPUT_TEXT.items():
                if mime in output.get("data", {}):
                    output["data"][mime] = _convert_lines(output["data"][mime], convert)
    dst.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def stage_chapters(edition: Edition, dest: Path) -> None:
    src_dir = ROOT / edition.src
    out_dir = dest / edition.src
    out_dir.mkdir(parents=True, exist_ok=True)
    for src in sorted(src_dir.iterdir()):
        if src.suffix not in {".ipynb", ".md"}:
            continue
        if edition.convert and src.suffix == ".ipynb":
            convert_notebook(src, out_dir / src.name)
        elif edition.convert:
            (out_dir / src.name).write_text(simplified_markdown(src.read_text(encoding="utf-8")), encoding="utf-8")
        else:
            shutil.copy2(src, out_dir / src.name)
    for extra in ("labs", "solutions"):
        if (ROOT / extra).is_dir():
            shutil.copytree(ROOT / extra, dest / extra)
            if edition.convert:
                for nb in (dest / extra).glob("*.ipynb"):
                    convert_notebook(nb, nb)


def glossary_markdown(edition: Edition, terms: list[dict[str, str]]) -> str:
    """The glossary page of an edition, generated from terms.tsv."""
    en = edition.key == "en"

    def t(key):
        a, b = GLOSSARY_TEXT[key]
        return a if en else zh_text(edition, b)

    colon, sep = (": ", "; ") if en else ("：", "；")  # Chinese text, Chinese punctuation
    lines = [f"# {t('title')}", "", t("intro"), "", ":::{glossary}"]
    for row in terms:
        zh = row["zh_hans"] if edition.convert else row["zh_hant"]
        names = [f"{t('hant')}{colon}{row['zh_hant']}", f"{t('hans')}{colon}{row['zh_hans']}"]
        if row["zh_tw"]:
            names.append(f"{t('tw')}{colon}{row['zh_tw']}")
        if en:
            lines += [row["en"], f"  {row['def_en']} ({sep.join(names)})", ""]
        else:
            definition = zh_text(edition, row["def_zh"])
            lines += [zh, row["en"], f"  {definition}（{sep.join(names)}）", ""]
    lines.append(":::")
    return "\n".join(lines) + "\n"


def jieba_dictionary(edition: Edition, terms: list[dict[str, str]]) -> str:
    """jieba's user dictionary: every Chinese form of every term, as one word each."""
    words = []
    for row in terms:
        forms = [row["zh_hans"] if edition.convert else row["zh_hant"]]
        if row["zh_tw"]:
            forms.append(zh_text(edition, row["zh_tw"]))
        for form in forms:
            for word in form.split():  # "Nesterov 加速梯度": the Chinese part is the word
                if any("\u4e00" <= ch <= "\u9fff" for ch in word) and word not in words:
                    words.append(word)
    # a high frequency makes jieba keep each term whole (cut_for_search adds its parts too)
    return "".join(f"{w} 100000 n\n" for w in words)


def theme_catalogue(edition: Edition, dest: Path) -> str | None:
    """Interface strings in the edition's own script, searched before the themes' own.

    Sphinx looks up its "sphinx" message domain in the book's ``locale_dirs`` first, so one
    compiled catalogue per Chinese edition decides the interface strings of Sphinx and of
    pydata-sphinx-theme (which shares that domain and ships no Chinese in the pinned
    version): tools/i18n/theme.zh_Hant.po, written in Traditional characters with mainland
    wording, plus, for the Traditional edition, Sphinx's own Simplified catalogue converted
    to Traditional (Sphinx's zh_TW catalogue uses Taiwan wording). The book theme's own few
    strings come from its zh_CN and zh_TW catalogues.
    """
    if edition.key == "en":
        return None
    import opencc
    import sphinx
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import read_mo, write_mo
    from babel.messages.pofile import read_po

    out = Catalog(locale=edition.sphinx_language)
    with (ROOT / "tools" / "i18n" / "theme.zh_Hant.po").open("rb") as f:
        ours = read_po(f)
    if edition.convert:
        sources = [(ours, simplified_text)]
    else:
        sphinx_mo = Path(sphinx.__file__).parent / "locale" / "zh_CN" / "LC_MESSAGES" / "sphinx.mo"
        with sphinx_mo.open("rb") as f:
            sphinx_zh = read_mo(f)
        sources = [(ours, None), (sphinx_zh, opencc.OpenCC("s2t").convert)]
    for catalog, converter in sources:
        for message in catalog:
            if not message.id or not message.string or message.id in out:
                continue
            string = message.string
            if converter is not None:
                if isinstance(string, tuple):
                    string = tuple(converter(x) for x in string)
                else:
                    string = converter(string)
            out.add(message.id, string, context=message.context)
    target = dest / "_locale" / edition.sphinx_language / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "sphinx.mo").open("wb") as f:
        write_mo(f, out)
    return "_locale"


# A bilingual heading, "English / 中文", with perhaps a bilingual note after it in
# parentheses: "Lab 1: GD and SGD from scratch / 實驗 1：從零實現 GD 與 SGD (solutions / 解答)".
_BILINGUAL = re.compile(r"(?P<en>.+?) / (?P<zh>.+?)(?: \((?P<en_note>[^()]+?) / (?P<zh_note>[^()]+?)\))?")
_CJK = re.compile(r"[\u3400-\u9fff]")


def split_bilingual(title: str) -> tuple[str, str] | None:
    """A bilingual heading's English and Chinese titles, each with its note; None for a
    heading in one language.

    "Lab 1: GD and SGD from scratch / 實驗 1：從零實現 GD 與 SGD (solutions / 解答)" gives
    ("Lab 1: GD and SGD from scratch (solutions)", "實驗 1：從零實現 GD 與 SGD（解答）").
    """
    m = _BILINGUAL.fullmatch(title.strip())
    if not m or _CJK.search(m["en"]) or not _CJK.search(m["zh"]):
        return None
    en, zh = m["en"], m["zh"]
    if m["en_note"]:
        en, zh = f"{en} ({m['en_note']})", f"{zh}（{m['zh_note']}）"
    return en, zh


def page_heading(path: Path) -> str | None:
    """The page's title: the first `# ` heading of a Markdown page or of a notebook's first
    Markdown cell."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        text = next(("".join(c["source"]) for c in cells if c["cell_type"] == "markdown"), "")
    else:
        text = path.read_text(encoding="utf-8")
    m = re.search(r"^# +(.+?) *$", text, re.M)
    return m.group(1) if m else None


def toc_title(edition: Edition, staged: Path) -> str | None:
    """The sidebar title of a staged page whose heading is bilingual (the labs): its half in
    the edition's language, so that the Chinese sidebars read Chinese and stay short. The page
    keeps its bilingual heading. Staged Simplified pages are converted already."""
    heading = page_heading(staged) if staged.is_file() else None
    halves = split_bilingual(heading) if heading else None
    if not halves:
        return None
    import site_phone  # the labs' short sidebar titles (tools/site_phone.py)

    return site_phone.short_title(staged, halves, edition.key == "en", lambda text: zh_text(edition, text))


def edition_toc(edition: Edition, dest: Path | None = None) -> dict:
    """The edition's _toc.yml: its own chapters, captions in its language and, given the staged
    pages in `dest`, a `title:` for each page with a bilingual heading (see toc_title)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))

    def title(file: str) -> str | None:
        if dest is None:
            return None
        for suffix in (".ipynb", ".md"):
            if (dest / (file + suffix)).is_file():
                return toc_title(edition, dest / (file + suffix))
        return None

    def fix(node):
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                if k in {"file", "root"} and isinstance(v, str):
                    v = v.replace("chapters/en/", edition.src + "/", 1)
                elif k == "caption" and edition.key != "en":
                    if v not in CAPTIONS:
                        raise SystemExit(f"book: _toc.yml caption {v!r} has no Chinese name in tools/book.py CAPTIONS")
                    v = zh_text(edition, CAPTIONS[v])
                else:
                    v = fix(v)
                out[k] = v
            if isinstance(out.get("file"), str) and "title" not in out and (short := title(out["file"])):
                out["title"] = short
            return out
        if isinstance(node, list):
            return [fix(x) for x in node]
        return node

    return fix(toc)


def edition_config(edition: Edition, dest: Path, locale_dir: str | None) -> dict:
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    if edition.key != "en":
        cfg["title"] = zh_text(edition, TITLE_ZH)
    sphinx = cfg.setdefault("sphinx", {})
    sphinx["recursive_update"] = True  # merge the options below into Jupyter Book's own
    sphinx["local_extensions"] = {"book": str(ROOT / "tools")}  # this module: setup() below
    conf = sphinx.setdefault("config", {})
    conf["language"] = edition.sphinx_language
    conf["templates_path"] = ["_templates"]
    conf["html_context"] = {
        # <html lang>: the script-specific tag, not the Sphinx locale (zh_TW / zh_CN)
        "language": edition.lang_attr,
        # pydata-sphinx-theme: follow the reader's system; left empty, a first visit logs an error
        "default_mode": "auto",
        "optbook_edition": edition.key,
        "optbook_src": edition.src,
        "optbook_editions": [
            {"key": e.key, "label": e.label, "src": e.src, "lang": e.lang_attr} for e in EDITIONS.values()
        ],
    }
    conf["html_theme_options"] = {
        "search_bar_text": ui(edition, "search_bar_text"),
        "article_header_end": ["lang-switch.html", "article-header-buttons.html"],
    }
    conf["mathjax_path"] = f"mathjax/{MATHJAX_SCRIPT}"  # relative: the edition's own _static
    # No widget manager from a CDN: the book's interactive figures (optbook.interactive) need none.
    conf["nb_ipywidgets_js"] = {}
    for key in ("nb_code_prompt_show", "nb_code_prompt_hide", "togglebutton_hint", "togglebutton_hint_hide"):
        conf[key] = ui(edition, key)
    if edition.key != "en":
        conf["html_search_options"] = {"dict": str(dest / "_search_dict.txt")}
    if locale_dir:
        conf["locale_dirs"] = [locale_dir]
    return cfg


# MathJax 3 is served from each edition's own _static folder, never from a CDN (readers
# offline, on intranets, behind firewalls): the browser build of the pinned package
# django-static-mathjax (requirements.txt), which installs it as plain files. Only what the
# TeX input with CommonHTML output loads is copied: the combined component, the TeX
# extensions it may autoload, its fonts, and the menu's accessibility tools. It is copied
# into the built edition, not the staged _static: Jupyter Book would add every .js there
# to every page.
MATHJAX_SCRIPT = "tex-mml-chtml.js"
MATHJAX_PARTS = (MATHJAX_SCRIPT, "input/tex/extensions", "output/chtml", "ui", "a11y", "sre", "adaptors")


def mathjax_source() -> Path:
    import mathjax  # the package django-static-mathjax

    root = Path(mathjax.__file__).parent / "static" / "mathjax"
    if not (root / "es5" / MATHJAX_SCRIPT).is_file():
        raise SystemExit(f"book: MathJax not found in {root}: run `make install` (django-static-mathjax)")
    return root


def copy_mathjax(static: Path) -> None:
    src = mathjax_source()
    out = static / "mathjax"
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src / "LICENSE", out / "LICENSE")
    for part in MATHJAX_PARTS:
        if (src / "es5" / part).is_dir():
            shutil.copytree(src / "es5" / part, out / part)
        else:
            (out / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / "es5" / part, out / part)


def stage(edition: Edition, staging: Path = STAGING) -> Path:
    dest = staging / edition.key
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    stage_chapters(edition, dest)
    import site_reading  # figures' alt text into the staged notebooks (tools/site_reading.py)

    site_reading.stage_tree(dest, simplified_text if edition.convert else None)
    for extra in ("_static", "_templates"):
        if (ROOT / extra).is_dir():
            shutil.copytree(ROOT / extra, dest / extra)
    import site_search  # the book's own search page (tools/site_search.py)

    site_search.stage(dest)
    shutil.copy2(ROOT / "references.bib", dest / "references.bib")
    terms = read_terms()
    (dest / edition.src / "glossary.md").write_text(glossary_markdown(edition, terms), encoding="utf-8")
    (dest / "_search_dict.txt").write_text(jieba_dictionary(edition, terms), encoding="utf-8")
    locale_dir = theme_catalogue(edition, dest)
    dump = {"allow_unicode": True, "sort_keys": False}
    (dest / "_config.yml").write_text(
        yaml.safe_dump(edition_config(edition, dest, locale_dir), **dump), encoding="utf-8"
    )
    (dest / "_toc.yml").write_text(yaml.safe_dump(edition_toc(edition, dest), **dump), encoding="utf-8")
    return dest


# ---------------------------------------------------------------------------- building


# The root page, OUT/index.html: the book's front door, where the reader chooses an edition.
# One self-contained file (no request to another host, no web fonts), in the three scripts,
# each block marked with its language. Each edition's text, in Traditional characters for
# both Chinese editions (the Simplified one converts it): (English, Chinese).
FRONT = {
    "about": (
        "An open course book on the optimizers of deep learning, from gradient descent to AdamW: "
        "each one derived, written in a few lines of NumPy, checked against torch.optim, then used in PyTorch.",
        "一本開源教材，講解深度學習中的優化器，從梯度下降一直到 AdamW：每一種都先推導，"
        "再用幾行 NumPy 實現，與 torch.optim 對照驗證，最後在 PyTorch 中使用。",
    ),
    "read": ("Read the English edition", "閱讀{label}版"),
    # the preface's section on how to read the book, by its heading (as written in
    # chapters/en/00-preface.ipynb and chapters/zh/00-preface.ipynb): its anchor is looked up
    # in the built page (preface_anchor), since Sphinx numbers Chinese headings' anchors
    "how_to_read": ("Who it is for, and how to read it", "適合誰讀，怎麼讀"),
    "repository": ("The book's source code", "本書源代碼"),
}

CHOOSER = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="{description}">
<meta name="color-scheme" content="light dark">
<title>Optimizers in Deep Learning · 深度學習優化器 · 深度学习优化器</title>
<style>
:root {{ --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --link: #0a58ca; --card: #f6f8fa; }}
@media (prefers-color-scheme: dark) {{
  :root {{ --fg: #e6edf3; --muted: #9198a1; --line: #3d444d; --link: #6cb6ff; --card: #151b23; }}
  body {{ background: #0d1117; }}
}}
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; line-height: 1.6; color: var(--fg);
  max-width: 62rem; margin: 0 auto; padding: 2.5rem 1.25rem; }}
:lang(zh-Hant) {{ font-family: system-ui, "PingFang TC", "Noto Sans CJK TC", "Microsoft JhengHei", sans-serif; }}
:lang(zh-Hans) {{ font-family: system-ui, "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; }}
h1 {{ margin: 0 0 2rem; line-height: 1.3; }}
h1 span {{ display: block; }}
h1 span + span {{ font-size: .72em; font-weight: 600; color: var(--muted); }}
main {{ display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(min(100%, 16rem), 1fr)); }}
section {{ display: flex; flex-direction: column; background: var(--card); border: 1px solid var(--line);
  border-radius: .6rem; padding: 1.25rem; }}
h2 {{ margin: 0 0 .5rem; font-size: 1.25rem; }}
p {{ margin: 0 0 1rem; }}
.links {{ margin: auto 0 0; }}
a {{ color: var(--link); }}
a.read {{ display: inline-block; margin: 0 0 .5rem; padding: .45rem .9rem; border-radius: .4rem;
  background: var(--link); color: #fff; font-weight: 600; text-decoration: none; }}
@media (prefers-color-scheme: dark) {{ a.read {{ color: #0d1117; }} }}
a.read:hover, a.read:focus {{ filter: brightness(1.1); text-decoration: underline; }}
.links a:not(.read) {{ display: block; }}
footer {{ margin-top: 2rem; color: var(--muted); overflow-wrap: anywhere; }}
</style>
</head>
<body>
<header>
<h1>{titles}</h1>
</header>
<main>
{sections}
</main>
<footer>
<p>{repository}<br>
<a href="{repo_url}">{repo_text}</a></p>
</footer>
</body>
</html>
"""


def _front(edition: Edition, key: str) -> str:
    en, zh = FRONT[key]
    return en if edition.key == "en" else zh_text(edition, zh).format(label=edition.label)


def preface_anchor(page: Path, heading: str) -> str:
    """The anchor of the section of a built page whose heading reads `heading`."""
    text = page.read_text(encoding="utf-8")
    for anchor, inner in re.findall(r'<section id="([^"]+)">\s*<h[1-6][^>]*>(.*?)</h[1-6]>', text, re.S):
        inner = re.sub(r'<a class="headerlink".*?</a>', "", inner, flags=re.S)
        if html.unescape(re.sub(r"<[^>]+>", "", inner)).strip() == heading:
            return anchor
    raise SystemExit(f"book: {page} has no section {heading!r}: update FRONT['how_to_read'] in tools/book.py")


def chooser_page(root_pages: dict[str, str], out: Path | None = None) -> str:
    """The root page: the title in the three scripts, and for each edition a line on the book,
    a link to it and one to its preface's section on how to read the book (its anchor looked
    up in the built page under `out`; without `out`, the link goes to the preface)."""
    titles = {"en": _config_title(), "zh-hant": TITLE_ZH, "zh-hans": simplified_text(TITLE_ZH)}
    keys = [k for k in EDITIONS if k in root_pages]

    def esc(text: str) -> str:
        return html.escape(text, quote=False)

    heads, sections = [], []
    for key in keys:
        e, page = EDITIONS[key], f"{key}/{root_pages[key]}"
        heads.append(f'<span lang="{e.lang_attr}">{esc(titles[key])}</span>')
        heading = _front(e, "how_to_read")
        how = f"{page}#{preface_anchor(out / page, heading)}" if out is not None else page
        sections.append(
            f'<section lang="{e.lang_attr}" aria-labelledby="ed-{key}">\n'
            f'<h2 id="ed-{key}">{esc(e.label)}</h2>\n'
            f"<p>{esc(_front(e, 'about'))}</p>\n"
            f'<p class="links"><a class="read" href="{page}" hreflang="{e.lang_attr}">{esc(_front(e, "read"))}</a>\n'
            f'<a class="how" href="{how}" hreflang="{e.lang_attr}">{esc(heading)}</a></p>\n'
            "</section>"
        )
    repo_url = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]["url"]
    repository = " · ".join(
        f'<span lang="{EDITIONS[k].lang_attr}">{esc(_front(EDITIONS[k], "repository"))}</span>' for k in keys
    )
    return CHOOSER.format(
        description=html.escape(f"{titles['en']}. {FRONT['about'][0]}"),
        titles="\n".join(heads),
        sections="\n".join(sections),
        repository=repository,
        repo_url=html.escape(repo_url),
        repo_text=esc(repo_url.split("://", 1)[-1]),
    )


def _config_title() -> str:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["title"]


def build(editions: list[str], out: Path, quiet: bool = True, staging: Path = STAGING) -> int:
    start = time.perf_counter()
    staged = {key: stage(EDITIONS[key], staging) for key in editions}
    jb = Path(sys.executable).with_name("jupyter-book")
    procs = {}
    for key, dest in staged.items():
        cmd = [str(jb), "build", str(dest), "--builder", "html", "--warningiserror", "--nitpick", "--keep-going"]
        if quiet:
            cmd.append("--quiet")
        log = (staging / f"{key}.log").open("w")
        procs[key] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=dest), log)
    failed = []
    for key, (proc, log) in procs.items():
        proc.wait()
        log.close()
        if proc.returncode != 0:
            failed.append(key)
            print(f"book: the {key} edition failed; its log, {staging / (key + '.log')}:", file=sys.stderr)
            print((staging / f"{key}.log").read_text(), file=sys.stderr)
    if failed:
        return 1
    out.mkdir(parents=True, exist_ok=True)
    root_doc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))["root"]
    root_pages = {}
    for key, dest in staged.items():
        target = out / key
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(dest / "_build" / "html", target)
        copy_mathjax(target / "_static")
        import site_search  # sections, vocabulary and script map for the search page

        site_search.write_index(target, dest / "_search_dict.txt", key)
        root_pages[key] = root_doc.replace("chapters/en/", EDITIONS[key].src + "/", 1) + ".html"
    (out / "index.html").write_text(chooser_page(root_pages, out), encoding="utf-8")
    (out / ".nojekyll").write_text("")  # GitHub Pages: serve _static and friends as they are
    print(f"book: built {', '.join(editions)} in {time.perf_counter() - start:.0f} s")
    print(f"book: open {out / 'index.html'}")
    return 0


# ---------------------------------------------------------------- as a Sphinx extension


def _unique_scripts(app, pagename, templatename, context, doctree) -> None:
    """Drop repeated inline scripts: with Sphinx 7.4, the ones extensions add while reading
    (sphinx-thebe's `const THEBE_JS_URL = ...`) reach every page twice, once with the file
    name None and once with "", and the second `const` is an uncaught error in the reader's
    browser (tests/test_browser.py)."""
    seen, unique = set(), []
    for js in context.get("script_files", []):
        key = (js.filename or None, js.priority, tuple(sorted(js.attributes.items())))  # None and "" alike
        if key not in seen:
            seen.add(key)
            unique.append(js)
    if "script_files" in context:
        context["script_files"] = unique


def _toc_titles(app, pagename, templatename, context, doctree) -> None:
    """A page with a `title:` in the staged _toc.yml (see toc_title) goes by it in the
    browser's tab (<title>) and in its neighbours' previous / next links too, as it does in
    the sidebar; its heading stays as written."""
    site_map = getattr(app.env, "external_site_map", None)

    def short(docname):
        try:
            return site_map[docname].title if site_map is not None and docname else None
        except KeyError:
            return None

    if (title := short(pagename)) and "title" in context:
        context["title"] = html.escape(title)  # the context's titles are HTML
    relations = getattr(app.builder, "relations", {}).get(pagename) or [None, None, None]
    for key, docname in (("prev", relations[1]), ("next", relations[2])):
        if isinstance(context.get(key), dict) and (title := short(docname)):
            context[key] = {**context[key], "title": html.escape(title)}


def setup(app):
    """Each edition loads this module as a local Sphinx extension (see edition_config)."""
    app.connect("html-page-context", _unique_scripts, priority=900)
    app.connect("html-page-context", _toc_titles)
    import site_reading  # shared section anchors, images' alt text, the hide-code button

    site_reading.setup(app)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the editions")
    b.add_argument("--out", type=Path, default=ROOT / "_build" / "html")
    b.add_argument("--edition", action="append", choices=list(EDITIONS), help="default: all three")
    b.add_argument("--staging", type=Path, default=STAGING, help="where the editions' sources are staged")
    b.add_argument("--verbose", action="store_true", help="Sphinx's full output in the logs")
    args = ap.parse_args(argv)
    if args.command == "build":
        return build(
            args.edition or list(EDITIONS), args.out.resolve(), quiet=not args.verbose, staging=args.staging.resolve()
        )
    return 2


if __name__ == "__main__":
    sys.exit(main())
