"""Site profiles: how many pages of a site contain each line, learned from unlabelled pages.

A line that recurs on most pages of a host (menu, footer, "Share this article", "12 comments")
is template, whatever it looks like. A :class:`SiteProfile` records, per host, the number of
pages seen and, per normalised line, the number of pages containing it. It stores 8-byte hashes
of the normalised lines, never their text, and is saved as a versioned ``.npz`` (no pickle).

The page a feature is computed for may itself be in the profile (a crawl profiled, then
predicted). Each profiled page leaves a fingerprint (a hash of its lines), and
:meth:`SiteProfile.lookup` takes the page's own contribution out when its fingerprint is there,
so a page is always compared with the *other* pages of its host, in training and in prediction.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from .atomic import atomic_file
from .document import Page

PROFILE_FORMAT = 1

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*(?:st|nd|rd|th|am|pm|[kmb])?\b")
_DATE_WORDS = re.compile(rf"(?<=0 ){_MONTH}|{_MONTH}(?= 0)")


def host_of(url: str | None) -> str:
    """The site a page belongs to: the URL's lower-cased host without ``www.``; ``""`` without URL.

    Pages without a URL (files on disk, stdin) all share the ``""`` host: a directory of saved
    pages is usually one site, and profiling it is then still possible.
    """
    try:
        host = urlsplit(url or "").hostname or ""
    except ValueError:  # e.g. an invalid IPv6 literal
        return ""
    return host.removeprefix("www.")


def normalise_line(text: str) -> str:
    """Lower-case, collapse whitespace, and turn numbers, dates, times and counters into ``0``.

    "3 comments" and "12 comments", "Sep 10, 2016" and "Oct 2, 2017" normalise alike.
    """
    out = _NUMBER.sub("0", " ".join(text.lower().split()))
    return _DATE_WORDS.sub("0", out)


def line_hash(text: str) -> int:
    """Stable 64-bit hash of the normalised line (blake2b, the same in every process)."""
    digest = hashlib.blake2b(normalise_line(text).encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def page_hashes(page: Page) -> list[int]:
    """:func:`line_hash` of every line of the page, in order."""
    return [line_hash(t) for t in page.texts]


def page_fingerprint(page: Page) -> int:
    """Stable 64-bit hash of the page's exact line texts: recognises a page already in a profile."""
    h = hashlib.blake2b(digest_size=8)
    for t in page.texts:
        h.update(t.encode("utf-8", "surrogatepass") + b"\n")
    return int.from_bytes(h.digest(), "little")


@dataclass
class HostStats:
    """One host: pages seen, pages containing each line hash, fingerprints of the pages seen."""

    pages: int = 0
    lines: Counter = field(default_factory=Counter)
    fingerprints: set = field(default_factory=set)


class SiteProfile:
    """Per host, the number of pages seen and the number of pages containing each normalised line."""

    def __init__(self) -> None:
        self.hosts: dict[str, HostStats] = {}

    @classmethod
    def from_pages(cls, pages: Iterable[Page]) -> "SiteProfile":
        profile = cls()
        for page in pages:
            profile.add(page)
        return profile

    def add(self, page: Page) -> None:
        """Count the page under its host; each distinct line once, however often it repeats."""
        if not isinstance(page, Page):
            raise TypeError(f"a profile counts Page objects (readers.page_from_record makes one from a record), not {type(page).__name__}")
        stats = self.hosts.setdefault(host_of(page.url), HostStats())
        stats.pages += 1
        stats.lines.update(set(page_hashes(page)))
        stats.fingerprints.add(page_fingerprint(page))

    def merge(self, other: "SiteProfile") -> "SiteProfile":
        """A new profile counting the pages of both (a page in both is counted twice)."""
        out = SiteProfile()
        for src in (self, other):
            for host, s in src.hosts.items():
                d = out.hosts.setdefault(host, HostStats())
                d.pages += s.pages
                d.lines.update(s.lines)
                d.fingerprints |= s.fingerprints
        return out

    def lookup(self, page: Page) -> tuple[np.ndarray, int]:
        """For each line of ``page``, the number of *other* profiled pages of its host containing it,
        and the number of other pages of the host; shapes (n_lines,) and scalar.
        """
        stats = self.hosts.get(host_of(page.url))
        if stats is None:
            return np.zeros(len(page.lines)), 0
        hashes = page_hashes(page)
        counts = np.array([stats.lines.get(h, 0) for h in hashes], dtype=float)
        if page_fingerprint(page) in stats.fingerprints:
            return np.maximum(counts - 1, 0), stats.pages - 1
        return counts, stats.pages

    def __len__(self) -> int:
        return sum(s.pages for s in self.hosts.values())

    def describe(self) -> str:
        distinct = sum(len(s.lines) for s in self.hosts.values())
        return f"{len(self.hosts)} host{'s' if len(self.hosts) != 1 else ''}, {len(self)} page{'s' if len(self) != 1 else ''}, {distinct} distinct line{'s' if distinct != 1 else ''}"

    # --- persistence: one .npz of flat arrays, hosts in sorted order -------------------------

    def save(self, path: str | os.PathLike) -> Path:
        """Write the profile atomically as a compressed ``.npz`` (hashes and counts, no text)."""
        hosts = sorted(self.hosts)
        stats = [self.hosts[h] for h in hosts]
        arrays = {
            "format": np.array([PROFILE_FORMAT]),
            "hosts": np.array(hosts, dtype=str),
            "pages": np.array([s.pages for s in stats], dtype=np.int64),
            "n_lines": np.array([len(s.lines) for s in stats], dtype=np.int64),
            "line_hashes": np.array([h for s in stats for h in s.lines], dtype=np.uint64),
            "line_pages": np.array([c for s in stats for c in s.lines.values()], dtype=np.int64),
            "n_fingerprints": np.array([len(s.fingerprints) for s in stats], dtype=np.int64),
            "fingerprints": np.array([f for s in stats for f in s.fingerprints], dtype=np.uint64),
        }
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as fh:
            np.savez_compressed(fh, **arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SiteProfile":
        """Read a profile written by :meth:`save`. Raises ValueError with a one-line reason."""
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        except FileNotFoundError:
            raise ValueError(f"profile file not found: {path}") from None
        except Exception as exc:  # not a zip, damaged member, object arrays...
            raise ValueError(f"{path}: not a site profile ({type(exc).__name__})") from None
        if data.get("format") is None or data["format"].tolist() != [PROFILE_FORMAT]:
            raise ValueError(f"{path}: not a site profile of format {PROFILE_FORMAT}; rebuild it with 'boilerdetect profile'")
        try:
            return cls._from_arrays(data)
        except (KeyError, IndexError, TypeError, ValueError):
            raise ValueError(f"{path}: damaged site profile") from None

    @classmethod
    def _from_arrays(cls, data: dict) -> "SiteProfile":
        profile = cls()
        line_end = np.cumsum(data["n_lines"])
        fp_end = np.cumsum(data["n_fingerprints"])
        for i, host in enumerate(data["hosts"].tolist()):
            lo, hi = line_end[i] - data["n_lines"][i], line_end[i]
            flo, fhi = fp_end[i] - data["n_fingerprints"][i], fp_end[i]
            profile.hosts[str(host)] = HostStats(
                int(data["pages"][i]),
                Counter(dict(zip(data["line_hashes"][lo:hi].tolist(), data["line_pages"][lo:hi].tolist()))),
                set(data["fingerprints"][flo:fhi].tolist()),
            )
        return profile
