"""HTTP service: the detector behind a small JSON API (FastAPI, served by uvicorn).

Endpoints
---------
``POST /v1/predict``
    Body: one record ``{"id"?, "url"?, "html" | "text"}`` → one output object (the JSONL output
    contract: ``id``, ``url``, ``content``, ``lines``, ``related_links``, ``error``, and
    ``truncated`` for a page cut to the size limits); or a batch
    ``{"records": [...]}`` → ``{"results": [...]}``, one result per record, in order. A bad record in
    a batch gets an error object (``content`` null, ``error`` set) and the others are still labelled;
    a bad single record answers 422 with its error object. Query flags ``lines``, ``related``,
    ``scores`` (default true) drop optional parts of the output.
``GET /v1/model``
    The model card.
``GET /healthz``
    ``{"status": "ok"}`` once the model is loaded.
``GET /docs``, ``GET /openapi.json``
    Interactive docs and the OpenAPI schema.
``GET /``, ``POST /``
    The browser view: a form to paste a page (text or HTML; nothing is fetched from the URL field,
    whose URL is read as a crawled page's is); posting it answers the page with every line tinted by its label, its score
    and, on hover, the features behind its label (rendered by :mod:`boilerdetect.show`).

Every error answers ``{"error": "..."}``: 400 malformed JSON, 413 body over the size limit, 422 a
body of the wrong shape, 500 the detector itself failed on every record of the request (a stale
model, say: ``"prediction failed: ..."``), 503 too many requests waiting, 504 prediction over the
time limit.

Prediction is CPU-bound and runs in a bounded thread pool (``max_concurrency`` threads per process,
each limited to one OpenMP thread) so that the event loop keeps serving; at most ``max_queue`` more
requests wait for a thread. A prediction that outlives the time limit is answered with 504, but its
thread keeps its slot until it finishes (Python threads cannot be killed), so a burst of
pathological pages cannot overrun the bound.

Settings come from :class:`Settings` or from ``BOILERDETECT_*`` environment variables, which is how
``boilerdetect serve --workers N`` hands them to each uvicorn worker process (``create_app`` is the
app factory; every worker loads its own model at startup).
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import json
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import __version__
from .model import DEFAULT_MODEL, PREDICTION_FAILED, Detector, ModelError
from .readers import looks_like_html, page_from_record
from .result import Result, json_bytes
from .show import CSP, TITLE, model_facts, page_shell, render_form, render_results

log = logging.getLogger("boilerdetect.service")
T = TypeVar("T")

ENV_PREFIX = "BOILERDETECT_"
WORKER_HEALTHCHECK_S = 60  # seconds a --workers process may take to answer uvicorn's liveness ping


@dataclass(frozen=True)
class Settings:
    """Service settings; :meth:`from_env` reads them from ``BOILERDETECT_*`` variables."""

    model: str | None = None  # None: the shipped model
    max_body_mb: float = 10.0
    timeout: float = 30.0  # seconds a request may wait + predict before 504
    max_concurrency: int = 2  # prediction threads per process
    max_queue: int = 64  # requests that may wait for a thread before 503

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)

    def to_env(self) -> dict[str, str]:
        env = {
            "MAX_BODY_MB": str(self.max_body_mb),
            "TIMEOUT": str(self.timeout),
            "MAX_CONCURRENCY": str(self.max_concurrency),
            "MAX_QUEUE": str(self.max_queue),
        }
        if self.model is not None:
            env["MODEL"] = str(self.model)
        return {ENV_PREFIX + k: v for k, v in env.items()}

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ

        def get(name: str, kind: Callable[[str], Any], default: Any, minimum: float, positive: bool = False) -> Any:
            raw = env.get(ENV_PREFIX + name)
            if raw is None or raw == "":
                return default
            try:
                value = kind(raw)
            except ValueError:
                raise ValueError(f"{ENV_PREFIX}{name}={raw!r} is not a valid {kind.__name__}") from None
            if value < minimum or (positive and value <= 0):  # as serve's options: 0 would refuse every request
                raise ValueError(f"{ENV_PREFIX}{name} must be {'positive' if positive else f'at least {minimum}'}")
            return value

        return cls(
            model=env.get(ENV_PREFIX + "MODEL") or None,
            max_body_mb=get("MAX_BODY_MB", float, cls.max_body_mb, 0.0, positive=True),
            timeout=get("TIMEOUT", float, cls.timeout, 0.0, positive=True),
            max_concurrency=get("MAX_CONCURRENCY", int, cls.max_concurrency, 1),
            max_queue=get("MAX_QUEUE", int, cls.max_queue, 0),
        )


# --- errors ---------------------------------------------------------------------------------------


class ApiError(Exception):
    """Answered as ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


