"""Run the detector on Spark: label a DataFrame column of pages, and read WARC files on a cluster.

:func:`detect` adds the JSONL output fields (``content``, ``labels``, ``related_links``, ``error``,
optionally ``lines``) to a DataFrame whose column holds HTML or plain text. Rows travel to Python
as Arrow batches (``mapInArrow``) and are labelled ``batch_size`` at a time with
:meth:`Detector.predict_records`, so a bad row gets its ``error`` and never fails the partition.
The model file's bytes are broadcast once per executor, and each Python worker process builds the
:class:`Detector` from them once, on its first batch, and keeps it for the tasks that follow.

:func:`warc_records` reads WARC/WET files (local paths, ``https://`` URLs, or any fsspec URL such
as ``s3://`` when fsspec is installed) on the executors, one file per task, streamed record by
record; ``python -m boilerdetect.spark --help`` (or ``spark-submit`` of this file) cleans a list of
WARC paths end to end.

pyspark (with pandas and pyarrow, for Arrow batches) is an optional extra: ``pip install
'boilerdetect[spark]'``. Imports use the package name, not relative imports, so that this file can
also be handed to ``spark-submit`` as a script.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import logging
import os
import shutil
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from boilerdetect.document import SOURCES
from boilerdetect.model import DEFAULT_MODEL, Detector, ModelError, read_card
from boilerdetect.readers import ErrorRecord, SkippedRecord, check_positive_int, read_records

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import DataType, StructType

log = logging.getLogger("boilerdetect.spark")

WARC_SCHEMA = "path string, id string, url string, source string, body string, error string"

# Per Python worker process: detectors built from shipped model bytes, by the bytes' sha256, and
# how many times one was built (so that "once per process" can be checked).
_DETECTORS: dict[str, Detector] = {}
MODEL_LOADS = 0


# --- output schema ---------------------------------------------------------------------------------


def output_fields(lines: bool = False) -> list:
    """Spark fields added by :func:`detect`: ``content`` string, ``labels`` array<string> (one per
    line), ``related_links`` array<struct<heading, items: array<struct<text, url>>>>, ``error``
    string, and with ``lines`` an array<struct<text, label, score>> as in the JSONL output."""
    from pyspark.sql.types import ArrayType, DoubleType, StringType, StructField, StructType

    def struct(**fields: Any) -> StructType:
        return StructType([StructField(name, kind) for name, kind in fields.items()])

    item = struct(text=StringType(), url=StringType())
    fields = [
        StructField("content", StringType()),
        StructField("labels", ArrayType(StringType())),
        StructField("related_links", ArrayType(struct(heading=StringType(), items=ArrayType(item)))),
        StructField("error", StringType()),
    ]
    if lines:
        fields.append(StructField("lines", ArrayType(struct(text=StringType(), label=StringType(), score=DoubleType()))))
    return fields


def _arrow_type(kind: DataType) -> pa.DataType:
    """The Arrow type Spark expects back for the few Spark types of :func:`output_fields`."""
    import pyarrow as pa
    from pyspark.sql.types import ArrayType, DoubleType, StringType, StructType

    if isinstance(kind, StringType):
        return pa.string()
    if isinstance(kind, DoubleType):
        return pa.float64()
    if isinstance(kind, ArrayType):
        return pa.list_(_arrow_type(kind.elementType))
    if isinstance(kind, StructType):
        return pa.struct([(f.name, _arrow_type(f.dataType)) for f in kind.fields])
    raise TypeError(f"no Arrow type for {kind}")


# --- the model, shipped once ------------------------------------------------------------------------


class ShippedModel:
    """A model file's bytes in a Spark broadcast, turned into a :class:`Detector` once per process."""

    def __init__(self, spark: SparkSession, path: str | os.PathLike | None = None, trust: bool | None = None, sha256: str | None = None):
        path = Path(path) if path is not None else DEFAULT_MODEL
        if not path.is_file():
            raise ModelError(f"model file not found: {path}")
        data = path.read_bytes()
        self.card = read_card(path)
        # verified (as Detector.load does) on the driver, so a refused file fails here, not in every task
        Detector.from_bytes(data, self.card, origin=str(path), trust=trust, sha256=sha256)
        self.key = hashlib.sha256(data).hexdigest()
        self.origin = str(path)
        self.broadcast = spark.sparkContext.broadcast(data)

    def get(self) -> Detector:
        """This process's detector, built from the broadcast bytes on first use."""
        global MODEL_LOADS
        detector = _DETECTORS.get(self.key)
        if detector is None:
            detector = Detector.from_bytes(self.broadcast.value, self.card, origin=self.origin, sha256=self.key)
            _DETECTORS[self.key] = detector
            MODEL_LOADS += 1
        return detector


