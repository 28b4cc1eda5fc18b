"""Dirty input through the real CLI and the library: every input record gives exactly one sane output
record (or a one-line error for that record), the rest of the batch goes on, the summary adds up."""

import base64
import builtins
import codecs
import gzip
import io
import json
import os
import random

import pytest
from typer.testing import CliRunner
from warcio.warcwriter import WARCWriter

from boilerdetect import LABELS
from boilerdetect.cli import app
from boilerdetect.readers import MAX_PAGE_BYTES, MAX_PAGE_LINES, decode, page_from_record, read_records

from conftest import make_article, make_text_article

runner = CliRunner()


@pytest.fixture(scope="module")
def model(tiny_detector, tmp_path_factory):
    return str(tiny_detector.save(tmp_path_factory.mktemp("model") / "tiny.joblib"))


def predict_jsonl(model, *args, input=None):
    """Run ``boilerdetect predict -f jsonl``: (exit code, output records, stderr)."""
    res = runner.invoke(app, ["predict", *args, "-f", "jsonl", "--model", model, "--trust-model", "--quiet"], input=input)
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, [json.loads(line) for line in res.stdout.splitlines()], res.stderr


def summary(stderr: str) -> str:
    return stderr.strip().splitlines()[-1]


def assert_sane(rec: dict) -> None:
    """A well-formed output record: an error on one line, or labelled lines that make up the content."""
    if rec["error"] is not None:
        assert rec["content"] is None and "\n" not in rec["error"] and rec["error"].strip()
        return
    assert all(line["label"] in LABELS and 0.0 <= line["score"] <= 1.0 for line in rec["lines"])
    assert rec["content"] == "\n".join(line["text"] for line in rec["lines"] if line["label"] == "content")
    assert all(line["text"] and line["text"] == " ".join(line["text"].split()) for line in rec["lines"])


def gz_truncated(records: list[dict]) -> bytes:
    blob = gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode())
    return blob[: len(blob) * 3 // 4]


def warc_truncated() -> bytes:
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=False)
    for seed in range(2):
        payload = io.BytesIO(make_text_article(seed)[0].encode())
        writer.write_record(writer.create_warc_record(f"https://w.example/{seed}", "conversion", payload=payload,
                                                      warc_content_type="text/plain"))  # fmt: skip
    data = buf.getvalue()
    return data[: len(data) - 200]  # the second record loses its last 200 bytes


