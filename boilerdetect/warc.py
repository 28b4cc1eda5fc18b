"""WARC / WET files → records, read with warcio.

``response`` records with an HTML body become HTML records (decoded by HTTP, then meta charset);
WET ``conversion`` records become text records. Other record types yield a ``{"_skipped": why}``
marker so that the caller can count them.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from .readers import decode


def _charset(content_type: str | None) -> str | None:
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip("\"' ")
    return None


def warc_records(data: bytes, origin: str) -> Iterator[dict]:
    """Records of a WARC/WET file; a truncated or corrupt file ends with one error record."""
    try:
        for rec in ArchiveIterator(io.BytesIO(data)):
            rid = rec.rec_headers.get_header("WARC-Record-ID")
            url = rec.rec_headers.get_header("WARC-Target-URI")
            if rec.rec_type == "response":
                ctype = rec.http_headers.get_header("Content-Type") if rec.http_headers else None
                body = rec.content_stream().read()
                if ctype and "html" not in ctype.lower():
                    yield {"_skipped": f"response with {ctype.split(';')[0]}"}
                    continue
                yield {"id": rid, "url": url, "html": decode(body, _charset(ctype))}
            elif rec.rec_type == "conversion":
                yield {"id": rid, "url": url, "text": decode(rec.content_stream().read(), "utf-8")}
            else:
                yield {"_skipped": f"{rec.rec_type} record"}
    except (ArchiveLoadFailed, OSError, EOFError, ValueError) as exc:
        yield {"id": origin, "_error": f"{origin}: damaged WARC data ({exc})"}
