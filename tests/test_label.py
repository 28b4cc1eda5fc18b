"""Label files: writing, reading back as training data, errors, and adapting a model to a site."""

import dataclasses
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from boilerdetect.adapt import adapt_detector
from boilerdetect.cli import app
from boilerdetect.datasets import Example, load_examples
from boilerdetect.labelfile import format_label_file, read_label_file
from boilerdetect.model import DEFAULT_MODEL, Detector, card_path
from boilerdetect.readers import InputError, text_page

from conftest import make_text_article
from sitegen import Site

runner = CliRunner()


def test_label_file_round_trip(tmp_path):
    text, labels = make_text_article(3)
    page = text_page(text, url="https://news.example/a")
    scores = list(np.linspace(0, 1, len(labels)))
    path = tmp_path / "a.tsv"
    path.write_text(format_label_file(page, labels, scores))
    back, back_labels, html = read_label_file(str(path))
    assert back.texts == page.texts and back_labels == labels and html is None and back.url == page.url
    [example] = load_examples([str(path)])
    assert example.labels == labels and example.group == "news.example"
    # the least certain rows are listed by file line number, and they are the scores nearest 0.5
    rows = path.read_text().splitlines()
    listed = [int(n) for n in next(r for r in rows if r.startswith("# least certain")).split(":")[1].split()]
    assert len(listed) == 10
    middle = sorted(range(len(scores)), key=lambda i: abs(scores[i] - 0.5))[0]
    assert rows[listed[0] - 1].split("\t")[1] == page.texts[middle]


def test_a_url_with_a_line_break_cannot_add_rows_to_a_label_file(tmp_path):
    text, labels = make_text_article(3)
    page = text_page(text, url="https://x.example/a\nboilerplate\tINJECTED ROW\t0.5")
    path = tmp_path / "a.tsv"
    path.write_text(format_label_file(page, labels, [0.5] * len(labels)))
    back, back_labels, _ = read_label_file(str(path))
    assert back.texts == page.texts and back_labels == labels
    assert back.url == "https://x.example/a%0Aboilerplate%09INJECTED%20ROW%090.5"  # as a browser would send it
    page.url = "https://x.example/a\u2028b\x85c"  # as UTF-8 bytes, as a browser encodes them
    path.write_text(format_label_file(page, labels, [0.5] * len(labels)))
    assert read_label_file(str(path))[0].url == "https://x.example/a%E2%80%A8b%C2%85c"
    with pytest.raises(InputError, match="control characters"):
        format_label_file(page, labels, [0.5] * len(labels), html_path="page\n.html")


