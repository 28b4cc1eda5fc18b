"""The HTTP service, tested through a real server on a loopback port with a real HTTP client.

Most tests talk to ``boilerdetect serve`` started as a subprocess with the shipped model (or the
one named by ``BOILERDETECT_TEST_MODEL``). The overload tests (503/504) need predictions of a
known duration, so they run the same app with a stand-in detector under uvicorn in a background
thread — still a real server and real HTTP.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import ClassVar

import pytest

httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")
pytest.importorskip("fastapi")

from boilerdetect import LABELS, Detector, Result  # noqa: E402
from boilerdetect.model import DEFAULT_MODEL  # noqa: E402
from boilerdetect.service import Settings, create_app  # noqa: E402

HOST = "127.0.0.1"
LIMIT_MB = 1
MODEL = Path(os.environ.get("BOILERDETECT_TEST_MODEL") or DEFAULT_MODEL)  # the shipped model unless overridden

HTML = """<html><head><title>Rivers</title></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/about">About</a></nav>
<article><h1>Rivers of the north</h1>
<p>The northern rivers freeze for four months of the year, and the towns along them
depend on the ice roads that open in January.</p>
<p>Fishing communities move their huts onto the ice as soon as it is thick enough.</p></article>
<aside><h3>Related</h3><ul><li><a href="/lakes">Lakes of the south</a></li>
<li><a href="/ice">How ice roads are built</a></li></ul></aside>
<footer>Copyright 2024 Example News. All rights reserved.</footer>
</body></html>"""
TEXT = "Home | News | About\nRivers of the north\nThe northern rivers freeze for four months.\nCopyright 2024"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_healthy(base: str, proc: subprocess.Popen | None = None, log: Path | None = None, limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{log.read_text() if log else ''}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"server not healthy after {limit} s:\n{log.read_text() if log else ''}")


# --- the real server with the real model -----------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not MODEL.is_file():
        pytest.skip(f"model missing: {MODEL}")
    port = free_port()
    log = tmp_path_factory.mktemp("service") / "server.log"
    cmd = [sys.executable, "-m", "boilerdetect.cli", "serve", "--host", HOST, "--port", str(port),
           "--model", str(MODEL), "--max-body-mb", str(LIMIT_MB), "--timeout", "20"]  # fmt: skip
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://{HOST}:{port}"
    try:
        wait_healthy(base, proc, log)
        probe = httpx.post(f"{base}/v1/predict", json={"text": "probe"}, timeout=20)
        if probe.status_code == 500:  # e.g. a model trained with other features than the code has now
            pytest.fail(f"{MODEL} cannot predict with this code: {probe.json()['error']}")
        yield base, log
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server[0], timeout=20) as c:
        yield c


@pytest.fixture(scope="module")
def detector():
    return Detector.load(MODEL)


def expected(detector, records, **options):
    """What the library itself answers (one OpenMP thread, as the server does, to stay fast on a busy machine)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="openmp"):
        return [r.to_record(**options) for r in detector.predict_records(records)]


def check_contract(out: dict, lines: bool = True, scores: bool = True, related: bool = True) -> None:
    assert {"id", "url", "content", "error"} <= out.keys()
    assert ("lines" in out) == lines and ("related_links" in out) == related
    if lines:
        for line in out["lines"]:
            assert isinstance(line["text"], str) and line["text"]
            assert line["label"] in LABELS
            assert ("score" in line) == scores
            if scores:
                assert 0.0 <= line["score"] <= 1.0
    if related:
        assert isinstance(out["related_links"], list)


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert client.head("/healthz").status_code == 200  # probes that only ask whether it answers


def test_model_card(client, detector):
    r = client.get("/v1/model")
    assert r.status_code == 200
    assert r.json() == json.loads(json.dumps(detector.card))


def test_openapi_and_docs(client):
    spec = client.get("/openapi.json").json()
    assert {"/v1/predict", "/v1/model", "/healthz"} <= spec["paths"].keys()
    assert "requestBody" in spec["paths"]["/v1/predict"]["post"]
    assert client.get("/docs").status_code == 200


