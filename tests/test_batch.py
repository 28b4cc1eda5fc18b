"""Batch runs of ``predict``: order with worker processes, one output per input, atomic writes, resume, exit codes."""

import gzip
import json
import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from boilerdetect.cli import app
from boilerdetect.document import Line
from boilerdetect.model import Detector

from conftest import make_article, make_text_article

runner = CliRunner()


@pytest.fixture
def model(tiny_detector, tmp_path):
    return str(tiny_detector.save(tmp_path / "m.joblib"))


def jsonl_records(n: int, prefix: str = "r") -> list[dict]:
    records = []
    for i in range(n):
        if i % 3 == 0:
            records.append({"id": f"{prefix}{i}", "url": f"https://s{i % 4}.example/{i}", "html": make_article(i)[0]})
        else:
            records.append({"id": f"{prefix}{i}", "text": make_text_article(i)[0]})
    return records


def write_jsonl(path, records) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def leftovers(directory) -> list[str]:
    return [n for n in os.listdir(directory) if n.endswith(".partial") or n.startswith(".")]


def test_jobs_2_keeps_order_and_matches_jobs_1(model, tmp_path):
    # 300 records: several 64-record batches in flight at once across two worker processes
    write_jsonl(tmp_path / "in.jsonl", jsonl_records(300))
    outs = {}
    for jobs in (1, 2):
        out = tmp_path / f"out{jobs}.jsonl"
        res = runner.invoke(app, ["predict", str(tmp_path / "in.jsonl"), "-f", "jsonl", "-o", str(out), "--model", model, "--trust-model", "-j", str(jobs), "--quiet"])
        assert res.exit_code == 0, res.output
        assert "pages read 300, written 300, failed 0, skipped 0" in res.stderr
        outs[jobs] = read_jsonl(out)
    assert [r["id"] for r in outs[2]] == [f"r{i}" for i in range(300)]
    assert outs[1] == outs[2]


def test_predict_many_small_batches_in_order(tiny_detector):
    records = jsonl_records(40)
    records.insert(7, {"id": "bad", "text": 3})
    got = list(tiny_detector.predict_many(iter(records), n_jobs=2, batch_size=3))
    assert [r.id for r in got] == [r["id"] for r in records]
    assert got[7].error and all(r.error is None for i, r in enumerate(got) if i != 7)


@dataclass
class Marked(Line):
    mark: str = ""


def test_worker_results_equal_in_process_ones(tiny_detector):
    # workers send lines packed as columns (model._pack): the main process must rebuild the very same
    # Results, segmentation facts included, and so the same records, related links and explanations
    records = [{"id": f"h{i}", "url": f"https://s.example/{i}", "html": make_article(i)[0]} for i in range(12)]
    records += jsonl_records(6) + [{"id": "bad", "html": 3}, "not a dict"]
    for explain in (0, 2):
        alone = list(tiny_detector.predict_many(records, batch_size=8, explain=explain))
        workers = list(tiny_detector.predict_many(records, n_jobs=2, batch_size=8, explain=explain))
        assert workers == alone
        assert [r.to_record() for r in workers] == [r.to_record() for r in alone]
        assert any(r.related_links for r in alone)
        assert all(r.explanations for r in workers[:-2]) == bool(explain)
        lines = [line for r in workers for line in r.lines]
        assert any(line.ancestors and line.attr_tokens and line.links for line in lines)


