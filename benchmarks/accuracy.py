"""Cross-validated accuracy on a WCXB-layout dataset: the table the README and model card quote.

    python benchmarks/accuracy.py [--data ../shared/datasets/wcxb-dev] [--folds 5] [--only-folds K]

Folds are grouped by domain: no site is in both the training and the validation part. Prints the
oracle bound (a perfect line classifier on our segmentation + alignment), word-F1 overall and per
page type for HTML and plain-text input, and line-level precision/recall/F1 per label.
``--cache`` keeps the parsed, aligned pages between runs (segmentation is the slow part);
``--only-folds K`` validates only the first K folds, for quick comparisons of two settings.
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
from boilerdetect.features import featurize
from boilerdetect.document import SOURCES
from boilerdetect.model import DEFAULT_MODEL, read_card
from boilerdetect.train import cross_validate


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
    args = ap.parse_args()

    t0 = time.time()
    if args.cache and os.path.exists(args.cache):
        examples = joblib.load(args.cache)
    else:
        if not os.path.isdir(args.data):
            sys.exit(f"error: dataset not found: {args.data}")
        examples = load_examples([args.data], n_jobs=args.jobs, progress=sys.stderr.isatty())
        if args.cache:
            joblib.dump(examples, args.cache)
    features = [featurize(e.page) for e in examples]
    print(f"{len(examples)} pages loaded and featurised in {time.time() - t0:.0f}s", file=sys.stderr)

    params = json.loads(args.params) if args.params is not None else read_card(DEFAULT_MODEL).get("params", {})
    print(f"classifier parameters: {json.dumps(params)}", file=sys.stderr)
    out = cross_validate(examples, args.folds, params, sys.stderr.isatty(), features, args.only_folds)
    out["params"] = params
    print("oracle word-F1: " + ", ".join(f"{s} {v:.4f}" for s, v in out["oracle"].items()))
    for source in SOURCES:
        print(format_report(f"{source} input ({out['folds']} folds grouped by domain)", out[source]))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)


if __name__ == "__main__":
    main()
