"""Detector: segmentation + features + the trained line classifiers, saved with a model card.

A detector holds two :class:`LineClassifier` — one for HTML pages (text and markup features) and
one for plain-text pages (text features only) — and picks by ``Page.source``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from .atomic import atomic_file
from .classifier import LineClassifier
from .document import LABELS, SOURCES, Line, Page, cycle_collector_paused
from .features import HTML_FEATURE_NAMES, TEXT_FEATURE_NAMES, featurize, line_words, region_keys
from .nesting import MAX_DEPTH
from .profile import SiteProfile
from .readers import MAX_PAGE_BYTES, MAX_PAGE_LINES, RECORD_FIELDS, ErrorRecord, check_limits, check_positive_int, page_from_record
from .result import Result
from .verify import (
    PIN_FILE,
    ModelError,
    check_format,
    check_trusted,
    pin_line,
    pinned_sha256,
    sha256_from_env,
    trust_from_env,
)
from .workers import worker_context

# An installed package (a wheel) carries the shipped model inside it, as boilerdetect/models/; a
# checkout (and an editable install) has it in the repository's top-level models/.
_MODEL_DIRS = (Path(__file__).resolve().parent / "models", Path(__file__).resolve().parent.parent / "models")
DEFAULT_MODEL = next((d / "default.joblib" for d in _MODEL_DIRS if (d / "default.joblib").is_file()), _MODEL_DIRS[-1] / "default.joblib")
_FEATURES = {"html": list(HTML_FEATURE_NAMES), "text": list(TEXT_FEATURE_NAMES)}  # what a model file must have been fitted on
PREDICTION_FAILED = "prediction failed"  # how an error result of the model's own failure (not of its input) begins
MODEL_FORMAT = 2  # 2: the trees as flat arrays (trees.py), scikit-learn's boosters pickled apart


def card_path(model_path: str | os.PathLike) -> Path:
    """The model card lives next to the model: ``default.joblib`` → ``default.card.json``."""
    p = Path(model_path)
    return p.with_name(p.name.removesuffix(".joblib") + ".card.json")


def _versions() -> dict:
    import sklearn

    from . import __version__

    return {"boilerdetect": __version__, "scikit-learn": sklearn.__version__}


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_card(path: Path) -> dict:
    """The model's card (``{}`` without one); ModelError when it is not a JSON object."""
    cpath = card_path(path)
    if not cpath.is_file():
        return {}
    try:
        card = json.loads(cpath.read_bytes())
    except ValueError:
        raise ModelError(f"{cpath}: model card is not valid JSON") from None
    if not isinstance(card, dict):
        raise ModelError(f"{cpath}: model card is not a JSON object")
    return card


