"""The line classifier: gradient-boosted trees over line features, with a stacked second stage.

Stage 1 labels each line from its own features. Boilerplate and related lists come in blocks, so
stage 2 sees the same features plus stage 1's probabilities summarised over neighbouring lines
and over the page. Stage 2 is trained on out-of-fold stage 1 probabilities (folds grouped, e.g.
by site) so that it learns how far stage 1 can be trusted on unseen pages.
"""

from __future__ import annotations

import inspect
from functools import lru_cache
from itertools import chain
from typing import NamedTuple
from weakref import WeakKeyDictionary

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.ensemble._hist_gradient_boosting._binning import _map_to_bins
from sklearn.ensemble._hist_gradient_boosting.common import X_BINNED_DTYPE
from sklearn.model_selection import GroupKFold
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
from threadpoolctl import ThreadpoolController

from .align import MAX_HEADING_WORDS, MIN_RELATED_RUN, words
from .document import LABELS
from .explain import contrast_reference
from .features import hashed_word_scores, hashed_words, heads_run, line_words, run_length, window_mean

try:
    from . import _treewalk  # compiled at install (setup.py); optional
except ImportError:  # not built here: scikit-learn's walk gives the same scores, slower
    _treewalk = None

STACK_WINDOWS = (1, 3, 10)
STACK_FEATURES = (
    tuple(f"p_{lab}_w{w}" for w in STACK_WINDOWS for lab in ("content", "related"))
    + ("p_content", "p_related", "page_mean_p_content", "page_max_p_content", "p_content_rank")
)  # columns stage 2 adds for every page, documented in stack_features()
REGION_STACK_FEATURES = ("region_p_content", "region_p_related")  # per region level, HTML only
SPAN_FEATURES = ("span_best_f1", "in_best_span", "span_distance", "best_span_share")  # plain text only, see span_features()
WORD_STACK_FEATURES = ("words_p_content", "words_p_content_w1", "words_p_content_w3")  # with vocabulary, see word_columns()
CONTENT, RELATED, BOILERPLATE = (LABELS.index(label) for label in ("content", "related", "boilerplate"))


@lru_cache(maxsize=1)
def _thread_pools() -> ThreadpoolController:
    """The process's thread pools, looked up once: a lookup scans the loaded libraries (ms per call)."""
    return ThreadpoolController()


def one_openmp_thread():
    """Context manager: tree prediction on one OpenMP thread. Calls are small (a few pages), and on
    a loaded machine, or with worker processes, extra threads cost seconds rather than saving time."""
    return _thread_pools().limit(limits=1, user_api="openmp")


def _best_span(weighted: np.ndarray, words: np.ndarray, total: float) -> tuple[int, int, float]:
    """The run of lines i..j-1 of highest expected word-F1 2 C / (W + total), and that score.

    Dinkelbach's iteration: with lam the best score so far, the run of largest sum(2 wp - lam w)
    (a maximum-sum run, from prefix sums) scores at least lam; repeat until it no longer rises.
    """
    lam, span = 0.0, (0, len(weighted))
    for _ in range(20):  # converges in a handful of steps
        prefix = np.concatenate([[0.0], np.cumsum(2 * weighted - lam * words)])
        j = int((prefix - np.minimum.accumulate(prefix)).argmax())
        i = int(prefix[: j + 1].argmin())
        score = 2 * weighted[i:j].sum() / (words[i:j].sum() + total) if j > i else 0.0
        if j <= i or score <= lam + 1e-9:
            break
        lam, span = score, (i, j)
    return span[0], span[1], lam


def span_features(p_content: np.ndarray, words: np.ndarray) -> np.ndarray:
    """SPAN_FEATURES: the run of consecutive lines that best holds the page's content, by stage 1.

    A run S scores the expected word-F1 of keeping exactly its lines, 2 C(S) / (W(S) + C): C(S)
    is its words weighted by P(content), W(S) its words, C the page's whole C (as in
    :func:`page_f1_content`). Per line: the best run's score, whether the line is in it, its
    distance to it (lines over the page's lines), and the run's share of C. Relative to the page,
    with no parameter. p_content, words : (n_lines,). Returns (n_lines, 4).
    """
    n = len(p_content)
    out = np.zeros((n, len(SPAN_FEATURES)))
    weighted = words * p_content
    total = weighted.sum()
    if total <= 0:
        return out
    i, j, score = _best_span(weighted, words, total)
    idx = np.arange(n)
    out[:, 0] = score
    out[i:j, 1] = 1.0
    out[:, 2] = np.maximum(i - idx, idx - (j - 1)).clip(0) / n
    out[:, 3] = weighted[i:j].sum() / total
    return out


