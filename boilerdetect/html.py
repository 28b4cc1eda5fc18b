"""HTML → lines: block-level segmentation with the markup facts that features need.

The DOM (parsed by lexbor through selectolax) is walked once, iteratively so that deeply nested
pages cannot exhaust the stack. Text of inline elements accumulates into the current line; a block
element (or ``<br>``) ends it. Each line records its enclosing block tag, how much of it is link
text, its links, its depth, the ids/tags/class tokens of its ancestors and whether it is hidden.

Nothing is dropped for being hidden or inside ``<noscript>``: some forums and single-page apps put
the real content exactly there, so both are features, not filters.

The walk below (``_walk_tree``) is also compiled (``_htmlwalk.c``, built at install): the same
steps through lexbor's C functions, which the selectolax module already loaded exports. It gives
the same lines and facts (a property test holds the two to each other) in half the time a page;
where it is not built, or a selectolax hides those functions, this module's walk runs.
"""

from __future__ import annotations

import json
import re
import sys
from functools import lru_cache
from typing import NamedTuple

from selectolax.lexbor import LexborHTMLParser, LexborNode

from .document import Line, Page

try:
    from . import _words  # compiled at install (setup.py); optional
except ImportError:  # not built here: _tokens finds the same tokens with its regexes, slower
    _words = None

try:  # the same walk compiled (setup.py), calling the lexbor that selectolax ships; optional
    import selectolax.lexbor

    from . import _htmlwalk

    _htmlwalk.bind(selectolax.lexbor.__file__)
except ImportError:  # not built here, or this selectolax hides lexbor's functions: the Python walk
    _htmlwalk = None

BLOCK_TAGS = frozenset(
    """address article aside blockquote body br caption center dd details dialog dir div dl dt
    fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr html legend li main
    menu nav noscript ol option p pre section summary table tbody td tfoot th thead tr ul""".split()
)
SKIP_TAGS = frozenset(
    "script style template svg math iframe object embed canvas head textarea input select-menu".split()
)
_ALPHA_TOKEN = re.compile(r"(?<![a-z0-9])[a-z]{2,}(?![a-z0-9])")  # a-z0-9 words of letters only, 2+ long
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
MAX_ANCESTORS = 64  # deeper pages keep only their innermost ancestors
_NO_TOKENS: frozenset = frozenset()


def _attr_tokens(attrs: dict) -> frozenset:
    tokens = _NO_TOKENS
    for name in ("class", "id", "role"):
        if value := attrs.get(name):
            tokens = tokens | _tokens(value) if tokens else _tokens(value)
    return tokens


# Cached per attribute value, not per element: class strings recur (on a page and across a site's
# pages) even where ids are unique. The tokens of a class, id and role joined are the union of theirs.
@lru_cache(maxsize=16384)
def _tokens(value: str) -> frozenset:
    # a page's first sight of a value (often: ids and class lists are page-specific) costs the
    # regexes 2-3 us; the compiled split of ASCII values finds the same tokens in about half that
    if _words is not None and value.isascii():
        return _words.ascii_tokens(value)
    lower = value.lower()
    if lower != value:  # split camelCase words first (only possible when there are capitals)
        lower = _CAMEL.sub(" ", value).lower()
    # generated ids and hashes ("elementor-1243", "c0adf900") carry no meaning: keep alphabetic words
    return frozenset(_ALPHA_TOKEN.findall(lower))


def _is_hidden(attrs: dict) -> bool:
    if "hidden" in attrs or attrs.get("aria-hidden") == "true":
        return True
    style = attrs.get("style")
    return bool(style and _HIDDEN_STYLE.search(style))


def _raw_meta(tree: LexborHTMLParser) -> tuple:
    """What the page's metadata is read from (as the compiled walk returns it): the first
    ``<title>``'s text, the content of the first ``<meta property="og:title">``, the hrefs of the
    ``<base>`` children of ``<head>``, and the text of each ``<script type="application/ld+json">``."""
    title = tree.css_first("title")
    og = tree.css_first('meta[property="og:title"]')
    head = tree.head
    # the children of <head> walked by hand: a CSS query for <base> scans the whole page
    bases = [n.attributes["href"] for n in (head.iter() if head else ()) if n.tag == "base" and n.attributes.get("href")]
    return (
        None if title is None else title.text(deep=True),
        None if og is None else og.attributes.get("content") or None,
        bases,
        [node.text(deep=True) for node in tree.css('script[type="application/ld+json"]')],
    )


def _page_meta(title: str | None, og_title: str | None, base_hrefs: list, ld_json: list) -> dict:
    """``Page.meta`` from :func:`_raw_meta`'s values."""
    meta = {}
    if title is not None:
        meta["title"] = " ".join(title.split())
    if og_title:
        meta["og_title"] = " ".join(og_title.split())
    if base := next(filter(None, map(str.strip, base_hrefs)), None):
        meta["base"] = base  # relative links resolve against it (the first one with an href)
    bodies = []
    for text in ld_json:
        try:
            _collect_article_body(json.loads(text or "null"), bodies)
        except (ValueError, RecursionError):
            continue
    if bodies:
        meta["article_body"] = " ".join(bodies)
    return meta


