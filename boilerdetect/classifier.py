"""The line classifier: gradient-boosted trees over line features, with a stacked second stage.

Stage 1 labels each line from its own features. Boilerplate and related lists come in blocks, so
stage 2 sees the same features plus stage 1's probabilities summarised over neighbouring lines
and over the page. Stage 2 is trained on out-of-fold stage 1 probabilities (folds grouped, e.g.
by site) so that it learns how far stage 1 can be trusted on unseen pages.
"""

from __future__ import annotations

import inspect
from itertools import chain

import numpy as np

from .align import MAX_HEADING_WORDS, MIN_RELATED_RUN, words
from .document import LABELS
from .explain import contrast_reference
from .features import hashed_word_scores, hashed_words, heads_run, line_words, run_length, window_mean
from .trees import Pickled, TreeEnsemble, expit

STACK_WINDOWS = (1, 3, 10)
STACK_FEATURES = (
    tuple(f"p_{lab}_w{w}" for w in STACK_WINDOWS for lab in ("content", "related"))
    + ("p_content", "p_related", "page_mean_p_content", "page_max_p_content", "p_content_rank")
)  # columns stage 2 adds for every page, documented in stack_features()
REGION_STACK_FEATURES = ("region_p_content", "region_p_related")  # per region level, HTML only
SPAN_FEATURES = ("span_best_f1", "in_best_span", "span_distance", "best_span_share")  # plain text only, see span_features()
WORD_STACK_FEATURES = ("words_p_content", "words_p_content_w1", "words_p_content_w3")  # with vocabulary, see word_columns()
CONTENT, RELATED, BOILERPLATE = (LABELS.index(label) for label in ("content", "related", "boilerplate"))


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

    def linear_model(self):
        """The unfitted scikit-learn model that :meth:`fit` fits."""
        from sklearn.linear_model import SGDClassifier

        return SGDClassifier(loss="log_loss", alpha=self.alpha, max_iter=20, tol=None, random_state=self.random_state)

    def fit(self, texts: list[str], y: np.ndarray) -> "WordModel":
        """Fit on lines ``texts`` and their classes ``y`` (n_lines,). Keeps the linear model's
        ``coef_`` (1 or n_classes, 2**WORD_BITS), ``intercept_`` and ``classes_``, not the model:
        predicting then needs numpy alone."""
        model = self.linear_model().fit(hashed_words(texts), y)
        self.coef_, self.intercept_, self.classes_ = model.coef_, model.intercept_, model.classes_
        return self

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """(n_lines, n_classes) in ``classes_`` order: the linear model's ``predict_proba``, from
        the hashed words' scores (:func:`features.hashed_word_scores`) without the sparse matrix."""
        if not texts:
            return np.zeros((0, len(self.classes_)))
        proba = expit(hashed_word_scores(texts, self.coef_) + self.intercept_)
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
    sizes = np.asarray(sizes, dtype=np.int64)
    firsts = (np.cumsum(sizes) - sizes)[sizes > 0]  # pages without lines have no first or last line
    before, after = np.r_[False, related[:-1]], np.r_[related[1:], False]
    before[firsts] = False  # a page's first line has nothing before it, and its last line
    after[firsts + sizes[sizes > 0] - 1] = False  # nothing after it
    n_words = np.fromiter(map(len, map(words, lines)), dtype=np.int64, count=len(lines))
    return related & ~before & after & (n_words >= 1) & (n_words <= MAX_HEADING_WORDS)


def word_columns(proba: np.ndarray) -> np.ndarray:
    """WORD_STACK_FEATURES from one page's :class:`WordModel` probabilities (n_lines, 3): the
    lines' P(content) and its means over 1 and 3 lines each side; shape (n_lines, 3)."""
    return np.column_stack([proba[:, 0], window_mean(proba[:, :1], 1), window_mean(proba[:, :1], 3)]).astype(np.float32)


