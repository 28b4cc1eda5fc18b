"""Word-F1 of other extractors on the same pages and with the same metric as boilerdetect's figures.

    python benchmarks/extractors.py [--data ../shared/datasets/wcxb-dev] [--model MODEL] [--pages N]

Runs trafilatura and jusText on every page of a WCXB-layout directory, and a baseline that keeps
all of the page's text (as an HTML-to-text converter renders it), and scores each with
``boilerdetect.evaluate.word_f1``, overall and per page type. These extractors are not trained,
so they are scored on every page; boilerdetect's rows are its site-grouped cross-validated
figures, read from the model card (``training/build.sh`` writes them), since a model scored on
the pages it was fitted on would tell nothing.
jusText is given its English stoplist (the pages are in many languages; it has one list per
language and no detection of its own).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections import defaultdict
from itertools import islice

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def extractors() -> dict:
    """name -> function(html, url) -> kept text, for every extractor installed here."""
    from boilerdetect.datasets import html_to_text

    found = {"all text (inscriptis)": lambda html, url: html_to_text(html)}
    try:
        import trafilatura

        found["trafilatura"] = lambda html, url: trafilatura.extract(html, url=url) or ""
    except ImportError:
        print("note: trafilatura is not installed (pip install -e '.[bench]'); skipped", file=sys.stderr)
    try:
        import justext

        stoplist = justext.get_stoplist("English")

        def run_justext(html: str, url: str | None) -> str:
            try:
                paragraphs = justext.justext(html, stoplist)
            except Exception:  # noqa: BLE001 - jusText rejects some documents (empty, odd markup): it keeps nothing there
                return ""
            return "\n".join(p.text for p in paragraphs if not p.is_boilerplate)

        found["jusText"] = run_justext
    except ImportError:
        print("note: jusText is not installed (pip install -e '.[bench]'); skipped", file=sys.stderr)
    return found


def card_rows(model: str | None) -> dict[str, dict]:
    """boilerdetect's cross-validated word-F1 per input kind, from the model card: {name: {"all": f1, type: f1}}."""
    from boilerdetect.model import DEFAULT_MODEL, read_card

    cv = read_card(model or DEFAULT_MODEL).get("cross_validation") or {}
    rows = {}
    for source in ("html", "text"):
        if source in cv:
            by_type = {t: v["word_f1"] for t, v in cv[source]["word_f1_by_type"].items()}
            rows[f"boilerdetect, {source} input (5-fold CV)"] = {"all": cv[source]["word_f1"], **by_type}
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(HERE, "..", "..", "shared", "datasets", "wcxb-dev"), help="WCXB-layout directory")
    ap.add_argument("--model", default=None, help="model whose card gives boilerdetect's rows (default: the shipped model)")
    ap.add_argument("--pages", type=int, default=None, help="only the first N pages (a quick look; the table is over all)")
    args = ap.parse_args()
    if not os.path.isdir(os.path.join(args.data, "html")):
        sys.exit(f"error: no html/ directory in {args.data} (give --data)")
    warnings.filterwarnings("ignore")

    from boilerdetect.datasets import wcxb_pages
    from boilerdetect.evaluate import word_f1

    methods = extractors()
    scores: dict[str, dict[str, list[float]]] = {name: defaultdict(list) for name in methods}
    seconds = dict.fromkeys(methods, 0.0)
    pages = 0
    for record, gold, _domain, page_type in islice(wcxb_pages(args.data), args.pages):
        pages += 1
        for name, extract in methods.items():
            t0 = time.perf_counter()
            kept = extract(record["html"], record["url"])
            seconds[name] += time.perf_counter() - t0
            f1 = word_f1(kept, gold)
            scores[name]["all"].append(f1)
            scores[name][page_type or "unknown"].append(f1)
        if pages % 100 == 0:
            print(f"{pages} pages", file=sys.stderr, flush=True)

    rows = {name: {k: float(np.mean(v)) for k, v in by.items()} for name, by in scores.items()}
    if args.pages is None:
        rows.update(card_rows(args.model))
    types = sorted({t for by in scores.values() for t in by if t != "all"})
    print(f"word-F1 on {pages} pages of {os.path.normpath(args.data)} (lower-cased \\w+ tokens, multiset overlap, averaged per page)\n")
    print(f"{'method':<38}{'all':>7}" + "".join(f"{t:>15}" for t in types) + f"{'pages/s':>10}")
    for name, row in rows.items():
        speed = f"{pages / seconds[name]:>10.1f}" if seconds.get(name) else f"{'':>10}"
        print(f"{name:<38}{row['all']:>7.3f}" + "".join(f"{row.get(t, float('nan')):>15.3f}" for t in types) + speed)


if __name__ == "__main__":
    main()
