"""Why did a line get its label? Occlusion of features, measured through the model itself.

Method
------
For every feature ``f`` the page's feature matrix is copied with column ``f`` set to a *reference*
value, and the copies go through the very ``LineClassifier.predict_proba`` that labelled the page
(both stages, with the page's DOM regions). The contribution of ``f`` to line ``i`` is::

    delta = P(label_i | page) - P(label_i | page with f set to the reference)

where ``label_i`` is the line's predicted label. ``delta > 0``: the line's actual value of ``f``
pushed it towards its label; ``delta < 0``: it held it back.

The reference is *contrastive*: the typical value of ``f`` among lines of the other labels — the
per-feature median over the training lines whose gold label differs from ``label_i``, stored on
the classifier at fit time (``LineClassifier.reference_``, shape ``(len(LABELS), n_features)``).
So the question answered is "which of this line's features, set to what a line of another label
usually has, would most weaken the decision?". A model fitted before ``reference_`` existed is
explained against the same medians taken over the page itself (lines predicted with another
label); page-wide features (page length, has an ``<h1>``...) are then equal to their reference
and get no contribution.

Why this is faithful
--------------------
Nothing is approximated by a surrogate: every delta is a difference of two outputs of the deployed
model, computed by the same code path (stage 1, stacking, region statistics) as the prediction.
For a single-stage model the lines are independent rows, so setting the column for the whole page
at once gives, for each line, exactly the effect of its own value. With the stacked stage a line's
decision also depends on its neighbours' stage-1 scores; occluding the whole column then measures
the feature's total effect on the line — through its own row and through its neighbours', which
is how the stacked model actually uses it. Trees are not additive, so the deltas of several
features need not sum to the change of probability; each is an exact answer to its own question.

Cost: one ``predict_proba`` call per batch of features, ``n_lines × n_features`` rows in all
(batches are capped at :data:`MAX_ROWS` rows to bound memory); no Python loop over lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .document import LABELS
from .features import HTML_FEATURES, TEXT_FEATURES, feature_names, line_words

if TYPE_CHECKING:  # the classifier imports this module to fit its reference
    from .classifier import LineClassifier

MAX_ROWS = 50_000  # rows per predict_proba call: ~30 MB of float32 features for HTML pages
REFERENCE_ROWS = 100_000  # lines per label the fitted reference medians are taken over, at most
_DOCS = TEXT_FEATURES | HTML_FEATURES


@dataclass(frozen=True)
class Contribution:
    """One feature's effect on one line's decision (see the module docstring).

    ``delta``: probability of the line's label minus that probability with ``feature`` set to
    ``reference``; ``value``: the line's own value of the feature.
    """

    feature: str
    delta: float
    value: float
    reference: float

    @property
    def doc(self) -> str:
        """One-line documentation of the feature (from :mod:`boilerdetect.features`)."""
        return _DOCS.get(self.feature, "")

    def to_dict(self) -> dict:
        return {
            "feature": self.feature,
            "delta": round(self.delta, 4),
            "value": round(self.value, 4),
            "reference": round(self.reference, 4),
        }


def contrast_reference(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per label, the per-feature median over the lines of the *other* labels.

    X : (n_lines, n_features); y : (n_lines,) labels (strings from LABELS).
    Returns float32 (len(LABELS), n_features). A label that every line carries falls back to the
    median of all lines. Past :data:`REFERENCE_ROWS` lines, evenly spaced lines stand for them all
    (a training set of ~10^6 lines would otherwise cost half a minute here); columns are taken a
    block at a time so that no full copy of X is made.
    """
    y = np.asarray(y)
    out = np.empty((len(LABELS), X.shape[1]), dtype=np.float32)
    for k, label in enumerate(LABELS):
        rows = np.flatnonzero(y != label)
        if len(rows) == 0:
            rows = np.arange(len(X))
        rows = rows[:: -(-len(rows) // REFERENCE_ROWS)]
        for start in range(0, X.shape[1], 16):
            out[k, start : start + 16] = np.median(X[rows, start : start + 16], axis=0)
    return out


def _reference(classifier: LineClassifier, X: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """The (len(LABELS), n_features) reference: fitted on the classifier, else from the page."""
    fitted = getattr(classifier, "reference_", None)
    if fitted is not None and fitted.shape == (len(LABELS), X.shape[1]):
        return fitted
    return contrast_reference(X, np.asarray(LABELS)[predicted])


def occlusion_deltas(
    classifier: LineClassifier,
    X: np.ndarray,
    regions: np.ndarray | None = None,
    words: np.ndarray | None = None,
    texts: list[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Occlusion of every feature on one page.

    classifier : a fitted LineClassifier; X : (n_lines, n_features) from ``featurize``;
    regions : the page's ``region_keys`` (as given to ``predict_proba``); words : (n_lines,) the
    words of each line, as the classifier's ``decide`` weighs them (optional); texts : the page's
    lines, for a classifier with ``vocabulary`` (whose word model is not occluded: it reads no feature).
    Returns ``(proba, deltas, reference_rows)``: the page's probabilities (n_lines, 3), the deltas
    (n_lines, n_features) for each line's predicted label, and the reference value each line was
    compared with (n_lines, n_features).
    """
    n, n_features = X.shape
    if n == 0:
        empty = np.zeros((0, n_features))
        return np.zeros((0, len(LABELS))), empty, empty
    def copies(k: int) -> tuple[list | None, list | None]:  # the page's regions and texts for k copies of it
        return tuple(None if value is None else [value] * k for value in (regions, texts))

    one_regions, one_texts = copies(1)
    proba = classifier.predict_proba([X], one_regions, one_texts)[0]
    predicted = classifier.decide([proba], None if words is None else [words], one_texts)[0]
    ref_rows = _reference(classifier, X, predicted)[predicted]
    rows = np.arange(n)
    base = proba[rows, predicted]
    deltas = np.zeros((n, n_features))
    # a feature already at its reference on every line cannot change anything: skip its copy
    todo = np.flatnonzero((X != ref_rows).any(axis=0))
    per_call = max(1, MAX_ROWS // n)
    for start in range(0, len(todo), per_call):
        batch = todo[start : start + per_call]
        pages = []
        for f in batch:
            occluded = X.copy()
            occluded[:, f] = ref_rows[:, f]
            pages.append(occluded)
        found = classifier.predict_proba(pages, *copies(len(pages)))
        for f, p in zip(batch, found):
            deltas[:, f] = base - p[rows, predicted]
    return proba, deltas, ref_rows


def explain_lines(
    classifier: LineClassifier, X: np.ndarray, regions: np.ndarray | None, source: str, top_k: int = 5, texts: list[str] | None = None
) -> list[list[Contribution]]:
    """Per line, up to ``top_k`` contributions with the largest ``|delta|`` (non-zero only), largest
    first; ``texts``: the page's lines, as :func:`occlusion_deltas` takes them."""
    names = feature_names(source)
    if X.shape[1] != len(names):
        raise ValueError(f"{X.shape[1]} feature columns but {len(names)} {source} feature names")
    if top_k <= 0 or len(X) == 0:  # before the occlusion: its ~n_features predictions would go unused
        return [[] for _ in range(len(X))]
    _, deltas, ref_rows = occlusion_deltas(classifier, X, regions, line_words(X), texts)
    order = np.argsort(-np.abs(deltas), axis=1, kind="stable")[:, :top_k]
    return [
        [Contribution(names[f], float(deltas[i, f]), float(X[i, f]), float(ref_rows[i, f])) for f in top if deltas[i, f] != 0]
        for i, top in enumerate(order)
    ]