def stack_features(proba: np.ndarray, regions: np.ndarray | None = None, words: np.ndarray | None = None, spans: bool = False) -> np.ndarray:
    """Stage-2 inputs from one page's stage-1 probabilities.

    proba : (n_lines, 3) in LABELS order; regions : (n_lines, r) ancestor ids, optional;
    words : (n_lines,) the lines' words, read with ``spans``.
    Returns (n_lines, len(STACK_FEATURES) + 2 r + s): window means of P(content) and P(related)
    over i-w..i+w, the line's own probabilities, the page's mean and max P(content), the line's
    rank of P(content) within the page (0..1), then for each region level the mean P(content)
    and P(related) of the lines under the same ancestor ("shares a parent with confident
    content"), then, with ``spans`` on a page without regions (plain text, s = 4),
    :func:`span_features`.
    """
    n = len(proba)
    r = 0 if regions is None else regions.shape[1]
    spans = spans and r == 0
    if n == 0:
        return np.zeros((0, len(STACK_FEATURES) + 2 * r + spans * len(SPAN_FEATURES)), dtype=np.float32)
    pc, pr = proba[:, 0], proba[:, 1]
    cols = []
    for w in STACK_WINDOWS:  # both columns in one pass: the sums run per column, the same values
        cols += list(window_mean(proba[:, :2], w).T)
    rank = np.empty(n)
    rank[np.argsort(pc)] = np.arange(n) / max(n - 1, 1)  # the inverse of the sort order
    cols += [pc, pr, np.full(n, pc.mean()), np.full(n, pc.max()), rank]
    for j in range(r):
        _, inverse, counts = np.unique(regions[:, j], return_inverse=True, return_counts=True)
        for p in (pc, pr):
            cols.append((np.bincount(inverse, weights=p) / counts)[inverse])
    if spans:
        cols += list(span_features(pc, words).T)
    return np.column_stack(cols).astype(np.float32)


