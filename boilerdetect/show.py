"""See what the detector sees: labelled pages rendered as one self-contained HTML document.

Every line of every page appears once, in order, tinted by its label, with its content score as a
small bar and, on hover (the ``title`` attribute), the features that pushed its label most (when
the results carry explanations, see :mod:`boilerdetect.explain`). Runs of ``related`` lines are
outlined as one block. A summary at the top gives the counts per label, the kept words, the model
and the site profile; several pages get a table of contents.

The output has no external assets and no script: inline CSS only. All page text is escaped.
:func:`render_results` gives the body fragment (used by ``boilerdetect show`` and by the service's
``POST /``), :func:`page_shell` wraps a fragment into a document.
"""

from __future__ import annotations

import html
import os
import re
from collections import Counter
from collections.abc import Sequence

from .document import LABELS
from .result import Result

STYLE = """
:root { --content: #e3f4e1; --related: #dde8fb; --boilerplate: #f1f1f1; --bar: #2f8f3a; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 70rem; padding: 1rem 1.5rem; color: #1d1d1d; }
h1 { font-size: 1.35rem; margin: .2rem 0 .8rem; }
h2 { font-size: 1.1rem; margin: 1.6rem 0 .3rem; word-break: break-all; }
table.facts { border-collapse: collapse; margin: .3rem 0 .8rem; }
table.facts th { text-align: left; font-weight: 600; padding: .1rem 1rem .1rem 0; vertical-align: top; }
table.facts td { padding: .1rem 0; word-break: break-all; }
.legend span, .lab { display: inline-block; border-radius: 3px; padding: 0 .35rem; font-size: .75rem; }
.legend span { margin-right: .4rem; }
.lines { border-top: 1px solid #ddd; }
.line { display: grid; grid-template-columns: 3rem 4.2rem 6.2rem 1fr; gap: .5rem; align-items: baseline;
        padding: .15rem .3rem; border-bottom: 1px solid #fff; }
.line .no { color: #888; font-size: .75rem; text-align: right; }
.line .text { white-space: pre-wrap; overflow-wrap: anywhere; }
.score { display: inline-block; width: 4rem; height: .55rem; background: #ccc; border-radius: 2px; overflow: hidden; }
.score > span { display: block; height: 100%; background: var(--bar); }
.content { background: var(--content); }
.related { background: var(--related); }
.boilerplate { background: var(--boilerplate); color: #6b6b6b; }
.lab.content { background: #b9e3b3; } .lab.related { background: #b6cdf5; } .lab.boilerplate { background: #dadada; }
.block { outline: 2px solid #5b87d6; border-radius: 3px; margin: .35rem 0; }
.block > .block-head { font-size: .75rem; color: #2d56a0; padding: .1rem .4rem; background: #eef3fd; }
.error { color: #a10000; font-weight: 600; }
nav.toc ol { padding-left: 1.6rem; } nav.toc li { word-break: break-all; }
form.ask textarea { width: 100%; min-height: 12rem; font: 13px/1.4 ui-monospace, monospace; }
form.ask input[type=url], form.ask input[type=text] { width: 100%; }
form.ask .row { margin: .4rem 0; }
"""


def printable(text: str) -> str:
    """Text HTML can carry: lone surrogates and control characters (not tab/newline) become U+FFFD."""
    return _UNPRINTABLE.sub("\ufffd", text)


_UNPRINTABLE = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def esc(value: object) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape(printable(str(value)), quote=True)


def model_facts(path: str | os.PathLike | None, card: dict) -> dict[str, str]:
    """What the summary says about a model: its file and what its card records."""
    facts = {"model": str(path) if path is not None else "(in memory)"}
    for key, name in (("created", "trained"), ("sha256", "sha256")):
        if card.get(key):
            facts[name] = str(card[key])
    pages = card.get("training_data", {}).get("pages")
    if isinstance(pages, dict):
        facts["training pages"] = ", ".join(f"{n} {kind}" for kind, n in pages.items())
    return facts


def _words(res: Result, label: str | None = None) -> int:
    return sum(len(l.text.split()) for l in res.lines if label is None or l.label == label)


def _tooltip(res: Result, i: int) -> str:
    line = res.lines[i]
    head = f"{line.label} · content score {float(line.score or 0):.3f}"
    if res.explanations is None:
        return head
    rows = [
        f"{c.delta:+.3f}  {c.feature} = {c.value:.3g} (others: {c.reference:.3g}) — {c.doc}"
        for c in res.explanations[i]
    ]
    if not rows:
        return head + "\nno single feature changes this decision"
    return head + "\nfeatures that pushed it most (Δ probability of its label):\n" + "\n".join(rows)


def _line(res: Result, i: int) -> str:
    line = res.lines[i]
    score = float(line.score) if line.score is not None else 0.0
    return (
        f'<div class="line {esc(line.label)}" data-index="{i}" data-label="{esc(line.label)}" '
        f'data-score="{score:.4f}" title="{esc(_tooltip(res, i))}">'
        f'<span class="no">{i + 1}</span>'
        f'<span class="score" role="meter" aria-valuenow="{score:.2f}" aria-valuemin="0" aria-valuemax="1">'
        f'<span style="width:{score * 100:.1f}%"></span></span>'
        f'<span class="lab {esc(line.label)}">{esc(line.label)}</span>'
        f'<span class="text">{esc(line.text)}</span></div>'
    )


