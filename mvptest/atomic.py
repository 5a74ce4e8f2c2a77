"""Atomic file writes: a reader never sees half a report, an interrupted write leaves the old file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from mvptest.errors import InputError


def write_text(path: Path, text: str, *, encoding: str = "utf-8") -> None:
    write_bytes(path, text.encode(encoding))


def write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise InputError(f"cannot write here: {exc.strerror}", where=str(path)) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise InputError(f"cannot write here: {exc.strerror}", where=str(path),
                             hint="give a file name" if path.is_dir() else "") from None
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
