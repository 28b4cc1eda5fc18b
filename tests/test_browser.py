"""The service's browser view (``GET /``, ``POST /``) over real HTTP, and in a real browser.

The browser test drives Debian's chromium (``apt-get install chromium``) with playwright for Python,
never a browser downloaded by playwright; it is skipped, saying why, when either is missing.
Its screenshot is written to ``tests/artifacts/browser-view.png`` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
from importlib.resources import files
from pathlib import Path

import threading

import pytest

from test_service import HOST, MODEL, free_port, httpx, uvicorn, wait_healthy

from boilerdetect import Detector
from boilerdetect.service import Settings, create_app
from boilerdetect.show import CSP

from test_show import parse

SAMPLE = files("boilerdetect").joinpath("samples/news.txt").read_text(encoding="utf-8")
URL = "https://news.example/tram"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = os.environ.get("BOILERDETECT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def detector():
    if not MODEL.is_file():
        pytest.skip(f"model missing: {MODEL}")
    return Detector.load(MODEL)


@pytest.fixture(scope="module")
def server(detector):
    """The app with the real model, served by uvicorn in a thread on a free loopback port: real HTTP,
    without a second process loading the model again."""
    port = free_port()
    settings = Settings(model=str(MODEL), max_body_mb=1.0)  # small, for the test of a page over it
    srv = uvicorn.Server(uvicorn.Config(create_app(settings, detector), host=HOST, port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    base = f"http://{HOST}:{port}"
    try:
        wait_healthy(base, limit=20)
        yield base
    finally:
        srv.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server, timeout=30) as c:
        yield c


def expected(detector):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="openmp"):
        return detector.predict(text=SAMPLE, url=URL)


def test_get_form(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["content-security-policy"] == CSP
    view = parse(r.text)
    assert view.pages == [] and {"form", "textarea", "button", "input"} <= set(view.tags)
    assert 'name="kind" value="text"' in r.text and 'name="kind" value="html"' in r.text


def test_post_form_labels_every_line(client, detector):
    r = client.post("/", data={"page": SAMPLE, "kind": "text", "url": URL})
    assert r.status_code == 200
    view = parse(r.text)
    want = expected(detector)
    [page] = view.pages
    assert [(l["text"], l["label"]) for l in page["lines"]] == [(l.text, l.label) for l in want.lines]
    assert any(len(l["title"].split("\n")) > 2 for l in page["lines"])  # explanations on hover
    assert "<textarea" in r.text and "Harbour city opens" in r.text.split("</textarea>")[0]  # the form keeps the input


def test_post_form_html_is_escaped(client):
    html = "<html><body><article><p>A &lt;script&gt; is shown, not run: &lt;b&gt;bold&lt;/b&gt; text here.</p></article></body></html>"
    r = client.post("/", data={"page": html, "kind": "html", "url": "https://x.example/"})
    assert r.status_code == 200
    view = parse(r.text)
    assert [l["text"] for l in view.pages[0]["lines"]] == ["A <script> is shown, not run: <b>bold</b> text here."]
    assert "looks like HTML" not in r.text
    r = client.post("/", data={"page": html, "kind": "text"})  # the default choice, with HTML pasted
    assert r.status_code == 200 and "looks like HTML pasted as plain text" in r.text


@pytest.mark.parametrize(
    "data, message",
    [({"page": "  ", "kind": "text"}, "paste the text"), ({"page": "x", "kind": "pdf"}, "plain text or HTML")],
)
def test_post_form_mistakes(client, data, message):
    r = client.post("/", data=data)
    assert r.status_code == 422 and message in r.text
    assert parse(r.text).pages == []


def test_a_form_over_the_size_limit_is_answered_on_the_form(client):
    r = client.post("/", data={"page": "word " * 250_000, "kind": "text"})  # 1.25 MB against the server's 1 MB
    assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")  # not the API's JSON
    assert "<form" in r.text and "larger than the limit" in r.text


def _browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser test: playwright is not installed (pip install playwright)")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"browser test: no chromium at {CHROMIUM} (apt-get install chromium)")
    return sync_playwright


def test_browser_paste_and_submit(server, detector):
    sync_playwright = _browser()
    base = server
    want = expected(detector)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)  # e.g. CSP blocks
            page.goto(f"{base}/")
            page.fill("#page", SAMPLE)
            page.check('input[name="kind"][value="text"]')
            page.fill("#url", URL)
            with page.expect_navigation():
                page.click("button[type=submit]")
            page.wait_for_selector(".line")
            rows = page.eval_on_selector_all(
                ".line",
                "els => els.map(e => [e.querySelector('.text').textContent, e.dataset.label, e.title,"
                " getComputedStyle(e).backgroundColor])",
            )
            page.screenshot(path=str(ARTIFACTS / "browser-view.png"), full_page=True)
        finally:
            browser.close()
    assert [(text, label) for text, label, _, _ in rows] == [(l.text, l.label) for l in want.lines]
    assert any("features that pushed it most" in title for _, _, title, _ in rows)
    colours = {label: colour for _, label, _, colour in rows}
    assert len(set(colours.values())) == len(colours)  # the inline style applies: one tint per label
    assert not errors, errors
    assert (ARTIFACTS / "browser-view.png").stat().st_size > 10_000
