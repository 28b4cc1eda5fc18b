"""The vectorised feature and segmentation helpers agree with plain per-line loops."""

import re

import numpy as np
import pytest

from boilerdetect.document import Line, Page
from boilerdetect.features import (
    HTML_FEATURE_NAMES,
    STOPWORDS,
    TERMINAL,
    _ancestor_matrix,
    _region_keys,
    _word_facts,
    featurize,
    region_keys,
)
from boilerdetect.html import MAX_ANCESTORS, segment_html

LINES = [
    "Hello World, this is the First line.",
    "2024",  # no words of letters, still a word
    "…",  # no word at all
    "Ⅻ ² İstanbul straße ΣΊΣΥΦΟΣ",  # non-ASCII case and digits
    "menu: Home | About",
    "日本語のテキスト。",
    "a",
]


def _plain_word_facts(text: str, title_words: frozenset) -> tuple:
    words = re.findall(r"\w+", text)
    nw = len(words)
    lower = [w.lower() for w in words]
    first = re.search(r"[^\W\d_]", text)
    return (
        nw,
        sum(map(len, words)) / nw if nw else 0.0,
        float(text[-1] in TERMINAL),
        float(text[-1] == ":"),
        float(first is not None and first.group().isupper()),
        sum(w[0].isupper() for w in words) / nw if nw else 0.0,
        sum(w in STOPWORDS for w in lower) / nw if nw else 0.0,
        text.count(",") / max(nw, 1),
        sum(w in title_words for w in lower) / nw if nw and title_words else 0.0,
    )


def test_word_facts_match_a_loop_per_line():
    for title in (frozenset(), frozenset({"hello", "istanbul", "home"})):
        expected = np.array([_plain_word_facts(t, title) for t in LINES], dtype=float).T
        assert np.array_equal(np.array(_word_facts(LINES, title)), expected)


def _page(paths: list[tuple]) -> Page:
    return Page([Line(f"line {i}", ancestors=p) for i, p in enumerate(paths)], source="html")


def test_ancestor_paths_and_region_keys_match_a_loop():
    paths = [(), (1,), (1, 2), (1, 2, 3, 4, 5), (1, 2, 3), (7, 8, 9, 10)]
    ids, lengths = _ancestor_matrix(_page(paths))
    assert lengths.tolist() == [len(p) for p in paths]
    assert [tuple(row[:n]) for row, n in zip(ids.tolist(), lengths)] == paths
    expected = [[p[-1 - k] if len(p) > k else 0 for k in (1, 2, 4)] for p in paths]
    assert _region_keys(ids, lengths).tolist() == expected
    assert region_keys(_page([(), ()])).tolist() == [[0, 0, 0], [0, 0, 0]]


def test_shared_path_with_the_h1_line():
    html = (
        "<div><section><p>before</p><h1>Title</h1><article><p>body</p><div><p>deeper</p></div></article>"
        "</section></div><footer><p>foot</p></footer>"
    )
    page = segment_html(html)
    X = featurize(page)
    column = X[:, HTML_FEATURE_NAMES.index("h1_common_depth")]
    h1 = next(l for l in page.lines if l.tag == "h1").ancestors
    expected = []
    for line in page.lines:
        shared = 0
        for a, b in zip(line.ancestors, h1):
            if a != b:
                break
            shared += 1
        expected.append(np.float32(shared / max(len(line.ancestors), 1)))
    assert column.tolist() == expected


def test_deep_pages_keep_the_facts_of_their_innermost_ancestors_only():
    outer = MAX_ANCESTORS + 10
    html = '<div class="outerwrap" hidden>' + "<div>" * outer + '<p class="inner">deep</p>' + "</div>" * outer + "</div>"
    line = segment_html(html).lines[0]
    assert len(line.ancestors) == MAX_ANCESTORS and line.depth == outer + 4  # html, body, outer div, p
    assert line.attr_tokens == {"inner"} and not line.hidden
    assert line.ancestor_tags == {"div", "p"}
    shallow = segment_html('<div class="outerwrap" hidden><p class="inner">near</p></div>').lines[0]
    assert shallow.attr_tokens == {"outerwrap", "inner"} and shallow.hidden


