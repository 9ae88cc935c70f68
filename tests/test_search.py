"""The book's search, without a browser: tools/site_search.py (records, math as text, the
script map, the vocabulary) and _static/search-engine.js run under node (segmentation, the
fold, ranking, snippets). tests/test_browser_search.py searches the built site."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from helpers import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import site_search  # noqa: E402

ENGINE = ROOT / "_static" / "search-engine.js"
TEX = re.compile(r"\\[A-Za-z]+|\\[()\[\]]|\$\$|[{}]")


# ------------------------------------------------------------------------ inline math


@pytest.mark.parametrize(("tex", "text"), [
    (r"\(\eta\)", "η"),
    (r"\(\beta_1\)", "β₁"),
    (r"\(1 - \alpha\)", "1 - α"),
    (r"\(\mathrm{lr}\cdot\lambda\)", "lr·λ"),
    (r"\(10^{-8}\)", "10⁻⁸"),
    (r"\(\hat v_t\)", "vₜ"),
    (r"\(\sqrt{\hat v}\)", "√v"),
    (r"\(x_{k+1}\)", "xₖ₊₁"),
    (r"\(\operatorname*{arg\,min}_x f(x)\)", "arg min_x f(x)"),
])
def test_inline_math_reads_as_plain_text(tex, text):
    assert site_search.math_text(tex) == text


@pytest.mark.parametrize("tex", [
    r"\(\frac{N-B}{N-1}\Sigma/B\)",
    r"\(\begin{pmatrix} 1 & 0 \\ 0 & 1 \end{pmatrix}\)",
    r"\(\mathbb{E}[\,\|g - \nabla f\|^2\,] = \frac{\sigma^2}{B}\)",
    "\\(" + "x + " * 40 + "y\\)",
])
def test_math_that_has_no_plain_text_is_an_ellipsis(tex):
    assert site_search.math_text(tex) == site_search.ELLIPSIS


def test_stray_latin_tex_in_text_is_read_too():
    """A reference whose text is a heading with math in it leaves TeX outside any math element."""
    text = site_search.clean_text("with variance \\propto 1/B, divided by \\sqrt{\\hat v}.")
    assert text == "with variance ∝ 1/B, divided by √v."
    assert not TEX.search(text)


def test_clean_text_joins_chinese_and_keeps_latin_words_apart():
    text = site_search.clean_text("學習率\n  預熱（warm-up）\x1e\x1e 下一段 text  here")
    assert text == "學習率預熱（warm-up）\n下一段 text here"


# --------------------------------------------------------------------------- records


PAGE = """<html><head><title>x</title></head><body>
<nav class="bd-docs-nav"><a href="#">動量</a> sidebar text</nav>
<main><article class="bd-article">
<section id="mom-top"><h1>動量<a class="headerlink" href="#mom-top">#</a></h1>
<div class="toctree-wrapper compound"><ul><li>目錄項目不該出現</li></ul></div>
<p>動量（momentum）讓優化器有了記憶，係數是
<span class="math notranslate nohighlight">\\(\\beta\\)</span>。</p>
<div class="math notranslate nohighlight" id="equation-x">\\[v_{t+1} = \\beta v_t + g_t\\]</div>
<div class="cell docutils container"><div class="cell_input docutils container"><div class="highlight">
<pre>import torch  # 代碼不進索引</pre></div></div>
<div class="cell_output docutils container"><div class="output stream"><pre>0.123 輸出</pre></div></div></div>
<section id="mom-ema"><h2>指數移動平均<a class="headerlink" href="#mom-ema">#</a></h2>
<p>緩衝是梯度的<strong>指數</strong>移動平均。</p>
</section>
</section>
<dl class="simple glossary">
<dt id="term-0">動量</dt><dt id="term-momentum">momentum</dt><dd><p>過去梯度的平均。</p></dd>
<dt id="term-lr">學習率</dt><dd><p>步長 <span class="math notranslate nohighlight">\\(\\eta\\)</span>。</p></dd>
</dl>
</article></main></body></html>"""


def test_a_page_gives_one_record_per_section_and_glossary_entry():
    title, records = site_search.page_records(PAGE, "chapters/zh/03-momentum.html")
    assert title == "動量"
    by_anchor = {r["anchor"]: r for r in records}
    assert list(by_anchor) == ["term-0", "term-lr", "mom-top", "mom-ema"]
    top, ema = by_anchor["mom-top"], by_anchor["mom-ema"]
    assert top["title"] == "動量" and ema["title"] == "指數移動平均"
    # the section's own prose: inline math as text, no display math, code, outputs, toc, header links
    assert top["text"] == "動量（momentum）讓優化器有了記憶，係數是 β。"
    assert ema["text"] == "緩衝是梯度的指數移動平均。"  # an inline element's edges leave no space
    assert by_anchor["term-0"]["title"] == "動量 · momentum"
    assert by_anchor["term-0"]["text"] == "過去梯度的平均。"
    assert by_anchor["term-lr"]["text"] == "步長 η。"
    for r in records:
        for bad in ("sidebar", "目錄項目", "import", "0.123", "#", "v_"):
            assert bad not in r["text"], (bad, r)
        assert not TEX.search(r["text"] + r["title"]), r


def test_the_data_of_a_built_edition(tmp_path):
    """build_data over a small built edition: its pages (not search.html, not a redirect), the
    vocabulary (Sphinx's terms, the user dictionary, jieba's words, folded) and the script map."""
    (tmp_path / "chapters" / "zh").mkdir(parents=True)
    (tmp_path / "chapters" / "zh" / "03-momentum.html").write_text(PAGE, encoding="utf-8")
    (tmp_path / "search.html").write_text(PAGE, encoding="utf-8")
    (tmp_path / "index.html").write_text('<meta http-equiv="refresh" content="0; url=x.html">', encoding="utf-8")
    (tmp_path / "searchindex.js").write_text(
        'Search.setIndex({"terms": {"動量": [0], "momentum": [0], "優化器": 0, "記": 0}})', encoding="utf-8")
    (tmp_path / "_static").mkdir()
    user_dict = tmp_path / "dict.txt"
    user_dict.write_text("學習率預熱 100000 n\n", encoding="utf-8")
    target = site_search.write_index(tmp_path, user_dict, "zh-hant")
    text = target.read_text(encoding="utf-8")
    assert text.startswith("window.OPTBOOK_SEARCH_DATA = ") and text.endswith(";\n")
    data = json.loads(text[len("window.OPTBOOK_SEARCH_DATA = "):-2])
    assert data["pages"] == [["chapters/zh/03-momentum.html", "動量"]]
    assert {r[1] for r in data["records"]} == {"mom-top", "mom-ema", "term-0", "term-lr"}
    words = set(data["words"])
    assert {"动量", "优化器", "学习率预热"} <= words  # Sphinx's, the dictionary's: folded to Simplified
    assert "移动" in words or "移动平均" in words  # jieba's, from the text
    assert "记" not in words and "momentum" not in words  # single characters and Latin need no dictionary
    fold = dict(zip(data["fold"][::2], data["fold"][1::2]))
    assert fold["動"] == "动" and fold["學"] == "学"


# --------------------------------------------------------------------------- scripts


def test_the_script_map_folds_traditional_onto_simplified():
    fold = site_search.fold_map(["為什麼動量裡面發著", "为什么后"])
    assert fold["動"] == "动" and fold["為"] == "为" and fold["麼"] == "么"
    assert fold["裡"] == "里" and fold["著"] == "着"
    assert fold["後"] == "后"  # a Traditional form of a Simplified character the text holds
    assert "么" not in fold and "后" not in fold  # Simplified already (tw2s would turn 么 into 幺)
    assert all(len(k) == 1 and len(v) == 1 for k, v in fold.items())
    assert site_search.fold_text("為什麼 AdamW", fold) == "为什么 adamw"


def test_vocabulary_is_folded_chinese_words_longest_first():
    fold = {"動": "动", "學": "学", "習": "习"}
    words = site_search.vocabulary(["動量", "學習率", "動", "momentum", "動量", "SGD 动量"], fold)
    assert words == ["学习率", "动量"]


def test_glossary_synonyms_go_from_the_other_language_to_the_editions(tmp_path):
    terms = tmp_path / "terms.tsv"
    terms.write_text("en\tzh_hant\tzh_hans\tzh_tw\tavoid\tdef_en\tdef_zh\n"
                     "warm-up\t預熱\t预热\t暖身\t\tx\ty\n", encoding="utf-8")
    fold = site_search.fold_map(["預熱暖身"])
    assert site_search.synonyms("zh-hans", fold, terms) == [["warm-up", "预热"]]
    assert site_search.synonyms("zh-hant", fold, terms) == [["warm-up", "预热"]]  # folded, as the engine matches
    assert site_search.synonyms("en", fold, terms) == [["暖身", "warm-up"], ["预热", "warm-up"]]


def test_search_template_replaces_sphinx_search_scripts():
    text = site_search.search_template()
    assert '{%- extends "!search.html" %}' in text and "search-data.js" in text
    assert "searchtools.js" not in text and "searchindex.js" not in text


# ------------------------------------------------------------------ the engine (node)


NODE = shutil.which("node")


def run_engine(script: str):
    """Run `script` under node with the engine as `eng`; its JSON output, parsed."""
    if NODE is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set and node is missing: the engine's tests cannot run")
        pytest.skip("node is not installed: the search engine's unit tests NOT run")
    prelude = f"const eng = require({json.dumps(str(ENGINE))});\n"
    out = subprocess.run([NODE, "-e", prelude + script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


DATA = {
    "pages": [["chapters/zh/09-schedules.html", "學習率調度、預熱與優化工具箱"],
              ["chapters/zh/03-momentum.html", "動量"], ["labs/05-schedules.html", "Lab 5"],
              ["solutions/05-schedules.html", "Lab 5 (solutions)"]],
    "records": [
        [0, "sched", "學習率調度、預熱與優化工具箱", "學習率調度給它乘上一個因子。"],
        [0, "warmup", "預熱：為什麼有用",
         "預熱的作用是在 vₜ 穩定下來之前讓步長保持很小。學習率預熱在 Transformer 上尤其常見。"],
        [0, "clip", "梯度裁剪", "裁剪梯度的範數，學習率不變。"],
        [1, "mom", "動量", "動量法（momentum）讓優化器有了記憶。"],
        [1, "ema", "指數移動平均", "緩衝是梯度的指數移動平均，不是動量本身。iterate 的次數。"],
        [2, "ex1", "Exercise 1: a warm-up schedule", "Write warmup(step)."],
        [3, "ex1-solutions", "Exercise 1: a warm-up schedule", "Write warmup(step). The solution."],
    ],
    "words": ["学习率", "为什么", "预热", "动量", "学习", "梯度", "裁剪", "优化器"],
    "fold": "動动學学習习預预為为麼么熱热範范數数記记憶忆",
    "synonyms": [["warm-up", "预热"], ["momentum", "动量"]],
}


def search(queries):
    script = f"""
