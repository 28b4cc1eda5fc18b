"""Fitted gradient-boosted trees as flat arrays, and their prediction without scikit-learn.

Training fits scikit-learn's ``HistGradientBoostingClassifier``; :meth:`TreeEnsemble.of` copies out
what prediction reads (bin edges, nodes, leaf values), so that loading and applying a model needs
numpy alone: importing scikit-learn takes about a second and 140 MB per process. The walk gives
scikit-learn's probabilities to the bit: a tree sends x left when x <= threshold[b], which is
exactly when bin(x) <= b, and the leaf values are added tree by tree in scikit-learn's order.
"""

from __future__ import annotations

import pickle
from typing import NamedTuple

import numpy as np

from .verify import check_sklearn_version

try:
    from . import _treewalk  # compiled at install (setup.py); optional
except ImportError:  # not built here: numpy gives the same scores, slower
    _treewalk = None


class Bins(NamedTuple):
    """A booster's binner: feature values to one byte each, as in training."""

    thresholds: np.ndarray  # float64: every feature's increasing bin edges, one feature after another
    offsets: np.ndarray  # (n_features + 1,) int64: feature f's edges are thresholds[offsets[f]:offsets[f + 1]]
    missing_bin: int  # the bin of NaN

    @classmethod
    def of(cls, mapper) -> Bins:
        """The edges of a fitted scikit-learn binner (``booster._bin_mapper``); ValueError for categorical features."""
        if np.any(mapper.is_categorical_):
            raise ValueError("categorical features are not supported")
        edges = [np.asarray(t, dtype=np.float64) for t in mapper.bin_thresholds_]
        sizes = np.array([len(t) for t in edges], dtype=np.int64)
        flat = np.concatenate(edges) if edges else np.zeros(0)
        return cls(flat, np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64), int(mapper.missing_values_bin_idx_))

    def shares_edges(self, other: Bins, n: int) -> bool:
        """Whether both have at least ``n`` features and the same edges (and NaN bin) for the first ``n``."""
        if n >= len(self.offsets) or n >= len(other.offsets) or self.missing_bin != other.missing_bin:
            return False
        end = self.offsets[n]
        return np.array_equal(self.offsets[: n + 1], other.offsets[: n + 1]) and np.array_equal(self.thresholds[:end], other.thresholds[:end])

    def bin(self, X: np.ndarray, done: tuple[np.ndarray, Bins] | None = None) -> np.ndarray:
        """X (n_rows, n_features) binned: one byte a value, column-major, as scikit-learn's binner
        bins (bin i holds edges[i - 1] < x <= edges[i]; NaN goes to ``missing_bin``).

        ``done``: (binned, their Bins) — X's first columns already binned, reused when those
        columns' edges are these (stage 2 over stage 1: fitted on the same rows with the same seed,
        the binners find the same edges; checked here, not assumed), so only the rest is binned.
        """
        out = np.empty(X.shape, dtype=np.uint8, order="F")
        first = 0
        if done is not None and done[1].shares_edges(self, done[0].shape[1]):
            first = done[0].shape[1]
            out[:, :first] = done[0]
        if _treewalk is not None and X.dtype in (np.float32, np.float64) and len(X):
            X = np.ascontiguousarray(X)
            # out.T: the same bytes, as the C-contiguous (n_features, n_rows) the loop writes
            _treewalk.bin_rows(X, len(X), X.itemsize, first, self.thresholds, self.offsets, self.missing_bin, out.T)
            return out
        for f in range(first, X.shape[1]):
            column = np.asarray(X[:, f], dtype=np.float64)
            edges = self.thresholds[self.offsets[f] : self.offsets[f + 1]]
            out[:, f] = np.where(np.isnan(column), self.missing_bin, np.searchsorted(edges, column, side="left"))
        return out


