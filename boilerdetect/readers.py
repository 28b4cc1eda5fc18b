"""Inputs → records → pages.

A *record* is a dict as in the JSONL input contract: ``{"id", "url", "html" | "text"}``. Readers
turn files (text, HTML, JSONL, WARC/WET, each optionally gzipped), directories and stdin into a
stream of records in input order; :func:`page_from_record` turns one record into a :class:`Page`.
A record that cannot be read still flows through the stream, as an :class:`ErrorRecord`, so that
it yields an error record in the output instead of vanishing.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import numbers
import os
import re
import sys
import zlib
from collections.abc import Iterator

from .document import Line, Page
from .html import segment_html
from .nesting import flatten

INPUT_FORMATS = ("auto", "text", "html", "jsonl", "warc")
_SUFFIXES = {".txt": "text", ".text": "text", ".html": "html", ".htm": "html", ".jsonl": "jsonl",
             ".ndjson": "jsonl", ".warc": "warc", ".wet": "warc", ".arc": "warc"}  # fmt: skip
# File names that a directory walk leaves out: the assets a mirrored site holds beside its pages.
# (Documents and archives are not left out: they may be what the user meant to clean, and each
# gets an error record saying what it is.)
NOT_PAGE_SUFFIXES = frozenset(
    """.css .js .mjs .map .png .jpg .jpeg .gif .webp .avif .svg .ico .bmp .tif .tiff .woff .woff2
    .ttf .otf .eot .mp3 .mp4 .webm .ogg .wav .mov .avi""".split()
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_:.-]+)""", re.I)
# Default size limits of one page. Real pages stay far below them (the largest of the 1,497 pages of
# WCXB dev is 5.3 MB of HTML, mostly scripts, and gives ~1,400 lines); past them a page is cut, and
# the cut is reported, so that a runaway page (a log dump, an endless listing) costs seconds, not
# minutes and gigabytes: prediction time grows with the number of lines.
MAX_PAGE_BYTES = 20_000_000
MAX_PAGE_LINES = 20_000
# Binary formats that are no page, by their first bytes, for a clear error instead of garbage text.
_MAGIC = ((b"%PDF-", "PDF document"), (b"PK\x03\x04", "zip archive"), (b"\x89PNG", "PNG image"),
          (b"\xff\xd8\xff", "JPEG image"), (b"GIF8", "GIF image"), (b"BZh", "bzip2-compressed data"),
          (b"\xfd7zXZ\x00", "xz-compressed data"), (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
          (b"\x7fELF", "executable"))  # fmt: skip
_NOT_WEB_CHARSETS = frozenset({"unicode-escape", "raw-unicode-escape", "idna", "punycode", "utf-7", "undefined"})
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\r\f\x1b")
_WIDE_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE)  # UTF-32 LE starts as UTF-16 LE


class InputError(ValueError):
    """A user-facing problem with an input (unknown kind, unreadable file...)."""


def detect_format(path: str) -> str | None:
    """Input kind from a file name (``.gz`` is looked through); None when unknown."""
    name = path.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return _SUFFIXES.get(os.path.splitext(name)[1])


def _cp1252_fallback(exc: UnicodeDecodeError) -> tuple[str, int]:
    """Codec error handler: bytes that are not UTF-8 are read as cp1252 (U+FFFD where undefined)."""
    return exc.object[exc.start : exc.end].decode("cp1252", errors="replace"), exc.end


codecs.register_error("boilerdetect.cp1252", _cp1252_fallback)
# windows-1252 as browsers decode it (WHATWG): the five bytes cp1252 leaves undefined (0x81, 0x8D,
# 0x8F, 0x90, 0x9D) are the code points of the same numbers, not an error
codecs.register_error("boilerdetect.c1", lambda exc: ("".join(map(chr, exc.object[exc.start : exc.end])), exc.end))


def _charset(label: str | None) -> str | None:
    """The Python codec name of a declared charset, or None when unknown or not a text encoding
    for web pages (binary-to-binary codecs such as "base64", Python's own escapes, UTF-7)."""
    if not label:
        return None
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):  # ValueError: labels with NUL characters
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_WEB_CHARSETS:
        return None
    # as browsers read it (WHATWG): a page labelled Latin-1 is windows-1252, whose 0x80-0x9F are
    # typographic characters (quotes, dashes, the euro sign) where Latin-1 has control codes
    return "cp1252" if info.name == "iso8859-1" else info.name


