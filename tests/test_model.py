import copy
import json
from pathlib import Path

import numpy as np
import pytest

from boilerdetect import LABELS, Detector, ModelError
from boilerdetect.classifier import REGION_STACK_FEATURES, SPAN_FEATURES, STACK_FEATURES, LineClassifier, span_features, stack_features
from boilerdetect.features import REGION_LEVELS
from boilerdetect.model import card_path, sha256_file
from boilerdetect.readers import page_from_record

from conftest import make_article, make_text_article


def test_stack_features_shape_and_rank():
    proba = np.array([[0.9, 0.05, 0.05], [0.1, 0.1, 0.8], [0.5, 0.4, 0.1]])
    S = stack_features(proba)
    assert S.shape == (3, len(STACK_FEATURES))
    rank = S[:, STACK_FEATURES.index("p_content_rank")]
    assert rank.tolist() == [1.0, 0.0, 0.5]


def test_span_features_find_the_best_run_of_lines_as_a_search_over_all_runs_does():
    from boilerdetect.classifier import _best_span

    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 25))
        p, w = rng.random(n), rng.integers(0, 20, n).astype(float)
        weighted, total = w * p, (w * p).sum()
        if total <= 0:
            continue
        best = max(2 * weighted[i:j].sum() / (w[i:j].sum() + total) for i in range(n) for j in range(i + 1, n + 1))
        i, j, score = _best_span(weighted, w, total)
        assert np.isclose(score, best) and np.isclose(score, 2 * weighted[i:j].sum() / (w[i:j].sum() + total))


def test_span_features_of_a_page_with_menus_above_and_a_footer_below():
    p = np.array([0.1, 0.2, 0.9, 0.7, 0.9, 0.1])
    w = np.array([2.0, 3, 40, 30, 50, 4])
    out = span_features(p, w)
    assert out.shape == (6, len(SPAN_FEATURES))
    col = dict(zip(SPAN_FEATURES, out.T))
    assert col["in_best_span"].tolist() == [0, 0, 1, 1, 1, 0]
    assert np.allclose(col["span_distance"], np.array([2, 1, 0, 0, 0, 1]) / 6)
    assert np.allclose(col["best_span_share"], (p * w)[2:5].sum() / (p * w).sum())
    assert np.allclose(col["span_best_f1"], 2 * (p * w)[2:5].sum() / (w[2:5].sum() + (p * w).sum()))
    assert not span_features(np.zeros(3), np.ones(3)).any()  # no expected content: no run


def test_stack_features_add_span_columns_to_pages_without_regions_only():
    p = np.array([0.1, 0.2, 0.9, 0.7])
    proba, w = np.column_stack([p, 1 - p, np.zeros(4)]), np.array([2.0, 3, 40, 30])
    per_levels = len(STACK_FEATURES) + len(REGION_STACK_FEATURES) * len(REGION_LEVELS)
    regions = np.array([[1, 2, 3], [1, 2, 3], [4, 5, 3], [4, 5, 3]])
    assert stack_features(proba, regions, w, spans=True).shape == (4, per_levels)
    assert stack_features(proba, np.zeros((4, 0), dtype=np.int64), w, spans=True).shape == (4, len(STACK_FEATURES) + len(SPAN_FEATURES))
    assert stack_features(proba, None, w, spans=False).shape == (4, len(STACK_FEATURES))
    assert stack_features(proba[:0], None, w[:0], spans=True).shape == (0, len(STACK_FEATURES) + len(SPAN_FEATURES))


def test_a_model_saved_before_the_span_columns_keeps_reading_without_them():
    state = LineClassifier().__getstate__()
    del state["spans"]
    old = LineClassifier.__new__(LineClassifier)
    old.__setstate__(state)
    assert old.spans is False
    new = LineClassifier.__new__(LineClassifier)
    new.__setstate__(LineClassifier().__getstate__())
    assert new.spans is True


def test_predict_text_and_html_contract(tiny_detector):
    html, gold, related = make_article(101)
    res = tiny_detector.predict(html=html, url="https://news.example/a/1")
    assert {l.label for l in res.lines} <= set(LABELS)
    assert all(0.0 <= l.score <= 1.0 for l in res.lines)
    assert res.content == "\n".join(l.text for l in res.lines if l.label == "content")
    for para in gold.split("\n")[1:]:
        assert para in res.content
    assert "Privacy policy" not in res.content and "World" not in res.content.split("\n")
    items = [item for block in res.related_links for item in block["items"]]
    assert {i["text"] for i in items} == set(related)
    assert all(i["url"].startswith("https://news.example/news/") for i in items)

    text, labels = make_text_article(102)
    res = tiny_detector.predict(text=text)
    assert [l.label for l in res.lines] == labels
    with pytest.raises(ValueError):
        tiny_detector.predict()


