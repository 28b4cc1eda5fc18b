"""Labelled training data → examples (a page, its line labels, and its gold text when known).

Accepted inputs (the training-data contract):

1. line-labelled JSONL: ``{"url", "lines": [...], "labels": [...]}``;
2. page + gold JSONL: ``{"url", "html" | "text", "main_content"}`` — labels come from :mod:`align`;
3. a directory in the WCXB layout: ``html/NNNN.html.gz`` + ``ground-truth/NNNN.json``
   (+ ``metadata.json`` for page type and domain);
4. label files (``.tsv``) written by ``boilerdetect label`` and corrected by hand (:mod:`labelfile`).

Every HTML page also yields a plain-text twin rendered by an ordinary HTML-to-text converter
(inscriptis), so that one dataset trains both the HTML and the plain-text classifier.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .align import align, normalise, teaser_runs, transfer_labels
from .document import LABELS, Line, Page, cycle_collector_paused
from .labelfile import is_label_file, read_label_file
from .profile import host_of
from .readers import InputError, decode, detect_format, json_line, page_from_record, record_id_url, text_page


@dataclass
class Example:
    """One labelled page. ``group`` (the site) keeps a site out of its own validation fold.

    ``evaluated``: the form the page is scored in, when it is not the one trained on (a text twin
    whose repeated lines its labels chose is scored as the twin whose markup chose them).
    """

    page: Page
    labels: list[str]
    gold: str | None = None
    group: str = ""
    page_type: str | None = None
    evaluated: "Example | None" = None


def html_to_text(html: str) -> str:
    """Plain text as a crawler would store it, from an ordinary converter (not our segmenter)."""
    from inscriptis import get_text
    from inscriptis.model.config import ParserConfig

    return get_text(html, ParserConfig(display_images=False, display_links=False))


def examples_from_page(
    record: dict,
    gold: str,
    group: str = "",
    page_type: str | None = None,
    text_twin: bool = True,
    labels: list[str] | None = None,
    evaluating: bool = False,
) -> list[Example]:
    """Examples of one page with gold main text: the page itself and (for HTML) its text twin.

    ``labels`` (one per line of the page) replace the labels aligned from ``gold``. Crawled text
    repeats teaser headlines (:func:`_double_teasers`): half of the twins trained on (by a hash of
    the page's id) repeat the lines labelled related, and every twin is scored (its ``evaluated``
    form; ``evaluating``: the twin returned) repeating the lines the markup shows as teasers, so
    that the text a model is scored on owes nothing to the labels it is scored against.
    """
    page = page_from_record(record)
    labels = labels if labels is not None else align(page, gold)
    out = [Example(page, labels, gold, group or host_of(page.url), page_type)]
    if text_twin and page.source == "html":
        twin = text_page(html_to_text(record["html"]), url=page.url, id=page.id)
        twin_labels = align(twin, gold)
        related = transfer_labels(twin.texts, page, labels)
        twin_labels = ["related" if r and lab != "content" else lab for lab, r in zip(twin_labels, related)]
        scored = Example(*_double_teasers(twin, twin_labels, page), gold, out[0].group, page_type)
        if evaluating:
            out.append(scored)
        else:
            if zlib.crc32((page.id or page.url or "").encode()) % 2:
                twin, twin_labels = _double_teasers(twin, twin_labels)
            out.append(Example(twin, twin_labels, gold, out[0].group, page_type, scored))
    return out


def _double_teasers(twin: Page, labels: list[str], html_page: Page | None = None) -> tuple[Page, list[str]]:
    """Repeat teaser headlines of 3 words or more, as crawled text often has them (image alt text
    + link text): the lines labelled related, or with ``html_page``, the lines of its runs of
    teaser links (:func:`align.teaser_runs`, whether or not they are content), whatever their labels.

    The converter drops image alt text, so without this the text twins would never show the
    duplicated teaser lists that real crawls (e.g. WET records) are full of. Training may let the
    labels choose (the model learns the related lists crawled twice); what is scored may not.
    """
    if html_page is None:
        repeated = [lab == "related" for lab in labels]
    else:
        runs = teaser_runs(html_page, np.zeros(len(html_page.lines), dtype=bool))
        headlines = {normalise(line.text) for i, j in runs for line in html_page.lines[i:j]}
        repeated = [normalise(line.text) in headlines for line in twin.lines]
    lines, out = [], []
    for line, lab, again in zip(twin.lines, labels, repeated):
        lines.append(line), out.append(lab)
        if again and len(line.text.split()) >= 3:
            lines.append(line), out.append(lab)
    return Page(lines, twin.source, twin.url, twin.id, twin.meta), out


def _check_labels(labels, where: str) -> list[str]:
    bad = [lab for lab in labels if lab not in LABELS]
    if bad:
        raise InputError(f"{where}: unknown label {bad[0]!r} (expected one of {', '.join(LABELS)})")
    return list(labels)


def _why(exc: Exception) -> str:
    """An exception's reason in a few words: an OS error's text, else its message, else its type."""
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def wcxb_pages(root: str) -> Iterator[tuple[dict, str, str, str | None]]:
    """(record, gold main text, domain, page type) for each page of a WCXB-layout directory."""
    meta_path = os.path.join(root, "metadata.json")
    files = {}
    if os.path.exists(meta_path):
        try:
            with open(meta_path, "rb") as fh:
                files = json.load(fh)["files"]
            if not isinstance(files, dict) or not all(isinstance(info, dict) for info in files.values()):
                raise ValueError("'files' is not an object of objects")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{meta_path}: not a WCXB metadata file ({_why(exc)})") from None
    html_dir = os.path.join(root, "html")
    for name in sorted(os.listdir(html_dir)):
        fid = name.split(".")[0]
        path = os.path.join(html_dir, name)
        try:
            with gzip.open(path) if name.endswith(".gz") else open(path, "rb") as fh:
                html = decode(fh.read())
        except (OSError, EOFError, zlib.error) as exc:  # a damaged or fake .gz too
            raise InputError(f"{path}: cannot read ({_why(exc)})") from None
        truth_path = os.path.join(root, "ground-truth", f"{fid}.json")
        try:
            with open(truth_path, encoding="utf-8") as fh:
                truth = json.load(fh)
            if not isinstance(truth, dict) or not isinstance(truth.get("ground_truth", {}), dict):
                raise ValueError("not a WCXB ground-truth object (no 'ground_truth' object)")
            gold = truth.get("ground_truth", {}).get("main_content") or ""
            if not isinstance(gold, str):
                raise ValueError("'main_content' is not a string")
        except (OSError, ValueError) as exc:  # missing, not JSON, or not of the WCXB layout
            raise InputError(f"{truth_path}: {_why(exc)}") from None
        info = files.get(fid, {})
        url = truth.get("url")
        page_type = info.get("page_type") or truth.get("_internal", {}).get("page_type", {}).get("primary")
        yield {"id": fid, "url": url, "html": html}, gold, info.get("domain") or host_of(url), page_type


def jsonl_examples(path: str, text_twin: bool = True, evaluating: bool = False) -> Iterator[Example]:
    """Examples from a line-labelled or page+gold JSONL file (optionally gzipped)."""
    try:
        yield from _jsonl_examples(path, text_twin, evaluating)
    except (OSError, EOFError, zlib.error) as exc:  # a damaged or fake .gz, a file that cannot be read
        raise InputError(f"{path}: cannot read ({_why(exc)})") from None


def _jsonl_examples(path: str, text_twin: bool, evaluating: bool) -> Iterator[Example]:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            where = f"{path}:{number}"
            try:
                rec = json_line(raw)
            except ValueError:
                raise InputError(f"{where}: not valid JSON") from None
            if not isinstance(rec, dict):
                raise InputError(f"{where}: not a JSON object")
            try:
                rid, url = record_id_url(rec)
            except ValueError as exc:
                raise InputError(f"{where}: {exc}") from None
            if "lines" in rec and "labels" in rec:
                lines, labels = rec["lines"], rec["labels"]
                if not isinstance(lines, list) or not isinstance(labels, list) or len(lines) != len(labels):
                    raise InputError(f"{where}: 'lines' and 'labels' must be lists of the same length")
                labels = _check_labels(labels, where)
                keep = [(str(t).strip(), lab) for t, lab in zip(lines, labels) if str(t).strip()]
                page = Page([Line(" ".join(t.split())) for t, _ in keep], "text", url, rid)
                yield Example(page, [lab for _, lab in keep], None, host_of(url) or where)
            elif "main_content" in rec:
                gold = rec["main_content"]
                if gold is not None and not isinstance(gold, str):
                    raise InputError(f"{where}: 'main_content' must be a string")
                try:
                    yield from examples_from_page(rec, gold or "", text_twin=text_twin, evaluating=evaluating)
                except ValueError as exc:
                    raise InputError(f"{where}: {exc}") from None
            else:
                raise InputError(f"{where}: expected 'lines'+'labels' or 'main_content' with 'html'/'text'")


def label_file_examples(path: str, text_twin: bool = True, evaluating: bool = False) -> list[Example]:
    """Examples of a hand-corrected label file; its site (group) is its URL's host, ``""`` without URL.

    The content rows are the gold text; an HTML page also yields its text twin, as in
    :func:`examples_from_page`.
    """
    page, labels, html = read_label_file(path)
    gold = "\n".join(t for t, lab in zip(page.texts, labels) if lab == "content")
    if html is None:
        return [Example(page, labels, gold, host_of(page.url))]
    return examples_from_page({"id": path, "url": page.url, "html": html}, gold, host_of(page.url), None, text_twin, labels, evaluating)


@cycle_collector_paused()  # the examples grow to millions of objects, which the collector would re-scan
def load_examples(paths: list[str], text_twin: bool = True, n_jobs: int = 1, progress: bool = False, evaluating: bool = False) -> list[Example]:
    """All examples from JSONL files, label files and WCXB directories, in order. Raises InputError.

    ``evaluating``: the examples are to be scored, not trained on (see :func:`examples_from_page`)."""
    from joblib import Parallel, delayed

    examples: list[Example] = []
    for path in paths:
        if os.path.isdir(path):
            if not os.path.isdir(os.path.join(path, "html")):
                raise InputError(f"{path}: a training directory needs html/ and ground-truth/ (WCXB layout)")
            jobs = (
                delayed(examples_from_page)(rec, gold, dom, ptype, text_twin, None, evaluating)
                for rec, gold, dom, ptype in wcxb_pages(path)
            )
            parts = Parallel(n_jobs=n_jobs, batch_size=8, return_as="generator")(jobs)
            if progress:
                from tqdm import tqdm

                parts = tqdm(parts, desc=f"reading {os.path.basename(path.rstrip('/'))}", unit="page")
            for part in parts:
                examples.extend(part)
        elif os.path.isfile(path) and is_label_file(path):
            examples.extend(label_file_examples(path, text_twin, evaluating))
        elif os.path.isfile(path) and detect_format(path) in ("text", "html", "warc"):
            raise InputError(f"{path}: a page, not labelled data: give JSONL with gold text or line labels, label files "
                             "(.tsv, from `boilerdetect label`) or WCXB-layout directories")  # fmt: skip
        elif os.path.isfile(path):
            found = jsonl_examples(path, text_twin, evaluating)
            if progress:
                from tqdm import tqdm

                found = tqdm(found, desc=f"reading {os.path.basename(path)}", unit="example")
            examples.extend(found)
        else:
            raise InputError(f"{path}: no such file or directory")
    return examples
