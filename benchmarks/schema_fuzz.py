"""Fuzz ``boilerdetect serve`` against its own OpenAPI schema with schemathesis (a script, not a test).

Starts the server (one worker, shipped model) on a free 127.0.0.1 port and runs ``st run`` on
``/openapi.json`` with every check (server errors, status codes and response bodies against the
schema, acceptance of valid and rejection of invalid input...), bounded by ``--max-examples`` per
operation and ``--max-time`` seconds; exits with schemathesis' exit code (0: nothing found).
Needs the ``bench`` extra (``pip install -e '.[bench]'``).

    python benchmarks/schema_fuzz.py                     # 50 examples per operation, at most 120 s
    python benchmarks/schema_fuzz.py --max-examples 200 --max-time 300
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from service_load import HOST, free_port, start_server, stop_server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=50, help="generated cases per operation and phase")
    parser.add_argument("--max-time", type=int, default=120, help="time budget of the whole run (s)")
    parser.add_argument("--seed", type=int, default=1, help="schemathesis seed, for a reproducible run")
    args = parser.parse_args()
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")
    if st is None:
        parser.error("schemathesis is not installed: pip install -e '.[bench]'")

    port = free_port()
    log = Path(tempfile.mkstemp(prefix="boilerdetect-serve-", suffix=".log")[1])
    # a small body limit keeps the oversized cases cheap; the timeout bounds pathological pages
    proc = start_server(port, 1, ["--max-body-mb", "1", "--timeout", "20"], log)
    try:
        cmd = [st, "run", f"http://{HOST}:{port}/openapi.json", "--checks", "all", "--workers", "1",
               "--max-examples", str(args.max_examples), "--max-time", str(args.max_time),
               "--seed", str(args.seed), "--request-timeout", "30", "--no-color"]  # fmt: skip
        print("$ " + " ".join(cmd), flush=True)
        return subprocess.run(cmd, check=False).returncode
    finally:
        stop_server(proc)
        print(f"server log: {log}")


if __name__ == "__main__":
    sys.exit(main())