# --- bounded execution ----------------------------------------------------------------------------


class _Runner:
    """Run blocking work in a thread pool: at most ``max_concurrency`` at once, ``max_queue`` waiting."""

    def __init__(self, settings: Settings):
        self.timeout = settings.timeout
        self.capacity = settings.max_concurrency + settings.max_queue
        self.executor = ThreadPoolExecutor(settings.max_concurrency, thread_name_prefix="boilerdetect")
        self.slots = asyncio.Semaphore(settings.max_concurrency)
        self.pending = 0  # waiting + running (including timed-out work still running); event-loop only

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self.pending >= self.capacity:
            raise ApiError(503, "server busy: too many requests waiting, retry later", {"Retry-After": "1"})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        self.pending += 1
        try:
            await asyncio.wait_for(self.slots.acquire(), self.timeout)
        except asyncio.TimeoutError:
            self.pending -= 1
            raise ApiError(504, f"no worker free within the time limit ({self.timeout:g} s)") from None
        except BaseException:
            self.pending -= 1
            raise
        try:
            future = loop.run_in_executor(self.executor, fn, *args)
        except BaseException:
            self.pending -= 1
            self.slots.release()
            raise

        def finished(_: asyncio.Future) -> None:  # the slot frees when the work ends, not at 504
            self.pending -= 1
            self.slots.release()

        future.add_done_callback(finished)
        try:
            return await asyncio.wait_for(asyncio.shield(future), max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:
            raise ApiError(504, f"prediction took longer than the time limit ({self.timeout:g} s)") from None

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


# --- request handling -----------------------------------------------------------------------------


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) as soon as it is known or seen to exceed ``limit`` bytes."""
    too_large = ApiError(413, f"request body larger than the limit of {limit} bytes")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def _predict_body(detector: Detector, body: bytes, options: dict[str, bool]) -> tuple[int, bytes, int]:
    """Parse, predict and serialise (in a worker thread): ``(status, JSON bytes, number of records)``."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:
        return 400, json_bytes({"error": f"malformed JSON: {exc}"}), 0
    if not isinstance(payload, dict):
        return 422, json_bytes({"error": 'body must be a JSON object: one record, or {"records": [...]}'}), 0
    batch = "records" in payload
    if batch:
        records = payload["records"]
        if not isinstance(records, list):
            return 422, json_bytes({"error": "'records' must be a list of record objects"}), 0
    else:
        records = [payload]
    results = _predict_records(detector, records)
    failed = sum(res.error is not None and res.error.startswith((PREDICTION_FAILED, INTERNAL_ERROR)) for res in results)
    if records and failed == len(records):  # nothing worked: the server, not the input, is at fault
        return 500, json_bytes({"error": results[0].error}), len(records)
    outputs = [res.to_record(**options) for res in results]
    if batch:
        return 200, json_bytes({"results": outputs}), len(records)
    return (200 if outputs[0]["error"] is None else 422), json_bytes(outputs[0]), 1


INTERNAL_ERROR = "internal error"  # how an error result of a detector call that raised begins


def _predict_records(detector: Detector, records: list) -> list[Result]:
    """``predict_records``, falling back to one record at a time if the batch call itself raises
    (ours turns every failure into an error result; a detector of another make may not), so that
    an unforeseen failure on one record never takes the others down."""
    try:
        return detector.predict_records(records)
    except Exception:
        log.exception("prediction of a batch of %d records failed; retrying record by record", len(records))
    results = []
    for record in records:
        try:
            results.extend(detector.predict_records([record]))
        except Exception as exc:
            results.append(Result.failed(record, f"{INTERNAL_ERROR}: {type(exc).__name__}: {exc}"))
    return results


BROWSE_TOP_FEATURES = 5  # features named per line on hover in the browser view
BROWSE_EXPLAIN_MAX_LINES = 400  # longer pasted pages are labelled without explanations (cost ~ lines x features)


