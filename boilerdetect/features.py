"""Page → feature matrix, one row per line, computed for the whole page at once.

Families of features, each feature named and documented in :data:`TEXT_FEATURES` / :data:`HTML_FEATURES`:

* line facts (length, punctuation, case, digits, stopwords, keywords) from the text alone;
* page facts (repetition, position, runs of similar lines) and context: the same facts averaged
  over windows of neighbouring lines;
* list facts (runs of headline-like lines, duplicated pairs, a short heading above a run);
* URL facts of plain-text pages (what the page's address says it is);
* markup and teaser facts of HTML pages (link density, tags, class/id tokens, DOM-region
  statistics; runs of teaser links outside menus).

Both kinds share line, page, context and list facts; plain-text pages add the URL facts, HTML pages
the markup and teaser facts (column order below, at TEXT_FEATURES). Both end with the site family
(:data:`PROFILE_FEATURES`): how common the line is on the other pages of its site, from an
optional :class:`~boilerdetect.profile.SiteProfile` (NaN without one). String work is one pass over
the lines; everything after that is numpy over the page.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Hashable, Iterator
from functools import lru_cache, reduce
from itertools import chain, repeat
from operator import attrgetter, itemgetter, or_
from urllib.parse import urlsplit

import numpy as np

from .align import teaser_mask
from .document import Page

try:
    from . import _words  # compiled at install (setup.py); optional
except ImportError:  # not built here: _word_counts counts the same in Python, slower
    _words = None

# --- vocabularies ------------------------------------------------------------------------------

STOPWORDS = frozenset(
    # en
    """the a an and or of to in on for with is are was were be been it its this that as at by from
    not but have has had will would can could they their there which who what when where how we you
    he she his her our your i my me if so than then also more about into over after all one""".split()
    # de, fr, es, it, pt, nl
    + """der die das und ist nicht mit den dem von zu ein eine auf für sich des auch es im wie
    le la les et est une des du en pour qui que dans sur pas plus par au aux avec ce il elle sont
    el los las y es un una del se por con para como su al lo más pero sus
    il di che è per non una sono della gli nel con si da anche come
    o os as um uma do da em não com por mais para são dos das
    het een van en is dat op te zijn met voor niet aan er ook als""".split()
    # ru, pl, sv/da/no, tr, id
    + """и в не на что с по как это он я к из но за то все она так его же от
    i w nie na się z że do jest to jak po ale za od co
    och att det som är på med för av den till inte har om
    ve bir bu da de için ile çok ne daha
    dan yang di ke dari ini itu untuk dengan tidak""".split()
)

BOILERPLATE_WORDS = re.compile(  # matched against lower-cased text
    r"©|\(c\)|copyright|all rights reserved|cookie|privacy|terms of|terms and|sign in|sign up|"
    r"log ?in|log ?out|register|subscribe|newsletter|follow us|share|tweet|facebook|twitter|"
    r"linkedin|instagram|pinterest|whatsapp|youtube|skip to|read more|continue reading|load more|"
    r"show more|view all|see all|back to top|menu|search|advertis|sponsored|related|recommended|"
    r"you may also|you might also|most popular|most read|trending|latest|previous|next|"
    r"comments?\b|reply|posted by|written by|contact us|about us|home\b|"
    r"impressum|datenschutz|mentions légales|politique de|aviso legal|política de",
)
DATE = re.compile(
    r"\b\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b|\b\d{1,2}:\d{2}\b|"
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}\b|"
    r"\b\d{1,2}\.? (jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|"
    r"\b(ago|yesterday|today)\b",
)
TERMINAL = frozenset('.!?。！？…"”»\')')
SEPARATORS = frozenset("|·»›•/")

# --- feature names and one-line documentation ------------------------------------------------

LINE_FEATURES = {
    "log_chars": "log(1 + characters)",
    "log_words": "log(1 + words)",
    "mean_word_len": "mean word length in characters",
    "ends_terminal": "ends with sentence punctuation (. ! ? … quotes)",
    "ends_colon": "ends with ':'",
    "punct_ratio": "share of punctuation characters",
    "digit_ratio": "share of digits",
    "upper_ratio": "share of upper-case letters among letters",
    "starts_upper": "first letter is upper-case",
    "title_case_ratio": "share of words starting with an upper-case letter",
    "stopword_ratio": "share of words that are common function words (14 languages)",
    "comma_per_word": "commas per word",
    "n_sentences": "log(1 + sentence breaks inside the line)",
    "boiler_words": "contains a typical boilerplate phrase (copyright, share, login, menu...)",
    "date_like": "contains a date, a time or 'ago'",
    "separators": "log(1 + separator characters | · » › • /)",
    "starts_bullet": "starts with a bullet, dash or number",
    "cjk_ratio": "share of CJK/Thai characters (words are not space-separated there)",
    "title_overlap": "share of the line's words found in the page title",
}
PAGE_FEATURES = {
    "dup_count": "log(number of lines on the page with the same normalised text)",
    "adjacent_dup": "same text as the previous or next line",
    "later_copy": "an earlier line has the same text",
    "rel_pos": "index / number of lines",
    "chars_before": "share of the page's characters before this line",
    "log_from_start": "log(1 + index)",
    "log_from_end": "log(1 + lines after this one)",
    "page_lines": "log(1 + lines on the page)",
    "page_chars": "log(1 + characters on the page)",
    "char_share": "share of the page's characters in this line",
    "short_run": "log(1 + length of the run of short (<= 4 words) lines holding this line)",
    "long_run": "log(1 + length of the run of long (>= 10 words) lines holding this line)",
    "in_text_span": "between the first and last sentence-like line of the page",
    "dist_to_core": "signed distance (in lines / page lines) to the densest 10-line window",
    "page_sentence_share": "share of the page's lines that are sentence-like (>= 10 words, terminal)",
    "page_short_share": "share of the page's lines with <= 4 words",
}
CONTEXT_SIGNALS = ("log_words", "ends_terminal", "stopword_ratio", "punct_ratio", "boiler_words")
WINDOWS = (1, 3, 10)
CONTEXT_FEATURES = {
    f"{sig}_w{w}": f"mean of {sig} over lines i-{w}..i+{w}" for w in WINDOWS for sig in CONTEXT_SIGNALS
} | {f"prev_{sig}": f"{sig} of the previous line" for sig in ("log_words", "ends_terminal")} | {
    f"next_{sig}": f"{sig} of the next line" for sig in ("log_words", "ends_terminal")
}

BLOCK_TAG_GROUPS = {
    "tag_p": ("p",),
    "tag_h1": ("h1",),
    "tag_h2_h3": ("h2", "h3"),
    "tag_h4_h6": ("h4", "h5", "h6"),
    "tag_li": ("li",),
    "tag_cell": ("td", "th"),
    "tag_div": ("div", "section", "article", "main"),
    "tag_pre": ("pre",),
    "tag_quote": ("blockquote",),
    "tag_def": ("dt", "dd"),
    "tag_option": ("option",),
    "tag_caption": ("figcaption", "caption"),
}
ANCESTOR_TAGS = (
    "nav", "header", "footer", "aside", "form", "article", "main", "ul", "ol", "table", "code",
    "blockquote", "noscript", "button", "label", "select", "dl", "figure", "a", "strong", "time",
)  # fmt: skip
ATTR_GROUPS = {
    "attr_nav": r"nav|menu|topbar|toolbar",
    "attr_footer": r"footer|copyright|legal",
    "attr_header": r"header|masthead|banner",
    "attr_sidebar": r"sidebar|aside|widget|rail",
    "attr_related": r"related|recommend|more|popular|trending|teaser|latest|similar",
    "attr_share": r"share|social|sharing",
    "attr_comment": r"comment|reply|respond|discussion|disqus",
    "attr_cookie": r"cookie|consent|gdpr|notice",
    "attr_breadcrumb": r"breadcrumb|crumbs",
    "attr_ad": r"\bads?\b|advert|sponsor|promo|dfp",
    "attr_content": r"content|article|post|entry|body|main|text|story|prose|markdown",
    "attr_meta": r"author|byline|meta|date|time|published",
    "attr_tag": r"\btags?\b|categor|taxonom|label",
    "attr_newsletter": r"newsletter|subscribe|signup|sign up",
    "attr_modal": r"modal|popup|overlay|dialog|drawer",
    "attr_title": r"title|headline|heading",
    "attr_product": r"product|price|cart|sku|variant|buy",
    "attr_review": r"review|rating|stars",
    "attr_sronly": r"sr only|screen reader|visually hidden|hidden",
    "attr_search": r"search",
    "attr_account": r"login|account|user|profile|avatar",
    "attr_caption": r"caption|figure|credit",
    "attr_pager": r"pagination|pager|paging",
    "attr_card": r"card|tile|item|grid|list",
}
_ATTR_RE = {name: re.compile(rx) for name, rx in ATTR_GROUPS.items()}
REGION_LEVELS = (1, 2, 4)
MARKUP_FEATURES = (
    {
        "link_density": "share of the line's characters inside links",
        "log_links": "log(1 + links in the line)",
        "log_depth": "log(1 + DOM depth)",
        "rel_depth": "DOM depth minus the page's median depth",
        "hidden": "inside a hidden / aria-hidden / display:none element",
        "body_overlap": "share of the line's words found in the page's JSON-LD articleBody",
        "has_body": "the page has a JSON-LD articleBody",
        "template_count": "log(1 + lines sharing this line's tag and class tokens)",
        "template_words": "mean log words of the lines sharing this line's tag and class tokens",
        "link_density_w3": "mean link density over lines i-3..i+3",
        "link_density_w10": "mean link density over lines i-10..i+10",
        "page_link_density": "share of the page's characters inside links",
        "has_h1": "the page has an <h1> line",
        "dist_h1": "signed distance (in lines / page lines) to the first <h1> line",
        "h1_common_depth": "share of the line's ancestors it shares with the first <h1> line",
    }
    | {name: f"enclosing block is <{'/'.join(tags)}>" for name, tags in BLOCK_TAG_GROUPS.items()}
    | {f"in_{tag}": f"inside a <{tag}> element" for tag in ANCESTOR_TAGS}
    | {name: f"an enclosing class/id/role matches /{rx}/" for name, rx in ATTR_GROUPS.items()}
    | {
        f"region{k}_{stat}": f"{doc} of the lines under the ancestor {k} level(s) above the block"
        for k in REGION_LEVELS
        for stat, doc in (
            ("lines", "log(1 + number)"),
            ("words", "log(1 + total words)"),
            ("link_density", "link density"),
            ("terminal", "share of sentence-like lines"),
        )
    }
)

# Lists of headlines ("Latest articles") from the text alone: in crawled text each headline often
# appears twice in a row (image alt text + link text), and a short heading sits above the list.
LIST_FEATURES = {
    "headline_run": "log(1 + length of the run of headline-like lines (4-20 words, no end punctuation))",
    "headline_run_pos": "position of the line inside its headline run (0 first .. 1 last)",
    "dup_pair_run": "log(1 + length of the run of lines that repeat a neighbouring line)",
    "heads_list": "short unpunctuated line directly above a run of >= 3 headline-like lines",
    "below_list": "lines since the end of the nearest headline run above (log), 0 inside a run",
}
# Teaser links from the markup: the structure the related-links labels are made of.
TEASER_FEATURES = {
    "teaser": "a headline-sized link (>= 3 words, mostly link text) to another page, outside menus",
    "teaser_run": "log(1 + length of the run of teaser lines holding this line)",
    "teaser_run_words": "mean words of the teaser lines in that run",
    "heads_teaser_run": "short link-free line directly above a run of >= 3 teaser lines",
    "template_teasers": "share of the lines with this line's tag and class tokens that are teasers",
}

# What kind of page this is, from its URL: the trees can then treat a product page's lines unlike an
# article's. Plain-text pages only: from HTML the markup says more, and these cost the HTML model
# (docs/accuracy.md, Round 9). NaN when the page has no URL.
URL_WORD_GROUPS = {
    "url_product": "product products produkt produit item dp sku",
    "url_collection": "collection collections category categories cat c browse shop store department catalog catalogue tag tags",
    "url_forum": "forum forums thread threads t topic topics question questions community discussion discussions discuss board boards viewtopic showthread answers",
    "url_docs": "docs doc documentation api reference ref manual guide guides handbook userguide usersguide wiki tutorial tutorials book learn glossary",
    "url_listing": "list lists archive archives latest all page events courses programs results search",
    "url_article": "blog blogs news article articles story stories post posts pulse insights",
}
URL_FEATURES = {
    "url_depth": "log(1 + path segments of the page's URL)",
    "url_slug_words": "log(1 + words in the URL's wordiest path segment): articles have long slugs",
    "url_number": "the URL's path holds a number of 4 or more digits (an id or a date)",
    "url_query": "the URL has a query string",
} | {name: f"a word of the URL's host or path is one of: {words}" for name, words in URL_WORD_GROUPS.items()}

PROFILE_FEATURES = {  # NaN without a profile, or when it knows no other page of the line's host
    "site_page_fraction": "share of the host's other profiled pages containing this normalised line",
    "site_pages_seen": "log(1 + the host's other profiled pages)",
}

# Column order: text pages LINE, PAGE, CONTEXT, LIST, URL, PROFILE; HTML pages LINE, PAGE, CONTEXT, LIST, MARKUP,
# TEASER, PROFILE.
TEXT_FEATURES = LINE_FEATURES | PAGE_FEATURES | CONTEXT_FEATURES | LIST_FEATURES | URL_FEATURES | PROFILE_FEATURES
HTML_FEATURES = (
    LINE_FEATURES | PAGE_FEATURES | CONTEXT_FEATURES | LIST_FEATURES | MARKUP_FEATURES | TEASER_FEATURES | PROFILE_FEATURES
)
TEXT_FEATURE_NAMES = tuple(TEXT_FEATURES)
HTML_FEATURE_NAMES = tuple(HTML_FEATURES)

_WORD = re.compile(r"\w+")
_SENT_BREAK = re.compile(r"[.!?。！？]\s")
_BULLET = re.compile(r"^\s*([-–—•*·▪►>]|\d{1,3}[.)])\s", re.M)


def _char_table() -> np.ndarray:
    """Class bits of every BMP code point (astral code points are looked up as U+FFFF)."""
    table = np.zeros(0x10000, dtype=np.uint8)
    for cp in range(0x10000):
        ch = chr(cp)
        bits = 0
        if ch.isalpha():
            bits |= ALPHA
            if ch.isupper():
                bits |= UPPER
            if 0x2E80 <= cp <= 0x9FFF or 0xAC00 <= cp <= 0xD7AF or 0x0E00 <= cp <= 0x0E7F:
                bits |= CJK
        elif ch.isdigit():
            bits |= DIGIT
        elif not ch.isspace() and ch != "_":
            bits |= PUNCT
        if ch in SEPARATORS:
            bits |= SEPARATOR
        table[cp] = bits
    return table


ALPHA, UPPER, DIGIT, PUNCT, CJK, SEPARATOR = 1, 2, 4, 8, 16, 32
_CHAR_CLASSES = _char_table()


def _char_counts(texts: list[str]) -> dict[str, np.ndarray]:
    """Per line, the number of characters of each class; one numpy pass over the whole page."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    cps = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    bits = _CHAR_CLASSES[np.minimum(cps, 0xFFFF)]
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    names = {"letters": ALPHA, "uppers": UPPER, "digits": DIGIT, "punct": PUNCT, "cjk": CJK, "separators": SEPARATOR}
    return {name: np.add.reduceat((bits & bit) > 0, starts).astype(float) for name, bit in names.items()}


