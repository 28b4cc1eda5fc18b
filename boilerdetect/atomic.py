"""Files that appear whole or not at all: written under a temporary name, renamed into place."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb", **open_args) -> Iterator[IO]:
    """An open file that replaces ``path`` when the ``with`` block ends without an error.

    It is written as a hidden ``.partial`` file in the same directory (so the rename is atomic),
    given ordinary permissions, and deleted if the block fails or is interrupted: an
    interrupted run leaves the previous file (or none) and no temporary file. A symbolic link is
    written through, as ``open`` writes: its target is replaced, and the link stays.
    """
    path = Path(os.path.realpath(path)) if os.path.islink(path) else Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, mode, **open_args) as fh:
            yield fh
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
