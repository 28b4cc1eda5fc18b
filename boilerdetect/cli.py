"""The ``boilerdetect`` command line (typer).

Exit codes: 0 success, 1 some records failed, 2 usage error (bad option, missing file, bad model),
130 interrupted (Ctrl-C), 143 stopped by SIGTERM (as Ctrl-C stops: no half-written output), 141 output
pipe closed early (as ``| head`` does).
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from collections.abc import Sequence
from contextlib import contextmanager
from enum import Enum
from functools import partial
from pathlib import Path
from typing import Optional

import typer

from .atomic import atomic_file
from .document import SOURCES, own_process
from .readers import MAX_PAGE_BYTES, MAX_PAGE_LINES, ErrorRecord, InputError, SkippedRecord, check_stdin_once, expand_inputs, read_records

app = typer.Typer(
    help="Label the lines of crawled web pages as content, related links or boilerplate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # a docstring's lines join into paragraphs, as they read in the source
)


class _Terminated(BaseException):
    """SIGTERM, as ``timeout``, job schedulers and systemd stop a job: a command stops as on
    Ctrl-C (outputs being written are removed), and exits 143 (see :func:`main`)."""


_STOPPED = (KeyboardInterrupt, _Terminated)
_TERMINATED: list[bool] = []  # not empty once SIGTERM came


def _terminate(signum, frame) -> None:
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut short the cleanup of the first
    _TERMINATED.append(True)
    raise _Terminated


def _interrupt_code(exc: BaseException) -> int:
    return 143 if isinstance(exc, _Terminated) else 130


@app.callback()
def _owns_process(ctx: typer.Context) -> None:
    # the commands' other threads are progress bars' and worker pools' bookkeeping, which makes no
    # garbage cycles: the collector may pause while they run. Not the service's: its event loop does.
    if ctx.invoked_subcommand != "serve":
        own_process()


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


class Kinds(str, Enum):
    """Kinds of input page an option applies to."""

    both = "both"
    html = "html"
    text = "text"
    none = "none"


def _fail(message: str, code: int = 2):
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


TOP_FEATURES = 5  # features named per line in an explanation, by default

# the size limits of a page, shared by the commands that read pages (predict's, so that a profile or
# a report sees the lines predict sees)
_MAX_PAGE_BYTES = typer.Option(MAX_PAGE_BYTES, "--max-page-bytes", min=0, help="Cut a page's HTML or text to its first N bytes (UTF-8); 0: no limit. A cut page says so (in predict's JSONL: a \"truncated\" field).")
_MAX_PAGE_LINES = typer.Option(MAX_PAGE_LINES, "--max-page-lines", min=0, help="Keep only a page's first N lines; 0: no limit.")


def _limits(max_page_bytes: int, max_page_lines: int) -> tuple[int | None, int | None]:
    """The size-limit options as the library takes them: 0 (no limit) is None there."""
    return max_page_bytes or None, max_page_lines or None

# model options shared by every command that loads a model
_MODEL = typer.Option(None, "--model", "-m", help="Model file (default: the shipped model).")
_TRUST = typer.Option(False, "--trust-model", help="Load a model file that is not the shipped one without checking its hash (loading a model can run code from it; only for files you trust). Also BOILERDETECT_TRUST_MODEL=1.")
_SHA256 = typer.Option(None, "--model-sha256", metavar="HASH", help="Load the model only if its sha256 is HASH. Also BOILERDETECT_MODEL_SHA256.")


def _rendered(res, jsonl: bool, kept: frozenset) -> tuple[str | None, str | None, str | None]:
    """What ``predict`` writes for one result, as (id, error, output text or None): made where the
    result is made (``predict_many(transform=...)``, in a worker process with ``--jobs``, under the
    batch's collector pause), so that only the text comes back."""
    from .result import json_bytes

    if jsonl:
        text = json_bytes(res.to_record()).decode() + "\n"
    elif res.error is None:
        text = "\n".join(l.text for l in res.lines if l.label in kept) + "\n\n"
    else:
        text = None  # the error goes to stderr only
    return res.id, res.error, text


def _load_detector(model: Optional[Path], trust_model: bool, model_sha256: Optional[str], kinds: Sequence[str] = SOURCES):
    """The detector (of ``kinds`` of page), or exit 2 with the reason; without the options, the environment decides (see verify)."""
    from .model import Detector, ModelError

    try:
        return Detector.load(model, trust=True if trust_model else None, sha256=model_sha256, kinds=kinds)
    except ModelError as exc:
        _fail(str(exc))


@contextmanager
def _output(path: Optional[Path]):
    """stdout, or a file written to a temporary name and renamed into place when complete.

    An interrupted or failed run leaves the previous file (or none) and no temporary file.
    ``-`` is stdout; an existing non-regular file (``/dev/null``, a named pipe) is written directly.
    """
    stdout = path is None or str(path) == "-"
    path = None if stdout else Path(path)
    try:
        if stdout:
            yield sys.stdout
        elif path.exists() and not path.is_file():
            with open(path, "w", encoding="utf-8") as fh:
                yield fh
        elif path.name.lower().endswith(".gz"):  # as its name says, so that it reads back as it is named
            with atomic_file(path, "wb") as raw, gzip.open(raw, "wt", encoding="utf-8") as fh:
                yield fh
        else:
            with atomic_file(path, "w", encoding="utf-8") as fh:
                yield fh
    except BrokenPipeError:  # the reader went away ('| head'): the caller stops quietly
        raise
    except OSError as exc:  # a full disk, /dev/full, a directory in the way...
        _fail(f"cannot write {'to stdout' if stdout else path}: {exc.strerror or exc}")


def _expand(inputs: list[str], skipped: list[str]) -> list[str]:
    """:func:`expand_inputs`, exiting 2 on a usage error; the files it leaves out are added to ``skipped``."""
    try:
        return expand_inputs(inputs, skipped)
    except InputError as exc:
        _fail(str(exc))


def _note_skipped(skipped: list[str]) -> None:
    """Say which files of the walked directories were left out (see :func:`expand_inputs`)."""
    is_hidden = [os.path.basename(p.rstrip(os.sep)).startswith(".") for p in skipped]
    hidden = [p for p, h in zip(skipped, is_hidden) if h]
    assets = [p for p, h in zip(skipped, is_hidden) if not h]
    if assets:
        names = sorted({os.path.splitext(p)[1].lower() or os.path.basename(p) for p in assets})
        typer.echo(f"note: {len(assets)} file{'s' if len(assets) > 1 else ''} in the input directories left out, "
                   f"their names saying they are no pages ({' '.join(names[:8])}{' ...' if len(names) > 8 else ''})", err=True)  # fmt: skip
    if hidden:
        names = [os.path.basename(p.rstrip(os.sep)) + (os.sep if p.endswith(os.sep) else "") for p in hidden]
        typer.echo(f"note: {len(hidden)} hidden file{'s' if len(hidden) > 1 else ''} or director{'ies' if len(hidden) > 1 else 'y'} "
                   f"in the input directories left out ({' '.join(names[:8])}{' ...' if len(names) > 8 else ''})", err=True)  # fmt: skip


def _check_output(output: Optional[Path], paths: list[str]) -> None:
    """Exit 2 when the output file cannot go where asked: it is a directory, its directory does not
    exist, or it is one of the input files (writing it would destroy the input). None and "-" are stdout."""
    if output is None or str(output) == "-":
        return
    output = Path(output)
    if output.is_dir() or not output.parent.is_dir():
        _fail(f"cannot write {output}: {'it is a directory' if output.is_dir() else f'directory {output.parent} does not exist'}")
    target = os.path.realpath(output)
    if any(p != "-" and os.path.realpath(p) == target for p in paths):
        _fail(f"output {output} would overwrite its own input; choose another output file")


def _make_parent(target: Path) -> None:
    """Create the directory an output file goes into (with ``--output DIR``), or exit 2 saying why."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _fail(f"cannot create {target.parent}: {exc.strerror or exc}")


def _show_progress(force: Optional[bool]) -> bool:
    return sys.stderr.isatty() if force is None else force


def _load_profile(path: Path):
    from .profile import SiteProfile

    try:
        return SiteProfile.load(path)
    except ValueError as exc:
        _fail(str(exc))


def _records(paths: list[str], input_format: str, counts: dict, on_read=None, site=None):
    """The records of the inputs, in order; records a WARC holds but that are no pages are only
    counted (``counts["skipped"]``), the others counted in ``counts["read"]`` and yielded. With a
    site profile, the pages of sites it does not hold are counted in ``counts["unprofiled"]``."""
    from .profile import host_of

    for path in paths:
        for record in read_records(path, input_format, on_read=on_read):
            if isinstance(record, SkippedRecord):
                counts["skipped"] += 1
                continue
            counts["read"] += 1
            if site is not None:
                url = record.get("url")
                counts["unprofiled"] += host_of(url if isinstance(url, str) else None) not in site.hosts
            yield record


def _note_unprofiled(counts: dict, site) -> None:
    """A profile that holds none (or few) of the pages' sites changes nothing for them: say so."""
    if site is not None and counts["unprofiled"]:
        hosts = sorted(site.hosts)
        named = ", ".join(repr(h) for h in hosts[:3]) + (", ..." if len(hosts) > 3 else "")
        typer.echo(f"note: {counts['unprofiled']} of {counts['read']} pages are of sites the profile does not hold (it holds {named}; "
                   "'' is pages without a URL): they were labelled without site features", err=True)  # fmt: skip


def _error_line(rid, error: str) -> str:
    """The stderr line of a failed record: its id first, unless the reason starts with it already
    (the readers' reasons start with the file, and the line, they are about)."""
    return f"error: {rid}: {error}" if rid and not error.startswith(f"{rid}:") else f"error: {error}"


def _write_rendered(out, rendered: tuple[str | None, str | None, str | None], counts: dict, text_format: bool) -> str | None:
    """Write one result as :func:`_rendered` made it and count it; the error line to show on
    stderr (text format: errors are not in the output there, nor counted as written), if any."""
    rid, error, text = rendered
    if error is not None:
        counts["failed"] += 1
        if text_format:
            return _error_line(rid, error)
    if text is not None:
        out.write(text)
    counts["written"] += 1
    return None


_FILE_WORKER: dict = {}  # in a worker of the per-file mode: the detector, site profile, message queue, stop event


class _Stopped(Exception):
    """The main process asked the workers to stop (it was interrupted)."""


class _NothingLabelled(Exception):
    """Raised inside an output file's ``with`` block to discard it (see :func:`_nothing_labelled`)."""


def _nothing_labelled(text_format: bool, written: int, failed: int) -> bool:
    """Whether an input's text output is to be discarded: every page of it failed. Its file would
    be empty, and would make ``--resume`` skip the input as done; the errors are on stderr."""
    return text_format and failed > 0 and written == 0


def _not_written(target: Path) -> str:
    return f"note: {target} not written: no page of its input could be labelled (--resume will retry it)"


def _sigterm_in_worker(signum, frame) -> None:
    # not raised here, where it could land in any cleanup: the file being written is dropped at the
    # next record (as on ``stop``), its temporary file removed, and then the worker dies
    if _FILE_WORKER.get("writing"):
        import signal

        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _FILE_WORKER["terminated"] = True
    else:
        _die_by_sigterm()


def _die_by_sigterm() -> None:
    # as the signal's default would have: the pool then knows the worker is gone (a worker that
    # caught it and went on would keep the pool, and whoever shuts it down, waiting)
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _init_file_worker(detector, site, messages, stop) -> None:
    import signal

    # Ctrl-C reaches every process of the terminal's group: the main process alone handles it, and
    # sets ``stop``, which the workers check between records and before each file. SIGTERM sent to
    # a worker itself ends it, with the file it was on discarded
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _sigterm_in_worker)
    _FILE_WORKER.update(detector=detector, site=site, messages=messages, stop=stop)
    own_process()  # its one other thread feeds ``messages``: the collector may pause (document.own_process)