def test_predict_many_order_and_errors(tiny_detector):
    records = [{"id": str(i), "text": make_text_article(i)[0]} for i in range(5)]
    records.insert(2, {"id": "bad", "html": 3})
    records.append("not a dict")
    out = list(tiny_detector.predict_many(records, batch_size=2))
    assert [r.id for r in out] == ["0", "1", "bad", "2", "3", "4", None]
    assert out[2].error == "'html' must be a string" and out[2].content is None
    assert out[-1].error and all(r.error is None for r in out[:2])
    parallel = list(tiny_detector.predict_many(records, n_jobs=2, batch_size=2))
    assert [r.to_record() for r in parallel] == [r.to_record() for r in out]
    import threading  # a caller's own field that cannot be pickled stays in the calling process

    own = [{**r, "lock": threading.Lock()} if isinstance(r, dict) else r for r in records]
    assert [r.to_record() for r in tiny_detector.predict_many(own, n_jobs=2, batch_size=2)] == [r.to_record() for r in out]


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_when_the_callers_records_fail_the_ones_given_before_are_still_labelled(tiny_detector, n_jobs):
    def records():
        for i in range(5):
            yield {"id": str(i), "text": make_text_article(i)[0]}
        raise RuntimeError("the caller's source broke")

    got = []
    with pytest.raises(RuntimeError, match="source broke"):
        for res in tiny_detector.predict_many(records(), n_jobs=n_jobs, batch_size=8):
            got.append(res.id)
    assert got == ["0", "1", "2", "3", "4"]
    # and a source that ends on a full batch ends cleanly
    assert [r.id for r in tiny_detector.predict_many(({"id": str(i), "text": "A line."} for i in range(8)), n_jobs=n_jobs, batch_size=4)] == [str(i) for i in range(8)]


def test_predict_many_refuses_wrong_arguments_at_once(tiny_detector):
    text = make_text_article(1)[0]
    assert [r.id for r in tiny_detector.predict_many([{"id": np.int64(5), "text": text}])] == ["5"]  # ids from numpy/pandas
    wrong = [({"records": {"text": text}}, TypeError, "not one dict"), ({"records": text}, TypeError, "not one str"),
             ({"batch_size": 0}, ValueError, "batch_size"), ({"n_jobs": -1}, ValueError, "n_jobs"),
             ({"max_page_bytes": 0}, ValueError, "None for no limit"), ({"max_page_lines": -5}, ValueError, "max_page_lines")]  # fmt: skip
    for kwargs, error, message in wrong:
        with pytest.raises(error, match=message):  # not an error record per page, nor no result at all
            list(tiny_detector.predict_many(**{"records": [{"text": text}], **kwargs}))
    with pytest.raises(ValueError, match="max_page_bytes"):
        tiny_detector.predict(text=text, max_page_bytes=-1)
    page = page_from_record({"text": text})
    for pages in (page, [{"text": text}], (p for p in [page])):
        with pytest.raises(TypeError, match="pages must be a list of Page"):
            tiny_detector.predict_pages(pages)
    assert tiny_detector.predict_pages((page,))[0].content


def test_save_load_round_trip_with_card(tiny_detector, tmp_path):
    tiny_detector.card = {"name": "tiny"}
    path = tiny_detector.save(tmp_path / "m.joblib")
    card = json.loads(card_path(path).read_text())
    assert card["sha256"] == sha256_file(path) and card["name"] == "tiny"
    again = Detector.load(path, trust=True)
    text = make_text_article(7)[0]
    assert again.predict(text=text).to_record() == tiny_detector.predict(text=text).to_record()


