import gzip
import json
import os

import pytest

from boilerdetect.readers import InputError, decode, detect_format, expand_inputs, page_from_record, read_records, text_page


def test_detect_format():
    assert detect_format("a/b.HTML.gz") == "html"
    assert detect_format("x.jsonl") == "jsonl"
    assert detect_format("x.wet.gz") == "warc"
    assert detect_format("x.pdf") is None


def test_decode_charsets():
    assert decode("héllo".encode("utf-8-sig")) == "héllo"
    assert decode('<meta charset="iso-8859-1"><p>caf\xe9'.encode("latin-1")).endswith("café")
    # a page labelled Latin-1 is read as windows-1252, as browsers read it: quotes, dashes, euro
    assert decode(b'<meta charset="iso-8859-1"><p>\x93wait\x85\x94 \x80 5 \x96').endswith("\u201cwait\u2026\u201d \u20ac 5 \u2013")
    assert decode(b"\x93quoted\x94", "latin1") == "\u201cquoted\u201d"
    assert decode(b"caf\xe9 \x81\x9d", "latin1") == "café \x81\x9d"  # the bytes cp1252 leaves undefined, as browsers read them
    assert decode("naïve".encode("cp1252")) == "naïve"  # invalid UTF-8 falls back
    assert decode(b"a\x00b") == "ab"


def test_text_page_drops_blank_lines():
    page = page_from_record({"text": "one\n\n   \n two  words \n", "id": 7})
    assert page.texts == ["one", "two words"] and page.id == "7" and page.source == "text"


def test_text_lines_end_at_newlines_only():
    # crawled text is newline-separated: other breaks str.splitlines knows are whitespace inside a line
    text = "First part\u2028second part\nSecond line\x0cafter a form feed\x85end\r\nThird\rFourth\x1c\x1d\x1e\x0b"
    assert text_page(text).texts == ["First part second part", "Second line after a form feed end", "Third", "Fourth"]


@pytest.mark.parametrize(
    "record, message",
    [({"html": 5}, "'html' must be a string"), ({"id": "x"}, "neither"), ({"text": "a", "url": 3}, "'url'")],
)
def test_bad_records_raise_value_error(record, message):
    with pytest.raises(ValueError, match=message):
        page_from_record(record)