def test_flat_tree_prediction_is_sklearns_to_the_bit(shipped_detector, tiny_detector, tree_walk):
    from conftest import synthetic_examples

    rng = np.random.default_rng(0)
    pages = [e.page for e in synthetic_examples(6)]
    for detector in (shipped_detector, tiny_detector):
        for source in ("html", "text"):
            model = detector._model_for(source)
            X = np.vstack([featurize(p) for p in pages if p.source == source]).astype(float)
            stages = [(model.stage1_, model.boosters_["stage1"])] + ([(model.stage2_, model.boosters_["stage2"])] if model.stacked else [])
            for trees, booster in stages:
                Xb = np.hstack([X, rng.random((len(X), booster.n_features_in_ - X.shape[1]))])
                # values exactly on, just off and far from the bin thresholds, missing and infinite ones
                for j, edges in enumerate(booster._bin_mapper.bin_thresholds_):
                    if len(edges):
                        near = rng.choice(edges, len(X)) + rng.choice([-1e-9, 0.0, 1e-9], len(X))
                        Xb[:, j] = np.where(rng.random(len(X)) < 0.5, Xb[:, j], near)
                Xb[rng.random(Xb.shape) < 0.02] = np.nan
                Xb[0], Xb[1] = np.inf, -np.inf
                for values in (Xb, Xb.astype(np.float32)):
                    assert np.array_equal(trees.predict_proba(values)[0], booster.predict_proba(values))


def test_binning_gives_sklearns_bins(shipped_detector, monkeypatch):
    # bins compared directly, every value of every column: on, just off and far from the edges,
    # missing and infinite, float32 and float64, and with the first columns' bins reused
    import boilerdetect.trees as trees
    from sklearn.ensemble._hist_gradient_boosting._binning import _map_to_bins

    if trees._treewalk is None:
        pytest.skip("the compiled loops (boilerdetect/_treewalk.c) are not built here")
    rng = np.random.default_rng(1)
    mapper = shipped_detector.html_model.boosters_["stage2"]._bin_mapper
    bins = shipped_detector.html_model.stage2_.bins
    edges = mapper.bin_thresholds_
    X = np.column_stack([rng.choice(e, 500) + rng.choice([-1e-7, 0.0, 1e-7], 500) if len(e) else rng.random(500) for e in edges])
    X[rng.random(X.shape) < 0.05] = np.nan
    X[0], X[1], X[2] = np.inf, -np.inf, 0.0
    for values in (X, X.astype(np.float32)):
        compiled = bins.bin(values)
        reused = bins.bin(values, (compiled[:, :7], bins))
        with monkeypatch.context() as m:
            m.setattr(trees, "_treewalk", None)
            by_numpy = bins.bin(values)
        expected = np.empty(values.shape, dtype=np.uint8, order="F")
        _map_to_bins(np.asfortranarray(values, dtype=np.float64), mapper.bin_thresholds_, mapper.is_categorical_, mapper.missing_values_bin_idx_, 1, expected)
        assert np.array_equal(compiled, expected) and np.array_equal(reused, expected) and np.array_equal(by_numpy, expected)
        assert compiled.flags.f_contiguous and (compiled == mapper.missing_values_bin_idx_).any()


def test_attribute_groups_token_by_token_match_a_search_of_the_joined_tokens():
    from boilerdetect.features import _ATTR_RE, _attr_bits

    vocabulary = (
        "nav menu ads ad adsense shadow tags tag stage sign up design signup sr only asr screen reader "
        "visually hidden header sidebar content item related popup popular x".split()
    )
    rng = np.random.default_rng(0)
    sets = [frozenset(), frozenset({"design", "up"}), frozenset({"asr", "only"}), frozenset({"ad", "s"})]
    sets += [frozenset(rng.choice(vocabulary, rng.integers(1, 6))) for _ in range(500)]
    for tokens in sets:
        joined = " ".join(sorted(tokens))
        bits = _attr_bits(tokens)
        assert bits >> len(_ATTR_RE) == 0, tokens
        assert [bool(bits >> i & 1) for i in range(len(_ATTR_RE))] == [bool(joined and rx.search(joined)) for rx in _ATTR_RE.values()], tokens


def test_lines_matching_agrees_with_a_search_of_each_line():
    from boilerdetect.features import BOILERPLATE_WORDS, DATE, _lines_matching, _literal_prefix

    assert [_literal_prefix(a) for a in (r"log ?in", r"comments?\b", r"\(c\)", r"home\b", r"\bx", "ab*")] == [
        "log", "comment", "(c)", "home", "", "a",
    ]  # fmt: skip
    lines = LINES + [
        "log in or login", "homes and home", "comments", "(c) 2024 © acme", "see all sharepoint menus",
        "posted by  a", "share", "no match here", "hom", "e", "mentions légales", "shared 3 days ago 12:30",
    ]  # fmt: skip
    rng = np.random.default_rng(0)
    for _ in range(50):
        texts = [t.lower() for t in rng.choice(lines, rng.integers(1, 12))]
        only = rng.random(len(texts)) < 0.6
        for pattern in (BOILERPLATE_WORDS, DATE):
            expected = [bool(pattern.search(t)) for t in texts]
            assert _lines_matching(pattern, texts).tolist() == expected
            assert _lines_matching(pattern, texts, only).tolist() == [e and o for e, o in zip(expected, only)]


