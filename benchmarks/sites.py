"""Site figures: word-F1 of pages of a site never seen in training, without and with a site profile,
and after adapting the model with 1 or 3 labelled pages of the site.

    python benchmarks/sites.py [--data ../shared/datasets/wcxb-dev] [--only-folds 1] [--max-iter 100]
                               [--cache pages.joblib] [--synthetic-sites 4] [--synthetic-pages 24]

(a) WCXB dev, HTML pages: folds grouped by domain (as benchmarks/accuracy.py); the model of a
fold is trained on the other folds, then every multi-page domain of the validated fold is scored:
  * no profile / profile: each page alone, or with the profile of its domain's other pages;
  * adapted with k labelled pages: the first k pages of the domain (their gold-aligned labels stand
    in for hand labels) adapt the model; the domain's remaining pages are scored, with the profile
    of their other pages, and the same pages' no-profile / profile scores are shown next to it.
(b) Synthetic template sites (tests/sitegen.py), HTML and plain text, scored the same way with
the model of the first fold (a real-data model meeting a new site). To keep loading quick the
pages are read without inscriptis text twins; the fold's plain-text model learns from the HTML
pages' own lines given as plain text.

Adaptation variants measured: boosting continued on the site's lines (warm start, several
iteration counts) and a small logistic model stacked on the base model's scores and the site
features.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from boilerdetect.adapt import adapt_detector  # noqa: E402
from boilerdetect.datasets import Example, load_examples  # noqa: E402
from boilerdetect.document import Line, Page  # noqa: E402
from boilerdetect.evaluate import word_f1  # noqa: E402
from boilerdetect.features import region_keys  # noqa: E402
from boilerdetect.html import segment_html  # noqa: E402
from boilerdetect.model import Detector  # noqa: E402
from boilerdetect.readers import text_page  # noqa: E402
from boilerdetect.train import featurize_examples, fit_detector, with_site_profiles  # noqa: E402
from sitegen import Site  # noqa: E402

WARM = {  # name: (extra trees, learning rate of the extra trees)
    "warm +10 lr 0.1": (10, 0.1), "warm +30 lr 0.1": (30, 0.1), "warm +100 lr 0.1": (100, 0.1),
    "warm +10 lr 0.03": (10, 0.03), "warm +30 lr 0.01": (30, 0.01),
}  # fmt: skip


def _f1(e: Example, labels) -> float:
    gold = e.gold if e.gold is not None else "\n".join(t for t, lab in zip(e.page.texts, e.labels) if lab == "content")
    return word_f1("\n".join(t for t, lab in zip(e.page.texts, labels) if lab == "content"), gold)


def _labels(det: Detector, examples, feats) -> list[list[str]]:
    return [[l.label for l in r.lines] for r in det.predict_pages([e.page for e in examples], feats)]


def _stacked_logistic(det: Detector, train, train_f, test, test_f) -> list[list[str]]:
    """A logistic model on the base model's log-probabilities and the site features, fitted on the labelled pages."""

    def design(examples, feats):
        rows = []
        for e, X in zip(examples, feats):
            p = det._model_for(e.page.source).predict_proba([X], [region_keys(e.page)])[0]
            site = np.nan_to_num(X[:, -2:], nan=-1.0)
            rows.append(np.column_stack([np.log(p + 1e-4), site, np.isnan(X[:, -2])]))
        return rows

    y = np.concatenate([e.labels for e in train])
    if len(set(y)) < 2:
        return _labels(det, test, test_f)
    clf = LogisticRegression(C=1.0, max_iter=500).fit(np.vstack(design(train, train_f)), y)
    return [list(clf.predict(Z)) for Z in design(test, test_f)]


def score_sites(det: Detector, sites: dict[str, list[Example]], rows: dict, tag: str) -> None:
    """Append word-F1s of every condition to ``rows[(tag, condition set)][condition]``."""
    for pages in sites.values():
        feats = featurize_examples(pages)
        profiled = with_site_profiles(pages, feats, share=1.0)  # each page: the profile of the others
        none, prof = _labels(det, pages, feats), _labels(det, pages, profiled)
        for i, e in enumerate(pages):
            rows[(tag, "leave-one-out")]["no profile"].append(_f1(e, none[i]))
            rows[(tag, "leave-one-out")]["profile"].append(_f1(e, prof[i]))
        for k in (1, 3):
            if len(pages) <= k:
                continue
            held = range(k, len(pages))
            cell = rows[(tag, f"{k} labelled")]
            cell["no profile"] += [_f1(pages[i], none[i]) for i in held]
            cell["profile"] += [_f1(pages[i], prof[i]) for i in held]
            train, train_f = pages[:k], feats[:k]
            test, test_f = [pages[i] for i in held], [profiled[i] for i in held]
            for name, (extra, rate) in WARM.items():
                adapted = adapt_detector(det, train, train_f, extra_iter=extra, learning_rate=rate)
                cell[name] += [_f1(e, lab) for e, lab in zip(test, _labels(adapted, test, test_f))]
            lab = _stacked_logistic(det, train, with_site_profiles(train, train_f, share=1.0), test, test_f)
            cell["stacked logistic"] += [_f1(e, l) for e, l in zip(test, lab)]


