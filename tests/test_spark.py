"""The detector on Spark DataFrames, in local mode (``local[2]``: two Python worker processes)."""

from __future__ import annotations

import gzip
import http.server
import io
import os
import shutil
import subprocess
import sys
import threading

import pytest

pytest.importorskip("pyspark", reason="pyspark is not installed (pip install -e '.[spark]')")
pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install -e '.[spark]')")
pytest.importorskip("pandas", reason="pandas is not installed (pip install -e '.[spark]')")

from conftest import make_article, make_text_article  # noqa: E402

from boilerdetect import spark as bspark  # noqa: E402


def _java_works() -> bool:
    java = shutil.which("java", path=os.path.join(os.environ["JAVA_HOME"], "bin")) if "JAVA_HOME" in os.environ else None
    java = java or shutil.which("java")
    if java is None:
        return False
    return subprocess.run([java, "-version"], capture_output=True, timeout=60, check=False).returncode == 0


@pytest.fixture(scope="module")
def spark():
    if not _java_works():
        pytest.skip("no working Java runtime (Spark needs Java 17+)")
    from pyspark.sql import SparkSession

    before = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers must see this environment
    session = (
        SparkSession.builder.master("local[2]")
        .appName("boilerdetect-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "16")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    if before is None:
        del os.environ["PYSPARK_PYTHON"]
    else:
        os.environ["PYSPARK_PYTHON"] = before


@pytest.fixture(scope="module")
def model_file(tiny_detector, tmp_path_factory):
    # a model made here is not the shipped one: opt in, as a user does for their own model files
    trust = pytest.MonkeyPatch()
    trust.setenv("BOILERDETECT_TRUST_MODEL", "1")
    yield tiny_detector.save(tmp_path_factory.mktemp("model") / "tiny.joblib")
    trust.undo()


def expected(detector, records):
    """What the library gives for the same records, as Spark rows would carry it."""
    out = []
    for res in detector.predict_records(records):
        rec = res.to_record()
        out.append({"content": rec["content"], "labels": [line.label for line in res.lines],
                    "related_links": rec["related_links"], "error": rec["error"]})  # fmt: skip
    return out


def as_dicts(rows):
    """Spark rows → plain dicts; a related item without url comes back with url None: drop it."""
    out = []
    for row in rows:
        blocks = [
            {"heading": b["heading"], "items": [{k: v for k, v in i.asDict().items() if v is not None} for i in b["items"]]}
            for b in row["related_links"]
        ]
        out.append({"content": row["content"], "labels": list(row["labels"]), "related_links": blocks,
                    "error": row["error"]})  # fmt: skip
    return out


def test_html_column_with_urls_matches_the_library(spark, model_file, tiny_detector):
    rows = [(f"p{i}", f"https://site{i}.example/a/{i}", make_article(100 + i)[0]) for i in range(12)]
    df = spark.createDataFrame(rows, "pid string, page_url string, html string").repartition(3)
    out = bspark.detect(df, "html", url_column="page_url", model=model_file).collect()
    by_id = {row["pid"]: row for row in out}
    assert sorted(by_id) == sorted(r[0] for r in rows)
    records = [{"url": url, "html": html} for _, url, html in rows]
    assert as_dicts(by_id[pid] for pid, _, _ in rows) == expected(tiny_detector, records)
    # related links are resolved against each row's URL
    urls = [i["url"] for row in out for b in row["related_links"] for i in b["items"] if i["url"]]
    assert urls and all(u.startswith("https://site") and "/news/" in u for u in urls)
    assert all(row["error"] is None and row["content"] for row in out)


def test_text_column_and_per_row_source(spark, model_file, tiny_detector):
    texts = [make_text_article(200 + i)[0] for i in range(4)]
    html = make_article(300)[0]
    rows = [("t0", "text", texts[0]), ("h0", "html", html), ("t1", "text", texts[1])]
    df = spark.createDataFrame(rows, "id string, kind string, body string")
    out = bspark.detect(df, "body", source_column="kind", model=model_file, lines=True).collect()
    assert [row["id"] for row in out] == ["t0", "h0", "t1"]
    records = [{"text": texts[0]}, {"html": html}, {"text": texts[1]}]
    assert as_dicts(out) == expected(tiny_detector, records)
    assert [line["label"] for line in out[0]["lines"]] == list(out[0]["labels"])
    assert out[0]["lines"][0]["text"] == "Home" and 0 <= out[0]["lines"][0]["score"] <= 1
    # the whole column as text
    plain = bspark.detect(df.where("kind = 'text'"), "body", source="text", model=model_file).collect()
    assert as_dicts(plain) == expected(tiny_detector, [records[0], records[2]])


def test_bad_rows_fail_alone_and_order_is_kept(spark, model_file):
    html = make_article(400)[0]
    rows = [(i, "html", html) for i in range(20)]
    rows[3] = (3, "html", None)
    rows[7] = (7, "pdf", html)
    rows[11] = (11, "html", "<p>\x00\ufffd</p>" * 3)  # nothing but a NUL and a replacement character
    rows[15] = (15, "html", "")
    df = spark.createDataFrame(rows, "n long, kind string, page string").coalesce(1)
    out = bspark.detect(df, "page", source_column="kind", batch_size=5, model=model_file).collect()
    assert [row["n"] for row in out] == list(range(20))  # one row per input row, in order
    errors = {row["n"]: row["error"] for row in out if row["error"] is not None}
    assert set(errors) >= {3, 7}
    assert "'page' is null" in errors[3] and "'pdf'" in errors[7]
    for n in errors:
        assert out[n]["content"] is None and list(out[n]["labels"]) == [] and list(out[n]["related_links"]) == []
    good = [row for row in out if row["n"] not in (3, 7, 11, 15)]
    assert len(good) == 16 and all(row["error"] is None and row["content"] for row in good)


def test_model_is_loaded_once_per_worker_process(spark, model_file):
    import pyarrow as pa

    rows = [(i, make_article(i)[0]) for i in range(24)]
    df = spark.createDataFrame(rows, "n long, html string").repartition(8)
    shipped = bspark.ShippedModel(spark, model_file)
    for _ in range(2):  # two jobs of 8 tasks each, on the same (reused) Python workers
        assert bspark.detect(df, model=shipped).where("error is null").count() == 24

    def loads(batches):  # runs in the same pool of Arrow workers as detect
        from boilerdetect import spark as module

        for _ in batches:
            yield pa.RecordBatch.from_pydict({"pid": [os.getpid()], "loads": [module.MODEL_LOADS]})

    seen = {(row["pid"], row["loads"]) for row in df.mapInArrow(loads, "pid long, loads long").collect()}
    assert 1 <= len(seen) <= 2, seen  # local[2]: at most two worker processes
    assert all(count == 1 for _, count in seen), seen  # 16 tasks, one load per process


def test_wrong_arguments_are_refused(spark, model_file, tmp_path):
    df = spark.createDataFrame([(1, "x")], "n long, html string")
    with pytest.raises(ValueError, match="no column 'page'"):
        bspark.detect(df, "page", model=model_file)
    with pytest.raises(ValueError, match="must be a string column"):
        bspark.detect(df, "n", model=model_file)
    with pytest.raises(ValueError, match="source must be"):
        bspark.detect(df, source="pdf", model=model_file)
    with pytest.raises(bspark.ModelError, match="not found"):
        bspark.detect(df, model=tmp_path / "missing.joblib")


# --- WARC files --------------------------------------------------------------------------------------


def write_warc(path, pages):
    """A gzipped WARC with a warcinfo record, then a request + response per (url, html)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "tests"}))
        for url, html in pages:
            req = StatusAndHeaders("GET / HTTP/1.1", [("Host", "example.org")], is_http_request=True)
            writer.write_record(writer.create_warc_record(url, "request", http_headers=req))
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(html.encode()),
                                                          http_headers=headers))  # fmt: skip
    return path


@pytest.fixture
def local_http(tmp_path):
    """Serve ``tmp_path`` on a loopback port: yields the base URL."""
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path))  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(5)


def test_warc_files_to_clean_pages(spark, model_file, tmp_path, local_http):
    pages_a = [(f"https://a.example/{i}", make_article(500 + i)[0]) for i in range(3)]
    pages_b = [(f"https://b.example/{i}", make_article(600 + i)[0]) for i in range(2)]
    write_warc(tmp_path / "a.warc.gz", pages_a)
    good_b = write_warc(tmp_path / "b.warc.gz", pages_b).read_bytes()
    (tmp_path / "cut.warc.gz").write_bytes(good_b[: len(good_b) - 200])  # damaged at the end
    paths = [str(tmp_path / "a.warc.gz"), f"{local_http}/b.warc.gz", str(tmp_path / "cut.warc.gz"),
             f"{local_http}/missing.warc.gz"]  # fmt: skip
    records = bspark.warc_records(spark, paths)
    out = bspark.detect(records, "body", source_column="source", url_column="url", error_column="error",
                        model=model_file).collect()  # fmt: skip
    assert [(r["path"], r["url"]) for r in out[:5]] == [(paths[0], u) for u, _ in pages_a] + [
        (paths[1], u) for u, _ in pages_b
    ]
    assert all(r["error"] is None and r["content"] and r["id"].startswith("<urn:uuid:") for r in out[:5])
    items = [i["url"] for r in out[:5] for b in r["related_links"] for i in b["items"] if i["url"]]
    assert items and all(u.startswith(("https://a.example/news/", "https://b.example/news/")) for u in items)
    cut = [r for r in out if r["path"] == paths[2]]
    assert [r["error"] is None for r in cut] == [True, False]  # the page before the damage, then the damage
    assert cut[1]["error"].startswith(paths[2]) and cut[1]["content"] is None
    missing = [r for r in out if r["path"] == paths[3]]
    assert len(missing) == 1 and "cannot fetch" in missing[0]["error"] and "404" in missing[0]["error"]


def test_read_paths_file(tmp_path):
    listing = "crawl-data/CC-MAIN-2024-10/segments/1/warc/x.warc.gz\n\n/local/y.warc.gz\ns3://bucket/z.warc.gz\n"
    (tmp_path / "warc.paths.gz").write_bytes(gzip.compress(listing.encode()))
    assert bspark.read_paths(tmp_path / "warc.paths.gz", "https://data.commoncrawl.org/") == [
        "https://data.commoncrawl.org/crawl-data/CC-MAIN-2024-10/segments/1/warc/x.warc.gz",
        "/local/y.warc.gz",
        "s3://bucket/z.warc.gz",
    ]


def test_command_line_run(tmp_path, model_file, spark):
    """The spark-submit entry point, run as ``python -m`` in local mode, end to end."""
    warc = write_warc(tmp_path / "in.warc.gz", [(f"https://c.example/{i}", make_article(700 + i)[0]) for i in range(3)])
    (tmp_path / "warc.paths").write_text("in.warc.gz\nnothing-here.warc.gz\n")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "boilerdetect.spark", "--paths-file", str(tmp_path / "warc.paths"),
           "--prefix", f"{tmp_path}/", "--model", str(model_file), "-o", str(out)]  # fmt: skip
    env = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1", PYSPARK_SUBMIT_ARGS="--master local[1] --conf spark.ui.enabled=false pyspark-shell")
    run = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=240, env=env)
    assert run.returncode == 1, run.stderr[-3000:]  # the missing file is a failed record
    assert "2 files: 4 pages written" in run.stderr and "1 failed" in run.stderr
    import json

    lines = [json.loads(line) for f in sorted(out.glob("part-*.json")) for line in f.read_text().splitlines()]
    assert [r["url"] for r in lines[:3]] == [f"https://c.example/{i}" for i in range(3)]
    assert set(lines[0]) == {"path", "id", "url", "content", "labels", "related_links", "error"}
    assert lines[0]["error"] is None and lines[0]["content"]
    assert lines[3]["content"] is None and "nothing-here" in lines[3]["error"]
    again = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=240, env=env)
    assert again.returncode == 2 and "already exists" in again.stderr
    assert warc.is_file()


def test_cli_checks_the_model_before_starting_spark(tiny_detector, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    monkeypatch.delenv("BOILERDETECT_TRUST_MODEL", raising=False)
    path = str(tiny_detector.save(tmp_path / "own.joblib"))

    def session(name):
        raise RuntimeError("Spark started")

    monkeypatch.setattr(bspark, "_session", session)
    args = ["x.warc.gz", "-o", str(tmp_path / "out"), "--model", path]
    res = CliRunner().invoke(bspark._cli(), args)
    assert res.exit_code == 2 and "--trust-model" in res.output and res.output.count("\n") <= 2, res.output
    res = CliRunner().invoke(bspark._cli(), [*args[:-2], "--model", str(tmp_path / "nope.joblib")])
    assert res.exit_code == 2 and "model file not found" in res.output
    for opt in (["--trust-model"], ["--model-sha256", tiny_detector.card["sha256"]]):  # accepted: Spark would start
        res = CliRunner().invoke(bspark._cli(), [*args, *opt])
        assert str(res.exception) == "Spark started", res.output