def _predict_file(paths: list[str], target: Path, input_format: str, render, text_format: bool, limits: tuple, explain: int) -> dict | None:
    """One input file of ``predict --jobs N --output DIR``, read, labelled and written whole in a
    worker process: only its counts, progress and error lines go back to the main process, which
    would otherwise carry every page to the workers and every output back.

    Returns the file's counts (``exit``: the exit code of a failure to write its output, if any),
    or None when stopped before the file was complete (nothing of it is written then).
    """
    detector, site, messages, stop = (_FILE_WORKER[k] for k in ("detector", "site", "messages", "stop"))
    if stop.is_set():
        return None
    counts = dict.fromkeys(("read", "written", "failed", "skipped", "unprofiled"), 0)  # bytes go with the progress
    unsent = [0, 0]  # pages written and bytes read since the last progress message

    def on_read(n: int) -> None:
        unsent[1] += n

    try:
        _FILE_WORKER["writing"] = True
        _make_parent(target)
        with _output(target) as out:
            records = _records(paths, input_format, counts, on_read, site)
            for rendered in detector.predict_many(records, explain=explain, profile=site, max_page_bytes=limits[0],
                                                  max_page_lines=limits[1], transform=render):  # fmt: skip
                if message := _write_rendered(out, rendered, counts, text_format):
                    messages.put(("note", message))
                unsent[0] += 1
                if unsent[0] >= 16:
                    messages.put(("progress", *unsent))
                    unsent[:] = [0, 0]
                if stop.is_set() or _FILE_WORKER.get("terminated"):
                    raise _Stopped  # the output file is discarded
            if _nothing_labelled(text_format, counts["written"], counts["failed"]):
                raise _NothingLabelled
    except _Stopped:
        return None
    except _NothingLabelled:
        messages.put(("note", _not_written(target)))
    except typer.Exit as exc:  # the output could not be created or written (the reason is on stderr already)
        counts["exit"] = exc.exit_code
    finally:
        _FILE_WORKER["writing"] = False
        if _FILE_WORKER.get("terminated"):  # the unfinished output is removed by now
            _die_by_sigterm()
    messages.put(("progress", *unsent))
    return counts


