"""Write a run's folder atomically: summary.json, junit.xml, timeseries.csv, histograms.json, report.html."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from mvptest import atomic
from mvptest.errors import InputError, MvptestError
from mvptest.report.html import render_html
from mvptest.report.junit import render_junit
from mvptest.run.summary import TIMESERIES_HEADER

# every file of a run folder, in the order written: summary.json last, its presence says the record is complete
RUN_FILES = ("histograms.json", "timeseries.csv", "junit.xml", "report.html", "summary.json")


def write_run(run_dir: Path, summary: dict[str, Any], rows: list[list[Any]], histograms: dict[str, Any]) -> list[Path]:
    """Every file of the run; each written to a temporary name and renamed, so readers never see half a file."""
    run_dir.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(TIMESERIES_HEADER)
    writer.writerows(rows)
    files = {
        "histograms.json": json.dumps(histograms, separators=(",", ":")).encode(),
        "timeseries.csv": buf.getvalue().encode("utf-8"),
        "junit.xml": render_junit(summary),
        "report.html": render_html(summary, rows, histograms).encode("utf-8"),
        # summary.json last: its presence says the run's record is complete
        "summary.json": (json.dumps(summary, ensure_ascii=False, indent=2) + "\n").encode("utf-8"),
    }
    assert tuple(files) == RUN_FILES
    written = []
    for name, data in files.items():
        atomic.write_bytes(run_dir / name, data)
        written.append(run_dir / name)
    return written


def prepare_run_dir(run_dir: Path) -> list[Path]:
    """Create the run's folder and prove it takes a file, before any load: returns the folders it created.

    A results folder that is a file, lies under a file, is read-only or full is found here (exit 2, nothing
    sent), not after the whole load was measured."""
    if (run_dir / "summary.json").exists():
        raise InputError("this folder already holds a finished run; nothing was run", where=run_dir,
                         hint="give another --run-id, or move the old run away")
    created = [p for p in (run_dir, *run_dir.parents) if not p.exists() and not p.is_symlink()]
    probe = run_dir / f".mvptest-probe-{os.getpid()}"
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        with open(probe, "wb") as f:
            f.write(b"mvptest checks that the run can be recorded here\n")
            f.flush()
            os.fsync(f.fileno())
        os.unlink(probe)
    except OSError as exc:
        discard_if_empty(created)
        what = exc.strerror or type(exc).__name__
        raise InputError(f"cannot write the run's results here ({what}); nothing was run",
                         where=run_dir.parent, hint="pass --results-dir DIR with a folder you can write") from None
    return created


def discard_if_empty(created: list[Path]) -> None:
    """Remove the folders prepare_run_dir created when nothing was measured (deepest first, only if empty)."""
    for path in created:
        try:
            path.rmdir()
        except OSError:
            return


def write_run_or_fallback(run_dir: Path, summary: dict[str, Any], rows: list[list[Any]],
                          histograms: dict[str, Any]) -> tuple[Path, str | None]:
    """Write the run; when its folder fails at the end (removed, replaced, full), write it under the temporary
    folder instead, so that what was measured is kept: returns (where it went, why not in run_dir or None).

    Raises MvptestError (exit 4) only when no folder at all would take it."""
    try:
        write_run(run_dir, summary, rows, histograms)
        return run_dir, None
    except (OSError, MvptestError) as exc:
        first = _reason(exc)
    problems = [f"{run_dir}: {first}"]
    for base in (Path(tempfile.gettempdir()), Path.home()):
        try:
            fallback = Path(tempfile.mkdtemp(prefix="mvptest-results-", dir=base)) / run_dir.name
            write_run(fallback, summary, rows, histograms)
            return fallback, first
        except (OSError, MvptestError) as exc:
            problems.append(f"{base}: {_reason(exc)}")
    raise MvptestError("the run's record could not be written anywhere (" + "; ".join(problems) + "); "
                       "the figures above are all that is left of it",
                       hint="free some space or pass --results-dir DIR with a folder you can write")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return f"{exc.strerror or type(exc).__name__}" + (f" ({exc.filename})" if exc.filename else "")
    return str(exc)


def read_summary(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "summary.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        raise InputError("no summary.json: not a finished run folder", where=str(run_dir),
                         hint="give a folder under results/ that a run wrote (results/latest is the last one)") from None
    except IsADirectoryError:
        raise InputError("summary.json is a folder, not a run's summary", where=str(path)) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"summary.json is not valid JSON: {exc}", where=str(path)) from None
    if not isinstance(data, dict) or data.get("schema_version") != 1:
        raise InputError("summary.json has an unknown schema_version", where=str(path))
    if not isinstance(data.get("interfaces"), list):
        raise InputError("summary.json has no list of interfaces: not a run's summary", where=str(path))
    return data


def read_run(run_dir: Path) -> tuple[dict[str, Any], list[list[Any]], dict[str, Any] | None, list[str]]:
    """A finished run's files: (summary, timeseries rows, histograms or None, what is missing, in a sentence each).

    summary.json is required (InputError otherwise); the series and histograms of earlier versions may be absent."""
    summary = read_summary(run_dir)
    missing: list[str] = []
    rows: list[list[Any]] = []
    try:
        with (run_dir / "timeseries.csv").open(encoding="utf-8", newline="") as f:
            table = list(csv.reader(f))
        rows = [r for r in table[1:] if len(r) >= 4] if table and table[0][:2] == TIMESERIES_HEADER[:2] else []
        if table and not rows and len(table) > 1:
            missing.append("timeseries.csv has an unknown header: the charts over time are left out")
    except OSError:
        pass  # said by the report (no per-second series)
    histograms = None
    try:
        loaded = json.loads((run_dir / "histograms.json").read_text(encoding="utf-8"))
        histograms = loaded if isinstance(loaded, dict) and isinstance(loaded.get("interfaces"), dict) else None
        if histograms is None:
            missing.append("histograms.json has an unknown shape: the distribution is drawn from the summary")
    except OSError:
        pass
    except ValueError as exc:
        missing.append(f"histograms.json is not valid JSON ({exc}): the distribution is drawn from the summary")
    return summary, rows, histograms, missing


LATEST = "latest"


def link_latest(results_dir: Path, run_dir: Path) -> str | None:
    """Point results/latest at the run's folder: a relative symlink, replaced atomically; where symlinks fail, a
    small file holding the run's folder. Returns None, or why neither could be written."""
    link = results_dir / LATEST
    target = run_dir.name if run_dir.parent.resolve() == results_dir.resolve() else str(run_dir.resolve())
    tmp = results_dir / f".{LATEST}-{os.getpid()}"
    try:
        if link.exists() and not link.is_symlink() and link.is_dir():
            return f"{link} is a folder; it is left as it is"
        try:
            tmp.unlink(missing_ok=True)
            os.symlink(target, tmp, target_is_directory=True)
        except (OSError, NotImplementedError):
            atomic.write_bytes(link, (target + "\n").encode("utf-8"))
            return None
        os.replace(tmp, link)
        return None
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        return _reason(exc)