def decode(data: bytes, declared: str | None = None) -> str:
    """Bytes → text: BOM, then the declared (HTTP) charset, then a <meta> charset, then UTF-8.

    Bytes that are not valid UTF-8 are read as cp1252, one invalid sequence at a time: a legacy
    8-bit page reads right, and so does a UTF-8 page with some legacy bytes mixed in (an old
    include, a pasted quote), where a whole-page choice would garble one part or the other.
    NUL bytes are dropped.
    """
    for bom, enc in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(enc, errors="replace").replace("\x00", "")
    candidates = [_charset(declared)]
    match = _META_CHARSET.search(data[:4096])
    if match:
        meta = _charset(match.group(1).decode("ascii", "ignore"))
        # a <meta> readable as ASCII cannot sit in a UTF-16/32 page: browsers read such pages as UTF-8
        candidates.append("utf-8" if meta and meta.startswith(("utf-16", "utf-32")) else meta)
    for enc in filter(None, candidates):
        try:
            return data.decode(enc, errors="boilerdetect.c1" if enc == "cp1252" else "strict").replace("\x00", "")
        except UnicodeError:  # UnicodeDecodeError, or a codec that always fails ("undefined")
            continue
    return data.decode("utf-8", errors="boilerdetect.cp1252").replace("\x00", "")


def text_page(text: str, url: str | None = None, id: str | None = None, max_lines: int | None = None) -> Page:
    """Plain text → Page: one line per non-blank input line, whitespace collapsed.

    Lines end at ``\n``, ``\r\n`` or ``\r`` (as a file read as text has them), not at the other
    breaks ``str.splitlines`` knows (U+2028, U+0085, form feed...): crawled text is ``\n``-separated,
    and a caller counting its lines so must get as many back. Those characters are whitespace.
    With ``max_lines``, only the first ``max_lines`` lines are kept (``Page.truncated`` says so).
    """
    lines = []
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    for raw in text.split("\n"):
        if words := raw.split():
            lines.append(Line(" ".join(words)))
            if max_lines is not None and len(lines) > max_lines:
                del lines[max_lines:]
                return Page(lines=lines, source="text", url=url, id=id, truncated={"kept_lines": max_lines})
    return Page(lines=lines, source="text", url=url, id=id)


def _clean(value: str) -> tuple[str, bytes | None]:
    """Drop NUL characters (as :func:`decode` does) and replace lone surrogates (from JSON escapes
    such as "\\ud800"), which cannot be written as UTF-8, by U+FFFD. Also the UTF-8 bytes of the
    result when the check made them (a non-ASCII value without surrogates), else None."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    if value.isascii():
        return value, None
    try:  # only lone surrogates fail: four times faster than searching a page for them
        return value, value.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", value), None


def _cut(value: str, utf8: bytes | None, max_bytes: int | None) -> tuple[str, bytes | None, dict]:
    """``value`` cut to at most ``max_bytes`` bytes of UTF-8 (at a character boundary), the UTF-8
    bytes of what is kept when known, and the cut made. ``utf8``: ``value``'s bytes, or None."""
    if max_bytes is None or len(value) <= max_bytes // 4:  # 4 bytes per character at most: surely fits
        return value, utf8, {}
    if value.isascii():
        if len(value) <= max_bytes:
            return value, utf8, {}
        return value[:max_bytes], None, {"page_bytes": len(value), "kept_bytes": max_bytes}
    data = value.encode("utf-8") if utf8 is None else utf8
    if len(data) <= max_bytes:
        return value, data, {}
    end = max_bytes
    while end > 0 and data[end] & 0xC0 == 0x80:  # a continuation byte: its character started earlier
        end -= 1
    return data[:end].decode("utf-8"), data[:end], {"page_bytes": len(data), "kept_bytes": end}


class ErrorRecord(dict):
    """An input record that could not be read, ``{"id", "url"?, "_error": reason}``.

    A type of its own, so that a caller's record with a field named ``_error`` is no error.
    ``record | {...}`` and ``copy()`` keep the type (``dict(record)`` cannot: then the record has no
    page, and :func:`page_from_record` still gives its ``_error`` as the reason).
    """

    def __or__(self, other):
        return ErrorRecord(dict.__or__(self, other))

    def __ror__(self, other):
        return ErrorRecord(dict.__ror__(self, other))

    def copy(self) -> "ErrorRecord":
        return ErrorRecord(self)


class SkippedRecord(dict):
    """The place of an input record that holds no page (a WARC request, an image...),
    ``{"_skipped": reason}``: counted, not labelled. A type of its own, as :class:`ErrorRecord`."""


def _is_id(rid) -> bool:
    return isinstance(rid, str) or (isinstance(rid, numbers.Real) and not isinstance(rid, bool))  # numpy's numbers too


