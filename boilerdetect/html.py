"""HTML → lines: block-level segmentation with the markup facts that features need.

The DOM (parsed by lexbor through selectolax) is walked once, iteratively so that deeply nested
pages cannot exhaust the stack. Text of inline elements accumulates into the current line; a block
element (or ``<br>``) ends it. Each line records its enclosing block tag, how much of it is link
text, its links, its depth, the ids/tags/class tokens of its ancestors and whether it is hidden.

Nothing is dropped for being hidden or inside ``<noscript>``: some forums and single-page apps put
the real content exactly there, so both are features, not filters.
"""

from __future__ import annotations

import json
import re

from selectolax.lexbor import LexborHTMLParser

from .document import Line, Page

BLOCK_TAGS = frozenset(
    """address article aside blockquote body br caption center dd details dialog dir div dl dt
    fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr html legend li main
    menu nav noscript ol option p pre section summary table tbody td tfoot th thead tr ul""".split()
)
SKIP_TAGS = frozenset(
    "script style template svg math iframe object embed canvas head textarea input select-menu".split()
)
_TOKEN_SPLIT = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
MAX_ANCESTORS = 64  # deeper pages keep only their innermost ancestors


def _attr_tokens(attrs: dict) -> frozenset:
    raw = " ".join(v for k, v in attrs.items() if k in ("class", "id", "role") and v)
    if not raw:
        return frozenset()
    # generated ids and hashes ("elementor-1243", "c0adf900") carry no meaning: keep alphabetic words
    return frozenset(
        t for t in _TOKEN_SPLIT.split(_CAMEL.sub(" ", raw).lower()) if len(t) > 1 and t.isalpha()
    )


def _is_hidden(attrs: dict) -> bool:
    if "hidden" in attrs or attrs.get("aria-hidden") == "true":
        return True
    style = attrs.get("style")
    return bool(style and _HIDDEN_STYLE.search(style))


def _page_meta(tree: LexborHTMLParser) -> dict:
    meta = {}
    title = tree.css_first("title")
    if title is not None:
        meta["title"] = " ".join(title.text(deep=True).split())
    og = tree.css_first('meta[property="og:title"]')
    if og is not None and og.attributes.get("content"):
        meta["og_title"] = " ".join(og.attributes["content"].split())
    bodies = []
    for node in tree.css('script[type="application/ld+json"]'):
        try:
            _collect_article_body(json.loads(node.text(deep=True) or "null"), bodies)
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
        self.parts.append(text)
        stripped = text.strip()
        if anchor is None or not stripped:
            return
        self.link_chars += len(stripped)
        if self.anchors and self.anchors[-1] == anchor[0]:
            self.links[-1] = (f"{self.links[-1][0]} {stripped}", anchor[1])
        else:
            self.anchors.append(anchor[0])
            self.links.append((stripped, anchor[1]))

    def flush(self, stack: list) -> None:
        if not self.parts:
            return
        text = " ".join("".join(self.parts).split())
        if text:
            block_tag = ""
            for _, tag, _, _ in reversed(stack):
                if tag in BLOCK_TAGS:
                    block_tag = tag
                    break
            ancestors = stack[-MAX_ANCESTORS:]
            self.lines.append(
                Line(
                    text=text,
                    tag=block_tag,
                    link_chars=min(self.link_chars, len(text)),
                    n_links=len(self.links),
                    links=tuple(self.links),
                    depth=len(stack),
                    ancestors=tuple(a[0] for a in ancestors),
                    ancestor_tags=frozenset(a[1] for a in ancestors),
                    attr_tokens=frozenset().union(*(a[2] for a in ancestors)),
                    hidden=any(a[3] for a in ancestors),
                )
            )
        self.parts, self.link_chars, self.links, self.anchors = [], 0, [], []


def segment_html(html: str, url: str | None = None, id: str | None = None, max_lines: int | None = None) -> Page:
    """Parse ``html`` and return a :class:`Page` of block-level lines with markup facts.

    With ``max_lines``, the walk stops once the page is known to have more lines: only the first
    ``max_lines`` are kept and ``Page.truncated`` is ``{"kept_lines": max_lines}``.
    """
    tree = LexborHTMLParser(html)
    builder = _LineBuilder()
    # stack of open elements: (element id, tag, class/id tokens, hidden)
    open_elements: list[tuple[int, str, frozenset, bool]] = []
    anchors: list[tuple[int, str] | None] = [None]
    root = tree.root
    todo = [(root, False)] if root is not None else []
    next_id = 0
    limit = float("inf") if max_lines is None else max_lines
    while todo and len(builder.lines) <= limit:
        node, closing = todo.pop()
        if closing:
            tag = open_elements[-1][1]
            if tag in BLOCK_TAGS:
                builder.flush(open_elements)
            if tag == "a":
                anchors.pop()
            open_elements.pop()
            continue
        tag = node.tag
        if tag == "-text":
            builder.add(node.text_content or "", anchors[-1])
            continue
        if tag is None or tag.startswith(("-", "!", "_")) or tag in SKIP_TAGS:
            continue
        attrs = node.attributes
        if tag in BLOCK_TAGS:
            builder.flush(open_elements)
        if tag == "br" or tag == "hr":
            continue
        next_id += 1
        open_elements.append((next_id, tag, _attr_tokens(attrs), _is_hidden(attrs)))
        if tag == "a":
            anchors.append((next_id, attrs.get("href") or ""))
        todo.append((node, True))
        children = list(node.iter(include_text=True))
        todo.extend((child, False) for child in reversed(children))
    builder.flush(open_elements)
    page = Page(lines=builder.lines, source="html", url=url, id=id, meta=_page_meta(tree))
    if len(page.lines) > limit:
        del page.lines[max_lines:]
        page.truncated = {"kept_lines": max_lines}
    return page