def test_pack_round_trip_keeps_lines_and_related_links():
    import pickle

    from boilerdetect.model import _pack, _unpack
    from boilerdetect.result import Result

    tags, tokens = frozenset({"html", "body", "aside", "ul", "li"}), frozenset({"related", "posts"})
    lines = [
        Line("Latest articles", tag="h3", ancestors=(1, 2, 3), ancestor_tags=tags, attr_tokens=tokens, label="related", score=0.1),
        Line("A headline", tag="li", link_chars=10, n_links=1, links=(("A headline", "/a"),), depth=5,
             ancestors=(1, 2, 3, 4), ancestor_tags=frozenset(tags), attr_tokens=frozenset(tokens), label="related", score=0.2),
        Line("Hidden", hidden=True, label="boilerplate", score=0.0),
    ]  # fmt: skip

    odd = Line("extra attribute", label="content", score=1.0)
    odd.note = "kept"
    results = [
        Result(lines=lines, id="a", url="https://s.example/x/", truncated={"kept_lines": 3}),
        Result(id="b", error="bad"),
        Result(lines=[Marked("subclass", label="content", score=0.9, mark="m")], id="c"),
        Result(lines=[odd], id="d"),
    ]
    back = _unpack(pickle.loads(pickle.dumps(_pack(results))))
    assert back == results and [type(l) for r in back for l in r.lines] == [type(l) for r in results for l in r.lines]
    assert back[0].related_links == results[0].related_links == [
        {"heading": "Latest articles", "items": [{"text": "A headline", "url": "https://s.example/a"}]}
    ]
    assert back[3].lines[0].note == "kept" and back[2].lines[0].mark == "m"
    assert [r.to_record() for r in back] == [r.to_record() for r in results]