# --- detect ------------------------------------------------------------------------------------------


def detect(
    df: DataFrame,
    column: str = "html",
    source: str = "html",
    *,
    source_column: str | None = None,
    url_column: str | None = None,
    error_column: str | None = None,
    model: str | os.PathLike | ShippedModel | None = None,
    batch_size: int = 64,
    lines: bool = False,
    trust: bool | None = None,
    sha256: str | None = None,
) -> DataFrame:
    """Label the pages in ``df[column]``; returns ``df`` with the fields of :func:`output_fields`.

    Parameters
    ----------
    column : str
        String column holding each page's HTML or plain text (default ``"html"``).
    source : {"html", "text"}
        What ``column`` holds, for every row (default ``"html"``).
    source_column : str, optional
        String column saying per row what ``column`` holds (``"html"`` or ``"text"``); overrides
        ``source``. Any other value fails that row.
    url_column : str, optional
        String column with the page URL: related-link URLs are resolved against it.
    error_column : str, optional
        String column of reasons why a row already failed upstream (e.g. a damaged WARC file, as
        from :func:`warc_records`); such rows keep that reason in ``error``.
    model : path or ShippedModel, optional
        Model file (default: the shipped model), or a :class:`ShippedModel` to reuse a broadcast.
    trust, sha256 : optional
        How a model file other than the shipped one is accepted, as in :meth:`Detector.load`.
    batch_size : int
        Rows labelled per classifier call (default 64); Spark's Arrow batches are cut to this size.
    lines : bool
        Also add ``lines``: ``array<struct<text, label, score>>`` (default False).

    Every input row gives one output row, in the same order within each partition. Input columns
    are kept, except those named like an output field, which are replaced (as ``withColumn``
    does). A row that cannot be labelled gets ``content`` null, empty ``labels`` and
    ``related_links``, and its reason in ``error``.
    """
    from pyspark.sql.types import StringType, StructType

    if source not in SOURCES:
        raise ValueError(f"source must be 'html' or 'text', not {source!r}")
    check_positive_int("batch_size", batch_size)
    types = {f.name: f.dataType for f in df.schema.fields}
    for name in filter(None, (column, source_column, url_column, error_column)):
        if name not in types:
            raise ValueError(f"no column {name!r} in the DataFrame (columns: {', '.join(df.columns)})")
        if not isinstance(types[name], StringType):
            raise ValueError(f"column {name!r} must be a string column, not {types[name].simpleString()}")
    shipped = model if isinstance(model, ShippedModel) else ShippedModel(df.sparkSession, model, trust, sha256)
    added = output_fields(lines)
    added_names = {f.name for f in added}
    schema = StructType([f for f in df.schema.fields if f.name not in added_names] + added)
    fn = functools.partial(
        _detect_batches, model=shipped, fields=StructType(added), column=column, source=source,
        source_column=source_column, url_column=url_column, error_column=error_column, batch_size=batch_size,
    )  # fmt: skip
    return df.mapInArrow(fn, schema)


def _detect_batches(batches: Iterable[pa.RecordBatch], *, model: ShippedModel, fields: StructType,
                    batch_size: int, **columns: Any) -> Iterator[pa.RecordBatch]:  # fmt: skip
    """mapInArrow worker: each batch, ``batch_size`` rows at a time → the same rows + output fields."""
    import pyarrow as pa

    added = [pa.field(f.name, _arrow_type(f.dataType)) for f in fields.fields]
    names = {f.name for f in added}
    with_lines = "lines" in names
    for batch in batches:
        kept = [i for i, name in enumerate(batch.schema.names) if name not in names]
        schema = pa.schema([batch.schema.field(i) for i in kept] + added)
        for start in range(0, batch.num_rows, batch_size):
            chunk = batch.slice(start, batch_size)
            results = model.get().predict_records(_records(chunk, **columns))
            outputs = [res.to_record(lines=with_lines) for res in results]
            arrays = [
                pa.array([o["content"] for o in outputs], added[0].type),
                pa.array([[line.label for line in res.lines] for res in results], added[1].type),
                pa.array([o["related_links"] for o in outputs], added[2].type),
                pa.array([o["error"] for o in outputs], added[3].type),
            ]
            if with_lines:
                arrays.append(pa.array([o["lines"] for o in outputs], added[4].type))
            yield pa.RecordBatch.from_arrays([chunk.column(i) for i in kept] + arrays, schema=schema)


