"""WARC / WET files → records, read with warcio, one record at a time.

``response`` (and ``resource``) records with an HTML body become HTML records, decoded by the
HTTP charset, then the ``<meta>`` charset (see :func:`readers.decode`); WET ``conversion`` records
become text records. ``WARC-Record-ID`` becomes the record's ``id`` and ``WARC-Target-URI`` its
``url``. Every other record (``warcinfo``, ``request``, ``metadata``, ``revisit``, non-HTML or
non-2xx responses...) yields a :class:`readers.SkippedRecord` marker so that the caller can count it.

The input is streamed: pass an open binary file (already decompressed, or gzipped per record
— warcio handles both) and only one record body is in memory at a time. A truncated or corrupt
file yields the records before the damage and then one error record; warcio itself stops silently
at a cut, so the reader checks each record's length and the end of the file.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from warcio.archiveiterator import ArchiveIterator

from .readers import ErrorRecord, SkippedRecord, binary_format, decode, looks_like_html

_DRAIN = 1 << 16


class _Damaged(Exception):
    pass


def _charset(content_type: str | None) -> str | None:
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "charset" and value:
            return value.strip("\"' ") or None
    return None


def _mime(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _html_record(body: bytes, ctype: str | None, rid: str | None, url: str | None, kind: str) -> dict:
    # servers label PDFs and images text/html often enough: such a body is no page, and decoded
    # it would come out as garbage "content"
    charset = _charset(ctype)
    if (binary := binary_format(body, charset)) is not None:
        return SkippedRecord(_skipped=f"{kind} labelled {_mime(ctype) or 'HTML'} holding {binary}")
    return {"id": rid, "url": url, "html": decode(body, charset)}


def _record(rec, rid: str | None, url: str | None):
    """One warcio record → a record dict, or a ``_skipped`` marker."""
    kind = rec.rec_type
    if kind == "response":
        if rec.http_headers is None:
            return SkippedRecord(_skipped="response without HTTP headers")
        status = (rec.http_headers.get_statuscode() or "").strip()
        if not status.startswith("2"):
            return SkippedRecord(_skipped=f"response with status {status or '?'}")
        ctype = rec.http_headers.get_header("Content-Type")
        if ctype and "html" not in _mime(ctype):
            return SkippedRecord(_skipped=f"response with {_mime(ctype)}")
        body = rec.content_stream().read()
        if not ctype and not looks_like_html(body):
            return SkippedRecord(_skipped="response without a content type")
        return _html_record(body, ctype, rid, url, kind)
    if kind == "resource":
        ctype = rec.rec_headers.get_header("Content-Type")
        if "html" not in _mime(ctype):
            return SkippedRecord(_skipped=f"resource with {_mime(ctype) or 'no content type'}")
        return _html_record(rec.content_stream().read(), ctype, rid, url, kind)
    if kind == "conversion":
        ctype = rec.rec_headers.get_header("Content-Type")
        return {"id": rid, "url": url, "text": decode(rec.content_stream().read(), _charset(ctype) or "utf-8")}
    return SkippedRecord(_skipped=f"{kind or 'untyped'} record")


def _check_complete(rec) -> None:
    """Raise :class:`_Damaged` when the record's block is shorter than its Content-Length."""
    length = (rec.rec_headers.get_header("Content-Length") or "").strip()
    if not length.isdigit():
        raise _Damaged("record without a valid Content-Length (cut in its header?)")
    stream = rec.raw_stream
    while stream.read(_DRAIN):
        pass
    if getattr(stream, "limit", 0) > 0:
        raise _Damaged(f"record truncated, {stream.limit} bytes missing")


def warc_records(source, origin: str) -> Iterator[dict]:
    """Records of a WARC/WET file (bytes or an open binary stream); damage → a final error record."""
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source
    rid = url = None
    it = None
    try:
        it = ArchiveIterator(stream)
        for rec in it:
            rid = rec.rec_headers.get_header("WARC-Record-ID")
            url = rec.rec_headers.get_header("WARC-Target-URI")
            out = _record(rec, rid, url)
            _check_complete(rec)
            yield out
            rid = url = None
        # warcio ends quietly when a record is cut right after its WARC header: bytes past the last
        # complete record mean damage
        end = it.offset
        total = it.fh.tell()
        if total > end:
            raise _Damaged(f"{total - end} bytes of an incomplete record at the end")
    except Exception as exc:  # noqa: BLE001 - warcio raises many kinds of errors on garbage input
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if not reason.startswith(origin):
            reason = f"{origin}: damaged WARC data ({reason})"
        yield ErrorRecord(id=rid or origin, url=url, _error=reason)
