"""Atomic file writes: a reader never sees half a report, an interrupted write leaves the old file."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from mvptest.errors import InputError


def write_text(path: Path, text: str, *, encoding: str = "utf-8") -> None:
    write_bytes(path, text.encode(encoding))


def _cannot(path: Path, exc: OSError, hint: str = "") -> InputError:
    reason = exc.strerror or str(exc)
    if exc.errno is not None and exc.errno in (28, 122):  # ENOSPC, EDQUOT
        hint = hint or "free some space or write elsewhere"
    return InputError(f"cannot write here: {reason}", where=str(path), hint=hint)


def write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary name beside ``path``, then rename; a pipe or device (``/dev/stdout``) is written as is."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except OSError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        # a FIFO, a terminal, /dev/stdout: never replace the node itself (as root that would replace a device)
        try:
            with open(path, "wb") as f:
                f.write(data)
        except OSError as exc:
            raise _cannot(path, exc) from None
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _cannot(path, exc) from None
    try:
        # mkstemp creates the file 0600; a report is as readable as any file the user creates (a CI job's artifact
        # step, a colleague): the mode an ordinary open() would give, under the process's umask; an existing
        # file keeps its own mode
        os.chmod(tmp, stat.S_IMODE(mode) if mode is not None else 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        _unlink(tmp)
        raise _cannot(path, exc, "give a file name" if path.is_dir() else "") from None
    except BaseException:
        _unlink(tmp)
        raise


def _unlink(tmp: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def _umask() -> int:
    """The process's umask, read without changing it (os.umask sets it, a race with other threads' files)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    current = os.umask(0o022)
    os.umask(current)
    return current
