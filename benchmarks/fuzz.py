"""Fuzz the HTML segmenter, the readers and prediction for a bounded time; print executions and crashes.

    python benchmarks/fuzz.py [--seconds 60] [--targets segmenter,readers,warc,predict] [--seed 0]

Inputs are drawn with hypothesis strategies, in batches with fresh seeds until the time is up:
tag soup (real and made-up tags, broken attributes, entities, comments, deep and unclosed nesting),
arbitrary bytes under every file name and input format (optionally gzipped and cut), WARC/WET
archives with damaged headers, lengths and bodies, and whole records for ``predict_records`` with
the shipped model. Any exception is a crash (prediction must turn bad records into error results);
an input that takes more than ``--slow`` seconds is reported as slow. Exit code 1 when anything
crashed.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

os.environ.setdefault("OMP_NUM_THREADS", "1")

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from boilerdetect.features import featurize  # noqa: E402
from boilerdetect.html import segment_html  # noqa: E402
from boilerdetect.nesting import MAX_DEPTH, flatten  # noqa: E402
from boilerdetect.readers import INPUT_FORMATS, decode, page_from_record, read_records  # noqa: E402

TAGS = ["div", "p", "span", "a", "b", "i", "li", "ul", "ol", "table", "tr", "td", "th", "h1", "h2", "nav", "footer",
        "header", "aside", "article", "section", "main", "br", "hr", "img", "script", "style", "noscript", "template",
        "svg", "math", "iframe", "select", "option", "textarea", "pre", "form", "button", "html", "head", "body",
        "title", "meta", "frameset", "plaintext", "xmp", "x-custom", "font", "center", "marquee"]  # fmt: skip
ATTRS = ['', ' class="nav menu"', " hidden", ' aria-hidden="true"', ' style="display:none"', ' href="javascript:x"',
         ' href="/a?b&c"', ' id="main-content"', " class=", ' class="a', " =x", ' type="application/ld+json"']  # fmt: skip
TOKENS = st.one_of(
    st.builds(lambda t, a: f"<{t}{a}>", st.sampled_from(TAGS), st.sampled_from(ATTRS)),
    st.builds(lambda t: f"</{t}>", st.sampled_from(TAGS)),
    st.sampled_from(["<!--", "-->", "<!DOCTYPE html>", "<![CDATA[", "]]>", "&amp;", "&#0;", "&#x110000;", "&nbsp",
                     "&#128512;", "<", ">", "&", "\x00", "\r\n", "\ufeff", "\u202e", '{"articleBody": "', '"}']),  # fmt: skip
    st.text(max_size=20),
)


@st.composite
def tag_soup(draw) -> str:
    tokens = draw(st.lists(TOKENS, max_size=60))
    if draw(st.integers(0, 9)) == 0:  # now and then a deep or repeated structure
        tag = draw(st.sampled_from(TAGS))
        n = draw(st.integers(100, 5000))
        tokens.insert(draw(st.integers(0, len(tokens))), f"<{tag}>" * n + draw(st.text(max_size=10)))
    return "".join(tokens)


MUTATIONS = st.lists(st.tuples(
    st.sampled_from(["cut", "flip", "insert", "delete"]),
    st.floats(0, 1),  # where, as a share of the length: the archive bytes vary (dates, record ids)
    st.binary(max_size=8) | st.sampled_from([b"\r\n\r\n", b"Content-Length: 99999\r\n", b"WARC/1.0\r\n"]),
), max_size=4)  # fmt: skip


def damaged(data: bytes, mutations: list) -> bytes:
    """``data`` with byte-level mutations: cut, a flipped bit, inserted or deleted bytes."""
    data = bytearray(data)
    for op, where, payload in mutations:
        pos = min(int(where * len(data)), max(len(data) - 1, 0))
        if op == "cut":
            del data[pos:]
        elif op == "flip" and data:
            data[pos] ^= 1 << (len(payload) % 8)
        elif op == "insert":
            data[pos:pos] = payload
        else:
            del data[pos : pos + 1 + 7 * len(payload)]
    return bytes(data)


def _archive(pages: list[tuple[str, str]], gz: bool, kind: str) -> bytes:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=gz)
    for i, (ctype, body) in enumerate(pages):
        payload = io.BytesIO(body.encode("utf-8", "surrogatepass"))
        url = f"https://fuzz.example/{i}"
        if kind == "wet":
            rec = writer.create_warc_record(url, "conversion", payload=payload, warc_content_type="text/plain")
        else:
            headers = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
            rec = writer.create_warc_record(url, "response", payload=payload, http_headers=headers)
        writer.write_record(rec)
    return buf.getvalue()


CTYPES = st.sampled_from(["text/html", "text/html; charset=utf-8", "text/html; charset=base64", "text/html; charset=x-nope",
                          "text/html; charset=utf-16", "image/png", "", "text/html; charset="])  # fmt: skip
ARCHIVES = st.builds(lambda pages, gz, kind, mutations: damaged(_archive(pages, gz, kind), mutations),
                     st.lists(st.tuples(CTYPES, st.text(max_size=80) | tag_soup()), max_size=3),
                     st.booleans(), st.sampled_from(["warc", "wet"]), MUTATIONS)  # fmt: skip
NAMES = st.sampled_from(["x", "x.txt", "x.html", "x.jsonl", "x.warc", "x.wet.gz", "x.html.gz", "x.pdf"])


def _write(data: bytes, name: str, gz: bool) -> str:
    path = os.path.join(_TMP, name)
    with open(path, "wb") as fh:
        fh.write(gzip.compress(data) if gz else data)
    return path


def fuzz_segmenter(args) -> None:
    markup, max_lines = args
    page = page_from_record({"html": markup}, max_bytes=1_000_000, max_lines=max_lines, max_depth=MAX_DEPTH)
    featurize(page)
    segment_html(flatten(markup, max_depth=3, few_tags=0)[0])  # the flattening itself, on small documents


def fuzz_readers(args) -> None:
    data, name, fmt, gz, charset = args
    decode(data, charset)
    for record in read_records(_write(data, name, gz), fmt):
        if "_error" not in record and "_skipped" not in record:
            page_from_record(record)


def fuzz_warc(args) -> None:
    data, name = args
    for record in read_records(_write(data, name, False)):
        if "_error" not in record and "_skipped" not in record:
            page_from_record(record)


_DETECTOR = None


def fuzz_predict(records) -> None:
    global _DETECTOR
    if _DETECTOR is None:
        from boilerdetect import Detector

        _DETECTOR = Detector.load()
    results = _DETECTOR.predict_records(records)
    assert len(results) == len(records), "one result per record"
    for res in results:
        res.to_record()


RECORD_VALUES = st.none() | st.integers() | st.text(max_size=30) | st.lists(st.text(max_size=5), max_size=2)
TARGETS: dict[str, tuple[Callable, st.SearchStrategy]] = {
    "segmenter": (fuzz_segmenter, st.tuples(tag_soup(), st.none() | st.integers(1, 100))),  # 0 is refused by design
    "readers": (fuzz_readers, st.tuples(st.binary(max_size=2000) | tag_soup().map(lambda s: s.encode("utf-8", "surrogatepass")),
                                        NAMES, st.sampled_from(INPUT_FORMATS), st.booleans(),
                                        st.none() | st.sampled_from(["utf-8", "base64", "rot13", "undefined", "utf-16", "cp1252", "nope"]))),  # fmt: skip
    "warc": (fuzz_warc, st.tuples(ARCHIVES, st.sampled_from(["x.warc", "x.wet", "x"]))),
    "predict": (fuzz_predict, st.lists(st.one_of(
        st.fixed_dictionaries({"html": tag_soup()}, optional={"id": RECORD_VALUES, "url": RECORD_VALUES}),
        st.fixed_dictionaries({"text": st.text(max_size=300)}, optional={"id": RECORD_VALUES, "url": RECORD_VALUES}),
        st.dictionaries(st.sampled_from(["id", "url", "html", "text"]), RECORD_VALUES, max_size=3),
        RECORD_VALUES,
    ), max_size=5)),  # fmt: skip
}
_TMP = ""


@dataclass
class Stats:
    executions: int = 0
    crashes: dict = field(default_factory=dict)  # (exception type, innermost frame) -> (count, example, traceback)
    slow: list = field(default_factory=list)  # (seconds, example)


def run_target(name: str, seconds: float, first_seed: int, slow: float) -> Stats:
    target, strategy = TARGETS[name]
    stats = Stats()
    deadline = time.monotonic() + seconds

    def body(example) -> None:
        if time.monotonic() > deadline:
            return
        stats.executions += 1
        start = time.perf_counter()
        try:
            target(example)
        except Exception as exc:  # a crash: remember one example per place
            tb = traceback.extract_tb(exc.__traceback__)
            where = f"{tb[-1].filename}:{tb[-1].lineno}" if tb else "?"
            key = (type(exc).__name__, where)
            count, first, text = stats.crashes.get(key, (0, example, traceback.format_exc()))
            stats.crashes[key] = (count + 1, first, text)
        took = time.perf_counter() - start
        if took > slow:
            stats.slow.append((took, example))

    batch = 0
    while time.monotonic() < deadline:
        run = seed(first_seed + batch)(settings(max_examples=200, deadline=None, database=None, phases=[Phase.generate],
                                                suppress_health_check=list(HealthCheck))(given(strategy)(body)))  # fmt: skip
        run()
        batch += 1
    return stats


def _short(example, limit: int = 300) -> str:
    text = repr(example)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def main() -> int:
    global _TMP
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="total time budget, shared by the targets (default 60)")
    ap.add_argument("--targets", default=",".join(TARGETS), help=f"comma-separated, from {', '.join(TARGETS)}")
    ap.add_argument("--seed", type=int, default=0, help="first hypothesis seed (batches use seed, seed+1, ...)")
    ap.add_argument("--slow", type=float, default=5.0, help="report inputs that take longer than this many seconds")
    args = ap.parse_args()
    names = [n.strip() for n in args.targets.split(",") if n.strip()]
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        ap.error(f"unknown target(s): {', '.join(unknown)}")
    crashed = False
    with tempfile.TemporaryDirectory(prefix="boilerdetect-fuzz-") as tmp:
        _TMP = tmp
        for name in names:
            stats = run_target(name, args.seconds / len(names), args.seed, args.slow)
            n_crashes = sum(c for c, _, _ in stats.crashes.values())
            print(f"{name}: {stats.executions} executions, {n_crashes} crashes at {len(stats.crashes)} places, "
                  f"{len(stats.slow)} slow inputs", flush=True)  # fmt: skip
            for (kind, where), (count, example, text) in stats.crashes.items():
                crashed = True
                print(f"  CRASH {kind} at {where} ({count}x), e.g. {_short(example)}")
                print("    " + text.strip().splitlines()[-1])
            for took, example in sorted(stats.slow, key=lambda s: -s[0])[:3]:
                print(f"  slow ({took:.1f} s): {_short(example)}")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