def _records(chunk: pa.RecordBatch, column: str, source: str, source_column: str | None,
             url_column: str | None, error_column: str | None) -> list[dict]:  # fmt: skip
    """Arrow rows → JSONL-style records; rows that cannot be pages are ``readers.ErrorRecord``."""
    n = chunk.num_rows

    def values(name: str | None, default: Any = None) -> list:
        return chunk.column(name).to_pylist() if name else [default] * n

    records = []
    for page, kind, url, error in zip(values(column), values(source_column, source), values(url_column),
                                      values(error_column)):  # fmt: skip
        if error is not None:
            record = ErrorRecord(_error=error)
        elif kind not in SOURCES:
            record = ErrorRecord(_error=f"column {source_column!r} must be 'html' or 'text', not {kind!r}")
        elif page is None:
            record = ErrorRecord(_error=f"column {column!r} is null")
        else:
            record = {kind: page}
        record["url"] = url
        records.append(record)
    return records


# --- WARC files on the executors --------------------------------------------------------------------


def warc_records(spark: SparkSession, paths: list[str]) -> DataFrame:
    """Pages of WARC/WET files, read on the executors, one file per task, in file order.

    ``paths`` are local paths (``file://`` too), ``http(s)://`` URLs (downloaded to a temporary
    file on the executor, with retries) or other URLs opened with fsspec (``s3://`` needs fsspec and
    s3fs on the executors). Columns (all strings): ``path``, ``id`` (WARC-Record-ID), ``url``
    (WARC-Target-URI), ``source`` (``html`` for responses, ``text`` for WET conversions), ``body``
    and ``error``. A file that cannot be fetched or is damaged gives a row with ``error`` set (after
    the pages read before the damage). Records that are not pages (requests, metadata, non-HTML
    responses...) are left out; each task logs how many it skipped.
    """
    if not paths:
        return spark.createDataFrame([], WARC_SCHEMA)
    rdd = spark.sparkContext.parallelize(list(paths), numSlices=len(paths))
    return spark.createDataFrame(rdd.mapPartitions(_warc_rows), WARC_SCHEMA)


def _warc_rows(paths: Iterable[str]) -> Iterator[tuple]:
    for path in paths:
        pages = skipped = 0
        try:
            with _local_copy(path) as local:
                for record in read_records(local, "warc"):
                    if isinstance(record, SkippedRecord):
                        skipped += 1
                    elif isinstance(record, ErrorRecord):
                        rid = (record.get("id") or path).replace(local, path)
                        yield path, rid, record.get("url"), None, None, record["_error"].replace(local, path)
                    else:
                        source = "html" if "html" in record else "text"
                        pages += 1
                        yield path, record.get("id"), record.get("url"), source, record[source], None
        except OSError as exc:
            yield path, path, None, None, None, f"{path}: cannot fetch ({exc})"
        log.info("%s: %d pages, %d other records skipped", path, pages, skipped)


@contextmanager
def _local_copy(path: str, attempts: int = 3) -> Iterator[str]:
    """A local file with the content of ``path``: the path itself, or a temporary download."""
    if "://" not in path or path.startswith("file://"):
        yield path.removeprefix("file://")
        return
    fd, tmp = tempfile.mkstemp(prefix="boilerdetect-", suffix=".warc")
    try:
        with os.fdopen(fd, "wb") as out:
            for attempt in range(attempts):
                try:
                    out.seek(0)
                    out.truncate()
                    with _open_url(path) as src:
                        shutil.copyfileobj(src, out, 1 << 20)
                    break
                except OSError:
                    if attempt + 1 == attempts:
                        raise
                    time.sleep(2**attempt)  # crawl archives throttle bursts: back off, then retry
        yield tmp
    finally:
        os.unlink(tmp)


def _open_url(url: str):
    if url.startswith(("http://", "https://")):
        return urllib.request.urlopen(url, timeout=60)
    try:
        import fsspec
    except ImportError:
        raise OSError(f"{url.split('://')[0]}:// paths need fsspec on the executors; or give https:// URLs") from None
    return fsspec.open(url, "rb").open()


# --- command line (also the spark-submit entry point) ------------------------------------------------


