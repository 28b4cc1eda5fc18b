"""How worker processes start, apart from the model so that a caller can start their server
before it imports the model code itself (this module imports nothing heavy)."""

from __future__ import annotations

import multiprocessing
import multiprocessing.context


def worker_context() -> multiprocessing.context.BaseContext:
    """Worker processes forked from a server process that imported the package once.

    Not forked from the caller: forking after OpenMP has started (scikit-learn's training uses it,
    and a caller may have trained in this process) can deadlock the child. A spawned worker
    imports numpy, the HTML parser and the model code itself (tenths of a second of CPU each, on
    the cores the other workers predict on); the forkserver, a fresh process that only imports,
    pays that once per process (later pools reuse it) and forks workers that are ready at once.
    Spawn where there is no forkserver (Windows, macOS spawn-only setups).
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    # "__main__" is the default preload (the main script, imported once rather than per worker);
    # this only takes effect if the forkserver of this process has not started yet
    ctx.set_forkserver_preload(["__main__", "boilerdetect.model"])
    return ctx


def start_worker_server() -> None:
    """Start the forkserver of :func:`worker_context` now, if that is how workers start: its
    imports then run beside the caller's own instead of
    delaying the first pool's workers."""
    if worker_context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()
