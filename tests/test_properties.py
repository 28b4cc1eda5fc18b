"""Properties of the readers, the segmenter, the features and prediction, over generated input.

What "a line occurs in the input" means here, precisely. Let ``norm(s) = " ".join(s.split())``
(Python's whitespace) and ``clean(s)`` be ``s`` without NUL characters and with lone surrogates
replaced by U+FFFD.

* Plain text: the page's lines are exactly ``[norm(l) for l in clean(text).splitlines() if norm(l)]``.
* HTML: let ``T`` be the document's text with HTML entities decoded: the concatenation, in document
  order, of its text outside ``<script>``, ``<style>`` and the other skipped elements. Every line is
  ``norm`` of a contiguous run of ``T``, hence a substring of ``norm(T)``, and the lines together
  hold all of ``T``: with all whitespace removed, their concatenation equals ``T``'s. The generated
  documents below know ``T`` by construction (their text pieces, escaped with entities on the way
  into the markup), so the segmenter is checked against the input, not against itself.
"""

import gzip
import html as htmllib
import json
import re
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import boilerdetect.features as F
import boilerdetect.html as H
from boilerdetect import LABELS
from boilerdetect.features import HTML_FEATURE_NAMES, PROFILE_FEATURES, TEXT_FEATURE_NAMES, URL_FEATURES, featurize, url_features
from boilerdetect.html import segment_html
from boilerdetect.nesting import flatten
from boilerdetect.readers import decode, page_from_record, read_records, text_page

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextmanager
def python_path(module):
    """``module``'s compiled loops (its ``_words``) switched off for the block: its Python path runs."""
    saved, module._words = module._words, None
    try:
        yield
    finally:
        module._words = saved


def norm(s: str) -> str:
    return " ".join(s.split())


def squeeze(s: str) -> str:
    return "".join(s.split())


# --- generated HTML with known text ---------------------------------------------------------------

# characters that HTML keeps as they are in text (no NUL, no CR, no C1 controls, no surrogates)
TEXT_CHARS = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff") | st.sampled_from(" \n\t")
PIECE = st.text(TEXT_CHARS, max_size=30)
CONTAINERS = ["div", "p", "span", "b", "i", "em", "a", "h2", "section", "article", "nav", "footer", "ul", "li", "blockquote"]


def escape(text: str, draw) -> str:
    """Markup for ``text``: html.escape, and some characters as numeric or named references."""
    out = []
    for ch in text:
        how = draw(st.integers(0, 9))
        if ch in "&<>\"'" or how == 0:
            out.append(htmllib.escape(ch) if how else f"&#{ord(ch)};")
        elif how == 1 and ord(ch) >= 0xA0:
            out.append(f"&#x{ord(ch):x};")
        else:
            out.append(ch)
    return "".join(out)


@st.composite
def documents(draw, depth=0):
    """(markup, text T) of a random body fragment: nested containers, text, <br>, comments, scripts."""
    parts, text = [], []
    for _ in range(draw(st.integers(0, 4 if depth < 3 else 1))):
        kind = draw(st.sampled_from(["text", "text", "element", "br", "comment", "script"] if depth < 3 else ["text"]))
        if kind == "text":
            piece = draw(PIECE)
            parts.append(escape(piece, draw))
            text.append(piece)
        elif kind == "element":
            tag = draw(st.sampled_from(CONTAINERS))
            inner, inner_text = draw(documents(depth + 1))
            attrs = draw(st.sampled_from(["", ' class="x-nav main"', " hidden", ' href="/a?b=1&amp;c=2"', ' style="display:none"']))
            parts.append(f"<{tag}{attrs}>{inner}</{tag}>")
            text.append(inner_text)
        elif kind == "br":
            parts.append("<br>")
        elif kind == "comment":
            parts.append("<!-- a comment <p>not text</p> -->")
        else:
            parts.append("<script>var s = '<p>not text</p>';</script><style>p { color: red }</style>")
    return "".join(parts), "".join(text)


