"""Write a run's folder atomically: summary.json, junit.xml, timeseries.csv, histograms.json, report.html."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from mvptest import atomic
from mvptest.report.html import render_html
from mvptest.report.junit import render_junit
from mvptest.results.summary import TIMESERIES_HEADER


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
        "report.html": render_html(summary, rows).encode("utf-8"),
        # summary.json last: its presence says the run's record is complete
        "summary.json": (json.dumps(summary, ensure_ascii=False, indent=2) + "\n").encode("utf-8"),
    }
    written = []
    for name, data in files.items():
        atomic.write_bytes(run_dir / name, data)
        written.append(run_dir / name)
    return written


def read_summary(run_dir: Path) -> dict[str, Any]:
    from mvptest.errors import InputError

    path = run_dir / "summary.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no summary.json: not a finished run folder", where=str(run_dir)) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"summary.json is not valid JSON: {exc}", where=str(path)) from None
    if not isinstance(data, dict) or data.get("schema_version") != 1:
        raise InputError("summary.json has an unknown schema_version", where=str(path))
    return data
