"""Editable label files: one page, one row per line, ``label<TAB>text<TAB>score``.

``boilerdetect label`` writes them pre-filled with the current prediction; a person corrects the
first column; ``train``/``evaluate`` read them back as line-labelled pages. Layout::

    # boilerdetect labels 1
    # url: https://example.com/a            (optional: the page's site)
    # html: page.html                        (optional: the page the lines were segmented from,
                                             relative to the label file's directory, or absolute)
    # least certain: 14 9 31 ...             (file line numbers, least certain first)
    content<TAB>First paragraph of the article ...<TAB>0.97

Lines starting with ``#`` and blank lines are comments. The third column (the model's
probability that the line is content) is a reading aid and is ignored on reading. When the
``html`` file still segments into exactly the same lines, the labels train the HTML model (and,
through a text rendering, the plain-text model); otherwise the rows are read as a plain-text page.
"""

from __future__ import annotations

import os
import re
import warnings

from .document import LABELS, Line, Page
from .readers import InputError

HEADER = "# boilerdetect labels 1"
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f-\x9f\u2028\u2029]")
N_UNCERTAIN = 10


def format_label_file(page: Page, labels: list[str], scores: list[float], html_path: str | None = None) -> str:
    """The label file of a page: its lines with their labels and content scores (lists of n_lines)."""
    head = [HEADER, "# Correct the first column (content, related or boilerplate); keep the rows and their order."]
    if page.url:  # its spaces and control characters percent-encoded, as a browser sends them: a
        # line break would end the header line, and what follows it would read as a row
        head.append("# url: " + _CONTROL_OR_SPACE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), page.url))
    if html_path:
        if _CONTROL_OR_SPACE.search(html_path.replace(" ", "")):
            raise InputError(f"{html_path!r}: a page file name with control characters cannot go in a label file")
        head.append(f"# html: {html_path}")
    first_row = len(head) + 2  # file line number of the first row, after the 'least certain' line
    order = sorted(range(len(scores)), key=lambda i: abs(scores[i] - 0.5))[:N_UNCERTAIN]
    head.append("# least certain (file line numbers): " + " ".join(str(first_row + i) for i in order))
    rows = [f"{lab}\t{' '.join(t.split())}\t{s:.2f}" for t, lab, s in zip(page.texts, labels, scores)]
    return "\n".join(head + rows) + "\n"


def read_label_file(path: str) -> tuple[Page, list[str], str | None]:
    """(page, labels, html source) from a label file. Raises InputError naming the file and line.

    The page is the HTML page when the ``html`` source still gives the same lines, else a
    plain-text page of the rows; the returned source is the HTML text in the first case, else None.
    """
    meta: dict[str, str] = {}
    texts, labels = [], []
    try:
        with open(path, encoding="utf-8") as fh:
            for number, raw in enumerate(fh, start=1):
                raw = raw.rstrip("\n")
                if raw.startswith("#"):
                    key, sep, value = raw[1:].partition(":")
                    if sep and key.strip() in ("url", "html"):
                        meta[key.strip()] = value.strip()
                    continue
                if not raw.strip():
                    continue
                label, sep, rest = raw.partition("\t")
                if not sep:  # said first: without a tab the whole row reads as an unknown label
                    raise InputError(f"{path}:{number}: expected 'label<TAB>text' (no tab on this row)")
                if label.strip() not in LABELS:
                    raise InputError(f"{path}:{number}: unknown label {label.strip()!r} (expected one of {', '.join(LABELS)})")
                texts.append(" ".join(rest.partition("\t")[0].split()))
                labels.append(label.strip())
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read label file ({exc})") from None
    url = meta.get("url") or None
    html = _unchanged_html(meta.get("html"), texts, url, path)
    if html is not None:
        from .html import segment_html

        return segment_html(html, url=url, id=path), labels, html
    return Page([Line(t) for t in texts], "text", url, path), labels, None


def _unchanged_html(html_path: str | None, texts: list[str], url: str | None, where: str) -> str | None:
    """The HTML source if it still segments into ``texts``; None (with a warning when it does not)."""
    if not html_path:
        return None
    from .html import segment_html
    from .readers import decode

    base = os.path.dirname(os.path.abspath(where))
    full = os.path.join(base, html_path)
    try:
        with open(full, "rb") as fh:
            data = fh.read()
        if data[:2] == b"\x1f\x8b":
            import gzip

            data = gzip.decompress(data)
    except OSError:
        warnings.warn(f"{where}: {html_path} is not readable; its rows train the plain-text model only")
        return None
    html = decode(data)
    if segment_html(html, url=url).texts != texts:
        warnings.warn(f"{where}: the rows no longer match {html_path}; they train the plain-text model only")
        return None
    return html


def is_label_file(path: str) -> bool:
    return path.lower().endswith(".tsv")
