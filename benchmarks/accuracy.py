"""Cross-validated accuracy on a WCXB-layout dataset: the table the README and model card quote.

    python benchmarks/accuracy.py [--data ../shared/datasets/wcxb-dev] [--folds 5] [--only-folds K] [--source html|text]

Folds are grouped by domain: no site is in both the training and the validation part. Prints the
oracle bound (a perfect line classifier on our segmentation + alignment), word-F1 overall and per
page type for HTML and plain-text input, and line-level precision/recall/F1 per label.
``--cache`` keeps the parsed, aligned pages between runs (segmentation is the slow part);
``--only-folds K`` validates only the first K folds, and ``--source html`` (or ``text``) only one
kind of page (about half the time; the folds stay the same), for quick comparisons of two settings.
Without ``--params``, the classifier parameters are the shipped model's (from its card), so the
table is the one ``training/build.sh`` writes into the card.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import joblib

from boilerdetect.datasets import load_examples
from boilerdetect.evaluate import format_report
from boilerdetect.document import SOURCES, cycle_collector_paused
from boilerdetect.model import DEFAULT_MODEL, Detector, read_card
from boilerdetect.train import cross_validate, featurize_examples


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "datasets", "wcxb-dev"))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--only-folds", type=int, default=None, help="validate only the first K folds")
    ap.add_argument("--params", default=None, help='classifier parameters as JSON, e.g. \'{"max_iter": 200}\' (default: the shipped model\'s)')
    ap.add_argument("--cache", default=None, help="pickle of the loaded examples (created if missing)")
    ap.add_argument("--json", default=None, help="also write the full report here")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--split-seed", type=int, default=None, help="deal the sites into folds at random with this seed (a second split to re-check a change on)")
    ap.add_argument("--source", choices=SOURCES, default=None, help="cross-validate only this kind of page (default: both)")
    args = ap.parse_args()

    t0 = time.time()
    if args.cache and os.path.exists(args.cache):
        with cycle_collector_paused():  # millions of objects: the collector would re-scan them as they load
            examples = joblib.load(args.cache)
    else:
        if not os.path.isdir(args.data):
            sys.exit(f"error: dataset not found: {args.data}")
        # the text twins are only built when they are validated (or cached for later runs)
        twins = args.source != "html" or args.cache is not None
        examples = load_examples([args.data], text_twin=twins, n_jobs=args.jobs, progress=sys.stderr.isatty())
        if args.cache:
            joblib.dump(examples, args.cache)
    if args.source:
        # every HTML page has its text twin in the same site group, so the folds do not change
        examples = [e for e in examples if e.page.source == args.source]
    features = featurize_examples(examples)
    print(f"{len(examples)} pages loaded and featurised in {time.time() - t0:.0f}s", file=sys.stderr)

    params = json.loads(args.params) if args.params is not None else read_card(DEFAULT_MODEL).get("params", {})
    print(f"classifier parameters: {json.dumps(params)}", file=sys.stderr)
    # the shipped model only stands in for the kind that is not validated
    base = Detector.load(DEFAULT_MODEL, kinds=[s for s in SOURCES if s != args.source]) if args.source else None
    out = cross_validate(examples, args.folds, params, sys.stderr.isatty(), features, args.only_folds, base=base, split_seed=args.split_seed)
    out["params"] = params
    print("oracle word-F1: " + ", ".join(f"{s} {v:.4f}" for s, v in out["oracle"].items()))
    for source in (args.source,) if args.source else SOURCES:
        print(format_report(f"{source} input ({out['folds']} folds grouped by domain)", out[source]))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)


if __name__ == "__main__":
    main()
