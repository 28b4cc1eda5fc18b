"""The ``boilerdetect`` command line (typer).

Exit codes: 0 success, 1 some records failed, 2 usage error (bad option, missing file, bad model).
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from .readers import InputError, expand_inputs, read_records

app = typer.Typer(
    help="Label the lines of crawled web pages as content, related links or boilerplate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class OutputFormat(str, Enum):
    text = "text"
    jsonl = "jsonl"


class InputFormat(str, Enum):
    auto = "auto"
    text = "text"
    html = "html"
    jsonl = "jsonl"
    warc = "warc"


class Keep(str, Enum):
    related = "related"


def _fail(message: str, code: int = 2):
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _load_detector(model: Optional[Path]):
    from .model import Detector, ModelError

    try:
        return Detector.load(model)
    except ModelError as exc:
        _fail(str(exc))


@contextmanager
def _output(path: Optional[Path]):
    """stdout, or a file written to a temporary name and renamed into place when complete."""
    if path is None:
        yield sys.stdout
        return
    tmp = path.with_name(f".{path.name}.partial")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            yield fh
        os.replace(tmp, path)
    except OSError as exc:
        _fail(f"cannot write {path}: {exc.strerror or exc}")
    finally:
        if tmp.exists():
            tmp.unlink()


def _show_progress(force: Optional[bool]) -> bool:
    return sys.stderr.isatty() if force is None else force


@app.command()
def predict(
    inputs: list[str] = typer.Argument(..., help="Files, directories (walked) or '-' for stdin."),
    format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", help="text: the main content of each page; jsonl: one JSON record per input record, in order."),
    input_format: InputFormat = typer.Option(InputFormat.auto, "--input-format", help="Force the input kind instead of guessing it from the file name (.txt .html .jsonl .warc .wet, optionally .gz)."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="Model file (default: the shipped model)."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Worker processes."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here instead of stdout (written atomically)."),
    keep: list[Keep] = typer.Option([], "--keep", help="With --format text, also print lines with this label (related)."),
    progress: Optional[bool] = typer.Option(None, "--progress/--quiet", help="Progress bar on stderr (default: when stderr is a terminal)."),
) -> None:
    """Label every line of every page and print the main content (or JSONL records)."""
    try:
        paths = expand_inputs(inputs)
    except InputError as exc:
        _fail(str(exc))
    detector = _load_detector(model)
    counts = {"read": 0, "written": 0, "failed": 0, "skipped": 0}
    kept = {"content"} | {k.value for k in keep}

    def records():
        for path in paths:
            for record in read_records(path, input_format.value):
                if "_skipped" in record:
                    counts["skipped"] += 1
                    continue
                counts["read"] += 1
                yield record

    results = detector.predict_many(records(), n_jobs=jobs)
    if _show_progress(progress):
        from tqdm import tqdm

        results = tqdm(results, unit="page", file=sys.stderr)
    with _output(output) as out:
        for res in results:
            if res.error is not None:
                counts["failed"] += 1
                if format is OutputFormat.text:
                    typer.echo(f"error: {res.id or 'record'}: {res.error}", err=True)
            if format is OutputFormat.jsonl:
                out.write(json.dumps(res.to_record(), ensure_ascii=False) + "\n")
            elif res.error is None:
                out.write("\n".join(l.text for l in res.lines if l.label in kept) + "\n\n")
            counts["written"] += 1
    typer.echo(
        f"pages read {counts['read']}, written {counts['written']}, failed {counts['failed']}, skipped {counts['skipped']}",
        err=True,
    )
    if counts["failed"]:
        raise typer.Exit(1)


def _examples(data: list[str], jobs: int, progress: Optional[bool]):
    from .datasets import load_examples

    try:
        return load_examples(data, n_jobs=jobs, progress=_show_progress(progress))
    except InputError as exc:
        _fail(str(exc))


@app.command()
def train(
    data: list[str] = typer.Argument(..., help="Labelled data: line-labelled or page+gold JSONL files, or WCXB-layout directories."),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the model (.joblib); its card goes next to it."),
    cv: int = typer.Option(5, "--cv", min=0, help="Folds of site-grouped cross-validation to report in the card (0: skip)."),
    max_iter: int = typer.Option(300, "--max-iter", min=10, help="Boosting iterations per stage."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Processes for reading the data."),
    progress: Optional[bool] = typer.Option(None, "--progress/--quiet", help="Progress bars on stderr."),
) -> None:
    """Train a model from labelled pages, cross-validate it, and save it with its model card."""
    from .evaluate import format_report
    from .train import cross_validate, fit_detector, model_card

    examples = _examples(data, jobs, progress)
    if not examples:
        _fail("no training pages found")
    params = {"max_iter": max_iter}
    report = None
    if cv >= 2:
        try:
            report = cross_validate(examples, cv, params, progress=_show_progress(progress))
        except ValueError as exc:
            typer.echo(f"note: cross-validation skipped: {exc}", err=True)
        else:
            for source in ("html", "text"):
                if source in report:
                    typer.echo(format_report(f"cross-validated {source}", report[source]), err=True)
    try:
        detector = fit_detector(examples, params)
    except ValueError as exc:
        _fail(str(exc))
    detector.card = model_card(examples, [str(d) for d in data], params, report)
    detector.save(out)
    typer.echo(f"model written to {out}", err=True)


@app.command()
def evaluate(
    data: list[str] = typer.Argument(..., help="Labelled data, as for train."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="Model file (default: the shipped model)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Processes for reading the data."),
    progress: Optional[bool] = typer.Option(None, "--progress/--quiet", help="Progress bars on stderr."),
) -> None:
    """Line-level precision/recall/F1 per label, and word-F1 of the kept content where gold text exists."""
    from .evaluate import format_report
    from .train import evaluate_detector

    detector = _load_detector(model)
    report = evaluate_detector(detector, _examples(data, jobs, progress))
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        typer.echo("\n".join(format_report(source, r) for source, r in report.items()))


@app.command()
def info(model: Optional[Path] = typer.Option(None, "--model", "-m", help="Model file (default: the shipped model).")) -> None:
    """Print the model card (training data, features, cross-validated metrics, versions)."""
    detector = _load_detector(model)
    typer.echo(json.dumps(detector.card, indent=2))


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (default: loopback only)."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Server processes, each with its own copy of the model."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="Model file (default: the shipped model)."),
    max_body_mb: float = typer.Option(10.0, "--max-body-mb", min=0.0, help="Largest request body accepted (413 above)."),
    timeout: float = typer.Option(30.0, "--timeout", min=0.0, help="Seconds a request may wait and predict (504 after)."),
    max_concurrency: int = typer.Option(2, "--max-concurrency", min=1, help="Prediction threads per worker."),
    max_queue: int = typer.Option(64, "--max-queue", min=0, help="Requests that may wait for a thread, per worker (503 beyond)."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level (critical, error, warning, info, debug)."),
) -> None:
    """Serve the detector over HTTP: POST /v1/predict, GET /v1/model, GET /healthz, docs at /docs."""
    from .service import Settings
    from .service import serve as run_server

    if max_body_mb <= 0 or timeout <= 0:
        _fail("--max-body-mb and --timeout must be positive")
    if log_level.lower() not in ("critical", "error", "warning", "info", "debug", "trace"):
        _fail(f"unknown --log-level {log_level!r}")
    detector = _load_detector(model)  # fail fast (exit 2) on a missing or bad model
    if workers > 1:
        detector = None  # each worker process loads its own copy at startup
    settings = Settings(
        model=None if model is None else str(model.resolve()),
        max_body_mb=max_body_mb,
        timeout=timeout,
        max_concurrency=max_concurrency,
        max_queue=max_queue,
    )
    run_server(settings, host=host, port=port, workers=workers, detector=detector, log_level=log_level)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
