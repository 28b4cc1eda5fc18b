"""Page + gold main text → one training label per line.

``content``: most of the line's words are covered by word trigrams of the gold text. Trigrams run
across line boundaries, so a short line ("Ingredients") counts as content only where it sits, in
order, between its gold neighbours, while the same word in a menu does not.

``related``: a non-content run of at least ``MIN_RELATED_RUN`` teaser links (lines that are mostly
link text, at least ``MIN_TEASER_WORDS`` words, pointing to other pages, outside menus, headers and
footers; ``MIN_RUN_MEAN_WORDS`` words on average), plus the short heading just above the run. Plain-text pages have no markup: they take the labels of the HTML lines with the
same text (see :func:`transfer_labels`).

``boilerplate``: everything else.
"""

from __future__ import annotations

import re
from functools import lru_cache
from operator import attrgetter

import numpy as np

from .document import Page

WORD = re.compile(r"\w+")
MIN_COVERAGE = 0.5  # share of a line's words covered by gold trigrams to call it content
MIN_RELATED_RUN = 3
MIN_TEASER_WORDS = 3
MIN_LINK_SHARE = 0.7
MAX_HEADING_WORDS = 8
MIN_RUN_MEAN_WORDS = 5  # headlines are longer than menu entries ("Outdoor Side Tables")
NAV_TAGS = frozenset({"nav", "header", "footer", "select"})
_NAV_TOKEN = re.compile(r"nav|menu|breadcrumb|footer|header|dropdown|megamenu|submenu|pagination")


def words(text: str) -> list[str]:
    """Lower-cased ``\\w+`` tokens: the unit of the word-F1 metric and of alignment."""
    return WORD.findall(text.lower())


def content_mask(lines: list[str], gold: str) -> np.ndarray:
    """Boolean mask, shape (n_lines,): lines mostly covered by the gold text's word trigrams."""
    gold_words = words(gold)
    line_words = [words(t) for t in lines]
    mask = np.zeros(len(lines), dtype=bool)
    if not gold_words:
        return mask
    stream = [w for ws in line_words for w in ws]
    owner = np.repeat(np.arange(len(lines)), [len(ws) for ws in line_words])
    n = 3 if len(gold_words) >= 3 else len(gold_words)
    grams = {tuple(gold_words[i : i + n]) for i in range(len(gold_words) - n + 1)}
    covered = np.zeros(len(stream), dtype=bool)
    for i in range(len(stream) - n + 1):
        if tuple(stream[i : i + n]) in grams:
            covered[i : i + n] = True
    hits = np.bincount(owner, weights=covered, minlength=len(lines))
    sizes = np.bincount(owner, minlength=len(lines))
    mask = (sizes > 0) & (hits >= MIN_COVERAGE * np.maximum(sizes, 1))
    # A line repeated on the page (teaser + full text, mobile + desktop copy) is content only as
    # many times as the gold text holds it; the first copies win.
    gold_joined = f" {' '.join(gold_words)} "
    seen: dict[str, int] = {}
    for i in np.flatnonzero(mask):
        if len(line_words[i]) < 4:
            continue
        key = " ".join(line_words[i])
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > max(gold_joined.count(f" {key} "), 1):
            mask[i] = False
    return mask


@lru_cache(maxsize=4096)  # a page's lines share a few sets of class/id tokens
def _names_navigation(attr_tokens: frozenset) -> bool:
    return any(_NAV_TOKEN.search(t) for t in attr_tokens)


def is_page_link(href: str) -> bool:
    """Whether a link's ``href`` leads to another page (not an anchor, a script or an e-mail address)."""
    return bool(href) and not href.startswith(("#", "javascript:", "mailto:"))


def is_teaser(line) -> bool:
    """A link line that reads like a headline and is not part of the site's menus."""
    # the cheap tests first: counting the words is the dearest
    if line.link_chars / max(len(line.text), 1) < MIN_LINK_SHARE:
        return False
    if not line.ancestor_tags.isdisjoint(NAV_TAGS) or _names_navigation(line.attr_tokens):
        return False
    return any(is_page_link(href) for _, href in line.links) and len(words(line.text)) >= MIN_TEASER_WORDS


def teaser_mask(lines: list) -> np.ndarray:
    """:func:`is_teaser` of every line; shape (n_lines,), bool. Its first test (mostly link text) is
    done for the whole page at once, so that only the link-heavy lines cost a call."""
    link_chars = np.fromiter(map(attrgetter("link_chars"), lines), dtype=float, count=len(lines))
    chars = np.fromiter(map(len, map(attrgetter("text"), lines)), dtype=float, count=len(lines))
    mask = np.zeros(len(lines), dtype=bool)
    for i in np.flatnonzero(link_chars / np.maximum(chars, 1) >= MIN_LINK_SHARE):
        mask[i] = is_teaser(lines[i])
    return mask


def teaser_runs(page: Page, content: np.ndarray) -> list[tuple[int, int]]:
    """The runs ``(i, j)`` of lines i..j-1 that make a related list: at least MIN_RELATED_RUN teaser
    links in a row outside the content, of MIN_RUN_MEAN_WORDS words on average (no heading)."""
    teaser = teaser_mask(page.lines) & ~np.asarray(content, dtype=bool)
    runs = []
    i, n = 0, len(page.lines)
    while i < n:
        if not teaser[i]:
            i += 1
            continue
        j = i
        while j < n and teaser[j]:
            j += 1
        run_words = np.mean([len(words(page.lines[k].text)) for k in range(i, j)])
        if j - i >= MIN_RELATED_RUN and run_words >= MIN_RUN_MEAN_WORDS:
            runs.append((i, j))
        i = j
    return runs


def related_mask(page: Page, content: np.ndarray) -> np.ndarray:
    """Boolean mask of lines in runs of teaser links (and their heading) outside the content."""
    mask = np.zeros(len(page.lines), dtype=bool)
    for i, j in teaser_runs(page, content):
        mask[i:j] = True
        head = i - 1
        if head >= 0 and not content[head] and page.lines[head].link_chars == 0 and (
            len(words(page.lines[head].text)) <= MAX_HEADING_WORDS
        ):
            mask[head] = True
    return mask


def align(page: Page, gold: str) -> list[str]:
    """Label every line of ``page`` against the gold main text; returns labels in line order."""
    content = content_mask(page.texts, gold)
    related = related_mask(page, content) if page.source == "html" else np.zeros_like(content)
    return ["content" if c else "related" if r else "boilerplate" for c, r in zip(content, related)]


def normalise(text: str) -> str:
    """Key under which the same line is recognised in another rendering of the page."""
    return " ".join(words(text))


def transfer_labels(text_lines: list[str], html_page: Page, html_labels: list[str]) -> list[str]:
    """Mark ``related`` the plain-text lines whose text is a related line of the HTML rendering."""
    related = {normalise(line.text) for line, lab in zip(html_page.lines, html_labels) if lab == "related"}
    related.discard("")
    return ["related" if normalise(t) in related else None for t in text_lines]