def read_paths(paths_file: Path, prefix: str = "") -> list[str]:
    """Paths listed one per line in a (possibly gzipped) file, like Common Crawl's ``warc.paths.gz``;
    ``prefix`` is put before each relative path (one without ``://`` or a leading ``/``)."""
    raw = paths_file.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    lines = [line.strip() for line in raw.decode("utf-8").splitlines()]
    return [line if "://" in line or line.startswith("/") else prefix + line for line in lines if line]


def _session(app_name: str) -> SparkSession:
    from pyspark.sql import SparkSession

    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # plain `python -m`: local mode, workers run this Python
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    # whole pages per row: Spark's default of 10,000 rows per Arrow batch would hold GBs of HTML
    return builder.config("spark.sql.execution.arrow.maxRecordsPerBatch", "256").getOrCreate()


def _cli() -> Any:
    import typer

    # the model options, model loading and one-line errors of every command that loads a model
    from boilerdetect.cli import _SHA256, _TRUST, _fail as fail, _load_detector

    def run(
        paths: Optional[list[str]] = typer.Argument(None, help="WARC/WET files or URLs."),
        paths_file: Optional[Path] = typer.Option(None, "--paths-file", help="File listing paths, one per line (warc.paths[.gz])."),
        prefix: str = typer.Option("", "--prefix", help="Put before relative listed paths, e.g. https://data.commoncrawl.org/"),
        limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Only the first N paths."),
        output: str = typer.Option(..., "--output", "-o", help="Output directory (local, hdfs://, s3a://...); must not exist."),
        output_format: str = typer.Option("jsonl", "--format", help="jsonl or parquet."),
        model: Optional[Path] = typer.Option(None, "--model", "-m", help="Model file (default: the shipped model)."),
        trust_model: bool = _TRUST,
        model_sha256: Optional[str] = _SHA256,
        lines: bool = typer.Option(False, "--lines", help="Also write each line's text, label and score."),
        batch_size: int = typer.Option(64, "--batch-size", min=1, help="Pages per classifier call."),
    ) -> None:
        """Clean WARC/WET files with Spark: one output record per page (id, url, content, labels,
        related_links, error), written as JSON lines or Parquet part files under --output."""

        try:
            import pyspark  # noqa: F401
        except ImportError:
            fail("pyspark is not installed: pip install 'boilerdetect[spark]'")
        if output_format not in ("jsonl", "parquet"):
            fail(f"--format must be jsonl or parquet, not {output_format!r}")
        try:
            listed = read_paths(paths_file, prefix) if paths_file is not None else []
        except (OSError, UnicodeDecodeError, EOFError) as exc:
            fail(f"cannot read {paths_file}: {exc}")
        todo = (list(paths or []) + listed)[:limit]
        if not todo:
            fail("no input: give WARC paths or --paths-file")
        _load_detector(model, trust_model, model_sha256)  # verified before Spark starts: a refused model is a one-line error
        if "://" not in output and Path(output).exists():  # checked again by Spark for remote outputs
            fail(f"{output} already exists")
        spark = _session("boilerdetect")
        try:
            pages = warc_records(spark, todo)
            out = detect(pages, "body", source_column="source", url_column="url", error_column="error", model=model,
                         batch_size=batch_size, lines=lines, trust=True if trust_model else None, sha256=model_sha256).drop("body", "source")  # fmt: skip
            writer = out.write.mode("errorifexists")
            try:
                if output_format == "jsonl":
                    writer.option("ignoreNullFields", "false").json(output)  # keep "error": null
                else:
                    writer.parquet(output)
            except Exception as exc:  # noqa: BLE001 - Spark reports an existing output only this way
                if "already exists" in str(exc):
                    fail(f"{output} already exists")
                raise
            reader = spark.read.schema("error string")
            errors = (reader.json(output) if output_format == "jsonl" else reader.parquet(output)).groupBy(
                "error"
            ).count().collect()  # fmt: skip
        finally:
            spark.stop()
        total = sum(row["count"] for row in errors)
        failed = sum(row["count"] for row in errors if row["error"] is not None)
        typer.echo(f"{len(todo)} files: {total} pages written to {output}, {failed} failed", err=True)
        if failed:
            raise typer.Exit(1)

    app = typer.Typer(add_completion=False)
    app.command()(run)
    return app


def main() -> None:
    _cli()(prog_name="python -m boilerdetect.spark")


if __name__ == "__main__":
    # Run the functions of the imported module, not of __main__: Spark pickles functions of __main__
    # by value, which would give every task its own empty model cache.
    from boilerdetect.spark import main as _main

    _main()
