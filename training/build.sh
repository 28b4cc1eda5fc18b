#!/usr/bin/env bash
# Rebuild the shipped model from the WCXB dev set: site-grouped 5-fold cross-validation (its
# figures go into the model card), then a fit on all pages. Usage: bash training/build.sh [DATA]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-../shared/datasets/wcxb-dev}"
PY="${PYTHON:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}"
"$PY" -m boilerdetect.cli train "$DATA" --out models/default.joblib --cv 5 --max-iter 150 --jobs 2 --progress
