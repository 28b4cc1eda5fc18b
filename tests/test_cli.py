import json
import os

import pytest
from typer.testing import CliRunner

from boilerdetect.cli import app
from boilerdetect.model import Detector

from conftest import make_article, make_text_article

runner = CliRunner()


def write_model(tiny_detector, tmp_path):
    return str(tiny_detector.save(tmp_path / "tiny.joblib"))


def test_predict_text_and_jsonl(tiny_detector, tmp_path):
    model = write_model(tiny_detector, tmp_path)
    text, labels = make_text_article(5)
    (tmp_path / "page.txt").write_text(text)
    html, gold, _ = make_article(6)
    (tmp_path / "page.html").write_text(html)
    res = runner.invoke(app, ["predict", str(tmp_path / "page.txt"), "--model", model, "--trust-model"])
    assert res.exit_code == 0, res.output
    kept = [l for l, lab in zip([t for t in text.split("\n") if t], labels) if lab == "content"]
    assert res.stdout.strip() == "\n".join(kept)
    assert "pages read 1, written 1, failed 0" in res.stderr

    res = runner.invoke(app, ["predict", str(tmp_path / "page.txt"), "--model", model, "--trust-model", "--keep", "related"])
    assert "Latest articles" in res.stdout

    res = runner.invoke(app, ["predict", str(tmp_path / "page.html"), "-f", "jsonl", "--model", model, "--trust-model"])
    rec = json.loads(res.stdout)
    assert rec["id"].endswith("page.html") and rec["error"] is None and rec["related_links"]


def test_jsonl_one_record_per_input_in_order(tiny_detector, tmp_path):
    model = write_model(tiny_detector, tmp_path)
    lines = [json.dumps({"id": f"r{i}", "text": make_text_article(i)[0]}) for i in range(4)]
    lines.insert(1, "{broken json")
    lines.insert(3, json.dumps({"id": "typed", "text": 42}))
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    res = runner.invoke(app, ["predict", str(tmp_path / "in.jsonl"), "-f", "jsonl", "--model", model, "--trust-model", "-o", str(out), "-j", "2"])
    assert res.exit_code == 1  # some records failed
    recs = [json.loads(l) for l in out.read_text().splitlines()]
    assert [r["id"] for r in recs] == ["r0", None, "r1", "typed", "r2", "r3"]
    assert "not valid JSON" in recs[1]["error"] and recs[1]["content"] is None
    assert recs[3]["error"] == f"{tmp_path / 'in.jsonl'}:4: 'text' must be a string"  # where it is, as for broken JSON
    assert "failed 2" in res.stderr