class FlatTrees(NamedTuple):
    """A run of trees as flat node arrays, for the compiled walk (``_treewalk.c``).

    Nodes of all trees one after another; ``roots`` holds each tree's first node, trees in
    scikit-learn's order (iteration by iteration, one tree per class).
    """

    feature: np.ndarray  # (n_nodes,) uint16: the feature a split reads
    threshold: np.ndarray  # (n_nodes,) uint8: bins <= threshold go left
    flags: np.ndarray  # (n_nodes,) uint8: bit 0 leaf, bit 1 missing values go left
    left: np.ndarray  # (n_nodes,) uint32: children, as indices into all nodes; a leaf's are itself
    right: np.ndarray
    value: np.ndarray  # (n_nodes,) float64: a leaf's raw score
    roots: np.ndarray  # (n_trees,) uint32

    @classmethod
    def of(cls, predictors: list) -> FlatTrees:
        """The trees of ``predictors`` (a slice of a booster's ``_predictors``) flattened;
        ValueError for categorical splits or more than 65,536 features."""
        nodes = [tree.nodes for trees in predictors for tree in trees]
        sizes = np.array([len(n) for n in nodes], dtype=np.int64)
        roots = np.cumsum(sizes) - sizes
        if not nodes:
            return cls(*(np.zeros(0, dtype=t) for t in (np.uint16, np.uint8, np.uint8, np.uint32, np.uint32, np.float64, np.uint32)))
        flat = np.concatenate(nodes)
        if flat["is_categorical"].any() or flat["feature_idx"].max() >= 2**16 or sizes.sum() >= 2**32:
            raise ValueError("categorical splits, or more than 65,536 features, are not supported")
        leaf = flat["is_leaf"].astype(bool)
        offset = np.repeat(roots, sizes)
        itself = np.arange(len(flat))  # a leaf's children are 0 in scikit-learn's arrays: the walk stays put
        return cls(
            feature=np.where(leaf, 0, flat["feature_idx"]).astype(np.uint16),
            threshold=flat["bin_threshold"].astype(np.uint8),
            flags=(leaf | (flat["missing_go_to_left"].astype(bool) << 1)).astype(np.uint8),
            left=np.where(leaf, itself, flat["left"] + offset).astype(np.uint32),
            right=np.where(leaf, itself, flat["right"] + offset).astype(np.uint32),
            value=flat["value"].astype(np.float64),
            roots=roots.astype(np.uint32),
        )

    def add_leaf_values(self, binned: np.ndarray, missing_bin: int, raw: np.ndarray) -> None:
        """Add to ``raw`` (n_rows, n_classes), float64 in C order, the leaf each tree reaches for each
        row of ``binned`` (column-major); tree t scores class t % n_classes."""
        if _treewalk is not None and len(binned):
            # binned.T: the same bytes, as the C-contiguous (n_features, n_rows) the walk reads
            _treewalk.add_leaf_values(binned.T, len(binned), missing_bin, *self, raw.shape[1], raw)
            return
        for t, root in enumerate(self.roots):  # the rows not yet at a leaf, one level down at a time
            leaf = np.full(len(binned), root, dtype=np.intp)
            rows, node = np.arange(len(binned)), leaf.copy()
            while len(rows):
                flags = self.flags[node]
                done = (flags & 1) == 1
                leaf[rows[done]] = node[done]
                rows, node, flags = rows[~done], node[~done], flags[~done]
                b = binned[rows, self.feature[node]]
                go_left = np.where(b == missing_bin, ((flags >> 1) & 1).astype(bool), b <= self.threshold[node])
                node = np.where(go_left, self.left[node], self.right[node]).astype(np.intp)
            raw[:, t % raw.shape[1]] += self.value[leaf]


def bin_runs(booster) -> list[tuple[int, object]]:
    """(first iteration, binner) for each run of a scikit-learn booster's trees fitted on the same
    bins: one, unless boosting was continued on other data (:mod:`boilerdetect.adapt`, which
    records the runs in ``binners_``: each fit re-bins, and the earlier trees keep their bins)."""
    if hasattr(booster, "binners_"):
        return booster.binners_
    if booster.warm_start:
        raise ValueError("a warm-started booster must record the bins of each fit in binners_ (see adapt.py)")
    return [(0, booster._bin_mapper)]


def expit(x: np.ndarray) -> np.ndarray:
    """The logistic function 1 / (1 + exp(-x)) of a copy of x as float64: scipy.special.expit's
    bits, in C where built (importing scipy.special takes 0.15 s), else by scipy itself."""
    out = np.array(x, dtype=np.float64, order="C")
    if _treewalk is None:
        from scipy.special import expit as scipy_expit

        return scipy_expit(out)
    _treewalk.expit(out)
    return out