class LineClassifier:
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
    page_f1_below : float, default=0.0
        With decision "argmax": a page whose most probable labels keep fewer words as content than
        this share of the words it is expected to hold (the sum of its lines' words weighted by
        P(content)) is decided as "page_f1" instead. Such a page is one whose content stage 2
        finds likely but never quite most likely (a product grid at P(content) 0.45 a tile).
        0: never.
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

    def __init__(self, max_iter=300, stage1_iter=None, stage2_iter=None, learning_rate=0.1, max_leaf_nodes=31, stacking=True, stage2_weight=1.0, decision="argmax", page_f1_below=0.0, spans=True, vocabulary=False, heading_threshold=0.005, cv=4, random_state=0):
        self.max_iter = max_iter
        self.stage1_iter = stage1_iter
        self.stage2_iter = stage2_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.stacking = stacking
        self.stage2_weight = stage2_weight
        self.decision = decision
        self.page_f1_below = page_f1_below
        self.spans = spans
        self.vocabulary = vocabulary
        self.heading_threshold = heading_threshold
        self.cv = cv
        self.random_state = random_state

    @classmethod
    def _defaults(cls) -> dict:
        """The constructor's parameters and their defaults."""
        return {k: v.default for k, v in inspect.signature(cls.__init__).parameters.items() if k != "self"}

    def __setstate__(self, state: dict) -> None:
        # a model saved before a parameter existed gets its default, which is what it was fitted with
        self.__dict__.update(self._defaults() | _FITTED_BEFORE | state)

    def get_params(self, deep: bool = True) -> dict:
        """The constructor's parameters and their values (scikit-learn's estimator API)."""
        return {name: getattr(self, name) for name in self._defaults()}

    def set_params(self, **params) -> "LineClassifier":
        """Set constructor parameters (scikit-learn's estimator API); returns self."""
        unknown = set(params) - set(self.get_params())
        if unknown:
            raise ValueError(f"invalid parameter(s) for LineClassifier: {', '.join(sorted(unknown))}")
        self.__dict__.update(params)
        return self

    def __repr__(self) -> str:
        defaults = self._defaults()
        changed = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults[k])
        return f"LineClassifier({changed})"

    def _booster(self, max_iter: int):
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(
            max_iter=max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            l2_regularization=1.0,
            early_stopping=False,
            random_state=self.random_state,
        )

    def _fit_booster(self, X: np.ndarray, y: np.ndarray, max_iter: int):
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
        if self.stacking:  # checked before any fitting: stage 2 learns from stage 1's scores of sites it did not see
            page_groups = np.asarray(groups if groups is not None else np.arange(len(X_pages)))
            line_groups = np.repeat(page_groups, sizes)
            if len(np.unique(line_groups)) < self.cv:
                raise ValueError(f"stacking needs lines from at least {self.cv} sites (its cv), these have {len(np.unique(line_groups))}: lower the stack folds, or train without stacking")
        stage1, stage2 = self._fit_booster(X, y, first), None
        if self.stacking:
            from sklearn.model_selection import GroupKFold

            oof = np.zeros((len(X), len(LABELS)))
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
            stage2 = self._fit_booster(np.hstack([X, S]), y, self.stage2_iter or self.max_iter)
        return self.keep_boosters(stage1, stage2)

    def keep_boosters(self, stage1, stage2=None) -> "LineClassifier":
        """Take fitted scikit-learn boosters as the stages: their trees as ``stage1_`` and
        ``stage2_`` (:class:`~boilerdetect.trees.TreeEnsemble`, what prediction walks), and the
        boosters themselves as :attr:`boosters_`, for continued boosting. Returns self."""
        self.stage1_ = TreeEnsemble.of(stage1)
        self.stage2_ = None if stage2 is None else TreeEnsemble.of(stage2)
        self._boosters = Pickled({"stage1": stage1, "stage2": stage2})
        return self

    @property
    def boosters_(self) -> dict:
        """The fitted scikit-learn boosters, ``{"stage1": ..., "stage2": ... or None}``. A loaded
        model unpickles them (and imports scikit-learn) only here: prediction does not read them."""
        return self._boosters.get()

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
        first, binned = self.stage1_.predict_proba(X)
        proba = self._ordered(self.stage1_, first)
        if self.stacked:
            XS = np.hstack([X, self._stack(_split(proba, sizes), regions, X_pages, self.word_probas(texts, sizes))])
            # stage 2 bins X as stage 1 did: only its own columns are binned anew
            second, _ = self.stage2_.predict_proba(XS, (binned, self.stage1_.bins))
            proba = self.stage2_weight * self._ordered(self.stage2_, second) + (1 - self.stage2_weight) * proba
        return _split(proba, sizes)

    @property
    def weighs_lines(self) -> bool:
        """Whether :meth:`decide` reads the lines' ``weights`` (the per-page decisions do)."""
        return self.decision in ("best_f1", "page_f1") or (self.decision == "argmax" and self.page_f1_below > 0)

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

    def _decide_page(self, labels: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
        """One page's labels from its most probable ones (``labels``), probabilities ``p`` and line
        words ``w``, by the per-page decision ("best_f1", "page_f1", or "argmax" with page_f1_below)."""
        decision = self.decision
        if decision == "argmax":  # page_f1_below > 0: per page only where argmax keeps too little
            if w[labels == CONTENT].sum() >= self.page_f1_below * float(np.dot(w, p[:, CONTENT])):
                return labels
            decision = "page_f1"  # content likely, but line by line never most likely
        keep = page_f1_content(p[:, CONTENT], w) & (labels != RELATED)
        if decision == "best_f1":
            labels = np.where(p[:, RELATED] >= p[:, BOILERPLATE], RELATED, BOILERPLATE)
        labels[keep] = CONTENT
        return labels

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
            if self.weighs_lines and len(p):
                labels = self._decide_page(labels, p, np.ones(len(p)) if weights is None else np.asarray(weights[k], dtype=float))
            if headings:
                self._label_headings(labels, texts[k])
            out.append(labels)
        return out

    def predict(self, X_pages: list[np.ndarray], regions=None, weights=None, texts=None) -> list[np.ndarray]:
        """Per page an array (n_lines_i,) of labels (``weights`` as in :meth:`decide`, ``texts`` as in :meth:`fit`)."""
        return [np.asarray(LABELS)[lab] for lab in self.decide(self.predict_proba(X_pages, regions, texts), weights, texts)]