def test_jsonl_fields_named_like_the_readers_markers_drop_no_record(tiny_detector, tmp_path):
    model = write_model(tiny_detector, tmp_path)
    (tmp_path / "in.jsonl").write_text('{"id": "a", "text": "One line.", "_skipped": 1}\n{"id": "b", "text": "Two.", "_error": "x"}\n')
    res = runner.invoke(app, ["predict", str(tmp_path / "in.jsonl"), "-f", "jsonl", "--model", model, "--trust-model"])
    assert res.exit_code == 0, res.output
    assert [(r["id"], r["error"]) for r in map(json.loads, res.stdout.splitlines())] == [("a", None), ("b", None)]
    assert "pages read 2, written 2, failed 0, skipped 0" in res.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_an_output_that_cannot_be_written_is_a_one_line_error(tiny_detector, tmp_path):
    model = write_model(tiny_detector, tmp_path)
    (tmp_path / "page.txt").write_text(make_text_article(1)[0])
    res = runner.invoke(app, ["predict", str(tmp_path / "page.txt"), "-o", "/dev/full", "--model", model, "--trust-model"])
    assert res.exit_code == 2 and "cannot write /dev/full: No space left on device" in res.stderr
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_an_output_behind_a_symlink_is_written_through_it(tiny_detector, tmp_path):
    model = write_model(tiny_detector, tmp_path)
    (tmp_path / "page.txt").write_text(make_text_article(1)[0])
    (tmp_path / "real.txt").write_text("old")
    (tmp_path / "link.txt").symlink_to("real.txt")
    res = runner.invoke(app, ["predict", str(tmp_path / "page.txt"), "-o", str(tmp_path / "link.txt"), "--model", model, "--trust-model"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "link.txt").is_symlink() and (tmp_path / "real.txt").read_text() != "old"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")) == []


def test_jsonl_output_escapes_what_utf8_cannot_hold(tiny_detector, tmp_path):
    # a "\ud800" escape in the input decodes to a lone surrogate, which no UTF-8 file can hold
    model = write_model(tiny_detector, tmp_path)
    (tmp_path / "in.jsonl").write_text('{"id": "a\\ud800", "text": "caf\\u00e9 au lait, une phrase."}\n{"id": "b", "text": "Zwei Sätze."}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    res = runner.invoke(app, ["predict", str(tmp_path / "in.jsonl"), "-f", "jsonl", "--model", model, "--trust-model", "-o", str(out)])
    assert res.exit_code == 0, res.output
    raw = out.read_text(encoding="utf-8").splitlines()
    first, second = map(json.loads, raw)
    assert "\\ud800" in raw[0] and first["id"] == "a\ud800"  # escaped, and read back as it came
    assert first["lines"][0]["text"] == "café au lait, une phrase." and first["error"] is None
    assert second["id"] == "b" and second["error"] is None and "Sätze" in raw[1]  # UTF-8 as it is elsewhere


def test_stdin_and_usage_errors(tiny_detector, tmp_path):
    model = write_model(tiny_detector, tmp_path)
    res = runner.invoke(app, ["predict", "-", "--model", model, "--trust-model"], input="Hello world, this is a sentence.\n")
    assert res.exit_code == 0
    res = runner.invoke(app, ["predict", str(tmp_path / "missing.txt"), "--model", model, "--trust-model"])
    assert res.exit_code == 2 and "no such file" in res.stderr and "Traceback" not in res.output
    res = runner.invoke(app, ["predict", "-", "--model", str(tmp_path / "nomodel.joblib")], input="x")
    assert res.exit_code == 2 and "model file not found" in res.stderr
    res = runner.invoke(app, ["predict", "-", "--format", "xml"], input="x")
    assert res.exit_code == 2
    # options that do nothing in this combination are said to, not silently ignored
    res = runner.invoke(app, ["predict", "-", "-f", "jsonl", "--keep", "related", "--top-features", "3", "--model", model, "--trust-model"], input="A line.")
    assert res.exit_code == 0 and "--keep applies to --format text" in res.stderr and "--top-features applies with --explain" in res.stderr


def test_train_evaluate_info(tmp_path):
    records = []
    for seed in range(12):
        html, gold, _ = make_article(seed)
        records.append(json.dumps({"url": f"https://s{seed % 4}.example/{seed}", "html": html, "main_content": gold}))
        text, labels = make_text_article(seed)
        records.append(json.dumps({"url": f"https://s{seed % 4}.example/t{seed}", "lines": text.split("\n\n"), "labels": labels}))
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join(records) + "\n")
    before = data.read_bytes()
    res = runner.invoke(app, ["train", str(data), "--out", str(data), "--quiet"])
    assert res.exit_code == 2 and "would overwrite its own input" in res.stderr and data.read_bytes() == before
    model = tmp_path / "m.joblib"
    res = runner.invoke(app, ["train", str(data), "--out", str(model), "--cv", "2", "--max-iter", "20", "--quiet",
                              "--stacking", "--stack-folds", "2", "--stack-inputs", "html", "--stage1-iter", "10", "--stage2-iter", "20", "--stage2-weight", "0.5", "--page-f1", "text",
                              "--max-leaf-nodes", "html=15"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "cross-validated html" in res.stderr
    trained = Detector.load(model, trust=True)
    assert trained.html_model.stacked and trained.html_model.stage1_.n_iter_ == 10 and trained.html_model.stage2_.n_iter_ == 20
    assert not trained.text_model.stacked and trained.text_model.stage1_.n_iter_ == 20  # a single stage of --max-iter
    assert trained.card["params"]["stack_inputs"] == ["html"] and trained.html_model.stage2_weight == 0.5
    assert (trained.html_model.decision, trained.text_model.decision) == ("argmax", "best_f1")
    assert (trained.html_model.max_leaf_nodes, trained.text_model.max_leaf_nodes) == (15, 31)
    res = runner.invoke(app, ["evaluate", str(data), "--model", str(model), "--trust-model", "--json"])
    report = json.loads(res.stdout)
    assert report["html"]["word_f1"] > 0.9 and report["text"]["lines"]["related"]["recall"] > 0.9
    empty = tmp_path / "empty.jsonl"  # nothing to score or learn from: a usage error, not an empty report
    empty.write_text("")
    res = runner.invoke(app, ["evaluate", str(empty), "--model", str(model), "--trust-model"])
    assert res.exit_code == 2 and "no labelled pages found" in res.stderr
    res = runner.invoke(app, ["train", str(empty), "--out", str(tmp_path / "none.joblib")])
    assert res.exit_code == 2 and "no training pages found" in res.stderr
    for out in (tmp_path, tmp_path / "nowhere" / "m.joblib"):  # refused before any training
        res = runner.invoke(app, ["train", str(data), "--out", str(out)])
        assert res.exit_code == 2 and f"cannot write {out}" in res.stderr and "features" not in res.stderr
    res = runner.invoke(app, ["info", "--model", str(model), "--trust-model"])
    card = json.loads(res.stdout)
    assert card["training_data"]["pages"] == {"html": 12, "text": 24} and "sha256" in card
    assert card["cross_validation"]["folds"] == 2
    assert card["params"] == {"max_iter": 20, "max_leaf_nodes": {"html": 15}, "stacking": True, "cv": 2, "stage1_iter": 10, "stage2_iter": 20,
                              "stage2_weight": 0.5, "stack_inputs": ["html"], "page_f1_inputs": ["text"], "page_f1_below": 0.3}
    assert (trained.html_model.page_f1_below, trained.html_model.weighs_lines) == (0.3, True)  # the recipe's default

    res = runner.invoke(app, ["train", str(data), "--out", str(model), "--no-stacking", "--stage2-weight", "0.5", "--stage1-iter", "10"])
    assert res.exit_code == 2 and res.stderr == "error: --stage1-iter, --stage2-weight need --stacking\n"
    from boilerdetect.cli import train_params
    from boilerdetect.train import _source_params

    # "none": no kind is stacked / decides per page
    params = train_params(150, True, "none", 50, 100, 0.5, 4, page_f1="none", vocabulary="text")
    assert "page_f1_inputs" not in params and params["stack_inputs"] == []
    assert "vocabulary_inputs" not in params  # the word model feeds stage 2: no stage 2, no word model
    # the under-kept share is read only by kinds deciding line by line: recorded when some kind does
    assert [train_params(150, True, "both", 50, 100, 0.5, 4, page_f1=kinds, page_f1_below=share).get("page_f1_below")
            for kinds, share in (("none", 0.3), ("text", 0.0), ("both", 0.3))] == [0.3, None, None]  # fmt: skip
    assert [(_source_params(params, k)["stacking"], _source_params(params, k)["decision"]) for k in ("html", "text")] == [(False, "argmax")] * 2
    for bad in ("1", "html=x", "pdf=31", "63,text=31"):
        res = runner.invoke(app, ["train", str(data), "--out", str(model), "--max-leaf-nodes", bad])
        assert res.exit_code == 2 and "Invalid value for '--max-leaf-nodes'" in res.stderr and "Traceback" not in res.stderr, bad

    (tmp_path / "bad.jsonl").write_text(json.dumps({"lines": ["a"], "labels": ["junk"]}) + "\n")
    res = runner.invoke(app, ["train", str(tmp_path / "bad.jsonl"), "--out", str(model)])
    assert res.exit_code == 2 and "unknown label 'junk'" in res.stderr


def test_the_command_line_and_the_detector_import_no_scikit_learn():
    # 'boilerdetect --help' and friends start at once, and so does prediction: the trees are
    # flat arrays (trees.py); only training and adaptation import scikit-learn
    import subprocess
    import sys

    code = (
        "import sys, boilerdetect, boilerdetect.cli\n"
        "assert 'sklearn' not in sys.modules\n"
        "from boilerdetect import Detector, ModelError\n"
        "assert 'sklearn' not in sys.modules and Detector.__name__ == 'Detector'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    import boilerdetect

    with pytest.raises(AttributeError):
        boilerdetect.NoSuchThing  # noqa: B018


def test_train_on_plain_text_pages_alone_borrows_the_shipped_html_classifier(tmp_path):
    from boilerdetect.model import DEFAULT_MODEL

    if not DEFAULT_MODEL.is_file():
        pytest.skip("shipped model not built")
    records = []
    for seed in range(6):  # line-labelled JSONL: the first training format, plain text only
        text, labels = make_text_article(seed)
        records.append(json.dumps({"url": f"https://s{seed % 3}.example/{seed}", "lines": text.split("\n\n"), "labels": labels}))
    (tmp_path / "lines.jsonl").write_text("\n".join(records) + "\n")
    res = runner.invoke(app, ["train", str(tmp_path / "lines.jsonl"), "--out", str(tmp_path / "m.joblib"), "--cv", "3", "--max-iter", "10", "--quiet"])
    assert res.exit_code == 0, res.output
    assert "no html pages to train on: the html classifier is the shipped model's" in res.stderr and "cross-validated text" in res.stderr
    trained, shipped = Detector.load(tmp_path / "m.joblib", trust=True), Detector.load()
    assert trained.card["borrowed"] == {"html": {"from": "the shipped model", "sha256": shipped.card["sha256"]}}
    html = make_article(1)[0]
    assert [l.score for l in trained.predict(html=html).lines] == [l.score for l in shipped.predict(html=html).lines]
