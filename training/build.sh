#!/usr/bin/env bash
# Rebuild the shipped model from the WCXB dev set: site-grouped 5-fold cross-validation (its
# figures go into the model card), then a fit on all pages. Usage: bash training/build.sh [DATA]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-../shared/datasets/wcxb-dev}"
PY="${PYTHON:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}"
# Both models are stacked: a short stage 1, and stage 2 (over stage 1's scores of the neighbouring
# lines, the page and, from HTML, the DOM region) blended half and half with it. The plain-text
# model labels each page's lines for the best expected word-F1 (docs/accuracy.md, Rounds 5 to 8
# and 16); its stage 2 sees the run of lines that best holds the content (Round 14) and what the
# lines' words say, and a second word model finds related blocks' headings (Rounds 19 and 20). The
# HTML model gives each line its most probable label, except on a page where that keeps less than
# 0.3 of the words the page is expected to hold as content: that page is labelled as text pages are (Round 30)
"$PY" -m boilerdetect.cli train "$DATA" --out models/default.joblib --cv 5 --max-iter 150 --jobs 2 --progress \
    --stacking --stage1-iter 50 --stage2-iter 100 --stack-folds 4 --stage2-weight 0.5 --page-f1 text --page-f1-below 0.3 --vocabulary text
