"""Metrics: word-F1 of kept content against gold main text, and line-level P/R/F1 per label."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from .align import words
from .document import LABELS


def word_f1(predicted: str, gold: str) -> float:
    """F1 of lower-cased ``\\w+`` token multisets; 0.0 when either has no words.

    A gold text without words (a page with no main content) scores 0.0 whatever is kept, keeping
    nothing included, as the WCXB benchmark scores such pages: so that our figures compare with
    other extractors' on it.
    """
    p, g = Counter(words(predicted)), Counter(words(gold))
    overlap = sum((p & g).values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / sum(p.values()), overlap / sum(g.values())
    return 2 * precision * recall / (precision + recall)


def line_scores(true: list[str], pred: list[str]) -> dict[str, dict[str, float]]:
    """Per label: precision, recall, F1, support (lines of the label) and predicted (lines given it)."""
    t, p = np.asarray(true), np.asarray(pred)
    out = {}
    for lab in LABELS:
        tp = int(np.sum((t == lab) & (p == lab)))
        n_pred, n_true = int(np.sum(p == lab)), int(np.sum(t == lab))
        prec = tp / n_pred if n_pred else 0.0
        rec = tp / n_true if n_true else 0.0
        out[lab] = {"precision": prec, "recall": rec, "f1": 2 * prec * rec / (prec + rec) if prec + rec else 0.0, "support": n_true, "predicted": n_pred}
    return out


def summarize(rows: list[dict]) -> dict:
    """Aggregate per-page rows ``{"f1", "page_type", "true", "pred"}`` (and ``"fold"``, optional:
    then word-F1 per fold too) into the report dict."""
    by_type, by_fold = defaultdict(list), defaultdict(list)
    for r in rows:
        if r.get("f1") is not None:
            by_type[r.get("page_type") or "unknown"].append(r["f1"])
            if r.get("fold") is not None:
                by_fold[r["fold"]].append(r["f1"])
    f1s = [r["f1"] for r in rows if r.get("f1") is not None]
    return {
        "pages": len(rows),
        "word_f1": float(np.mean(f1s)) if f1s else None,
        "word_f1_by_type": {k: {"word_f1": float(np.mean(v)), "pages": len(v)} for k, v in sorted(by_type.items())},
        "lines": line_scores([x for r in rows for x in r["true"]], [x for r in rows for x in r["pred"]]),
    } | ({"word_f1_by_fold": [float(np.mean(by_fold[k])) for k in sorted(by_fold)]} if by_fold else {})


def format_report(name: str, report: dict) -> str:
    """A small plain-text table of a summarize() report."""
    out = [f"{name}: {report['pages']} pages"]
    if report["word_f1"] is not None:
        out.append(f"  word-F1 {report['word_f1']:.4f}")
        for ptype, v in report["word_f1_by_type"].items():
            out.append(f"    {ptype:<14} {v['word_f1']:.4f}  ({v['pages']} pages)")
        if "word_f1_by_fold" in report:
            out.append("    by fold        " + "  ".join(f"{v:.4f}" for v in report["word_f1_by_fold"]))
    out.append("  line    precision  recall  F1      support")
    for lab, s in report["lines"].items():
        if s["support"] == 0 and not s.get("predicted", s["precision"]):  # a label neither in the data nor predicted: nothing to score
            out.append(f"  {lab:<12} {'n/a':<5}  {'n/a':<5}  {'n/a':<5}  0")
        else:
            out.append(f"  {lab:<12} {s['precision']:.3f}  {s['recall']:.3f}  {s['f1']:.3f}  {s['support']}")
    return "\n".join(out)