def test_catalogue_of_bad_inputs_in_one_batch(model, tmp_path):
    """One directory of damaged and odd inputs: one output record each, in order, errors on one line."""
    d = tmp_path / "in"
    d.mkdir()
    html, _, _ = make_article(1)
    text, _ = make_text_article(2)
    files = {
        "01-empty.txt": b"",
        "02-blank.html": b"  \n\t\n   \r\n",
        "03-blob.bin": random.Random(0).randbytes(4096),
        "04-latin1.txt": "Caf\xe9 cr\xe8me and na\xefve fa\xe7ade on the menu today.".encode("cp1252"),
        "05-mixed.txt": "Zürich – naïve ".encode() + b"\xe9t\xe9 " + "Straße".encode(),
        "06-bom16.txt": codecs.BOM_UTF16_LE + "Grüße aus Köln, sagte sie.".encode("utf-16-le"),
        "07-malformed.html": b"<html><body><div><p>Unclosed <b>bold <i>both<p>Next</div></span></table><li>item",
        "08-nul.txt": b"Null\x00 bytes inside\x00 a line of text.\nSecond line.",
        "09-rtl-cjk.txt": "مرحبا بالعالم، هذه جملة عربية.\n東京で新しい図書館が開館しました。\nשלום עולם".encode(),
        "10-cut.jsonl.gz": gz_truncated([{"id": f"g{i}", "text": make_text_article(i)[0]} for i in range(40)]),
        "11-cut.wet": warc_truncated(),
        "12-bad.jsonl": "\n".join([
            json.dumps({"id": "ok", "text": text}),
            "{not json",
            json.dumps({"id": "num", "text": 42}),
            json.dumps({"id": "lst", "html": ["<p>a</p>"]}),
            json.dumps({"id": 7, "url": 3, "text": "a"}),
            json.dumps({"id": "none"}),
            json.dumps(["a", "list"]),
            json.dumps({"id": "nul", "text": "A\u0000B line"}),
        ]).encode(),  # fmt: skip
        "13-report.pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n",
        "14-notes.xyz": b"Plain words in a file of unknown type.\nSecond line.",
        "15-page.html": html.encode(),
    }
    for name, data in files.items():
        (d / name).write_bytes(data)
    os.symlink(d / "missing-target.txt", d / "16-dangling.txt")  # unreadable: a link to nothing
    names = sorted([*files, "16-dangling.txt"])

    # one stream on stdout, and one output file per input file: the same records
    code, recs, stderr = predict_jsonl(model, str(d))
    out = tmp_path / "out"
    code_dir, _, stderr_dir = predict_jsonl(model, str(d), "-o", f"{out}/")
    assert (code_dir, summary(stderr_dir)) == (code, summary(stderr))
    outputs = {n: out / (n.removesuffix(".gz").removesuffix(".jsonl").removesuffix(".txt").removesuffix(".html")
                         .removesuffix(".wet") + ".jsonl") for n in names}  # fmt: skip
    by_file = {n: [json.loads(line) for line in outputs[n].read_text().splitlines()] for n in names}
    assert [rec for n in names for rec in by_file[n]] == recs
    for rec in recs:
        assert_sane(rec)

    def one(name):
        assert len(by_file[name]) == 1, by_file[name]
        return by_file[name][0]

    assert one("01-empty.txt") | {"id": None} == {"id": None, "url": None, "content": "", "lines": [], "related_links": [], "error": None}
    assert one("02-blank.html")["lines"] == [] and one("02-blank.html")["error"] is None
    assert one("03-blob.bin")["error"] == f"{d}/03-blob.bin: unknown file type (binary data)"
    assert one("04-latin1.txt")["lines"][0]["text"] == "Café crème and naïve façade on the menu today."
    assert one("05-mixed.txt")["lines"][0]["text"] == "Zürich – naïve été Straße"  # UTF-8 with cp1252 bytes
    assert one("06-bom16.txt")["lines"][0]["text"] == "Grüße aus Köln, sagte sie."
    assert [l["text"] for l in one("07-malformed.html")["lines"]] == ["Unclosed bold both", "Next", "item"]
    assert [l["text"] for l in one("08-nul.txt")["lines"]] == ["Null bytes inside a line of text.", "Second line."]
    assert [l["text"] for l in one("09-rtl-cjk.txt")["lines"]] == files["09-rtl-cjk.txt"].decode().split("\n")
    cut = by_file["10-cut.jsonl.gz"]
    assert [r["id"] for r in cut[:-1]] == [f"g{i}" for i in range(len(cut) - 1)] and len(cut) > 5
    assert cut[-1]["id"].endswith("10-cut.jsonl.gz") and "damaged gzip data" in cut[-1]["error"]
    wet = by_file["11-cut.wet"]
    assert len(wet) == 2 and wet[0]["error"] is None and wet[0]["url"] == "https://w.example/0"
    assert "truncated" in wet[1]["error"] and wet[1]["url"] == "https://w.example/1"
    bad = by_file["12-bad.jsonl"]
    assert [r["id"] for r in bad] == ["ok", None, "num", "lst", "7", "none", None, "nul"]
    assert [r["error"] for r in bad] == [
        None, f"{d}/12-bad.jsonl:2: not valid JSON", f"{d}/12-bad.jsonl:3: 'text' must be a string", f"{d}/12-bad.jsonl:4: 'html' must be a string",
        f"{d}/12-bad.jsonl:5: 'url' must be a string", f"{d}/12-bad.jsonl:6: record has neither 'html' nor 'text'", f"{d}/12-bad.jsonl:7: not a JSON object", None,
    ]  # fmt: skip
    assert bad[-1]["lines"][0]["text"] == "AB line"
    assert one("13-report.pdf")["error"] == f"{d}/13-report.pdf: unknown file type (PDF document)"
    assert [l["text"] for l in one("14-notes.xyz")["lines"]] == ["Plain words in a file of unknown type.", "Second line."]
    assert one("15-page.html")["error"] is None and one("15-page.html")["content"]
    assert one("16-dangling.txt")["error"] == f"{d}/16-dangling.txt: No such file or directory"

    failed = sum(r["error"] is not None for r in recs)
    assert failed == 11
    assert summary(stderr) == f"pages read {len(recs)}, written {len(recs)}, failed {failed}, skipped 0"
    assert code == 1