_FIRST_LETTER = re.compile(r"[^\W\d_]")


def _per_line_share(words: list[str], owner: np.ndarray, n_words: np.ndarray, vocabulary: frozenset) -> np.ndarray:
    """Per line, the share of its words (``words`` of all lines, line of each in ``owner``) in ``vocabulary``."""
    hits = np.fromiter(map(vocabulary.__contains__, words), dtype=float, count=len(words))
    return _ratio(np.bincount(owner, weights=hits, minlength=len(n_words)), n_words)


def _ratio(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """x / n, and 0 where n is 0."""
    return np.divide(x, n, out=np.zeros(len(n)), where=n > 0)


def _word_counts(texts: list[str], title_words: frozenset) -> np.ndarray:
    """Per line: its words (``_WORD`` matches), their characters, the words starting with a capital,
    the words whose lower-cased form is a stopword, a title word, and whether its first letter
    (``_FIRST_LETTER``) is a capital; shape (n_lines, 6), float.

    The compiled loop (``_words.c``) where it is built, else the same counts with the words of all
    lines as one flat list (``owner`` gives each word's line), so that per-word work runs in C
    (map, numpy) rather than in a Python loop per line.
    """
    n = len(texts)
    if _words is not None:
        return np.frombuffer(_words.word_counts(texts, STOPWORDS, title_words), dtype=np.int64).reshape(n, 6).astype(float)
    words_per_line = list(map(_WORD.findall, texts))
    nw = np.fromiter(map(len, words_per_line), dtype=np.int64, count=n)
    words = list(chain.from_iterable(words_per_line))
    owner = np.repeat(np.arange(n), nw)
    lower = list(map(str.lower, words))

    def per_line(values: Iterator) -> np.ndarray:
        return np.bincount(owner, weights=np.fromiter(values, dtype=float, count=len(words)), minlength=n)

    return np.column_stack([
        nw.astype(float),
        per_line(map(len, words)),
        per_line(map(str.isupper, map(itemgetter(0), words))),
        per_line(map(STOPWORDS.__contains__, lower)),
        per_line(map(title_words.__contains__, lower)),
        np.fromiter((m is not None and m.group().isupper() for m in map(_FIRST_LETTER.search, texts)), dtype=float, count=n),
    ])  # fmt: skip


def _word_facts(texts: list[str], title_words: frozenset) -> tuple[np.ndarray, ...]:
    """Word- and pattern-level facts of every line (the LINE_FEATURES not counted per character)."""
    n = len(texts)
    nw, characters, capitalised, stop, title, starts_upper = _word_counts(texts, title_words).T
    lasts = list(map(itemgetter(-1), texts))
    return (
        nw,
        _ratio(characters, nw),
        np.fromiter(map(TERMINAL.__contains__, lasts), dtype=float, count=n),
        np.fromiter(map(":".__eq__, lasts), dtype=float, count=n),
        starts_upper,
        _ratio(capitalised, nw),
        _ratio(stop, nw),
        np.fromiter(map(str.count, texts, repeat(",")), dtype=float, count=n) / np.maximum(nw, 1),
        _ratio(title, nw),  # 0 throughout without title words
    )


def _join_lines(texts: list[str]) -> tuple[str, np.ndarray]:
    """``texts`` joined by newlines, and the offset of each in the joined string; shape (n_lines,)."""
    steps = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) + 1
    return "\n".join(texts), np.cumsum(steps) - steps


