"""Detector: segmentation + features + the trained line classifiers, saved with a model card.

A detector holds two :class:`LineClassifier` — one for HTML pages (text and markup features) and
one for plain-text pages (text features only) — and picks by ``Page.source``.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from itertools import islice
from pathlib import Path

import joblib
from threadpoolctl import threadpool_limits
import numpy as np

from .classifier import LineClassifier
from .document import LABELS, Page
from .features import HTML_FEATURE_NAMES, TEXT_FEATURE_NAMES, featurize, region_keys
from .profile import SiteProfile
from .readers import page_from_record, text_page
from .html import segment_html
from .result import Result

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "default.joblib"
MODEL_FORMAT = 1


class ModelError(Exception):
    """The model file is missing, damaged or incompatible."""


def card_path(model_path: str | os.PathLike) -> Path:
    """The model card lives next to the model: ``default.joblib`` → ``default.card.json``."""
    p = Path(model_path)
    return p.with_name(p.name.removesuffix(".joblib") + ".card.json")


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file ordinary permissions
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


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
    def load(cls, path: str | os.PathLike | None = None) -> "Detector":
        """Load a saved detector; ``None`` loads the shipped default model."""
        path = Path(path) if path is not None else DEFAULT_MODEL
        if not path.is_file():
            raise ModelError(f"model file not found: {path}")
        try:
            blob = joblib.load(path)
        except Exception as exc:  # a damaged or foreign pickle can fail in many ways
            raise ModelError(f"{path}: cannot load model ({type(exc).__name__}: {exc})") from None
        if not isinstance(blob, dict) or blob.get("format") != MODEL_FORMAT:
            raise ModelError(f"{path}: not a boilerdetect model of format {MODEL_FORMAT}; retrain it with 'boilerdetect train'")
        if blob.get("features") != {"html": list(HTML_FEATURE_NAMES), "text": list(TEXT_FEATURE_NAMES)}:
            raise ModelError(f"{path}: trained on other features than this version computes; retrain it with 'boilerdetect train'")
        card = {}
        if card_path(path).is_file():
            card = json.loads(card_path(path).read_text())
        return cls(blob["html"], blob["text"], card)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model (joblib) and its card (JSON, with the model's sha256), atomically."""
        path = Path(path)
        blob = {
            "format": MODEL_FORMAT,
            "features": {"html": list(HTML_FEATURE_NAMES), "text": list(TEXT_FEATURE_NAMES)},
            "html": self.html_model,
            "text": self.text_model,
        }
        _atomic_write(path, lambda fh: joblib.dump(blob, fh, compress=3))
        self.card["sha256"] = sha256_file(path)
        self.card["model_file"] = path.name
        _atomic_write(card_path(path), lambda fh: fh.write(json.dumps(self.card, indent=2).encode() + b"\n"))
        return path

    # --- prediction ----------------------------------------------------------------------------

    def _model_for(self, source: str) -> LineClassifier:
        return self.html_model if source == "html" else self.text_model

    def predict_pages(
        self, pages: list[Page], features: list[np.ndarray] | None = None, profile: SiteProfile | None = None
    ) -> list[Result]:
        """Label many pages with one classifier call per page kind (per-call overhead dominates).

        ``features`` optionally gives each page's precomputed :func:`featurize` matrix;
        ``profile`` (a :class:`SiteProfile`, optional) tells how common each line is on its site.
        """
        probas: list[np.ndarray | None] = [None] * len(pages)
        for source in ("html", "text"):
            idx = [i for i, p in enumerate(pages) if (p.source == "html") == (source == "html")]
            if idx:
                feats = [features[i] if features is not None else featurize(pages[i], profile) for i in idx]
                regions = [region_keys(pages[i]) for i in idx]
                # One OpenMP thread: tree prediction on a few hundred lines gains nothing from more,
                # and on a loaded machine (or with worker processes) extra threads cost seconds.
                with threadpool_limits(limits=1, user_api="openmp"):
                    found = self._model_for(source).predict_proba(feats, regions)
                for i, proba in zip(idx, found):
                    probas[i] = proba
        results = []
        for page, proba in zip(pages, probas):
            labels = np.asarray(LABELS)[proba.argmax(axis=1)] if len(proba) else []
            lines = [line.with_prediction(str(lab), float(p)) for line, lab, p in zip(page.lines, labels, proba[:, 0])]
            results.append(Result(lines=lines, id=page.id, url=page.url))
        return results

    def predict(
        self,
        text: str | None = None,
        html: str | None = None,
        url: str | None = None,
        id: str | None = None,
        profile: SiteProfile | None = None,
    ) -> Result:
        """Label one page given as ``text=`` (plain text) or ``html=``; ``profile`` as in :meth:`predict_pages`."""
        if (text is None) == (html is None):
            raise ValueError("give exactly one of text= or html=")
        page = segment_html(html, url=url, id=id) if html is not None else text_page(text, url=url, id=id)
        return self.predict_pages([page], profile=profile)[0]

    def predict_records(self, records: list[dict], profile: SiteProfile | None = None) -> list[Result]:
        """Label JSONL-style records; a bad record gets an error Result, never an exception."""
        pages, slots, results = [], [], []
        for record in records:
            rid = record.get("id") if isinstance(record, dict) else None
            url = record.get("url") if isinstance(record, dict) and isinstance(record.get("url"), str) else None
            try:
                pages.append(page_from_record(record))
                slots.append(len(results))
                results.append(None)
            except (ValueError, RecursionError, MemoryError) as exc:
                results.append(Result(id=None if rid is None else str(rid), url=url, error=str(exc) or type(exc).__name__))
        try:
            labelled = self.predict_pages(pages, profile=profile)
        except Exception:  # one pathological page must not sink its batch: retry page by page
            labelled = [self._predict_alone(page, profile) for page in pages]
        for slot, res in zip(slots, labelled):
            results[slot] = res
        return results

    def _predict_alone(self, page: Page, profile: SiteProfile | None) -> Result:
        try:
            return self.predict_pages([page], profile=profile)[0]
        except Exception as exc:
            return Result(id=page.id, url=page.url, error=f"prediction failed: {type(exc).__name__}: {exc}")

    def predict_many(
        self, records: Iterable[dict], n_jobs: int = 1, batch_size: int = 64, profile: SiteProfile | None = None
    ) -> Iterator[Result]:
        """Yield one Result per record, in input order.

        Records are taken ``batch_size`` at a time (memory stays bounded however long the input);
        with ``n_jobs > 1`` batches go to worker processes that each load this detector (and
        ``profile``, optional, as in :meth:`predict_pages`) once.
        """
        it = iter(records)
        if n_jobs <= 1:
            while batch := list(islice(it, batch_size)):
                yield from self.predict_records(batch, profile)
            return
        # spawn, not fork: forking after OpenMP (used by the trees) has started can deadlock the child
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(n_jobs, mp_context=ctx, initializer=_init_worker, initargs=(self, profile)) as pool:
            pending = []
            while True:
                while len(pending) < 2 * n_jobs and (batch := list(islice(it, batch_size))):
                    pending.append(pool.submit(_worker_predict, batch))
                if not pending:
                    return
                yield from pending.pop(0).result()


_WORKER: Detector | None = None
_WORKER_PROFILE: SiteProfile | None = None


def _init_worker(detector: Detector, profile: SiteProfile | None) -> None:
    global _WORKER, _WORKER_PROFILE
    _WORKER, _WORKER_PROFILE = detector, profile


def _worker_predict(batch: list[dict]) -> list[Result]:
    return _WORKER.predict_records(batch, _WORKER_PROFILE)