const index = eng.build({json.dumps(DATA, ensure_ascii=False)});
const out = {{}};
for (const q of {json.dumps(queries, ensure_ascii=False)}) {{
  const results = eng.search(index, q);
  out[q] = {{terms: eng.segment(q, index).map(t => [t.word, t.kind]),
            anchors: results.map(r => r.record.anchor),
            also: results.map(r => r.also.map(o => o.anchor)),
            snippet: results.length ? eng.snippet(results[0]) : null}};
}}
console.log(JSON.stringify(out));
"""
    return run_engine(script)


def test_segmentation_is_forward_maximum_matching_with_bigram_fallback():
    out = search(["学习率预热", "為什麼要預熱", "Transformer預熱", "动量法", "优化器记忆力"])
    assert out["学习率预热"]["terms"] == [["学习率", "word"], ["预热", "word"], ["学习", "part"]]
    # Traditional folded first; 要 is a character no word starts
    assert out["為什麼要預熱"]["terms"] == [["为什么", "word"], ["要", "char"], ["预热", "word"]]
    assert out["Transformer預熱"]["terms"] == [["transformer", "latin"], ["预热", "word"]]
    assert out["动量法"]["terms"] == [["动量", "word"], ["法", "char"]]
    # a run no word covers: its bigrams
    assert out["优化器记忆力"]["terms"] == [["优化器", "word"], ["记忆", "bigram"], ["忆力", "bigram"]]


def test_ranking_prefers_the_section_that_holds_the_query():
    out = search(["学习率预热", "學習率預熱", "为什么要预热", "动量", "動量法", "rate", "记忆"])
    assert out["学习率预热"]["anchors"][0] == "warmup"  # both words, and the phrase as written
    assert out["學習率預熱"]["anchors"] == out["学习率预热"]["anchors"]  # the other script: the same
    assert out["为什么要预热"]["anchors"][0] == "warmup"  # both in its heading
    assert out["动量"]["anchors"][0] == "mom"  # the heading over a mention in the text
    assert out["動量法"]["anchors"][:1] == ["mom"]
    assert out["rate"]["anchors"] == []  # "iterate" is not a match for "rate"
    assert out["记忆"]["anchors"] == ["mom"]  # bigram fallback still finds the text


def test_a_glossary_term_in_the_other_language_searches_the_editions_name():
    out = search(["warm-up", "momentum"])
    assert out["warm-up"]["terms"] == [["warm", "alias"], ["up", "alias"], ["预热", "word"]]
    assert out["warm-up"]["anchors"][0] == "warmup"  # the Chinese heading 預熱 over the English lab
    assert "ex1" in out["warm-up"]["anchors"]  # the English words still find the lab
    assert out["momentum"]["anchors"][0] == "mom"


def test_a_lab_exercise_and_its_solution_are_one_result():
    out = search(["warm-up"])["warm-up"]
    k = out["anchors"].index("ex1")
    assert "ex1-solutions" not in out["anchors"] and out["also"][k] == ["ex1-solutions"]


def test_snippet_is_the_sentence_around_the_match_with_the_match_marked():
    snippet = search(["学习率预热"])["学习率预热"]["snippet"]
    text = "".join(piece for piece, _ in snippet)
    assert text == "學習率預熱在 Transformer 上尤其常見。"  # the sentence that holds the whole query
    assert [piece for piece, marked in snippet if marked] == ["學習率預熱"]


def test_python_fold_mirrors_the_engine():
    fold = dict(zip(DATA["fold"][::2], DATA["fold"][1::2]))
    samples = ["為什麼要預熱 AdamW", "動量（Momentum）", "ẞ ǅ İ x"]
    out = run_engine(f"""const m = eng.foldMap({json.dumps(DATA['fold'], ensure_ascii=False)});
console.log(JSON.stringify({json.dumps(samples, ensure_ascii=False)}.map(s => eng.fold(s, m))));""")
    assert out == [site_search.fold_text(s, fold) for s in samples]
    assert all(len(a) == len(b) for a, b in zip(out, samples))  # positions kept for snippets