@SETTINGS
@given(documents())
def test_html_lines_are_the_decoded_text(doc):
    markup, text = doc
    page = segment_html(f"<html><head><title>t</title></head><body>{markup}</body></html>")
    whole = norm(text)
    for line in page.texts:
        assert line and line == norm(line)
        assert line in whole
    assert squeeze("".join(page.texts)) == squeeze(text)


@SETTINGS
@given(documents(), st.integers(0, 3))
def test_flattening_deep_nesting_keeps_the_text(doc, max_depth):
    markup, text = doc
    flat, _ = flatten(f"<body>{markup}</body>", max_depth=max_depth, few_tags=0)
    page = segment_html(flat)
    assert squeeze("".join(page.texts)) == squeeze(text)


@SETTINGS
@given(st.text(st.characters(blacklist_categories=()), max_size=300))  # surrogates included
def test_text_lines_are_the_normalised_input_lines(text):
    page = page_from_record({"text": text})
    cleaned = re.sub("[\ud800-\udfff]", "\ufffd", text.replace("\x00", ""))
    # lines end at \n, \r\n or \r; the other breaks str.splitlines knows are whitespace in a line
    assert page.texts == [norm(l) for l in re.split("\r\n|\r|\n", cleaned) if norm(l)]
    json.dumps(page.texts, ensure_ascii=False).encode("utf-8")  # always writable as UTF-8


@SETTINGS
@given(st.text(st.sampled_from(list("<>/=\"' &;#!-abpdivlsctrn\n")) | st.characters(blacklist_categories=()), max_size=300))
def test_html_records_segment_as_their_cleaned_markup(markup):
    # page_from_record hands the parser the UTF-8 bytes that its surrogate check made: the same
    # page as the cleaned markup given as a str (surrogates and NUL included above)
    cleaned = re.sub("[\ud800-\udfff]", "\ufffd", markup.replace("\x00", ""))
    page, expected = page_from_record({"html": markup}), segment_html(cleaned)
    assert page.lines == expected.lines and page.meta == expected.meta


# --- the compiled walk is the Python walk --------------------------------------------------------

# pieces of markup that exercise every rule of the walk: blocks, breaks, skipped and custom elements,
# nested and adjacent links, hidden markers, class/id/role tokens, the metadata it reads, entities,
# Unicode whitespace, deep nesting beyond MAX_ANCESTORS
SOUP = st.sampled_from([
    "<p>", "</p>", "<div class='Nav fooBar x-1' id='mainContent' role='main'>", "</div>", "<li>", "<ul>", "</ul>",
    "<a href='/a'>", "<a href=' https://x.example/b '>", "<a>", "</a>", "<span aria-hidden='true'>", "<span aria-hidden>",
    "</span>", "<section hidden>", "<p style='Display : NONE'>", "<p style='color:red'>", "<br>", "<hr>", "<br/>",
    "<b>", "</b>", "<my-widget class='Élan_vital'>", "</my-widget>", "<svg><title>s</title><p>q</p></svg>",
    "<title> T  i </title>", "<meta property='og:title' content=' O  g '>", "<meta property='og:title'>",
    "<base href=' /b/ '>", "<base>", "<script type='application/LD+json'>{\"text\": \"%s\"}</script>" % ("w " * 50),
    "<script>var x = '<p>no</p>';</script>", "<noscript><p>ns</p></noscript>", "<template><p>t</p></template>",
    "<table><tr><td>", "</td><td>", "</table>", "<!-- c -->", "&nbsp;", "&amp;", "\u00a0", "\u3000", "\n", " ",
    "  word ", "Text, more text.", "<div>" * 70, "</div>" * 70, "<head>", "</head>", "<body>", "<frameset>",
]) | st.text(st.sampled_from(list("<>/=\"' &;#!-abpdivlsctrn\n")) | st.characters(), max_size=8)


def both_walks(markup, max_lines):
    compiled = segment_html(markup, max_lines=max_lines)
    saved, H._htmlwalk = H._htmlwalk, None
    try:
        python = segment_html(markup, max_lines=max_lines)
    finally:
        H._htmlwalk = saved
    return compiled, python


