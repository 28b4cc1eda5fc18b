"""Peak memory of ``boilerdetect predict`` on a small and a large input: it should not grow with the input.

    python benchmarks/memory.py [--data ../shared/datasets/wcxb-dev] [--sizes 1000 100000]
                                [--kind text|html] [--container jsonl|jsonl.gz|wet.gz] [--max-lines 40]

Builds an input of N records by repeating pages of the dataset (each copy gets its own id and
URL), then runs ``boilerdetect predict FILE -f jsonl -o /dev/null --quiet`` as a child process
for each size and reports its peak resident memory (``ru_maxrss`` from ``wait4`` in a small launcher, i.e. the child
itself; with ``--jobs`` > 1 the worker processes are sampled with psutil when it is installed) and
the resident memory sampled along the run. Target: peak memory of the largest run within 10 % of
the smallest.

The default keeps the 100,000-record run to a few minutes on 2 cores: plain-text records
(the pages rendered by ``datasets.html_to_text``, as a crawler's WET text would be), cut to their
first ``--max-lines`` non-blank lines. ``--kind html`` uses the full HTML pages instead (much slower).
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from itertools import cycle, islice

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from speed import load_pages  # noqa: E402


def make_records(data: str, pages: int, kind: str, max_lines: int) -> list[dict]:
    from boilerdetect.datasets import html_to_text

    base = load_pages(data, pages)
    if kind == "html":
        return base
    out = []
    for r in base:
        lines = [l for l in html_to_text(r["html"]).splitlines() if l.strip()][:max_lines]
        if lines:
            out.append({"id": r["id"], "url": r["url"], "text": "\n".join(lines)})
    return out


def write_input(path: str, records: list[dict], n: int, container: str) -> None:
    def numbered():
        for i, r in enumerate(islice(cycle(records), n)):
            url = r["url"] or f"https://example.invalid/{r['id']}"
            yield dict(r, id=f"{r['id']}-{i}", url=f"{url}#copy{i}")

    if container == "wet.gz":
        from warcio.warcwriter import WARCWriter

        with open(path, "wb") as fh:
            writer = WARCWriter(fh, gzip=True)
            for r in numbered():
                body = (r.get("text") or r.get("html")).encode("utf-8")
                rec = writer.create_warc_record(r["url"], "conversion", payload=io.BytesIO(body), warc_content_type="text/plain")
                writer.write_record(rec)
        return
    opener = (lambda p: gzip.open(p, "wt", encoding="utf-8", compresslevel=1)) if container == "jsonl.gz" else (
        lambda p: open(p, "w", encoding="utf-8"))
    with opener(path) as fh:
        for r in numbered():
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


# A small launcher runs the command and reports the child's own peak RSS from wait4. Measuring
# from this (large) process directly would be wrong: a forked child's ru_maxrss includes the
# parent's memory at the time of the fork.
_LAUNCHER = """
import os, subprocess, sys
p = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(p.pid, 0)
sys.stderr.write("\\nMAXRSS_KB %d\\n" % usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _tree_rss(launcher) -> int:
    """Resident memory of the launcher's descendants (the command and its worker processes)."""
    try:
        procs = launcher.children(recursive=True)
    except Exception:  # noqa: BLE001 - the process may just have ended
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except Exception:  # noqa: BLE001
            pass
    return total


def measure(cmd: list[str]) -> dict:
    """Run ``cmd``; its wall time, exit code, peak RSS (wait4) and RSS samples over time (psutil, if any)."""
    try:
        import psutil
    except ImportError:
        psutil = None
    samples: list[tuple[float, int]] = []
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", _LAUNCHER, *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stop = threading.Event()

    def sample():
        if psutil is None:
            return
        try:
            ps = psutil.Process(proc.pid)
        except Exception:  # noqa: BLE001
            return
        while not stop.is_set():
            rss = _tree_rss(ps)
            if rss:
                samples.append((time.perf_counter() - t0, rss))
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stderr = proc.stderr.read().decode("utf-8", "replace")
    code = proc.wait()
    wall = time.perf_counter() - t0
    stop.set()
    sampler.join()
    lines = stderr.strip().splitlines()
    maxrss = next((int(l.split()[1]) * 1024 for l in reversed(lines) if l.startswith("MAXRSS_KB ")), 0)
    return {
        "wall": wall,
        "code": code,
        "maxrss": maxrss,  # ru_maxrss is in kilobytes on Linux
        "samples": samples,
        "stderr": "\n".join(l for l in lines if not l.startswith("MAXRSS_KB ")),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/datasets/wcxb-dev", help="WCXB-layout directory (relative to the repository root)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 100000])
    ap.add_argument("--pages", type=int, default=300, help="distinct dataset pages to repeat")
    ap.add_argument("--kind", choices=("text", "html"), default="text")
    ap.add_argument("--container", choices=("jsonl", "jsonl.gz", "wet.gz"), default="jsonl")
    ap.add_argument("--max-lines", type=int, default=40, help="text records: keep the first N non-blank lines")
    ap.add_argument("--model", default=None)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--workdir", default=None, help="where to write the inputs (default: a temporary directory, removed after)")
    args = ap.parse_args()
    if args.workdir is not None and not os.path.isdir(args.workdir):  # said before the records are built
        sys.exit(f"error: --workdir {args.workdir} is not a directory")
    data = args.data if os.path.isabs(args.data) else os.path.join(ROOT, args.data)

    records = make_records(data, args.pages, args.kind, args.max_lines)
    avg = sum(len(json.dumps(r)) for r in records) / len(records)
    print(f"records: {args.kind}, {len(records)} distinct pages repeated, ~{avg / 1000:.1f} kB each as JSON, "
          f"container {args.container}, --jobs {args.jobs}; load average {os.getloadavg()[0]:.2f}")
    tmp = tempfile.TemporaryDirectory(dir=args.workdir)
    rows = []
    with tmp:
        for n in args.sizes:
            path = os.path.join(tmp.name, f"input-{n}.{args.container}")
            write_input(path, records, n, args.container)
            cmd = [sys.executable, "-m", "boilerdetect.cli", "predict", path, "-f", "jsonl", "-o", os.devnull, "--quiet", "-j", str(args.jobs)]
            if args.model:
                cmd += ["--model", args.model]
            res = measure(cmd)
            res.update(n=n, size=os.path.getsize(path))
            os.unlink(path)
            rows.append(res)
            summary = res["stderr"].splitlines()[-1] if res["stderr"] else ""
            print(f"  {n} records: exit {res['code']}, {res['wall']:.1f} s; {summary}")

    print(f"\n{'records':>9}{'input MB':>10}{'seconds':>9}{'pages/s':>9}{'peak RSS MB':>13}{'sampled peak MB':>17}  RSS at 25/50/75/100 % of the run (MB)")
    for r in rows:
        peak_sampled = max((s for _, s in r["samples"]), default=0) / 1e6
        marks = []
        if r["samples"]:
            for q in (0.25, 0.5, 0.75, 1.0):
                t = q * r["wall"]
                marks.append(f"{min(r['samples'], key=lambda s: abs(s[0] - t))[1] / 1e6:.0f}")
        print(f"{r['n']:>9}{r['size'] / 1e6:>10.1f}{r['wall']:>9.1f}{r['n'] / r['wall']:>9.1f}{r['maxrss'] / 1e6:>13.1f}"
              f"{peak_sampled:>17.1f}  {' / '.join(marks) or '-'}")
    if len(rows) >= 2:
        small, large = rows[0], rows[-1]
        growth = large["maxrss"] / small["maxrss"] - 1
        print(f"\npeak RSS {large['n']} vs {small['n']} records: {100 * growth:+.1f} %  "
              f"(target within 10 %: {'met' if abs(growth) <= 0.10 else 'NOT met'})")


if __name__ == "__main__":
    main()
