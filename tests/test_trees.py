"""Flat trees (boilerdetect.trees) predict as scikit-learn's boosters do, to the bit, without it."""

import pickle

import numpy as np
import pytest
import sklearn
from scipy.special import expit as scipy_expit
from sklearn.ensemble import HistGradientBoostingClassifier

from boilerdetect.trees import Pickled, TreeEnsemble, expit


def _data(n_classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(400, 5))
    X[:, 3] = rng.integers(0, 4, 400)  # few distinct values: every value sits on a bin edge
    X[rng.random(X.shape) < 0.05] = np.nan  # missing values, sent left or right per node
    labels = np.array(["boilerplate", "content", "related"][:n_classes])
    y = labels[(np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 3]) > 1.5).astype(int) + (n_classes == 3) * (np.nan_to_num(X[:, 1]) > 1)]
    return X, y


@pytest.mark.parametrize("n_classes", [2, 3])
def test_flat_trees_give_the_boosters_probabilities_to_the_bit(n_classes, tree_walk):
    X, y = _data(n_classes)
    booster = HistGradientBoostingClassifier(max_iter=15, max_leaf_nodes=15, random_state=0).fit(X, y)
    flat = TreeEnsemble.of(booster)
    assert list(flat.classes_) == list(booster.classes_) and flat.n_iter_ == 15 and flat.n_features_in_ == 5
    Z = np.vstack([X, [[np.inf, -np.inf, 0.0, 3.0, np.nan]]])
    for values in (Z, Z.astype(np.float32)):
        proba, binned = flat.predict_proba(values)
        assert np.array_equal(proba, booster.predict_proba(values)) and proba.shape == (len(Z), n_classes)
        assert binned.shape == Z.shape and binned.dtype == np.uint8 and binned.flags.f_contiguous
    empty, _ = flat.predict_proba(np.zeros((0, 5)))
    assert empty.shape == (0, n_classes)
    with pytest.raises(ValueError, match="X has 4 features, the trees read 5"):
        flat.predict_proba(X[:, :4])


def test_bins_of_one_booster_are_reused_only_where_their_edges_agree():
    X, y = _data(3)
    first = TreeEnsemble.of(HistGradientBoostingClassifier(max_iter=3, random_state=0).fit(X, y)).bins
    same = TreeEnsemble.of(HistGradientBoostingClassifier(max_iter=3, random_state=0).fit(np.hstack([X, X[:, :1] * 2]), y)).bins
    other = TreeEnsemble.of(HistGradientBoostingClassifier(max_iter=3, random_state=0).fit(X * 3, y)).bins
    assert first.shares_edges(same, 5) and not first.shares_edges(same, 6) and not first.shares_edges(other, 5)
    Xw = np.hstack([X, X[:, :1] * 2])
    binned = first.bin(X)
    assert np.array_equal(same.bin(Xw, (binned, first)), same.bin(Xw))
    # bins that do not agree are not reused: a wrong first block would show
    assert np.array_equal(other.bin(X * 3, (np.zeros_like(binned), first)), other.bin(X * 3))


def test_expit_is_scipys_to_the_bit(tree_walk):
    x = np.random.default_rng(1).normal(0, 20, 100_000)
    x[:4] = [np.inf, -np.inf, 0.0, -800.0]
    found = expit(x)
    assert np.array_equal(found, scipy_expit(x)) and found is not x and found.dtype == np.float64


def test_pickled_boosters_stay_bytes_until_used():
    X, y = _data(3)
    booster = HistGradientBoostingClassifier(max_iter=3, random_state=0).fit(X, y)
    kept = pickle.loads(pickle.dumps(Pickled({"stage1": booster})))
    assert kept._obj is None and isinstance(kept._data, bytes)  # loading the model did not unpickle it
    again = kept.get()["stage1"]
    assert np.array_equal(again.predict_proba(X), booster.predict_proba(X)) and kept.get()["stage1"] is again
    # and it pickles again once used, recording the scikit-learn that pickled it anew
    kept.sklearn_version = "1.0.0"
    again = pickle.loads(pickle.dumps(kept))
    assert again.get()["stage1"].n_iter_ == 3 and again.sklearn_version == sklearn.__version__