def test_bad_label_names_file_and_line(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("# boilerdetect labels 1\ncontent\tA good line.\nbolierplate\tMenu\n")
    with pytest.raises(InputError, match=r"bad\.tsv:3: unknown label 'bolierplate'"):
        read_label_file(str(path))
    res = runner.invoke(app, ["train", str(path), "--out", str(tmp_path / "m.joblib"), "--cv", "0"])
    assert res.exit_code == 2 and "bad.tsv:3" in res.stderr and "Traceback" not in res.output
    path.write_text("content A line without a tab\n")
    with pytest.raises(InputError, match=r":1: expected 'label<TAB>text' \(no tab on this row\)"):
        read_label_file(str(path))


def test_label_command_on_html_keeps_the_markup_for_training(site_detector, tmp_path):
    site = Site(7)
    doc, truth = site.html(0)
    (tmp_path / "p.html").write_text(doc)
    model = str(site_detector.save(tmp_path / "m.joblib"))
    res = runner.invoke(app, ["label", str(tmp_path / "p.html"), "--out", str(tmp_path / "p.tsv"), "--model", model, "--trust-model"])
    assert res.exit_code == 0, res.stderr
    page, labels, html = read_label_file(str(tmp_path / "p.tsv"))
    assert page.source == "html" and html == doc and len(labels) == len(truth)
    examples = load_examples([str(tmp_path / "p.tsv")])
    assert [e.page.source for e in examples] == ["html", "text"]  # and a text rendering for the text model
    assert "note" not in res.stderr
    # with --url the file names the page's site; the HTML path is relative, so both can move together
    (tmp_path / "work").mkdir()
    res = runner.invoke(app, ["label", str(tmp_path / "p.html"), "--url", "https://site7.example/a", "--out", str(tmp_path / "work" / "p.tsv"), "--model", model, "--trust-model"])
    assert res.exit_code == 0 and "# url: https://site7.example/a\n# html: ../p.html\n" in (tmp_path / "work" / "p.tsv").read_text()
    (tmp_path / "moved" / "work").mkdir(parents=True)
    (tmp_path / "work" / "p.tsv").rename(tmp_path / "moved" / "work" / "p.tsv")
    (tmp_path / "p.html").rename(tmp_path / "moved" / "p.html")
    moved = load_examples([str(tmp_path / "moved" / "work" / "p.tsv")])
    assert [e.page.source for e in moved] == ["html", "text"] and moved[0].group == "site7.example"
    (tmp_path / "moved" / "p.html").rename(tmp_path / "p.html")
    # the same page from a JSONL file: the label file cannot point at its HTML, and says so
    (tmp_path / "p.jsonl").write_text(json.dumps({"id": "p", "html": doc}) + "\n")
    res = runner.invoke(app, ["label", str(tmp_path / "p.jsonl"), "--out", str(tmp_path / "j.tsv"), "--model", model, "--trust-model"])
    assert res.exit_code == 0 and "will adapt the plain-text model only" in res.stderr
    assert [e.page.source for e in load_examples([str(tmp_path / "j.tsv")])] == ["text"]
    # once the HTML changes, the rows still train, as plain text, with a note
    (tmp_path / "p.html").write_text(doc.replace("Privacy", "Privacy notice"))
    with pytest.warns(UserWarning, match="no longer match"):
        [example] = load_examples([str(tmp_path / "p.tsv")])
    assert example.page.source == "text" and example.labels == labels
    res = runner.invoke(app, ["label", str(tmp_path / "missing.html"), "--out", str(tmp_path / "x.tsv"), "--model", model, "--trust-model"])
    assert res.exit_code == 2 and "missing.html: no such file" in res.stderr
    res = runner.invoke(app, ["label", str(tmp_path), "--out", str(tmp_path / "x.tsv"), "--model", model, "--trust-model"])
    assert res.exit_code == 2 and "not a file" in res.stderr


def site_pages(site: Site, pages) -> list[Example]:
    out = []
    for p in pages:
        text, labels = site.text(p)
        out.append(Example(text_page(text, url=site.url(p), id=str(p)), labels, None, site.host))
    return out


def accuracy(detector: Detector, examples: list[Example]) -> float:
    results = detector.predict_pages([e.page for e in examples])
    return float(np.mean([l.label == t for r, e in zip(results, examples) for l, t in zip(r.lines, e.labels)]))


def test_adaptation_improves_a_site_the_base_model_gets_wrong(tiny_detector, tmp_path, monkeypatch):
    # tiny_detector learned news pages whose menus and footers look nothing like this site's
    site = Site(11)
    labelled, held_out = site_pages(site, range(3)), site_pages(site, range(3, 10))
    before = accuracy(tiny_detector, held_out)
    adapted = adapt_detector(tiny_detector, labelled)
    after = accuracy(adapted, held_out)
    assert before < 0.9 and after > before + 0.05
    assert adapted.html_model is tiny_detector.html_model  # no HTML pages given: the HTML model is kept

    # the same through the command line, from label files
    for i, e in enumerate(labelled):
        (tmp_path / f"{i}.tsv").write_text(format_label_file(e.page, e.labels, [0.5] * len(e.labels)))
    base = str(tiny_detector.save(tmp_path / "base.joblib"))
    card = json.loads(card_path(base).read_text())  # as a trained model's card has them
    card.update(training_data={"pages": {"html": 9, "text": 9}}, cross_validation={"html": {"word_f1": 0.9}})
    card_path(base).write_text(json.dumps(card))
    tsvs = [str(tmp_path / f"{i}.tsv") for i in range(3)]
    res = runner.invoke(app, ["train", *tsvs, "--base", base, "--trust-model", "--out", str(tmp_path / "site.joblib")])
    assert res.exit_code == 0, res.stderr
    # the labelled pages, each left out in turn, say whether adapting helps
    assert "held-out check (3 pages" in res.stderr and "adapting helped" in res.stderr
    loaded = Detector.load(tmp_path / "site.joblib", trust=True)
    assert loaded.card["adapted"]["pages"] == {"html": 0, "text": 3}
    assert loaded.card["created"] != card.get("created") and loaded.card["adapted"]["base_created"] == card.get("created")
    assert accuracy(loaded, held_out) == pytest.approx(after)
    # the base's figures are not the adapted model's: kept, as the base's
    assert "cross_validation" not in loaded.card and "training_data" not in loaded.card
    check = loaded.card["adapted"]["held_out_line_accuracy"]
    assert check["pages"] == 3 and check["adapted"] > check["base"] + 0.05
    assert loaded.card["adapted"]["base_training_data"] == card["training_data"]
    assert loaded.card["adapted"]["base_cross_validation"] == card["cross_validation"]

    # neither the base nor the shipped model may be overwritten by its adaptation
    for out in (base, str(DEFAULT_MODEL)):
        res = runner.invoke(app, ["train", *tsvs, "--base", base, "--trust-model", "--out", out])
        assert res.exit_code == 2 and "would replace the" in res.stderr
    # where it does not help, the command says so (the model is still written)
    import boilerdetect.adapt

    monkeypatch.setattr(boilerdetect.adapt, "held_out_check", lambda *a: {"pages": 3, "lines": 90, "base": 0.9, "adapted": 0.8})
    res = runner.invoke(app, ["train", *tsvs, "--base", base, "--trust-model", "--out", str(tmp_path / "worse.joblib"), "--max-iter", "50"])
    assert res.exit_code == 0 and "0.900 with the base model, 0.800 adapted; adapting did NOT help" in res.stderr
    assert "note: --max-iter does not apply with --base" in res.stderr  # not silently ignored
    # too few lines for any extra tree to split: said, not an adapted model that changes nothing
    short = dataclasses.replace(labelled[0].page, lines=labelled[0].page.lines[:12])
    (tmp_path / "short.tsv").write_text(format_label_file(short, labelled[0].labels[:12], [0.5] * 12))
    res = runner.invoke(app, ["train", str(tmp_path / "short.tsv"), "--base", base, "--trust-model", "--out", str(tmp_path / "few.joblib")])
    assert res.exit_code == 2 and "too few to adapt the model" in res.stderr and not (tmp_path / "few.joblib").exists()

    # a base whose scikit-learn boosters (read only to continue boosting) were saved under another
    # scikit-learn major.minor: it still predicts, but adapting it stops with one line
    import joblib

    blob = joblib.load(base)
    for source in ("html", "text"):
        blob[source]._boosters.sklearn_version = "0.1.0"
    joblib.dump(blob, base)
    assert accuracy(Detector.load(base, trust=True), held_out) == pytest.approx(before)
    res = runner.invoke(app, ["train", *tsvs, "--base", base, "--trust-model", "--out", str(tmp_path / "site2.joblib")])
    assert res.exit_code == 2 and f"error: {base}: " in res.stderr and "saved with scikit-learn 0.1.0" in res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "site2.joblib").exists()