def _browse_body(detector: Detector, body: bytes, model: dict[str, str]) -> tuple[int, str]:
    """The browser view for a posted form (in a worker thread): ``(status, HTML document)``.

    The form is ``application/x-www-form-urlencoded`` with ``page``, ``kind`` (text|html), ``url``.
    """
    from urllib.parse import parse_qs

    fields = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
    text, kind, url = fields.get("page", ""), fields.get("kind", "text"), fields.get("url", "").strip()

    def answer(status: int, error: str | None = None, results: str = "") -> tuple[int, str]:
        return status, page_shell(TITLE, render_form(text, kind, url, error) + results)

    if kind not in ("text", "html"):
        return answer(422, "choose plain text or HTML")
    if not text.strip():
        return answer(422, "paste the text or the HTML of a page first")
    try:
        page = page_from_record({"url": url or None, kind: text})
    except (ValueError, RecursionError) as exc:
        return answer(422, f"cannot read this page: {exc}")
    note = None
    if kind == "text" and looks_like_html(text.lstrip()[:1024].encode("utf-8", "replace")):
        note = "this looks like HTML pasted as plain text: its tags are read as words; choose HTML to segment it"
    try:
        if len(page.lines) <= BROWSE_EXPLAIN_MAX_LINES:
            res = detector.explain_pages([page], BROWSE_TOP_FEATURES)[0]
        else:
            res = detector.predict_pages([page])[0]
            note = "; ".join(filter(None, [note, f"over {BROWSE_EXPLAIN_MAX_LINES} lines: labelled without per-line explanations (use 'boilerdetect show')"]))
    except Exception as exc:
        log.exception("browser view: prediction failed")
        return answer(500, f"{PREDICTION_FAILED}: {type(exc).__name__}: {exc}")
    return answer(200, results=render_results([res], model, note=note))


