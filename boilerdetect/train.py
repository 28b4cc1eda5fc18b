"""Training and grouped cross-validation of a :class:`Detector` on labelled examples."""

from __future__ import annotations

import platform
import sys
import zlib
from datetime import datetime, timezone
from itertools import repeat

import numpy as np
from sklearn.model_selection import GroupKFold

from .classifier import REGION_STACK_FEATURES, SPAN_FEATURES, STACK_FEATURES, WORD_STACK_FEATURES, LineClassifier
from .datasets import Example
from .document import LABELS, SOURCES, cycle_collector_paused
from .evaluate import summarize, word_f1
from .features import HTML_FEATURES, PROFILE_FEATURES, TEXT_FEATURES, URL_FEATURES, featurize, profile_features, region_keys
from .model import Detector
from .profile import SiteProfile

PROFILE_SHARE = 0.5  # share of training pages that see their site profile; the rest learn to do without
URL_SHARE = 0.5  # share of plain-text training pages that keep their URL; the rest learn to do without


def _chosen(example: Example, share: float, salt: bytes = b"") -> bool:
    """Whether ``example`` is among a stable ``share`` of the pages (a hash of its id or URL and
    ``salt`` decides, so a page and its text twin agree, and each salt picks its own pages)."""
    key = salt + (example.page.id or example.page.url or "").encode()
    return share >= 1 or zlib.crc32(key) % 1000 < share * 1000


def with_site_profiles(examples: list[Example], features: list[np.ndarray], share: float = PROFILE_SHARE) -> list[np.ndarray]:
    """The feature matrices with the site columns filled for ``share`` of the pages.

    Each chosen page (a stable hash of its id or URL decides, so a page and its text twin agree)
    gets :data:`PROFILE_FEATURES` from a profile of the other given pages of the same site
    (``Example.group``) and kind. Only pages passed in are profiled: given one side of a
    site-grouped split, no page of the other side leaks in. ``features`` are left untouched.
    """
    profiles: dict[tuple[str, str], SiteProfile] = {}
    for e in examples:
        profiles.setdefault((e.group, e.page.source), SiteProfile()).add(e.page)
    out = []
    n_site = len(PROFILE_FEATURES)
    for e, X in zip(examples, features):
        if not _chosen(e, share):
            out.append(X)
            continue
        X = X.copy()
        X[:, -n_site:] = profile_features(e.page, profiles[(e.group, e.page.source)])
        out.append(X)
    return out


def with_hidden_urls(examples: list[Example], features: list[np.ndarray], share: float = URL_SHARE) -> list[np.ndarray]:
    """The feature matrices with the :data:`URL_FEATURES` of plain-text pages blanked (NaN, as for
    a page given without a URL) on all but a stable ``share`` of them. Users send text without a
    URL too, and a model that never saw one would take such a page for an arbitrary kind of page.
    ``features`` are left untouched."""
    cols = [i for i, name in enumerate(TEXT_FEATURES) if name in URL_FEATURES]
    out = []
    for e, X in zip(examples, features):
        if e.page.source == "text" and not _chosen(e, share, b"url "):
            X = X.copy()
            X[:, cols] = np.nan
        out.append(X)
    return out


def _source_params(params: dict, source: str) -> dict:
    """The LineClassifier parameters for one kind of page: ``params`` without ``stack_inputs``
    (the kinds that get the stacked stage, default both; stacking is turned off for the others)
    ``page_f1_inputs`` (the kinds whose ``decision`` is ``"best_f1"``, default none) and
    ``vocabulary_inputs`` (the kinds whose stage 2 reads a word model, default none), and
    ``max_leaf_nodes`` given per kind (``{"html": 63}``) as that kind's number (a kind not named
    keeps the classifier's default)."""
    params = dict(params)
    if isinstance(leaves := params.pop("max_leaf_nodes", None), dict):
        leaves = leaves.get(source)
    if leaves is not None:
        params["max_leaf_nodes"] = leaves
    if source not in params.pop("stack_inputs", SOURCES):
        params["stacking"] = False
    params["decision"] = "best_f1" if source in params.pop("page_f1_inputs", ()) else "argmax"
    params["vocabulary"] = source in params.pop("vocabulary_inputs", ())
    return params


