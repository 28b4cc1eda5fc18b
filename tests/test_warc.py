"""WARC / WET input: record types, charsets, ids and urls, skipped records, truncated files."""

import io
import json

import pytest
from typer.testing import CliRunner
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from boilerdetect.cli import app
from boilerdetect.readers import ErrorRecord, SkippedRecord, read_records
from boilerdetect.warc import warc_records

from conftest import make_article, make_text_article

runner = CliRunner()

LATIN1_PAGE = "<html><body><h1>Caf\xe9 cr\xe8me</h1><p>Na\xefve fa\xe7ade, d\xe9j\xe0 vu.</p></body></html>"
META_PAGE = '<html><head><meta charset="iso-8859-1"></head><body><p>Gar\xe7on, \xe0 bient\xf4t.</p></body></html>'


def _response(writer, url, body: bytes, content_type="text/html", status="200 OK"):
    headers = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
    return writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers)


def write_warc(path, gz: bool) -> list[str]:
    """A small crawl: warcinfo, request + response pairs, a metadata record, an image, a redirect.

    Returns the WARC-Record-IDs of the page records, in order.
    """
    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=gz)
    w.write_record(w.create_warcinfo_record(path.name, {"software": "test"}))
    ids = []
    pages = [
        ("https://news.example/a/1", make_article(1)[0].encode("utf-8"), "text/html; charset=utf-8"),
        ("https://news.example/latin", LATIN1_PAGE.encode("latin-1"), "text/html; charset=ISO-8859-1"),
        ("https://news.example/meta", META_PAGE.encode("latin-1"), "text/html"),
    ]
    for url, body, ctype in pages:
        req = w.create_warc_record(url, "request", payload=io.BytesIO(b""),
                                   http_headers=StatusAndHeaders("GET / HTTP/1.1", [("Host", "news.example")], is_http_request=True))
        w.write_record(req)
        rec = _response(w, url, body, ctype)
        ids.append(rec.rec_headers.get_header("WARC-Record-ID"))
        w.write_record(rec)
    w.write_record(w.create_warc_record("https://news.example/a/1", "metadata", payload=io.BytesIO(b"fetchTimeMs: 12\r\n"),
                                        warc_content_type="application/warc-fields"))
    w.write_record(_response(w, "https://news.example/logo.png", b"\x89PNG\r\n", "image/png"))
    w.write_record(_response(w, "https://news.example/old", b"<html>moved</html>", "text/html", status="301 Moved Permanently"))
    path.write_bytes(buf.getvalue())
    return ids


def write_wet(path, gz: bool, n: int = 3) -> list[str]:
    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=gz)
    w.write_record(w.create_warcinfo_record(path.name, {"software": "test"}))
    ids = []
    for seed in range(n):
        text = make_text_article(seed)[0] + "\nZ\u00fcrich \u2013 na\u00efve"
        rec = w.create_warc_record(f"https://text.example/{seed}", "conversion", payload=io.BytesIO(text.encode("utf-8")),
                                   warc_content_type="text/plain")
        ids.append(rec.rec_headers.get_header("WARC-Record-ID"))
        w.write_record(rec)
    path.write_bytes(buf.getvalue())
    return ids


@pytest.mark.parametrize("gz", [False, True])
def test_warc_responses_become_html_records(tmp_path, gz):
    path = tmp_path / ("crawl.warc.gz" if gz else "crawl.warc")
    ids = write_warc(path, gz)
    records = list(read_records(str(path)))
    pages = [r for r in records if "_skipped" not in r]
    skipped = [r["_skipped"] for r in records if "_skipped" in r]
    assert [r["id"] for r in pages] == ids
    assert [r["url"] for r in pages] == ["https://news.example/a/1", "https://news.example/latin", "https://news.example/meta"]
    assert all("html" in r and "_error" not in r for r in pages)
    assert "Café crème" in pages[1]["html"] and "déjà vu" in pages[1]["html"]  # charset from the HTTP header
    assert "Garçon, à bientôt" in pages[2]["html"]  # charset only in <meta>
    assert len(skipped) == 7  # warcinfo, 3 requests, metadata, image, redirect
    assert sum("request" in s for s in skipped) == 3
    assert any("image/png" in s for s in skipped) and any("301" in s for s in skipped)
    assert any("warcinfo" in s for s in skipped) and any("metadata" in s for s in skipped)


@pytest.mark.parametrize("gz", [False, True])
def test_wet_conversions_become_text_records(tmp_path, gz):
    path = tmp_path / ("crawl.warc.wet.gz" if gz else "crawl.wet")
    ids = write_wet(path, gz)
    records = [r for r in read_records(str(path)) if "_skipped" not in r]
    assert [r["id"] for r in records] == ids
    assert records[0]["url"] == "https://text.example/0"
    assert records[0]["text"].endswith("Zürich – naïve") and "html" not in records[0]