def test_output_records_match_input_records_with_text_format(model, tmp_path):
    """With --format text a failed record is reported on stderr, one line each, and the rest is printed."""
    (tmp_path / "a.txt").write_text("A first page with a sentence in it.")
    (tmp_path / "b.bin").write_bytes(b"\x00\x01\x02\x03")
    (tmp_path / "c.txt").write_text("Another page, also with a sentence.")
    res = runner.invoke(app, ["predict", str(tmp_path), "--model", model, "--trust-model", "--quiet"])
    assert res.exit_code == 1
    errors = [l for l in res.stderr.splitlines() if l.startswith("error:")]
    assert errors == [f"error: {tmp_path}/b.bin: unknown file type (binary data)"]
    assert summary(res.stderr) == "pages read 3, written 2, failed 1, skipped 0"


@pytest.mark.parametrize("how", ["chmod", "simulated"])
def test_unreadable_file_in_a_directory(model, tmp_path, monkeypatch, how):
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.txt").write_text("Readable page with a sentence.")
    locked = d / "b.txt"
    locked.write_text("Secret page.")
    (d / "c.txt").write_text("Another readable page.")
    locked.chmod(0)
    try:
        if how == "chmod" and os.access(locked, os.R_OK):
            pytest.skip("running as root: a chmod 000 file is still readable")
        if how == "simulated":  # what a non-root user meets, for runs as root
            import boilerdetect.readers as readers

            def denied(path, *args, **kwargs):
                if os.fspath(path) == str(locked):
                    raise PermissionError(13, "Permission denied", str(path))
                return builtins.open(path, *args, **kwargs)

            monkeypatch.setattr(readers, "open", denied, raising=False)
        code, recs, stderr = predict_jsonl(model, str(d))
    finally:
        locked.chmod(0o644)
    assert [r["error"] for r in recs] == [None, f"{locked}: Permission denied", None]
    assert recs[2]["lines"][0]["text"] == "Another readable page."
    assert summary(stderr) == "pages read 3, written 3, failed 1, skipped 0" and code == 1


def test_unlistable_directory_is_an_error_record(model, tmp_path, monkeypatch):
    """A subdirectory that cannot be listed is reported, not silently skipped."""
    (tmp_path / "a.txt").write_text("A page.")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.txt").write_text("Hidden page.")
    real_scandir, real_listdir = os.scandir, os.listdir

    def refuse(fn):
        def wrapped(path="."):
            if os.fspath(path).endswith("sub"):
                raise PermissionError(13, "Permission denied", os.fspath(path))
            return fn(path)

        return wrapped

    monkeypatch.setattr(os, "scandir", refuse(real_scandir))
    monkeypatch.setattr(os, "listdir", refuse(real_listdir))
    code, recs, stderr = predict_jsonl(model, str(tmp_path))
    assert [r["error"] for r in recs] == [None, f"{tmp_path}/sub: Permission denied"]
    assert code == 1


def test_decoding_charsets():
    """BOM, then the HTTP charset, then <meta>, then UTF-8, then cp1252 for legacy pages."""
    assert decode(codecs.BOM_UTF8 + "ß".encode()) == "ß"
    assert decode(codecs.BOM_UTF16_BE + "日本".encode("utf-16-be")) == "日本"
    assert decode("Ελλάδα".encode("iso-8859-7"), declared="iso-8859-7") == "Ελλάδα"
    assert decode(b"<meta charset=koi8-r><p>" + "Привет".encode("koi8-r")).endswith("Привет")
    assert decode("Привет".encode(), declared="no-such-charset") == "Привет"  # unknown charset: ignored
    assert decode("Grüße".encode(), declared="ascii") == "Grüße"  # wrong declaration: falls through to UTF-8
    assert decode(b"caf\xe9 na\xefve") == "café naïve"  # not UTF-8: legacy 8-bit text
    assert decode(b"\xe9\xe8\xff \x81") == "éèÿ \ufffd"  # undefined in cp1252 too: U+FFFD


