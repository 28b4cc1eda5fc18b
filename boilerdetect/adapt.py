"""Adapting a trained detector to one site from a few hand-labelled pages of it.

Boosting continues on the site's lines (scikit-learn's warm start): the base model's trees stay,
and a few extra trees correct its scores where the site differs. The labelled pages also form a
site profile among themselves, so the extra trees can use "this line is on the other pages".
"""

from __future__ import annotations

import copy

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from .classifier import LineClassifier, _split
from .datasets import Example
from .document import SOURCES
from .features import region_keys
from .trees import bin_runs
from .model import Detector
from .train import featurize_examples, with_site_profiles

# Small steps: on real multi-page sites larger ones overfit the few labelled pages (docs/sites.md).
EXTRA_ITER = 30  # extra trees per stage
LEARNING_RATE = 0.01  # of the extra trees


def _continue(booster: HistGradientBoostingClassifier, X: np.ndarray, y: np.ndarray, extra: int, learning_rate: float):
    """A copy of ``booster`` with ``extra`` more trees fitted on (X, y)."""
    model = copy.deepcopy(booster)
    unknown = set(y) - set(model.classes_)
    if unknown:
        raise ValueError(f"the base model was not trained on the label(s) {', '.join(sorted(unknown))}")
    # Weightless anchor rows, one per class of the base model: the label encoder is refitted on y and
    # must keep every class, and the binner needs one value in columns that are NaN throughout
    # (the site features of a single labelled page).
    anchors = np.repeat(X[:1], len(model.classes_), axis=0)
    anchors[:, np.isnan(X).all(axis=0)] = 0.0
    X = np.vstack([X, anchors])
    y = np.concatenate([y, model.classes_])
    weight = np.concatenate([np.ones(len(y) - len(anchors)), np.full(len(anchors), 1e-9)])
    runs = bin_runs(booster)  # the new trees read the bins of this fit; the earlier ones keep theirs
    model.set_params(warm_start=True, max_iter=model.n_iter_ + extra, learning_rate=learning_rate)
    model.fit(X, y, sample_weight=weight)
    model.binners_ = runs + [(booster.n_iter_, model._bin_mapper)]
    return model


def adapt_classifier(
    clf: LineClassifier,
    X_pages: list[np.ndarray],
    y_pages: list[np.ndarray],
    regions: list[np.ndarray] | None = None,
    extra_iter: int = EXTRA_ITER,
    learning_rate: float = LEARNING_RATE,
    texts: list[list[str]] | None = None,
) -> LineClassifier:
    """A copy of ``clf`` whose stages (stage 2 on the adapted stage 1's scores) continue on the
    pages; the word models (``vocabulary``) are kept as they are and read ``texts``, the pages' lines."""
    out = copy.copy(clf)
    X = np.vstack(X_pages)
    y = np.concatenate([np.asarray(v) for v in y_pages])
    boosters = clf.boosters_
    stage1, stage2 = _continue(boosters["stage1"], X, y, extra_iter, learning_rate), None
    if clf.stacked:
        proba = out._ordered(stage1, stage1.predict_proba(X))
        sizes = [len(x) for x in X_pages]
        S = out._stack(_split(proba, sizes), regions, X_pages, out.word_probas(texts, sizes))
        stage2 = _continue(boosters["stage2"], np.hstack([X, S]), y, extra_iter, learning_rate)
    return out.keep_boosters(stage1, stage2)


def adapt_detector(
    base: Detector,
    examples: list[Example],
    features: list[np.ndarray] | None = None,
    extra_iter: int = EXTRA_ITER,
    learning_rate: float = LEARNING_RATE,
) -> Detector:
    """``base`` adapted to the labelled pages of one site; a page kind without pages keeps base's model.

    ``features`` optionally gives the examples' :func:`featurize` matrices (without profile).
    """
    features = features if features is not None else featurize_examples(examples)
    features = with_site_profiles(examples, features, share=1.0)
    models = {}
    for source in SOURCES:
        idx = [i for i, e in enumerate(examples) if e.page.source == source]
        model = getattr(base, f"{source}_model")
        if idx:
            # a new tree splits only where both sides hold min_samples_leaf lines: with fewer than
            # twice that, every extra tree would be one leaf of value 0 and change nothing
            n_lines, leaf = sum(len(features[i]) for i in idx), model.boosters_["stage1"].min_samples_leaf
            if n_lines < 2 * leaf:
                raise ValueError(f"{n_lines} labelled lines of {source} pages are too few to adapt the model: its trees need at least {2 * leaf}; label more pages")
            # a few pages: on a loaded machine extra OpenMP threads cost seconds rather than saving time
            with threadpool_limits(limits=1, user_api="openmp"):
                model = adapt_classifier(
                    model,
                    [features[i] for i in idx],
                    [np.asarray(examples[i].labels) for i in idx],
                    [region_keys(examples[i].page) for i in idx] if model.stacked else None,
                    extra_iter,
                    learning_rate,
                    [examples[i].page.texts for i in idx] if model.reads_texts else None,
                )
        models[source] = model
    return Detector(models["html"], models["text"], dict(base.card))


def held_out_check(
    base: Detector,
    examples: list[Example],
    features: list[np.ndarray] | None = None,
    extra_iter: int = EXTRA_ITER,
    learning_rate: float = LEARNING_RATE,
) -> dict | None:
    """Whether adapting helps on these labelled pages: each page in turn is left out, the model
    adapted on the others, and both models label the left-out page.

    Returns ``{"pages", "lines", "base", "adapted"}`` (the line accuracy of each model over the
    left-out pages), or None with fewer than two pages. A page and its plain-text twin are left
    out together. Raises ValueError when the other pages are too few to adapt on.
    """
    features = features if features is not None else featurize_examples(examples)
    units: dict = {}
    for i, e in enumerate(examples):
        units.setdefault(e.page.id if e.page.id is not None else f"#{i}", []).append(i)
    if len(units) < 2:
        return None
    right = {"base": 0, "adapted": 0}
    for held in units.values():
        rest = [i for i in range(len(examples)) if i not in held]
        adapted = adapt_detector(base, [examples[i] for i in rest], [features[i] for i in rest], extra_iter, learning_rate)
        pages, feats = [examples[i].page for i in held], [features[i] for i in held]
        for name, detector in (("base", base), ("adapted", adapted)):
            for i, res in zip(held, detector.predict_pages(pages, feats)):
                right[name] += sum(line.label == truth for line, truth in zip(res.lines, examples[i].labels))
    lines = sum(len(examples[i].labels) for held in units.values() for i in held)
    return {"pages": len(units), "lines": lines, "base": right["base"] / max(lines, 1), "adapted": right["adapted"] / max(lines, 1)}
