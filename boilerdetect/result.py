"""What the detector returns for one page, and its JSONL form (the output contract)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import orjson

from .align import MAX_HEADING_WORDS, is_page_link, normalise
from .document import Line


def json_bytes(obj: Any) -> bytes:
    """``obj`` as compact JSON in UTF-8, by orjson (about ten times the json module's speed: the
    JSONL of a page takes 0.03 ms instead of 0.36). Text that UTF-8 cannot hold, lone surrogates
    from "\\ud800" escapes in JSON input, is written as such escapes instead of failing."""
    try:
        return orjson.dumps(obj)
    except TypeError:  # orjson.JSONEncodeError: a lone surrogate, or a type only json knows
        return json.dumps(obj, separators=(",", ":")).encode("ascii")


def _absolute(base: str | None, href: str) -> str:
    """``href`` resolved against the page URL ``base``; as written when there is none, or when
    either is malformed (``urljoin`` raises on a broken IPv6 host such as ``http://[oops/``):
    one bad link must not cost the page its record."""
    if not base:
        return href
    try:
        return urljoin(base, href)
    except ValueError:
        return href


@dataclass
class Result:
    """Labelled lines of one page (``lines`` carry ``label`` and ``score``), or an ``error``.

    ``explanations`` is filled by :meth:`Detector.explain` and ``explain_pages`` (and ``explain=``
    of ``predict_records`` / ``predict_many``): per line, the features that pushed
    its label most (a list of :class:`boilerdetect.explain.Contribution`, largest effect first).
    ``truncated`` is the page's :attr:`Page.truncated` when it was cut to the size limits.
    ``base`` is the page's ``<base href>``, as written, when it has one: relative links resolve
    against it (itself resolved against ``url``) rather than against ``url``.
    """

    lines: list[Line] = field(default_factory=list)
    id: str | None = None
    url: str | None = None
    error: str | None = None
    explanations: list[list] | None = None
    truncated: dict | None = None
    base: str | None = None

    @classmethod
    def failed(cls, record, error: str) -> "Result":
        """The error result of an input record: with its id and url wherever they can be read."""
        from .readers import valid_id

        rid = valid_id(record.get("id")) if isinstance(record, dict) else None
        url = record.get("url") if isinstance(record, dict) else None
        return cls(id=rid, url=url if isinstance(url, str) else None, error=error)

    @property
    def content(self) -> str | None:
        """Main content: the content lines joined with newlines (None for a failed record)."""
        if self.error is not None:
            return None
        return "\n".join(line.text for line in self.lines if line.label == "content")

    @property
    def related_links(self) -> list[dict]:
        """Blocks of consecutive ``related`` lines: ``[{"heading", "items": [{"text", "url"?}]}]``.

        A block's first line is its heading when it carries no link and is short. So is such a
        line inside a run of related links (from HTML): it starts a block of its own, as when a
        "Most read" list follows a "Latest" one. Repeated items (a headline crawled twice, as image
        alt text and as link text) are collapsed.
        """
        blocks: list[dict] = []
        seen: set[str] = set()
        base = _absolute(self.url, self.base) if self.base else self.url
        for i, line in enumerate(self.lines):
            if line.label != "related":
                continue
            following = self.lines[i + 1] if i + 1 < len(self.lines) else None
            # a short link-free line above more related lines heads them, unless the next line
            # repeats it: then it is the first copy of a crawled-twice headline, an item
            heads = (
                not line.links and len(line.text.split()) <= MAX_HEADING_WORDS
                and following is not None and following.label == "related"
                and normalise(following.text) != normalise(line.text)
            )  # fmt: skip
            run_starts = i == 0 or self.lines[i - 1].label != "related"
            # inside a run, only above two related links: in plain text no line is one, and a
            # short headline there cannot be told from a heading; nor, between single links, can
            # a time or a tag ("2 hours ago", "Sponsored")
            if run_starts or (heads and self._links_follow(i, 2)):
                blocks.append({"heading": None, "items": []})
                seen = set()
                if heads:
                    blocks[-1]["heading"] = line.text
                    continue
            key = normalise(line.text)
            if key in seen:
                continue
            seen.add(key)
            item = {"text": line.text}
            href = next((h for _, h in line.links if is_page_link(h)), None)
            if href is not None:
                item["url"] = _absolute(base, href)
            blocks[-1]["items"].append(item)
        return blocks

    def _links_follow(self, i: int, n: int) -> bool:
        after = self.lines[i + 1 : i + 1 + n]
        return len(after) == n and all(line.label == "related" and line.links for line in after)

    def to_record(self, lines: bool = True, related: bool = True, scores: bool = True) -> dict:
        """The JSONL output object of DESIGN.md; the flags drop optional parts.

        With explanations, every line object also has ``"explanation"``: a list of
        ``{"feature", "delta", "value", "reference"}`` (see :mod:`boilerdetect.explain`).
        A page cut to the size limits also gets ``"truncated"`` (after ``"error"``; absent otherwise).
        """
        record: dict = {"id": self.id, "url": self.url, "content": self.content}
        if lines:
            if scores:
                record["lines"] = [{"text": l.text, "label": l.label, "score": round(float(l.score), 4)} for l in self.lines]
            else:
                record["lines"] = [{"text": l.text, "label": l.label} for l in self.lines]
            if self.explanations is not None:
                for line, contributions in zip(record["lines"], self.explanations):
                    line["explanation"] = [c.to_dict() for c in contributions]
        if related:
            record["related_links"] = self.related_links if self.error is None else []
        record["error"] = self.error
        if self.truncated:
            record["truncated"] = self.truncated
        return record
