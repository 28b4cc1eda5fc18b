"""``boilerdetect show``: one well-formed, self-contained HTML file holding every line once, with its label."""

from __future__ import annotations

import json
from html import escape
from html.parser import HTMLParser

import pytest
from typer.testing import CliRunner

from boilerdetect.cli import app
from boilerdetect.features import feature_names
from boilerdetect.result import Result
from boilerdetect.show import printable, render_document

from conftest import make_article, make_text_article

runner = CliRunner()
VOID = {"meta", "input", "br", "img", "hr", "link", "col", "source", "wbr"}
HOSTILE = ['<script>alert("x")</script> headline', "</div></section> & &amp; \"quoted\" 'single'", "ring \x07 bell \ud800"]


class View(HTMLParser):
    """Parses a rendered view; fails on any unbalanced tag. Collects pages, lines and blocks."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.pages: list[dict] = []  # {"id", "lines": [{"label", "index", "score", "title", "text"}], "blocks"}
        self.summary: list[str] = []
        self.toc: list[str] = []
        self._text: dict | None = None
        self._in_summary = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        classes = (a.get("class") or "").split()
        if tag == "section" and "summary" in classes:
            self._in_summary = True
        if tag == "section" and "page" in classes:
            self.pages.append({"id": a["id"], "lines": [], "blocks": [], "error": None})
        if tag == "div" and "block" in classes:
            self.pages[-1]["blocks"].append({"lines": int(a["data-lines"]), "seen": 0})
        if tag == "div" and "line" in classes:
            line = {"label": a["data-label"], "index": int(a["data-index"]), "score": float(a["data-score"]),
                    "title": a["title"], "text": "", "in_block": "block" in self._open_classes()}  # fmt: skip
            self.pages[-1]["lines"].append(line)
            if line["in_block"]:
                self.pages[-1]["blocks"][-1]["seen"] += 1
        if tag == "span" and "text" in classes:
            self._text = self.pages[-1]["lines"][-1]
        if tag == "a" and "href" in a:
            self.toc.append(a["href"])
        if tag not in VOID:
            self.stack.append((tag, classes))

    def _open_classes(self):
        return {c for _, classes in self.stack for c in classes}

    def handle_endtag(self, tag):
        assert self.stack, f"</{tag}> closes nothing"
        open_tag, classes = self.stack.pop()
        assert open_tag == tag, f"</{tag}> closes <{open_tag}>"
        if tag == "span" and "text" in classes:
            self._text = None
        if tag == "section":
            self._in_summary = False

    def handle_data(self, data):
        if self._text is not None:
            self._text["text"] += data
        elif self._in_summary:
            self.summary.append(data)
        elif self.pages and self.stack and self.stack[-1][1] == ["error"]:
            self.pages[-1]["error"] = data


def parse(document: str) -> View:
    view = View()
    view.feed(document)
    view.close()
    assert not view.stack, f"unclosed: {view.stack}"
    assert "script" not in view.tags and "link" not in view.tags  # self-contained, no script
    assert "src=" not in document and "url(" not in document  # no external resource
    return view


@pytest.fixture
def model(tiny_detector, tmp_path):
    return str(tiny_detector.save(tmp_path / "tiny.joblib"))


def test_show_multi_page_jsonl(tiny_detector, model, tmp_path):
    html, _, _ = make_article(3)
    text, _ = make_text_article(4)
    records = [
        {"id": "article", "url": "https://a.example/3", "html": html},
        {"id": "bad", "html": 12},
        {"id": "hostile", "url": "https://b.example/<x>", "text": text + "\n" + "\n".join(HOSTILE)},
    ]
    src = tmp_path / "pages.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "view.html"
    res = runner.invoke(app, ["show", str(src), "--out", str(out), "--model", model, "--trust-model", "--top-features", "3"])
    assert res.exit_code == 1, res.output  # the bad record
    assert "pages shown 3, failed 1" in res.stderr
    document = out.read_text(encoding="utf-8")
    view = parse(document)

    assert [p["id"] for p in view.pages] == ["page-1", "page-2", "page-3"]
    assert view.toc == ["#page-1", "#page-2", "#page-3"]  # table of contents for several pages
    summary = " ".join(view.summary)
    assert "profile" in summary and "none" in summary
    assert model in summary and tiny_detector.card["sha256"] in summary
    assert view.pages[1]["lines"] == [] and "'html' must be a string" in view.pages[1]["error"]

    for got, want in zip(view.pages, tiny_detector.predict_records(records), strict=True):
        assert [l["text"] for l in got["lines"]] == [printable(l.text) for l in want.lines]  # every line, once, in order
        assert [l["label"] for l in got["lines"]] == [l.label for l in want.lines]
        assert [l["index"] for l in got["lines"]] == list(range(len(want.lines)))
        assert [l["score"] for l in got["lines"]] == pytest.approx([l.score for l in want.lines], abs=1e-4)
        assert all(l["in_block"] == (l["label"] == "related") for l in got["lines"])  # related lines are outlined
        assert len(got["blocks"]) == len(want.related_links)
        assert all(b["lines"] == b["seen"] for b in got["blocks"])

    hostile = view.pages[2]["lines"]
    texts = [l["text"] for l in hostile]
    assert HOSTILE[0] in texts and HOSTILE[1] in texts  # escaped, and read back verbatim
    assert "ring \ufffd bell \ufffd" in texts  # control characters and lone surrogates are shown as U+FFFD
    names = set(feature_names("html")) | set(feature_names("text"))
    explained = [l["title"].split("\n")[2:] for p in view.pages for l in p["lines"]]
    assert sum(map(len, explained)) > 0
    for rows in explained:
        assert len(rows) <= 3
        assert all(row.split()[1] in names for row in rows)  # "+0.123  feature = ..."


def test_show_text_and_html_files(tiny_detector, model, tmp_path):
    html, _, _ = make_article(9)
    text, _ = make_text_article(10)
    (tmp_path / "a.html").write_text(html)
    (tmp_path / "b.txt").write_text(text)
    out = tmp_path / "view.html"
    res = runner.invoke(app, ["show", str(tmp_path / "a.html"), str(tmp_path / "b.txt"), "-o", str(out), "-m", model, "--trust-model", "--top-features", "0"])
    assert res.exit_code == 0, res.output
    view = parse(out.read_text())
    want = [tiny_detector.predict(html=html), tiny_detector.predict(text=text)]
    for got, res_ in zip(view.pages, want, strict=True):
        assert [(l["text"], l["label"]) for l in got["lines"]] == [(l.text, l.label) for l in res_.lines]
        assert all("\n" not in l["title"] for l in got["lines"])  # no explanations asked for


def test_show_limits_and_errors(model, tmp_path):
    src = tmp_path / "many.jsonl"
    src.write_text("".join(json.dumps({"id": f"p{i}", "text": make_text_article(i)[0]}) + "\n" for i in range(4)))
    out = tmp_path / "view.html"
    res = runner.invoke(app, ["show", str(src), "-o", str(out), "-m", model, "--trust-model", "--max-pages", "2", "--top-features", "0"])
    assert res.exit_code == 0 and "more pages not read" in res.stderr
    view = parse(out.read_text())
    assert len(view.pages) == 2 and "--max-pages" in " ".join(view.summary)
    # a page cut to the size limits says so, as its JSONL record would
    res = runner.invoke(app, ["show", str(src), "-o", str(out), "-m", model, "--trust-model", "--max-page-lines", "3", "--top-features", "0"])
    assert res.exit_code == 0 and out.read_text().count("cut to the size limits</th><td>kept lines 3<") == 4

    res = runner.invoke(app, ["show", str(tmp_path / "missing.txt"), "-o", str(out), "-m", model, "--trust-model"])
    assert res.exit_code == 2 and "no such file" in res.stderr and "Traceback" not in res.output
    res = runner.invoke(app, ["show", str(src), "-o", str(tmp_path / "nodir" / "v.html"), "-m", model, "--trust-model"])
    assert res.exit_code == 2 and "does not exist" in res.stderr
    res = runner.invoke(app, ["show", str(src)])
    assert res.exit_code == 2 and "--out" in res.output


def test_render_document_single_page_has_no_toc_and_shows_the_profile():
    from boilerdetect.document import Line

    lines = [Line("Menu").with_prediction("boilerplate", 0.1), Line("Body text.").with_prediction("content", 0.9)]
    document = render_document([Result(lines=lines, id="one")], {"model": "m.joblib"}, profile="news.example")
    view = parse(document)
    assert view.toc == [] and len(view.pages) == 1
    assert "news.example" in " ".join(view.summary)
    assert [l["title"] for l in view.pages[0]["lines"]] == ["boilerplate · content score 0.100", "content · content score 0.900"]


def test_show_warc_one_section_per_page(tiny_detector, model, tmp_path):
    from test_warc import write_warc

    warc = tmp_path / "crawl.warc.gz"
    ids = write_warc(warc, gz=True)
    out = tmp_path / "view.html"
    res = runner.invoke(app, ["show", str(warc), "-o", str(out), "-m", model, "--trust-model", "--top-features", "2"])
    assert res.exit_code == 0, res.output
    assert "pages shown 3, failed 0, skipped 7" in res.stderr  # warcinfo, requests, metadata, image, redirect
    view = parse(out.read_text())
    assert len(view.pages) == 3 and view.toc == ["#page-1", "#page-2", "#page-3"]
    assert all(escape(rid) in out.read_text() for rid in ids)  # each section is titled with its record id
    assert "Café crème" in [l["text"] for l in view.pages[1]["lines"]]



def test_show_with_a_site_profile(site_detector, tmp_path):
    from sitegen import Site

    from boilerdetect.profile import SiteProfile
    from boilerdetect.readers import text_page

    site = Site(99)  # a site the detector was not fitted on
    # the site's other pages, without URLs like the page file shown (pages with no URL share one host)
    profile = SiteProfile.from_pages(text_page(site.text(p)[0]) for p in range(1, 8))
    profile_path = profile.save(tmp_path / "site.profile")
    model = str(site_detector.save(tmp_path / "site.joblib"))
    (tmp_path / "page.txt").write_text(site.text(0)[0])
    out = tmp_path / "view.html"
    res = runner.invoke(app, ["show", str(tmp_path / "page.txt"), "-o", str(out), "-m", model, "--trust-model",
                              "--profile", str(profile_path), "--top-features", "0"])  # fmt: skip
    assert res.exit_code == 0, res.output
    view = parse(out.read_text(encoding="utf-8"))
    assert str(profile_path) in " ".join(view.summary)
    page = text_page(site.text(0)[0])
    want = site_detector.predict_pages([page], profile=profile)[0]
    alone = site_detector.predict_pages([page])[0]
    got = [l["score"] for l in view.pages[0]["lines"]]
    assert got == pytest.approx([l.score for l in want.lines], abs=1e-4)
    assert got != pytest.approx([l.score for l in alone.lines], abs=1e-4)  # the profile was used