def valid_id(rid) -> str | None:
    """A record's id as a string, or None when it has none or one of the wrong type."""
    return str(rid) if rid is not None and _is_id(rid) else None


def record_id_url(record: dict) -> tuple[str | None, str | None]:
    """(id as a string, url) of a record; ValueError when either has the wrong type."""
    url, rid = record.get("url"), record.get("id")
    if url is not None and not isinstance(url, str):
        raise ValueError("'url' must be a string")
    if rid is not None and not _is_id(rid):
        raise ValueError("'id' must be a string or a number")
    return valid_id(rid), url


RECORD_FIELDS = ("id", "url", "html", "text", "_error")  # what page_from_record reads of a record (_error: of an ErrorRecord)


def record_fields(record: dict) -> tuple[str | None, str | None, str | None, str | None]:
    """(id as a string, url, html, text) of a JSONL-style record; ValueError with a one-line reason
    when it is no page record. Exactly one of html and text is not None (html when both are given)."""
    if not isinstance(record, dict):
        raise ValueError("record is not a JSON object")
    rid, url = record_id_url(record)
    html, text = record.get("html"), record.get("text")
    if text is not None and not isinstance(text, str):  # checked even when html is used instead
        raise ValueError("'text' must be a string")
    if html is not None and not isinstance(html, str):
        raise ValueError("'html' must be a string")
    if html is None and text is None:  # a reader's error record turned into a plain dict, too
        raise ValueError(reason if isinstance(reason := record.get("_error"), str) else "record has neither 'html' nor 'text'")
    return rid, url, html, (None if html is not None else text)


def check_positive_int(name: str, value, none_means: str | None = None) -> None:
    """ValueError unless ``value`` is an int of at least 1 (or None, when ``none_means`` says what None is)."""
    if value is None and none_means is not None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int{f', or None for {none_means}' if none_means else ''}, not {value!r}")


def check_limits(max_bytes: int | None, max_lines: int | None) -> None:
    """ValueError unless each size limit is None (no limit) or a positive int."""
    check_positive_int("max_page_bytes", max_bytes, "no limit")
    check_positive_int("max_page_lines", max_lines, "no limit")


def page_from_record(
    record: dict, max_bytes: int | None = None, max_lines: int | None = None, max_depth: int | None = None
) -> Page:
    """A JSONL-style record → Page. Raises ValueError with a one-line reason for bad records.

    ``max_bytes`` (UTF-8 bytes of the ``html`` or ``text``) and ``max_lines`` cut a page that is
    larger, ``max_depth`` flattens HTML nested deeper (see :mod:`nesting`), and ``Page.truncated``
    reports it (``"kept_depth"`` for the nesting); None (the default) keeps pages whole.
    """
    check_limits(max_bytes, max_lines)
    if isinstance(record, ErrorRecord):
        raise ValueError(record["_error"])
    rid, url, html, text = record_fields(record)
    if html is not None:
        html, utf8, cut = _cut(*_clean(html), max_bytes)
        if max_depth is not None:
            html, flattened = flatten(html, max_depth)
            if flattened:
                cut["kept_depth"] = max_depth
                utf8 = None  # the bytes of the page before
        # the parser reads UTF-8: the bytes that the checks already made, where they did
        page = segment_html(html if utf8 is None else utf8, url=url, id=rid, max_lines=max_lines)
    else:
        text, _, cut = _cut(*_clean(text), max_bytes)
        page = text_page(text, url=url, id=rid, max_lines=max_lines)
    if cut:
        page.truncated = cut | page.truncated
    return page


class DamagedInput(OSError):
    """The input stream ended early or is corrupt (truncated gzip, bad CRC...).

    Deliberately not an EOFError: parsers such as warcio treat EOFError as a clean end of input,
    which would hide the damage.
    """


class _CountingRaw(io.RawIOBase):
    """Raw bytes from a file object, reporting every read's size to ``on_read`` (progress in bytes)."""

    def __init__(self, fileobj, on_read=None):
        self._read = getattr(fileobj, "read1", None) or fileobj.read  # holds the file object too
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._read(len(buffer))
        n = len(data)
        buffer[:n] = data
        if n and self._on_read is not None:
            self._on_read(n)
        return n


class _GuardedRaw(io.RawIOBase):
    """Decompressed bytes; decompression errors become :class:`DamagedInput`; ``tell()`` counts bytes."""

    def __init__(self, stream, origin: str):
        # read1: one decompression step per call, so the bytes before a damaged spot are
        # delivered by one call and the error is raised by the next, losing nothing
        self._read = getattr(stream, "read1", None) or stream.read
        self._origin = origin
        self._pos = 0

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer) -> int:
        try:
            data = self._read(len(buffer))
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise DamagedInput(f"{self._origin}: damaged gzip data ({exc})") from None
        n = len(data)
        buffer[:n] = data
        self._pos += n
        return n