def _fit(examples: list[Example], X: list[np.ndarray], params: dict) -> LineClassifier | None:
    if not examples:
        return None
    params = _source_params(params, examples[0].page.source)
    y = [np.asarray(e.labels) for e in examples]
    groups = np.asarray([e.group for e in examples])
    clf = LineClassifier(**params)
    if params.get("stacking", True) and len({e.group for e in examples if e.page.lines}) < clf.cv:
        clf.set_params(stacking=False)  # too few sites (with lines) to make honest out-of-fold scores
    regions = [region_keys(e.page) for e in examples] if clf.stacking else None
    texts = [e.page.texts for e in examples] if clf.stacking and clf.vocabulary else None
    return clf.fit(X, y, groups, regions, texts)


@cycle_collector_paused()  # a training set's lines are millions of objects for the collector to re-scan
def featurize_examples(examples: list[Example]) -> list[np.ndarray]:
    """:func:`featurize` of every example's page, without site profile."""
    return [featurize(e.page) for e in examples]


def fit_detector(
    examples: list[Example],
    params: dict | None = None,
    base: Detector | None = None,
    features: list | None = None,
    progress: bool = False,
) -> Detector:
    """Fit the HTML and the plain-text classifier on the examples of each kind.

    ``features`` (optional) are the examples' precomputed feature matrices, without profile.
    A kind with no examples keeps ``base``'s classifier (or fails if there is no base). Part of
    the pages learn with their site profile (:func:`with_site_profiles`), part of the plain-text pages
    without their URL (:func:`with_hidden_urls`). ``progress``: a bar on
    stderr over the two fits.
    """
    params = params or {}
    features = features if features is not None else featurize_examples(examples)
    features = with_hidden_urls(examples, with_site_profiles(examples, features))
    models = {}
    sources = SOURCES
    if progress:
        from tqdm import tqdm

        sources = tqdm(SOURCES, desc="fitting html, text models", unit="model", file=sys.stderr)
    for source in sources:
        idx = [i for i, e in enumerate(examples) if e.page.source == source]
        models[source] = _fit([examples[i] for i in idx], [features[i] for i in idx], params) or (getattr(base, f"{source}_model") if base else None)
        if models[source] is None:
            raise ValueError(f"no {source} training pages and no base model to take its classifier from")
    return Detector(models["html"], models["text"])


def report(examples: list[Example], results: list, folds=None) -> dict[str, dict]:
    """Reports per page kind (``html``/``text``): word-F1 (where gold exists) and line scores;
    ``folds`` (the cross-validation fold of each example, optional) adds word-F1 per fold."""
    rows = {s: [] for s in SOURCES}
    for e, res, fold in zip(examples, results, repeat(None) if folds is None else folds):
        rows[e.page.source].append(
            {
                "f1": word_f1(res.content, e.gold) if e.gold is not None else None,
                "page_type": e.page_type,
                "true": e.labels,
                "pred": [l.label for l in res.lines],
                "fold": None if fold is None else int(fold),
            }
        )
    return {s: summarize(r) for s, r in rows.items() if r}


def evaluate_detector(detector: Detector, examples: list[Example], features: list | None = None) -> dict[str, dict]:
    """:func:`report` of ``detector``'s predictions on the examples (``features``: precomputed, optional)."""
    return report(examples, detector.predict_pages([e.page for e in examples], features))


def oracle(examples: list[Example]) -> dict[str, float]:
    """Word-F1 of a perfect line classifier (gold-aligned labels), per page kind."""
    out = {}
    for source in SOURCES:
        f1s = [
            word_f1("\n".join(t for t, lab in zip(e.page.texts, e.labels) if lab == "content"), e.gold)
            for e in examples
            if e.gold is not None and e.page.source == source
        ]
        if f1s:
            out[source] = float(np.mean(f1s))
    return out