@pytest.mark.skipif(H._htmlwalk is None, reason="the compiled walk (boilerdetect/_htmlwalk.c) is not built here")
@SETTINGS
@given(st.lists(SOUP, max_size=40), st.integers(1, 8) | st.none(), st.booleans())
def test_the_compiled_walk_segments_as_the_python_walk(pieces, max_lines, as_bytes):
    markup = "".join(pieces)
    if as_bytes:  # bytes as crawls hold them: invalid UTF-8 included
        markup = markup.encode("utf-8", "surrogatepass").replace(b"a", b"\xff", 1)
    compiled, python = both_walks(markup, max_lines)
    assert [vars(l) for l in compiled.lines] == [vars(l) for l in python.lines]
    assert compiled.meta == python.meta and compiled.truncated == python.truncated


# --- never raises ---------------------------------------------------------------------------------

HTMLISH = st.text(st.sampled_from(list("<>/=\"' &;#!-abpdivlsctrn\n")) | st.characters(), max_size=400)


@SETTINGS
@given(HTMLISH, st.integers(1, 50) | st.none())
def test_segmenter_and_features_never_raise(markup, max_lines):
    page = page_from_record({"html": markup}, max_lines=max_lines)
    assert max_lines is None or len(page.lines) <= max_lines
    X = featurize(page)
    site = len(PROFILE_FEATURES)  # NaN without a site profile, by design
    assert X.shape == (len(page.lines), len(HTML_FEATURE_NAMES)) and np.isfinite(X[:, :-site]).all()
    tpage = text_page(markup)
    T = featurize(tpage)
    # without a URL or a site profile, those columns are NaN by design
    unknown = [i for i, name in enumerate(TEXT_FEATURE_NAMES) if name in PROFILE_FEATURES or name in URL_FEATURES]
    assert T.shape == (len(tpage.lines), len(TEXT_FEATURE_NAMES)) and np.isfinite(np.delete(T, unknown, axis=1)).all()
    assert np.isnan(T[:, unknown]).all()


@SETTINGS
@given(st.text(st.sampled_from(list("htps:/[]?#=.-_0123456789abc%")) | st.characters(), max_size=120))
def test_url_features_never_raise(url):
    u = url_features(url)
    assert u.shape == (len(URL_FEATURES),) and (np.isnan(u).all() or np.isfinite(u).all())


@SETTINGS
@given(st.binary(max_size=600), st.sampled_from([None, "utf-8", "latin-1", "base64", "utf-16", "nonsense", "shift_jis"]))
def test_decode_never_raises(data, declared):
    text = decode(data, declared)
    assert isinstance(text, str) and "\x00" not in text
    text.encode("utf-8")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(["id", "url", "html", "text", "x"]), children, max_size=4),
    max_leaves=8,
)
JSONL_LINE = JSON_VALUES.map(json.dumps) | st.text(st.characters(blacklist_characters="\n\r"), max_size=60)


@FEW
@given(st.lists(JSONL_LINE, max_size=8), st.booleans())
def test_jsonl_gives_one_output_per_nonblank_line(tiny_detector, tmp_path_factory, lines, gz):
    body = "\n".join(lines).encode("utf-8", "surrogatepass")
    path = tmp_path_factory.mktemp("p") / "in.jsonl"
    path.write_bytes(gzip.compress(body) if gz else body)
    records = list(read_records(str(path)))
    assert len(records) == sum(1 for l in body.split(b"\n") if l.strip())
    check_predictions(tiny_detector, records)


@FEW
@given(st.binary(max_size=800), st.sampled_from(["auto", "text", "html", "jsonl", "warc"]), st.sampled_from(["x", "x.gz", "x.warc", "x.html"]))
def test_readers_never_raise_on_any_bytes(tiny_detector, tmp_path_factory, data, input_format, name):
    path = tmp_path_factory.mktemp("p") / name
    path.write_bytes(data)
    records = list(read_records(str(path), input_format))
    assert all(isinstance(r, dict) for r in records)
    pages = [r for r in records if "_skipped" not in r]
    assert all(("_error" in r) != ("html" in r or "text" in r) for r in pages)
    if input_format in ("auto", "text", "html") and not name.endswith(("warc", "gz")):
        assert len(pages) >= 1
    check_predictions(tiny_detector, pages)