def test_pattern_features_land_on_their_own_line_after_text_that_lower_casing_lengthens():
    texts = ["İ" * 10, "12:30 x", "y"]  # "İ".lower() is two characters
    X = featurize(Page([Line(t) for t in texts], source="text"))
    assert X[:, HTML_FEATURE_NAMES.index("date_like")].tolist() == [0.0, 1.0, 0.0]


def test_class_id_role_tokens_per_value_are_those_of_the_joined_values():
    from boilerdetect.html import _ALPHA_TOKEN, _CAMEL, _attr_tokens

    def joined_tokens(values):
        raw = " ".join(v for v in values if v)
        lower = raw.lower() if raw.lower() == raw else _CAMEL.sub(" ", raw).lower()
        return frozenset(_ALPHA_TOKEN.findall(lower))

    values = [None, "", "main-nav", "postBody", "ÉtéMenu x9", "elementor-1243 c0adf900", "navBar HEADER", "a"]
    for cls in values:
        for id_ in values:
            for role in values[:4]:
                attrs = {k: v for k, v in (("class", cls), ("id", id_), ("role", role)) if v is not None}
                assert _attr_tokens(attrs) == joined_tokens((cls, id_, role)), attrs


def _sklearn_proba(model, X: list, regions: list) -> np.ndarray:
    """A LineClassifier's probabilities computed by scikit-learn's own predict_proba, stage by stage."""
    from boilerdetect.classifier import _split

    boosters = model.boosters_
    proba = model._ordered(boosters["stage1"], boosters["stage1"].predict_proba(np.vstack(X)))
    if model.stacked:
        S = model._stack(_split(proba, [len(x) for x in X]), regions, X)
        proba = model._ordered(boosters["stage2"], boosters["stage2"].predict_proba(np.hstack([np.vstack(X), S])))
    return proba


def _pages_of(examples, source: str) -> tuple[list, list]:
    from boilerdetect.features import region_keys

    pages = [e.page for e in examples if e.page.source == source]
    return [featurize(p) for p in pages], [region_keys(p) for p in pages]


def test_stage_two_reuses_stage_ones_bins_to_the_bit(tiny_detector):
    from conftest import synthetic_examples

    from boilerdetect.classifier import _split

    examples = synthetic_examples(4)
    for source in ("html", "text"):
        model = tiny_detector._model_for(source)
        X, regions = _pages_of(examples, source)
        assert model.stacked
        assert np.array_equal(np.vstack(model.predict_proba(X, regions)), _sklearn_proba(model, X, regions))
        # the reused columns are binned exactly as stage 2's own binner bins them
        first, binned = model.stage1_.predict_proba(np.vstack(X))
        XS = np.hstack([np.vstack(X), model._stack(_split(model._ordered(model.stage1_, first), [len(x) for x in X]), regions, X)])
        first_bins, second_bins = model.stage1_.bins, model.stage2_.bins
        assert first_bins.shares_edges(second_bins, X[0].shape[1]) and not first_bins.shares_edges(second_bins, XS.shape[1])
        assert np.array_equal(second_bins.bin(XS, (binned, first_bins)), second_bins.bin(XS))


def test_an_adapted_model_predicts_as_sklearn_does(tiny_detector, tree_walk):
    """Adaptation continues boosting on new data, which re-bins: the first trees' bins are the base model's."""
    from conftest import synthetic_examples

    from boilerdetect.adapt import adapt_detector

    examples = synthetic_examples(4)
    adapted = adapt_detector(tiny_detector, examples)
    for source in ("html", "text"):
        model = adapted._model_for(source)
        X, regions = _pages_of(examples, source)
        assert model.stacked  # stage 2 reads stage 1's output: both must be right
        # each run of trees reads its own bins: the base model's, then the adaptation's
        assert [start for start, _ in model.boosters_["stage1"].binners_] == [0, tiny_detector._model_for(source).stage1_.n_iter_]
        assert len(model.stage1_.runs) == 2
        assert np.array_equal(np.vstack(model.predict_proba(X, regions)), _sklearn_proba(model, X, regions))
