"""Throughput of boilerdetect against trafilatura and jusText, a per-stage profile, and --jobs scaling.

    python benchmarks/speed.py [--data ../shared/datasets/wcxb-dev] [--pages 300] [--jobs-pages 600] [--cli-pages 2400] [--startup-runs 5] [--model PATH]

Everything runs in this one process, one page after another (no worker processes), on the same
pages, so the ratios compare like with like:

* boilerdetect on HTML: ``Detector.predict_many(records, batch_size=64)``;
* boilerdetect on plain text: the same pages rendered to text by ``datasets.html_to_text``
  (inscriptis, as a crawler's text would be; not timed);
* trafilatura: ``trafilatura.extract(html)``;
* jusText: ``justext.justext(html, English stoplist)``.

First the start-up of ``boilerdetect predict`` on the sample page (a fresh process: imports and
model loading included). Then boilerdetect per stage (read + segment, features, classifier, JSONL writing; wall and CPU
time), the throughput of ``predict_many(n_jobs=2)`` against ``n_jobs=1`` on a larger batch (pages
repeated as needed), the same for ``boilerdetect predict --jobs`` on files (start-up included),
and peak memory.
Targets printed with the results: HTML >= 5x trafilatura, text >= 20x trafilatura, jobs-2 >= 1.8x jobs-1.
Needs the ``bench`` extra (``pip install -e '.[bench]'``) for the baselines; missing ones are skipped.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import sys
import time
import warnings
from itertools import cycle, islice

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

TARGETS = {"html": 5.0, "text": 20.0, "jobs": 1.8}


def load_pages(data: str, n: int) -> list[dict]:
    """The first ``n`` pages of a WCXB-layout directory as ``{"id", "url", "html"}`` records."""
    from boilerdetect.readers import decode

    html_dir = os.path.join(data, "html")
    if not os.path.isdir(html_dir):
        sys.exit(f"error: no html/ directory in {data} (give --data)")
    records = []
    for name in sorted(os.listdir(html_dir))[:n]:
        fid = name.split(".")[0]
        path = os.path.join(html_dir, name)
        with gzip.open(path) if name.endswith(".gz") else open(path, "rb") as fh:
            html = decode(fh.read())
        url = None
        truth = os.path.join(data, "ground-truth", f"{fid}.json")
        if os.path.exists(truth):
            with open(truth) as fh:
                url = json.load(fh).get("url")
        records.append({"id": fid, "url": url, "html": html})
    return records


def rate(fn, items, warmup: int = 3) -> tuple[float, float, float]:
    """(wall seconds, pages/s, CPU seconds) of ``fn(items)`` after a short warm-up (imports, caches).

    CPU seconds (this process) are printed too: on a shared machine they vary much less than wall time.
    """
    fn(items[:warmup])
    t0, c0 = time.perf_counter(), time.process_time()
    fn(items)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    return dt, len(items) / dt, cpu


def run_detector(detector):
    def go(records):
        for _ in detector.predict_many(records, batch_size=64):
            pass

    return go


def run_trafilatura():
    import trafilatura

    def go(records):
        for r in records:
            trafilatura.extract(r["html"])

    return go


def run_justext():
    import justext

    try:
        stoplist = justext.get_stoplist("English")
    except Exception:  # noqa: BLE001 - an install without stoplists: jusText still runs, less well
        stoplist = frozenset()

    def go(records):
        for r in records:
            try:
                justext.justext(r["html"], stoplist)
            except Exception:  # noqa: BLE001 - jusText rejects some documents (empty, odd markup)
                pass

    return go


STAGES = ("read + segment", "features", "classifier", "write")


def stage_profile(detector, records: list[dict]) -> dict[str, tuple[float, float]]:
    """(wall, CPU) seconds per stage for boilerdetect on these records (HTML or text), in batches of 64.

    The stages are those of ``Detector.predict_records``: each record is read as it reads them
    (text cleaned, HTML parsed and segmented), featurised, labelled in one classifier call per
    batch, and "write" is the JSONL output of the results, as ``boilerdetect predict`` writes it.
    Each batch runs with the cyclic garbage collector paused, as the detector and the CLI run theirs.
    """
    from boilerdetect.document import cycle_collector_paused
    from boilerdetect.features import featurize
    from boilerdetect.model import MAX_DEPTH, MAX_PAGE_BYTES, MAX_PAGE_LINES
    from boilerdetect.readers import page_from_record
    from boilerdetect.result import json_bytes

    wall = dict.fromkeys(STAGES, 0.0)
    cpu = dict.fromkeys(STAGES, 0.0)
    for start in range(0, len(records), 64):
        batch = records[start : start + 64]
        with cycle_collector_paused():
            marks = [(time.perf_counter(), time.process_time())]
            pages = [page_from_record(r, MAX_PAGE_BYTES, MAX_PAGE_LINES, MAX_DEPTH) for r in batch]
            marks.append((time.perf_counter(), time.process_time()))
            feats = [featurize(p) for p in pages]
            marks.append((time.perf_counter(), time.process_time()))
            results = detector.predict_pages(pages, feats, copy=False)
            marks.append((time.perf_counter(), time.process_time()))
            for res in results:
                json_bytes(res.to_record()).decode()
            marks.append((time.perf_counter(), time.process_time()))
        for stage, (w0, c0), (w1, c1) in zip(STAGES, marks, marks[1:]):
            wall[stage] += w1 - w0
            cpu[stage] += c1 - c0
    return {stage: (wall[stage], cpu[stage]) for stage in STAGES}


WORKER_PEAK_MB = [0.0]  # largest peak RSS of a worker process seen by jobs_rate


def _workers_peak_mb() -> float:
    """The largest peak RSS (VmHWM) among the live worker processes, in MB.

    Workers are forked by multiprocessing's forkserver (not our children, so not in
    RUSAGE_CHILDREN) or spawned by this process; the forkserver itself is no worker.
    """
    from multiprocessing import forkserver

    server = getattr(forkserver._forkserver, "_forkserver_pid", None)
    parents, peak = {str(os.getpid()), str(server)}, 0.0
    for pid in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not pid.isdigit() or pid == str(server):
            continue
        try:
            with open(f"/proc/{pid}/status") as fh:
                status = dict(line.split(":", 1) for line in fh if ":" in line)
        except OSError:
            continue
        if status.get("PPid", "").strip() in parents and "VmHWM" in status:
            peak = max(peak, int(status["VmHWM"].split()[0]) / 1024)
    return peak


def jobs_rate(detector, records: list[dict], n_jobs: int) -> tuple[float, float]:
    """(seconds, pages/s) of predict_many(n_jobs) over the records, start-up included."""
    t0 = time.perf_counter()
    n = 0
    for _ in detector.predict_many(records, n_jobs=n_jobs, batch_size=64):
        n += 1
        if n_jobs > 1 and n == len(records):  # the workers are still alive: note their peak memory
            WORKER_PEAK_MB[0] = max(WORKER_PEAK_MB[0], _workers_peak_mb())
    dt = time.perf_counter() - t0
    return dt, n / dt


def cli_jobs(records: list[dict], pages: int, files: int = 4) -> dict[str, float]:
    """Wall seconds of ``boilerdetect predict`` (start-up included) on ``pages`` HTML records in
    ``files`` JSONL files: ``--jobs 1``, ``--jobs 2`` with ``--output DIR`` (each worker takes whole
    files) and ``--jobs 2`` into one output file (pages handed out one batch at a time)."""
    import subprocess
    import tempfile

    many = list(islice(cycle(records), pages))
    seconds = {}
    with tempfile.TemporaryDirectory() as tmp:
        inputs = os.path.join(tmp, "in")
        os.mkdir(inputs)
        per_file = -(-pages // files)
        for f in range(files):
            # consecutive pages of the cycle, so that the files carry the same work: striding by
            # `files` through a cycle whose length it divides gave each file its own pages, and one
            # file of large pages held up the run that --jobs 2 is meant to measure
            with open(os.path.join(inputs, f"part{f}.jsonl"), "w") as fh:
                for i, r in enumerate(many[f * per_file : (f + 1) * per_file]):
                    fh.write(json.dumps({"id": f"{f}-{i}", "url": r["url"], "html": r["html"]}) + "\n")
        runs = {"--jobs 1, an output per file": ["-o", os.path.join(tmp, "o1") + "/", "--jobs", "1"],
                "--jobs 2, an output per file": ["-o", os.path.join(tmp, "o2") + "/", "--jobs", "2"],
                "--jobs 2, one output": ["-o", os.path.join(tmp, "one.jsonl"), "--jobs", "2"]}  # fmt: skip
        for name, options in runs.items():
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "boilerdetect.cli", "predict", inputs, "-f", "jsonl", "--quiet", *options], check=True, stderr=subprocess.DEVNULL)
            seconds[name] = time.perf_counter() - t0
    return seconds


def cli_startup(runs: int) -> tuple[float, float]:
    """Median wall seconds and largest peak RSS (MB) of ``boilerdetect predict`` on the shipped
    sample page, a fresh process each run: what one small call costs, start-up and model loading
    included."""
    import statistics
    import subprocess

    sample = os.path.join(ROOT, "boilerdetect", "samples", "news.txt")
    seconds, peaks = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "boilerdetect.cli", "predict", sample, "--quiet"], stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak, not the largest child's so far
        seconds.append(time.perf_counter() - t0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            sys.exit(f"error: boilerdetect predict {sample} exited with {proc.returncode}")
        peaks.append(usage.ru_maxrss / 1024)  # kilobytes on Linux
    return statistics.median(seconds), max(peaks)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/datasets/wcxb-dev", help="WCXB-layout directory (relative to the repository root)")
    ap.add_argument("--pages", type=int, default=300, help="pages for the comparison and the profile")
    ap.add_argument("--jobs-pages", type=int, default=600, help="pages (repeated as needed) for --jobs 2 vs 1")
    ap.add_argument("--model", default=None, help="model file (default: the shipped model)")
    ap.add_argument("--skip-jobs", action="store_true", help="skip the --jobs comparison")
    ap.add_argument("--startup-runs", type=int, default=5, help="fresh 'boilerdetect predict' runs on the sample page for the start-up figure; 0 skips it")
    ap.add_argument("--cli-pages", type=int, default=2400, help="HTML pages (repeated as needed, in 4 files) for the CLI's --jobs 2 vs 1 (long enough for the start-up to weigh little); 0 skips it")
    args = ap.parse_args()
    data = args.data if os.path.isabs(args.data) else os.path.join(ROOT, args.data)
    warnings.filterwarnings("ignore")

    from boilerdetect import Detector, features, html, trees
    from boilerdetect.datasets import html_to_text
    from boilerdetect.model import ModelError

    try:
        detector = Detector.load(args.model)
    except ModelError as exc:
        sys.exit(f"error: {exc}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"cores {os.cpu_count()}, load average {load:.2f} at start (other work on the machine skews every figure)")
    compiled = {"tree walk": trees._treewalk, "word counts": features._words, "HTML walk": html._htmlwalk}
    print("compiled loops: " + ", ".join(f"{name} {'yes' if mod is not None else 'NO (not built here)'}" for name, mod in compiled.items()))
    if args.startup_runs:  # first, while this process has no other children whose memory could be counted
        seconds, peak = cli_startup(args.startup_runs)
        print(f"start-up: boilerdetect predict on the sample page, a fresh process: {seconds:.2f} s, peak memory {peak:.0f} MB "
              f"(median time and largest peak of {args.startup_runs} runs)")

    t0 = time.perf_counter()
    html_records = load_pages(data, args.pages)
    text_records = [{"id": r["id"], "url": r["url"], "text": html_to_text(r["html"])} for r in html_records]
    mb = sum(len(r["html"].encode("utf-8")) for r in html_records) / 1e6
    print(f"{len(html_records)} pages ({mb:.1f} MB of HTML) loaded and rendered to text in {time.perf_counter() - t0:.1f} s\n")

    rows = []
    rows.append(("boilerdetect (HTML)", *rate(run_detector(detector), html_records)))
    rows.append(("boilerdetect (text)", *rate(run_detector(detector), text_records)))
    for name, make in (("trafilatura", run_trafilatura), ("jusText", run_justext)):
        try:
            fn = make()
        except ImportError:
            print(f"note: {name} is not installed (pip install -e '.[bench]'); skipped")
            continue
        rows.append((name, *rate(fn, html_records)))
    base = next((r[2] for r in rows if r[0] == "trafilatura"), None)

    cpu_base = next((r[3] for r in rows if r[0] == "trafilatura"), None)
    print(f"{'method':<22}{'pages':>7}{'seconds':>10}{'pages/s':>10}{'vs trafilatura':>16}{'CPU s':>9}{'CPU ratio':>11}")
    for name, dt, pps, cpu in rows:
        ratio = f"{pps / base:.2f}x" if base else "-"
        cpu_ratio = f"{cpu_base / cpu:.2f}x" if cpu_base else "-"
        print(f"{name:<22}{len(html_records):>7}{dt:>10.2f}{pps:>10.1f}{ratio:>16}{cpu:>9.2f}{cpu_ratio:>11}")
    if base:
        html_ratio, text_ratio = rows[0][2] / base, rows[1][2] / base
        print(f"\ntarget HTML >= {TARGETS['html']:.0f}x trafilatura: {html_ratio:.2f}x  {'met' if html_ratio >= TARGETS['html'] else 'NOT met'}")
        print(f"target text >= {TARGETS['text']:.0f}x trafilatura: {text_ratio:.2f}x  {'met' if text_ratio >= TARGETS['text'] else 'NOT met'}")

    for source, records in (("HTML", html_records), ("text", text_records)):
        stage_profile(detector, records[:3])  # warm-up
        times = stage_profile(detector, records)
        total = sum(w for w, _ in times.values())
        total_cpu = sum(c for _, c in times.values())
        print(f"\nboilerdetect stages, {source} ({len(records)} pages, {total:.2f} s, {len(records) / total:.1f} pages/s without input reading; "
              f"CPU {total_cpu:.2f} s):")
        for stage, (sec, cpu) in times.items():
            print(f"  {stage:<18}{sec:>8.2f} s {100 * sec / total:>6.1f} %  {1000 * sec / len(records):>7.2f} ms/page"
                  f"  CPU {1000 * cpu / len(records):>7.2f} ms/page")

    if not args.skip_jobs:
        many = list(islice(cycle(html_records), args.jobs_pages))
        # the first pool of a process may cost more to start than later ones (the forkserver that
        # forks the workers imports the package once per process): the runs below are later ones
        first_startup, _ = jobs_rate(detector, many[:1], 2)
        startup, _ = jobs_rate(detector, many[:1], 2)
        print(f"\npredict_many on {len(many)} HTML pages, batch_size=64 (start-up of the workers, each loading the model: "
              f"{startup:.1f} s; {first_startup:.1f} s for the first pool of a process):")
        results = {}
        for n_jobs in (1, 2):
            results[n_jobs] = jobs_rate(detector, many, n_jobs)
            total, pps = results[n_jobs]
            net = total - (startup if n_jobs > 1 else 0.0)
            print(f"  --jobs {n_jobs}: {total:7.2f} s  {pps:7.1f} pages/s  ({len(many) / net:.1f} pages/s without the start-up)")
        ratio = results[2][1] / results[1][1]
        net_ratio = (results[1][0]) / max(results[2][0] - startup, 1e-9)
        cold_ratio = results[1][0] / (results[2][0] - startup + first_startup)
        print(f"target jobs-2 >= {TARGETS['jobs']}x jobs-1: {ratio:.2f}x with start-up, {net_ratio:.2f}x without, "
              f"{cold_ratio:.2f}x with a first pool's start-up  {'met' if ratio >= TARGETS['jobs'] else 'NOT met'}")

    # ru_maxrss is in kilobytes on Linux; children: the largest worker process of the --jobs runs
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, WORKER_PEAK_MB[0])
    print(f"\npeak memory: this process {own:.0f} MB (holds all {len(html_records)} pages and their text), "
          f"largest worker {workers:.0f} MB")

    if args.cli_pages:  # after the memory figures: these runs are child processes too
        seconds = cli_jobs(html_records, args.cli_pages)
        print(f"\nboilerdetect predict on {args.cli_pages} HTML pages in 4 JSONL files, start-up included:")
        one = seconds["--jobs 1, an output per file"]
        for name, sec in seconds.items():
            print(f"  {name:<32}{sec:7.2f} s  {args.cli_pages / sec:7.1f} pages/s  {one / sec:5.2f}x")
        ratio = one / seconds["--jobs 2, an output per file"]
        print(f"target jobs-2 >= {TARGETS['jobs']}x jobs-1 (CLI, an output per file): {ratio:.2f}x  {'met' if ratio >= TARGETS['jobs'] else 'NOT met'}")


if __name__ == "__main__":
    main()