class Detector:
    """Label the lines of pages as content / related / boilerplate.

    Parameters
    ----------
    html_model, text_model : LineClassifier
        Fitted classifiers for HTML pages and for plain-text pages.
    card : dict, optional
        Model card (training data, features, metrics, versions).
    """

    def __init__(self, html_model: LineClassifier, text_model: LineClassifier, card: dict | None = None):
        self.html_model = html_model
        self.text_model = text_model
        self.card = card or {}

    # --- persistence ---------------------------------------------------------------------------

    @classmethod
    def load(
        cls, path: str | os.PathLike | None = None, trust: bool | None = None, sha256: str | None = None, kinds: Sequence[str] = SOURCES
    ) -> "Detector":
        """Load a saved detector; ``None`` loads the shipped default model.

        Unpickling can run code, so only a verified file is loaded (see :mod:`boilerdetect.verify`):
        the shipped model (its sha256 must match the hash pinned in the package and its card),
        a file whose sha256 is the given ``sha256``, or any file with ``trust=True``. ``trust`` and
        ``sha256`` default to ``BOILERDETECT_TRUST_MODEL`` / ``BOILERDETECT_MODEL_SHA256``.
        Raises ModelError (one line) otherwise, and for a model of another format or features.
        Loading and predicting do not import scikit-learn: the trees are plain arrays.
        ``kinds`` (default both) are the kinds of page whose classifiers are wanted: only their
        features must be this version's, and the other kind's classifier is left out (None), as
        when the shipped model lends its text classifier to a run that trains new HTML features.
        """
        path = Path(path) if path is not None else DEFAULT_MODEL
        if not path.is_file():
            raise ModelError(f"{'a model is a file, not a directory' if path.is_dir() else 'model file not found'}: {path}")
        trust, sha256 = trust_from_env(trust), sha256_from_env(sha256)
        data = path.read_bytes()  # hashed and unpickled from the same bytes: no swap in between
        card = read_card(path)
        shipped = path.resolve() == DEFAULT_MODEL.resolve()
        check_trusted(path, hashlib.sha256(data).hexdigest(), shipped, card.get("sha256"), trust, sha256)
        return cls._unpickle(data, card, path, kinds)

    @classmethod
    def from_bytes(
        cls, data: bytes, card: dict | None = None, origin: str = "<model bytes>", trust: bool | None = None, sha256: str | None = None
    ) -> "Detector":
        """Load a detector from the bytes of a saved model file (e.g. shipped to another machine).

        The same rules as :meth:`load`: the bytes must be the shipped model's (pinned hash), hash to
        ``sha256``, or be trusted with ``trust=True``.
        """
        trust, sha256 = trust_from_env(trust), sha256_from_env(sha256)
        actual = hashlib.sha256(data).hexdigest()
        card = card or {}
        check_trusted(Path(origin), actual, actual == pinned_sha256(), card.get("sha256", actual), trust, sha256)
        return cls._unpickle(data, card, Path(origin))

    @classmethod
    def _unpickle(cls, data: bytes, card: dict, path: Path, kinds: Sequence[str] = SOURCES) -> "Detector":
        """The detector in verified model bytes, refusing other formats or features.

        The trees are plain arrays (:mod:`boilerdetect.trees`): any scikit-learn version, or none,
        predicts with them. Their scikit-learn boosters, which only adaptation reads, stay pickled
        until then, and are checked against the installed scikit-learn there.
        """
        # the card is only read here to refuse early, before unpickling objects of another format
        if "model_format" in card:
            check_format(card["model_format"], MODEL_FORMAT, path)
        try:
            blob = joblib.load(io.BytesIO(data))
        except Exception as exc:  # a damaged or foreign pickle can fail in many ways
            raise ModelError(f"{path}: cannot load model ({type(exc).__name__}: {exc})") from None
        check_format(blob.get("format") if isinstance(blob, dict) else None, MODEL_FORMAT, path)
        fitted_on = blob.get("features")
        if not isinstance(fitted_on, dict) or any(fitted_on.get(kind) != _FEATURES[kind] for kind in kinds):
            raise ModelError(f"{path}: trained on other features than this version computes; retrain it with 'boilerdetect train'")
        return cls(*(blob[kind] if kind in kinds else None for kind in ("html", "text")), card)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model (joblib) and its card (JSON, with the model's sha256 and the library
        versions), each atomically. Saving the shipped model (``models/default.joblib``) also
        pins its sha256 in the package (:data:`boilerdetect.verify.PIN_FILE`), so that it loads."""
        path = Path(path)
        versions = _versions()
        blob = {
            "format": MODEL_FORMAT,
            "versions": versions,
            "features": _FEATURES,
            "html": self.html_model,
            "text": self.text_model,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as fh:
            joblib.dump(blob, fh, compress=3)
        sha256 = sha256_file(path)
        self.card.update(sha256=sha256, model_file=path.name, model_format=MODEL_FORMAT)
        self.card["boilerdetect_version"] = versions["boilerdetect"]
        self.card["versions"] = {**self.card.get("versions", {}), "scikit-learn": versions["scikit-learn"]}
        with atomic_file(card_path(path)) as fh:
            fh.write(json.dumps(self.card, indent=2).encode() + b"\n")
        if path.resolve() == DEFAULT_MODEL.resolve():
            with atomic_file(PIN_FILE) as fh:
                fh.write(pin_line(sha256, path.name).encode())
        return path

    # --- prediction ----------------------------------------------------------------------------

    def _model_for(self, source: str) -> LineClassifier:
        return self.html_model if source == "html" else self.text_model

    @cycle_collector_paused()
    def predict_pages(
        self,
        pages: list[Page],
        features: list[np.ndarray] | None = None,
        profile: SiteProfile | None = None,
        copy: bool = True,
    ) -> list[Result]:
        """Label many pages with one classifier call per page kind (per-call overhead dominates).

        ``features`` optionally gives each page's precomputed :func:`featurize` matrix;
        ``profile`` (a :class:`SiteProfile`, optional) tells how common each line is on its site.
        ``copy=False`` sets ``label`` and ``score`` on the pages' own lines, which the results then
        share, instead of on copies (the default): for pages made only to be labelled, as
        :meth:`predict_records` makes them.
        """
        if not isinstance(pages, (list, tuple)) or not all(isinstance(p, Page) for p in pages):
            raise TypeError("pages must be a list of Page (readers.page_from_record makes one from a record)")
        _check_profile(profile)
        probas: list[np.ndarray | None] = [None] * len(pages)
        decided: list[np.ndarray | None] = [None] * len(pages)
        for source in SOURCES:
            idx = [i for i, p in enumerate(pages) if p.source == source]
            if idx:
                feats = [features[i] if features is not None else featurize(pages[i], profile) for i in idx]
                model = self._model_for(source)
                regions = [region_keys(pages[i]) for i in idx] if model.stacked else None
                texts = [pages[i].texts for i in idx] if model.reads_texts else None
                found = model.predict_proba(feats, regions, texts)
                words = [line_words(f) for f in feats] if model.weighs_lines else None
                for i, proba, labels in zip(idx, found, model.decide(found, words, texts)):
                    probas[i], decided[i] = proba, labels
        results = []
        for page, proba, decision in zip(pages, probas, decided):
            labels = [LABELS[i] for i in decision.tolist()]
            if copy:
                lines = [line.with_prediction(lab, p) for line, lab, p in zip(page.lines, labels, proba[:, 0].tolist())]
            else:
                lines = page.lines
                for line, lab, p in zip(lines, labels, proba[:, 0].tolist()):
                    line.label, line.score = lab, p
            results.append(Result(lines=lines, id=page.id, url=page.url, truncated=page.truncated or None, base=page.meta.get("base")))
        return results

    def predict(
        self,
        text: str | None = None,
        html: str | None = None,
        url: str | None = None,
        id: str | None = None,
        max_page_bytes: int | None = MAX_PAGE_BYTES,
        max_page_lines: int | None = MAX_PAGE_LINES,
        profile: SiteProfile | None = None,
    ) -> Result:
        """Label one page given as ``text=`` (plain text) or ``html=``.

        A page over ``max_page_bytes`` (UTF-8) or ``max_page_lines`` is cut to them and its
        ``Result.truncated`` says so; None lifts a limit. HTML nested deeper than
        :data:`nesting.MAX_DEPTH` levels is flattened (its parse would take minutes).
        ``profile`` is as in :meth:`predict_pages`.
        """
        return self.predict_pages([_page(text, html, url, id, max_page_bytes, max_page_lines)], profile=profile)[0]

    def explain_pages(self, pages: list[Page], top_k: int = 5, profile: SiteProfile | None = None) -> list[Result]:
        """:meth:`predict_pages`, plus ``Result.explanations``: per line the ``top_k`` features whose
        occlusion changes its label's probability most (method in :mod:`boilerdetect.explain`).

        Costs about ``n_features`` predictions per page: meant for inspecting pages, not for bulk runs.
        """
        from .explain import explain_lines

        check_positive_int("top_k", top_k)
        _check_profile(profile)
        features = [featurize(page, profile) for page in pages]
        results = self.predict_pages(pages, features)
        for page, X, res in zip(pages, features, results):
            model = self._model_for(page.source)
            regions = region_keys(page) if model.stacked else None
            res.explanations = explain_lines(model, X, regions, page.source, top_k, page.texts if model.reads_texts else None)
        return results

    def explain(
        self,
        text: str | None = None,
        html: str | None = None,
        url: str | None = None,
        id: str | None = None,
        top_k: int = 5,
        max_page_bytes: int | None = MAX_PAGE_BYTES,
        max_page_lines: int | None = MAX_PAGE_LINES,
        profile: SiteProfile | None = None,
    ) -> Result:
        """Label one page, as :meth:`predict`, with per-line explanations (see :meth:`explain_pages`)."""
        return self.explain_pages([_page(text, html, url, id, max_page_bytes, max_page_lines)], top_k, profile)[0]

    @cycle_collector_paused()
    def predict_records(
        self,
        records: list[dict],
        explain: int = 0,
        max_page_bytes: int | None = MAX_PAGE_BYTES,
        max_page_lines: int | None = MAX_PAGE_LINES,
        profile: SiteProfile | None = None,
    ) -> list[Result]:
        """Label JSONL-style records; a bad record gets an error Result, never an exception.

        ``explain > 0`` adds explanations with that many features per line (:meth:`explain_pages`).
        Pages are cut to the size limits as in :meth:`predict`; ``profile`` as in :meth:`predict_pages`.
        """
        _check_explain(explain)
        _check_profile(profile)  # here: the failures below are the records', not the caller's
        pages, slots, results = [], [], []
        for record in records:
            try:
                pages.append(page_from_record(record, max_page_bytes, max_page_lines, MAX_DEPTH))
                slots.append(len(results))
                results.append(None)
            except (ValueError, RecursionError, MemoryError) as exc:
                results.append(Result.failed(record, str(exc) or type(exc).__name__))
            except Exception as exc:  # a parser failure nobody foresaw still only fails its own record
                results.append(Result.failed(record, f"cannot read the page: {type(exc).__name__}: {exc}"))
        run = partial(self.explain_pages, top_k=explain, profile=profile) if explain > 0 else partial(self.predict_pages, profile=profile, copy=False)
        try:
            labelled = run(pages)
        except Exception:  # one pathological page must not sink its batch: retry page by page
            labelled = [self._predict_alone(page, run) for page in pages]
        for slot, res in zip(slots, labelled):
            results[slot] = res
        return results

    def _predict_alone(self, page: Page, run: Callable[[list[Page]], list[Result]]) -> Result:
        try:
            return run([page])[0]
        except Exception as exc:
            return Result(id=page.id, url=page.url, error=f"{PREDICTION_FAILED}: {type(exc).__name__}: {exc}")

    def predict_many(
        self,
        records: Iterable[dict],
        n_jobs: int = 1,
        batch_size: int = 64,
        explain: int = 0,
        max_page_bytes: int | None = MAX_PAGE_BYTES,
        max_page_lines: int | None = MAX_PAGE_LINES,
        profile: SiteProfile | None = None,
        transform: Callable[[Result], Any] | None = None,
    ) -> Iterator:
        """Yield one Result per record, in input order; pages are cut to the size limits as in :meth:`predict`.

        Records are taken ``batch_size`` at a time (memory stays bounded however long the input);
        with ``n_jobs > 1`` tasks of ``batch_size // (4 n_jobs)`` pages go to worker processes that
        each load this detector (and ``profile``, optional, as in :meth:`predict_pages`) once, with
        at most ``2 batch_size`` pages in flight. Small tasks keep the workers evenly busy up to the
        end, and a window of many tasks lets one worker go on while the next result in input order
        is still on the other. ``explain`` is as in :meth:`predict_records`.

        ``transform`` (optional; picklable, such as a module-level function or a ``partial`` of
        one) is applied to every Result where it is made, in the worker with ``n_jobs > 1``, and
        its value is yielded instead: a worker then sends only that back. The CLI sends its output
        text so, which spares the main process rebuilding and serialising every page's lines.
        """
        # argument mistakes are raised here, at the first next(), rather than as an error per record
        if isinstance(records, (str, bytes, dict)):
            raise TypeError(f"records must be an iterable of record dicts, not one {type(records).__name__}")
        check_positive_int("n_jobs", n_jobs)
        check_positive_int("batch_size", batch_size)
        check_limits(max_page_bytes, max_page_lines)
        _check_explain(explain)
        _check_profile(profile)
        it = iter(records)
        limits = (max_page_bytes, max_page_lines)
        if n_jobs <= 1:
            while True:
                batch, failure = _take(it, batch_size)
                if batch:
                    yield from _predict_batch(self, batch, explain, limits, profile, transform)
                if failure is not None:
                    raise failure
                if len(batch) < batch_size:
                    return
        with ProcessPoolExecutor(n_jobs, mp_context=worker_context(), initializer=_init_worker, initargs=(self, profile)) as pool:
            pending = []
            chunk = max(1, batch_size // (4 * n_jobs))
            window = max(2 * n_jobs, 2 * batch_size // chunk)
            exhausted, failure = False, None
            while True:
                while not exhausted and len(pending) < window:
                    batch, failure = _take(it, chunk)
                    if batch:
                        pending.append(pool.submit(_worker_predict, list(map(_sent, batch)), explain, limits, transform))
                    exhausted = failure is not None or len(batch) < chunk
                if not pending:
                    if failure is not None:
                        raise failure
                    return
                done = pending.pop(0).result()
                yield from done if transform is not None else _unpack(done)


def _take(it: Iterator, n: int) -> tuple[list, Exception | None]:
    """Up to ``n`` records of ``it``, and the exception that stopped it before, if any: when a
    caller's generator fails, the records it gave first are still labelled (then it is raised)."""
    batch: list = []
    try:
        for record in it:
            batch.append(record)
            if len(batch) == n:
                break
    except Exception as exc:  # noqa: BLE001 - the caller's own error, raised again once the batch is out
        return batch, exc
    return batch, None


