"""Load test of ``boilerdetect serve`` on loopback (a script, not a test).

Starts the server with ``--workers 2`` on a free 127.0.0.1 port, then runs three timed phases of
``--clients`` concurrent clients posting one page per request:

1. only good requests (real pages from ``--data``, else generated HTML pages), which also warms
   the server up;
2. the same again, for as long: the server's memory after it must be within ``--flat`` (10 %) of
   its memory after phase 1;
3. the same with ``--bad-fraction`` (10 %) malformed requests mixed in (broken JSON, an empty
   body, wrong types, a body over the size limit), checking that every good request still
   succeeded and every bad one got its 4xx.

Prints requests/s, p50/p99 latency, the error count, and the server's memory (RSS summed over
its process tree, from /proc) at start and after each phase, then a summary table. Exits 1 on any
unexpected answer or on memory growth. Every loop is bounded in time; traffic goes to 127.0.0.1
only.

    python benchmarks/service_load.py                 # 16 clients, 30 s per phase
    python benchmarks/service_load.py --seconds 5 --clients 4
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import itertools
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


# --- pages ------------------------------------------------------------------------------------------


def load_pages(data: Path, limit: int) -> list[tuple[str, str]]:
    """(id, html) of up to ``limit`` pages from ``data/*.html.gz`` (or ``*.html``)."""
    from boilerdetect.readers import decode

    files = sorted(data.glob("*.html.gz")) or sorted(data.glob("*.html"))
    pages = []
    for path in files[:limit]:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
        pages.append((path.name, decode(raw)))
    return pages


def generated_pages(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """Plausible article pages: navigation, a few paragraphs, related links, footer."""
    rng = random.Random(seed)
    words = ("river ice town road winter north fishing boat market council school bridge storm harbour "
             "report week year people water light forest mountain village history season news").split()  # fmt: skip

    def sentence(k: int) -> str:
        return " ".join(rng.choice(words) for _ in range(k)).capitalize() + "."

    pages = []
    for i in range(n):
        nav = "".join(f'<li><a href="/s{j}">{rng.choice(words).title()}</a></li>' for j in range(12))
        paras = "".join(f"<p>{' '.join(sentence(rng.randint(8, 25)) for _ in range(rng.randint(2, 6)))}</p>"
                        for _ in range(rng.randint(5, 30)))  # fmt: skip
        related = "".join(f'<li><a href="/a{j}">{sentence(6)}</a></li>' for j in range(rng.randint(3, 10)))
        html = (f"<html><head><title>{sentence(5)}</title></head><body><header><ul>{nav}</ul></header>"
                f"<main><article><h1>{sentence(7)}</h1>{paras}</article></main>"
                f"<aside><h3>Related</h3><ul>{related}</ul></aside>"
                f"<footer><p>Copyright {2000 + i % 25} Example.</p></footer></body></html>")  # fmt: skip
        pages.append((f"gen-{i:04d}", html))
    return pages


@dataclass(frozen=True)
class Request:
    body: bytes
    good: bool
    expect: tuple[int, ...]  # acceptable statuses


def good_requests(pages: list[tuple[str, str]]) -> list[Request]:
    return [Request(json.dumps({"id": pid, "html": html}).encode(), True, (200,)) for pid, html in pages]


def bad_requests(goods: list[Request], n: int, max_body_mb: float) -> list[Request]:
    """``n`` requests that must be refused: broken JSON and an empty body (400), wrong types (422),
    a body over the server's size limit (413)."""
    oversized = b'{"text": "' + b"x" * (int(max_body_mb * 1024 * 1024) + 1024) + b'"}'
    kinds = itertools.cycle(["truncated", "empty", "shape", "record", "array", "oversized"])
    out = []
    for i in range(n):
        kind = next(kinds)
        if kind == "truncated":
            body = goods[i % len(goods)].body
            out.append(Request(body[: len(body) // 2], False, (400,)))
        elif kind == "empty":
            out.append(Request(b"", False, (400,)))
        elif kind == "shape":
            out.append(Request(b'{"records": "not a list"}', False, (422,)))
        elif kind == "record":
            out.append(Request(b'{"id": "bad", "html": 5}', False, (422,)))
        elif kind == "array":
            out.append(Request(b'[{"text": "a list, not an object"}]', False, (422,)))
        else:
            out.append(Request(oversized, False, (413,)))
    return out


def mixed(goods: list[Request], bad_fraction: float, max_body_mb: float, seed: int = 1) -> list[Request]:
    """The good requests plus enough bad ones to make ``bad_fraction`` of the total, shuffled."""
    rng = random.Random(seed)
    n_bad = max(1, round(len(goods) * bad_fraction / (1 - bad_fraction)))
    items = goods + bad_requests(goods, n_bad, max_body_mb)
    rng.shuffle(items)
    return items


# --- server -----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def tree_rss_mb(pid: int) -> float:
    """RSS in MiB of ``pid`` and all its descendants, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    total_kb, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            pass
    return total_kb / 1024


def start_server(port: int, workers: int, extra: list[str], log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "boilerdetect.cli", "serve", "--host", HOST, "--port", str(port),
           "--workers", str(workers), *extra]  # fmt: skip
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO)
    base = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}; log:\n{log.read_text()}")
        try:
            # with several workers, each must be up: ask a few times over fresh connections
            if all(httpx.get(f"{base}/healthz", timeout=2).status_code == 200 for _ in range(workers * 2)):
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    stop_server(proc)
    raise SystemExit(f"server not ready after 120 s; log:\n{log.read_text()}")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()  # SIGTERM to the uvicorn supervisor, which stops its workers gracefully
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- load -------------------------------------------------------------------------------------------


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)  # seconds, all requests
    good: int = 0
    good_ok: int = 0
    bad: int = 0
    bad_ok: int = 0
    errors: int = 0  # wrong status, error field on a good request, or transport failure
    statuses: dict = field(default_factory=dict)
    elapsed: float = 0.0


async def run_load(base: str, items: list[Request], clients: int, seconds: float, timeout: float) -> Stats:
    stats = Stats()
    counter = itertools.count()
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"content-type": "application/json"}

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:

        async def worker() -> None:
            while time.monotonic() < deadline:
                item = items[next(counter) % len(items)]
                t0 = time.perf_counter()
                try:
                    r = await client.post("/v1/predict", content=item.body, headers=headers, params={"lines": "true"})
                    status = r.status_code
                    ok = status in item.expect and (not item.good or r.json().get("error") is None)
                except httpx.HTTPError as exc:
                    status, ok = type(exc).__name__, False
                stats.latencies.append(time.perf_counter() - t0)
                stats.statuses[status] = stats.statuses.get(status, 0) + 1
                if item.good:
                    stats.good += 1
                    stats.good_ok += ok
                else:
                    stats.bad += 1
                    stats.bad_ok += ok
                stats.errors += not ok

        start = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(clients)))
        stats.elapsed = time.monotonic() - start
    return stats


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def report(name: str, s: Stats, rss_before: float, rss_after: float) -> None:
    n = len(s.latencies)
    print(f"\n== {name}")
    print(f"requests      {n} in {s.elapsed:.1f} s  ->  {n / s.elapsed:.1f} req/s")
    p50, p99 = percentile(s.latencies, 50) * 1000, percentile(s.latencies, 99) * 1000
    print(f"latency       p50 {p50:.0f} ms   p99 {p99:.0f} ms"
          f"   max {max(s.latencies, default=0) * 1000:.0f} ms")  # fmt: skip
    print(f"statuses      {dict(sorted(s.statuses.items(), key=str))}")
    print(f"errors        {s.errors}")
    print(
        f"good          {s.good_ok}/{s.good} succeeded"
        + ("" if not s.bad else f";  bad {s.bad_ok}/{s.bad} got their 4xx")
    )
    print(f"server RSS    {rss_before:.0f} MiB -> {rss_after:.0f} MiB (process tree)")


def table(rows: list[tuple[str, Stats, float]]) -> None:
    """One line per phase: throughput, latency, errors and the server's RSS after it."""
    print(f"\n{'phase':<28} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'RSS MiB':>8}")
    for name, s, rss in rows:
        rate = len(s.latencies) / s.elapsed
        p50, p99 = percentile(s.latencies, 50) * 1000, percentile(s.latencies, 99) * 1000
        print(f"{name:<28} {rate:>7.1f} {p50:>7.0f} {p99:>7.0f} {s.errors:>6} {rss:>8.0f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of each phase")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "datasets" / "wcxb-dev" / "html")
    parser.add_argument("--pages", type=int, default=300, help="at most this many pages")
    parser.add_argument("--bad-fraction", type=float, default=0.10)
    parser.add_argument("--max-body-mb", type=float, default=10.0, help="the server's body limit (413 above)")
    parser.add_argument("--flat", type=float, default=0.10, help="allowed RSS growth from phase 1 to phase 2")
    parser.add_argument("--timeout", type=float, default=60.0, help="client timeout per request (s)")
    parser.add_argument(
        "--server-arg", action="append", default=[], help="extra 'boilerdetect serve' option (repeatable)"
    )
    args = parser.parse_args()
    if not 0 < args.bad_fraction < 1:
        parser.error("--bad-fraction must be between 0 and 1")

    pages = load_pages(args.data, args.pages) if args.data.is_dir() else []
    source = f"{args.data}" if pages else "generated HTML"
    if not pages:
        pages = generated_pages(args.pages)
    sizes = sorted(len(h.encode()) for _, h in pages)
    print(f"pages         {len(pages)} from {source}; size median {sizes[len(sizes) // 2] / 1024:.0f} KiB, "
          f"max {sizes[-1] / 1024:.0f} KiB")  # fmt: skip
    goods = good_requests(pages)

    port = free_port()
    log = Path(tempfile.mkstemp(prefix="boilerdetect-serve-", suffix=".log")[1])
    print(
        f"server        127.0.0.1:{port}, {args.workers} workers, {args.clients} clients, "
        f"{args.seconds:g} s per phase; log {log}"
    )
    t0 = time.monotonic()
    server_args = ["--max-body-mb", str(args.max_body_mb), *args.server_arg]
    proc = start_server(port, args.workers, server_args, log)
    print(f"startup       {time.monotonic() - t0:.1f} s")
    base = f"http://{HOST}:{port}"
    phases = [
        ("good requests, phase 1", goods),  # includes warm-up: allocator arenas, caches
        ("good requests, phase 2", goods),  # same length: memory must stay flat from here
        (f"{args.bad_fraction:.0%} malformed mixed in", mixed(goods, args.bad_fraction, args.max_body_mb)),
    ]
    rows = []
    try:
        rss = [tree_rss_mb(proc.pid)]
        for name, items in phases:
            stats = asyncio.run(run_load(base, items, args.clients, args.seconds, args.timeout))
            rss.append(tree_rss_mb(proc.pid))
            report(name, stats, rss[-2], rss[-1])
            rows.append((name, stats, rss[-1]))
    finally:
        stop_server(proc)
    print(f"\nserver RSS at start {rss[0]:.0f} MiB")
    table(rows)
    growth = (rss[2] - rss[1]) / rss[1]
    flat = growth <= args.flat
    print(f"\nmemory        {'flat' if flat else 'GROWING'}: {rss[1]:.0f} MiB after phase 1, {rss[2]:.0f} MiB after "
          f"phase 2 ({growth:+.1%}, limit {args.flat:+.0%}), {rss[3]:.0f} MiB at the end")  # fmt: skip
    failed = sum(stats.errors for _, stats, _ in rows)
    if failed == 0 and flat:
        print("OK: every good request succeeded, every bad one got its 4xx, and memory stayed flat")
        return 0
    print("FAILED: " + ("some requests did not get the expected answer (see statuses above)" if failed else
                        "server memory grew between two equal phases"))  # fmt: skip
    return 1


if __name__ == "__main__":
    sys.exit(main())