_BUFFER = 1 << 16


def _open_stream(path: str, origin: str, on_read=None) -> tuple[io.BufferedReader, list]:
    """A buffered binary stream of the file's (decompressed) bytes, and the objects to close.

    Gzip is recognised by its magic bytes (a ``.gz`` name without them is an error), and it is
    decompressed as it is read, so that memory does not grow with the file.
    """
    fh = sys.stdin.buffer if path == "-" else open(path, "rb", buffering=0)
    closers = [] if path == "-" else [fh]
    raw = io.BufferedReader(_CountingRaw(fh, on_read), _BUFFER)
    if raw.peek(2)[:2] == b"\x1f\x8b":
        raw = io.BufferedReader(_GuardedRaw(gzip.GzipFile(fileobj=raw, mode="rb"), origin), _BUFFER)
    elif path.lower().endswith(".gz"):
        for c in closers:
            c.close()
        raise InputError(f"{origin}: not a valid gzip file (no gzip header)")
    return raw, closers


class _Read1:
    """A buffered stream seen through ``read1`` (at most one raw read per call).

    For parsers that read blocks (warcio): a plain ``read(n)`` loops until ``n`` bytes and would
    drop the bytes it already had when the next raw read fails on damaged data.
    """

    def __init__(self, stream: io.BufferedReader):
        self.read = stream.read1
        self.tell = stream.tell


def _head(stream: io.BufferedReader, size: int = 1024) -> bytes:
    """Up to ``size`` first bytes of the stream, without consuming them."""
    return stream.peek(size)[:size]


def binary_format(head: bytes, declared: str | None = None) -> str | None:
    """The binary format (PDF, zip, an image...) that a file's first bytes start with, else None.

    Signatures, and first bytes (up to 4 KB of those given) of which over a twentieth are control
    bytes other than NUL ("binary data"): a page named as one, or sent as HTML, with some stray
    NUL bytes is still a page, and so is UTF-16 text without a BOM (every other byte a NUL).
    ``declared``: the charset the bytes are declared in (as :func:`decode` takes it); in UTF-16 or
    UTF-32, whose bytes are anything, only signatures tell.
    """
    if (name := next((name for magic, name in _MAGIC if head.startswith(magic)), None)) is not None:
        return name
    head = head[:4096]
    if head.startswith(_WIDE_BOMS) or (_charset(declared) or "").startswith(("utf-16", "utf-32")):
        return None
    if sum(map(head.count, _CONTROL[1:])) * 20 > len(head):  # _CONTROL[0] is NUL
        return "binary data"
    return None


def _binary(head: bytes) -> str | None:
    """What a file's first bytes show it to be when it is binary (no page), else None: as
    :func:`binary_format`, and any NUL byte too (a file whose name does not say it is a page)."""
    if (name := binary_format(head)) is not None:
        return name
    if not head.startswith(_WIDE_BOMS) and b"\x00" in head:
        return "binary data"
    return None


