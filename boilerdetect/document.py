"""The one data model every stage shares: a :class:`Page` is a sequence of :class:`Line`.

Readers build pages, the segmenter fills the markup facts of HTML lines, features read them,
the detector returns the same lines with ``label`` and ``score`` set.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

LABELS = ("content", "related", "boilerplate")
SOURCES = ("html", "text")  # the kinds of page (Page.source); each has its own model


@dataclass
class Line:
    """One line of a page.

    Markup facts are filled only for lines segmented from HTML; for plain text they keep
    their defaults and ``Page.source`` is ``"text"``.
    """

    text: str
    tag: str = ""  # enclosing block tag ("p", "li", "h2", ...)
    link_chars: int = 0  # characters of the line that sit inside <a>
    n_links: int = 0
    links: tuple = ()  # ((anchor text, href), ...) in document order
    depth: int = 0  # DOM depth of the block
    ancestors: tuple = ()  # ids of the enclosing elements, outermost first
    ancestor_tags: frozenset = frozenset()  # tag names of all enclosing elements
    attr_tokens: frozenset = frozenset()  # lower-cased class/id tokens of all enclosing elements
    hidden: bool = False  # inside an element marked hidden / aria-hidden / display:none
    label: str | None = None  # one of LABELS once predicted or aligned
    score: float | None = None  # probability of "content"

    def with_prediction(self, label: str, score: float) -> "Line":
        # a shallow copy of the fields: dataclasses.replace re-runs __init__ and copy.copy goes
        # through the pickle protocol, both costing ms per page on the hot path
        line = object.__new__(type(self))
        line.__dict__.update(self.__dict__, label=label, score=score)
        return line


@dataclass
class Page:
    """A page: its lines in reading order plus what is known about where it came from.

    ``source`` is ``"html"`` when the lines were segmented from markup, ``"text"`` otherwise.
    ``meta`` carries page-level hints from HTML (``title``, ``og_title``, ``article_body``, ``base``).
    ``truncated`` says how a page over the size limits was cut: ``{"page_bytes", "kept_bytes"}``
    when its text or markup was cut to its first bytes, ``{"kept_lines"}`` when only its first
    lines were kept, ``{"kept_depth"}`` when HTML nested deeper was flattened; empty for a whole page.
    """

    lines: list[Line]
    source: str = "text"
    url: str | None = None
    id: str | None = None
    meta: dict = field(default_factory=dict)
    truncated: dict = field(default_factory=dict)

    @property
    def texts(self) -> list[str]:
        return [line.text for line in self.lines]


_PROCESS_OWNED = False  # set by own_process(): the caller vouches for every thread of the process


def own_process(owned: bool = True) -> None:
    """Say that this process's other threads make no garbage cycles, so that
    :func:`cycle_collector_paused` may pause while they run.

    For a program that owns its process, such as the command line, whose other threads are only
    progress bars' and worker pools' bookkeeping. Not set, the collector is paused only while the
    calling thread is the process's only thread.
    """
    global _PROCESS_OWNED
    _PROCESS_OWNED = owned


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the block (restored after, unless it was off).

    Pages and lines, and the features and results made of them, hold no reference cycles (checked
    in the tests), so reference counting frees them all. The collector would only re-scan the
    live heap every few hundred allocations, and a batch allocates a few hundred thousand objects
    (lines, tuples, frozensets): that scanning took 15-25 % of the time of a prediction.

    Nor are they scanned once the collector is back on: the young objects still alive then (the
    results, mostly) are moved to the oldest generation, which a full collection alone scans. Their
    first scan would find nothing and took 7 % of an HTML page's time. So that no garbage of the
    caller's is held back by the move, the young generations are collected before the pause. (Not
    done when objects are frozen, by ``gc.freeze``: the move would thaw them.)

    The collector is the whole process's: while another thread runs, pausing it would hold back
    that thread's garbage cycles (for as long as predictions overlap, from several threads), and
    the move would carry them into the oldest generation. So the block runs with the collector as
    it is unless the calling thread is the only one, or :func:`own_process` was called.
    """
    if not _PROCESS_OWNED and threading.active_count() > 1:
        yield
        return
    enabled = gc.isenabled()
    if enabled:
        gc.collect(1)
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if gc.get_freeze_count() == 0:
                gc.freeze()  # all tracked objects to the permanent generation...
                gc.unfreeze()  # ...and back into the oldest (both just splice lists)
            gc.enable()