def test_output_dir_one_file_per_input(model, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    write_jsonl(src / "a.jsonl", jsonl_records(5, "a"))
    (src / "b.txt").write_text(make_text_article(1)[0])
    with gzip.open(src / "sub" / "c.html.gz", "wt") as fh:
        fh.write(make_article(2)[0])
    res = runner.invoke(app, ["predict", str(src), "-f", "jsonl", "-o", str(tmp_path / "out") + "/", "--model", model, "--trust-model", "--quiet"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "out"
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == ["a.jsonl", "b.jsonl", "sub/c.jsonl"]
    assert [r["id"] for r in read_jsonl(out / "a.jsonl")] == [f"a{i}" for i in range(5)]
    assert len(read_jsonl(out / "b.jsonl")) == 1 and read_jsonl(out / "sub" / "c.jsonl")[0]["id"].endswith("c.html.gz")
    assert "pages read 7, written 7" in res.stderr
    assert not leftovers(out) and not leftovers(out / "sub")

    # explicit files into an existing directory, as text
    res = runner.invoke(app, ["predict", str(src / "a.jsonl"), str(src / "b.txt"), "-o", str(out), "--model", model, "--trust-model", "--quiet"])
    assert res.exit_code == 0
    assert (out / "a.txt").is_file() and (out / "b.txt").is_file()

    # two inputs that would write the same output file: a usage error before any work
    (src / "a.txt").write_text("x")
    res = runner.invoke(app, ["predict", str(src / "a.jsonl"), str(src / "a.txt"), "-o", str(tmp_path / "o2") + "/", "--model", model, "--trust-model"])
    assert res.exit_code == 2 and "would both be written" in res.stderr


def test_an_output_file_that_is_an_input_is_refused(model, tmp_path):
    page = tmp_path / "page.txt"
    page.write_text(make_text_article(1)[0])
    before = page.read_text()
    (tmp_path / "link.txt").symlink_to(page)
    for args in (["predict", str(page), "-o", str(page)], ["predict", str(page), "-f", "jsonl", "-o", str(tmp_path / "link.txt")],
                 ["show", str(page), "-o", str(page)], ["label", str(page), "-o", str(page)], ["profile", str(page), "-o", str(page)]):  # fmt: skip
        res = runner.invoke(app, args if args[0] == "profile" else [*args, "--model", model, "--trust-model"])
        assert res.exit_code == 2 and "would overwrite its own input" in res.stderr, args
    assert page.read_text() == before


def test_an_output_file_named_gz_is_gzipped(model, tmp_path):
    write_jsonl(tmp_path / "in.jsonl", jsonl_records(4))
    res = runner.invoke(app, ["predict", str(tmp_path / "in.jsonl"), "-f", "jsonl", "-o", str(tmp_path / "out.jsonl.gz"), "--model", model, "--trust-model", "--quiet"])
    assert res.exit_code == 0, res.output
    with gzip.open(tmp_path / "out.jsonl.gz", "rt", encoding="utf-8") as fh:
        assert [json.loads(line)["id"] for line in fh] == ["r0", "r1", "r2", "r3"]
    assert not leftovers(tmp_path)


def test_jobs_with_an_output_directory_give_each_worker_whole_files(model, tmp_path, monkeypatch):
    # --jobs 2, --output DIR and at least two inputs: each worker reads, labels and writes whole
    # files. The outputs, the counts, the error lines and the exit code are those of --jobs 1.
    src = tmp_path / "src"
    src.mkdir()
    for name in "abc":
        write_jsonl(src / f"{name}.jsonl", jsonl_records(20, name))
    lines = [json.dumps(r) for r in jsonl_records(4, "d")]
    lines.insert(1, "{not json")
    (src / "d.jsonl").write_text("\n".join(lines) + "\n")
    (src / "e.txt").write_text(make_text_article(3)[0])
    runs = {}
    for jobs in (1, 2):
        for fmt in ("jsonl", "text"):
            out = tmp_path / f"out{jobs}{fmt}"
            with monkeypatch.context() as m:
                if jobs == 2:  # the main process must not predict, nor hand pages out one by one
                    m.setattr(Detector, "predict_many", lambda *a, **k: pytest.fail("records went through the main process"))
                res = runner.invoke(app, ["predict", str(src), "-f", fmt, "-o", f"{out}/", "-j", str(jobs), "--model", model, "--trust-model", "--progress"])
            assert res.exit_code == 1, res.output  # the bad record
            messages = res.stderr.strip().splitlines()
            written = 66 if fmt == "jsonl" else 65  # as text, a failed page is not written: its error goes to stderr
            assert messages[-1] == f"pages read 66, written {written}, failed 1, skipped 0" and "page/s" in res.stderr
            errors = sorted(line for line in messages if line.startswith("error:"))
            assert len(errors) == (fmt == "text")
            runs[jobs, fmt] = ({p.name: p.read_text() for p in out.iterdir()}, errors)
    for fmt in ("jsonl", "text"):
        assert runs[1, fmt] == runs[2, fmt] and len(runs[2, fmt][0]) == 5
    assert not leftovers(tmp_path / "out2jsonl")


def test_workers_take_the_largest_input_files_first(tmp_path):
    from boilerdetect.cli import _largest_first

    sizes = {"a": 10, "b": 300, "c": 10, "d": 50}
    for name, size in sizes.items():
        (tmp_path / name).write_bytes(b"x" * size)
    groups = [([str(tmp_path / name)], tmp_path / "out" / name) for name in sizes]
    groups.append((["-", str(tmp_path / "c")], None))  # stdin counts for nothing
    order = [(os.path.basename(paths[-1]), target is None) for paths, target in _largest_first(groups)]
    assert order == [("b", False), ("d", False), ("a", False), ("c", False), ("c", True)]  # ties keep input order


def test_resume_skips_existing_outputs(model, tmp_path):
    for name in "xyz":
        write_jsonl(tmp_path / f"{name}.jsonl", jsonl_records(3, name))
    out = tmp_path / "out"
    out.mkdir()
    (out / "y.jsonl").write_text("kept\n")
    inputs = [str(tmp_path / f"{n}.jsonl") for n in "xyz"]
    res = runner.invoke(app, ["predict", *inputs, "-f", "jsonl", "-o", str(out), "--resume", "--model", model, "--trust-model", "--quiet"])
    assert res.exit_code == 0, res.output
    assert "resume: 1 input file skipped" in res.stderr and "pages read 6, written 6" in res.stderr
    assert (out / "y.jsonl").read_text() == "kept\n"
    assert [r["id"] for r in read_jsonl(out / "z.jsonl")] == ["z0", "z1", "z2"]
    res = runner.invoke(app, ["predict", *inputs, "-f", "jsonl", "-o", str(out), "--resume", "--model", model, "--trust-model", "--quiet"])
    assert "resume: 3 input files skipped" in res.stderr and "pages read 0" in res.stderr


def test_failure_leaves_no_partial_output(model, tmp_path, monkeypatch):
    for name in "ab":
        write_jsonl(tmp_path / f"{name}.jsonl", jsonl_records(70, name))  # two batches each
    single = tmp_path / "single.jsonl"
    single.write_text("previous run\n")
    calls = {"n": 0}
    original = Detector.predict_records

    def flaky(self, records, *args):
        calls["n"] += 1
        if calls["n"] == 3:  # the first batch of the second file
            raise RuntimeError("disk on fire")
        return original(self, records, *args)

    monkeypatch.setattr(Detector, "predict_records", flaky)
    out = tmp_path / "out"
    inputs = [str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")]
    res = runner.invoke(app, ["predict", *inputs, "-f", "jsonl", "-o", f"{out}/", "--model", model, "--trust-model", "--quiet"])
    assert isinstance(res.exception, RuntimeError)
    assert os.listdir(out) == ["a.jsonl"]  # the completed file stays, the interrupted one never appears
    assert len(read_jsonl(out / "a.jsonl")) == 70

    calls["n"] = 0
    res = runner.invoke(app, ["predict", *inputs, "-f", "jsonl", "-o", str(single), "--model", model, "--trust-model", "--quiet"])
    assert isinstance(res.exception, RuntimeError)
    assert single.read_text() == "previous run\n"  # not truncated, not half-written
    assert not leftovers(tmp_path)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_text_output_with_nothing_labelled_is_not_created_so_resume_retries_it(model, tmp_path, jobs):
    (tmp_path / "good.txt").write_text(make_text_article(1)[0])
    (tmp_path / "bad.txt.gz").write_bytes(gzip.compress(make_text_article(2)[0].encode())[:40])  # cut short
    write_jsonl(tmp_path / "half.jsonl", [{"id": "ok", "text": make_text_article(3)[0]}, {"id": "no page"}])
    out = tmp_path / "out"
    args = ["predict", *(str(tmp_path / n) for n in ("good.txt", "bad.txt.gz", "half.jsonl")), "-o", f"{out}/", "-j", jobs,
            "--model", model, "--trust-model", "--quiet"]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 1 and "damaged gzip data" in res.stderr
    assert f"{out / 'bad.txt'} not written" in res.stderr
    assert sorted(os.listdir(out)) == ["good.txt", "half.txt"]  # a file with one page labelled keeps it
    res = runner.invoke(app, [*args, "--resume"])
    assert res.exit_code == 1 and "resume: 2 input files skipped" in res.stderr and "pages read 1," in res.stderr


def test_a_mirrored_site_is_read_without_its_assets(model, tmp_path):
    site = tmp_path / "site"
    (site / "img").mkdir(parents=True)
    (site / "index.html").write_text(make_article(1)[0])
    (site / "img" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (site / "app.js").write_text("document.title = 'x';")
    for out in ([], ["-o", f"{tmp_path / 'out'}/"]):
        res = runner.invoke(app, ["predict", str(site), *out, "--model", model, "--trust-model", "--quiet"])
        assert res.exit_code == 0, res.stderr
        assert "note: 2 files in the input directories left out" in res.stderr and "(.js .png)" in res.stderr
        assert "pages read 1, written 1, failed 0" in res.stderr
    assert os.listdir(tmp_path / "out") == ["index.txt"]
    res = runner.invoke(app, ["predict", "-", "-", "-o", f"{tmp_path / 'o2'}/", "--model", model, "--trust-model"], input="a page")
    assert res.exit_code == 2 and "read only once" in res.stderr


def test_walks_say_what_they_leave_out_and_outputs_stay_apart_from_inputs(model, tmp_path):
    site = tmp_path / "site"
    (site / ".git").mkdir(parents=True)
    (site / ".git" / "HEAD").write_text("ref: refs/heads/main")
    (site / ".draft.txt").write_text("Not yet published.")
    (site / "a.txt").write_text("A page with one sentence of text.")
    run = ["--model", model, "--trust-model", "--quiet"]
    res = runner.invoke(app, ["predict", str(site), *run])
    assert res.exit_code == 0 and "note: 2 hidden files or directories in the input directories left out (.git/ .draft.txt)" in res.stderr
    # an output directory that is (or holds) the walked directory would mix outputs with inputs
    for out in (site, tmp_path):
        res = runner.invoke(app, ["predict", str(site), "-o", f"{out}/", *run])
        assert res.exit_code == 2 and "outputs would mix with inputs" in res.stderr
    # one inside it: its files are not inputs (earlier outputs, most likely), and a note says so
    for rerun in (1, 2):
        res = runner.invoke(app, ["predict", str(site), "-o", f"{site / 'out'}/", *run])
        assert res.exit_code == 0 and "pages read 1, written 1" in res.stderr
        assert ("under the output directory" in res.stderr) == (rerun == 2)
    assert os.listdir(site / "out") == ["a.txt"]


def test_exit_code_1_and_counts_with_error_records(model, tmp_path):
    lines = [json.dumps(r) for r in jsonl_records(4)]
    lines.insert(2, "{not json")
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    res = runner.invoke(app, ["predict", str(tmp_path / "in.jsonl"), "-f", "jsonl", "--model", model, "--trust-model", "--quiet"])
    assert res.exit_code == 1
    recs = [json.loads(l) for l in res.stdout.splitlines()]
    assert len(recs) == 5 and recs[2]["error"] and recs[2]["content"] is None
    assert res.stderr.strip().splitlines()[-1] == "pages read 5, written 5, failed 1, skipped 0"
    # text output: the failed page is reported on stderr, the others printed
    res = runner.invoke(app, ["predict", str(tmp_path / "in.jsonl"), "--model", model, "--trust-model", "--quiet"])
    assert res.exit_code == 1 and "not valid JSON" in res.stderr
    assert res.stderr.strip().splitlines()[-1] == "pages read 5, written 4, failed 1, skipped 0"  # nothing of it on stdout


def test_progress_bar_and_quiet(model, tmp_path):
    write_jsonl(tmp_path / "in.jsonl", jsonl_records(5))
    res = runner.invoke(app, ["predict", str(tmp_path / "in.jsonl"), "-o", os.devnull, "--model", model, "--trust-model", "--progress"])
    assert res.exit_code == 0 and "page/s" in res.stderr and "read" in res.stderr
    res = runner.invoke(app, ["predict", str(tmp_path / "in.jsonl"), "-o", "-", "--model", model, "--trust-model", "--quiet"])
    assert res.stderr.strip() == "pages read 5, written 5, failed 0, skipped 0" and res.stdout.strip()


def test_output_to_a_pipe_is_written_in_place(model, tmp_path):
    """Non-regular outputs (/dev/null, a FIFO) are written directly, never replaced by a file."""
    write_jsonl(tmp_path / "in.jsonl", jsonl_records(3))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got = []

    def read_fifo():
        with open(fifo) as fh:
            got.append(fh.read())

    reader = threading.Thread(target=read_fifo)
    reader.start()
    res = runner.invoke(app, ["predict", str(tmp_path / "in.jsonl"), "-f", "jsonl", "-o", str(fifo), "--model", model, "--trust-model", "--quiet"])
    reader.join(10)
    assert res.exit_code == 0, res.output
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and len(got[0].splitlines()) == 3


def test_prediction_leaves_no_reference_cycles_and_restores_the_collector(tiny_detector, owned_process):
    # prediction pauses the cyclic garbage collector (document.cycle_collector_paused): that is only
    # safe if reference counting frees everything a prediction creates, bad records included
    import gc

    from boilerdetect.document import cycle_collector_paused

    records = [{"id": f"h{i}", "url": f"https://s.example/{i}", "html": make_article(i)[0]} for i in range(6)]
    records += jsonl_records(6) + [{"id": "bad", "html": 3}, "not a dict", {"html": "<p>" * 5000}]
    gc.collect()
    gc.disable()
    try:
        results = list(tiny_detector.predict_many(records, batch_size=4))
        assert len(results) == len(records) and sum(r.error is not None for r in results) == 2
        for res in results:
            res.to_record()
        del results
        assert gc.collect() == 0  # nothing unreachable was left for the collector
        assert not gc.isenabled()  # a caller's own choice to have it off is kept
    finally:
        gc.enable()
    with pytest.raises(RuntimeError):
        with cycle_collector_paused():
            assert not gc.isenabled()
            raise RuntimeError
    assert gc.isenabled()
    tiny_detector.predict(text="One line.\nAnother line.")
    assert gc.isenabled()


def test_results_skip_the_young_collections_and_hold_back_no_garbage_of_the_caller(tiny_detector, owned_process):
    # after the pause, the young objects still alive (the results) go straight to the oldest
    # generation; the caller's young garbage is collected first rather than moved with them
    import gc
    import weakref

    class Node:
        pass

    records = [{"id": f"h{i}", "html": make_article(i)[0]} for i in range(4)] + jsonl_records(4)
    gc.collect()
    garbage = Node()
    garbage.self = garbage  # a cycle only the collector frees
    alive = weakref.ref(garbage)
    del garbage
    results = list(tiny_detector.predict_many(records, batch_size=4))
    assert alive() is None
    young = gc.get_objects(generation=0) + gc.get_objects(generation=1)
    assert not any(isinstance(o, Line) for o in young) and any(isinstance(o, Line) for o in gc.get_objects(generation=2))
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    gc.freeze()  # a caller's frozen objects stay frozen
    try:
        frozen = gc.get_freeze_count()
        assert frozen >= sum(len(r.lines) for r in results)
        tiny_detector.predict(text="One line.\nAnother line.")
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_the_collector_keeps_running_for_a_thread_beside_the_predictions(tiny_detector):
    # the collector is the process's: paused by predictions that overlap in another thread, it
    # would hold back (and move to the oldest generation) this thread's garbage cycles
    import gc
    import threading
    import weakref

    from boilerdetect.document import cycle_collector_paused, own_process

    class Node:
        pass

    stop = threading.Event()

    def predict_until_stopped():
        while not stop.is_set():
            tiny_detector.predict(html=make_article(1)[0])

    worker = threading.Thread(target=predict_until_stopped)
    worker.start()
    try:
        alive = []
        for _ in range(200):
            garbage = Node()
            garbage.self = garbage  # a cycle only the collector frees
            alive.append(weakref.ref(garbage))
            del garbage
            _ = [[] for _ in range(2000)]  # enough allocations for young collections
        assert sum(ref() is not None for ref in alive) <= 1  # all collected but maybe the last
        with cycle_collector_paused():
            assert gc.isenabled()  # not the only thread: the collector is left alone
        own_process()
        with cycle_collector_paused():
            assert not gc.isenabled()  # unless the process's owner says its threads make no cycles
    finally:
        stop.set()
        worker.join()
    assert gc.isenabled()


def _summary(res) -> tuple:  # module level: a transform must be picklable to reach the workers
    return res.id, res.error, [line.label for line in res.lines]


def test_transform_is_applied_where_results_are_made(tiny_detector):
    records = [{"id": f"h{i}", "url": f"https://s.example/{i}", "html": make_article(i)[0]} for i in range(5)]
    records += jsonl_records(5) + [{"id": "bad", "html": 3}]
    want = [_summary(res) for res in tiny_detector.predict_many(records, batch_size=4)]
    assert want[-1][0] == "bad" and want[-1][1] and all(w[1] is None for w in want[:-1])
    for n_jobs in (1, 2):
        assert list(tiny_detector.predict_many(records, n_jobs=n_jobs, batch_size=4, transform=_summary)) == want


def test_predict_pages_labels_copies_unless_told_not_to(tiny_detector):
    from boilerdetect.readers import text_page

    pages = [text_page(make_text_article(i)[0], id=str(i)) for i in range(3)]
    copied = tiny_detector.predict_pages(pages)
    assert all(line.label is None and line.score is None for page in pages for line in page.lines)
    in_place = tiny_detector.predict_pages(pages, copy=False)
    for page, res, other in zip(pages, in_place, copied):
        assert res.lines is page.lines  # the page's own lines, now labelled
        assert [(l.text, l.label, l.score) for l in res.lines] == [(l.text, l.label, l.score) for l in other.lines]
    assert {line.label for res in in_place for line in res.lines} >= {"content", "boilerplate"}


@pytest.mark.parametrize("jobs", [1, 2])
def test_sigterm_stops_predict_as_ctrl_c_does_and_leaves_no_partial_file(tmp_path, jobs):
    # timeout, job schedulers and systemd stop a job with SIGTERM, often sent to its whole group
    import signal
    import subprocess
    import sys
    import time

    text = (Path(__file__).resolve().parents[1] / "boilerdetect" / "samples" / "news.txt").read_text()
    inputs = tmp_path / "in"
    inputs.mkdir()
    for part in range(2):
        with open(inputs / f"p{part}.jsonl", "w") as fh:
            fh.writelines(json.dumps({"id": f"{part}-{i}", "text": text}) + "\n" for i in range(6000))
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "boilerdetect.cli", "predict", str(inputs), "-f", "jsonl", "-o", f"{out}/",
                             "-j", str(jobs), "--quiet"], stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while not (out.is_dir() and any(out.iterdir())) and time.monotonic() < deadline:  # a temporary file is being written
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err.decode()
    assert "(interrupted" in err.decode() and "Traceback" not in err.decode()
    assert [p.name for p in out.iterdir() if p.name.endswith(".partial")] == []


def _catches(pid: int, signum: int) -> bool:
    """Whether process ``pid`` has a handler for ``signum`` (Linux: the SigCgt mask of /proc/PID/status)."""
    with open(f"/proc/{pid}/status") as fh:
        mask = next(int(line.split()[1], 16) for line in fh if line.startswith("SigCgt:"))
    return bool(mask >> (signum - 1) & 1)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc")
def test_sigterm_stops_any_command_with_exit_143(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "site.profile"
    proc = subprocess.Popen([sys.executable, "-m", "boilerdetect.cli", "profile", "-", "-o", str(out)],
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    proc.stdin.write(b"A first line of a page.\n")
    proc.stdin.flush()
    deadline = time.monotonic() + 60
    while not _catches(proc.pid, signal.SIGTERM) and time.monotonic() < deadline:  # started, reading stdin
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "Traceback" not in err.decode(), err.decode()
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == []


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_output_file_that_cannot_be_written_does_not_stop_the_others(model, tmp_path, jobs):
    pages = tmp_path / "pages"
    pages.mkdir()
    for name in "abc":
        (pages / f"{name}.txt").write_text(f"Page {name} has one sentence of text.")
    (tmp_path / "out" / "b.jsonl").mkdir(parents=True)  # where b's output should go
    res = runner.invoke(app, ["predict", str(pages), "-f", "jsonl", "-o", f"{tmp_path / 'out'}/", "-j", jobs, "--model", model, "--trust-model", "--quiet"])
    assert res.exit_code == 2
    if jobs == "1":  # a worker says it on its own stderr, which the test runner does not capture
        assert "cannot write" in res.stderr and "b.jsonl" in res.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_file()) == ["a.jsonl", "c.jsonl"]
