"""Flatten pathologically deep HTML before it is parsed.

The HTML parsing algorithm scans the stack of open elements for many start tags (is a ``<p>`` in
button scope? ...), so its cost grows with the square of the nesting depth: with lexbor, 20,000
nested ``<div>`` (100 KB) take seconds, 40,000 take about twenty, a megabyte of them hours. Real
pages nest a few dozen levels; browsers stop nesting at 512 (Chromium's parser attaches deeper
elements to the element at that depth). :func:`flatten` does the same before parsing: it follows
the tags with a light model of the parser's stack and drops start tags (and their end tags) that
would nest deeper than ``max_depth``. Text is never removed. Documents with too few tags to be
slow are returned untouched without a scan.
"""

from __future__ import annotations

import re

MAX_DEPTH = 512
# Below this many '<' the parse cannot be slow whatever the nesting (10,000 nested divs: ~0.3 s on
# a busy machine); only ~1% of real pages have more, so the scan adds ~2% to segmentation time.
_FEW_TAGS = 10_000
# A tag, a comment or a raw-text element (whose content holds no tags). Each alternative also ends at
# the end of the text, as the parser does with an unclosed one: a failed match never rescans the rest.
_TAG = re.compile(
    r"<(?:(script|style|textarea|title|xmp|noembed|noframes|iframe|plaintext)\b.*?(?:</\1\s*>|\Z)"
    r"|!--.*?(?:-->|\Z)"
    r"|(/?)([A-Za-z][^\s/>]*)(?:[^>\"']|\"[^\"]*(?:\"|\Z)|'[^']*(?:'|\Z))*(?:>|\Z))",
    re.S | re.I,
)
# Elements that do not stay open to nest others: void elements, and those that the next sibling of
# the same kind closes (their depth stays flat whatever the markup).
_FLAT = frozenset(
    """area base br col embed hr img input link meta param source track wbr p li dd dt option optgroup tr td
    th tbody thead tfoot colgroup caption rb rt rtc rp html head body a nobr button form""".split()
)


def flatten(html: str, max_depth: int = MAX_DEPTH, few_tags: int = _FEW_TAGS) -> tuple[str, bool]:
    """``html`` with no element nested deeper than about ``max_depth``, and whether tags were dropped.

    Documents with at most ``few_tags`` '<' are returned as they are, unscanned.
    """
    if html.count("<") <= few_tags:
        return html, False
    stack: list[str] = []
    dropped: dict[str, int] = {}  # per tag name: dropped start tags whose end tag is still to come
    keep_from, pieces = 0, []
    for match in _TAG.finditer(html):
        name = match.group(3)
        if name is None:
            continue
        name = name.lower()
        if match.group(2):  # an end tag closes the innermost open element of its name
            if dropped.get(name):
                dropped[name] -= 1
            elif name in stack:
                while stack.pop() != name:
                    pass
                continue
            else:
                continue
        elif name in _FLAT:
            continue
        elif len(stack) < max_depth:
            stack.append(name)
            continue
        else:
            dropped[name] = dropped.get(name, 0) + 1
        pieces.append(html[keep_from : match.start()])
        keep_from = match.end()
    if not pieces:
        return html, False
    pieces.append(html[keep_from:])
    return "".join(pieces), True