def _check_explain(explain) -> None:
    if isinstance(explain, bool) or not isinstance(explain, int) or explain < 0:
        raise ValueError(f"explain must be an int >= 0 (features per line, 0 for none), not {explain!r}")


def _check_profile(profile) -> None:
    if profile is not None and not isinstance(profile, SiteProfile):
        raise TypeError(f"profile must be a SiteProfile (SiteProfile.load(path) reads a saved one), not {type(profile).__name__}")


def _sent(record):
    """What of a record goes to a worker: its fields that make the page. The rest (a caller's own
    fields, which may be large or unpicklable) would only cost pickling, or fail it."""
    if not isinstance(record, dict):
        return record
    fields = {k: record[k] for k in RECORD_FIELDS if k in record}
    return ErrorRecord(fields) if isinstance(record, ErrorRecord) else fields


_WORKER: Detector | None = None
_WORKER_PROFILE: SiteProfile | None = None


def _init_worker(detector: Detector, profile: SiteProfile | None) -> None:
    global _WORKER, _WORKER_PROFILE
    _WORKER, _WORKER_PROFILE = detector, profile


@cycle_collector_paused()  # the transform too: a result's JSON, say, builds a dict per line
def _predict_batch(detector: Detector, batch: list[dict], explain: int, limits: tuple, profile, transform: Callable | None) -> list:
    """One batch of :meth:`Detector.predict_many`: its Results, or ``transform`` of each."""
    results = detector.predict_records(batch, explain, *limits, profile)
    return results if transform is None else [transform(res) for res in results]