def _collect_article_body(obj, out: list) -> None:
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key in ("articleBody", "text") and isinstance(value, str) and len(value) > 80:
                    out.append(value)
                elif isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)


class _Open(NamedTuple):
    """An open element, as its lines and its children need it."""

    node: LexborNode  # its attributes are read only when needed: about half the elements never hold a line
    tag: str
    element_id: int
    block_tag: str  # innermost block tag among it and its ancestors ("" when none)


class _Facts(NamedTuple):
    """What the lines inside an element inherit from it and its ancestors.

    Computed from its parent's facts, so that ending a line costs the same at any depth and lines of
    one element share the same objects; and only once a line inside it needs them: about half of
    the elements (inline ones, empty ones) never hold a line.
    """

    tokens: frozenset  # its own class/id/role tokens
    hidden: bool  # itself marked hidden
    ancestors: tuple  # ids of the innermost MAX_ANCESTORS open elements, outermost first
    ancestor_tags: frozenset  # tags of those elements
    attr_tokens: frozenset  # union of their tokens
    any_hidden: bool  # one of them is hidden


def _facts(stack: list[_Open], facts: list[_Facts | None]) -> _Facts:
    """The facts of the innermost open element, filling ``facts`` (parallel to ``stack``) up to it.

    The elements with facts are always the outermost ones: a child's need its parent's.
    """
    first = len(stack)
    while first > 0 and facts[first - 1] is None:
        first -= 1
    for depth in range(first, len(stack)):
        facts[depth] = _element_facts(stack, facts, depth)
    return facts[-1]


def _element_facts(stack: list[_Open], facts: list[_Facts], depth: int) -> _Facts:
    """The facts of ``stack[depth]``, from those of its ancestors."""
    element = stack[depth]
    attrs, tag = element.node.attributes, element.tag
    tokens, hidden = (_attr_tokens(attrs), _is_hidden(attrs)) if attrs else (_NO_TOKENS, False)
    if depth == 0:
        return _Facts(tokens, hidden, (element.element_id,), frozenset((tag,)), tokens, hidden)
    parent = facts[depth - 1]
    if depth < MAX_ANCESTORS:  # the whole stack is the window: extend the parent's facts
        return _Facts(
            tokens, hidden,
            parent.ancestors + (element.element_id,),
            parent.ancestor_tags if tag in parent.ancestor_tags else parent.ancestor_tags | {tag},
            parent.attr_tokens if tokens <= parent.attr_tokens else parent.attr_tokens | tokens,
            parent.any_hidden or hidden,
        )  # fmt: skip
    # deeper: the outermost element leaves the window, so its facts are recomputed from the window
    window = range(depth + 1 - MAX_ANCESTORS, depth)
    return _Facts(
        tokens, hidden,
        parent.ancestors[1:] + (element.element_id,),
        frozenset(stack[i].tag for i in window) | {tag},
        frozenset().union(tokens, *(facts[i].tokens for i in window)),
        hidden or any(facts[i].hidden for i in window),
    )  # fmt: skip


class _LineBuilder:
    """Accumulates inline text and flushes it as a Line at block boundaries."""

    def __init__(self) -> None:
        self.lines: list[Line] = []
        self.parts: list[str] = []
        self.link_chars = 0
        self.links: list[tuple[str, str]] = []
        self.anchors: list[int] = []

    def add(self, text: str, anchor: tuple[int, str] | None) -> None:
        """Add a text node; ``anchor`` is (element id, href) of the enclosing <a>, if any."""
        if not self.parts and text.isspace():
            # whitespace only separates words: at the start of a line it changes nothing, and
            # leaving it out spares a flush at the next block (most such nodes are indentation)
            return
        self.parts.append(text)
        if anchor is None:
            return
        stripped = text.strip()
        if not stripped:
            return
        self.link_chars += len(stripped)
        if self.anchors and self.anchors[-1] == anchor[0]:
            self.links[-1] = (f"{self.links[-1][0]} {stripped}", anchor[1])
        else:
            self.anchors.append(anchor[0])
            self.links.append((stripped, anchor[1]))

    def flush(self, stack: list[_Open], facts: list[_Facts | None]) -> None:
        if not self.parts:
            return
        text = " ".join("".join(self.parts).split())
        if text:
            if stack:
                top = _facts(stack, facts)
                context = (stack[-1].block_tag, top.ancestors, top.ancestor_tags, top.attr_tokens, top.any_hidden)
            else:
                context = ("", (), frozenset(), _NO_TOKENS, False)
            block_tag, ancestors, ancestor_tags, attr_tokens, hidden = context
            # the fields in order (text, tag, link_chars, n_links, links, depth, ancestors,
            # ancestor_tags, attr_tokens, hidden): a dataclass takes keywords three times slower
            self.lines.append(
                Line(text, block_tag, min(self.link_chars, len(text)), len(self.links), tuple(self.links), len(stack),
                     ancestors, ancestor_tags, attr_tokens, hidden)
            )  # fmt: skip
        self.parts, self.link_chars, self.links, self.anchors = [], 0, [], []