def page_f1_content(p_content: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The lines to keep so that the page's expected word-F1 is highest; bool, shape (n_lines,).

    p_content, weights : (n_lines,) each line's probability of being content and its words.
    Taking the lines as independent, keeping a set S scores about 2 sum_S(w p) / (sum_S(w) +
    sum(w p)) in expectation: the best S is the lines of highest p down to where the next one
    would lower that ratio. So a page whose content is uncertain keeps lines a single global 0.5
    would drop. Lines without words change nothing and are not chosen.
    """
    keep = np.zeros(len(p_content), dtype=bool)
    expected = float(np.dot(weights, p_content))
    if expected <= 0:
        return keep
    order = np.argsort(-p_content, kind="stable")
    w = weights[order]
    ratio = 2 * np.cumsum(w * p_content[order]) / (np.cumsum(w) + expected)
    keep[order[: int(ratio.argmax()) + 1]] = True
    return keep & (weights > 0)


def _column_major(X: np.ndarray) -> np.ndarray:
    """X as the float64 the trees' bin thresholds are, stored column by column: binning goes
    feature by feature, twice as fast with columns contiguous. The values are the same either way."""
    return np.asfortranarray(X, dtype=np.float64)


def _binned(mapper, X: np.ndarray, done: tuple | None = None) -> np.ndarray:
    """X binned by ``mapper`` (a booster's binner): one byte a value, column-major.

    ``done``: (binned, other binner) — X's first columns already binned by another binner, reused
    when its bin edges are this one's for those columns, so that only the rest is binned. That
    holds for stage 2 over stage 1: fitted on the same rows with the same seed, its binner samples
    the same values and finds the same edges (checked here, not assumed).

    The compiled loop (``_treewalk.bin_rows``) bins where it is built, from X as it is; else
    scikit-learn's, from a float64 copy, on the OpenMP threads allowed now (see
    :func:`one_openmp_thread`), not on those the binner was fitted with, which it would otherwise
    use: a model fitted on 2 threads took both cores in each of 2 worker processes.
    """
    out = np.empty(X.shape, dtype=X_BINNED_DTYPE, order="F")
    n = 0
    if done is not None:
        binned, other = done
        edges = mapper.bin_thresholds_[: binned.shape[1]]
        if other.missing_values_bin_idx_ == mapper.missing_values_bin_idx_ and all(
            np.array_equal(a, b) for a, b in zip(other.bin_thresholds_, edges)
        ):
            n = binned.shape[1]
            out[:, :n] = binned
    edges = _flat_edges(mapper) if _treewalk is not None and X.dtype in (np.float32, np.float64) and len(X) else None
    if edges is not None and edges[1].shape == (X.shape[1] + 1,):
        X = np.ascontiguousarray(X)
        # out.T: the same bytes, as the C-contiguous (n_features, n_rows) the loop writes
        _treewalk.bin_rows(X, len(X), X.itemsize, n, *edges, mapper.missing_values_bin_idx_, out.T)
        return out
    _map_to_bins(_column_major(X[:, n:]), mapper.bin_thresholds_[n:], mapper.is_categorical_[n:], mapper.missing_values_bin_idx_,
                 _openmp_effective_n_threads(), out[:, n:])  # fmt: skip
    return out


# binner -> its thresholds as one float64 array and each feature's offset into it (n_features + 1)
_EDGES: WeakKeyDictionary = WeakKeyDictionary()


def _flat_edges(mapper) -> tuple[np.ndarray, np.ndarray] | None:
    """A binner's bin thresholds, flattened once per binner and process, for the compiled binning;
    None for a binner with categorical features, which bin otherwise."""
    if mapper not in _EDGES:
        flat = None
        if not np.any(mapper.is_categorical_):
            thresholds = [np.asarray(t, dtype=np.float64) for t in mapper.bin_thresholds_]
            sizes = np.array([len(t) for t in thresholds], dtype=np.int64)
            flat = (np.concatenate(thresholds or [np.zeros(0)]), np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64))
        _EDGES[mapper] = flat
    return _EDGES[mapper]


def binners(booster: HistGradientBoostingClassifier) -> list[tuple[int, object]] | None:
    """(first iteration, binner) for each run of the booster's trees fitted on the same bins.

    One run, unless boosting was continued on other data (a model adapted to a site, which
    records its runs in ``binners_``): each fit re-bins, so the earlier trees' bins are not the
    booster's current binner's. None for a warm-started booster without that record.
    """
    if hasattr(booster, "binners_"):
        return booster.binners_
    return None if booster.warm_start else [(0, booster._bin_mapper)]


class FlatTrees(NamedTuple):
    """A run of a booster's trees as flat node arrays, for the compiled walk (``_treewalk.c``).

    Nodes of all trees one after another; ``roots`` holds each tree's first node, trees in
    scikit-learn's order (iteration by iteration, one tree per class).
    """

    feature: np.ndarray  # (n_nodes,) uint16: the feature a split reads
    threshold: np.ndarray  # (n_nodes,) uint8: bins <= threshold go left
    flags: np.ndarray  # (n_nodes,) uint8: bit 0 leaf, bit 1 missing values go left
    left: np.ndarray  # (n_nodes,) uint32: children, as indices into all nodes
    right: np.ndarray
    value: np.ndarray  # (n_nodes,) float64: a leaf's raw score
    roots: np.ndarray  # (n_trees,) uint32
    n_features: int  # splits read features below this

    @classmethod
    def of(cls, predictors: list) -> "FlatTrees | None":
        """The trees of ``predictors`` (a booster's ``_predictors`` or a slice of them) flattened;
        None where the compiled walk does not apply (categorical splits, more than 65,536 features)."""
        nodes = [tree.nodes for trees in predictors for tree in trees]
        sizes = np.array([len(n) for n in nodes], dtype=np.int64)
        if len(nodes) == 0:
            return None
        roots = np.cumsum(sizes) - sizes
        flat = np.concatenate(nodes)
        if flat["is_categorical"].any() or flat["feature_idx"].max() >= 2**16 or sizes.sum() >= 2**32:
            return None
        leaf = flat["is_leaf"].astype(bool)
        offset = np.repeat(roots, sizes)
        # a leaf's children are 0 in scikit-learn's arrays: point them at the leaf itself (never read)
        itself = np.arange(len(flat))
        return cls(
            feature=np.where(leaf, 0, flat["feature_idx"]).astype(np.uint16),
            threshold=flat["bin_threshold"].astype(np.uint8),
            flags=(leaf | (flat["missing_go_to_left"].astype(bool) << 1)).astype(np.uint8),
            left=np.where(leaf, itself, flat["left"] + offset).astype(np.uint32),
            right=np.where(leaf, itself, flat["right"] + offset).astype(np.uint32),
            value=flat["value"].astype(np.float64),
            roots=roots.astype(np.uint32),
            n_features=int(flat["feature_idx"][~leaf].max(initial=0)) + 1,
        )


# booster -> (its list of trees, {(start, end): FlatTrees}); a booster fitted again gets a new list
_FLAT: WeakKeyDictionary = WeakKeyDictionary()


def _flat_trees(booster: HistGradientBoostingClassifier, start: int, end: int) -> FlatTrees | None:
    """:meth:`FlatTrees.of` the booster's trees ``start:end``, made once per fitted booster and process."""
    trees, runs = _FLAT.get(booster, (None, None))
    if trees is not booster._predictors:
        trees, runs = _FLAT[booster] = (booster._predictors, {})
    if (start, end) not in runs:
        runs[(start, end)] = FlatTrees.of(trees[start:end])
    return runs[(start, end)]


def _add_leaf_values(booster, start: int, end: int, binned: np.ndarray, missing_bin: int, raw: np.ndarray) -> None:
    """Add to ``raw`` (n_rows, n_classes), C order, the scores of the booster's trees ``start:end``
    on ``binned`` (column-major), with the compiled walk where it is built and applies."""
    flat = _flat_trees(booster, start, end) if _treewalk is not None else None
    if flat is None or flat.n_features > binned.shape[1] or len(binned) == 0 or raw.dtype != np.float64:
        n_threads = _openmp_effective_n_threads()
        for trees in booster._predictors[start:end]:
            for k, tree in enumerate(trees):
                raw[:, k] += tree.predict_binned(binned, missing_bin, n_threads)
        return
    # binned.T: the same bytes, as the C-contiguous (n_features, n_rows) the walk reads
    _treewalk.add_leaf_values(binned.T, len(binned), missing_bin, *flat[:7], raw.shape[1], raw)


def _tree_proba(booster: HistGradientBoostingClassifier, X: np.ndarray, done: tuple | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """``booster.predict_proba(X)``, with the trees reading X binned as in training (``done`` as in
    :func:`_binned`), and X binned by the booster's current binner, for a later stage to reuse
    (None when not binned).

    A tree sends x left when x <= threshold[b], which is exactly when bin(x) <= b, so the leaves
    reached are the same; their values are added tree by tree in sklearn's order, so the result is
    the same to the bit. Bytes instead of float64 make the tree walks ~1/3 faster, and the compiled
    walk over flat nodes (:class:`FlatTrees`) another ~2.4 times. (These are
    scikit-learn internals: Detector.load refuses another scikit-learn major.minor.) Each run of
    trees (:func:`binners`) reads X binned by its own binner; without that record a warm-started
    booster is left to scikit-learn, which compares raw values.
    """
    runs = binners(booster)
    if runs is None:
        return booster.predict_proba(X), None
    raw = np.zeros((len(X), booster.n_trees_per_iteration_), dtype=booster._baseline_prediction.dtype)
    raw += booster._baseline_prediction
    ends = [start for start, _ in runs[1:]] + [len(booster._predictors)]
    for (start, mapper), end in zip(runs, ends):
        binned = _binned(mapper, X, done)
        _add_leaf_values(booster, start, end, binned, mapper.missing_values_bin_idx_, raw)
    return booster._loss.predict_proba(raw), binned


# parameters whose default changed when they were added: a model saved before has the old behaviour
_FITTED_BEFORE = {"spans": False}


def _split(values: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    return np.split(values, np.cumsum(sizes)[:-1]) if sizes else []


class WordModel:
    """P(class) of each line from its words and pairs of words (:func:`features.hashed_words`),
    by a linear model (logistic loss, fitted by SGD); the classes are those ``y`` holds."""

    def __init__(self, alpha: float = 1e-6, random_state: int = 0):
        self.alpha = alpha
        self.random_state = random_state

    def fit(self, texts: list[str], y: np.ndarray) -> "WordModel":
        from sklearn.linear_model import SGDClassifier

        self.model_ = SGDClassifier(loss="log_loss", alpha=self.alpha, max_iter=20, tol=None, random_state=self.random_state).fit(hashed_words(texts), y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """(n_lines, n_classes) in ``classes_`` order: the linear model's ``predict_proba``, from
        the hashed words' scores (:func:`features.hashed_word_scores`) without the sparse matrix."""
        if not texts:
            return np.zeros((0, len(self.classes_)))
        model = self.model_
        proba = expit(hashed_word_scores(texts, model.coef_) + model.intercept_)
        if proba.shape[1] == 1:  # two classes: one column for the second
            return np.column_stack([1 - proba[:, 0], proba[:, 0]])
        total = proba.sum(axis=1)  # one-vs-rest, normalised as scikit-learn does (uniform where all are 0)
        proba[total == 0] = 1
        return proba / np.where(total == 0, proba.shape[1], total)[:, None]


def heading_targets(y: np.ndarray, lines: list[str], sizes: list[int]) -> np.ndarray:
    """Which lines head a related block in the labels ``y`` (n_lines,) of pages of ``sizes`` lines:
    a related line of 1 to MAX_HEADING_WORDS words, not preceded by a related line of its page and
    followed by one. Bool, shape (n_lines,)."""
    related = np.asarray(y) == "related"
    firsts = np.cumsum([0] + list(sizes))[:-1]
    before, after = np.r_[False, related[:-1]], np.r_[related[1:], False]
    before[firsts] = False  # a page's first line has nothing before it, and its last line
    after[firsts[firsts > 0] - 1] = False  # nothing after it
    n_words = np.fromiter(map(len, map(words, lines)), dtype=np.int64, count=len(lines))
    return related & ~before & after & (n_words >= 1) & (n_words <= MAX_HEADING_WORDS)


def word_columns(proba: np.ndarray) -> np.ndarray:
    """WORD_STACK_FEATURES from one page's :class:`WordModel` probabilities (n_lines, 3): the
    lines' P(content) and its means over 1 and 3 lines each side; shape (n_lines, 3)."""
    return np.column_stack([proba[:, 0], window_mean(proba[:, :1], 1), window_mean(proba[:, :1], 3)]).astype(np.float32)


class LineClassifier(BaseEstimator, ClassifierMixin):
    """Classify the lines of pages into ``LABELS`` (content, related, boilerplate).

    Works on pages, not on a flat matrix, because stage 2 needs each page's neighbourhoods.

    Parameters
    ----------
    max_iter : int, default=300
        Boosting iterations of the single stage, and of each stacked stage not set below.
    stage1_iter, stage2_iter : int or None, default=None
        With stacking, boosting iterations of stage 1 (and of its out-of-fold copies) and of stage 2
        (None: max_iter). Stage 2 reads every feature too, so a short stage 1 keeps the trees
        walked per line near a single stage's.
    learning_rate : float, default=0.1
    max_leaf_nodes : int, default=31
    stacking : bool, default=True
        Add the second stage over neighbouring stage-1 probabilities.
    stage2_weight : float, default=1.0
        Share of stage 2 in the probabilities returned by a stacked model, the rest being stage 1's
        (1.0: stage 2 alone). Stage 2 learns from out-of-fold scores, where a confident stage 1 is
        sometimes wrong, and can overrule it on page shapes rare in training; averaging keeps both.
    decision : {"argmax", "best_f1", "page_f1"}, default="argmax"
        How :meth:`decide` turns probabilities into labels. "argmax": the most probable label of
        each line. "best_f1": content is what :func:`page_f1_content` keeps for the page's best
        expected word-F1, except lines most probably ``related``; every other line gets the more
        probable of ``related`` and ``boilerplate``, so a line the other two outweigh together is
        not content (0.40 content, 0.27 related, 0.33 boilerplate: boilerplate unless the page's
        bar keeps it). "page_f1", what models trained before "best_f1" use: the most probable
        label, plus as content every other line that :func:`page_f1_content` keeps and that is
        not most probably ``related``.
    spans : bool, default=True
        On pages without DOM regions (plain text), stage 2 also sees the run of lines that best
        holds the page's content by stage 1's scores (:func:`span_features`). A model saved
        before this parameter existed reads False.
    vocabulary : bool, default=False
        Stage 2 also sees what the lines' words say: the P(content) of a :class:`WordModel`
        (``words_``) over the line and its neighbours (:func:`word_columns`), out of fold in
        training as stage 1's scores are. ``fit`` and ``predict_proba`` then need the lines' texts.
    heading_threshold : float or None, default=0.005
        With ``vocabulary``, :meth:`decide` also labels ``related`` a block's heading: the line of 1
        to MAX_HEADING_WORDS words right above a run of at least MIN_RELATED_RUN lines it labels
        related, when it labels that line boilerplate and a second word model (``heading_words_``,
        fitted on the lines that head a related block in the training labels, see
        :func:`heading_targets`) gives it P(heading) at least this. None: no such labelling.
    cv : int, default=4
        Folds used to produce out-of-fold stage-1 probabilities for stage 2.
    random_state : int, default=0
    """

    def __init__(self, max_iter=300, stage1_iter=None, stage2_iter=None, learning_rate=0.1, max_leaf_nodes=31, stacking=True, stage2_weight=1.0, decision="argmax", spans=True, vocabulary=False, heading_threshold=0.005, cv=4, random_state=0):
        self.max_iter = max_iter
        self.stage1_iter = stage1_iter
        self.stage2_iter = stage2_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.stacking = stacking
        self.stage2_weight = stage2_weight
        self.decision = decision
        self.spans = spans
        self.vocabulary = vocabulary
        self.heading_threshold = heading_threshold
        self.cv = cv
        self.random_state = random_state

    def __setstate__(self, state: dict) -> None:
        # a model saved before a parameter existed gets its default, which is what it was fitted with
        defaults = {k: v.default for k, v in inspect.signature(type(self).__init__).parameters.items() if k != "self"}
        super().__setstate__(defaults | _FITTED_BEFORE | state)

    def _booster(self, max_iter: int) -> HistGradientBoostingClassifier:
        return HistGradientBoostingClassifier(
            max_iter=max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            l2_regularization=1.0,
            early_stopping=False,
            random_state=self.random_state,
        )

    def _fit_booster(self, X: np.ndarray, y: np.ndarray, max_iter: int) -> HistGradientBoostingClassifier:
        # scikit-learn's binner fails on a column that is NaN throughout (the site columns of a
        # small inner fold where no page has a profile); such a column cannot be split on, so any
        # constant stands in for it
        empty = np.isnan(X).all(axis=0)
        if empty.any():
            X = X.copy()
            X[:, empty] = 0.0
        return self._booster(max_iter).fit(X, y)

    def fit(self, X_pages: list[np.ndarray], y_pages: list[np.ndarray], groups=None, regions=None, texts=None) -> "LineClassifier":
        """Fit on pages.

        X_pages : list of arrays, each (n_lines_i, n_features)
        y_pages : list of arrays of label strings, each (n_lines_i,)
        groups : array (n_pages,), optional — site of each page, keeps sites out of their own folds
        regions : list of int arrays, each (n_lines_i, r), optional — DOM region ids for stage 2
        texts : list of lists of str, each (n_lines_i,) — the lines, needed with ``vocabulary``

        Also sets ``reference_`` (len(LABELS), n_features): what :mod:`boilerdetect.explain`
        compares a line's features with.
        """
        sizes = [len(x) for x in X_pages]
        X = np.vstack(X_pages)
        y = np.concatenate([np.asarray(v) for v in y_pages])
        self.classes_ = np.array(LABELS)
        # what explanations compare a line with: per label, the median line of the other labels
        self.reference_ = contrast_reference(X, y)
        first = (self.stage1_iter if self.stacking else None) or self.max_iter
        self.stage1_ = self._fit_booster(X, y, first)
        if self.stacking:
            oof = np.zeros((len(X), len(LABELS)))
            page_groups = np.asarray(groups if groups is not None else np.arange(len(X_pages)))
            line_groups = np.repeat(page_groups, sizes)
            lines = self._lines(texts, sizes)
            oof_words = None if lines is None else np.zeros((len(X), len(LABELS)))
            for train, test in GroupKFold(n_splits=self.cv).split(X, y, line_groups):
                model = self._fit_booster(X[train], y[train], first)
                oof[test] = self._ordered(model, model.predict_proba(X[test]))
                if lines is not None:
                    fold = WordModel(random_state=self.random_state).fit([lines[i] for i in train], y[train])
                    oof_words[test] = self._ordered(fold, fold.predict_proba([lines[i] for i in test]))
            if lines is not None:
                self.words_ = WordModel(random_state=self.random_state).fit(lines, y)
                heads = heading_targets(y, lines, sizes)  # read at decision time only: no out-of-fold copies
                self.heading_words_ = WordModel(random_state=self.random_state).fit(lines, heads) if heads.any() else None
                oof_words = _split(oof_words, sizes)
            S = self._stack(_split(oof, sizes), regions, X_pages, oof_words)
            self.stage2_ = self._fit_booster(np.hstack([X, S]), y, self.stage2_iter or self.max_iter)
        return self

    def _given_texts(self, texts, sizes: list[int]) -> bool:
        """Whether the model reads the lines' ``texts`` (``vocabulary``); they must then be one list
        of lines per page, of ``sizes`` lines."""
        if not self.vocabulary:
            return False
        if texts is None or [len(t) for t in texts] != list(sizes):
            raise ValueError("a vocabulary model reads the lines' words: give texts, one list of lines per page")
        return True

    def _lines(self, texts, sizes: list[int]) -> list[str] | None:
        """The pages' lines as one flat list (None without ``vocabulary``)."""
        return list(chain.from_iterable(texts)) if self._given_texts(texts, sizes) else None

    @property
    def reads_texts(self) -> bool:
        """Whether :meth:`predict_proba` needs the lines' ``texts`` (a stacked vocabulary model)."""
        return self.vocabulary and self.stacked

    def word_probas(self, texts, sizes: list[int]) -> list[np.ndarray] | None:
        """Per page the fitted :class:`WordModel`'s probabilities (n_lines_i, 3); None without
        ``vocabulary``. A page given more than once (explanations give the same lines once per
        occluded feature) is scored once."""
        if not self._given_texts(texts, sizes):
            return None
        distinct = {id(t): t for t in texts}
        pages = list(distinct.values())
        proba = self._ordered(self.words_, self.words_.predict_proba(list(chain.from_iterable(pages))))
        scored = dict(zip(distinct, _split(proba, [len(t) for t in pages])))
        return [scored[id(t)] for t in texts]

    def _stack(self, probas: list[np.ndarray], regions, X_pages: list[np.ndarray], words: list[np.ndarray] | None = None) -> np.ndarray:
        """Stage 2's own columns: :func:`stack_features` of each page, then, given ``words`` (per
        page :class:`WordModel` probabilities), :func:`word_columns`."""
        regions = regions if regions is not None else [None] * len(probas)
        S = np.vstack([stack_features(p, r, line_words(x), self.spans) for p, r, x in zip(probas, regions, X_pages)])
        return S if words is None else np.hstack([S, np.vstack([word_columns(w) for w in words])])

    def _ordered(self, model, proba: np.ndarray) -> np.ndarray:
        """Columns of ``proba`` in LABELS order (a class absent from training gets 0)."""
        out = np.zeros((len(proba), len(LABELS)))
        for j, cls in enumerate(model.classes_):
            out[:, LABELS.index(cls)] = proba[:, j]
        return out

    @property
    def stacked(self) -> bool:
        """Fitted with the second, stacked stage (the only part that reads the pages' DOM regions)."""
        return getattr(self, "stage2_", None) is not None

    def predict_proba(self, X_pages: list[np.ndarray], regions=None, texts=None) -> list[np.ndarray]:
        """Per page an array (n_lines_i, 3) of probabilities in LABELS order. One model call per stage.

        ``regions`` and ``texts`` must be given as in :meth:`fit` when the model was fitted with them.
        """
        sizes = [len(x) for x in X_pages]
        if sum(sizes) == 0:
            return [np.zeros((0, len(LABELS))) for _ in X_pages]
        X = np.vstack(X_pages)
        first, binned = _tree_proba(self.stage1_, X)
        proba = self._ordered(self.stage1_, first)
        if self.stacked:
            XS = np.hstack([X, self._stack(_split(proba, sizes), regions, X_pages, self.word_probas(texts, sizes))])
            # stage 2 bins X as stage 1 did: only its own columns are binned anew
            second, _ = _tree_proba(self.stage2_, XS, None if binned is None else (binned, self.stage1_._bin_mapper))
            proba = self.stage2_weight * self._ordered(self.stage2_, second) + (1 - self.stage2_weight) * proba
        return _split(proba, sizes)

    @property
    def weighs_lines(self) -> bool:
        """Whether :meth:`decide` reads the lines' ``weights`` (the per-page decisions do)."""
        return self.decision in ("best_f1", "page_f1")

    @property
    def labels_headings(self) -> bool:
        """Whether :meth:`decide` labels related blocks' headings (see ``heading_threshold``); it then reads ``texts``."""
        return self.heading_threshold is not None and getattr(self, "heading_words_", None) is not None

    def _label_headings(self, labels: np.ndarray, lines: list[str]) -> None:
        """Relabel in place, as ``related``, the headings ``heading_threshold`` describes."""
        above = np.flatnonzero(heads_run(run_length(labels == RELATED), labels == BOILERPLATE, MIN_RELATED_RUN))
        above = [i for i in above if 1 <= len(words(lines[i])) <= MAX_HEADING_WORDS]
        if above:
            p = self.heading_words_.predict_proba([lines[i] for i in above])[:, list(self.heading_words_.classes_).index(True)]
            labels[np.asarray(above)[p >= self.heading_threshold]] = RELATED

    def decide(self, probas: list[np.ndarray], weights: list[np.ndarray] | None = None, texts=None) -> list[np.ndarray]:
        """Per page an int array (n_lines_i,) of indices into LABELS, from :meth:`predict_proba`'s
        output, as ``decision`` says. ``weights``: per page the words of each line (n_lines_i,),
        which the per-page decisions weigh the lines by (None: one each). ``texts``: per page its
        lines, needed when :attr:`labels_headings`."""
        if self.decision not in ("argmax", "best_f1", "page_f1"):
            raise ValueError(f"decision must be 'argmax', 'best_f1' or 'page_f1', not {self.decision!r}")
        headings = self.labels_headings and self._given_texts(texts, [len(p) for p in probas])
        out = []
        for k, p in enumerate(probas):
            labels = p.argmax(axis=1)
            if self.decision != "argmax" and len(p):
                w = np.ones(len(p)) if weights is None else np.asarray(weights[k], dtype=float)
                keep = page_f1_content(p[:, CONTENT], w) & (labels != RELATED)
                if self.decision == "best_f1":
                    labels = np.where(p[:, RELATED] >= p[:, BOILERPLATE], RELATED, BOILERPLATE)
                labels[keep] = CONTENT
            if headings:
                self._label_headings(labels, texts[k])
            out.append(labels)
        return out

    def predict(self, X_pages: list[np.ndarray], regions=None, weights=None, texts=None) -> list[np.ndarray]:
        """Per page an array (n_lines_i,) of labels (``weights`` as in :meth:`decide`, ``texts`` as in :meth:`fit`)."""
        return [np.asarray(LABELS)[lab] for lab in self.decide(self.predict_proba(X_pages, regions, texts), weights, texts)]