@cycle_collector_paused()  # packing too: the batch's lines are still alive until it is sent
def _worker_predict(batch: list[dict], explain: int, limits: tuple[int | None, int | None], transform: Callable | None = None) -> list:
    done = _predict_batch(_WORKER, batch, explain, limits, _WORKER_PROFILE, transform)
    return _pack(done) if transform is None else done


# --- results from the workers --------------------------------------------------------------------
# Pickled as they are, a batch's Results cost the main process (which shares the cores with the
# workers) more to unpickle than a tenth of what the workers spent predicting them: one state dict
# per line, and thousands of frozensets (ancestor tags, class tokens) rebuilt and re-hashed although
# most are equal to another line's. So a worker sends each page's lines as one column per Line
# field, with equal frozensets made the same object first (pickle then writes each once). Nothing
# is dropped: the main process rebuilds equal Lines (their facts included, for library users).

_LINE_FIELDS = tuple(f.name for f in dataclasses.fields(Line))
_SHARED_FIELDS = ("ancestor_tags", "attr_tokens")  # frozensets that recur across a page's lines


def _pack(results: list[Result]) -> list:
    """``results`` for the trip to the main process: ``(lines as columns or None, Result)`` pairs.

    A result keeps its lines as they are (column ``None``) unless every line is a plain
    :class:`Line` with exactly the dataclass fields (a subclass or an extra attribute would not
    survive the columns).
    """
    same: dict = {}
    fields = set(_LINE_FIELDS)
    packed = []
    for res in results:
        lines = res.lines
        if not lines or not all(type(line) is Line and line.__dict__.keys() == fields for line in lines):
            packed.append((None, res))
            continue
        dicts = [line.__dict__ for line in lines]
        columns = []
        for name in _LINE_FIELDS:
            column = [d[name] for d in dicts]
            if name in _SHARED_FIELDS:
                column = [same.setdefault(v, v) for v in column]
            columns.append(column)
        packed.append((columns, dataclasses.replace(res, lines=[])))
    return packed


@cycle_collector_paused()
def _unpack(packed: list) -> list[Result]:
    """The results :func:`_pack` packed, with lines equal to the worker's."""
    results = []
    for columns, res in packed:
        if columns is not None:
            res.lines = [Line(*values) for values in zip(*columns)]  # __init__ only assigns the fields
        results.append(res)
    return results


def _page(
    text: str | None, html: str | None, url: str | None, id: str | None, max_page_bytes: int | None, max_page_lines: int | None
) -> Page:
    """The page of ``predict(text=...)`` or ``predict(html=...)``, cut to the size limits."""
    if (text is None) == (html is None):
        raise ValueError("give exactly one of text= or html=")
    record = {"url": url, "id": id} | ({"html": html} if html is not None else {"text": text})
    return page_from_record(record, max_page_bytes, max_page_lines, MAX_DEPTH)