def check_predictions(detector, records):
    """One result per record, in order; well-formed labels, scores and content."""
    results = detector.predict_records(records)
    assert len(results) == len(records)
    for record, res in zip(records, results):
        rec = res.to_record()
        if isinstance(record, dict) and "_error" in record:
            assert res.error == record["_error"]
        if res.error is not None:
            assert rec["content"] is None and "\n" not in res.error
            continue
        assert {l.label for l in res.lines} <= set(LABELS)
        assert all(0.0 <= l.score <= 1.0 for l in res.lines)
        assert res.content == "\n".join(l.text for l in res.lines if l.label == "content")
        json.dumps(rec, ensure_ascii=False).encode("utf-8")


@FEW
@given(st.lists(st.one_of(
    st.builds(lambda t: {"text": t}, st.text(max_size=200)),
    st.builds(lambda h: {"html": h}, HTMLISH),
    documents().map(lambda d: {"html": d[0], "url": "https://example.com/a"}),
    JSON_VALUES,
), max_size=6))  # fmt: skip
def test_predict_records_one_result_each(tiny_detector, records):
    check_predictions(tiny_detector, records)
    for record, res in zip(records, tiny_detector.predict_records(records)):
        if isinstance(record, dict) and isinstance(record.get("text"), str) and record.get("html") is None:
            try:
                page = page_from_record(record)
            except ValueError as exc:  # e.g. an id that is a list: an error record with the reader's message
                assert res.error == str(exc)
            else:
                assert res.error is None and [l.text for l in res.lines] == page.texts


# words of every kind of character: title case, numerics, combining marks, dotted capital I
_WORDY = st.lists(
    st.sampled_from(list("aZ_9 İıßΣς’'-.,ǅⅫ²١日本é\u0301\u00a0\t")) | st.characters(blacklist_categories=("Cs",)),
    min_size=1,
    max_size=40,
).map("".join)


@FEW
@given(st.lists(_WORDY, min_size=1, max_size=8), st.lists(st.sampled_from(["the", "ß", "istanbul", "i̇stanbul", "σ", "_", "9"]), max_size=4))
def test_compiled_word_counts_are_the_regex_counts(texts, title):
    # the compiled per-word loop (_words.c) must count what the Python path, built on the same
    # regex and str methods, counts: word boundaries, capitals and lower-casing of any Unicode
    title = frozenset(title)
    first_letters = [re.search(r"[^\W\d_]", t) for t in texts]
    expected = np.array(
        [
            [len(words), sum(map(len, words)), sum(w[0].isupper() for w in words),
             sum(w.lower() in F.STOPWORDS for w in words), sum(w.lower() in title for w in words),
             first is not None and first.group().isupper()]
            for words, first in zip(map(F._WORD.findall, texts), first_letters)
        ],
        dtype=float,
    ).reshape(len(texts), 6)  # fmt: skip
    with python_path(F):
        assert np.array_equal(F._word_counts(texts, title), expected)
    if F._words is not None:
        assert np.array_equal(F._word_counts(texts, title), expected)


@FEW
@given(_WORDY, st.lists(st.sampled_from(["a", "aa", "é", "©", "(c)", "日本", "ǅ", "\u0301", " ", "-.", "ıs"]) | _WORDY, min_size=1, max_size=6, unique=True))
def test_compiled_literal_starts_are_str_finds(text, literals):
    # the one-pass scan (_words.c) must find every start of every literal that str.find finds,
    # overlapping ones included, whatever the characters' widths in text and literals
    literals = tuple(literals)
    expected = sorted((i, k) for k, lit in enumerate(literals) for i in range(len(text)) if text.startswith(lit, i))
    with python_path(F):
        assert sorted(F._literal_starts(text, literals)) == expected
    if F._words is not None:
        assert F._words.find_literals(text, literals) == expected  # by position, then literal order