def _file_bytes(path: str) -> int:
    """Size of an input file on disk (0 for stdin, "-", or anything that is not a file)."""
    return os.path.getsize(path) if path != "-" and os.path.isfile(path) else 0


def _largest_first(groups: list) -> list:
    """The (input paths, output) ``groups`` by decreasing input bytes, ties in input order: the
    workers take the large files first and the small ones fill in at the end, so that they finish
    together (in input order, one may still be on a large file long after the other is done)."""
    return sorted(groups, key=lambda group: -sum(map(_file_bytes, group[0])))


def _predict_files_in_workers(groups: list, task: tuple, jobs: int, detector, site, counts: dict, note, progress) -> int:
    """``predict --jobs N --output DIR``: N workers take the (input paths, output file) ``groups``
    whole (:func:`_predict_file` with ``task``: input format, renderer, text format?, limits,
    explanations). Adds the finished files' counts to ``counts``; ``note`` shows a line on stderr,
    ``progress(pages)`` advances the bar. Returns the exit code of a failed write, or 0.
    """
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool
    from queue import Empty

    from .workers import worker_context

    context = worker_context()
    messages, stop = context.Queue(), context.Event()
    code = 0
    collected: set = set()

    def relay(timeout: float = 0.0) -> None:
        while True:
            try:
                kind, *payload = messages.get(timeout=timeout) if timeout else messages.get_nowait()
            except Empty:
                return
            if kind == "note":
                note(payload[0])
            else:  # progress: pages written, bytes read
                counts["bytes"] += payload[1]
                progress(payload[0])

    def collect(future) -> None:
        nonlocal code
        collected.add(future)
        try:
            found = future.result()
        except BrokenProcessPool:
            raise
        except Exception as exc:  # noqa: BLE001 - one file's failure is reported, the others go on
            note(f"error: {files[future]}: {type(exc).__name__}: {exc}")
            code = code or 1
            return
        if found is not None:  # None: stopped, nothing written
            code = code or found.pop("exit", 0)
            for key, n in found.items():
                counts[key] += n

    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_file_worker, initargs=(detector, site, messages, stop)) as pool:
        files = {pool.submit(_predict_file, paths, target, *task): target for paths, target in _largest_first(groups)}
        try:
            pending = set(files)
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                relay()
                for future in done:
                    collect(future)
        except _STOPPED:
            stop.set()  # the workers drop the files they are on and start no other
            pool.shutdown(wait=True, cancel_futures=True)
            for future in files:  # a file finished meanwhile is written: it is counted
                if future not in collected and future.done() and not future.cancelled():
                    collect(future)
            relay(timeout=0.1)
            raise
    relay(timeout=0.1)  # what the workers sent last
    return code


def _profile_inputs(
    paths: list[str], input_format: str, progress: bool, note=None, limits: tuple = (MAX_PAGE_BYTES, MAX_PAGE_LINES)
):
    """A SiteProfile of every page of the inputs (streamed: one page in memory at a time), and counts.

    Pages are cut to ``limits`` (max bytes, max lines) and flattened as predict does, so that the
    profile holds the lines predict will see, and a hostile page costs no more here than there.
    Records that cannot be read or segmented are counted as failed (and reported with ``note``).
    """
    from .nesting import MAX_DEPTH
    from .profile import SiteProfile
    from .readers import page_from_record

    profile = SiteProfile()
    counts = {"read": 0, "profiled": 0, "failed": 0, "skipped": 0}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(desc="profiling", unit="page", file=sys.stderr, dynamic_ncols=True)
    for record in _records(paths, input_format, counts):
        try:
            profile.add(page_from_record(record, *limits, MAX_DEPTH))
            counts["profiled"] += 1
        except (ValueError, RecursionError, MemoryError) as exc:
            counts["failed"] += 1
            if note is not None:
                note(_error_line(record.get("id"), str(exc)))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return profile, counts


@app.command()
def profile(
    inputs: list[str] = typer.Argument(..., help="Files, directories (walked) or '-' for stdin, as for predict."),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the profile (.profile, a compressed npz)."),
    input_format: InputFormat = typer.Option(InputFormat.auto, "--input-format", help="Force the input kind, as for predict."),
    progress: Optional[bool] = typer.Option(None, "--progress/--quiet", help="Progress bar on stderr (default: when stderr is a terminal)."),
    max_page_bytes: int = _MAX_PAGE_BYTES,
    max_page_lines: int = _MAX_PAGE_LINES,
) -> None:
    """Count, per site (URL host), on how many pages each line occurs; use it with predict --profile.

    Pages without a URL (plain files, stdin) are counted together under one unnamed site. The
    profile keeps 8-byte hashes of the normalised lines (numbers, dates and counters blanked),
    not their text. Exit code 1 when some pages could not be read.
    """
    skipped: list[str] = []
    paths = _expand(inputs, skipped)
    _note_skipped(skipped)
    _check_output(out, paths)
    limits = _limits(max_page_bytes, max_page_lines)  # the lines predict will see, with the same limits
    site, counts = _profile_inputs(paths, input_format.value, _show_progress(progress), lambda m: typer.echo(m, err=True), limits)
    try:
        site.save(out)
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror or exc}")
    typer.echo(
        f"pages read {counts['read']}, profiled {counts['profiled']}, failed {counts['failed']}, "
        f"skipped {counts['skipped']}; {site.describe()}; written to {out}",
        err=True,
    )
    if counts["failed"]:
        raise typer.Exit(1)