def test_50_mb_page_is_cut_to_the_byte_limit(model, tmp_path):
    para = "<p>The council approved the new budget after a long debate, said <a href='/x'>officials</a>.</p>\n"
    page = "<html><body>" + para * (50_000_000 // len(para)) + "</body></html>"
    (tmp_path / "big.html").write_text(page)
    (tmp_path / "small.txt").write_text("A small page after the big one.")
    # the default byte limit applies; a low line limit keeps the test quick (lines are tested below)
    code, recs, stderr = predict_jsonl(model, str(tmp_path / "big.html"), str(tmp_path / "small.txt"), "--max-page-lines", "300")
    assert code == 0 and len(recs) == 2
    assert recs[0]["truncated"] == {"page_bytes": len(page), "kept_bytes": MAX_PAGE_BYTES, "kept_lines": 300}
    assert len(recs[0]["lines"]) == 300 and recs[0]["error"] is None
    assert "truncated" not in recs[1] and recs[1]["lines"][0]["text"] == "A small page after the big one."


def test_100_000_line_page_is_cut_to_the_line_limit(model, tmp_path):
    lines = [f"Line number {i} of a very long crawled page." for i in range(100_000)]
    (tmp_path / "long.txt").write_text("\n".join(lines))
    code, recs, _ = predict_jsonl(model, str(tmp_path / "long.txt"))
    assert code == 0 and recs[0]["truncated"] == {"kept_lines": MAX_PAGE_LINES}
    assert [l["text"] for l in recs[0]["lines"]] == lines[:MAX_PAGE_LINES]
    code, recs, _ = predict_jsonl(model, str(tmp_path / "long.txt"), "--max-page-lines", "0", "--max-page-bytes", "1000")
    assert recs[0]["truncated"] == {"page_bytes": len("\n".join(lines)), "kept_bytes": 1000}  # 0: no line limit


def test_limits_cut_at_character_boundaries():
    page = page_from_record({"text": "é" * 10 + "\n" + "ab"}, max_bytes=5)
    assert page.texts == ["éé"] and page.truncated == {"page_bytes": 23, "kept_bytes": 4}
    page = page_from_record({"html": "<p>日本</p>" * 4}, max_bytes=20, max_lines=1)
    assert page.texts == ["日本"] and page.truncated == {"page_bytes": 52, "kept_bytes": 19, "kept_lines": 1}
    page = page_from_record({"html": "<p>a</p><p>b</p>"}, max_lines=2)
    assert page.texts == ["a", "b"] and page.truncated == {}  # exactly at the limit: whole


def test_single_5_mb_lines(model, tmp_path):
    """Minified HTML on one 5 MB line, and a text page that is one 5 MB line of data."""
    html, _, _ = make_article(3)
    body = html.replace("</body>", "")
    minified = body + "<div><p>Filler paragraph of the minified page.</p></div>" * (5_000_000 // 55) + "</body></html>"
    assert "\n" not in minified
    (tmp_path / "min.html").write_text(minified)
    blob = base64.b64encode(random.Random(1).randbytes(3_750_000)).decode()  # 5,000,000 characters
    (tmp_path / "line.txt").write_text("Intro sentence of the page.\n" + blob + "\nLast line.")
    code, recs, _ = predict_jsonl(model, str(tmp_path / "min.html"), str(tmp_path / "line.txt"), "--max-page-lines", "2000")
    assert code == 0 and len(recs) == 2
    assert recs[0]["truncated"] == {"kept_lines": 2000} and recs[0]["lines"][0]["text"]
    assert [len(l["text"]) for l in recs[1]["lines"]] == [27, 5_000_000, 10] and "truncated" not in recs[1]


def test_deeply_nested_html(model, tmp_path):
    depth = 10_000
    page = "<div>" * depth + "<p>Deep text at the bottom.</p>" + "</div>" * depth + "<p>After.</p>"
    (tmp_path / "deep.html").write_text(page)
    code, recs, _ = predict_jsonl(model, str(tmp_path / "deep.html"))
    assert code == 0 and [l["text"] for l in recs[0]["lines"]] == ["Deep text at the bottom.", "After."]
    unclosed = "<div><span><b>" * (depth // 3) + "Unclosed deep text."
    (tmp_path / "unclosed.html").write_text(unclosed)
    code, recs, _ = predict_jsonl(model, str(tmp_path / "unclosed.html"))
    assert code == 0 and [l["text"] for l in recs[0]["lines"]] == ["Unclosed deep text."]


def test_stdin_binary_and_empty(model):
    code, recs, stderr = predict_jsonl(model, "-", input=b"\x00\x01\x02\x03\x04 binary")
    assert code == 1 and recs[0]["error"] == "<stdin>: unknown file type (binary data)"
    code, recs, stderr = predict_jsonl(model, "-", input=b"")
    assert code == 0 and recs[0]["lines"] == [] and recs[0]["error"] is None


def test_library_predict_reports_truncation(tiny_detector):
    import boilerdetect.model as model

    res = tiny_detector.predict(text="\n".join(f"line {i}" for i in range(50)), max_page_lines=10)
    assert len(res.lines) == 10 and res.truncated == {"kept_lines": 10}
    assert res.to_record()["truncated"] == {"kept_lines": 10}
    whole = tiny_detector.predict(text="one line")
    assert whole.truncated is None and "truncated" not in whole.to_record()
    res = list(tiny_detector.predict_many([{"html": "<p>x</p>" * 30}, {"text": "y"}], max_page_lines=5))
    assert res[0].truncated == {"kept_lines": 5} and res[1].truncated is None
    # worker processes (-j N) get the limits with every batch
    model._init_worker(tiny_detector, None)
    res = model._unpack(model._worker_predict([{"text": "a\nb\nc"}], 0, (None, 2)))
    assert res[0].truncated == {"kept_lines": 2}


def test_reader_streams_records_before_damage(tmp_path):
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(gz_truncated([{"id": str(i), "text": "x" * 1000} for i in range(200)]))
    records = list(read_records(str(path)))
    assert all("_error" not in r for r in records[:-1]) and len(records) > 100
    assert [r["id"] for r in records[:-1]] == [str(i) for i in range(len(records) - 1)]
    assert "damaged gzip data" in records[-1]["_error"]


def test_charsets_that_are_no_text_encoding(model, tmp_path):
    """Found by benchmarks/fuzz.py: a declared charset naming a non-text codec (base64, rot13) or the
    'undefined' codec raised out of decoding, stopping a file or the rest of a WARC archive."""
    from warcio.statusandheaders import StatusAndHeaders

    (tmp_path / "a.html").write_bytes(b'<meta charset="base64"><p>Caf\xc3\xa9 page one.</p>')
    (tmp_path / "b.html").write_bytes(b'<meta charset="undefined"><p>Page two.</p>')
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=False)
    for i, charset in enumerate(["rot13", "utf-8"]):
        headers = StatusAndHeaders("200 OK", [("Content-Type", f"text/html; charset={charset}")], protocol="HTTP/1.1")
        body = io.BytesIO(f"<p>Archived page {i}, d\u00e9j\u00e0 vu.</p>".encode())
        writer.write_record(writer.create_warc_record(f"https://w.example/{i}", "response", payload=body, http_headers=headers))
    (tmp_path / "c.warc").write_bytes(buf.getvalue())
    code, recs, stderr = predict_jsonl(model, str(tmp_path))
    assert code == 0 and summary(stderr) == "pages read 4, written 4, failed 0, skipped 0"
    assert [r["lines"][0]["text"] for r in recs] == [
        "Café page one.", "Page two.", "Archived page 0, déjà vu.", "Archived page 1, déjà vu."
    ]
    assert decode(b"\xe9", declared="rot13") == "é" and decode(b"<meta charset=utf-16><p>\xc3\xa9").endswith("é")


def test_very_deep_nesting_is_flattened_not_slow(model, tmp_path):
    """Found while timing the catalogue: the HTML parse is quadratic in the nesting depth (40,000
    nested divs, 200 KB, took ~20 s; a megabyte of them, hours). Nesting past 512 levels is
    flattened before parsing, as browsers do, and every word is kept."""
    import time

    page = "<div><p>Top paragraph.</p>" + "<div>" * 200_000 + "Deep text &amp; more." + "</div>" * 200_001 + "<p>After.</p>"
    (tmp_path / "deep.html").write_text(page)
    start = time.perf_counter()
    code, recs, _ = predict_jsonl(model, str(tmp_path / "deep.html"))
    assert time.perf_counter() - start < 30  # unflattened: hours
    assert code == 0 and [l["text"] for l in recs[0]["lines"]] == ["Top paragraph.", "Deep text & more.", "After."]
    assert recs[0]["truncated"] == {"kept_depth": 512}


def test_flatten_leaves_ordinary_pages_alone():
    from boilerdetect.nesting import flatten

    listing = "<html><body><ul>" + '<li><a href="/x">Item</a> <span class="n">1</span><br>' * 3000 + "</ul></body></html>"
    assert listing.count("<") > 10_000 and flatten(listing) == (listing, False)
    nested = "<div>" * 600 + "<p>x</p>" + "</div>" * 600 + "<p>" * 10_000
    flat, changed = flatten(nested)
    assert changed and flat.count("<div>") == 512 and flat.count("</div>") == 512 and "<p>x</p>" in flat