def test_read_files_gz_jsonl_and_directories(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("hello")
    with gzip.open(tmp_path / "d" / "b.html.gz", "wt") as fh:
        fh.write("<p>hi</p>")
    (tmp_path / "c.jsonl").write_text(json.dumps({"id": "1", "text": "x"}) + "\nnot json\n[1]\n")
    for hidden in (tmp_path / "d" / ".notes.txt", tmp_path / "d" / ".git" / "HEAD"):  # left out of walks
        hidden.parent.mkdir(exist_ok=True)
        hidden.write_text("ref: refs/heads/main")
    paths = expand_inputs([str(tmp_path / "d"), str(tmp_path / "c.jsonl")])
    assert [os.path.basename(p) for p in paths] == ["a.txt", "b.html.gz", "c.jsonl"]
    records = [r for p in paths for r in read_records(p)]
    assert records[0]["text"] == "hello" and records[1]["html"] == "<p>hi</p>"
    assert records[2] == {"id": "1", "text": "x"}
    assert "not valid JSON" in records[3]["_error"] and "c.jsonl:2" in records[3]["_error"]
    assert "not a JSON object" in records[4]["_error"]
    assert [type(r).__name__ for r in records] == ["dict", "dict", "dict", "ErrorRecord", "ErrorRecord"]  # marked by type
    with pytest.raises(InputError, match="no such file"):
        expand_inputs([str(tmp_path / "missing.txt")])
    with pytest.raises(InputError, match="read only once"):
        expand_inputs(["-", str(tmp_path / "c.jsonl"), "-"])


def test_walks_leave_out_files_whose_names_say_they_are_no_pages(tmp_path):
    site = tmp_path / "mirror"
    for name in ("index.html", "about.htm.gz", "notes", "feed.xml", "app.js", "style.css.gz", "logo.PNG", "font.woff2", "index.html~", "a.pdf"):
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text("x")
    skipped = []
    paths = expand_inputs([str(site), str(site / "app.js")], skipped)  # a file named on its own is always read
    assert [os.path.basename(p) for p in paths] == ["a.pdf", "about.htm.gz", "feed.xml", "index.html", "notes", "app.js"]
    assert sorted(os.path.basename(p) for p in skipped) == ["app.js", "font.woff2", "index.html~", "logo.PNG", "style.css.gz"]


def test_truncated_gzip_and_binary_are_error_records(tmp_path):
    blob = gzip.compress(b"<p>" + b"x" * 5000 + b"</p>")
    (tmp_path / "t.html.gz").write_bytes(blob[: len(blob) // 2])
    (tmp_path / "bin.dat").write_bytes(b"\x00\x01\x02binary\x00")
    assert "gzip" in next(read_records(str(tmp_path / "t.html.gz")))["_error"]
    assert "unknown file type" in next(read_records(str(tmp_path / "bin.dat")))["_error"]
    # a name that says page does not make binary data one
    (tmp_path / "report.html").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj")
    (tmp_path / "photo.txt.gz").write_bytes(gzip.compress(b"\xff\xd8\xff\xe0\x00\x10JFIF"))
    assert next(read_records(str(tmp_path / "report.html")))["_error"].endswith("report.html: not a page (PDF document)")
    assert next(read_records(str(tmp_path / "photo.txt.gz")))["_error"].endswith("not a page (JPEG image)")
    assert next(read_records(str(tmp_path / "photo.txt.gz"), "html"))["_error"].endswith("not a page (JPEG image)")
    # no signature, but mostly control bytes (an executable, compressed data); stray NULs are not that
    (tmp_path / "ls.txt").write_bytes(b"\x7fELF\x02\x01\x01" + bytes(1000))
    (tmp_path / "blob.txt").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "nul.txt").write_bytes(b"A page with one stray\x00 NUL byte in its text, still a page.\n" * 3)
    assert next(read_records(str(tmp_path / "ls.txt")))["_error"].endswith("not a page (executable)")
    assert next(read_records(str(tmp_path / "blob.txt")))["_error"].endswith("not a page (binary data)")
    assert "text" in next(read_records(str(tmp_path / "nul.txt")))
    # nor is UTF-16 text without a BOM (every other byte a NUL)
    (tmp_path / "wide.html").write_bytes("<p>A page saved as UTF-16 without a byte-order mark.</p>".encode("utf-16-le"))
    assert next(read_records(str(tmp_path / "wide.html")))["html"] == "<p>A page saved as UTF-16 without a byte-order mark.</p>"


def test_wcxb_layout_is_read_without_leaking_files(tmp_path):
    """A training directory in the WCXB layout: pages, gold text, page type and domain, every file closed."""
    import gc
    import warnings

    from boilerdetect.datasets import wcxb_pages

    (tmp_path / "html").mkdir()
    (tmp_path / "ground-truth").mkdir()
    with gzip.open(tmp_path / "html" / "0001.html.gz", "wb") as fh:
        fh.write(b"<html><body><p>Main text of the page.</p></body></html>")
    truth = {"url": "https://news.example/a", "ground_truth": {"main_content": "Main text of the page."}}
    (tmp_path / "ground-truth" / "0001.json").write_text(json.dumps(truth))
    (tmp_path / "metadata.json").write_text(json.dumps({"files": {"0001": {"page_type": "article", "domain": "news.example"}}}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pages = list(wcxb_pages(str(tmp_path)))
        gc.collect()
    assert [w.message for w in caught if issubclass(w.category, ResourceWarning)] == []
    record, gold, domain, page_type = pages[0]
    assert (record["id"], record["url"], gold, domain, page_type) == ("0001", "https://news.example/a", "Main text of the page.", "news.example", "article")


@pytest.mark.parametrize("record, message", [
    ({"lines": ["a", "b"], "labels": "content"}, "'lines' and 'labels' must be lists of the same length"),
    ({"url": 5, "lines": ["a"], "labels": ["content"]}, "'url' must be a string"),
    ({"id": [1], "text": "a", "main_content": "a"}, "'id' must be a string or a number"),
    ({"text": "a", "main_content": ["a"]}, "'main_content' must be a string"),
])
def test_training_records_of_the_wrong_shape_say_where(tmp_path, record, message):
    from boilerdetect.datasets import load_examples

    (tmp_path / "d.jsonl").write_text(json.dumps({"lines": ["ok"], "labels": ["content"]}) + "\n" + json.dumps(record) + "\n")
    with pytest.raises(InputError, match=f"d.jsonl:2: {message}"):
        load_examples([str(tmp_path / "d.jsonl")])


def test_damaged_training_files_are_one_line_errors_and_legacy_bytes_are_read(tmp_path):
    import gzip

    from boilerdetect.datasets import load_examples

    (tmp_path / "fake.jsonl.gz").write_text("not gzip")
    (tmp_path / "cut.jsonl.gz").write_bytes(gzip.compress(b'{"lines": ["a"], "labels": ["content"]}\n' * 50)[:40])
    for name, message in (("fake.jsonl.gz", "Not a gzipped file"), ("cut.jsonl.gz", "ended before")):
        with pytest.raises(InputError, match=f"{name}: cannot read .*{message}"):
            load_examples([str(tmp_path / name)])
    (tmp_path / "page.html").write_text("<p>A page, not labelled data.</p>")
    with pytest.raises(InputError, match="page.html: a page, not labelled data"):
        load_examples([str(tmp_path / "page.html")])
    (tmp_path / "latin.jsonl").write_bytes(b'{"lines": ["caf\xe9 au lait"], "labels": ["content"]}\n')
    assert load_examples([str(tmp_path / "latin.jsonl")])[0].page.texts == ["café au lait"]
    wcxb = tmp_path / "w"
    (wcxb / "html").mkdir(parents=True)
    (wcxb / "html" / "0001.html.gz").write_text("junk")
    with pytest.raises(InputError, match="0001.html.gz: cannot read"):
        load_examples([str(wcxb)])
    (wcxb / "metadata.json").write_text("{bad")
    with pytest.raises(InputError, match="metadata.json: not a WCXB metadata file"):
        load_examples([str(wcxb)])


def test_an_error_record_keeps_its_reason_through_the_usual_dict_idioms():
    from boilerdetect.readers import ErrorRecord

    record = ErrorRecord(id="x", _error="in.jsonl:2: not valid JSON")
    for variant in (record | {"batch": 1}, {"batch": 1} | record, record.copy(), dict(record), {**record}):
        with pytest.raises(ValueError, match="in.jsonl:2: not valid JSON"):
            page_from_record(variant)
    assert type(record | {"batch": 1}) is ErrorRecord and page_from_record({"text": "a", "_error": "x"}).texts == ["a"]


def test_a_jsonl_record_with_a_legacy_byte_is_read_not_lost(tmp_path):
    (tmp_path / "in.jsonl").write_bytes(b'{"id": "a", "text": "caf\xe9 au lait"}\n')
    assert list(read_records(str(tmp_path / "in.jsonl"))) == [{"id": "a", "text": "café au lait"}]


def test_a_wcxb_directory_with_a_bad_ground_truth_file_says_which(tmp_path):
    from boilerdetect.datasets import load_examples

    (tmp_path / "html").mkdir()
    (tmp_path / "ground-truth").mkdir()
    (tmp_path / "html" / "0001.html").write_text("<p>Some page text.</p>")
    with pytest.raises(InputError, match="0001.json: No such file"):
        load_examples([str(tmp_path)])
    for bad, message in (("{not json", "Expecting"), ("[1]", "not a WCXB ground-truth object"), ('{"ground_truth": {"main_content": 5}}', "not a string")):
        (tmp_path / "ground-truth" / "0001.json").write_text(bad)
        with pytest.raises(InputError, match=message):
            load_examples([str(tmp_path)])