class _AccessLog:
    """ASGI middleware: one log line per request (method, path, status, ms, records)."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            records = scope.get("state", {}).get("records", "-")
            ms = (time.perf_counter() - start) * 1000
            log.info("%s %s %d %.1fms records=%s", scope["method"], scope["path"], status, ms, records)


# --- OpenAPI documentation models (responses are built by hand, these only document them) --------


class LineOut(BaseModel):
    text: str
    label: str = Field(description="content, related or boilerplate")
    score: float | None = Field(None, description="probability of content (absent with scores=false)")


class RelatedItem(BaseModel):
    text: str
    url: str | None = None


class RelatedBlock(BaseModel):
    heading: str | None
    items: list[RelatedItem]


class Output(BaseModel):
    id: str | None
    url: str | None
    content: str | None = Field(description="the content lines joined by newlines; null for a failed record")
    lines: list[LineOut] | None = Field(None, description="absent with lines=false")
    related_links: list[RelatedBlock] | None = Field(None, description="absent with related=false")
    error: str | None
    truncated: dict[str, int] | None = Field(None, description="how a page over the size limits was cut; absent for whole pages")


class BatchOutput(BaseModel):
    results: list[Output]


class ErrorOut(BaseModel):
    error: str


_PAGE_FIELD = {"type": "string"}
_RECORD_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": ["string", "number", "null"], "description": "echoed back as a string"},
        "url": {"type": ["string", "null"]},
        "html": {"type": ["string", "null"]},
        "text": {"type": ["string", "null"]},
    },
    # what page_from_record accepts: a non-null html or text (html wins when both are given)
    "anyOf": [
        {"required": ["html"], "properties": {"html": _PAGE_FIELD}},
        {"required": ["text"], "properties": {"text": _PAGE_FIELD}},
    ],
    "not": {"required": ["records"]},  # a body with "records" is a batch
    "description": "One page: give html or text.",
}
_BATCH_SCHEMA = {
    "type": "object",
    "required": ["records"],
    "properties": {
        "records": {
            "type": "array",
            # not _RECORD_SCHEMA: a bad record in a batch is answered with its error object, not refused
            "items": {"description": "records as for a single page; an invalid one gets an error result"},
        }
    },
}
_PREDICT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [_RECORD_SCHEMA, _BATCH_SCHEMA]
                },
                "examples": {
                    "one": {"value": {"id": "a", "url": "https://example.org/", "html": "<p>Hello</p>"}},
                    "batch": {
                        "value": {"records": [{"id": "a", "text": "Hello\nworld"}, {"id": "b", "html": "<p>Hi</p>"}]}
                    },
                },
            }
        },
    }
}
_ERRORS: dict = {code: {"model": ErrorOut} for code in (400, 413, 422, 500, 503, 504)}


# --- the app --------------------------------------------------------------------------------------


def _level(name: str) -> int:
    level = logging.getLevelName(name.upper())
    return level if isinstance(level, int) else logging.DEBUG  # uvicorn's "trace" is below debug


def _setup_logging() -> None:
    """Our request lines go to stderr unless the host application configured logging itself."""
    if not log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.propagate = False
    if log.level == logging.NOTSET:
        log.setLevel(_level(os.environ.get(ENV_PREFIX + "LOG_LEVEL", "info")))


def create_app(settings: Settings | None = None, detector: Detector | None = None) -> FastAPI:
    """Build the app. Without ``settings`` they are read from the environment; without a
    ``detector`` the model (``settings.model``) is loaded at startup, once per process."""
    settings = settings or Settings.from_env()
    # the file the summary names: an injected detector without settings.model came from no known file
    model_file = settings.model or (DEFAULT_MODEL if detector is None else None)
    _setup_logging()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        det = detector
        if det is None:
            try:
                det = await asyncio.to_thread(Detector.load, settings.model)
            except ModelError as exc:
                log.error("cannot start: %s", exc)
                raise
        app.state.detector = det
        app.state.runner = _Runner(settings)
        log.info(
            "model ready (%s); max body %d bytes, timeout %g s, %d threads, queue %d",
            settings.model or "shipped model", settings.max_body_bytes, settings.timeout,
            settings.max_concurrency, settings.max_queue,
        )  # fmt: skip
        try:
            yield
        finally:
            app.state.runner.close()

    app = FastAPI(
        title="boilerdetect",
        summary="Label the lines of crawled web pages as content, related links or boilerplate.",
        version=__version__,
        lifespan=lifespan,
    )
    app.add_middleware(_AccessLog)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:  # logged by uvicorn
        return _error(500, f"internal error: {type(exc).__name__}")

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in exc.errors()
        )
        return _error(422, f"invalid request: {problems}")

    @app.post(
        "/v1/predict",
        summary="Label one record, or a batch {records: [...]}",
        openapi_extra=_PREDICT_BODY,
        responses={200: {"model": Output | BatchOutput}, **_ERRORS},
    )
    async def predict(
        request: Request,
        lines: bool = Query(True, description="include the labelled lines"),
        related: bool = Query(True, description="include the related-link blocks"),
        scores: bool = Query(True, description="include each line's content probability"),
    ) -> Response:
        body = await _read_body(request, settings.max_body_bytes)
        options = {"lines": lines, "related": related, "scores": scores}
        status, content, n = await request.app.state.runner.run(
            _predict_body, request.app.state.detector, body, options
        )
        request.state.records = n
        return Response(content, status_code=status, media_type="application/json")

    @app.get("/v1/model", summary="The model card")
    async def model_card(request: Request) -> JSONResponse:
        return JSONResponse(request.app.state.detector.card)

    @app.get("/", include_in_schema=False)
    async def browse(request: Request) -> HTMLResponse:
        """The browser view: a form to paste a page; posting it shows every line as the detector sees it."""
        return HTMLResponse(page_shell(TITLE, render_form()), headers={"Content-Security-Policy": CSP})

    @app.post("/", include_in_schema=False)
    async def browse_submit(request: Request) -> HTMLResponse:
        try:
            body = await _read_body(request, settings.max_body_bytes)
            facts = model_facts(model_file, request.app.state.detector.card)
            status, page = await request.app.state.runner.run(_browse_body, request.app.state.detector, body, facts)
        except ApiError as exc:  # too large, too busy, too slow: said on the form, as a browser shows it
            status, page = exc.status, page_shell(TITLE, render_form(error=exc.message))
        request.state.records = 1
        return HTMLResponse(page, status_code=status, headers={"Content-Security-Policy": CSP})

    @app.api_route("/healthz", methods=["GET", "HEAD"], summary="Liveness")
    async def healthz() -> dict:
        return {"status": "ok"}

    return app


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    detector: Detector | None = None,
    log_level: str = "info",
) -> None:
    """Run uvicorn. One worker serves ``detector`` (or loads the model) in this process; several
    workers are uvicorn processes built by the :func:`create_app` factory from the environment."""
    import uvicorn

    log_level = log_level.lower()
    os.environ[ENV_PREFIX + "LOG_LEVEL"] = log_level
    log.setLevel(_level(log_level))
    _setup_logging()
    try:
        if not ipaddress.ip_address(host).is_loopback:
            log.warning("listening on %s: the service is reachable from other machines", host)
    except ValueError:
        if host != "localhost":
            log.warning("listening on %s: the service may be reachable from other machines", host)
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "access_log": False,  # we log one line per request ourselves
        "timeout_graceful_shutdown": int(settings.timeout) + 5,  # let in-flight predictions finish
        # bound open connections too, so that bodies being read cannot pile up in memory without end
        # (past it uvicorn itself answers a plain-text 503)
        "limit_concurrency": max(100, 2 * (settings.max_concurrency + settings.max_queue)),
    }
    if workers <= 1:
        uvicorn.run(create_app(settings, detector), **common)
    else:
        os.environ.update(settings.to_env())
        if "timeout_worker_healthcheck" in inspect.signature(uvicorn.Config).parameters:
            # uvicorn kills a worker that does not answer its supervisor's ping within 5 s; a worker
            # still loading the model on a busy machine can take longer, and would be killed and
            # restarted over and over
            common["timeout_worker_healthcheck"] = WORKER_HEALTHCHECK_S
        uvicorn.run("boilerdetect.service:create_app", factory=True, workers=workers, **common)
