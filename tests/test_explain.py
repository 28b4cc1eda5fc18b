"""Per-line explanations: real feature names, exact occlusion through the model, JSONL --explain."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from threadpoolctl import threadpool_limits
from typer.testing import CliRunner

from boilerdetect import LABELS
from boilerdetect.cli import app
from boilerdetect.explain import Contribution, contrast_reference, occlusion_deltas
from boilerdetect.features import feature_names, featurize, line_words, region_keys
from boilerdetect.html import segment_html
from boilerdetect.readers import text_page
from boilerdetect.train import fit_detector

from conftest import make_article, make_text_article, synthetic_examples

runner = CliRunner()


@pytest.fixture(scope="module")
def single_stage_detector():
    with threadpool_limits(limits=1, user_api="openmp"):
        return fit_detector(synthetic_examples(12), {"max_iter": 20, "stacking": False})


def pages():
    html, _, _ = make_article(101)
    text, _ = make_text_article(102)
    return [segment_html(html, url="https://a.example/x"), text_page(text)]


def check_explained(det, page, top_k):
    res = det.explain_pages([page], top_k)[0]
    assert [l.label for l in res.lines] == [l.label for l in det.predict_pages([page])[0].lines]
    assert len(res.explanations) == len(res.lines)
    names = set(feature_names(page.source))
    explained = 0
    for contributions in res.explanations:
        assert len(contributions) <= top_k
        assert all(isinstance(c, Contribution) and c.feature in names and c.delta != 0 and c.doc for c in contributions)
        sizes = [abs(c.delta) for c in contributions]
        assert sizes == sorted(sizes, reverse=True)
        explained += bool(contributions)
    assert explained >= len(res.lines) // 2  # most lines have some feature that matters
    return res


@pytest.mark.parametrize("which", [0, 1], ids=["html", "text"])
def test_explanations_name_real_features(tiny_detector, which):
    check_explained(tiny_detector, pages()[which], top_k=4)


@pytest.mark.parametrize("which", [0, 1], ids=["html", "text"])
def test_single_stage_delta_is_the_lines_own_feature_effect(single_stage_detector, which):
    """Without stacking the whole-column occlusion must equal occluding one cell at a time."""
    page = pages()[which]
    clf = single_stage_detector._model_for(page.source)
    X, regions = featurize(page), region_keys(page)
    proba, deltas, ref = occlusion_deltas(clf, X, regions)
    rng = np.random.default_rng(0)
    strongest = np.argsort(-np.abs(deltas), axis=None)[:5]
    cells = [np.unravel_index(k, deltas.shape) for k in strongest]
    cells += [(int(rng.integers(len(X))), int(rng.integers(X.shape[1]))) for _ in range(5)]
    for i, f in cells:
        occluded = X.copy()
        occluded[i, f] = ref[i, f]
        label = proba[i].argmax()
        direct = proba[i, label] - clf.predict_proba([occluded], [regions])[0][i, label]
        assert deltas[i, f] == pytest.approx(direct, abs=1e-9)
    assert np.abs(deltas).max() > 0.01


def test_stacked_delta_is_the_model_output_with_the_column_occluded(tiny_detector):
    page = pages()[0]
    clf = tiny_detector.html_model
    assert clf.stage2_ is not None  # the fixture's model has the stacked stage
    X, regions = featurize(page), region_keys(page)
    proba, deltas, ref = occlusion_deltas(clf, X, regions)
    assert np.allclose(proba, clf.predict_proba([X], [regions])[0])
    label = proba.argmax(axis=1)
    rows = np.arange(len(X))
    for f in np.argsort(-np.abs(deltas).max(axis=0))[:4]:
        occluded = X.copy()
        occluded[:, f] = ref[:, f]
        direct = proba[rows, label] - clf.predict_proba([occluded], [regions])[0][rows, label]
        assert np.allclose(deltas[:, f], direct, atol=1e-9)


def test_reference_is_the_median_of_the_other_labels():
    X = np.array([[1, 10], [2, 20], [3, 30], [4, 40], [5, 50]], dtype=np.float32)
    y = np.array(["content", "content", "related", "boilerplate", "boilerplate"])
    ref = contrast_reference(X, y)
    assert ref.shape == (len(LABELS), 2)
    assert ref[LABELS.index("content")].tolist() == [4, 40]  # median of rows 3, 4, 5
    assert ref[LABELS.index("related")].tolist() == [3, 30]  # median of rows 1, 2, 4, 5
    assert ref[LABELS.index("boilerplate")].tolist() == [2, 20]
    all_content = contrast_reference(X, np.array(["content"] * 5))
    assert all_content[0].tolist() == [3, 30]  # nothing to contrast with: all lines


def test_fit_stores_the_reference_and_old_models_fall_back_to_the_page(tiny_detector):
    page = pages()[1]
    clf = tiny_detector.text_model
    assert clf.reference_.shape == (len(LABELS), len(feature_names("text")))
    X = featurize(page)
    _, _, ref = occlusion_deltas(clf, X, region_keys(page))
    # equal_nan: a column missing on the training pages (the URL of pages given without one) stays NaN
    assert np.array_equal(ref, clf.reference_[clf.predict_proba([X])[0].argmax(axis=1)], equal_nan=True)

    old = copy.deepcopy(tiny_detector)
    del old.text_model.reference_  # as a model fitted before references were stored
    proba, _, ref = occlusion_deltas(old.text_model, X, region_keys(page))
    predicted = proba.argmax(axis=1)
    first = predicted[0]
    others = X[predicted != first] if (predicted != first).any() else X
    assert np.allclose(ref[0], np.median(others, axis=0), equal_nan=True)  # site columns: NaN without profiles
    check_explained(old, page, top_k=3)


def test_explain_with_the_shipped_model(shipped_detector):
    from importlib.resources import files

    text = files("boilerdetect").joinpath("samples/news.txt").read_text()
    res = shipped_detector.explain(text=text, top_k=3)
    plain = shipped_detector.predict(text=text)
    assert [(l.label, l.score) for l in res.lines] == [(l.label, l.score) for l in plain.lines]
    names = set(feature_names("text"))
    assert all(c.feature in names for ex in res.explanations for c in ex)
    assert any(res.explanations)


def test_predict_jsonl_explain(tiny_detector, tmp_path):
    model = str(tiny_detector.save(tmp_path / "tiny.joblib"))
    html, _, _ = make_article(7)
    records = [{"id": "h", "url": "https://a.example/7", "html": html}, {"id": "bad", "text": 5}, {"id": "t", "text": make_text_article(8)[0]}]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records))
    plain = runner.invoke(app, ["predict", str(src), "-f", "jsonl", "--model", model, "--trust-model"])
    explained = runner.invoke(app, ["predict", str(src), "-f", "jsonl", "--model", model, "--trust-model", "--explain", "--top-features", "3"])
    assert plain.exit_code == explained.exit_code == 1  # the bad record
    plain_recs = [json.loads(l) for l in plain.stdout.splitlines()]
    recs = [json.loads(l) for l in explained.stdout.splitlines()]
    assert [r["id"] for r in recs] == ["h", "bad", "t"]
    assert recs[1]["error"] and recs[1]["lines"] == []
    named = 0
    for rec, base, source in zip(recs, plain_recs, ["html", None, "text"]):
        for line, base_line in zip(rec["lines"], base["lines"], strict=True):
            explanation = line.pop("explanation")
            assert line == base_line  # only a field was added
            assert len(explanation) <= 3
            named += len(explanation)
            for item in explanation:
                assert item.keys() == {"feature", "delta", "value", "reference"}
                assert item["feature"] in feature_names(source)
        assert rec == base
    assert named > len(recs[0]["lines"])

    res = runner.invoke(app, ["predict", str(src), "--model", model, "--trust-model", "--explain"])
    assert res.exit_code == 2 and "--explain needs --format jsonl" in res.stderr


def test_explanations_are_of_the_label_the_decision_gives(single_stage_detector, monkeypatch):
    """A line that a page_f1 decision makes content is explained as content (its P(content)),
    not as the label its own probabilities rank first; the words reach the decision."""
    page = pages()[1]
    clf = copy.deepcopy(single_stage_detector.text_model)
    X = featurize(page)
    seen = []

    def all_content(probas, weights=None, texts=None):
        seen.append(weights)
        return [np.zeros(len(p), dtype=int) for p in probas]

    monkeypatch.setattr(clf, "decide", all_content)
    words = line_words(X)
    proba, deltas, ref = occlusion_deltas(clf, X, None, words)
    np.testing.assert_array_equal(seen[0][0], words)
    np.testing.assert_array_equal(ref, np.repeat(clf.reference_[:1], len(X), axis=0))  # content's reference on every line
    f = int(np.argmax(np.abs(deltas).max(axis=0)))
    occluded = X.copy()
    occluded[:, f] = ref[:, f]
    np.testing.assert_allclose(deltas[:, f], proba[:, 0] - clf.predict_proba([occluded])[0][:, 0], atol=1e-9)