def test_single_text(client, detector):
    record = {"id": "t1", "url": "https://example.org/a", "text": TEXT}
    r = client.post("/v1/predict", json=record)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    out = r.json()
    check_contract(out)
    assert out["id"] == "t1" and out["url"] == "https://example.org/a" and out["error"] is None
    assert [line["text"] for line in out["lines"]] == TEXT.split("\n")
    assert isinstance(out["content"], str)
    assert out == expected(detector, [record])[0]


def test_single_html(client, detector):
    record = {"id": 7, "url": "https://example.org/news/rivers", "html": HTML}
    out = client.post("/v1/predict", json=record).json()
    check_contract(out)
    assert out["id"] == "7" and out["error"] is None
    texts = [line["text"] for line in out["lines"]]
    assert "Fishing communities move their huts onto the ice as soon as it is thick enough." in texts
    assert not any("<" in t for t in texts)
    assert out == expected(detector, [record])[0]


def test_batch_keeps_order(client, detector):
    records = [{"id": f"r{i}", "text": f"page {i} first line\npage {i} second line"} for i in range(6)]
    records.insert(3, {"id": "h", "html": HTML})
    r = client.post("/v1/predict", json={"records": records})
    assert r.status_code == 200
    results = r.json()["results"]
    assert [o["id"] for o in results] == [rec["id"] for rec in records]
    for rec, out in zip(records, results, strict=True):
        check_contract(out)
        if "text" in rec:
            assert [line["text"] for line in out["lines"]] == rec["text"].split("\n")
    assert results == expected(detector, records)


def test_batch_bad_records_fail_alone(client):
    records = [
        {"id": "ok1", "text": "a fine page\nwith two lines"},
        {"id": "bad-html", "html": 5},
        {"id": "empty"},
        "not an object",
        {"id": "bad-url", "url": 5, "text": "x"},
        {"id": "ok2", "html": HTML},
    ]
    r = client.post("/v1/predict", json={"records": records})
    assert r.status_code == 200
    results = r.json()["results"]
    assert len(results) == len(records)
    good = [results[0], results[5]]
    bad = results[1:5]
    for out in good:
        assert out["error"] is None and isinstance(out["content"], str) and out["lines"]
    for out in bad:
        assert out["content"] is None and isinstance(out["error"], str) and out["error"]
    assert [o["id"] for o in results] == ["ok1", "bad-html", "empty", None, "bad-url", "ok2"]
    assert "html" in results[1]["error"]


def test_lone_surrogates_do_not_break_the_response(client):
    r = client.post("/v1/predict", content=b'{"id": "\\ud800", "text": "caf\\u00e9 \\udfff"}')
    assert r.status_code == 200
    out = r.json()
    assert out["id"] == "\ud800" and out["lines"][0]["text"] == "caf\u00e9 \ufffd"


def test_empty_batch(client):
    r = client.post("/v1/predict", json={"records": []})
    assert r.status_code == 200 and r.json() == {"results": []}


def test_single_bad_record_is_422_with_error_object(client):
    r = client.post("/v1/predict", json={"id": "x", "html": 5})
    assert r.status_code == 422
    out = r.json()
    assert out["id"] == "x" and out["content"] is None and "html" in out["error"]


@pytest.mark.parametrize("body", [b'{"records": [', b"", b"\xff\xfe{not json", b'{"text": "a"} trailing'])
def test_malformed_json_is_400(client, body):
    r = client.post("/v1/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"].startswith("malformed JSON")


@pytest.mark.parametrize(
    "payload, words",
    [([{"text": "a"}], "JSON object"), ("text", "JSON object"), (5, "JSON object"),
     ({"records": "abc"}, "'records'"), ({"records": {"text": "a"}}, "'records'")],
)  # fmt: skip
def test_wrong_shape_is_422(client, payload, words):
    r = client.post("/v1/predict", json=payload)
    assert r.status_code == 422
    assert words in r.json()["error"]