def test_load_errors(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        Detector.load(tmp_path / "nope.joblib")
    (tmp_path / "junk.joblib").write_bytes(b"not a pickle")
    with pytest.raises(ModelError, match="cannot load"):
        Detector.load(tmp_path / "junk.joblib", trust=True)


def test_result_jsonl_record_fields(tiny_detector):
    rec = tiny_detector.predict_records([{"id": "a", "url": "u", "text": "Hello there.\nMenu"}])[0].to_record()
    assert list(rec) == ["id", "url", "content", "lines", "related_links", "error"]
    assert rec["lines"][0]["text"] == "Hello there." and set(rec["lines"][0]) == {"text", "label", "score"}


def test_model_trained_on_other_features_is_refused(tiny_detector, tmp_path):
    import joblib

    path = tiny_detector.save(tmp_path / "m.joblib")
    blob = joblib.load(path)
    blob["features"]["text"] = blob["features"]["text"][:-1]
    joblib.dump(blob, path)
    with pytest.raises(ModelError, match="other features"):
        Detector.load(path, trust=True)
    with pytest.raises(ModelError, match="other features"):
        Detector.load(path, trust=True, kinds=["text"])
    # only the HTML classifier wanted (lent to a run that trains new text features): it loads alone
    lender = Detector.load(path, trust=True, kinds=["html"])
    assert lender.text_model is None and lender.html_model is not None
    page = {"id": "p", "html": "<p>Hello there, this is a page.</p>"}
    assert lender.predict_records([page])[0].to_record() == tiny_detector.predict_records([page])[0].to_record()


def test_a_callers_fields_named_like_the_readers_markers_are_only_extra_fields(tiny_detector):
    # readers mark unreadable and skipped records by their type, not by a field a caller could send
    records = [{"id": "a", "text": "Hello world.", "_error": "x"}, {"id": "b", "text": "Hello world.", "_skipped": 1}]
    for n_jobs in (1, 2):
        assert [(r.id, r.error) for r in tiny_detector.predict_many(records, n_jobs=n_jobs, batch_size=2)] == [("a", None), ("b", None)]


@pytest.mark.parametrize("explain", [2.5, "2", -1, True])
def test_predict_many_checks_explain(tiny_detector, explain):
    with pytest.raises(ValueError, match="explain must be an int >= 0"):
        list(tiny_detector.predict_many([{"text": "a b"}], explain=explain))
    with pytest.raises(ValueError, match="explain must be an int >= 0"):
        tiny_detector.predict_records([{"text": "a b"}], explain=explain)


def test_a_profile_of_the_wrong_type_is_a_type_error(tiny_detector):
    for call in (lambda: tiny_detector.predict(text="a b", profile="site.profile"),
                 lambda: tiny_detector.predict_records([{"text": "a b"}], profile="site.profile"),
                 lambda: list(tiny_detector.predict_many([{"text": "a b"}], profile="site.profile"))):  # fmt: skip
        with pytest.raises(TypeError, match="SiteProfile.load"):
            call()
    with pytest.raises(ValueError, match="top_k"):
        tiny_detector.explain(text="a b", top_k=0)


def test_lone_surrogates_do_not_break_output(tiny_detector):
    res = tiny_detector.predict_records([{"text": "Broken \ud800 escape in a sentence."}])[0]
    assert res.error is None
    json.dumps(res.to_record(), ensure_ascii=False).encode("utf-8")


def test_a_page_that_breaks_prediction_gets_an_error_record(tiny_detector, monkeypatch):
    import boilerdetect.model as model

    real = model.featurize

    def fragile(page, *args):
        if any("POISON" in t for t in page.texts):
            raise RuntimeError("boom")
        return real(page, *args)

    monkeypatch.setattr(model, "featurize", fragile)
    out = tiny_detector.predict_records([{"id": "a", "text": "Fine line."}, {"id": "b", "text": "POISON"}])
    assert out[0].error is None and out[0].lines
    assert out[1].error == "prediction failed: RuntimeError: boom" and out[1].content is None


def test_detector_from_the_bytes_of_a_model_file(tiny_detector, tmp_path):
    path = tiny_detector.save(tmp_path / "m.joblib")
    copy = Detector.from_bytes(path.read_bytes(), {"name": "copy"}, trust=True)
    records = [{"html": make_article(900)[0]}, {"text": make_text_article(901)[0]}]
    assert [r.to_record() for r in copy.predict_records(records)] == [
        r.to_record() for r in tiny_detector.predict_records(records)
    ]
    assert copy.card == {"name": "copy"}
    with pytest.raises(ModelError, match="<model bytes>: cannot load model"):
        Detector.from_bytes(b"not a model", trust=True)


def test_an_unforeseen_parser_failure_fails_only_its_record(tiny_detector, monkeypatch):
    from boilerdetect import readers

    real = readers.segment_html

    def fragile(html, **kwargs):
        if "explode" in html:
            raise TypeError("unexpected node")
        return real(html, **kwargs)

    monkeypatch.setattr(readers, "segment_html", fragile)
    results = tiny_detector.predict_records([{"id": "a", "html": "<p>explode</p>"}, {"id": "b", "html": "<p>fine</p>"}])
    assert results[0].id == "a" and results[0].error == "cannot read the page: TypeError: unexpected node"
    assert results[1].error is None and results[1].lines


def test_fit_with_a_column_that_is_nan_throughout():
    """The site columns of pages without a profile are all NaN; scikit-learn's binner alone fails on that."""
    from boilerdetect.classifier import LineClassifier

    rng = np.random.default_rng(0)
    X_pages, y_pages = [], []
    for _ in range(6):
        X = rng.normal(size=(30, 4)).astype(np.float32)
        X[:, 3] = np.nan
        X_pages.append(X)
        y_pages.append(np.where(X[:, 0] > 0.3, "content", np.where(X[:, 1] > 0.5, "related", "boilerplate")))
    clf = LineClassifier(max_iter=10, cv=2).fit(X_pages, y_pages, groups=np.arange(6))
    assert clf.stacked
    predicted = np.concatenate(clf.predict(X_pages))
    assert (predicted == np.concatenate(y_pages)).mean() > 0.8


def test_stage_iterations_apply_only_when_stacking():
    from boilerdetect.classifier import LineClassifier

    rng = np.random.default_rng(1)
    X_pages = [rng.normal(size=(30, 3)).astype(np.float32) for _ in range(6)]
    y_pages = [np.where(X[:, 0] > 0, "content", "boilerplate") for X in X_pages]
    stacked = LineClassifier(max_iter=12, stage1_iter=5, cv=2).fit(X_pages, y_pages, groups=np.arange(6))
    assert (stacked.stage1_.n_iter_, stacked.stage2_.n_iter_) == (5, 12)
    stacked = LineClassifier(max_iter=12, stage1_iter=5, stage2_iter=8, cv=2).fit(X_pages, y_pages, groups=np.arange(6))
    assert (stacked.stage1_.n_iter_, stacked.stage2_.n_iter_) == (5, 8)
    single = LineClassifier(max_iter=12, stage1_iter=5, stage2_iter=8, stacking=False).fit(X_pages, y_pages)
    assert single.stage1_.n_iter_ == 12 and not single.stacked


def test_stage2_weight_averages_the_two_stages():
    from boilerdetect.classifier import LineClassifier

    rng = np.random.default_rng(2)
    X_pages = [rng.normal(size=(30, 3)).astype(np.float32) for _ in range(6)]
    y_pages = [np.where(X[:, 0] > 0, "content", np.where(X[:, 1] > 0.5, "related", "boilerplate")) for X in X_pages]
    clf = LineClassifier(max_iter=12, cv=2).fit(X_pages, y_pages, groups=np.arange(6))
    full = np.vstack(clf.predict_proba(X_pages))
    first = clf._ordered(clf.stage1_, clf.stage1_.predict_proba(np.vstack(X_pages))[0])
    assert np.abs(full - first).max() > 0.01  # stage 2 does change the scores, so the blend is visible
    clf.set_params(stage2_weight=0.0)
    np.testing.assert_allclose(np.vstack(clf.predict_proba(X_pages)), first, atol=1e-12)
    clf.set_params(stage2_weight=0.5)
    np.testing.assert_allclose(np.vstack(clf.predict_proba(X_pages)), (full + first) / 2, atol=1e-12)


def test_page_f1_keeps_the_lines_that_raise_the_expected_word_f1():
    from boilerdetect.classifier import page_f1_content

    w = np.full(3, 10.0)
    # expected F1 of keeping the top 1, 2, 3 lines: 18/24.5, 27/34.5, 29/44.5: the 0.45 line joins
    assert page_f1_content(np.array([0.9, 0.45, 0.1]), w).tolist() == [True, True, False]
    # 18/22 against 24/32: a 0.3 line beside a sure one does not
    assert page_f1_content(np.array([0.9, 0.3]), w[:2]).tolist() == [True, False]
    # where little is likely content, the best guess is still the likeliest lines
    assert page_f1_content(np.array([0.05, 0.3, 0.2]), w).tolist() == [False, True, True]
    # lines without words are never chosen, and nothing is when nothing can be content
    assert page_f1_content(np.array([0.9, 0.8]), np.array([10.0, 0.0])).tolist() == [True, False]
    assert not page_f1_content(np.zeros(3), w).any() and not page_f1_content(np.array([0.9]), np.zeros(1)).any()
    assert page_f1_content(np.zeros(0), np.zeros(0)).shape == (0,)


def test_page_f1_decision_only_adds_content_and_leaves_related_alone():
    from boilerdetect.classifier import LineClassifier

    proba = np.array([[0.9, 0.05, 0.05], [0.45, 0.1, 0.45], [0.4, 0.55, 0.05], [0.1, 0.1, 0.8], [0.48, 0.02, 0.5]])
    words = np.array([10.0, 10, 10, 10, 0])
    argmax = LineClassifier(decision="argmax").decide([proba], [words])[0]
    assert argmax.tolist() == [0, 0, 1, 2, 2]
    page_f1 = LineClassifier(decision="page_f1").decide([proba], [words])[0]
    # the 0.4 line most probably related stays related; the wordless line keeps its label
    assert page_f1.tolist() == [0, 0, 1, 2, 2]
    proba[1] = [0.4, 0.1, 0.5]  # now below 0.5 and not its most probable label: page_f1 takes it
    assert LineClassifier(decision="argmax").decide([proba], [words])[0][1] == 2
    assert LineClassifier(decision="page_f1").decide([proba], [words])[0][1] == 0
    with pytest.raises(ValueError, match="decision must be"):
        LineClassifier(decision="median").decide([proba])


def test_best_f1_decision_keeps_out_a_line_the_other_two_labels_outweigh():
    """A heading scored 0.40 / 0.27 / 0.33 is content by argmax and by page_f1, although it is
    more likely not content (0.60): best_f1 makes it boilerplate, its more probable other label,
    unless the page's best expected word-F1 needs it."""
    from boilerdetect.classifier import LineClassifier

    proba = np.array([[0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.40, 0.27, 0.33], [0.2, 0.5, 0.3], [0.1, 0.45, 0.45], [0.48, 0.02, 0.5]])
    words = np.array([50.0, 50, 2, 8, 8, 0])
    assert LineClassifier(decision="argmax").decide([proba], [words])[0].tolist() == [0, 0, 0, 1, 1, 2]
    assert LineClassifier(decision="page_f1").decide([proba], [words])[0].tolist() == [0, 0, 0, 1, 1, 2]
    # the two sure lines score 2 * 90 / (100 + 93.2) = 0.932, adding the heading 2 * 90.8 /
    # (102 + 93.2) = 0.930, so it stays out; a related / boilerplate tie goes to related, as in argmax
    assert LineClassifier(decision="best_f1").decide([proba], [words])[0].tolist() == [0, 0, 2, 1, 1, 2]
    # on a page whose content is uncertain the bar falls below 0.40, and the line is kept
    unsure = np.array([[0.40, 0.27, 0.33], [0.45, 0.1, 0.45]])
    assert LineClassifier(decision="best_f1").decide([unsure], [np.array([20.0, 20])])[0].tolist() == [0, 0]
    assert LineClassifier(decision="best_f1").weighs_lines and not LineClassifier().weighs_lines


def test_page_f1_below_decides_only_under_kept_pages_per_page():
    """A product grid whose tiles stage 2 scores 0.45 content / 0.55 boilerplate keeps nothing by
    argmax, although it is expected to hold 0.45 of its words: with page_f1_below 0.3 the page
    is decided as page_f1 (its tiles kept; the related line left alone). A page whose argmax
    keeps enough of its expected words keeps its argmax labels, line for line."""
    from boilerdetect.classifier import LineClassifier

    grid = np.array([[0.45, 0.0, 0.55]] * 4 + [[0.4, 0.55, 0.05], [0.05, 0.0, 0.95]])
    words = np.array([6.0, 6, 6, 6, 6, 6])
    argmax = LineClassifier(decision="argmax").decide([grid], [words])[0]
    assert argmax.tolist() == [2, 2, 2, 2, 1, 2]
    gated = LineClassifier(decision="argmax", page_f1_below=0.3)
    assert gated.weighs_lines and not LineClassifier().weighs_lines
    assert gated.decide([grid], [words])[0].tolist() == [0, 0, 0, 0, 1, 2]
    # an article: one sure paragraph holds most of the expected words, so argmax stands
    article = np.vstack([[[0.95, 0.0, 0.05]], grid])
    assert gated.decide([article], [np.array([60.0, *words])])[0].tolist() == [0, 2, 2, 2, 2, 1, 2]
    # the bar is a share of the words expected (57 + 10.8 + 2.4 + 0.3 = 70.5): the 60 kept are over 0.3 of them, under 0.9
    assert LineClassifier(decision="argmax", page_f1_below=0.9).decide([article], [np.array([60.0, *words])])[0].tolist() == [0, 0, 0, 0, 0, 1, 2]
    # the other decisions are per page already: the parameter changes nothing there
    for decision in ("best_f1", "page_f1"):
        plain = LineClassifier(decision=decision).decide([grid], [words])[0]
        assert LineClassifier(decision=decision, page_f1_below=0.3).decide([grid], [words])[0].tolist() == plain.tolist()
    assert gated.decide([np.zeros((0, 3))], [np.zeros(0)])[0].shape == (0,)


def test_page_f1_decision_reaches_labels_through_the_detector(tiny_detector, monkeypatch):
    """The detector weighs lines by their words: a 0.3 line of twenty words beside a sure line of
    one word joins the content (2 * 6.9 / 27.9 beats 1.8 / 7.9), where by line count it would not."""
    import copy

    detector = copy.deepcopy(tiny_detector)
    proba = np.array([[0.9, 0.0, 0.1], [0.3, 0.0, 0.7]])
    monkeypatch.setattr(type(detector.text_model), "predict_proba", lambda self, X_pages, regions=None, texts=None: [proba] * len(X_pages))
    page = "Headline\n" + " ".join(f"word{i}" for i in range(20))
    assert [l.label for l in detector.predict(text=page).lines] == ["content", "boilerplate"]
    detector.text_model.set_params(decision="page_f1")
    result = detector.predict(text=page)
    assert [l.label for l in result.lines] == ["content", "content"]
    assert [l.score for l in result.lines] == [0.9, 0.3]  # the probabilities are untouched


def test_a_model_saved_before_a_parameter_existed_gets_its_default():
    import pickle

    from boilerdetect.classifier import LineClassifier

    rng = np.random.default_rng(3)
    X_pages = [rng.normal(size=(20, 3)).astype(np.float32) for _ in range(2)]
    clf = LineClassifier(max_iter=10, stacking=False).fit(X_pages, [np.where(X[:, 0] > 0, "content", "boilerplate") for X in X_pages])
    del clf.stage1_iter, clf.stage2_weight, clf.decision  # as pickled by a version without these parameters
    old = pickle.loads(pickle.dumps(clf))
    assert old.get_params()["stage1_iter"] is None and old.stage2_weight == 1.0 and old.decision == "argmax"
    assert "LineClassifier(max_iter=10, stacking=False)" == repr(old)


def test_predicting_loads_no_scikit_learn(tmp_path):
    """The trees are flat arrays (trees.py): loading the shipped model and predicting, from the
    library and from the CLI, never imports scikit-learn (about a second and 140 MB a process);
    adaptation, which continues scikit-learn's boosting, loads the boosters when it needs them."""
    import subprocess
    import sys

    sample = Path(__file__).resolve().parent.parent / "boilerdetect" / "samples" / "news.txt"
    code = (
        "import sys; from boilerdetect.model import Detector; d = Detector.load(); "
        f"r = d.predict(text=open({str(sample)!r}).read()); "
        "assert r.lines and 'sklearn' not in sys.modules, sorted(m for m in sys.modules if 'sklearn' in m)[:5]; "
        "assert d.text_model.boosters_['stage1'].n_iter_ == d.text_model.stage1_.n_iter_; "
        "assert 'sklearn' in sys.modules"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    cli = "import sys, runpy; sys.argv = ['boilerdetect', 'predict', %r, '--quiet']; " % str(sample)
    cli += "import atexit; atexit.register(lambda: sys.stderr.write('SKLEARN' if 'sklearn' in sys.modules else 'NONE')); "
    cli += "from boilerdetect.cli import main; main()"
    done = subprocess.run([sys.executable, "-c", cli], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() and done.stderr.endswith("NONE"), done.stderr[-2000:]

def test_shipped_model_is_the_recipe_of_the_build_script(shipped_detector):
    """models/default.joblib must be what training/build.sh makes: a recipe changed without a
    retrain (or the reverse) would ship a model whose card and figures no longer match the script.
    The script's arguments are read by the CLI itself, so its defaults are not copied here."""
    import inspect
    import shlex
    from pathlib import Path

    import typer

    from boilerdetect.cli import app, train_params
    from boilerdetect.document import SOURCES
    from boilerdetect.train import _source_params

    script = (Path(__file__).resolve().parents[1] / "training" / "build.sh").read_text()
    command = script[script.index("boilerdetect.cli train"):].replace("\\\n", " ").splitlines()[0]
    def recipe(args: list[str]) -> dict:
        options = typer.main.get_command(app).commands["train"].make_context("train", args).params
        return train_params(**{name: options[name] for name in inspect.signature(train_params).parameters})

    params = recipe(shlex.split(command)[2:])
    assert shipped_detector.card["params"] == params
    assert recipe(["data.jsonl", "--out", "m.joblib"]) == params  # a plain `train` makes the shipped recipe
    for source in SOURCES:
        clf = getattr(shipped_detector, f"{source}_model")
        expected = _source_params(params, source)
        assert clf.get_params() | expected == clf.get_params(), source
        assert clf.stacked == expected["stacking"], source
        assert clf.stage1_.n_iter_ == ((expected.get("stage1_iter") if clf.stacked else None) or expected["max_iter"])
        if clf.stacked:
            assert clf.stage2_.n_iter_ == (expected["stage2_iter"] or expected["max_iter"])


def test_cross_validating_one_kind_of_page_borrows_the_other_kind_from_a_base(tiny_detector):
    from threadpoolctl import threadpool_limits

    from boilerdetect.train import cross_validate
    from conftest import synthetic_examples

    html_only = [e for e in synthetic_examples(12) if e.page.source == "html"]
    with threadpool_limits(limits=1, user_api="openmp"):
        with pytest.raises(ValueError, match="no text training pages"):
            cross_validate(html_only, 3, {"max_iter": 5})
        out = cross_validate(html_only, 3, {"max_iter": 5}, base=tiny_detector)
    assert set(out) == {"html", "oracle", "folds"} and set(out["oracle"]) == {"html"}
    assert out["html"]["pages"] == len(html_only)
    by_fold = out["html"]["word_f1_by_fold"]  # every page validated once: the overall mean lies among the folds'
    assert len(by_fold) == 3 and min(by_fold) <= out["html"]["word_f1"] <= max(by_fold)


def test_site_folds_keep_each_site_on_one_side_and_a_seed_deals_them_anew():
    from boilerdetect.train import site_folds

    groups = np.repeat([f"site{k}" for k in range(20)], np.arange(1, 21))
    for seed in (None, 1, 2):
        folds = site_folds(groups, 5, seed)
        validated = np.concatenate([test for _, test in folds])
        assert sorted(validated) == list(range(len(groups)))  # every page validated once
        for train, test in folds:
            assert not set(groups[train]) & set(groups[test])
    as_sets = lambda folds: {frozenset(groups[test]) for _, test in folds}  # noqa: E731
    assert as_sets(site_folds(groups, 5, 1)) != as_sets(site_folds(groups, 5))
    assert as_sets(site_folds(groups, 5, 1)) == as_sets(site_folds(groups, 5, 1))


def test_heading_targets_are_short_related_lines_that_open_a_block_within_their_page():
    from boilerdetect.classifier import heading_targets

    y = np.array(["content", "related", "related", "related", "boilerplate", "related", "related", "related"])
    lines = ["Body text here.", "Read more", "Item one", "Item two", "Footer", "one two three four five six seven eight nine", "x", "y"]
    assert heading_targets(y, lines, [8]).tolist() == [False, True, False, False, False, False, False, False]
    # the same labels as two pages split after "Item one": "Item one" ends its page, "Item two" starts the next
    assert heading_targets(y, lines, [3, 5]).tolist() == [False, True, False, False, False, False, False, False]
    assert heading_targets(y, lines, [2, 6]).tolist() == [False, False, True, False, False, False, False, False]
    assert not heading_targets(np.array(["related", "related"]), ["", "b"], [2]).any()  # a heading has words
    # pages without lines, first, between and last, change nothing (one last used to index past the end)
    assert heading_targets(y, lines, [0, 2, 0, 6, 0]).tolist() == heading_targets(y, lines, [2, 6]).tolist()


def test_a_vocabulary_model_reads_the_lines_words_in_stage_2(tmp_path):
    from threadpoolctl import threadpool_limits

    from boilerdetect import Detector
    from boilerdetect.adapt import adapt_detector
    from boilerdetect.classifier import STACK_FEATURES, WORD_STACK_FEATURES, heading_targets
    from boilerdetect.features import hashed_words
    from boilerdetect.train import featurize_examples, fit_detector
    from conftest import make_text_article, synthetic_examples

    examples = synthetic_examples(12)
    with threadpool_limits(limits=1, user_api="openmp"):
        det = fit_detector(examples, {"max_iter": 20, "cv": 3, "vocabulary_inputs": ["text"]})
    text, plain = det.text_model, det.html_model
    assert text.vocabulary and hasattr(text, "words_") and not plain.vocabulary and not hasattr(plain, "words_")
    n_text = featurize_examples(examples[1:2])[0].shape[1]
    span = 4  # plain-text pages get the span columns too
    assert text.stage2_.n_features_in_ == n_text + len(STACK_FEATURES) + span + len(WORD_STACK_FEATURES)
    pages = [e for e in examples if e.page.source == "text"][:3]
    X = featurize_examples(pages)
    with pytest.raises(ValueError, match="give texts"):
        text.predict_proba(X)
    proba = text.predict_proba(X, None, [e.page.texts for e in pages])
    assert [p.shape for p in proba] == [(len(e.page.lines), 3) for e in pages]
    # its probabilities are the linear model's, summed from the hashed words without the matrix
    lines = [t for e in pages for t in e.page.texts] + ["", "Ünïcode words words"]
    train = [t for e in examples for t in e.page.texts if e.page.source == "text"]
    linear = text.words_.linear_model().fit(hashed_words(train), np.concatenate([e.labels for e in examples if e.page.source == "text"]))
    assert np.array_equal(linear.coef_, text.words_.coef_) and list(text.words_.classes_) == ["boilerplate", "content", "related"]
    assert np.allclose(text.words_.predict_proba(lines), linear.predict_proba(hashed_words(lines)), rtol=1e-12)
    # the word model learnt which words content lines use, and stage 2 is given its scores per line
    words = np.concatenate(text.word_probas([e.page.texts for e in pages], [len(e.page.lines) for e in pages]))
    gold = np.concatenate([e.labels for e in pages])
    assert words[gold == "content", 0].mean() > 0.5 > words[gold == "boilerplate", 0].mean()
    # and the second word model, which lines head a related block ("Latest articles" here)
    lines = [t for e in pages for t in e.page.texts]
    heads = heading_targets(gold, lines, [len(e.page.lines) for e in pages])
    p_heading = text.heading_words_.predict_proba(lines)[:, list(text.heading_words_.classes_).index(True)]
    assert heads.sum() == len(pages) and p_heading[heads].min() > p_heading[~heads].max()
    # at decision time it labels related the short boilerplate line above a run of 3 related lines
    page = ["A paragraph of the article, long enough to be content.", "Latest articles", "One headline here", "Another headline here",
            "A third headline here", "Latest articles", "Two more", "headlines"]  # fmt: skip
    proba = np.array([[0.9, 0.05, 0.05], [0.3, 0.2, 0.5]] + [[0.1, 0.8, 0.1]] * 3 + [[0.3, 0.2, 0.5]] + [[0.1, 0.8, 0.1]] * 2)
    decided = lambda clf: [LABELS[i] for i in clf.decide([proba], None, [page])[0]]  # noqa: E731
    assert decided(text) == ["content", "related", "related", "related", "related", "boilerplate", "related", "related"]
    assert decided(copy.copy(text).set_params(heading_threshold=None))[1] == "boilerplate"
    assert decided(copy.copy(text).set_params(heading_threshold=1.0))[1] == "boilerplate"
    with pytest.raises(ValueError, match="give texts"):
        text.decide([proba])
    # through the detector, its explanations, a save and load, and an adaptation
    article, _ = make_text_article(99)
    res = det.explain(text=article, top_k=2)
    assert res.lines and len(res.explanations) == len(res.lines)
    det.save(tmp_path / "m.joblib")
    again = Detector.load(tmp_path / "m.joblib", trust=True)
    assert [l.label for l in again.predict(text=article).lines] == [l.label for l in det.predict(text=article).lines]
    with threadpool_limits(limits=1, user_api="openmp"):
        adapted = adapt_detector(det, pages, extra_iter=3)
    assert adapted.text_model.words_ is text.words_ and adapted.text_model.stage2_.n_iter_ == text.stage2_.n_iter_ + 3


def test_stacking_on_too_few_sites_is_refused_before_any_fitting():
    from boilerdetect.classifier import LineClassifier

    rng = np.random.default_rng(0)
    X = [rng.normal(size=(30, 5)) for _ in range(6)]
    y = [np.array(["content", "boilerplate", "related"] * 10) for _ in range(6)]
    with pytest.raises(ValueError, match="at least 4 sites .* these have 3"):
        LineClassifier(max_iter=5, stacking=True, cv=4).fit(X, y, groups=["a", "b", "c", "a", "b", "c"])
