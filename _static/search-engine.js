/* The book's search (tools/site_search.py writes the data: _static/search-data.js, loaded by the
 * search page only). Jupyter Book gives this file to every page; it acts on the search page alone.
 *
 * A query is folded to one script and case (Traditional characters to Simplified, as the data's
 * map says, letters to lower case), then segmented: Latin words as they are, Chinese runs by
 * forward maximum matching against the book's vocabulary (the words of its jieba index and of
 * terms.tsv), a run no word covers by its bigrams. Sections are ranked by the words they hold:
 * in the heading over in the text, rare words over common ones, the whole query over its parts.
 * Runs in node as well (module.exports) for tests/test_search.py.
 */
(function (root) {
  "use strict";

  const CJK = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/;
  const LATIN = /[a-z0-9]+/g;
  const PIECES = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+/g;  // Chinese runs and Latin words
  // words too common to count by themselves (a query of nothing else still counts them)
  const STOP = new Set(["a", "an", "the", "of", "to", "in", "is", "are", "was", "and", "or", "for", "on", "with",
    "what", "why", "how", "when", "which", "who", "does", "do", "did", "can", "should", "would", "need", "needs",
    "it", "its", "by", "be", "as", "at", "vs", "this", "that", "there", "from", "not", "i", "we", "you", "my"]);

  function foldMap(pairs) {
    const map = new Map();
    for (let i = 0; i + 1 < pairs.length; i += 2) map.set(pairs[i], pairs[i + 1]);
    return map;
  }

  // One code unit in, one out (the book's Chinese characters are all in the BMP), so positions
  // in the folded text are positions in the text.
  function fold(text, map) {
    let out = "";
    for (const ch of text) {
      const c = map.get(ch) || ch;
      const lower = c.toLowerCase();
      out += lower.length === c.length ? lower : c;
    }
    return out;
  }

  // Forward maximum matching of a run of Chinese characters against `words` (a Set, folded):
  // the longest word at each position; characters no word starts are gathered and, when two or
  // more, given as their bigrams (a single one as itself).
  function segmentRun(run, words, maxLen) {
    const out = [];
    let pending = "";
    const flush = () => {
      if (pending.length === 1) out.push({ word: pending, kind: "char" });
      for (let k = 0; k + 2 <= pending.length; k++) out.push({ word: pending.slice(k, k + 2), kind: "bigram" });
      pending = "";
    };
    let i = 0;
    while (i < run.length) {
      let found = "";
      for (let n = Math.min(maxLen, run.length - i); n >= 2; n--) {
        const cand = run.slice(i, i + n);
        if (words.has(cand)) { found = cand; break; }
      }
      if (found) {
        flush();
        out.push({ word: found, kind: "word" });
        i += found.length;
      } else {
        pending += run[i];
        i += 1;
      }
    }
    flush();
    return out;
  }

  // The query's terms: [{word, kind, weight}], kind one of latin, word, bigram, char, stop, part (a
  // word of the vocabulary inside a longer query word: 学习率 in 自适应学习率), alias (the query's
  // own words for a glossary term it also searches by the edition's name: warm-up for 预热).
  function segment(query, index) {
    const q = fold(query, index.fold);
    const terms = [];
    const seen = new Set();
    const add = (word, kind) => {
      if (!word || seen.has(word)) return;
      seen.add(word);
      terms.push({ word, kind });
    };
    // Chinese runs and Latin words, in the order of the query
    const pieces = q.match(PIECES) || [];
    const addPieces = (list) => {
      for (const piece of list) {
        if (CJK.test(piece[0])) for (const t of segmentRun(piece, index.words, index.maxLen)) add(t.word, t.kind);
        else add(piece, STOP.has(piece) ? "stop" : "latin");
      }
    };
    addPieces(pieces);
    // a glossary term written in the other language: the edition's name for it is searched too,
    // and the words as written become aliases (they still find a Chinese edition's English labs)
    const latin = terms.filter((t) => t.kind === "latin" || t.kind === "stop");
    const synonymsUsed = [];
    for (const [from, to] of index.synonyms || []) {
      if (CJK.test(from)) {
        if (!pieces.some((p) => p.includes(from))) continue;
        for (const t of terms) if (CJK.test(t.word[0]) && from.includes(t.word)) t.kind = "alias";
      } else {
        const seq = from.match(LATIN) || [];
        const at = latin.findIndex((t, k) => seq.length && seq.every((w, j) => latin[k + j] && latin[k + j].word === w));
        if (at < 0) continue;
        for (let j = 0; j < seq.length; j++) if (latin[at + j].kind === "latin") latin[at + j].kind = "alias";
      }
      synonymsUsed.push(to);
      addPieces(to.match(PIECES) || []);
    }
    // the vocabulary's words inside each longer word (as jieba's cut_for_search gives them)
    for (const t of terms.slice()) {
      if (t.kind !== "word" || t.word.length < 3) continue;
      for (let n = t.word.length - 1; n >= 2; n--)
        for (let k = 0; k + n <= t.word.length; k++) {
          const part = t.word.slice(k, k + n);
          if (index.words.has(part)) add(part, "part");
        }
    }
    const WEIGHT = { latin: 1, word: 1, bigram: 0.7, alias: 0.5, part: 0.4, char: 0.15, stop: 0.1 };
    for (const t of terms) t.weight = WEIGHT[t.kind];
    // the query as written, and as the edition names its glossary terms
    terms.phrases = [q, ...synonymsUsed].map(flat).filter((p) => p.length >= 2);
    return terms;
  }

  // A text without white space or punctuation, for phrases: "warm-up" holds "warmup".
  const flat = (s) => s.replace(/[\s\p{P}]+/gu, "");

  function build(data) {
    const map = foldMap(data.fold || "");
    const words = new Set(data.words || []);
    let maxLen = 2;
    for (const w of words) maxLen = Math.max(maxLen, w.length);
    const pages = data.pages.map(([url, title]) => ({ url, title, ftitle: fold(title, map) }));
    const records = data.records.map(([page, anchor, title, text]) => {
      const ftitle = fold(title, map), ftext = fold(text, map);
      return { page: pages[page], anchor, title, text, ftitle, ftext, flatTitle: flat(ftitle), flatText: flat(ftext) };
    });
    return { fold: map, words, maxLen, pages, records, synonyms: data.synonyms || [] };
  }

  function escapeRegExp(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }

  // Where a term occurs in a folded text: a Latin word at the start of a word (rate, not
  // iterate), a Chinese word anywhere.
  function matcher(term) {
    if (CJK.test(term.word[0])) return { re: new RegExp(escapeRegExp(term.word), "g") };
    return { re: new RegExp("(?<![a-z0-9])" + escapeRegExp(term.word), "g") };
  }

  function count(re, text) {
    re.lastIndex = 0;
    let n = 0;
    while (re.exec(text) !== null) { n++; if (n >= 20) break; }
    return n;
  }

  // The records ranked for a query: [{record, score, terms, phrase, also}] best first; a record
  // that repeats another (a lab's exercise and its solution) goes with it, in `also`.
  function search(index, query) {
    const terms = segment(query, index);
    if (!terms.length) return [];
    const onlyWeak = terms.every((t) => t.kind === "char" || t.kind === "stop");
    const N = index.records.length;
    for (const t of terms) {
      t.re = matcher(t).re;
      let df = 0;
      for (const r of index.records) if (count(t.re, r.ftitle) || count(t.re, r.ftext)) df++;
      t.df = df;
      t.idf = df ? Math.log(1 + N / df) : 0;
    }
    const main = terms.filter((t) => t.kind !== "part" && t.kind !== "alias" && t.idf > 0);
    const total = main.reduce((s, t) => s + t.weight * t.idf, 0) || 1;
    // the whole query, and each pair of neighbouring words in it, as written: a section holding
    // them together ranks over one that holds the words apart
    const phrases = terms.phrases;
    const strongTerms = main.filter((t) => t.kind !== "stop" && t.kind !== "char");  // in the query's order
    const pairs = strongTerms.slice(1).map((t, k) => flat(strongTerms[k].word + t.word));
    const results = [], partial = [];
    for (const r of index.records) {
      let score = 0, covered = 0, strong = false, weak = false;
      const hit = [];
      for (const t of terms) {
        if (!t.idf) continue;
        const inTitle = count(t.re, r.ftitle) > 0;
        const tf = count(t.re, r.ftext);
        const inPage = count(t.re, r.page.ftitle) > 0;
        if (!inTitle && !tf) continue;
        hit.push(t);
        score += t.weight * t.idf * ((inTitle ? 4 : 0) + (inPage ? 0.5 : 0) + (tf ? 1 + Math.log(tf) : 0));
        if (t.kind !== "part" && t.kind !== "alias") covered += t.weight * t.idf;
        if (t.kind === "part" && t.word.length < 3) weak = true;  // 学习 alone is not 学习率: only beside a word of the query
        else if (t.kind !== "char" && t.kind !== "stop") strong = true;
      }
      if (!hit.length || (!strong && !weak && !onlyWeak)) continue;
      score *= Math.pow(0.25 + Math.min(1, covered / total), 2);
      let bonus = 1, phrase = "";
      for (const p of phrases) {
        const b = r.flatTitle === p ? 6  // the section the query names
          : r.flatTitle.startsWith(p) ? 4  // a heading that begins with the query is about it
          : r.flatTitle.includes(p) ? 3 : r.flatText.includes(p) ? 1.5 : 1;
        if (b > bonus) bonus = b;
        if (!phrase && r.ftext.includes(p)) phrase = p;
      }
      score *= bonus;
      for (const pair of pairs) {
        if (r.flatTitle.includes(pair)) score *= 1.6;
        else if (r.flatText.includes(pair)) score *= 1.2;
      }
      (strong || onlyWeak ? results : partial).push({ record: r, score, terms: hit, phrase, also: [] });
    }
    if (!results.length) results.push(...partial);  // nothing holds the query's words: their parts
    results.sort((a, b) => b.score - a.score);
    const seen = new Map(), out = [];
    for (const res of results) {  // a lab and its solutions share the file name and the headings
      const title = res.record.title.replace(/\s*[(（][^()（）]*[)）]\s*$/, "");  // "(solutions / 解答)"
      const key = res.record.page.url.split("/").pop() + "\u0000" + title;
      if (seen.has(key)) seen.get(key).also.push(res.record);
      else { seen.set(key, res); out.push(res); }
    }
    return out;
  }

  // The sentence of the section that holds the whole query, else the one that holds the most of
  // its words (rare words counting most), cut to about `width` characters around the first match:
  // [text, isMatch] pieces, from the text as written (folding keeps positions).
  function snippet(result, width) {
    width = width || 160;
    const r = result.record;
    const text = r.text, ftext = r.ftext;
    if (!text.trim()) return [[r.page.title || r.title, false]];  // a heading with subsections only
    const terms = result.terms.filter((t) => t.kind !== "stop" && t.kind !== "char");
    const useful = terms.length ? terms : result.terms;
    let at = result.phrase && result.phrase.length >= 2 ? ftext.indexOf(result.phrase) : -1;
    let len = at >= 0 ? result.phrase.length : 0;
    if (at < 0) {
      // sentences: [start, end) between stops
      const bounds = [0];
      const re = /[。！？!?\n]|\.\s/g;
      for (let m; (m = re.exec(text)) !== null;) bounds.push(m.index + m[0].length);
      bounds.push(text.length);
      let best = -1;
      for (let k = 0; k + 1 < bounds.length; k++) {
        const piece = ftext.slice(bounds[k], bounds[k + 1]);
        let value = 0, first = -1, firstLen = 0;
        for (const t of useful) {
          t.re.lastIndex = 0;
          const m = t.re.exec(piece);
          if (!m) continue;
          value += t.weight * t.idf;
          if (first < 0 || m.index < first) { first = m.index; firstLen = m[0].length; }
        }
        if (value > best + 1e-9 && first >= 0) { best = value; at = bounds[k] + first; len = firstLen; }
      }
    }
    if (at < 0) return [[text.slice(0, width) + (text.length > width ? "…" : ""), false]];
    const stops = /[。！？!?\n]|\.\s/g;
    let start = 0, end = text.length;
    for (let m; (m = stops.exec(text)) !== null;) {
      if (m.index + m[0].length <= at) start = m.index + m[0].length;
      else if (m.index >= at + len) { end = m.index + 1; break; }
    }
    if (end - start > width) {
      const s = Math.max(start, at - Math.floor((width - len) / 3));
      const e = Math.min(end, s + width);
      start = s; end = e;
    }
    const raw = text.slice(start, end).replace(/\n/g, " ");
    const fraw = ftext.slice(start, end).replace(/\n/g, " ");
    const lead = raw.length - raw.trimStart().length;
    const piece = raw.trim();
    const f = fraw.slice(lead, lead + piece.length);
    const before = text.slice(0, start).trimEnd(), upto = text.slice(0, end).trimEnd();
    const prefix = before && !/[。！？!?.:：；;」”）)\n]$/.test(before) ? "…" : "";
    const suffix = end < text.length && !/[。！？!?.:：；;」”）)]$/.test(upto) ? "…" : "";
    const marks = new Array(piece.length).fill(false);
    for (const t of result.terms) {
      if (t.kind === "stop" || t.kind === "char") continue;
      t.re.lastIndex = 0;
      for (let m; (m = t.re.exec(f)) !== null;) for (let k = 0; k < m[0].length; k++) marks[m.index + k] = true;
    }
    const parts = [];
    if (prefix) parts.push([prefix, false]);
    for (let k = 0; k < piece.length;) {
      let j = k;
      while (j < piece.length && marks[j] === marks[k]) j++;
      parts.push([piece.slice(k, j), marks[k]]);
      k = j;
    }
    if (suffix) parts.push([suffix, false]);
    return parts;
  }

  const STRINGS = {
    en: { heading: "Search Results", found: (n) => `Found ${n} section${n === 1 ? "" : "s"} matching your search.`,
      none: "No section matches your search. Check the spelling, or try fewer or other words.", more: (n) => `Showing the first ${n}.` },
    "zh-Hant": { heading: "搜索結果", found: (n) => `找到 ${n} 個相關小節。`, none: "沒有找到相關的小節。請檢查拼寫，或換用其他關鍵詞。",
      more: (n) => `只列出前 ${n} 個。` },
    "zh-Hans": { heading: "搜索结果", found: (n) => `找到 ${n} 个相关小节。`, none: "没有找到相关的小节。请检查拼写，或换用其他关键词。",
      more: (n) => `只列出前 ${n} 个。` },
  };
  const MAX_RESULTS = 200;

  function render(container, index, query, lang) {
    const s = STRINGS[lang] || STRINGS.en;
    const doc = container.ownerDocument;
    container.textContent = "";
    if (!query.trim()) return [];
    const results = search(index, query);
    const h2 = doc.createElement("h2");
    h2.textContent = s.heading;
    const summary = doc.createElement("p");
    summary.className = "search-summary";
    summary.setAttribute("role", "status");  // read out when the results change as one types
    summary.textContent = results.length ? s.found(results.length) + (results.length > MAX_RESULTS ? " " + s.more(MAX_RESULTS) : "") : s.none;
    const list = doc.createElement("ul");
    list.className = "search optbook-search";
    for (const res of results.slice(0, MAX_RESULTS)) {
      const r = res.record;
      const li = doc.createElement("li");
      const a = doc.createElement("a");
      a.href = r.page.url + (r.anchor ? "#" + r.anchor : "");
      a.textContent = r.title || r.page.title;
      li.appendChild(a);
      if (r.page.title && r.page.title !== r.title) {
        const where = doc.createElement("span");
        where.className = "optbook-search-page";
        where.textContent = r.page.title;
        li.appendChild(where);
      }
      for (const other of res.also) {  // the same section elsewhere: a lab's solution
        const also = doc.createElement("a");
        also.className = "optbook-search-also";
        also.href = other.page.url + (other.anchor ? "#" + other.anchor : "");
        also.textContent = other.page.title || other.page.url;
        li.appendChild(also);
      }
      const p = doc.createElement("p");
      p.className = "context";
      for (const [text, isMatch] of snippet(res)) {
        if (isMatch) {
          const mark = doc.createElement("mark");
          mark.textContent = text;
          p.appendChild(mark);
        } else p.appendChild(doc.createTextNode(text));
      }
      li.appendChild(p);
      list.appendChild(li);
    }
    container.append(h2, summary, list);
    return results;
  }

  function start() {
    const doc = root.document;
    const container = doc.getElementById("search-results");
    if (!container || !root.OPTBOOK_SEARCH_DATA) return;
    const index = build(root.OPTBOOK_SEARCH_DATA);
    const lang = doc.documentElement.lang;
    const params = new URLSearchParams(root.location.search);
    const query = params.get("q") || "";
    const inputs = [...doc.querySelectorAll('input[name="q"]')];
    for (const input of inputs) if (query) input.value = query;
    render(container, index, query, lang);
    // search as the reader types in the page's own field (the header's leads here with ?q=)
    const field = doc.querySelector("#search-results") && doc.querySelector(".bd-search-container form.bd-search input[name='q']");
    if (field) {
      let timer = null;
      field.addEventListener("input", () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          render(container, index, field.value, lang);
          const url = new URL(root.location.href);
          url.searchParams.set("q", field.value);
          root.history.replaceState(null, "", url);
        }, 200);
      });
    }
  }

  const api = { fold, foldMap, segment, segmentRun, build, search, snippet, render };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  else {
    root.OptbookSearch = api;
    if (root.document) {
      if (root.document.readyState === "loading") root.document.addEventListener("DOMContentLoaded", start);
      else start();
    }
  }
})(typeof window !== "undefined" ? window : globalThis);