@app.command()
def predict(
    inputs: list[str] = typer.Argument(..., help="Files, directories (walked) or '-' for stdin."),
    format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", help="text: the main content of each page; jsonl: one JSON record per input record, in order."),
    input_format: InputFormat = typer.Option(InputFormat.auto, "--input-format", help="Force the input kind instead of guessing it from the file name (.txt .html .jsonl .warc .wet, optionally .gz); warc reads WET files too."),
    model: Optional[Path] = _MODEL,
    trust_model: bool = _TRUST,
    model_sha256: Optional[str] = _SHA256,
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Worker processes. With --output DIR and at least this many input files, each worker takes whole files; else pages are handed out in order."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write here instead of stdout, atomically. A directory (existing, or given with a trailing '/') gets one output file per input file, named after it."),
    resume: bool = typer.Option(False, "--resume", help="Skip inputs whose output file already exists (with --output)."),
    keep: list[Keep] = typer.Option([], "--keep", help="With --format text, also print lines with this label (related)."),
    max_page_bytes: int = _MAX_PAGE_BYTES,
    max_page_lines: int = _MAX_PAGE_LINES,
    progress: Optional[bool] = typer.Option(None, "--progress/--quiet", help="Progress bar on stderr (default: when stderr is a terminal)."),
    explain: bool = typer.Option(False, "--explain", help="With --format jsonl, give every line an \"explanation\": the features that pushed its label most (slow: about one prediction per feature)."),
    top_features: int = typer.Option(TOP_FEATURES, "--top-features", min=1, help="Features per line in an explanation."),
    site_profile: Optional[Path] = typer.Option(None, "--profile", help="Site profile (from 'boilerdetect profile'): lines common on a site's other pages read as template."),
    auto_profile: bool = typer.Option(False, "--auto-profile", help="Read the inputs twice: profile the sites of this batch first, then predict with that profile (not with stdin). With --profile too, both are merged: give a saved profile that does not hold these pages, or they count twice."),
) -> None:
    """Label every line of every page and print the main content (or JSONL records).

    Reads text, HTML, JSONL, WARC and WET files (each optionally gzipped; streamed, so memory
    stays flat). The last line on stderr counts the pages read, written, failed (error records)
    and skipped (WARC records that are not pages); the exit code is 1 when any page failed.
    """
    import time
    from collections import deque
    from concurrent.futures.process import BrokenProcessPool

    from .readers import detect_format

    if explain and format is not OutputFormat.jsonl:
        _fail("--explain needs --format jsonl")
    if keep and format is OutputFormat.jsonl:
        typer.echo("note: --keep applies to --format text; JSONL records carry every line and its label", err=True)
    if top_features != TOP_FEATURES and not explain:
        typer.echo("note: --top-features applies with --explain only", err=True)
    ext = ".jsonl" if format is OutputFormat.jsonl else ".txt"
    to_dir = output not in (None, "-") and (output.endswith(("/", os.sep)) or os.path.isdir(output))

    # (input paths, output target) groups: one group per input file with --output DIR, else one
    groups: list[tuple[list[str], Optional[Path]]] = []
    resumed = 0
    skipped: list[str] = []
    if to_dir:
        try:  # checked here for all inputs: the walk below expands them one at a time
            check_stdin_once(inputs)
        except InputError as exc:
            _fail(str(exc))
        out_dir = Path(output)
        targets: dict[Path, str] = {}
        sources = set()
        inside = os.path.realpath(out_dir) + os.sep
        earlier = 0  # files under an output directory inside a walked input directory
        for item in inputs:
            if os.path.isdir(item) and (os.path.realpath(item) + os.sep).startswith(inside):
                _fail(f"--output {output} is or holds the input directory {item}: outputs would mix with inputs; choose a directory outside it")
            for path in _expand([item], skipped):
                if os.path.isdir(item) and os.path.realpath(path).startswith(inside):
                    earlier += 1  # most likely an earlier run's outputs: read, they would be labelled as pages
                    continue
                sources.add(os.path.realpath(path))
                if path == "-":
                    name = "stdin"
                else:
                    name = os.path.relpath(path, item) if os.path.isdir(item) else os.path.basename(path)
                    if name.lower().endswith(".gz"):
                        name = name[:-3]
                    if detect_format(name) is not None:
                        name = os.path.splitext(name)[0]
                target = out_dir / (name + ext)
                if target in targets:
                    _fail(f"{targets[target]} and {path} would both be written to {target}; give them separate runs")
                targets[target] = path
                groups.append(([path], target))
        if earlier:
            typer.echo(f"note: {earlier} file{'s' if earlier > 1 else ''} under the output directory {output} left out of the inputs "
                       "(earlier outputs, most likely)", err=True)  # fmt: skip
        for target in targets:
            if os.path.realpath(target) in sources:
                _fail(f"output {target} would overwrite its own input; choose another --output directory")
    else:
        paths = _expand(inputs, skipped)
        single = None if output is None else Path(output)
        _check_output(single, paths)
        groups.append((paths, single))
    _note_skipped(skipped)
    all_paths = [p for paths, _ in groups for p in paths]
    if auto_profile and "-" in all_paths:
        _fail("--auto-profile reads the inputs twice and cannot read stdin ('-'); save the input to a file first")
    if resume:
        if output in (None, "-"):
            _fail("--resume needs --output")
        kept_groups = [g for g in groups if not (g[1] is not None and g[1].is_file())]
        resumed = len(groups) - len(kept_groups) if to_dir else sum(len(g[0]) for g in groups if g not in kept_groups)
        groups = kept_groups
    if jobs > 1:
        from .workers import start_worker_server

        start_worker_server()  # its imports overlap this process's own, and the model's loading
    detector = _load_detector(model, trust_model, model_sha256)
    site = _load_profile(site_profile) if site_profile is not None else None
    limits = _limits(max_page_bytes, max_page_lines)
    if auto_profile:  # every input, resumed ones included: the output must not depend on where a run stopped
        try:
            batch, _ = _profile_inputs(all_paths, input_format.value, _show_progress(progress), limits=limits)
        except _STOPPED as exc:
            typer.echo("interrupted while profiling; nothing written", err=True)
            raise typer.Exit(_interrupt_code(exc))
        site = batch if site is None else site.merge(batch)
    if to_dir:
        try:
            Path(output).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            _fail(f"cannot create {output}: {exc.strerror or exc}")

    counts = {"read": 0, "written": 0, "failed": 0, "skipped": 0, "bytes": 0, "unprofiled": 0}
    kept = {"content"} | {k.value for k in keep}
    owner: deque[int] = deque()  # group index of every record handed to the detector, in order

    def on_read(n: int) -> None:
        counts["bytes"] += n

    def records():
        for g, (paths, _) in enumerate(groups):
            for record in _records(paths, input_format.value, counts, on_read, site):
                owner.append(g)
                yield record

    bar = None
    if _show_progress(progress):
        from tqdm import tqdm

        total_bytes = sum(_file_bytes(p) for paths, _ in groups for p in paths)
        bar = tqdm(unit="page", file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
        size = tqdm.format_sizeof
        size_total = f"/{size(total_bytes, 'B', 1024)}" if total_bytes else ""

    def note(message: str) -> None:
        if bar is not None:
            bar.write(message, file=sys.stderr)
        else:
            typer.echo(message, err=True)

    def progress(pages: int) -> None:
        if bar is not None:
            bar.update(pages)
            now = time.monotonic()
            if now - shown[0] > 0.5:
                shown[0] = now
                bar.set_postfix_str(f"{size(counts['bytes'], 'B', 1024)}{size_total} read", refresh=False)

    def write(out, rendered: tuple[str | None, str | None, str | None]) -> None:
        if message := _write_rendered(out, rendered, counts, format is OutputFormat.text):
            note(message)
        progress(1)

    shown = [0.0]
    interrupted, crashed = 0, False  # interrupted: the exit code
    render = partial(_rendered, jsonl=format is OutputFormat.jsonl, kept=frozenset(kept))
    explained = top_features if explain else 0

    def predict_in_input_order() -> int:
        """The records of all inputs through ``predict_many`` (handed to workers with ``--jobs``),
        written in input order. Returns the exit code of an output that could not be written, or 0."""
        results = iter(detector.predict_many(records(), n_jobs=jobs, explain=explained, profile=site,
                                             max_page_bytes=limits[0], max_page_lines=limits[1], transform=render))  # fmt: skip
        ahead: list = []  # the first result of the next group, fetched while taking this group's

        def results_of(g: int):
            """Group ``g``'s results, in order; fetching the first one only now, so that the first
            output is created before the first batch is labelled."""
            res = ahead.pop() if ahead else next(results, None)
            while res is not None and owner[0] == g:
                owner.popleft()
                yield res
                res = next(results, None)
            if res is not None:
                ahead.append(res)

        code = 0
        for g, (_, target) in enumerate(groups):
            written, failed = counts["written"], counts["failed"]
            taken = results_of(g)
            try:
                if to_dir:
                    _make_parent(target)
                with _output(target) as out:
                    for res in taken:
                        write(out, res)
                    if out is sys.stdout:
                        out.flush()
                    elif to_dir and _nothing_labelled(format is OutputFormat.text, counts["written"] - written, counts["failed"] - failed):
                        raise _NothingLabelled
            except _NothingLabelled:
                note(_not_written(target))
            except typer.Exit as exc:  # said on stderr: with --output DIR the other files go on, as in workers
                if not to_dir:
                    raise
                code = code or exc.exit_code
                for _ in taken:  # this file's pages, which have nowhere to go
                    pass
        return code

    # several output files and at least one per worker: a worker takes whole files, and nothing but
    # counts crosses between processes (else every page goes to a worker and its output comes back)
    per_file = to_dir and 1 < jobs <= len(groups) and all("-" not in paths for paths, _ in groups)
    write_failed = 0
    try:
        if per_file:
            task = (input_format.value, render, format is OutputFormat.text, limits, explained)
            write_failed = _predict_files_in_workers(groups, task, jobs, detector, site, counts, note, progress)
        else:
            write_failed = predict_in_input_order()
    except _STOPPED as exc:
        interrupted = _interrupt_code(exc)
    except BrokenProcessPool:  # a worker was killed (out of memory?): the unfinished output is discarded
        if _TERMINATED:  # by the SIGTERM that stops this process too (sent to the process group)
            interrupted = 143
        else:
            crashed = True
    except BrokenPipeError:  # e.g. '| head': the reader went away; stop quietly, as a SIGPIPE'd tool would
        sys.stdout = open(os.devnull, "w")
        raise typer.Exit(141)
    finally:
        if bar is not None:
            bar.set_postfix_str(f"{size(counts['bytes'], 'B', 1024)}{size_total} read", refresh=False)
            bar.close()
    if resumed:
        typer.echo(f"resume: {resumed} input file{'s' if resumed != 1 else ''} skipped, output already exists", err=True)
    _note_unprofiled(counts, site)
    typer.echo(
        f"pages read {counts['read']}, written {counts['written']}, failed {counts['failed']}, skipped {counts['skipped']}"
        + ((" (interrupted; finished output files were kept)" if to_dir else " (interrupted)") if interrupted else ""),
        err=True,
    )
    if interrupted:
        raise typer.Exit(interrupted)
    if crashed:
        typer.echo("error: a worker process died unexpectedly (out of memory?); unfinished output was discarded", err=True)
        raise typer.Exit(1)
    if write_failed:
        raise typer.Exit(write_failed)
    if counts["failed"]:
        raise typer.Exit(1)


@app.command()
def show(
    inputs: list[str] = typer.Argument(..., help="Files, directories (walked) or '-' for stdin, as for predict."),
    out: Path = typer.Option(..., "--out", "-o", help="The HTML file to write (self-contained: open it in any browser)."),
    input_format: InputFormat = typer.Option(InputFormat.auto, "--input-format", help="Force the input kind instead of guessing it from the file name."),
    model: Optional[Path] = _MODEL,
    trust_model: bool = _TRUST,
    model_sha256: Optional[str] = _SHA256,
    site_profile: Optional[Path] = typer.Option(None, "--profile", help="Site profile (from 'boilerdetect profile') to predict with, as for predict."),
    top_features: int = typer.Option(TOP_FEATURES, "--top-features", min=0, help="Features named per line on hover (0: none, much faster)."),
    max_pages: int = typer.Option(100, "--max-pages", min=1, help="Pages to show at most; the rest of the input is not read."),
    max_page_bytes: int = _MAX_PAGE_BYTES,
    max_page_lines: int = _MAX_PAGE_LINES,
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Worker processes."),
    progress: Optional[bool] = typer.Option(None, "--progress/--quiet", help="Progress bar on stderr (default: when stderr is a terminal)."),
) -> None:
    """Write one HTML page that shows every line as the detector sees it.

    Lines are tinted by label with their content score as a bar; hovering a line lists the features
    that pushed its label most; related-link blocks are outlined. Several pages (JSONL, WARC) get
    one section each and a table of contents. Exit code 1 when some page could not be labelled.
    """
    from itertools import islice

    from .model import DEFAULT_MODEL
    from .show import model_facts, render_document

    skipped: list[str] = []
    paths = _expand(inputs, skipped)
    _note_skipped(skipped)
    _check_output(out, paths)
    detector = _load_detector(model, trust_model, model_sha256)
    site = _load_profile(site_profile) if site_profile is not None else None
    counts = {"read": 0, "skipped": 0}
    stream = _records(paths, input_format.value, counts)
    chosen = list(islice(stream, max_pages))
    more = next(stream, None) is not None
    limits = _limits(max_page_bytes, max_page_lines)
    results = detector.predict_many(chosen, n_jobs=jobs, batch_size=8, explain=top_features, profile=site,
                                    max_page_bytes=limits[0], max_page_lines=limits[1])  # fmt: skip
    if _show_progress(progress):
        from tqdm import tqdm

        results = tqdm(results, total=len(chosen), desc="pages", unit="page", file=sys.stderr, dynamic_ncols=True)
    results = list(results)
    facts = model_facts(model.resolve() if model is not None else DEFAULT_MODEL, detector.card)
    note = f"only the first {max_pages} pages of the input are shown (--max-pages)" if more else None
    with _output(out) as fh:
        fh.write(render_document(results, facts, str(site_profile) if site_profile is not None else None, note=note))
    failed = sum(res.error is not None for res in results)
    typer.echo(
        f"pages shown {len(results)}, failed {failed}, skipped {counts['skipped']}"
        + (f"; more pages not read (--max-pages {max_pages})" if more else "")
        + ("" if str(out) == "-" else f"; written to {out}"),
        err=True,
    )
    if failed:
        raise typer.Exit(1)


def _examples(data: list[str], jobs: int, progress: Optional[bool], evaluating: bool = False):
    import warnings

    from .datasets import load_examples

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            examples = load_examples(data, n_jobs=jobs, progress=_show_progress(progress), evaluating=evaluating)
        except InputError as exc:
            _fail(str(exc))
    for w in caught:  # e.g. a label file whose HTML page changed
        typer.echo(f"note: {w.message}", err=True)
    return examples


def _featurize(examples, progress: bool) -> list:
    from .features import featurize

    pages = (e.page for e in examples)
    if progress:
        from tqdm import tqdm

        pages = tqdm(pages, total=len(examples), desc="features", unit="page", file=sys.stderr)
    return [featurize(page) for page in pages]


def _kinds(option: str) -> list[str]:
    kinds = Kinds(option)
    return {Kinds.both: list(SOURCES), Kinds.none: []}.get(kinds, [kinds.value])


def _leaves(option: str) -> int | dict[str, int]:
    """``--max-leaf-nodes``: "63" for both kinds of page, or per kind, "html=63,text=31"."""

    def number(text: str) -> int:
        if not text.strip().isdigit() or int(text) < 2:
            raise typer.BadParameter(f"{option!r}: leaves must be a whole number of at least 2")
        return int(text)

    if "=" not in option:
        return number(option)
    per_kind = {}
    for part in option.split(","):
        kind, _, value = part.partition("=")
        if kind.strip() not in SOURCES:
            raise typer.BadParameter(f"{option!r}: give NUMBER or KIND=NUMBER[,KIND=NUMBER] with KIND html or text")
        per_kind[kind.strip()] = number(value)
    return per_kind


def _checked_leaves(option: str) -> str:
    _leaves(option)  # a bad value is a usage error, before any data is read
    return option


def train_params(max_iter: int, stacking: bool, stack_inputs: str, stage1_iter: int, stage2_iter: int,
                 stage2_weight: float, stack_folds: int, page_f1: str = "none", max_leaf_nodes: str = "31",
                 vocabulary: str = "none", page_f1_below: float = 0.0) -> dict:
    """The classifier parameters that ``train``'s options stand for (as the model card records them)."""
    from .classifier import LineClassifier

    params = {"max_iter": max_iter, "stacking": stacking}
    if (leaves := _leaves(max_leaf_nodes)) != LineClassifier().max_leaf_nodes:  # recorded when not the default
        params["max_leaf_nodes"] = leaves
    if stacking:
        params |= {"cv": stack_folds, "stage1_iter": stage1_iter, "stage2_iter": stage2_iter,
                   "stage2_weight": stage2_weight, "stack_inputs": _kinds(stack_inputs)}
        if kinds := [k for k in _kinds(vocabulary) if k in params["stack_inputs"]]:
            params["vocabulary_inputs"] = kinds
    if kinds := _kinds(page_f1):
        params["page_f1_inputs"] = kinds
    if page_f1_below > 0 and set(_kinds(page_f1)) != set(SOURCES):  # read only where the decision is per line
        params["page_f1_below"] = page_f1_below
    return params


@app.command()
def train(
    ctx: typer.Context,
    data: list[str] = typer.Argument(..., help="Labelled data: line-labelled or page+gold JSONL files, label files (.tsv, from label), or WCXB-layout directories."),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the model (.joblib); its card goes next to it."),
    cv: int = typer.Option(5, "--cv", min=0, help="Folds of site-grouped cross-validation to report in the card (0: skip)."),
    max_iter: int = typer.Option(150, "--max-iter", min=10, help="Boosting iterations of a single-stage model (--no-stacking)."),
    max_leaf_nodes: str = typer.Option("31", "--max-leaf-nodes", callback=_checked_leaves, help="Leaves per tree: one number, or per input kind, e.g. html=63,text=31 (a kind not named keeps 31)."),
    stacking: bool = typer.Option(True, "--stacking/--no-stacking", help="Add the second stage over neighbours' scores; stage 1 is also fitted once per --stack-folds fold (--stage1-iter keeps those fits short)."),
    stack_inputs: Kinds = typer.Option(Kinds.both, "--stack-inputs", help="With --stacking: the input kinds whose model gets the second stage; the others keep a single stage."),
    stage1_iter: int = typer.Option(50, "--stage1-iter", min=10, help="With --stacking: boosting iterations of stage 1."),
    stage2_iter: int = typer.Option(100, "--stage2-iter", min=10, help="With --stacking: boosting iterations of stage 2."),
    stage2_weight: float = typer.Option(0.5, "--stage2-weight", min=0.0, max=1.0, help="With --stacking: share of stage 2 in the returned probabilities, the rest being stage 1's (1: stage 2 alone)."),
    stack_folds: int = typer.Option(4, "--stack-folds", min=2, help="With --stacking: site-grouped folds giving stage 2 its out-of-fold stage-1 scores."),
    page_f1: Kinds = typer.Option(Kinds.text, "--page-f1", help="The input kinds whose lines are labelled per page for the best expected word-F1: lines a little below 0.5 join the content where the page's content is uncertain, and a line whose content probability the other two labels outweigh together stays out unless the page needs it; the other kinds give each line its most probable label."),
    page_f1_below: float = typer.Option(0.3, "--page-f1-below", min=0.0, help="For the kinds not in --page-f1, whose lines take their most probable label: a page where that keeps fewer words as content than this share of the words the page is expected to hold (words weighted by P(content)) is labelled as --page-f1 labels instead, as some pages' content is likely without being any line's most likely label (0: never)."),
    vocabulary: Kinds = typer.Option(Kinds.text, "--vocabulary", help="With --stacking: the input kinds whose stage 2 also reads what the lines' words say (a linear model over hashed words and word pairs, fitted out of fold like stage 1), and whose decision labels related the short line above a related block when a second word model, of the training labels' block headings, says it reads like one."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Processes for reading the data."),
    progress: Optional[bool] = typer.Option(None, "--progress/--quiet", help="Progress bars on stderr."),
    base: Optional[Path] = typer.Option(None, "--base", help="Adapt this model to the site of DATA (a few labelled pages, e.g. label files) instead of training from scratch. With two pages or more, also checks whether adapting helps: each page is labelled by a model adapted on the others (one more adaptation per page)."),
    extra_iter: int = typer.Option(30, "--extra-iter", min=1, help="With --base: extra boosting iterations fitted on DATA."),
    learning_rate: float = typer.Option(0.01, "--learning-rate", min=1e-6, max=1.0, help="With --base: learning rate of the extra iterations."),
    trust_model: bool = _TRUST,
    model_sha256: Optional[str] = _SHA256,
) -> None:
    """Train a model from labelled pages, cross-validate it, and save it with its model card.

    The defaults are the recipe of the shipped model (training/build.sh).

    With --base, the base model is adapted instead: boosting continues for --extra-iter trees at --learning-rate on the lines of DATA (typically a few pages of one site labelled with 'boilerdetect label'). On real sites this has mostly lowered accuracy: read the held-out check it prints (README, "Sites").
    """
    from .evaluate import format_report
    from .model import DEFAULT_MODEL
    from .train import cross_validate, fit_detector, model_card

    stage_options = {"--stage1-iter": "stage1_iter", "--stage2-iter": "stage2_iter", "--stage2-weight": "stage2_weight"}
    # by name: typer may bring its own copy of click, whose enum is not click.core's
    on_command_line = lambda name: getattr(ctx.get_parameter_source(name), "name", "") == "COMMANDLINE"  # noqa: E731
    given = [flag for flag, name in stage_options.items() if on_command_line(name)]
    if base is not None:  # adapting keeps the base model's recipe: its options would be silently ignored
        recipe = ("max_iter", "stacking", "stack_inputs", "stage1_iter", "stage2_iter", "stage2_weight", "stack_folds",
                  "page_f1", "page_f1_below", "max_leaf_nodes", "vocabulary", "cv")  # fmt: skip
        if ignored := ["--" + name.replace("_", "-") for name in recipe if on_command_line(name)]:
            typer.echo(f"note: {', '.join(ignored)} do{'es' if len(ignored) == 1 else ''} not apply with --base (adapting keeps the base model's recipe; --extra-iter and --learning-rate do)", err=True)
    if not stacking and base is None and given:
        _fail(f"{', '.join(given)} {'needs' if len(given) == 1 else 'need'} --stacking")
    _check_output(out, [d for d in data if not os.path.isdir(d)])  # said now, not after an hour of training
    if base is not None and out.resolve() in (base.resolve(), DEFAULT_MODEL.resolve()):  # and the shipped one's pin with it
        _fail(f"--out {out} would replace {'the base model' if out.resolve() == base.resolve() else 'the shipped model'}; write the adapted model elsewhere")
    examples = _examples(data, jobs, progress)
    if not examples:
        _fail("no training pages found")
    features = _featurize(examples, _show_progress(progress))
    if base is not None:
        from datetime import datetime, timezone

        from .adapt import adapt_detector, held_out_check
        from .verify import ModelError

        detector = _load_detector(base, trust_model, model_sha256)
        try:
            adapted = adapt_detector(detector, examples, features, extra_iter=extra_iter, learning_rate=learning_rate)
        except ModelError as exc:  # its scikit-learn boosters, which only adaptation loads, are of another version
            _fail(f"{base}: {exc}")
        except ValueError as exc:
            _fail(str(exc))
        # the base's data and cross-validated figures do not describe the adapted model: kept as the base's
        kinds = {source: sum(e.page.source == source for e in examples) for source in SOURCES}
        adapted.card["adapted"] = {"base": str(base), "base_sha256": detector.card.get("sha256"), "data": [str(d) for d in data],
                                   "pages": kinds, "extra_iter": extra_iter, "learning_rate": learning_rate,
                                   "base_created": adapted.card.get("created"),
                                   "base_training_data": adapted.card.pop("training_data", None),
                                   "base_cross_validation": adapted.card.pop("cross_validation", None)}  # fmt: skip
        adapted.card["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        # adapting can hurt (docs/sites.md): measure it on the labelled pages, each left out in turn
        try:
            check = held_out_check(detector, examples, features, extra_iter, learning_rate)
        except ValueError as exc:
            check = None
            typer.echo(f"note: held-out check skipped: {exc}", err=True)
        if check is not None:
            adapted.card["adapted"]["held_out_line_accuracy"] = check
            verdict = "adapting helped" if check["adapted"] > check["base"] else "adapting did NOT help: consider keeping the base model, or label more pages"
            typer.echo(f"held-out check ({check['pages']} pages, each labelled by a model adapted on the others): line accuracy "
                       f"{check['base']:.3f} with the base model, {check['adapted']:.3f} adapted; {verdict}", err=True)  # fmt: skip
        adapted.save(out)
        typer.echo(f"adapted model written to {out} (from {kinds['html']} HTML and {kinds['text']} plain-text pages)", err=True)
        return
    params = train_params(max_iter, stacking, stack_inputs, stage1_iter, stage2_iter, stage2_weight, stack_folds, page_f1, max_leaf_nodes, vocabulary, page_f1_below)
    # data of one kind only (line-labelled JSONL is plain text): the other kind's classifier is the shipped model's
    missing = [source for source in SOURCES if not any(e.page.source == source for e in examples)]
    lender = _load_detector(None, False, None, kinds=missing) if missing else None
    if missing:
        typer.echo(f"note: no {missing[0]} pages to train on: the {missing[0]} classifier is the shipped model's", err=True)
    report = None
    if cv >= 2:
        try:
            report = cross_validate(examples, cv, params, progress=_show_progress(progress), features=features, base=lender)
        except ValueError as exc:
            typer.echo(f"note: cross-validation skipped: {exc}", err=True)
        else:
            for source in SOURCES:
                if source in report:
                    typer.echo(format_report(f"cross-validated {source}", report[source]), err=True)
    try:
        detector = fit_detector(examples, params, lender, features=features, progress=_show_progress(progress))
    except ValueError as exc:
        _fail(str(exc))
    detector.card = model_card(examples, [str(d) for d in data], params, report)
    if missing:
        detector.card["borrowed"] = {source: {"from": "the shipped model", "sha256": lender.card.get("sha256")} for source in missing}
    try:
        detector.save(out)
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror or exc}")
    typer.echo(f"model written to {out}", err=True)


@app.command()
def evaluate(
    data: list[str] = typer.Argument(..., help="Labelled data, as for train."),
    model: Optional[Path] = _MODEL,
    trust_model: bool = _TRUST,
    model_sha256: Optional[str] = _SHA256,
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Processes for reading the data."),
    progress: Optional[bool] = typer.Option(None, "--progress/--quiet", help="Progress bars on stderr."),
) -> None:
    """Line-level precision/recall/F1 per label, and word-F1 of the kept content where gold text exists.

    Word-F1 compares lower-cased words as multisets, averaged per page; a page whose gold text is empty scores 0 whatever is kept, as the WCXB benchmark scores such pages.
    """
    from .evaluate import format_report
    from .train import evaluate_detector

    detector = _load_detector(model, trust_model, model_sha256)
    examples = _examples(data, jobs, progress, evaluating=True)
    if not examples:
        _fail("no labelled pages found")
    report = evaluate_detector(detector, examples, _featurize(examples, _show_progress(progress)))
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        typer.echo("\n".join(format_report(source, r) for source, r in report.items()))


@app.command()
def label(
    page: str = typer.Argument(..., help="One page: an HTML or text file (or a JSONL/WARC file holding one page)."),
    out: Path = typer.Option(..., "--out", "-o", help="Label file to write (.tsv)."),
    model: Optional[Path] = _MODEL,
    trust_model: bool = _TRUST,
    model_sha256: Optional[str] = _SHA256,
    input_format: InputFormat = typer.Option(InputFormat.auto, "--input-format", help="Force the input kind, as for predict."),
    site_profile: Optional[Path] = typer.Option(None, "--profile", help="Site profile to predict with, as for predict."),
    url: Optional[str] = typer.Option(None, "--url", help="The page's URL, for a file that does not carry one (an .html or .txt file): it names the page's site in the label file."),
) -> None:
    """Write an editable label file of PAGE (label, text, score per line) pre-filled with the prediction.

    Correct the first column, then adapt a model to the site with
    'boilerdetect train a.tsv b.tsv --base MODEL --out site.joblib'. The header lists the rows
    whose prediction is least certain (score nearest 0.5).
    """
    from .labelfile import format_label_file
    from .readers import detect_format, page_from_record

    if page != "-" and not os.path.exists(page):
        _fail(f"{page}: no such file")
    if page == "-" or not os.path.isfile(page):
        _fail(f"{page}: not a file (label takes one page file)")
    _check_output(out, [page])
    records = [r for r in read_records(page, input_format.value) if not isinstance(r, SkippedRecord)]
    if len(records) != 1:
        _fail(f"{page}: holds {len(records)} pages; label takes a file with one page")
    if isinstance(records[0], ErrorRecord):
        _fail(records[0]["_error"])
    try:
        parsed = page_from_record(records[0] | ({"url": url} if url else {}))
    except ValueError as exc:
        _fail(str(exc))
    detector = _load_detector(model, trust_model, model_sha256)
    site = _load_profile(site_profile) if site_profile is not None else None
    res = detector.predict_pages([parsed], profile=site)[0]
    kind = input_format.value if input_format is not InputFormat.auto else detect_format(page)
    # relative to the label file, which the reader resolves it against: the two can move together
    html_path = os.path.relpath(os.path.abspath(page), os.path.dirname(os.path.abspath(out))) if parsed.source == "html" and kind == "html" else None
    if parsed.source == "html" and html_path is None:
        typer.echo(f"note: {page} is not an HTML file, so the label file cannot point at the page's HTML: it will adapt "
                   "the plain-text model only (save the page as .html and label that to adapt the HTML model too)", err=True)  # fmt: skip
    labels, scores = [l.label for l in res.lines], [l.score for l in res.lines]
    try:
        text = format_label_file(parsed, labels, scores, html_path)
    except InputError as exc:
        _fail(str(exc))
    with _output(out) as fh:
        fh.write(text)
    typer.echo(f"{len(labels)} lines written to {out}", err=True)


@app.command()
def info(model: Optional[Path] = _MODEL, trust_model: bool = _TRUST, model_sha256: Optional[str] = _SHA256) -> None:
    """Print the model card (training data, features, cross-validated metrics, versions)."""
    from .model import DEFAULT_MODEL, card_path, sha256_file

    detector = _load_detector(model, trust_model, model_sha256)
    card = detector.card
    if not card:  # a model file copied without the card beside it: what the file itself says
        path = model or DEFAULT_MODEL
        typer.echo(f"note: no model card: {card_path(path)} is missing; only the file's own facts follow", err=True)
        card = {"model": str(path), "sha256": sha256_file(path), "kinds": [k for k in SOURCES if getattr(detector, f"{k}_model", None) is not None]}
    typer.echo(json.dumps(card, indent=2))


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (default: loopback only)."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Server processes, each with its own copy of the model."),
    # the service's settings may also come from the environment (service.Settings.from_env's names)
    model: Optional[Path] = typer.Option(None, "--model", "-m", envvar="BOILERDETECT_MODEL", help="Model file (default: the shipped model)."),
    trust_model: bool = _TRUST,
    model_sha256: Optional[str] = _SHA256,
    max_body_mb: float = typer.Option(10.0, "--max-body-mb", envvar="BOILERDETECT_MAX_BODY_MB", help="Largest request body accepted, in MB, above 0 (413 above)."),
    timeout: float = typer.Option(30.0, "--timeout", envvar="BOILERDETECT_TIMEOUT", help="Seconds a request may wait and predict, above 0 (504 after)."),
    max_concurrency: int = typer.Option(2, "--max-concurrency", min=1, envvar="BOILERDETECT_MAX_CONCURRENCY", help="Prediction threads per worker."),
    max_queue: int = typer.Option(64, "--max-queue", min=0, envvar="BOILERDETECT_MAX_QUEUE", help="Requests that may wait for a thread, per worker (503 beyond)."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level (critical, error, warning, info, debug)."),
) -> None:
    """Serve the detector over HTTP: POST /v1/predict, GET /v1/model, GET /healthz, docs at /docs."""
    from .service import Settings
    from .service import serve as run_server

    if max_body_mb <= 0 or timeout <= 0:
        _fail("--max-body-mb and --timeout must be positive")
    if log_level.lower() not in ("critical", "error", "warning", "info", "debug", "trace"):
        _fail(f"unknown --log-level {log_level!r}")
    _check_can_listen(host, port)  # before the model loads: uvicorn would say it after, and exit 3
    detector = _load_detector(model, trust_model, model_sha256)  # fail fast (exit 2) on a missing or bad model
    if workers > 1:
        detector = None  # each worker process loads its own copy at startup, verified as here
        from .verify import SHA256_ENV, TRUST_ENV

        if trust_model:
            os.environ[TRUST_ENV] = "1"
        if model_sha256 is not None:
            os.environ[SHA256_ENV] = model_sha256
    settings = Settings(
        model=None if model is None else str(model.resolve()),
        max_body_mb=max_body_mb,
        timeout=timeout,
        max_concurrency=max_concurrency,
        max_queue=max_queue,
    )
    run_server(settings, host=host, port=port, workers=workers, detector=detector, log_level=log_level)


def _check_can_listen(host: str, port: int) -> None:
    """Exit 2 with the reason when ``host:port`` cannot be listened on (taken, or no such address)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: a port in TIME_WAIT is free
            sock.bind(infos[0][4])
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


def main() -> None:
    """The ``boilerdetect`` command. SIGTERM stops a command as Ctrl-C does, and it exits 143."""
    import signal
    import threading

    previous = signal.signal(signal.SIGTERM, _terminate) if threading.current_thread() is threading.main_thread() else None
    try:
        app()
    except SystemExit:  # the command's own exit, with its code (predict's 143 included)
        raise
    except BaseException:
        # raised past the command (only predict catches it itself), its outputs cleaned up by now;
        # by the flag, not the type: arriving during an import, it can come out wrapped (a
        # RuntimeError from a class being made)
        if not _TERMINATED:
            raise
        typer.echo("stopped (SIGTERM)", err=True)
        raise SystemExit(143) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    main()