def _matches_per_line(pattern: re.Pattern, joined: str, starts: np.ndarray) -> np.ndarray:
    """Matches of ``pattern`` in each line, from one scan of the newline-joined page."""
    positions = [m.start() for m in pattern.finditer(joined)]
    owner = np.searchsorted(starts, positions, side="right") - 1
    return np.bincount(owner, minlength=len(starts)).astype(float)


def _space_normalised(texts: list[str]) -> list[str]:
    """``" ".join(t.split())`` of every line. The compiled check (``_words.unspaced``) finds the
    few lines that it changes (none, on pages the readers make), so that the rest are not split
    and joined again."""
    if _words is None:
        return list(map(" ".join, map(str.split, texts)))
    if not (changed := _words.unspaced(texts)):
        return texts
    out = list(texts)
    for i in changed:
        out[i] = " ".join(texts[i].split())
    return out


def _sentences_and_bullets(texts: list[str], lower: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per line, the matches of ``_SENT_BREAK`` and of ``_BULLET`` in the lines joined by newlines;
    two arrays (n_lines,). The compiled scan (``_words.line_marks``) counts the same where it is
    built and no line is blank or holds a newline; else the regexes scan the lower-cased lines."""
    if _words is not None and (marks := _words.line_marks(texts)) is not None:
        return tuple(np.frombuffer(marks, dtype=np.int64).reshape(len(texts), 2).T.astype(float))
    # offsets in the lower-cased text: lower-casing can lengthen a line ("İ" becomes two characters)
    joined, starts = _join_lines(lower)
    return _matches_per_line(_SENT_BREAK, joined, starts), _matches_per_line(_BULLET, joined, starts)


# regex syntax that can match a line break (or is not worth telling apart from such syntax)
_LINE_BREAKING = re.compile(r"\\[sSWDnxuUN0-9]|[.\n]|\[\^")


def _alternatives(source: str) -> list[str]:
    """The top-level alternatives of a regex source (split at '|' outside groups and classes)."""
    parts, depth, in_class, start, i = [], 0, False, 0, 0
    while i < len(source):
        ch = source[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch in "()":
            depth += 1 if ch == "(" else -1
        elif ch == "|" and depth == 0:
            parts.append(source[start:i])
            start = i + 1
        i += 1
    return parts + [source[start:]]


def _literal_prefix(alternative: str) -> str:
    """The literal text every match of the regex ``alternative`` starts with ("" when none)."""
    out, i = [], 0
    while i < len(alternative):
        ch = alternative[i]
        if ch == "\\" and not alternative[i + 1 : i + 2].isalnum():
            literal, step = alternative[i + 1 : i + 2], 2
        elif ch in ".^$*+?{}[]()|\\":
            break
        else:
            literal, step = ch, 1
        if alternative[i + step : i + step + 1] in ("?", "*", "{"):
            break  # an optional character: not part of every match
        out.append(literal)
        i += step
    return "".join(out)


@lru_cache(maxsize=None)
def _literal_scan(pattern: re.Pattern) -> tuple[tuple[str, ...], tuple[re.Pattern, ...]] | None:
    """The top-level alternatives of ``pattern``: the literal text each starts with, and each compiled.

    None when one has no literal start, or when the pattern has flags or syntax that could ignore
    case or match across a line break.
    """
    if pattern.flags & ~re.UNICODE or _LINE_BREAKING.search(pattern.pattern):
        return None
    alternatives = _alternatives(pattern.pattern)
    prefixes = tuple(map(_literal_prefix, alternatives))
    return None if not all(prefixes) else (prefixes, tuple(re.compile(alt, pattern.flags) for alt in alternatives))


def _literal_starts(text: str, prefixes: tuple[str, ...]) -> list[tuple[int, int]]:
    """(position, k) for every position of ``text`` where ``prefixes[k]`` starts: in one pass with
    the compiled scan (``_words.c``) where it is built, else one str.find pass per prefix."""
    if _words is not None:
        return _words.find_literals(text, prefixes)
    found = []
    for k, prefix in enumerate(prefixes):
        pos = text.find(prefix)
        while pos >= 0:
            found.append((pos, k))
            pos = text.find(prefix, pos + 1)
    return found


def _lines_matching(pattern: re.Pattern, texts: list[str], only: np.ndarray | None = None) -> np.ndarray:
    """Per line of ``texts``, whether ``pattern`` matches somewhere in it; shape (n_lines,), bool.

    ``only`` (bool mask) limits the search to the lines that can match at all; the others are False.
    No match may run on into a neighbouring line (true of the word and date patterns here), so
    leaving lines out changes nothing for the rest. The chosen lines are searched in one string.
    Python's regex engine tries every alternative at every position; when each starts with a
    literal, :func:`_literal_starts` finds the few positions worth trying.
    """
    picked = np.arange(len(texts)) if only is None else np.flatnonzero(only)
    hit = np.zeros(len(texts), dtype=bool)
    if len(picked) == 0:
        return hit
    joined, starts = _join_lines([texts[i] for i in picked])
    scan = _literal_scan(pattern)
    if scan is None:
        hit[picked] = _matches_per_line(pattern, joined, starts) > 0
        return hit
    prefixes, alternatives = scan
    positions = [pos for pos, k in _literal_starts(joined, prefixes) if alternatives[k].match(joined, pos)]
    hit[picked[np.searchsorted(starts, np.asarray(positions, dtype=np.int64), side="right") - 1]] = True
    return hit


_RELATIVE_DAY = re.compile(r"ago|yesterday|today")  # DATE's only alternatives without a digit


def _line_features(texts: list[str], lower: list[str], title_words: frozenset) -> np.ndarray:
    """LINE_FEATURES for every line (``lower``: the lines lower-cased); shape (n_lines, len(LINE_FEATURES))."""
    c = _char_counts(texts)
    nw, mean_len, terminal, colon, starts_upper, title_case, stop, commas, title = _word_facts(texts, title_words)
    n = np.fromiter(map(len, texts), dtype=float, count=len(texts))
    sentences, bullet = _sentences_and_bullets(texts, lower)
    boiler = _lines_matching(BOILERPLATE_WORDS, lower, n < 200)
    date = _lines_matching(DATE, lower, (c["digits"] > 0) | _lines_matching(_RELATIVE_DAY, lower))
    letters = np.maximum(c["letters"], 1)
    return np.column_stack([
        np.log1p(n), np.log1p(nw), mean_len, terminal, colon, c["punct"] / n, c["digits"] / n,
        c["uppers"] / letters, starts_upper, title_case, stop, commas, np.log1p(sentences), boiler, date,
        np.log1p(c["separators"]), bullet, c["cjk"] / letters, title,
    ])  # fmt: skip


def window_mean(x: np.ndarray, w: int) -> np.ndarray:
    """Mean of x[i-w .. i+w] (truncated at the page edges), for every i; x has shape (n,) or (n, k)."""
    n = len(x)
    c = np.cumsum(np.concatenate([np.zeros((1,) + x.shape[1:]), x]), axis=0)
    idx = np.arange(n)
    lo, hi = np.maximum(idx - w, 0), np.minimum(idx + w + 1, n)
    span = (hi - lo).reshape((n,) + (1,) * (x.ndim - 1))
    return (c[hi] - c[lo]) / span


def _runs(flag: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each i: the first and last index of the run of equal ``flag`` values that holds i, and
    the length of that run where ``flag`` is True (0 elsewhere)."""
    n = len(flag)
    starts = np.flatnonzero(np.concatenate([[True], flag[1:] != flag[:-1]]))
    ends = np.concatenate([starts[1:], [n]]) - 1
    lengths = ends - starts + 1
    lo, hi = np.repeat(starts, lengths), np.repeat(ends, lengths)
    return lo, hi, (hi - lo + 1) * flag


def run_length(flag: np.ndarray) -> np.ndarray:
    """For each i, the length of the run of equal ``flag`` values that holds i (0 where flag is False)."""
    return _runs(flag)[2]


def _ids(keys: list[Hashable]) -> np.ndarray:
    """Small integer ids of ``keys``: equal keys get equal ids, numbered in order of first appearance."""
    first_seen = dict.fromkeys(keys)  # dict and map run in C: no Python step per key
    index = dict(zip(first_seen, range(len(first_seen))))
    return np.fromiter(map(index.__getitem__, keys), dtype=np.int64, count=len(keys))


def _rows(keys: list, row: Callable[[Hashable], tuple]) -> np.ndarray:
    """``row(key)`` for every key as a float matrix, computed once per distinct key; shape (len(keys), width)."""
    index: dict = {}
    inverse = [index.setdefault(k, len(index)) for k in keys]
    return np.array([row(k) for k in index], dtype=float)[inverse]


def _group_stats(keys, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per line: number of lines sharing its key, and the per-group sums of ``values`` (n, k)."""
    _, inverse, counts = np.unique(np.asarray(keys, dtype=np.int64), return_inverse=True, return_counts=True)
    # bincount adds in line order, as a loop would: the sums do not depend on the method
    sums = np.column_stack([np.bincount(inverse, weights=v, minlength=len(counts)) for v in values.T])
    return counts[inverse].astype(float), sums[inverse]


def _ancestor_matrix(page: Page) -> tuple[np.ndarray, np.ndarray]:
    """Ancestor ids of every line, left-aligned and padded with -1, and the number of each.

    Shapes (n_lines, longest ancestor path, at least 1 so that column lookups need no special
    case) and (n_lines,).
    """
    paths = [l.ancestors for l in page.lines]
    lengths = np.fromiter(map(len, paths), dtype=np.int64, count=len(paths))
    width = max(int(lengths.max(initial=0)), 1)
    ids = np.full((len(paths), width), -1, dtype=np.int64)
    ids[np.arange(width) < lengths[:, None]] = np.fromiter(chain.from_iterable(paths), dtype=np.int64, count=int(lengths.sum()))
    return ids, lengths


def _title_words(page: Page) -> frozenset:
    title = " ".join(filter(None, (page.meta.get("title"), page.meta.get("og_title"))))
    return frozenset(w.lower() for w in _WORD.findall(title)) - STOPWORDS


_TEXT_ONLY = len(LINE_FEATURES | PAGE_FEATURES | CONTEXT_FEATURES | LIST_FEATURES)


def text_features(page: Page) -> np.ndarray:
    """Line, page, context and list features, the first columns of either kind of page; shape (n_lines, _TEXT_ONLY), float32."""
    texts = page.texts
    n = len(texts)
    if n == 0:
        return np.zeros((0, _TEXT_ONLY), dtype=np.float32)
    title_words = _title_words(page)
    lower = list(map(str.lower, texts))
    line = _line_features(texts, lower, title_words)
    col = {name: line[:, i] for i, name in enumerate(LINE_FEATURES)}

    # repetition
    key_ids = _ids(_space_normalised(lower))  # equal normalised texts, equal ids
    dup = np.bincount(key_ids)[key_ids].astype(float)
    same_prev = np.concatenate([[False], key_ids[1:] == key_ids[:-1]])
    adjacent = same_prev | np.append(same_prev[1:], False)
    later = np.ones(n)
    later[np.unique(key_ids, return_index=True)[1]] = 0.0  # first occurrences

    # position
    chars = np.fromiter(map(len, texts), dtype=float, count=n)
    total = chars.sum()
    idx = np.arange(n, dtype=float)
    words = np.expm1(col["log_words"])
    sentence_like = (words >= 10) & (col["ends_terminal"] > 0)
    span = np.flatnonzero(sentence_like)
    in_span = (idx >= span[0]) & (idx <= span[-1]) if len(span) else np.zeros(n, bool)
    density = window_mean(words * (col["stopword_ratio"] + 0.1), 5)
    core = int(np.argmax(density))

    page_feats = [
        np.log(dup),
        adjacent.astype(float),
        later,
        idx / n,
        (np.cumsum(chars) - chars) / total,
        np.log1p(idx),
        np.log1p(n - 1 - idx),
        np.full(n, math.log1p(n)),
        np.full(n, math.log1p(total)),
        chars / total,
        np.log1p(run_length(words <= 4)),
        np.log1p(run_length(words >= 10)),
        in_span.astype(float),
        (idx - core) / n,
        np.full(n, sentence_like.mean()),
        np.full(n, (words <= 4).mean()),
    ]

    signals = np.stack([col[s] for s in CONTEXT_SIGNALS], axis=1)
    context = [window_mean(signals, w) for w in WINDOWS]
    lw, term = col["log_words"], col["ends_terminal"]
    neighbours = [
        np.concatenate([[0.0], lw[:-1]]),
        np.concatenate([[0.0], term[:-1]]),
        np.concatenate([lw[1:], [0.0]]),
        np.concatenate([term[1:], [0.0]]),
    ]
    out = np.column_stack([line, np.column_stack(page_feats), *context, np.column_stack(neighbours)])
    return np.hstack([out, list_features(out)]).astype(np.float32)


_URL_WORD = re.compile(r"[a-z]+|[0-9]+")
_URL_ALPHA = re.compile(r"[a-z]+")
_URL_WORD_SETS = {name: frozenset(words.split()) for name, words in URL_WORD_GROUPS.items()}


def url_features(url: str | None) -> np.ndarray:
    """URL_FEATURES of a page's URL, shape (len(URL_FEATURES),); NaN throughout without a URL."""
    unknown = np.full(len(URL_FEATURES), np.nan)
    if not url:
        return unknown
    try:
        parts = urlsplit(url.lower())
        host = parts.hostname or ""
    except ValueError:  # not a URL (e.g. an unclosed IPv6 bracket): as good as none
        return unknown
    segments = [seg for seg in parts.path.split("/") if seg]
    path_words = set(_URL_WORD.findall(parts.path))
    words = set(_URL_WORD.findall(host)) | path_words
    facts = [
        math.log1p(len(segments)),
        math.log1p(max((len(_URL_ALPHA.findall(seg)) for seg in segments), default=0)),
        float(any(len(w) >= 4 and w.isdigit() for w in path_words)),
        float(bool(parts.query)),
    ]
    return np.array(facts + [float(not words.isdisjoint(group)) for group in _URL_WORD_SETS.values()])


def heads_run(run: np.ndarray, candidate: np.ndarray, min_run: int = 3) -> np.ndarray:
    """``candidate`` lines directly followed by a run of length >= ``min_run`` (``run`` holds run lengths)."""
    following = np.append(run[1:], 0)
    return candidate & (run == 0) & (following >= min_run)


def list_features(base: np.ndarray) -> np.ndarray:
    """LIST_FEATURES from the other text features of a page (``base``: columns in TEXT_FEATURE_NAMES order)."""
    n = len(base)
    if n == 0:
        return np.zeros((0, len(LIST_FEATURES)), dtype=np.float32)
    col = lambda name: base[:, TEXT_FEATURE_NAMES.index(name)].astype(float)  # noqa: E731
    words = np.expm1(col("log_words"))
    unpunctuated = col("ends_terminal") == 0
    headline = (words >= 4) & (words <= 20) & unpunctuated
    lo, hi, run = _runs(headline)
    pos = np.where(headline, (np.arange(n) - lo) / np.maximum(hi - lo, 1), 0.0)
    pairs = run_length(col("adjacent_dup") > 0)
    heads = heads_run(run, (words <= 6) & (words >= 1) & unpunctuated)
    # distance to the end of the last headline run of >= 3 lines above (large when there is none)
    idx = np.arange(n)
    last_end = np.maximum.accumulate(np.where(run >= 3, idx, -1))
    below = np.where(last_end >= 0, np.log1p(idx - last_end), np.log1p(n))
    return np.column_stack([np.log1p(run), pos, np.log1p(pairs), heads, below]).astype(np.float32)


def template_keys(page: Page) -> list[int]:
    """Per line, a key shared by the lines of one template: the same block tag and class/id tokens."""
    return [hash((l.tag, l.attr_tokens)) for l in page.lines]


def teaser_features(page: Page, base: np.ndarray, templates: list[int]) -> np.ndarray:
    """TEASER_FEATURES of an HTML page; shape (n_lines, len(TEASER_FEATURES)), float32.

    ``base`` and ``templates`` are as in :func:`markup_features`.
    """
    lines = page.lines
    n = len(lines)
    if n == 0:
        return np.zeros((0, len(TEASER_FEATURES)), dtype=np.float32)
    teaser = teaser_mask(lines)
    words = line_words(base)
    lo, hi, run = _runs(teaser)
    cum = np.concatenate([[0.0], np.cumsum(words)])
    run_words = np.where(teaser, (cum[hi + 1] - cum[lo]) / np.maximum(run, 1), 0.0)
    no_links = _line_values(lines, "link_chars") == 0
    heads = heads_run(run, no_links & (words >= 1) & (words <= 8))
    tcount, tsum = _group_stats(templates, teaser[:, None].astype(float))
    return np.column_stack([teaser, np.log1p(run), run_words, heads, tsum[:, 0] / tcount]).astype(np.float32)


def _line_values(lines: list, name: str) -> np.ndarray:
    """The attribute ``name`` of every line, as floats; shape (n_lines,)."""
    return np.fromiter(map(attrgetter(name), lines), dtype=float, count=len(lines))


def _block_tag_row(tag: str) -> tuple[bool, ...]:
    return tuple(tag in tags for tags in BLOCK_TAG_GROUPS.values())


def _ancestor_tag_row(tags: frozenset) -> tuple[bool, ...]:
    return tuple(t in tags for t in ANCESTOR_TAGS)


# A group pattern made of letters and \b only matches the space-joined tokens where it matches one
# token: those groups are looked up token by token (tokens recur across sites), the rest searched.
_TOKEN_LOCAL = tuple(bool(re.fullmatch(r"(?:[a-z|?]|\\b)+", rx)) for rx in ATTR_GROUPS.values())


_JOINED_GROUPS = tuple((i, rx) for i, (local, rx) in enumerate(zip(_TOKEN_LOCAL, _ATTR_RE.values())) if not local)
# The other groups are alternatives of words and two-word phrases ("sign up"), searched in the
# tokens joined by spaces in sorted order. A word is found there where it is in a token (tokens
# hold no space), so it is looked up token by token too. A phrase "a b" is found only where a token
# ending in "a" is followed by one starting with "b": the tokens are joined and searched only when
# the set holds both (a token ending in "sign", as "design" does, and one starting with "up").
_JOINED_ALTERNATIVES = [(i, alt) for i, rx in _JOINED_GROUPS for alt in _alternatives(rx.pattern)]
_ALWAYS_JOIN = not all(re.fullmatch("[a-z]+( [a-z]+)?", alt) for _, alt in _JOINED_ALTERNATIVES)  # other syntax
_JOINED_WORDS = tuple((i, alt) for i, alt in _JOINED_ALTERNATIVES if " " not in alt)
_PHRASES = tuple(tuple(alt.split(" ")) for _, alt in _JOINED_ALTERNATIVES if " " in alt)
_ENDS = len(ATTR_GROUPS)  # bit _ENDS + k: the token ends with the first word of _PHRASES[k]
_STARTS = _ENDS + len(_PHRASES)  # bit _STARTS + k: it starts with the second word
_GROUP_BITS = (1 << len(ATTR_GROUPS)) - 1
_PHRASE_BITS = (1 << len(_PHRASES)) - 1


@lru_cache(maxsize=65536)
def _token_bits(token: str) -> int:
    """Bit i set when the i-th ATTR_GROUPS pattern matches ``token`` (for a joined group: one of its
    words is in it); the phrase bits _ENDS + k and _STARTS + k as above."""
    bits = 0
    for i, (local, rx) in enumerate(zip(_TOKEN_LOCAL, _ATTR_RE.values())):
        if local and rx.search(token):
            bits |= 1 << i
    for i, word in _JOINED_WORDS:
        if word in token:
            bits |= 1 << i
    for k, (first, second) in enumerate(_PHRASES):
        bits |= token.endswith(first) << (_ENDS + k) | token.startswith(second) << (_STARTS + k)
    return bits


@lru_cache(maxsize=4096)  # the pages of a site share their templates, hence their class/id tokens
def _attr_bits(tokens: frozenset) -> int:
    """Bit i set when the i-th ATTR_GROUPS pattern matches the space-joined class/id/role ``tokens``."""
    bits = reduce(or_, map(_token_bits, tokens), 0)
    if _ALWAYS_JOIN or (bits >> _ENDS) & (bits >> _STARTS) & _PHRASE_BITS:
        joined = " ".join(sorted(tokens))
        for i, rx in _JOINED_GROUPS:
            if rx.search(joined):
                bits |= 1 << i
    return bits & _GROUP_BITS


def markup_features(page: Page, base: np.ndarray, templates: list[int]) -> np.ndarray:
    """Markup features of an HTML page; shape (n_lines, len(MARKUP_FEATURES)), float32.

    ``base`` is :func:`text_features` of the same page (its word counts are reused), ``templates``
    its :func:`template_keys`.
    """
    lines = page.lines
    n = len(lines)
    if n == 0:
        return np.zeros((0, len(MARKUP_FEATURES)), dtype=np.float32)
    chars = np.fromiter(map(len, map(attrgetter("text"), lines)), dtype=float, count=n)
    link = _line_values(lines, "link_chars") / chars
    depth = _line_values(lines, "depth")
    log_words = base[:, TEXT_FEATURE_NAMES.index("log_words")].astype(float)
    terminal = base[:, TEXT_FEATURE_NAMES.index("ends_terminal")].astype(float)

    body = page.meta.get("article_body")
    body_words = frozenset(w.lower() for w in _WORD.findall(body)) if body else frozenset()
    overlap = np.zeros(n)
    if body_words:
        words_per_line = [_WORD.findall(l.text.lower()) for l in lines]
        nw = np.fromiter(map(len, words_per_line), dtype=np.int64, count=n)
        owner = np.repeat(np.arange(n), nw)
        overlap = _per_line_share(list(chain.from_iterable(words_per_line)), owner, nw.astype(float), body_words)

    tag_cols = _rows([l.tag for l in lines], _block_tag_row)
    anc_cols = _rows([l.ancestor_tags for l in lines], _ancestor_tag_row)
    attr_bits = np.fromiter(map(_attr_bits, map(attrgetter("attr_tokens"), lines)), dtype=np.int64, count=n)
    attr_cols = (attr_bits[:, None] >> np.arange(len(ATTR_GROUPS))) & 1

    tcount, tsum = _group_stats(templates, log_words[:, None])

    ancestors, n_ancestors = _ancestor_matrix(page)
    values = np.column_stack([np.ones(n), np.expm1(log_words), link * chars, chars, terminal])
    region = []
    for keys in _region_keys(ancestors, n_ancestors).T:
        cnt, sums = _group_stats(keys, values)
        region += [np.log1p(cnt), np.log1p(sums[:, 1]), sums[:, 2] / sums[:, 3], sums[:, 4] / cnt]

    h1 = next((i for i, l in enumerate(lines) if l.tag == "h1"), None)
    common = np.zeros(n)
    if h1 is not None:
        # length of the path each line shares with the h1 line, from the root down
        h1_path = ancestors[h1, : n_ancestors[h1]]
        same = (ancestors[:, : len(h1_path)] == h1_path) & (np.arange(len(h1_path)) < n_ancestors[:, None])
        common = np.cumprod(same, axis=1).sum(axis=1) / np.maximum(n_ancestors, 1)

    out = np.column_stack(
        [
            link,
            np.log1p(_line_values(lines, "n_links")),
            np.log1p(depth),
            depth - np.median(depth),
            _line_values(lines, "hidden"),
            overlap,
            np.full(n, float(bool(body_words))),
            np.log1p(tcount),
            tsum[:, 0] / tcount,
            window_mean(link, 3),
            window_mean(link, 10),
            np.full(n, (link * chars).sum() / chars.sum()),
            np.full(n, float(h1 is not None)),
            (np.arange(n) - (h1 if h1 is not None else 0)) / n,
            common,
            tag_cols,
            anc_cols,
            attr_cols,
            np.column_stack(region),
        ]
    )
    return out.astype(np.float32)


def region_keys(page: Page) -> np.ndarray:
    """Id of the ancestor ``k`` levels above each line's block, for k in REGION_LEVELS.

    Shape (n_lines, len(REGION_LEVELS)) for HTML pages (0 where the tree is shallower),
    (n_lines, 0) for plain text, which has no tree.
    """
    if page.source != "html":
        return np.zeros((len(page.lines), 0), dtype=np.int64)
    return _region_keys(*_ancestor_matrix(page))


def _region_keys(ancestors: np.ndarray, n_ancestors: np.ndarray) -> np.ndarray:
    """:func:`region_keys` from :func:`_ancestor_matrix`."""
    rows = np.arange(len(ancestors))
    cols = []
    for k in REGION_LEVELS:
        deep = n_ancestors > k
        cols.append(np.where(deep, ancestors[rows, np.where(deep, n_ancestors - 1 - k, 0)], 0))
    return np.stack(cols, axis=1).reshape(len(ancestors), len(REGION_LEVELS))


def profile_features(page: Page, profile=None) -> np.ndarray:
    """PROFILE_FEATURES of every line from a :class:`~boilerdetect.profile.SiteProfile`; shape (n_lines, 2).

    The page's own copy in the profile (if any) is left out, so that a page profiled with its
    site reads the same as one seen for the first time. All NaN when ``profile`` is None or has
    no other page of the host: the trees then take their learned no-profile branch.
    """
    n = len(page.lines)
    counts, others = profile.lookup(page) if profile is not None else (None, 0)
    if others == 0:
        return np.full((n, len(PROFILE_FEATURES)), np.nan, dtype=np.float32)
    return np.column_stack([counts / others, np.full(n, math.log1p(others))]).astype(np.float32).reshape(n, 2)


def featurize(page: Page, profile=None) -> np.ndarray:
    """All features for ``page``: TEXT_FEATURE_NAMES for text pages, HTML_FEATURE_NAMES for HTML.

    ``profile`` (a :class:`~boilerdetect.profile.SiteProfile`, optional) fills the last two
    columns, :data:`PROFILE_FEATURES`.
    """
    base = text_features(page)
    parts = [base]
    if page.source == "html":
        templates = template_keys(page)
        parts += [markup_features(page, base, templates), teaser_features(page, base, templates)]
    else:
        parts.append(np.broadcast_to(url_features(page.url), (len(base), len(URL_FEATURES))).astype(np.float32))
    return np.hstack(parts + [profile_features(page, profile)])


def feature_names(source: str) -> tuple[str, ...]:
    return HTML_FEATURE_NAMES if source == "html" else TEXT_FEATURE_NAMES


def line_words(X: np.ndarray) -> np.ndarray:
    """The words of each line, from a :func:`featurize` (or :func:`text_features`) matrix of either
    kind of page: line features come first, so ``log_words`` is the same column; shape (n_lines,)."""
    return np.expm1(X[:, TEXT_FEATURE_NAMES.index("log_words")].astype(float))


WORD_BITS = 16  # hashed word and word-pair columns of hashed_words: 2**16
_FNV_OFFSET, _FNV_PRIME, _MASK32 = 2166136261, 16777619, 0xFFFFFFFF


def _word_hash(word: str) -> int:
    """FNV-1a over the code points of ``word`` (each one 32-bit unit), as ``_words.c`` computes it."""
    h = _FNV_OFFSET
    for ch in word:
        h = ((h ^ ord(ch)) * _FNV_PRIME) & _MASK32
    return h


def _pair_hash(first: int, second: int) -> int:
    return ((first * 2654435761) & _MASK32) ^ second ^ 0x5BD1E995


def _hashed_columns(texts: list[str], bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Per line, the hashed columns of its lower-cased words and of each pair of consecutive words
    (int32), and the offset of each line's first column, plus the end (int64, n_lines + 1)."""
    if _words is not None:
        columns, starts = _words.hashed_words(texts, bits)
        return np.frombuffer(columns, dtype=np.int32).copy(), np.frombuffer(starts, dtype=np.int64).copy()  # writable, for scipy
    mask, columns, starts = (1 << bits) - 1, [], [0]
    for text in texts:
        hashes = [_word_hash(w.lower()) for w in _WORD.findall(text)]
        for k, h in enumerate(hashes):
            columns.append(h & mask)
            if k:
                columns.append(_pair_hash(hashes[k - 1], h) & mask)
        starts.append(len(columns))
    return np.asarray(columns, dtype=np.int32), np.asarray(starts, dtype=np.int64)


def hashed_words(texts: list[str], bits: int = WORD_BITS):
    """The lines' lower-cased words (``_WORD``) and pairs of consecutive words, counted in 2**bits
    hashed columns, each row scaled to unit length (a line without words stays 0): a scipy CSR
    matrix, shape (n_lines, 2**bits). The compiled scan (``_words.c``) where it is built."""
    from scipy.sparse import csr_matrix

    columns, starts = _hashed_columns(texts, bits)
    X = csr_matrix((np.ones(len(columns)), columns, starts), shape=(len(texts), 1 << bits))
    X.sum_duplicates()
    row = np.repeat(np.arange(len(texts)), np.diff(X.indptr))
    X.data /= np.sqrt(np.bincount(row, weights=X.data**2, minlength=len(texts)))[row]
    return X


def hashed_word_scores(texts: list[str], weights: np.ndarray, bits: int = WORD_BITS) -> np.ndarray:
    """``hashed_words(texts, bits) @ weights.T`` for ``weights`` (k, 2**bits): shape (n_lines, k).
    The compiled loop (``_words.c``) sums each line's few columns without building the matrix."""
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    if _words is None:
        return np.asarray(hashed_words(texts, bits) @ weights.T)
    scores = _words.word_scores(texts, bits, len(weights), weights)
    return np.frombuffer(scores, dtype=np.float64).reshape(len(texts), len(weights))