def test_body_over_limit_is_413(client):
    big = {"text": "x" * (LIMIT_MB * 1024 * 1024 + 10)}
    r = client.post("/v1/predict", json=big)
    assert r.status_code == 413
    assert "limit" in r.json()["error"]
    # just under the limit is accepted
    r = client.post("/v1/predict", json={"text": "word " * (LIMIT_MB * 1024 * 1024 // 6)}, params={"lines": "false"})
    assert r.status_code == 200


def test_streamed_body_over_limit_is_413(client):
    chunk = b'{"text": "' + b"y" * 65536

    def body():  # chunked transfer: no Content-Length, the server must count what it reads
        yield chunk
        for _ in range(LIMIT_MB * 16 + 4):
            yield b"y" * 65536
        yield b'"}'

    r = client.post("/v1/predict", content=body(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert "limit" in r.json()["error"]
    assert client.get("/healthz").status_code == 200  # the server is still fine


def test_query_options(client, detector):
    record = {"id": "q", "html": HTML}
    no_lines = client.post("/v1/predict", json=record, params={"lines": "false"}).json()
    check_contract(no_lines, lines=False)
    no_scores = client.post("/v1/predict", json=record, params={"scores": "false"}).json()
    check_contract(no_scores, scores=False)
    assert no_scores["lines"]
    no_related = client.post("/v1/predict", json={"records": [record]}, params={"related": "0"}).json()["results"][0]
    check_contract(no_related, related=False)
    assert no_related == expected(detector, [record], related=False)[0]
    bad = client.post("/v1/predict", json=record, params={"lines": "maybe"})
    assert bad.status_code == 422 and "lines" in bad.json()["error"]


def test_unknown_path_and_method_are_json(client):
    r = client.get("/v1/nothing")
    assert r.status_code == 404 and "error" in r.json()
    r = client.get("/v1/predict")
    assert r.status_code == 405 and "error" in r.json()


def test_one_log_line_per_request(client, server):
    client.post("/v1/predict", json={"records": [{"text": "a"}, {"text": "b"}, {"text": "c"}]}, params={"scores": "0"})
    client.post("/v1/predict", content=b"{", headers={"content-type": "application/json"})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        log = server[1].read_text()
        if "POST /v1/predict 200" in log and "records=3" in log and "POST /v1/predict 400" in log:
            break
        time.sleep(0.05)
    lines = [line for line in log.splitlines() if "POST /v1/predict" in line]
    assert any(" 200 " in line and "records=3" in line and "ms" in line for line in lines), log
    assert any(" 400 " in line for line in lines), log


def test_cli_serve_refuses_missing_model(tmp_path):
    from typer.testing import CliRunner

    from boilerdetect.cli import app

    result = CliRunner().invoke(app, ["serve", "--model", str(tmp_path / "nope.joblib"), "--port", "0"])
    assert result.exit_code == 2
    assert "model file not found" in result.output


def test_cli_serve_takes_its_settings_from_the_environment_unless_given(monkeypatch):
    from typer.testing import CliRunner

    import boilerdetect.service as service
    from boilerdetect.cli import app

    started = []
    monkeypatch.setattr(service, "serve", lambda settings, **kw: started.append(settings))
    env = {"BOILERDETECT_MAX_BODY_MB": "20", "BOILERDETECT_TIMEOUT": "5", "BOILERDETECT_MAX_QUEUE": "3"}
    assert CliRunner().invoke(app, ["serve", "--port", "0"], env=env).exit_code == 0  # port 0: any free one
    assert CliRunner().invoke(app, ["serve", "--port", "0", "--timeout", "7"], env=env).exit_code == 0
    assert [(s.max_body_mb, s.timeout, s.max_queue, s.max_concurrency) for s in started] == [(20.0, 5.0, 3, 2), (20.0, 7.0, 3, 2)]
    result = CliRunner().invoke(app, ["serve", "--port", "0"], env={"BOILERDETECT_TIMEOUT": "0"})
    assert result.exit_code == 2 and "must be positive" in result.output


def test_cli_serve_says_when_it_cannot_listen_before_loading_the_model(monkeypatch):
    from typer.testing import CliRunner

    import boilerdetect.cli as cli
    from boilerdetect.cli import app

    monkeypatch.setattr(cli, "_load_detector", lambda *a: pytest.fail("the model was loaded"))
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        result = CliRunner().invoke(app, ["serve", "--host", HOST, "--port", str(taken.getsockname()[1])])
    assert result.exit_code == 2 and "cannot listen on" in result.stderr and "in use" in result.stderr


def test_settings_roundtrip_through_environment():
    s = Settings(model="/m.joblib", max_body_mb=2.5, timeout=3, max_concurrency=4, max_queue=0)
    assert Settings.from_env(s.to_env()) == s
    assert Settings.from_env({}) == Settings()
    with pytest.raises(ValueError, match="BOILERDETECT_TIMEOUT"):
        Settings.from_env({"BOILERDETECT_TIMEOUT": "soon"})
    for name in ("BOILERDETECT_TIMEOUT", "BOILERDETECT_MAX_BODY_MB"):  # 0 would refuse every request, as serve says
        with pytest.raises(ValueError, match=f"{name} must be positive"):
            Settings.from_env({name: "0"})
    assert Settings.from_env({"BOILERDETECT_MAX_QUEUE": "0"}).max_queue == 0


# --- overload: a stand-in detector whose predictions take a known time ------------------------------


class SlowDetector:
    """Sleeps ``record["sleep"]`` seconds per record; tracks how many predictions run at once."""

    card: ClassVar[dict] = {"name": "slow"}

    def __init__(self):
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()

    def predict_records(self, records):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(sum(r.get("sleep", 0) for r in records))
            if len(records) > 1 and any(r.get("boom") for r in records):
                raise RuntimeError("boom")  # a failure the library did not foresee
            return [Result(id=r.get("id"), error="boom" if r.get("boom") else None) for r in records]
        finally:
            with self.lock:
                self.running -= 1


@pytest.fixture
def slow_server():
    """Start an in-thread server: ``start(detector=None, **settings)`` → (base url, detector)."""
    servers = []

    def start(detector=None, **settings):
        det = detector or SlowDetector()
        port = free_port()
        config = uvicorn.Config(create_app(Settings(**settings), det), host=HOST, port=port, log_level="warning")
        srv = uvicorn.Server(config)
        thread = threading.Thread(target=srv.run, daemon=True)
        thread.start()
        servers.append((srv, thread))
        base = f"http://{HOST}:{port}"
        wait_healthy(base, limit=10)
        return base, det

    yield start
    for srv, thread in servers:
        srv.should_exit = True
        thread.join(10)


def post_in_background(url, payload, out, key):
    def go():
        out[key] = httpx.post(url, json=payload, timeout=10)

    t = threading.Thread(target=go)
    t.start()
    return t


def test_timeout_is_504_and_slot_stays_held(slow_server):
    base, det = slow_server(timeout=0.3, max_concurrency=1, max_queue=0)
    t0 = time.monotonic()
    r = httpx.post(f"{base}/v1/predict", json={"text": "a", "sleep": 1.2}, timeout=10)
    assert r.status_code == 504 and "time limit" in r.json()["error"]
    assert time.monotonic() - t0 < 1.0  # answered at the limit, not when the prediction ended
    # the abandoned prediction still runs and still holds the only slot: no second one starts
    r = httpx.post(f"{base}/v1/predict", json={"text": "b"}, timeout=10)
    assert r.status_code == 503
    assert det.most == 1
    time.sleep(1.0)
    assert httpx.post(f"{base}/v1/predict", json={"id": "c", "text": "c"}, timeout=10).status_code == 200


def test_full_queue_is_503_and_loop_stays_responsive(slow_server):
    base, det = slow_server(timeout=10, max_concurrency=1, max_queue=1)
    out: dict = {}
    first = post_in_background(f"{base}/v1/predict", {"id": "1", "text": "a", "sleep": 1.0}, out, 1)
    time.sleep(0.2)
    second = post_in_background(f"{base}/v1/predict", {"id": "2", "text": "b", "sleep": 0.1}, out, 2)
    time.sleep(0.2)
    t0 = time.monotonic()
    assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
    assert time.monotonic() - t0 < 0.5  # predictions do not block the event loop
    r = httpx.post(f"{base}/v1/predict", json={"text": "c"}, timeout=10)
    assert r.status_code == 503 and r.headers.get("retry-after") == "1" and "busy" in r.json()["error"]
    first.join(10)
    second.join(10)
    assert out[1].status_code == 200 and out[1].json()["id"] == "1"
    assert out[2].status_code == 200 and out[2].json()["id"] == "2"
    assert det.most == 1


def test_unexpected_batch_failure_only_fails_its_record(slow_server):
    base, _ = slow_server()
    records = [{"id": "a", "text": "a"}, {"id": "b", "text": "b", "boom": True}, {"id": "c", "text": "c"}]
    r = httpx.post(f"{base}/v1/predict", json={"records": records}, timeout=10)
    assert r.status_code == 200
    results = r.json()["results"]
    assert [o["id"] for o in results] == ["a", "b", "c"]
    assert [o["error"] is None for o in results] == [True, False, True]


def test_internal_error_is_json_500(slow_server):
    class Broken(SlowDetector):
        def predict_records(self, records):
            return [object() for _ in records]  # not Results: serialising them fails

    class Failing(SlowDetector):
        def predict_records(self, records):
            raise ValueError("X has 54 features, but the model expects 52")  # e.g. a stale model

    base, _ = slow_server(Broken())
    r = httpx.post(f"{base}/v1/predict", json={"text": "a"}, timeout=10)
    assert r.status_code == 500 and r.json()["error"].startswith("internal error")
    assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
    base, _ = slow_server(Failing())
    for payload in ({"text": "a"}, {"records": [{"text": "a"}, {"html": "<p>b</p>"}]}):
        r = httpx.post(f"{base}/v1/predict", json=payload, timeout=10)
        assert r.status_code == 500 and "54 features" in r.json()["error"]


def test_a_real_detector_failing_on_every_page_is_a_500_not_a_bad_record(slow_server, tiny_detector):
    # the library turns the failure into an error result ("prediction failed: ..."): still the server's fault
    stale = copy.copy(tiny_detector)
    stale.predict_pages = lambda *a, **k: (_ for _ in ()).throw(ValueError("X has 54 features, but the model expects 52"))
    base, _ = slow_server(stale)
    for payload in ({"text": "A line of text."}, {"records": [{"text": "a"}, {"html": "<p>b</p>"}]}):
        r = httpx.post(f"{base}/v1/predict", json=payload, timeout=10)
        assert r.status_code == 500 and r.json()["error"].startswith("prediction failed: ValueError: X has 54 features")
    r = httpx.post(f"{base}/v1/predict", json={"records": [{"text": "a"}, {"html": 5}]}, timeout=10)
    assert r.status_code == 200  # one bad record among them: the input's fault, answered per record


def test_worker_processes_get_time_to_answer_the_supervisor(monkeypatch):
    """uvicorn kills a --workers process that misses its liveness ping (5 s by default); importing
    the detector on a busy machine takes longer, which made workers restart in a loop."""
    import inspect

    from boilerdetect import service

    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.setattr(service.os, "environ", dict(os.environ))  # serve() exports settings for the workers
    service.serve(Settings(), workers=2)
    assert calls and calls[0]["workers"] == 2
    if "timeout_worker_healthcheck" in inspect.signature(uvicorn.Config).parameters:
        assert calls[0]["timeout_worker_healthcheck"] >= 30


# --- found by fuzzing the OpenAPI schema (benchmarks/schema_fuzz.py) --------------------------------


@pytest.mark.parametrize(
    "payload, words",
    [({"id": "a", "html": "<p>Hello</p>", "text": {}}, "'text' must be a string"),  # was ignored, answered 200
     ({"id": {"nested": 1}, "text": "a"}, "'id' must be"), ({"id": True, "text": "a"}, "'id' must be"),
     ({}, "neither 'html' nor 'text'"), ({"html": None, "text": None}, "neither 'html' nor 'text'")],
)  # fmt: skip
def test_records_of_the_wrong_type_are_422(client, payload, words):
    r = client.post("/v1/predict", json=payload)
    assert r.status_code == 422 and words in r.json()["error"]
    assert client.post("/v1/predict", json={"id": 7, "html": None, "text": "a"}).json()["id"] == "7"


def test_schema_describes_what_is_accepted(client):
    """The published schema must not call a request valid that the service refuses (e.g. ``{}``), nor
    invalid what it accepts (a batch item it answers with an error object, a numeric id)."""
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/v1/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    record, batch = body["oneOf"]
    assert {"required": ["html"], "properties": {"html": {"type": "string"}}} in record["anyOf"]
    assert {"required": ["text"], "properties": {"text": {"type": "string"}}} in record["anyOf"]
    assert record["not"] == {"required": ["records"]} and batch["required"] == ["records"]
    assert "number" in record["properties"]["id"]["type"]
    assert "type" not in batch["properties"]["records"]["items"]
    r = client.post("/v1/predict", json={"records": [{"text": {}}, {"id": 1, "text": "a"}]})
    assert r.status_code == 200 and [o["error"] is None for o in r.json()["results"]] == [False, True]