def _softmax(raw: np.ndarray) -> np.ndarray:
    """scikit-learn's softmax, step by step as it computes it (the same bits)."""
    out = raw - raw.max(axis=1)[:, None]
    np.exp(out, out=out)
    out /= out.sum(axis=1)[:, None]
    return out


class TreeEnsemble:
    """What prediction reads of a fitted ``HistGradientBoostingClassifier``: made by :meth:`of`.

    Attributes: ``classes_`` (n_classes,); ``n_iter_``; ``n_features_in_``; ``baseline``
    (n_trees_per_iteration,) raw score before any tree; ``runs``: (Bins, FlatTrees) per run of
    trees fitted on the same bins — one, unless boosting was continued on other data (a model
    adapted to a site, whose booster records its runs in ``binners_``).
    """

    def __init__(self, classes: np.ndarray, baseline: np.ndarray, runs: list[tuple[Bins, FlatTrees]], n_iter: int, n_features: int):
        self.classes_ = classes
        self.baseline = baseline
        self.runs = runs
        self.n_iter_ = n_iter
        self.n_features_in_ = n_features

    @classmethod
    def of(cls, booster) -> TreeEnsemble:
        """The trees of a fitted scikit-learn ``HistGradientBoostingClassifier``."""
        starts = bin_runs(booster)
        ends = [start for start, _ in starts[1:]] + [len(booster._predictors)]
        runs = [(Bins.of(mapper), FlatTrees.of(booster._predictors[start:end])) for (start, mapper), end in zip(starts, ends)]
        baseline = np.asarray(booster._baseline_prediction, dtype=np.float64).reshape(-1)
        return cls(np.asarray(booster.classes_), baseline, runs, int(booster.n_iter_), int(booster.n_features_in_))

    def predict_proba(self, X: np.ndarray, done: tuple[np.ndarray, Bins] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """P(class) of each row of X (n_rows, n_features_in_), in ``classes_`` order, and X binned
        by the last run's bins, which a later stage can reuse (``done`` as in :meth:`Bins.bin`)."""
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[-1]} features, the trees read {self.n_features_in_}")
        raw = np.zeros((len(X), len(self.baseline)))
        raw += self.baseline
        for bins, trees in self.runs:  # one run at least
            binned = bins.bin(X, done)
            trees.add_leaf_values(binned, bins.missing_bin, raw)
        if raw.shape[1] > 1:
            return _softmax(raw), binned
        positive = expit(raw[:, 0])  # scikit-learn's link for two classes
        return np.column_stack([1 - positive, positive]), binned

    @property
    def bins(self) -> Bins:
        """The bins of the last run: what :meth:`predict_proba` returns X binned by."""
        return self.runs[-1][0]


class Pickled:
    """An object kept as its pickle until first used (:meth:`get`), with the scikit-learn version
    it was pickled under: a saved model carries its scikit-learn boosters for continued boosting
    (:mod:`boilerdetect.adapt`) without loading them, or scikit-learn, to predict."""

    def __init__(self, obj):
        import sklearn

        self._obj, self._data, self.sklearn_version = obj, None, sklearn.__version__

    def get(self):
        """The object, unpickled on first use; ModelError if saved under another scikit-learn major.minor."""
        if self._obj is None:
            import warnings

            from sklearn.exceptions import InconsistentVersionWarning

            check_sklearn_version(self.sklearn_version, "the model's boosting trees")
            with warnings.catch_warnings():  # the version was just checked, and reported with advice
                warnings.simplefilter("ignore", InconsistentVersionWarning)
                self._obj = pickle.loads(self._data)
        return self._obj

    def __getstate__(self) -> dict:
        if self._obj is None:
            return {"data": self._data, "sklearn_version": self.sklearn_version}
        import sklearn  # pickled anew: under the scikit-learn of this process

        return {"data": pickle.dumps(self._obj, protocol=pickle.HIGHEST_PROTOCOL), "sklearn_version": sklearn.__version__}

    def __setstate__(self, state: dict) -> None:
        self._obj, self._data, self.sklearn_version = None, state["data"], state["sklearn_version"]