def test_sniffed_without_extension_and_bytes_api(tmp_path):
    path = tmp_path / "crawl.warc.gz"
    write_warc(path, True)
    (tmp_path / "noext").write_bytes(path.read_bytes())  # gzip and WARC recognised from the bytes
    assert sum("html" in r for r in read_records(str(tmp_path / "noext"))) == 3
    assert sum("html" in r for r in warc_records(path.read_bytes(), "x")) == 3


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_warc_keeps_earlier_records_then_one_error(tmp_path, gz):
    full = tmp_path / ("full.warc.gz" if gz else "full.warc")
    ids = write_warc(full, gz)
    data = full.read_bytes()
    # cut inside the third (last) HTML page: the two before it survive, then one error record
    marker = "Gar\xe7on".encode("latin-1")
    if gz:  # members: warcinfo, then request + response per page; cut the third response's member in half
        starts = [i for i in range(len(data)) if data.startswith(b"\x1f\x8b\x08", i)]
        cut = (starts[6] + starts[7]) // 2
    else:
        cut = data.index(marker) + 3
    path = tmp_path / ("cut.warc.gz" if gz else "cut.warc")
    path.write_bytes(data[:cut])
    records = [r for r in read_records(str(path)) if not isinstance(r, SkippedRecord)]
    errors = [r for r in records if isinstance(r, ErrorRecord)]
    assert len(errors) == 1 and records[-1] is errors[0]
    assert "cut.warc" in errors[0]["_error"]
    good = [r for r in records if "html" in r]
    assert [r["id"] for r in good] == ids[:2]
    assert all("</html>" in r["html"] for r in good)  # no half page passed on as a page


def test_every_cut_point_is_complete_or_flagged(tmp_path):
    """Cutting an uncompressed WARC anywhere gives whole records only, plus an error unless the cut is between records."""
    full = tmp_path / "full.warc"
    write_wet(full, False, n=2)
    data = full.read_bytes()
    boundaries = set(range(len(data) - 4, len(data) + 1))
    start = 0
    while (i := data.find(b"WARC/1.", start + 1)) != -1:
        boundaries.update(range(i - 4, i + 1))  # the record separator \r\n\r\n and the next record's start
        start = i
    path = tmp_path / "cut.warc"
    for cut in range(0, len(data), 11):
        path.write_bytes(data[:cut])
        records = list(read_records(str(path)))
        errors = [r for r in records if "_error" in r]
        texts = [r for r in records if "text" in r]
        assert all(r["text"].endswith("naïve") for r in texts), cut
        assert len(errors) <= 1 and (not errors or records[-1] is errors[0]), cut
        if cut not in boundaries and cut > 0:
            assert errors, cut


def test_a_response_labelled_html_that_holds_binary_data_is_skipped():
    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=False)
    w.write_record(_response(w, "https://s.example/report", b"%PDF-1.4\n%\xe2\xe3\n1 0 obj <<>>", "text/html"))
    w.write_record(_response(w, "https://s.example/page", make_article(2)[0].encode(), "text/html"))
    w.write_record(_response(w, "https://s.example/blob", bytes(range(256)) * 20, "text/html"))  # no signature
    w.write_record(_response(w, "https://s.example/nul", make_article(3)[0].encode().replace(b"<p>", b"<p>\x00", 2), "text/html"))
    w.write_record(_response(w, "https://s.example/ru", "<p>Привет, мир, это страница.</p>".encode("utf-16-le"), "text/html; charset=UTF-16LE"))
    records = list(warc_records(buf.getvalue(), "crawl.warc"))
    assert type(records[0]) is SkippedRecord and records[0] == {"_skipped": "response labelled text/html holding PDF document"}
    assert records[1]["url"] == "https://s.example/page" and "html" in records[1]
    assert type(records[2]) is SkippedRecord and records[2] == {"_skipped": "response labelled text/html holding binary data"}
    assert records[3]["url"] == "https://s.example/nul" and "html" in records[3]  # a page with stray NULs is a page
    assert records[4]["html"] == "<p>Привет, мир, это страница.</p>"  # declared UTF-16: its bytes are anything


def test_cli_counts_skipped_and_passes_ids(tiny_detector, tmp_path):
    model = str(tiny_detector.save(tmp_path / "m.joblib"))
    warc, wet = tmp_path / "crawl.warc.gz", tmp_path / "crawl.wet"
    ids = write_warc(warc, True) + write_wet(wet, False)
    out = tmp_path / "out.jsonl"
    res = runner.invoke(app, ["predict", str(warc), str(wet), "-f", "jsonl", "-o", str(out), "--model", model, "--trust-model", "--quiet"])
    assert res.exit_code == 0, res.output
    assert "pages read 6, written 6, failed 0, skipped 8" in res.stderr  # 7 in the WARC + the WET warcinfo
    recs = [json.loads(l) for l in out.read_text().splitlines()]
    assert [r["id"] for r in recs] == ids
    assert recs[0]["url"] == "https://news.example/a/1" and recs[0]["error"] is None
    assert "Café crème" in [l["text"] for l in recs[1]["lines"]]
    assert recs[3]["url"] == "https://text.example/0" and recs[3]["lines"]


def test_cli_truncated_warc_exit_1(tiny_detector, tmp_path):
    model = str(tiny_detector.save(tmp_path / "m.joblib"))
    full = tmp_path / "full.wet.gz"
    ids = write_wet(full, True, n=4)
    data = full.read_bytes()
    (tmp_path / "cut.wet.gz").write_bytes(data[: len(data) - 40])
    res = runner.invoke(app, ["predict", str(tmp_path / "cut.wet.gz"), "-f", "jsonl", "--model", model, "--trust-model", "--quiet"])
    assert res.exit_code == 1
    recs = [json.loads(l) for l in res.stdout.splitlines()]
    assert [r["id"] for r in recs[:-1]] == ids[: len(recs) - 1] and len(recs) >= 2
    assert recs[-1]["content"] is None and "gzip" in recs[-1]["error"]
    assert f"pages read {len(recs)}, written {len(recs)}, failed 1, skipped 1" in res.stderr
