"""Inputs → records → pages.

A *record* is a dict as in the JSONL input contract: ``{"id", "url", "html" | "text"}``. Readers
turn files (text, HTML, JSONL, WARC/WET, each optionally gzipped), directories and stdin into a
stream of records in input order; :func:`page_from_record` turns one record into a :class:`Page`.
A record that cannot be read still flows through the stream, carrying ``"_error"``, so that it
yields an error record in the output instead of vanishing.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from .document import Line, Page
from .html import segment_html

INPUT_FORMATS = ("auto", "text", "html", "jsonl", "warc")
_SUFFIXES = {".txt": "text", ".text": "text", ".html": "html", ".htm": "html", ".jsonl": "jsonl",
             ".ndjson": "jsonl", ".warc": "warc", ".wet": "warc", ".arc": "warc"}  # fmt: skip
_META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_:.-]+)""", re.I)


class InputError(ValueError):
    """A user-facing problem with an input (unknown kind, unreadable file...)."""


def detect_format(path: str) -> str | None:
    """Input kind from a file name (``.gz`` is looked through); None when unknown."""
    name = path.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return _SUFFIXES.get(os.path.splitext(name)[1])


def decode(data: bytes, declared: str | None = None) -> str:
    """Bytes → text: BOM, then the declared (HTTP) charset, then a <meta> charset, then UTF-8.

    Undecodable bytes become U+FFFD rather than failing the page; NUL bytes are dropped.
    """
    for bom, enc in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(enc, errors="replace").replace("\x00", "")
    candidates = [declared]
    match = _META_CHARSET.search(data[:4096])
    if match:
        candidates.append(match.group(1).decode("ascii", "ignore"))
    for enc in filter(None, candidates):
        try:
            codecs.lookup(enc)
        except LookupError:
            continue
        try:
            return data.decode(enc).replace("\x00", "")
        except UnicodeDecodeError:
            continue
    try:
        return data.decode("utf-8").replace("\x00", "")
    except UnicodeDecodeError:
        # Mostly-UTF-8 with a few bad bytes keeps its UTF-8 text; legacy 8-bit pages read as cp1252.
        text = data.decode("utf-8", errors="replace")
        if text.count("\ufffd") * 50 > len(text):
            text = data.decode("cp1252", errors="replace")
        return text.replace("\x00", "")


def text_page(text: str, url: str | None = None, id: str | None = None) -> Page:
    """Plain text → Page: one line per non-blank input line, whitespace collapsed."""
    lines = [Line(" ".join(raw.split())) for raw in text.splitlines()]
    return Page(lines=[l for l in lines if l.text], source="text", url=url, id=id)


def page_from_record(record: dict) -> Page:
    """A JSONL-style record → Page. Raises ValueError with a one-line reason for bad records."""
    if not isinstance(record, dict):
        raise ValueError("record is not a JSON object")
    if "_error" in record:
        raise ValueError(record["_error"])
    url, rid = record.get("url"), record.get("id")
    if url is not None and not isinstance(url, str):
        raise ValueError("'url' must be a string")
    rid = None if rid is None else str(rid)
    html, text = record.get("html"), record.get("text")
    if html is not None:
        if not isinstance(html, str):
            raise ValueError("'html' must be a string")
        return segment_html(html, url=url, id=rid)
    if text is not None:
        if not isinstance(text, str):
            raise ValueError("'text' must be a string")
        return text_page(text, url=url, id=rid)
    raise ValueError("record has neither 'html' nor 'text'")


def _open_bytes(path: str) -> bytes:
    with open(path, "rb") as fh:
        data = fh.read()
    if path.lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise InputError(f"{path}: not a valid gzip file ({exc})") from None
    return data


def _sniff(data: bytes) -> str:
    head = data[:1024].lstrip()
    if head.startswith(b"{"):
        return "jsonl"
    if head.startswith(b"WARC/"):
        return "warc"
    if head.startswith(b"<") or b"<html" in head.lower():
        return "html"
    return "text"


def _jsonl_records(data: bytes, origin: str) -> Iterator[dict]:
    for number, raw in enumerate(io.BytesIO(data), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError:
            yield {"id": None, "_error": f"{origin}:{number}: not valid JSON"}
            continue
        if not isinstance(record, dict):
            yield {"id": None, "_error": f"{origin}:{number}: not a JSON object"}
            continue
        yield record


def _file_records(data: bytes, kind: str, origin: str) -> Iterator[dict]:
    if kind == "jsonl":
        yield from _jsonl_records(data, origin)
    elif kind == "warc":
        from .warc import warc_records

        yield from warc_records(data, origin)
    elif kind == "html":
        yield {"id": origin, "html": decode(data)}
    else:
        yield {"id": origin, "text": decode(data)}


def expand_inputs(inputs: list[str]) -> list[str]:
    """Files and directories (walked, sorted) → file paths; ``-`` stays as stdin. Raises InputError."""
    paths: list[str] = []
    for item in inputs:
        if item == "-":
            paths.append(item)
        elif os.path.isdir(item):
            for root, dirs, files in os.walk(item):
                dirs.sort()
                paths.extend(os.path.join(root, f) for f in sorted(files) if not f.startswith("."))
        elif os.path.exists(item):
            paths.append(item)
        else:
            raise InputError(f"{item}: no such file or directory")
    return paths


def read_records(path: str, input_format: str = "auto") -> Iterator[dict]:
    """Records of one input file (or ``-`` for stdin), in order; unreadable input → one error record."""
    origin = "<stdin>" if path == "-" else path
    try:
        data = sys.stdin.buffer.read() if path == "-" else _open_bytes(path)
    except (OSError, InputError) as exc:
        reason = str(exc) if isinstance(exc, InputError) else f"{origin}: {exc.strerror or exc}"
        yield {"id": origin, "_error": reason}
        return
    kind = input_format if input_format != "auto" else (detect_format(path) if path != "-" else None)
    if kind is None:
        kind = _sniff(data)
        if path != "-" and kind == "text" and b"\x00" in data[:1024]:
            yield {"id": origin, "_error": f"{origin}: unknown file type (binary data)"}
            return
    yield from _file_records(data, kind, origin)