def _lines(res: Result) -> str:
    """The page's lines; each run of related lines wrapped in one outlined block."""
    blocks = iter(res.related_links)  # one block per run of related lines, in order
    parts: list[str] = []
    i, n = 0, len(res.lines)
    while i < n:
        if res.lines[i].label != "related":
            parts.append(_line(res, i))
            i += 1
            continue
        end = i
        while end < n and res.lines[end].label == "related":
            end += 1
        block = next(blocks, {"heading": None, "items": []})
        heading = f"“{esc(block['heading'])}” · " if block["heading"] else ""
        items = len(block["items"])
        parts.append(
            f'<div class="block" data-lines="{end - i}"><div class="block-head">related block: {heading}'
            f"{items} item{'s' if items != 1 else ''}</div>" + "".join(_line(res, j) for j in range(i, end)) + "</div>"
        )
        i = end
    return '<div class="lines">' + "".join(parts) + "</div>"


def _facts(rows: dict[str, object]) -> str:
    return '<table class="facts">' + "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows.items()) + "</table>"


def _counts(results: Sequence[Result]) -> str:
    counts = Counter(l.label for res in results for l in res.lines)
    return ", ".join(f"{counts[lab]} {lab}" for lab in LABELS)


def page_title(res: Result, number: int) -> str:
    return res.id or res.url or f"page {number}"


def _section(res: Result, number: int) -> str:
    head = f'<section class="page" id="page-{number}"><h2>{esc(number)}. {esc(page_title(res, number))}</h2>'
    if res.error is not None:
        return head + f'<p class="error">not labelled: {esc(res.error)}</p></section>'
    facts = {"url": res.url} if res.url else {}
    facts |= {"lines": f"{len(res.lines)}: {_counts([res])}", "kept words": f"{_words(res, 'content')} of {_words(res)}"}
    if res.truncated:  # as the JSONL output's "truncated" says it
        facts["cut to the size limits"] = ", ".join(f"{key.replace('_', ' ')} {value:,}" for key, value in res.truncated.items())
    return head + _facts(facts) + _lines(res) + "</section>"


def render_results(results: Sequence[Result], model: dict[str, str], profile: str | None = None, note: str | None = None) -> str:
    """Summary, table of contents (when there are several pages) and one section per page (HTML fragment).

    ``model``: rows about the model (:func:`model_facts`); ``profile``: the site profile used, if
    any; ``note``: an extra line for the summary (e.g. that the input was cut).
    """
    failed = sum(res.error is not None for res in results)
    summary = {
        "pages": f"{len(results)}" + (f" ({failed} not labelled)" if failed else ""),
        "lines": _counts(results),
        "kept words": f"{sum(_words(r, 'content') for r in results)} of {sum(_words(r) for r in results)}",
    }
    summary |= model | {"profile": profile or "none"} | ({"note": note} if note else {})
    legend = '<p class="legend">' + "".join(f'<span class="{lab}">{lab}</span>' for lab in LABELS)
    legend += " bar: content score · hover a line for the features behind its label</p>"
    out = [f'<section class="summary">{_facts(summary)}{legend}</section>']
    if len(results) > 1:
        items = "".join(
            f'<li><a href="#page-{k}">{esc(page_title(r, k))}</a> — '
            + (f"not labelled: {esc(r.error)}" if r.error is not None else esc(_counts([r])))
            + "</li>"
            for k, r in enumerate(results, start=1)
        )
        out.append(f'<nav class="toc"><h2>Pages</h2><ol>{items}</ol></nav>')
    out += [_section(res, k) for k, res in enumerate(results, start=1)]
    return "".join(out)


# No script, no external resource, forms only back to where the page came from: even text that
# slipped through unescaped could not run or load anything.
CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"


def page_shell(title: str, body: str) -> str:
    """A complete HTML document around ``body`` (trusted HTML), with the inline style."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{esc(title)}</h1>{body}</body></html>\n"
    )


def render_form(page: str = "", kind: str = "text", url: str = "", error: str | None = None) -> str:
    """The service's input form (HTML fragment), filled with what was submitted.

    Fields: ``page`` (the pasted text or HTML), ``kind`` (``text`` or ``html``), ``url`` (a label
    for the page; never fetched). It posts back to ``/``.
    """
    radios = "".join(
        f'<label><input type="radio" name="kind" value="{k}"{" checked" if k == kind else ""}> {label}</label> '
        for k, label in (("text", "plain text"), ("html", "HTML"))
    )
    return (
        '<form class="ask" method="post" action="/" accept-charset="utf-8">'
        '<div class="row"><label for="page">Paste a page (plain text as crawled, or HTML source):</label>'
        f'<textarea id="page" name="page" required>{esc(page)}</textarea></div>'
        f'<div class="row">{radios}</div>'
        '<div class="row"><label for="url">URL (only a label for the page; it is never fetched):</label>'
        f'<input id="url" name="url" type="text" value="{esc(url)}" placeholder="https://example.org/article"></div>'
        '<div class="row"><button type="submit">Label the lines</button></div>'
        + (f'<p class="error" role="alert">{esc(error)}</p>' if error else "")
        + "</form>"
    )


TITLE = "boilerdetect: what the detector sees"


def render_document(
    results: Sequence[Result], model: dict[str, str], profile: str | None = None, note: str | None = None
) -> str:
    """The whole self-contained HTML document for ``results`` (arguments as in :func:`render_results`)."""
    return page_shell(TITLE, render_results(results, model, profile, note))