def site_folds(groups: np.ndarray, n_splits: int, seed: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, validation) page indices of each fold; no site is on both sides of a fold.

    Sites are dealt out by size so that folds are even, or at random with ``seed``.
    """
    splitter = GroupKFold(n_splits) if seed is None else GroupKFold(n_splits, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(groups)), groups=groups))


def cross_validate(
    examples: list[Example],
    n_splits: int = 5,
    params: dict | None = None,
    progress: bool = False,
    features=None,
    only_folds: int | None = None,
    site_profiles: bool = False,
    base: Detector | None = None,
    split_seed: int | None = None,
) -> dict:
    """Grouped k-fold CV: each site's pages are validated by a model that never saw the site.

    ``features`` optionally gives the examples' precomputed feature matrices (without profile);
    ``only_folds`` validates only the first K folds (quick comparisons), reporting on those
    pages alone. ``site_profiles`` gives every validated page the profile of the other
    validated pages of its site (as ``predict --auto-profile`` on a crawl would). ``base``
    lends its classifier to a kind of page with no examples, as in :func:`fit_detector`.
    ``split_seed`` deals the sites into folds at random with this seed instead of by size: a
    second, independent split on which to re-check a change chosen on the usual one.
    """
    groups = np.asarray([e.group for e in examples])
    n_splits = min(n_splits, len(set(groups)))
    if n_splits < 2:
        raise ValueError("cross-validation needs pages from at least two sites")
    features = features if features is not None else featurize_examples(examples)
    predicted: list = [None] * len(examples)
    folds = site_folds(groups, n_splits, split_seed)[:only_folds]
    if progress:
        from tqdm import tqdm

        folds = tqdm(folds, desc="cross-validation", unit="fold", file=sys.stderr)
    fold_of = np.full(len(examples), -1)
    for k, (train_idx, test_idx) in enumerate(folds):
        fold_of[test_idx] = k
        detector = fit_detector([examples[i] for i in train_idx], params, base, [features[i] for i in train_idx])
        scored = [examples[i].evaluated or examples[i] for i in test_idx]  # the form a page is scored in
        test_features = [features[i] if examples[i].evaluated is None else featurize(e.page) for i, e in zip(test_idx, scored)]
        if site_profiles:
            test_features = with_site_profiles(scored, test_features, share=1.0)
        for i, res in zip(test_idx, detector.predict_pages([e.page for e in scored], test_features)):
            predicted[i] = res
    validated = [i for i, res in enumerate(predicted) if res is not None]
    examples = [examples[i].evaluated or examples[i] for i in validated]
    out = report(examples, [predicted[i] for i in validated], fold_of[validated])
    out["oracle"] = oracle(examples)
    out["folds"] = n_splits if only_folds is None else f"{len(folds)} of {n_splits}"
    return out


def model_card(examples: list[Example], data: list[str], params: dict, cv: dict | None) -> dict:
    """The model card: what the model was trained on, with what, and how well it did."""
    import joblib
    import sklearn

    from . import __version__

    return {
        "name": "boilerdetect line classifier",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "boilerdetect_version": __version__,
        "versions": {"python": platform.python_version(), "scikit-learn": sklearn.__version__,
                     "numpy": np.__version__, "joblib": joblib.__version__},  # fmt: skip
        "labels": list(LABELS),
        "training_data": {
            "sources": data,
            "pages": {s: sum(e.page.source == s for e in examples) for s in SOURCES},
            "sites": len({e.group for e in examples}),
            "lines_per_label": {lab: sum(e.labels.count(lab) for e in examples) for lab in LABELS},
        },
        "params": params,
        "features": {"text": list(TEXT_FEATURES), "html": list(HTML_FEATURES), "stacked": list(STACK_FEATURES),
                     "stacked_per_region_level": list(REGION_STACK_FEATURES), "stacked_text": list(SPAN_FEATURES),
                     "stacked_words": list(WORD_STACK_FEATURES)},
        "cross_validation": cv,
    }