@pytest.mark.skipif(H._words is None, reason="the compiled loops (boilerdetect/_words.c) are not built here")
@SETTINGS
@given(st.text(st.sampled_from(list("abzABZ019 -_.:/\t")) | st.characters(max_codepoint=127), max_size=40))
def test_compiled_class_tokens_are_the_regex_tokens(value):
    # the compiled split of ASCII class/id/role values (_words.c) must find the tokens that the
    # Python path's regexes find: camelCase boundaries, runs with digits, single letters, separators
    with python_path(H):
        expected = H._tokens.__wrapped__(value)  # uncached: the Python path, not a cached token set
    assert H._words.ascii_tokens(value) == expected


@pytest.mark.skipif(F._words is None, reason="the compiled loops (boilerdetect/_words.c) are not built here")
@FEW
@given(st.lists(_WORDY, min_size=1, max_size=8), st.integers(1, 20))
def test_compiled_word_hashes_are_the_python_hashes(texts, bits):
    # the compiled hashing (_words.c) must give the columns that the Python path gives from the same
    # regex words and str.lower: a model fitted with one and applied with the other reads the same columns
    with python_path(F):
        expected = F._hashed_columns(texts, bits)
    found = F._hashed_columns(texts, bits)
    assert np.array_equal(found[0], expected[0]) and np.array_equal(found[1], expected[1])
    assert found[0].max(initial=0) < 2**bits


@pytest.mark.skipif(F._words is None, reason="the compiled loops (boilerdetect/_words.c) are not built here")
@FEW
@given(st.lists(_WORDY | st.just(""), min_size=1, max_size=8), st.integers(1, 12), st.integers(1, 3))
def test_compiled_word_scores_are_the_sparse_product(texts, bits, k):
    # the compiled sums (_words.c) must be the product of the hashed rows with the weights, repeated
    # words and pairs and lines without words included
    weights = np.random.default_rng(bits * 10 + k).normal(size=(k, 2**bits))
    expected = np.asarray(F.hashed_words(texts, bits) @ weights.T)
    assert np.allclose(F.hashed_word_scores(texts, weights, bits), expected, rtol=1e-12, atol=1e-12)
    with python_path(F):
        assert np.allclose(F.hashed_word_scores(texts, weights, bits), expected, rtol=1e-12, atol=1e-12)


_MARKY = st.lists(
    st.sampled_from(list("-–—•*·▪►>.!?。！？)1١２9 \t\u00a0\u3000\nİx")) | st.characters(blacklist_categories=("Cs",)),
    max_size=12,
).map("".join)


@FEW
@given(st.lists(_MARKY, min_size=1, max_size=6))
def test_compiled_sentence_breaks_and_bullets_are_the_regex_counts(texts):
    # the compiled scan (_words.c) must count what the two regexes find in the lower-cased lines
    # joined by newlines: the newline after each line but the last, Unicode digits and whitespace;
    # blank lines and lines holding a newline, where a match can run into the next line, fall back
    lower = [t.lower() for t in texts]
    joined = "\n".join(lower)
    starts = np.cumsum([0] + [len(t) + 1 for t in lower[:-1]])
    owners = lambda pattern: np.bincount(np.searchsorted(starts, [m.start() for m in pattern.finditer(joined)], side="right") - 1, minlength=len(texts))  # noqa: E731
    expected = (owners(F._SENT_BREAK).tolist(), owners(F._BULLET).tolist())
    with python_path(F):
        assert tuple(a.tolist() for a in F._sentences_and_bullets(texts, lower)) == expected
    assert tuple(a.tolist() for a in F._sentences_and_bullets(texts, lower)) == expected
    if F._words is not None:
        compiled = F._words.line_marks(texts)
        blank = any(not t.strip() or "\n" in t for t in texts)
        assert (compiled is None) == blank


@FEW
@given(st.lists(st.text(st.sampled_from(list("ab \t\n\xa0\u3000\x1c\x85\u2028İ")) | st.characters(blacklist_categories=("Cs",)), max_size=10), min_size=1, max_size=6))
def test_compiled_space_check_normalises_the_lines_split_and_join_would(texts):
    # the compiled check (_words.c) must find every line that str.split's whitespace would change
    # (any Unicode space, runs of them, either end), so that skipping the others changes nothing
    expected = [" ".join(t.split()) for t in texts]
    with python_path(F):
        assert F._space_normalised(texts) == expected
    assert F._space_normalised(texts) == expected