def looks_like_html(head: bytes) -> bool:
    """Whether the first bytes of a document (lower-cased inside) read as HTML: a doctype, an html,
    head or body tag, a comment or an XML declaration first, or an html tag near the start."""
    head = head[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<!--", b"<?xml")) or b"<html" in head


def _sniff(data: bytes) -> str:
    head = data[:1024].lstrip()
    if head.startswith(b"{"):
        return "jsonl"
    if head.startswith(b"WARC/"):
        return "warc"
    if head.startswith(b"<") or b"<html" in head.lower():
        return "html"
    return "text"


def json_line(raw: bytes):
    """One line of JSONL (bytes) → its value. A line that is not valid UTF-8 is read as
    :func:`decode` reads a page, each invalid byte as cp1252 (a legacy byte in a caf\xe9 would
    otherwise cost the whole record). ValueError when it is not JSON."""
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        return json.loads(raw.decode("utf-8", errors="boilerdetect.cp1252"))


def _jsonl_records(stream, origin: str) -> Iterator[dict]:
    for number, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            record = json_line(raw)
        except ValueError:
            yield ErrorRecord(id=None, _error=f"{origin}:{number}: not valid JSON")
            continue
        if not isinstance(record, dict):
            yield ErrorRecord(id=None, _error=f"{origin}:{number}: not a JSON object")
            continue
        try:
            record_fields(record)
        except ValueError as exc:  # said here, where the record's file and line are known
            yield ErrorRecord(id=valid_id(record.get("id")), _error=f"{origin}:{number}: {exc}")  # unless its type is the reason
            continue
        yield record


def _file_records(stream, kind: str, origin: str) -> Iterator[dict]:
    if kind == "jsonl":
        yield from _jsonl_records(stream, origin)
    elif kind == "warc":
        from .warc import warc_records

        yield from warc_records(_Read1(stream), origin)
    elif kind == "html":
        yield {"id": origin, "html": decode(stream.read())}
    else:
        yield {"id": origin, "text": decode(stream.read())}


def _not_a_page(name: str) -> bool:
    """Whether a file's name says it is no page: a site's scripts, styles, images, fonts and media,
    or an editor's backup."""
    name = name.lower()
    suffix = os.path.splitext(name)[1]
    if suffix == ".gz":
        suffix = os.path.splitext(name[:-3])[1]
    return name.endswith("~") or suffix in NOT_PAGE_SUFFIXES


def check_stdin_once(inputs: list[str]) -> None:
    """InputError when ``-`` (stdin) is among ``inputs`` more than once: it can be read only once."""
    if inputs.count("-") > 1:
        raise InputError("'-' (stdin) given more than once: it can be read only once")


def expand_inputs(inputs: list[str], skipped: list[str] | None = None) -> list[str]:
    """Files and directories (walked, sorted) → file paths; ``-`` stays as stdin. Raises InputError.

    Walks leave out hidden files and directories (a directory is added as its path and a
    separator), and files whose names say they are no page (``.css``, ``.png``..., see
    NOT_PAGE_SUFFIXES): those are added to ``skipped``, if given, so that the caller can say so. A file named in ``inputs`` is always kept. A directory that cannot
    be listed stays in the list, so that reading it gives an error record.
    """
    check_stdin_once(inputs)
    skipped = [] if skipped is None else skipped
    paths: list[str] = []
    for item in inputs:
        if item == "-":
            paths.append(item)
        elif os.path.isdir(item):
            for root, dirs, files in os.walk(item, onerror=lambda exc: paths.append(exc.filename)):
                hidden = [os.path.join(root, d) + os.sep for d in dirs if d.startswith(".")]  # .git, .cache...
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                skipped.extend(sorted(hidden))
                for name in sorted(files):
                    if name.startswith(".") or _not_a_page(name):
                        skipped.append(os.path.join(root, name))
                    else:
                        paths.append(os.path.join(root, name))
        elif os.path.exists(item):
            paths.append(item)
        else:
            raise InputError(f"{item}: no such file or directory")
    return paths


def read_records(path: str, input_format: str = "auto", on_read=None) -> Iterator[dict]:
    """Records of one input file (or ``-`` for stdin), in order; unreadable input → one error record.

    The file is streamed (JSONL line by line, WARC record by record, gzip decompressed on the
    fly), so memory does not grow with its size. Damage part-way (a truncated gzip, a cut WARC)
    yields the records before it and then one error record. ``on_read(n)`` is called with the
    number of bytes read from the file (compressed bytes for gzip), for progress reporting.
    """
    origin = "<stdin>" if path == "-" else path
    closers: list = []
    try:
        try:
            if path != "-" and os.path.isdir(path):
                os.listdir(path)  # raises the reason why the directory could not be walked
                raise InputError(f"{origin}: is a directory")
            stream, closers = _open_stream(path, origin, on_read)
            head = _head(stream)
        except (OSError, InputError) as exc:
            yield ErrorRecord(id=origin, _error=_reason(exc, origin))
            return
        kind = input_format if input_format != "auto" else (detect_format(path) if path != "-" else None)
        if kind is None:
            kind = _sniff(head)
            binary = _binary(head) if kind == "text" else None
            if binary is not None:
                yield ErrorRecord(id=origin, _error=f"{origin}: unknown file type ({binary})")
                return
        elif kind in ("text", "html") and (binary := binary_format(head)) is not None:
            # a PDF saved as .html, an image as .txt: decoded, it would come out as garbage "content"
            yield ErrorRecord(id=origin, _error=f"{origin}: not a page ({binary})")
            return
        try:
            yield from _file_records(stream, kind, origin)
        except (OSError, InputError) as exc:
            yield ErrorRecord(id=origin, _error=_reason(exc, origin))
    finally:
        for c in closers:
            c.close()


def _reason(exc: Exception, origin: str) -> str:
    if isinstance(exc, (InputError, DamagedInput)):
        return str(exc)
    return f"{origin}: {exc.strerror or exc}"