def segment_html(html: str | bytes, url: str | None = None, id: str | None = None, max_lines: int | None = None) -> Page:
    """Parse ``html`` (a str, or its UTF-8 bytes: lexbor parses those, so a str is encoded first)
    and return a :class:`Page` of block-level lines with markup facts.

    With ``max_lines``, the walk stops once the page is known to have more lines: only the first
    ``max_lines`` are kept and ``Page.truncated`` is ``{"kept_lines": max_lines}``.
    """
    limit = sys.maxsize if max_lines is None else max_lines
    if _htmlwalk is not None:
        lines, raw = _compiled_walk(html, limit)
    else:
        tree = LexborHTMLParser(html)
        lines, raw = _walk_tree(tree, limit), _raw_meta(tree)
    page = Page(lines=lines, source="html", url=url, id=id, meta=_page_meta(*raw))
    if len(page.lines) > limit:
        del page.lines[max_lines:]
        page.truncated = {"kept_lines": max_lines}
    return page


def _compiled_walk(html: str | bytes, limit: int) -> tuple[list[Line], tuple]:
    """:func:`_walk_tree`'s lines and :func:`_raw_meta`'s values, from the compiled walk."""
    utf8 = html.encode("utf-8", "ignore") if isinstance(html, str) else html  # as selectolax encodes
    return _htmlwalk.segment(utf8, Line, _tokens, _HIDDEN_STYLE.search, _NO_TOKENS, BLOCK_TAGS, SKIP_TAGS, MAX_ANCESTORS, limit)


def _walk_tree(tree: LexborHTMLParser, limit: int) -> list[Line]:
    """The lines of a parsed page; the walk stops once there are more than ``limit``."""
    builder = _LineBuilder()
    stack: list[_Open] = []  # open elements, outermost first
    facts: list[_Facts | None] = []  # their facts, None until a line needs them
    anchors: list[tuple[int, str] | None] = [None]
    next_id = 0

    # Depth-first walk along first-child / next-sibling pointers: no recursion, and no list of
    # children per element. Only entered elements are descended into, so the parent of every
    # visited node but the root is the top of the stack.
    node = tree.root
    while node is not None and len(builder.lines) <= limit:
        tag = node.tag
        if tag == "-text":
            builder.add(node.text_content or "", anchors[-1])
        elif not (tag is None or tag.startswith(("-", "!", "_")) or tag in SKIP_TAGS):
            if tag in BLOCK_TAGS and builder.parts:
                builder.flush(stack, facts)
            if tag != "br" and tag != "hr":
                next_id += 1
                child = node.first_child
                if child is not None:
                    block = tag if tag in BLOCK_TAGS else (stack[-1].block_tag if stack else "")
                    stack.append(_Open(node, tag, next_id, block))
                    facts.append(None)
                    if tag == "a":
                        anchors.append((next_id, node.attributes.get("href") or ""))
                    node = child
                    continue
                # an element without children holds no line: it is not opened (but has its id)
        # done with node: go to its next sibling, closing the elements that have no more children
        while stack:
            following = node.next
            if following is not None:
                node = following
                break
            element = stack[-1]
            if element.tag in BLOCK_TAGS and builder.parts:
                builder.flush(stack, facts)
            if element.tag == "a":
                anchors.pop()
            stack.pop()
            facts.pop()
            node = element.node
        else:  # node is the root
            node = None
    builder.flush(stack, facts)
    return builder.lines


# A page that takes every branch of the walk. The compiled walk is kept only when it segments this
# page as the Python walk does: a selectolax whose lexbor gave its functions another meaning is
# caught here, at import, instead of in the output.
_CHECK_PAGE = (
    '<html><head><title> T  t </title><meta property="og:title" content="O g"><base href=" /b/ ">'
    '<script type="application/ld+json">{"articleBody": "%s"}</script></head><body>'
    '<nav class="Top-nav" role="navigation"><a href="/a">One</a> <a href="/b">Two <b>2</b></a></nav>'
    '<p style="display:none">hidden <span aria-hidden="true">too</span></p><div hidden><p>x<br>y</p></div>'
    '<ul id="mainList"><li class="item">first</li><li class="item">second, <a>third</a></li></ul>'
    '<my-card class="card"><h2>Title</h2>\u00a0text&nbsp;here</my-card><script>no()</script>%s<p>deep</p>%s'
    "</body></html>" % ("word " * 20, "<div class=d>" * 70, "</div>" * 70)
)


def _compiled_walk_agrees() -> bool:
    tree = LexborHTMLParser(_CHECK_PAGE)
    try:  # a walk that fails on the check page falls back too, rather than failing the import
        compiled = _compiled_walk(_CHECK_PAGE, sys.maxsize)
    except Exception:  # noqa: BLE001 - whatever a changed lexbor makes the walk raise
        return False
    return compiled == (_walk_tree(tree, sys.maxsize), _raw_meta(tree))


if _htmlwalk is not None and not _compiled_walk_agrees():
    _htmlwalk = None