def synthetic_sites(n_sites: int, n_pages: int) -> dict[str, list[Example]]:
    sites = {}
    for s in range(n_sites):
        site = Site(200 + s)
        for kind in ("html", "text"):
            pages = []
            for p in range(n_pages):
                doc, labels = site.html(p) if kind == "html" else site.text(p)
                page = segment_html(doc, url=site.url(p), id=str(p)) if kind == "html" else text_page(doc, url=site.url(p), id=str(p))
                pages.append(Example(page, labels, None, site.host))
            sites[f"{site.host}/{kind}"] = pages
    return sites


def print_rows(rows: dict) -> None:
    for (tag, subset), cell in rows.items():
        n = len(cell["no profile"])
        print(f"\n{tag}, {subset} ({n} scored pages)")
        for name, values in cell.items():
            print(f"  {name:<18} {np.mean(values):.4f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "datasets", "wcxb-dev"))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--only-folds", type=int, default=1)
    ap.add_argument("--max-iter", type=int, default=100)
    ap.add_argument("--cache", default=None, help="joblib file of the loaded HTML pages (created if missing)")
    ap.add_argument("--synthetic-sites", type=int, default=4)
    ap.add_argument("--synthetic-pages", type=int, default=24)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()

    t0 = time.time()
    if args.cache and os.path.exists(args.cache):
        examples = joblib.load(args.cache)
    else:
        if not os.path.isdir(args.data):
            sys.exit(f"error: dataset not found: {args.data}")
        examples = load_examples([args.data], text_twin=False, n_jobs=args.jobs, progress=sys.stderr.isatty())
        if args.cache:
            joblib.dump(examples, args.cache)
    examples = [e for e in examples if e.page.source == "html"]
    by_domain = defaultdict(list)
    for e in examples:
        by_domain[e.group].append(e)
    multi = {d: sorted(p, key=lambda e: e.page.id) for d, p in by_domain.items() if len(p) > 1}
    print(f"{len(examples)} HTML pages, {len(by_domain)} domains; {len(multi)} domains with several pages "
          f"({sum(map(len, multi.values()))} pages), {sum(len(p) >= 4 for p in multi.values())} with 4 or more "
          f"[{time.time() - t0:.0f}s]", file=sys.stderr)  # fmt: skip

    groups = np.array([e.group for e in examples])
    folds = list(GroupKFold(n_splits=args.folds).split(np.zeros(len(examples)), groups=groups))[: args.only_folds]
    rows: dict = defaultdict(lambda: defaultdict(list))
    first = None
    with threadpool_limits(limits=1, user_api="openmp"):
        for f, (train_idx, test_idx) in enumerate(folds):
            train = [examples[i] for i in train_idx]
            train += [Example(Page([Line(t) for t in e.page.texts], "text", e.page.url, e.page.id), e.labels, e.gold, e.group)
                      for e in train]  # fmt: skip
            det = fit_detector(train, {"max_iter": args.max_iter, "stacking": False})
            print(f"fold {f}: model fitted [{time.time() - t0:.0f}s]", file=sys.stderr)
            first = first or det
            held = {d: p for d, p in multi.items() if d in set(groups[test_idx])}
            score_sites(det, held, rows, "wcxb-dev HTML")
            print(f"fold {f}: {len(held)} domains scored [{time.time() - t0:.0f}s]", file=sys.stderr)
        sites = synthetic_sites(args.synthetic_sites, args.synthetic_pages)
        for kind in ("html", "text"):
            score_sites(first, {k: v for k, v in sites.items() if k.endswith(kind)}, rows, f"synthetic {kind}")
    print(f"[{time.time() - t0:.0f}s]", file=sys.stderr)
    print_rows(rows)


if __name__ == "__main__":
    main()
